"""The steps shared by exercises whose answer is a loss: a 0-dim tensor whose value, and whose
gradient with respect to the prediction, must equal PyTorch's own loss."""
from __future__ import annotations

import torch

from course_utils.exercises.trial import Trial
from course_utils.exercises.verdict import close, first_difference, fmt, hint, index_text, kind_of, match


def as_loss(value, wrt: str) -> torch.Tensor:
    """The learner's returned value if it is a tensor; otherwise a hint that says why it must be one."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        hint(f"you returned a Python number ({kind_of(value)}). Return the tensor itself (no `.item()`, "
             f"no `float()`), so that `loss.backward()` can follow it back to {wrt}.")
    if type(value).__module__.split(".")[0] == "numpy":
        hint(f"you returned {kind_of(value)}. NumPy keeps no link to {wrt}, so no gradient could "
             f"flow back: compute the loss with tensor operations on {wrt} and return that tensor.")
    hint(f"return the loss as a 0-dim tensor; your function returned {kind_of(value)}.")


def check_loss_case(trial: Trial, args: list, wrt: int, reference, mistakes, case: str, ref_name: str,
                    shape_hints: dict | None = None) -> float:
    """One case: ``trial.call(*args)`` must equal ``reference(*args)`` in value and in its gradient
    with respect to ``args[wrt]``. ``mistakes(*args)`` lists ``(wrong value, hint)`` pairs;
    ``shape_hints`` maps a wrong result shape to its hint. Returns the max gradient difference."""
    inputs = [a.clone() for a in args]
    inputs[wrt].requires_grad_(True)
    name = trial.arg_names()[wrt] if wrt < len(trial.arg_names()) else "the prediction"
    mine = as_loss(trial.call(*inputs), name)
    if mine.shape != ():
        found = (shape_hints or {}).get(tuple(mine.shape))
        hint(found or f"a loss is one number, a 0-dim tensor (shape ()), but yours has shape "
                      f"{tuple(mine.shape)} (with {case}). `.mean()` over all elements gives shape ().")
    ref_inputs = [a.clone() for a in args]
    ref_inputs[wrt].requires_grad_(True)
    expected = reference(*ref_inputs)
    if not close(mine, expected):
        found = match(mine.detach(), mistakes(*[a.clone() for a in args]))
        hint((found or f"your loss is {fmt(mine.item())} where {ref_name} gives "
                       f"{fmt(expected.item())}.") + f" (Seen with {case}.)" + trial.reads_notebook())
    (grad,) = trial.grad(mine, [inputs[wrt]])
    (ref_grad,) = torch.autograd.grad(expected, ref_inputs[wrt])
    if grad is None:
        hint(f"your loss has the right value, but no gradient reaches {name}: it is not computed from "
             f"{name} by tensor operations. A new tensor (`torch.tensor(...)`, even with "
             f"requires_grad=True), `.item()`, `.detach()`, `.data` and NumPy all cut that link. Return "
             f"the result of tensor operations on {name} itself.")
    if not close(grad, ref_grad):
        i = first_difference(grad, ref_grad)
        hint(f"your loss has the right value but the wrong gradient: with {case}, d(loss)/d({name})"
             f"{index_text(i)} is {fmt(grad[i].item())} for yours and {fmt(ref_grad[i].item())} for "
             f"{ref_name}. Part of your computation is cut off from the graph (`.detach()`, `.data`, "
             f"`.item()`, `torch.no_grad()`, NumPy): compute every part from {name} with tensor "
             f"operations.")
    return (grad.double() - ref_grad.double()).abs().max().item()

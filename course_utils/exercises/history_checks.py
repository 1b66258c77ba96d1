"""The comparison shared by exercises whose answer is a training loop that returns its history (one
entry per epoch): notebook 1's ``train_linear`` and notebook 2's ``train_quadratic``."""
from __future__ import annotations

import torch

from course_utils.exercises.trial import Trial
from course_utils.exercises.verdict import close, first_difference, fmt, hint, kind_of, match

SHORT_TOL, LONG_TOL = (1e-4, 1e-6), (1e-3, 1e-5)  # float32 rounding grows over a long run


def compare_runs(trial: Trial, runs, as_history, reference, mistakes, what: str, advice: str,
                 long_tol=LONG_TOL):
    """Call the learner on every case in ``runs`` (random short runs first, then the notebook's own),
    compare its history with ``reference(case)`` epoch by epoch, and hint at the first difference: a
    recognised mistake of ``mistakes(case)`` on a short run, else the epoch and its ``what`` values
    followed by ``advice``. Returns the learner's history on the last run."""
    mine = None
    for case in runs:
        mine = as_history(trial.call(*case.args()), case.num_epochs, len(case.x))
        expected = reference(case)
        tol = long_tol if case.num_epochs > 10 else SHORT_TOL
        if close(mine, expected, *tol):
            continue
        found = None if case.num_epochs > 10 else match(mine, mistakes(case))
        e = first_difference(mine, expected, *tol)[0]
        hint((found or f"after epoch {e + 1} your {what} = {fmt(mine[e])}, expected {fmt(expected[e])}. "
                       f"{advice}")
             + f" (Seen with {case.text()}.)" + ("" if found and "notebook" in found else trial.reads_notebook()))
    return mine


def check_history_shape(value, num_epochs: int, num_samples: int, entry: str, append: str) -> None:
    """Hint unless ``value`` is a list (or tuple) with one ``entry`` per epoch; ``append`` is the
    expression the learner should append, e.g. "`w.item()`"."""
    if not isinstance(value, (list, tuple)):
        hint(f"return the history, a list with one {entry} per epoch, not {kind_of(value)}: append {append} "
             f"once per epoch.")
    if num_samples > 1 and len(value) == num_epochs * num_samples:
        hint(f"with num_epochs={num_epochs} your history has {len(value)} entries, one per sample: append "
             f"{append} once per epoch, after the loop over the samples.")
    if len(value) != num_epochs:
        hint(f"with num_epochs={num_epochs} your history has {len(value)} entries; it needs one per epoch: "
             f"append {append} once after each epoch's loop over the samples.")


def check_floats(values, append: str) -> None:
    """Hint unless every one of ``values`` (one history entry's numbers) is a Python float."""
    if any(isinstance(v, torch.Tensor) for v in values):
        hint(f"your history holds tensors, not floats. Append {append}: a tensor keeps changing as you "
             f"train (and carries its graph), a float is a snapshot.")
    if not all(isinstance(v, float) for v in values):
        kinds = ", ".join(sorted({type(v).__name__ for v in values}))
        hint(f"your history holds {kinds} values: append floats, {append}.")


def rounded_uniform(seed: int):
    """``draw(lo, hi, digits)``: numbers drawn uniformly from [lo, hi) with a fixed seed, rounded so a
    hint can quote the case the learner can rerun."""
    g = torch.Generator().manual_seed(seed)

    def draw(lo: float, hi: float, digits: int) -> float:
        return round(lo + (hi - lo) * torch.rand((), generator=g).item(), digits)

    return draw


def autograd_note(trial: Trial, filled: str) -> tuple:
    """A note (never a failure) for a right answer that computed its gradients without autograd."""
    if trial.uses("backward", "grad"):
        return ()
    return (f"you wrote the gradient by hand, which is right too; the exercise meant autograd: "
            f"`loss.backward()` fills {filled}.",)

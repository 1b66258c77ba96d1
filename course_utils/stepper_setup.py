"""Everything the step-through engine settles once, when it is built: the arguments checked (with a
message that says what to do), the fixed facts about model, optimizer and data, and the starting
point that ``reset()`` returns to."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from course_utils import optim_state
from course_utils.step_state import Facts, Setup
from course_utils.step_messages import fmt

RANDOM_LAYERS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def check_arguments(model, loss_fn, optimizer, X, y, history) -> list[torch.Tensor]:
    """The optimizer's parameters, once every argument is known to be usable; else a clear error."""
    if not callable(model):
        raise TypeError("model must be an nn.Module or a function of X, e.g. `lambda X: X * w`.")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable as loss_fn(y_hat, y), e.g. nn.MSELoss().")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("optimizer must be a torch.optim optimizer, "
                        "e.g. torch.optim.SGD([w], lr=0.1) or torch.optim.SGD(model.parameters(), lr=0.01).")
    if isinstance(history, bool) or not isinstance(history, int) or history < 1:
        raise ValueError(f"history is how many events the stepper keeps: a whole number ≥ 1 (the default "
                         f"is 30), got {history!r}.")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if not params:
        raise ValueError("The optimizer holds no parameters: pass them when you create it.")
    for p in params:
        if not p.requires_grad or not p.is_leaf:
            raise ValueError("Every parameter must be a leaf tensor created with requires_grad=True, "
                             "e.g. w = torch.tensor(0.5, requires_grad=True).")
    _check_owner(model, loss_fn, params, X, y)
    return params


def _leaves(loss: torch.Tensor) -> set[int]:
    """ids of the leaf tensors (with requires_grad) that ``loss``'s graph reaches."""
    found, seen, stack = set(), set(), [loss.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        variable = getattr(fn, "variable", None)
        if variable is not None:
            found.add(id(variable))
        stack.extend(child for child, _ in fn.next_functions)
    return found


def _check_owner(model, loss_fn, params, X, y) -> None:
    """Refuse an optimizer built over tensors the model does not use (another model's parameters)."""
    if isinstance(model, nn.Module):
        owned = {id(p) for p in model.parameters()}
        foreign = sum(id(p) not in owned for p in params)
        if foreign:
            which = "none of its" if foreign == len(params) else f"{foreign} of its {len(params)}"
            raise ValueError(f"The optimizer does not belong to this model: {which} parameter tensors are "
                             f"parameters of the model (was it built over another model, e.g. "
                             f"SGD(other_model.parameters(), ...)?). Build it from this model: "
                             f"torch.optim.SGD(model.parameters(), lr=...).")
        return
    try:  # a plain function: look at which tensors one forward pass really uses
        with torch.enable_grad():
            loss = loss_fn(model(X), y)
    except Exception:  # forward() will explain the failure when the learner clicks it
        return
    if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
        return  # backward() explains a loss without a graph
    used = _leaves(loss)
    if used and not used & {id(p) for p in params}:
        raise ValueError("The optimizer holds none of the tensors the model uses: the loss does not depend on "
                         "any of its parameters (was it built over another tensor or another model's "
                         "parameters?). Build it over the tensors the model uses, e.g. "
                         "torch.optim.SGD([w], lr=0.1) for `lambda X: X * w`.")


def parameter_names(model, params, names) -> list[str]:
    """``names`` checked, else the model's own parameter names, else w / w1, w2, ..."""
    if names is not None:
        names = list(names)
        if len(names) != len(params):
            raise ValueError(f"names has {len(names)} entries but the optimizer holds "
                             f"{len(params)} parameters: give one name per parameter.")
        return names
    if isinstance(model, torch.nn.Module):
        by_id = {id(p): n for n, p in model.named_parameters()}
        if all(id(p) in by_id for p in params):
            return [by_id[id(p)] for p in params]
    return ["w"] if len(params) == 1 else [f"w{i + 1}" for i in range(len(params))]


def describe_nonfinite(X, y) -> str | None:
    """E.g. 'X holds 3 NaN values (of 48)', or None when every input and target number is finite."""
    parts = []
    for name, t in (("X", X), ("y", y)):
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            for what, count in (("NaN", int(torch.isnan(t).sum())), ("infinite", int(torch.isinf(t).sum()))):
                if count:
                    parts.append(f"{name} holds {count:,} {what} value{'s' if count > 1 else ''} (of {t.numel():,})")
    return " and ".join(parts) or None


def make_setup(model, optimizer, X, y, names, scalar: bool, minimum: float | None) -> Setup:
    modules = list(model.named_modules()) if isinstance(model, nn.Module) else []
    return Setup(
        names=tuple(names), scalar=scalar, bad_input=describe_nonfinite(X, y),
        random_layers=tuple(n or "model" for n, m in modules if isinstance(m, RANDOM_LAYERS)),
        norm_layers=tuple(n or "model" for n, m in modules if isinstance(m, NORM_LAYERS)),
        minimum=minimum, optimizer=optim_state.kind(optimizer), optimizer_name=type(optimizer).__name__,
        plain_sgd=optim_state.plain_sgd(optimizer), lr=float(optimizer.param_groups[0]["lr"]))


def start_facts(setup: Setup, params) -> Facts:
    """The facts of the start (and of reset), with a warning when the data hold NaN or inf."""
    if setup.scalar:
        what = f"one weight {setup.names[0]} = {fmt(params[0].item())}"
    elif sum(p.numel() for p in params) == 2 and len(params) == 2:
        what = f"two weights {setup.names[0]} = {fmt(params[0].item())}, {setup.names[1]} = {fmt(params[1].item())}"
    else:
        count = f"{len(params)} parameter tensor" + ("s" if len(params) > 1 else "")
        what = f"{count} ({sum(p.numel() for p in params):,} numbers)"
    grads = ("gradients not computed yet (.grad is None)" if all(p.grad is None for p in params)
             else ".grad already holds gradients from earlier backward() calls")
    keys = ("start", "start.nan_input") if setup.bad_input else ("start",)
    return Facts("start", keys, {"what": what, "grads": grads, "bad_input": setup.bad_input})


@dataclass
class Checkpoint:
    """Parameters, .grad, optimizer state, and a module's buffers and train/eval modes, to return to."""

    values: list
    grads: list
    optimizer: dict
    buffers: dict
    modes: dict

    @classmethod
    def take(cls, model, optimizer, params) -> Checkpoint:
        module = isinstance(model, nn.Module)
        return cls(values=[p.detach().clone() for p in params],
                   grads=[None if p.grad is None else p.grad.detach().clone() for p in params],
                   optimizer=copy.deepcopy(optimizer.state_dict()),
                   buffers={n: b.detach().clone() for n, b in model.named_buffers()} if module else {},
                   modes={n: m.training for n, m in model.named_modules()} if module else {})

    def restore(self, model, optimizer, params) -> None:
        with torch.no_grad():
            for p, v, g in zip(params, self.values, self.grads):
                p.copy_(v)
                p.grad = None if g is None else g.clone()
            if self.buffers:
                for n, b in model.named_buffers():
                    if n in self.buffers:
                        b.copy_(self.buffers[n])
        for n, m in (model.named_modules() if self.modes else ()):
            if n in self.modes:
                m.training = self.modes[n]
        optimizer.load_state_dict(copy.deepcopy(self.optimizer))

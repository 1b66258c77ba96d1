"""Did the learner's function change its arguments? A snapshot before the call, compared after it.

``snapshot(arg)`` before, ``change_hint(name, before, arg)`` after: ``""`` or what to tell the learner."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TensorState:
    values: torch.Tensor
    requires_grad: bool
    grad: torch.Tensor | None


def snapshot(value):
    """A copy of ``value`` (tensors with their requires_grad and .grad; lists, tuples, dicts deeply)."""
    if isinstance(value, torch.Tensor):
        grad = value.grad if value.is_leaf else None
        return TensorState(value.detach().clone(), value.requires_grad,
                           None if grad is None else grad.detach().clone())
    if isinstance(value, (list, tuple)):
        return [snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    return copy.deepcopy(value)


def changes(before, value) -> str:
    """How ``value`` differs from its ``snapshot`` (``""`` when unchanged), in words."""
    if isinstance(before, TensorState):
        return _tensor_changes(before, value) if isinstance(value, torch.Tensor) else "it was replaced"
    if isinstance(before, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(before):
            return "its length changed"
        for i, (b, v) in enumerate(zip(before, value)):
            change = changes(b, v)
            if change:
                return f"entry {i}: {change}"
        return ""
    if isinstance(before, dict):
        if set(before) != set(value):
            return "its keys changed"
        return next((f"{k!r}: {c}" for k, c in ((k, changes(before[k], value[k])) for k in before) if c), "")
    return "" if before == value else "it was changed"


def _tensor_changes(before: TensorState, value: torch.Tensor) -> str:
    now = value.detach()
    if now.shape != before.values.shape:
        return f"its shape went from {tuple(before.values.shape)} to {tuple(now.shape)}"
    if now.dtype != before.values.dtype:
        return f"its dtype went from {before.values.dtype} to {now.dtype}"
    if not torch.equal(now, before.values):
        index = (now != before.values).nonzero()
        where = tuple(index[0].tolist()) if len(index) else ()
        old, new = before.values[where].item(), now[where].item()
        return f"element {list(where)} was {old:.4g} and is now {new:.4g}" if where else \
            f"it was {old:.4g} and is now {new:.4g}"
    if value.requires_grad != before.requires_grad:
        return f"its requires_grad went from {before.requires_grad} to {value.requires_grad}"
    grad = value.grad if value.is_leaf else None
    if (grad is None) != (before.grad is None) or (grad is not None and not torch.equal(grad, before.grad)):
        return GRAD_CHANGED
    return ""


GRAD_CHANGED = "its .grad was filled or changed"


def change_hint(name: str, before, value) -> str:
    """What to tell a learner whose function changed argument ``name``; ``""`` if it did not."""
    change = changes(before, value)
    if not change:
        return ""
    if change.startswith("its requires_grad"):
        return (f"your function switched on `{name}.requires_grad`, which changes the caller's tensor "
                f"too. Leave the arguments as they are (if you need a copy: `{name}.detach().clone()`).")
    if change.endswith(GRAD_CHANGED):
        return (f"your function called backward(): `{name}.grad` was filled. Whoever calls your function "
                f"calls `loss.backward()` itself, so leave that call out and just return the result.")
    return (f"your function changed its argument `{name}` ({change}). The caller still needs it: in-place "
            f"operations (`{name} -= ...`, `.mul_()`, `{name}[...] = ...`, `.data`) write into the "
            f"caller's tensor. Compute new tensors instead.")

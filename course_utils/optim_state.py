"""What an optimizer keeps between steps, read from its own ``optimizer.state``, and what it implies.

``read_state`` copies the buffers (SGD's ``momentum_buffer``; Adam's ``exp_avg``, ``exp_avg_sq`` and
``step``) for each parameter; ``implied_step`` turns them into the move of the latest ``step()``
(``−lr·buffer`` for momentum, ``−lr·m̂/(√v̂+ε)`` for Adam); ``preview_step`` runs ``step()`` on a copy
of the optimizer to show what the next one would do, leaving the real one untouched.
"""
from __future__ import annotations

import copy

import torch

BUFFERS = ("momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")  # shown in this order


def kind(optimizer) -> str:
    """'sgd', 'momentum', 'nesterov', 'adam', 'adamw' or 'other' (settings of the first group)."""
    group = optimizer.param_groups[0]
    if type(optimizer) is torch.optim.SGD:
        if not group.get("momentum"):
            return "sgd"
        return "nesterov" if group.get("nesterov") else "momentum"
    if type(optimizer) is torch.optim.AdamW or (
            type(optimizer) is torch.optim.Adam and group.get("decoupled_weight_decay")):
        return "adamw"
    if type(optimizer) is torch.optim.Adam:
        return "adam"
    return "other"


def plain_sgd(optimizer) -> bool:
    """True for SGD whose step() is exactly ``w ← w − lr·w.grad`` (no momentum, no weight decay)."""
    group = optimizer.param_groups[0]
    return (kind(optimizer) == "sgd" and len(optimizer.param_groups) == 1 and not group.get("weight_decay")
            and not group.get("maximize"))


def read_state(optimizer, params, names) -> dict[str, dict[str, object]]:
    """name -> {buffer name: CPU copy, 'step': int}; an empty dict before the first step()."""
    out = {}
    for name, p in zip(names, params):
        state = optimizer.state.get(p, {})
        entry = {}
        for key in BUFFERS:
            value = state.get(key)
            if isinstance(value, torch.Tensor):
                entry[key] = value.detach().to("cpu", copy=True)
        if "step" in state:
            step = state["step"]
            entry["step"] = int(step.item() if isinstance(step, torch.Tensor) else step)
        out[name] = entry
    return out


def _group_of(optimizer, p):
    for group in optimizer.param_groups:
        if any(q is p for q in group["params"]):
            return group
    raise ValueError("parameter not in this optimizer")


def implied_step(optimizer, params, names, state, grads) -> dict[str, torch.Tensor] | None:
    """The move of the latest step() as the optimizer's state implies it (decay terms left out), per
    name, in float64: SGD −lr·grad, momentum −lr·buffer (Nesterov −lr·(grad + μ·buffer)), Adam and
    AdamW −lr·m̂/(√v̂+ε). None for other optimizers; a name without state (or grad) is left out."""
    k = kind(optimizer)
    if k == "other":
        return None
    out = {}
    for name, p in zip(names, params):
        group, entry, g = _group_of(optimizer, p), state.get(name, {}), grads.get(name)
        lr = float(group["lr"])
        if k == "sgd" and g is not None:
            out[name] = -lr * g.double()
        elif k in ("momentum", "nesterov") and "momentum_buffer" in entry:
            buf = entry["momentum_buffer"].double()
            out[name] = -lr * (buf if k == "momentum" or g is None else g.double() + group["momentum"] * buf)
        elif k in ("adam", "adamw") and "exp_avg" in entry and entry.get("step"):
            beta1, beta2 = group["betas"]
            t = entry["step"]
            m_hat = entry["exp_avg"].double() / (1 - beta1 ** t)
            v = entry.get("max_exp_avg_sq", entry["exp_avg_sq"]) if group.get("amsgrad") else entry["exp_avg_sq"]
            v_hat = v.double() / (1 - beta2 ** t)
            out[name] = -lr * m_hat / (v_hat.sqrt() + group["eps"])
    return out


def preview_step(optimizer, params) -> list[torch.Tensor] | None:
    """The parameter values one step() would produce now (CPU copies), computed on a deep copy of the
    optimizer (and of its parameters), or None when the copy cannot step."""
    try:
        ghost = copy.deepcopy(optimizer)
        type(ghost).step(ghost)  # the class's own step, never a wrapper patched onto an instance
    except Exception:  # an optimizer that cannot be copied simply gets no preview
        return None
    by_id = {id(p): i for i, p in enumerate(params)}
    copies = [None] * len(params)
    for group, ghost_group in zip(optimizer.param_groups, ghost.param_groups):
        for p, q in zip(group["params"], ghost_group["params"]):
            if id(p) in by_id:
                copies[by_id[id(p)]] = q.detach().to("cpu", copy=True)
    return copies

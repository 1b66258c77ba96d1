"""Facts about one call of the step-through engine, read from snapshots taken before and after it.

:func:`diagnose` is the one place that decides what a call did and what was unusual about it: it
turns (snapshot before, snapshot after, the engine's memory, the call's outcome) into :class:`Facts`,
an ordered tuple of keys such as ``"backward.accumulated"`` with the numbers behind them.
:func:`advance` is the one transition of the engine's memory (:class:`Book`), keyed by those facts.
The words live elsewhere (``step_messages``); nothing here calls PyTorch's optimizer or the model.
"""
from __future__ import annotations

import math
from dataclasses import replace

import torch

from course_utils.step_state import NOT_STEPPED, Book, Facts, Outcome, Setup, Snapshot
from course_utils.torch_errors import classify, first_line

def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """Names of parameters whose values changed, then ``name.grad`` for every changed gradient."""
    out = [n for n in before.values if not torch.equal(before.values[n], after.values[n])]
    for n, old in before.grads.items():
        new = after.grads[n]
        if (old is None) != (new is None) or (old is not None and not torch.equal(old, new)):
            out.append(f"{n}.grad")
    return out


def _finite(tensors) -> bool:
    return all(t is None or bool(torch.isfinite(t).all()) for t in tensors)


def _same(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))


def _unravel(flat: int, shape) -> list[int]:
    index = []
    for size in reversed(shape):
        index.append(flat % size)
        flat //= size
    return index[::-1]


def _added_entry(before: Snapshot, after: Snapshot):
    """(label, old, total) of a telling entry that backward() added to: the largest old entry of the
    tensor with the largest old gradient."""
    best = None
    for name, old in before.grads.items():
        new = after.grads[name]
        if old is not None and new is not None and (best is None or old.norm() > best[1].norm()):
            best = (name, old, new)
    if best is None:
        return "grad", 0.0, 0.0
    name, old, total = best
    flat = int(old.abs().flatten().argmax())
    index = "" if old.numel() == 1 else "[" + ", ".join(map(str, _unravel(flat, old.shape))) + "]"
    return f"{name}.grad{index}", old.flatten()[flat].item(), total.flatten()[flat].item()


def _forward(before, after, book, setup, outcome):
    if outcome.error is not None:
        return [("forward.failed", {"error": f"{type(outcome.error).__name__}: {outcome.error}"})]
    if outcome.not_scalar:
        return [("forward.not_scalar", {})]
    loss, previous = outcome.loss, book.loss
    facts = [("forward.ok", {"loss": loss, "previous": previous})]
    if not math.isfinite(loss):
        if setup.bad_input:
            facts.append(("forward.nan_input", {"bad_input": setup.bad_input}))
        elif not _finite(after.values.values()):
            facts.append(("forward.nan_params", {}))
        else:
            facts.append(("forward.overflow", {}))
    if previous is not None:
        switched = book.loss_training is not None and after.training != book.loss_training
        mode_matters = switched and bool(setup.random_layers or setup.norm_layers)
        if switched:
            facts.append(("forward.mode_switched", {"mode": "train" if after.training else "eval"}))
        if _same(loss, previous):
            facts.append(("forward.step_kept_loss" if book.loss_at_step != book.steps else "forward.same_loss", {}))
        elif book.loss_at_step != book.steps:
            facts.append(("forward.moved_and_mode" if mode_matters else "forward.moved_by_step", {}))
        elif mode_matters:
            facts.append(("forward.mode_changed_loss", {}))
        else:
            facts.append(("forward.dropout" if after.training and setup.random_layers
                          else "forward.changed_elsewhere", {}))
        if not book.graph_used:
            facts.append(("forward.graph_replaced", {}))
    if after.training is False and (setup.random_layers or setup.norm_layers):
        facts.append(("forward.eval_mode", {}))
    elif after.training and setup.norm_layers and book.forwards == 0:
        facts.append(("forward.batchnorm_stats", {}))
    return facts


def _zero_grad(before, after, book, setup, outcome):
    had = any(g is not None for g in before.grads.values())
    if not had:
        return [("zero_grad.nothing", {})]
    facts = [("zero_grad.to_none" if all(g is None for g in after.grads.values()) else "zero_grad.to_zeros", {})]
    if not book.grad_used:
        facts.append(("zero_grad.unused", {}))
    return facts


def _backward(before, after, book, setup, outcome):
    if book.loss is None:
        return [("backward.no_loss", {})]
    if outcome.error is not None:
        key = {"graph_freed": "backward.graph_freed", "no_grad_fn": "backward.no_grad_fn",
               "modified_inplace": "backward.modified_inplace"}.get(classify(outcome.error), "backward.failed")
        written = any(c.endswith(".grad") for c in changes(before, after))
        return [(key, {"error": first_line(outcome.error)}), ("backward.partial" if written else "backward.unchanged", {})]
    if any(g is not None for g in before.grads.values()):
        label, old, total = _added_entry(before, after)
        facts = [("backward.accumulated", {"label": label, "old": old, "new": total - old, "total": total,
                                           "passes": book.passes + 1})]
    elif setup.scalar:
        name = setup.names[0]
        facts = [("backward.scalar", {"name": name, "grad": after.grads[name].item(),
                                      "value": after.values[name].item()})]
    else:
        norms = {n: g.norm().item() for n, g in after.grads.items() if g is not None}
        big = max(norms, key=norms.get) if norms else None
        facts = [("backward.largest", {"name": big, "norm": norms[big]}) if big else ("backward.many", {})]
    if book.loss_at_step != book.steps:
        facts.append(("backward.stale_loss", {}))
    if setup.bad_input and not _finite(after.grads.values()):
        facts.append(("backward.nan_input", {"bad_input": setup.bad_input}))
    return facts


def _not_moved(before, book):
    grads = [g for g in before.grads.values() if g is not None]
    if grads:  # the optimizer did update, by nothing
        return [("step.zero_grads", {}) if all(not g.any() for g in grads) else ("step.too_small", {})]
    if book.cleared_unused:
        return [("step.cleared_unused", {})]
    return [("step.no_backward_yet", {}) if not book.backwards else ("step.cleared_since", {})]


def _step(before, after, book, setup, outcome):
    if outcome.error is not None:
        return [("step.failed", {"error": f"{type(outcome.error).__name__}: {outcome.error}"})]
    moved = [n for n in setup.names if not torch.equal(before.values[n], after.values[n])]
    if not moved:
        return _not_moved(before, book)
    if setup.scalar:
        n = setup.names[0]
        old, new, g = before.values[n].item(), after.values[n].item(), before.grads[n].item()
        data = {"name": n, "old": old, "new": new, "grad": g, "lr": setup.lr, "optimizer": setup.optimizer_name}
        facts = [("step.sgd_scalar" if setup.plain_sgd else "step.moved_scalar", data)]
        entry = after.optim.get(n, {})
        if setup.optimizer in ("adam", "adamw") and "exp_avg" in entry:
            facts.append(("step.adam_scalar", {"t": entry["step"], "m": entry["exp_avg"].item(),
                                               "v": entry["exp_avg_sq"].item(), "delta": new - old}))
        elif setup.optimizer in ("momentum", "nesterov") and "momentum_buffer" in entry:
            facts.append(("step.momentum_scalar", {"buffer": entry["momentum_buffer"].item(), "delta": new - old}))
    else:
        change = {n: (after.values[n] - before.values[n]).abs().max().item() for n in setup.names}
        big = max(change, key=change.get)
        rule = "by −lr·grad" if setup.plain_sgd else f"by the {setup.optimizer_name} rule"
        facts = [("step.moved_many", {"rule": rule, "name": big, "change": change[big]})]
    if not _finite(after.values.values()):
        what = f"{setup.names[0]} is no longer a finite number" if setup.scalar else \
            "some parameters are no longer finite numbers"
        facts.append(("step.nan_input", {"what": what, "bad_input": setup.bad_input}) if setup.bad_input
                     else ("step.diverged", {"what": what}))
    untouched = [n for n in setup.names if before.grads[n] is None]
    if untouched and not setup.scalar:
        facts.append(("step.untouched", {"count": len(untouched)}))
    if book.grad_used:
        facts.append(("step.reused_grads", {}))
    elif book.grad_at_step is not None and book.grad_at_step != book.steps:
        facts.append(("step.old_grads", {}))
    elif book.passes > 1:
        facts.append(("step.summed_grads", {"passes": book.passes}))
        if setup.plain_sgd:
            facts.append(("step.summed_sgd", {}))
        if setup.minimum is not None and (before.values[setup.names[0]].item() - setup.minimum) * (
                after.values[setup.names[0]].item() - setup.minimum) < 0:
            facts.append(("step.overshot", {"name": setup.names[0], "minimum": setup.minimum}))
    if book.loss is not None:
        facts.append(("step.stale_loss", {"loss": book.loss}))
    return facts


_DIAGNOSE = {"forward": _forward, "zero_grad": _zero_grad, "backward": _backward, "step": _step}


def diagnose(action: str, before: Snapshot, after: Snapshot, book: Book, setup: Setup,
             outcome: Outcome = Outcome()) -> Facts:
    """The facts about one call of ``action`` ('forward', 'zero_grad', 'backward' or 'step')."""
    pairs = _DIAGNOSE[action](before, after, book, setup, outcome)
    data = {}
    for _, values in pairs:
        data.update(values)
    changed = changes(before, after)
    if action == "forward" and outcome.error is None and not outcome.not_scalar:
        changed = ["loss", *changed]
    return Facts(action, tuple(k for k, _ in pairs), data, tuple(changed))


def advance(book: Book, facts: Facts, after: Snapshot, outcome: Outcome = Outcome()) -> Book:
    """The engine's memory after a call with these facts: the one transition every action and run() use."""
    keys, action = set(facts.keys), facts.action
    if action == "forward" and "forward.ok" in keys:
        return replace(book, forwards=book.forwards + 1, loss=outcome.loss, loss_at_step=book.steps,
                       loss_training=after.training, graph_used=False)
    if action == "zero_grad":
        had = "zero_grad.nothing" not in keys
        return replace(book, passes=0, grad_used=False, cleared_unused=book.cleared_unused or "zero_grad.unused" in keys,
                       grad_at_step=None if had else book.grad_at_step)
    if action == "backward" and not facts.failed:
        return replace(book, graph_used=True, backwards=book.backwards + 1, passes=book.passes + 1,
                       grad_used=False, cleared_unused=False, grad_at_step=book.loss_at_step)
    if action == "step" and not NOT_STEPPED.intersection(keys):
        return replace(book, steps=book.steps + 1, grad_used=True)
    return book

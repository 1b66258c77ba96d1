"""The numbers beside the plot: parameters, their .grad, the optimizer's buffers, loss and steps.

:func:`state_rows` lists ``(label, key, value)`` rows (value None prints as "None"); the widget turns
them into an HTML table whose ``data-key`` attributes tests and browsers can find.
"""
from __future__ import annotations

from course_utils.step_messages import OPTIMIZER_STATE
from course_utils.step_views.base import Frame
from course_utils.step_views.network import norm

SMALL = 4  # models with at most this many numbers show every number; larger ones show norms
BUFFER_LABELS = {"momentum_buffer": "momentum_buffer", "exp_avg": "exp_avg (m)", "exp_avg_sq": "exp_avg_sq (v)",
                 "max_exp_avg_sq": "max_exp_avg_sq"}


def _numbers(name: str, tensor) -> list[tuple[str, float]]:
    """(label, value) for each number of a small tensor: w, or w[0], w[1], ..."""
    values = tensor.reshape(-1).tolist()
    return [(name, values[0])] if len(values) == 1 else [(f"{name}[{i}]", v) for i, v in enumerate(values)]


def state_rows(frame: Frame, chosen: str | None = None) -> list[tuple[str, str, float | None]]:
    e = frame.event
    small = sum(v.numel() for v in e.params.values()) <= SMALL
    rows = []
    if small:
        one = len(frame.names) == 1 and e.params[frame.names[0]].numel() == 1  # no name needed before buffers
        for name in frame.names:
            for label, v in _numbers(name, e.params[name]):
                rows.append((label, label, v))
            g = e.grads[name]
            for label, v in (_numbers(name, g) if g is not None else [(name, None)] * e.params[name].numel()):
                rows.append((f"{label}.grad", f"{label}.grad", v))
            for key, value in e.optim.get(name, {}).items():
                if key != "step":
                    for label, v in _numbers(name, value):
                        rows.append((("" if one else f"{label}.") + BUFFER_LABELS.get(key, key), f"{label}.{key}", v))
            if e.implied and name in e.implied:
                for label, v in _numbers(name, e.implied[name]):
                    rows.append((("" if one else f"{label}: ") + "last step's move", f"{label}.move", v))
            if frame.next_values and not e.grad_stale:
                for (label, new), (_, old) in zip(_numbers(name, frame.next_values[name]), _numbers(name, e.params[name])):
                    rows.append((("" if one else f"{label}: ") + "next step() would move", f"{label}.next",
                                 new - old))
    else:
        grads = [g for g in e.grads.values() if g is not None]
        rows.append(("‖all grads‖", "grad_norm", sum(norm(g) ** 2 for g in grads) ** 0.5 if grads else None))
        chosen = chosen or frame.names[-1]
        g = e.grads[chosen]
        rows.append((f"‖{chosen}.grad‖", f"{chosen}.grad", None if g is None else norm(g)))
        for key, value in e.optim.get(chosen, {}).items():
            if key != "step":
                rows.append((f"‖{chosen}.{key}‖", f"{chosen}.{key}", norm(value)))
        if e.implied and chosen in e.implied:
            rows.append((f"‖{chosen}: last step's move‖", f"{chosen}.move", norm(e.implied[chosen])))
    steps = {entry["step"] for entry in e.optim.values() if "step" in entry}
    if steps:
        rows.append(("optimizer's step t", "optim_step", float(max(steps))))
    rows.append(("loss" + (" (before the step)" if e.loss_stale else ""), "loss", e.loss))
    rows.append(("steps taken", "steps", float(e.steps)))
    return rows


def optimizer_line(kind: str) -> str:
    """One line on what this kind of optimizer keeps (``optim_state.kind``)."""
    return OPTIMIZER_STATE.get(kind, OPTIMIZER_STATE["other"])

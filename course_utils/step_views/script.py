"""A scripted sequence of clicks drawn as one static figure, for readers without a live kernel
(GitHub, nbviewer, a PDF): the cell after a widget shows what the clicks would have shown."""
from __future__ import annotations

from course_utils.step_views.base import COLORS, FONT, Frame, new_figure
from course_utils.step_views.cached import CachedView
from course_utils.step_views.contour import ContourStepView
from course_utils.step_views.network import TensorBars, norm
from course_utils.step_views.scalar import ScalarStepView

CLICKS = ("forward", "zero_grad", "backward", "step", "reset")


def _click(stepper, click):
    """Make one click: an action name, "reset", or ("run", n); returns its label."""
    if isinstance(click, (tuple, list)) and len(click) == 2 and click[0] == "run":
        stepper.run(click[1])
        return f"run({click[1]})"
    if click not in CLICKS:
        raise ValueError(f"unknown click {click!r}: use {', '.join(CLICKS)} or ('run', n).")
    getattr(stepper, click)()
    return f"{click}()"


def record_clicks(stepper, clicks, chosen: str | None = None) -> list[tuple[str, Frame]]:
    """(label, frame) after each click, made from the start; afterwards the stepper is back at the
    start (with its log as it was, when it was at the start before)."""
    clicks = list(clicks)
    if not clicks:
        raise ValueError("give at least one click, e.g. ['forward', 'backward', 'step'].")
    fresh = len(stepper.events) == 1 and stepper.state().action in ("start", "reset")
    saved = list(stepper.events)
    stepper.reset()
    try:
        return [(_click(stepper, click), Frame.of(stepper, chosen)) for click in clicks]
    finally:
        stepper.reset()
        if fresh:
            stepper.events.clear()
            stepper.events.extend(saved)


def _panel_title(i: int, label: str, frame: Frame, detail: str) -> str:
    mark = "  ⚠" if not frame.event.ok else ""
    return f"{i}. {label}{mark}\n{detail}"


def _small_multiples(stepper, frames, columns):
    rows, cols = -(-len(frames) // columns), min(columns, len(frames))
    pair = stepper.surface is not None and not stepper.scalar
    height = 3.3 if pair else 2.6  # inches per row, titles included
    fig = new_figure(3.2 * cols, height * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    view = None
    for k, ax in enumerate(axes.flat):
        if k >= len(frames):
            ax.set_visible(False)
            continue
        label, frame = frames[k]
        if pair:
            view = ContourStepView(stepper.surface, stepper.coord_names, ax=ax, legend=False)
        else:
            view = ScalarStepView(*stepper.landscape, name=stepper.names[0], ax=ax, legend=False)
        view.show(frame)
        ax.set_title(_panel_title(k + 1, label, frame, view.title.get_text()), fontsize=FONT["tick"],
                     color=COLORS["warn"] if not frame.event.ok else COLORS["text"])
        if k % cols:
            ax.set_ylabel("")
    fig.legend(handles=view.legend_handles(), loc="lower center", ncol=3, fontsize=FONT["tick"], frameon=False)
    inch = 1 / fig.get_figheight()
    fig.subplots_adjust(left=0.6 / fig.get_figwidth(), right=0.98, top=1 - 0.55 * inch, bottom=1.05 * inch,
                        hspace=0.85 if not pair else 0.6, wspace=0.25)
    return fig


def _network_caption(frame: Frame) -> str:
    e, names = frame.event, frame.names
    if e.action == "forward" and "loss" in e.changed:
        return f"loss {e.loss:.6g}"
    if e.action in ("step", "run"):
        moved = sum(n in e.changed for n in names)
        return f"moved {moved}/{len(names)} tensors" if moved else "nothing moved"
    if e.action == "backward":
        wrote = sum(f"{n}.grad" in e.changed for n in names)
        return ("added to" if e.grad_passes > 1 else "wrote") + f" {wrote} grads" if wrote else "nothing changed"
    if e.action == "zero_grad":
        return "grads cleared"
    return "the start"


def _network_strip(stepper, frames):
    cols, names = len(frames), stepper.names
    fig = new_figure(1.7 + 1.35 * cols, 1.2 + 0.3 * len(names) * 2)
    axes = fig.subplots(2, cols, squeeze=False)
    holder = CachedView(fig, static=True)
    bars = []
    for k, (label, frame) in enumerate(frames):
        e = frame.event
        grads = TensorBars(holder, axes[0, k], names, COLORS["bars"], "", labels=k == 0)
        moved = TensorBars(holder, axes[1, k], names, COLORS["delta"], "", labels=k == 0)
        grads.show({n: None if g is None else norm(g) for n, g in e.grads.items()})
        moved.show(e.update, "" if e.update else "no step()\nyet")
        bars.append((grads, moved))
        axes[0, k].set_title(_panel_title(k + 1, label, frame, _network_caption(frame)), fontsize=FONT["tick"],
                             color=COLORS["warn"] if not e.ok else COLORS["text"])
    for row in (0, 1):  # one scale per row, so the panels compare; its ticks on the first panel only
        top = max((b[row].top or 0.0) for b in bars) or 1.0
        for k in range(cols):
            axes[row, k].set_xlim(0, top)
            axes[row, k].set_xticks([0, top])
            axes[row, k].tick_params(labelbottom=k == 0)
    for row in (0, 1):
        labels = axes[row, 0].set_xticklabels(["0", f"{axes[row, 0].get_xlim()[1]:.2g}"])
        labels[1].set_ha("right")
    fig.text(0.01, 0.72, "‖.grad‖ per tensor", rotation=90, va="center", fontsize=FONT["label"])
    fig.text(0.01, 0.28, "‖Δ‖ of the latest step()", rotation=90, va="center", fontsize=FONT["label"])
    fig.subplots_adjust(left=1.55 / fig.get_figwidth(), right=0.98, top=1 - 0.65 / fig.get_figheight(),
                        bottom=0.35 / fig.get_figheight(), hspace=0.12, wspace=0.1)
    return fig


def render_clicks(stepper, clicks, columns: int = 3, chosen: str | None = None):
    """One static figure of what the widget shows after each of ``clicks`` (action names, "reset",
    or ("run", n)), made from the start. One weight or two: a small panel per click; a network: per
    click, ‖grad‖ and the ‖Δ‖ of the latest step() for every tensor, on shared scales. The stepper is
    back at the start afterwards, so the widget above it and the cells below are unaffected."""
    frames = record_clicks(stepper, clicks, chosen)
    if stepper.landscape is not None or stepper.surface is not None:
        return _small_multiples(stepper, frames, columns)
    return _network_strip(stepper, frames)

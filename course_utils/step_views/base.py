"""What every step-through view shares: the frame it draws, its figure, fonts that read at the
default zoom, and text placement that covers nothing (the cached drawing is in ``cached``).

The figures are opaque white PNGs, so they read the same in JupyterLab's light and dark themes;
fonts are 9.5–11 pt at 100 dpi (13–15 px), shown at their own pixel size by the widget.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
FONT = {"title": 11, "label": 10, "tick": 9.5, "text": 10}
COLORS = {"curve": "#4c72b0", "point": "#c44e52", "step": "#2a8a45", "warn": "#d1560f", "grad": "#dd8452",
          "muted": "#8c8c8c", "text": "#222222", "bars": "#4c72b0", "delta": "#2a8a45", "hist": "#dd8452"}


@dataclass
class Frame:
    """Everything a view draws after one click: the stepper's latest event and the history around it."""

    event: object  # stepper.Event
    names: list[str]
    path: list = field(default_factory=list)  # w (or (w1, w2)) after each step, the start first
    losses: list[float] = field(default_factory=list)
    lr: float = 0.0
    next_values: dict | None = None  # what one more step() would give (small models)
    chosen: str | None = None  # the tensor whose gradient histogram is shown
    plain_sgd: bool = True  # step() is exactly w ← w − lr·grad
    optimizer: str = "SGD"  # its class name

    @classmethod
    def of(cls, stepper, chosen: str | None = None) -> Frame:
        return cls(event=stepper.state(), names=list(stepper.names), path=list(stepper.path),
                   losses=list(stepper.losses), lr=float(stepper.optimizer.param_groups[0]["lr"]),
                   next_values=stepper.next_step(), chosen=chosen, plain_sgd=stepper.setup.plain_sgd,
                   optimizer=stepper.setup.optimizer_name)


def new_figure(width: float, height: float, dpi: int = DPI) -> Figure:
    """A figure outside pyplot (a notebook never shows it twice), white so it reads in any theme."""
    fig = Figure(figsize=(width, height), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig, dpi: int | None = None) -> bytes:
    """The figure rendered to PNG bytes (for an ipywidgets.Image or a file)."""
    buf = io.BytesIO()
    # fast zlib level: the image is redrawn after every click, and the bytes barely grow
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, facecolor="white", pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def style_axes(ax, xlabel: str = "", ylabel: str = "") -> None:
    """Readable labels and ticks, a light grid."""
    ax.set_xlabel(xlabel, fontsize=FONT["label"])
    ax.set_ylabel(ylabel, fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
    ax.grid(alpha=0.3)


def _hits_line(box, points) -> bool:
    """True when the polyline through display-space ``points`` (N×2) passes through ``box``."""
    import numpy as np

    pts = np.asarray(points, float)
    if len(pts) == 1:
        pts = np.repeat(pts, 2, axis=0)
    t = np.linspace(0, 1, 25)[:, None]
    dense = np.concatenate([a + t * (b - a) for a, b in zip(pts[:-1], pts[1:])])
    return bool(np.any((dense[:, 0] >= box.x0) & (dense[:, 0] <= box.x1) &
                       (dense[:, 1] >= box.y0) & (dense[:, 1] <= box.y1)))


def overlaps(box, others, pad: float = 3.0) -> bool:
    """True when display-space ``box`` (grown by ``pad`` pixels) meets any of ``others``: boxes, or
    polylines given as N×2 arrays of display points (a tangent, an arrow's shaft, a curve)."""
    grown = box.padded(pad)
    for other in others:
        if other is None:
            continue
        if hasattr(other, "overlaps"):
            if grown.overlaps(other):
                return True
        elif _hits_line(grown, other):
            return True
    return False


def text_box(text, renderer):
    """Display-space box of a text, including the frame drawn around it (if any)."""
    box = text.get_window_extent(renderer)
    patch = text.get_bbox_patch()
    if patch is None:
        return box
    pad = patch.get_boxstyle().pad * text.get_fontsize() * text.figure.dpi / 72
    return box.padded(pad + patch.get_linewidth())


def place_text(text, candidates, obstacles, renderer, inside) -> bool:
    """Move ``text`` to the first candidate ``(x, y, ha, va)`` (in its own coordinates) where it stays
    inside the ``inside`` box and meets no obstacle; False (and the last candidate) when none fits."""
    for x, y, ha, va in candidates:
        text.set_position((x, y))
        text.set_ha(ha)
        text.set_va(va)
        box = text_box(text, renderer)
        if (box.x0 >= inside.x0 and box.x1 <= inside.x1 and box.y0 >= inside.y0 and box.y1 <= inside.y1
                and not overlaps(box, obstacles)):
            return True
    return False

"""What every step-through view shares: the frame it draws, its figure, fonts that read at the
default zoom, the cached PNG drawing, and text placement that covers nothing.

The figures are opaque white PNGs, so they read the same in JupyterLab's light and dark themes;
fonts are 9.5–11 pt at 100 dpi (13–15 px), shown at their own pixel size by the widget.
"""
from __future__ import annotations

import io
import struct
import zlib
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


def _signature(artist):
    """What a drawn artist looks like, to tell whether its panel must be repainted."""
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle, StepPatch
    from matplotlib.text import Annotation, Text

    if not artist.get_visible():
        return None
    if isinstance(artist, Annotation):
        patch = artist.arrow_patch
        return (artist.get_text(), tuple(artist.xy), tuple(artist.xyann), tuple(patch.get_edgecolor()),
                patch.get_linestyle())
    if isinstance(artist, Text):
        return (artist.get_text(), tuple(artist.get_position()), str(artist.get_color()), artist.get_ha(),
                artist.get_va(), artist.get_fontweight())
    if isinstance(artist, Line2D):
        return (np.asarray(artist.get_xdata(), float).tobytes(), np.asarray(artist.get_ydata(), float).tobytes(),
                str(artist.get_color()))
    if isinstance(artist, Rectangle):
        return (tuple(artist.get_xy()), artist.get_width(), artist.get_height(), tuple(artist.get_facecolor()))
    if isinstance(artist, StepPatch):
        data = artist.get_data()
        return (np.asarray(data.values).tobytes(), np.asarray(data.edges).tobytes())
    return object()  # unknown kind: always repainted


class CachedView:
    """A figure built once and updated in place. Subclasses create their artists, mark the ones that
    change with :meth:`animate`, and move them in ``show(frame)``. :meth:`png` repaints only the
    panels whose moving artists changed, over a cached background, and redraws the background only
    when :meth:`background_key` changes (an axis range). ``static=True`` builds an ordinary figure
    instead (for one-off pictures)."""

    def __init__(self, fig: Figure, static: bool = False):
        self.fig, self.static = fig, static
        self.moving: list = []
        self._background = self._background_key = None
        self._regions: dict | None = None  # axes -> display box to repaint (its title included)
        self._painted: dict = {}  # axes -> signatures of its moving artists as last painted

    def animate(self, *artists):
        """Register artists that change from click to click; returns the first (for chaining)."""
        for artist in artists:
            artist.set_animated(not self.static)
            self.moving.append(artist)
        return artists[0] if len(artists) == 1 else artists

    def background_key(self) -> tuple:
        """What the cached background depends on: every axis range."""
        return tuple((ax.get_xlim(), ax.get_ylim()) for ax in self.fig.axes)

    @property
    def renderer(self):
        return self.fig.canvas.get_renderer()

    def _region_boxes(self) -> dict | None:
        """A box per axes holding moving artists: the axes and a band above for its title; None
        (repaint everything) when two boxes would overlap or an artist belongs to no axes."""
        from matplotlib.transforms import Bbox

        if any(a.axes is None for a in self.moving):
            return None
        band = 2.2 * FONT["title"] * self.fig.dpi / 72
        boxes = {}
        for ax in dict.fromkeys(a.axes for a in self.moving):
            b = ax.bbox
            boxes[ax] = Bbox.from_extents(b.x0 - 3, b.y0 - 3, b.x1 + 3, b.y1 + band)
        values = list(boxes.values())
        if any(p.overlaps(q) for i, p in enumerate(values) for q in values[i + 1:]):
            return None
        return boxes

    def _signatures(self) -> dict:
        out = {}
        for artist in self.moving:
            out.setdefault(artist.axes, []).append(_signature(artist))
        return out

    def png(self) -> bytes:
        """The current picture as PNG bytes."""
        if self.static:
            return figure_png(self.fig)
        canvas, key = self.fig.canvas, self.background_key()
        signatures = self._signatures()
        if key != self._background_key:
            canvas.draw()  # everything except the animated artists
            self._background, self._background_key = canvas.copy_from_bbox(self.fig.bbox), key
            self._regions, dirty = self._region_boxes(), set(signatures)
        elif self._regions is None:
            canvas.restore_region(self._background)
            dirty = set(signatures)
        else:
            dirty = {ax for ax, sig in signatures.items() if self._painted.get(ax) != sig}
            height = self.fig.bbox.height
            for ax in dirty:  # Agg counts rows from the top
                b = self._regions[ax]
                canvas.restore_region(self._background, bbox=(b.x0, height - b.y1, b.x1, height - b.y0), xy=(0, 0))
        for artist in self.moving:
            if artist.axes in dirty and artist.get_visible():
                self.fig.draw_artist(artist)
        self._painted = signatures
        return _canvas_png(self.fig)


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _canvas_png(fig) -> bytes:
    """PNG of what is on the (already drawn) Agg canvas: RGB rows without PNG's per-row filters and
    zlib's fastest level, about three times quicker than a general encoder on a flat-coloured plot,
    at about the same size."""
    import numpy as np

    width, height = fig.canvas.get_width_height(physical=True)
    rgba = np.asarray(fig.canvas.buffer_rgba()).reshape(height, width, 4)
    rows = np.zeros((height, 1 + 3 * width), np.uint8)  # a leading 0 per row: "no filter"
    rows[:, 1:] = rgba[:, :, :3].reshape(height, 3 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
            + _chunk(b"IEND", b""))

"""The cached drawing every live view shares: a background drawn once, and per click only the panels
whose moving artists changed repainted over it, then a fast PNG of the canvas."""
from __future__ import annotations

import struct
import zlib

from matplotlib.figure import Figure

from course_utils.step_views.base import FONT, figure_png


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
        self._texts_fit = False  # every moving text lay inside its panel's box at the last paint

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
        (repaint everything) for a single panel, when two boxes would overlap, or when an artist
        belongs to no axes."""
        from matplotlib.transforms import Bbox

        if any(a.axes is None for a in self.moving) or len({a.axes for a in self.moving}) < 2:
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

    def _texts_inside(self, panels) -> bool:
        """Every visible moving text of these panels lies inside its panel's box (else that paint
        repaints everything)."""
        from matplotlib.text import Text

        r = self.renderer
        for artist in self.moving:
            if artist.axes in panels and isinstance(artist, Text) and artist.get_visible() and artist.get_text():
                box, region = artist.get_window_extent(r), self._regions[artist.axes]
                if box.x0 < region.x0 or box.x1 > region.x1 or box.y0 < region.y0 or box.y1 > region.y1:
                    return False
        return True

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
        signatures, fresh = self._signatures(), key != self._background_key
        if fresh:
            canvas.draw()  # everything except the animated artists
            self._background, self._background_key = canvas.copy_from_bbox(self.fig.bbox), key
            self._regions = self._region_boxes()
        dirty = set(signatures) if fresh else {ax for ax, sig in signatures.items() if self._painted.get(ax) != sig}
        fit = self._regions is not None and self._texts_inside(dirty)  # the others are as last painted
        if fresh or not (fit and self._texts_fit):  # every panel: a new background, or a text ran over
            if not fresh:
                canvas.restore_region(self._background)
            dirty = set(signatures)
        else:
            height = self.fig.bbox.height
            for ax in dirty:  # Agg counts rows from the top
                b = self._regions[ax]
                canvas.restore_region(self._background, bbox=(b.x0, height - b.y1, b.x1, height - b.y0), xy=(0, 0))
        for artist in self.moving:
            if artist.axes in dirty and artist.get_visible():
                self.fig.draw_artist(artist)
        self._painted, self._texts_fit = signatures, fit  # a text outside its panel: the next paint is full too
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
    rows[:, 1:].reshape(height, width, 3)[...] = rgba[:, :, :3]  # one copy, into a view
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
            + _chunk(b"IEND", b""))

"""A network: ‖grad‖ per tensor, what the latest step() changed (‖Δ‖ per tensor), the values of one
tensor's .grad, and the loss of every forward pass. The panel the last click changed gets a green title."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

from course_utils.step_views.base import COLORS, DPI, FONT, Frame, new_figure, style_axes
from course_utils.step_views.cached import CachedView

CHANGED = {"color": COLORS["step"], "fontweight": "bold"}
PLAIN = {"color": COLORS["text"], "fontweight": "normal"}


def nice_ceiling(x: float) -> float:
    """The smallest "round" number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) that is ≥ x (x > 0)."""
    exp = math.floor(math.log10(x))
    for m in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * 10 ** exp >= x * (1 - 1e-12):
            return m * 10 ** exp
    return 10.0 ** (exp + 1)


def sticky_top(current: float | None, needed: float) -> float:
    """An axis end that only moves when ``needed`` leaves the range or uses less than a quarter of it."""
    if not math.isfinite(needed) or needed <= 0:
        return current or 1.0
    if current is not None and 0.25 * current <= needed <= current:
        return current
    return nice_ceiling(needed * 1.1)


def norm(g) -> float:
    """Euclidean norm of a tensor or array, in float64."""
    if hasattr(g, "detach"):
        return float(g.detach().double().pow(2).sum().sqrt())
    v = np.asarray(g, dtype=np.float64).ravel()
    return float(np.sqrt(np.sum(v * v)))


def _decimals_formatter(ax):
    """Tick labels with just enough decimals for the axis's current span (no offset text)."""
    def label(value, _pos):
        lo, hi = ax.get_ylim()
        step = abs(hi - lo) / 4 or 1.0
        return f"{value:.{max(0, min(8, -math.floor(math.log10(step))))}f}"
    return FuncFormatter(label)


class TensorBars:
    """Horizontal bars, one per tensor, with "None" written where a value is None; a sticky x-range."""

    def __init__(self, view: CachedView, ax, names, color: str, xlabel: str, labels: bool = True):
        self.ax, self.names, self.top = ax, list(names), None
        y = list(range(len(self.names)))
        self.bars = view.animate(*ax.barh(y, [0.0] * len(y), color=color)) if y else []
        if len(y) == 1:
            self.bars = [self.bars]
        self.none_texts = [ax.text(0, i, " None", va="center", fontsize=FONT["tick"], color=COLORS["muted"]) for i in y]
        view.animate(*self.none_texts)
        self.note = view.animate(ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center",
                                         fontsize=FONT["text"], color=COLORS["muted"]))
        ax.set_yticks(y)
        ax.set_yticklabels([n if len(n) <= 14 else "…" + n[-13:] for n in self.names] if labels else [])
        ax.set_ylim(len(y) - 0.5, -0.5)  # first tensor on top
        style_axes(ax, xlabel)
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3))
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))

    def show(self, values, note: str = "") -> None:
        """``values`` maps name → number or None (None: the word "None" instead of a bar; one note
        when every value is None)."""
        values = values or {}
        every = bool(values) and all(v is None for v in values.values())
        for bar, text, name in zip(self.bars, self.none_texts, self.names):
            v = values.get(name)
            bar.set_width(v if v is not None and math.isfinite(v) else 0.0)
            text.set_visible(name in values and v is None and not every)
        if every and not note:
            note = "every .grad\nis None"
        shown = [v for v in values.values() if v is not None and math.isfinite(v)]
        if shown:  # keep the old scale while nothing is there
            self.top = sticky_top(self.top, max(shown))
        self.ax.set_xlim(0, self.top or 1.0)
        self.note.set_text(note)


class GradientView(CachedView):
    """The four panels for a network; ``show(frame)`` redraws, ``png()`` renders. Axis ranges are
    sticky (they change only when the data leave them or shrink a lot), so most clicks repaint only
    bars, histogram and curve over a cached background, and the panels stay comparable."""

    def __init__(self, names, dpi: int = DPI):
        super().__init__(new_figure(9.4, 6.0, dpi))
        self.names = list(names)
        fig = self.fig
        grid = fig.add_gridspec(2, 2, left=0.15, right=0.98, bottom=0.09, top=0.93, wspace=0.3, hspace=0.5,
                                height_ratios=[1.25, 1])
        self.ax_grad, self.ax_step = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        self.ax_hist, self.ax_loss = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
        self.grad_bars = TensorBars(self, self.ax_grad, self.names, COLORS["bars"], "‖.grad‖")
        self.step_bars = TensorBars(self, self.ax_step, self.names, COLORS["delta"], "‖Δ‖ = ‖after − before‖",
                                    labels=False)
        # the titles change with every click: drawn with the moving parts, never in the cached background
        self.titles = {ax: self.animate(ax.set_title("", fontsize=FONT["title"]))
                       for ax in (self.ax_grad, self.ax_step, self.ax_hist, self.ax_loss)}
        ax = self.ax_hist
        self.stairs = self.animate(ax.stairs([0.0], [0.0, 1.0], fill=True, color=COLORS["hist"], alpha=0.9))
        self.hist_note = self.animate(ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center",
                                              color=COLORS["muted"], fontsize=FONT["text"]))
        style_axes(ax, "gradient value", "count")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, symmetric=True))
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax = self.ax_loss
        (self.loss_line,) = [self.animate(line) for line in ax.plot([], [], "o-", color=COLORS["step"], ms=3.5, lw=1.5)]
        style_axes(ax, "forward pass", "loss")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.yaxis.set_major_formatter(_decimals_formatter(ax))
        self._chosen = self._hist_range = self._count_top = None

    @property
    def none_texts(self):
        return self.grad_bars.none_texts

    @property
    def bars(self):
        return self.grad_bars.bars

    @property
    def hist_title(self):
        return self.titles[self.ax_hist]

    def _title(self, ax, text: str, changed: bool) -> None:
        self.titles[ax].set_text(text)
        self.titles[ax].set(**(CHANGED if changed else PLAIN))

    def show(self, frame: Frame):
        e, a = frame.event, frame.event.action
        grads = e.grads
        self.grad_bars.show({n: None if g is None else norm(g) for n, g in grads.items()})
        wrote = any(c.endswith(".grad") for c in e.changed)
        title = {"backward": "backward() added to ‖.grad‖" if e.grad_passes > 1 else "backward() wrote ‖.grad‖",
                 "zero_grad": "zero_grad() cleared .grad", "run": "‖.grad‖ of the last backward()"}
        self._title(self.ax_grad, title.get(a, "‖.grad‖ per tensor") if wrote else "‖.grad‖ per tensor", wrote)
        stepped = a in ("step", "run") and e.update is not None and e.steps > 0 and any(
            n in e.changed for n in self.names)
        self.step_bars.show(e.update, "" if e.update else "no step() yet")
        self._title(self.ax_step,
                    f"step() #{e.steps} moved each tensor by ‖Δ‖" if e.update else "‖Δ‖ of the latest step()",
                    stepped)
        self._histogram(grads, frame.chosen or self.names[-1])
        self._loss_curve(frame.losses, a == "forward" and "loss" in e.changed)
        return self.fig

    def _histogram(self, grads, chosen) -> None:
        if chosen != self._chosen:  # another tensor: new scales
            self._chosen, self._hist_range, self._count_top = chosen, None, None
        g = grads.get(chosen)
        if g is None:
            self.stairs.set_visible(False)
            self.hist_note.set_text(f"{chosen}.grad is None")
        else:
            values = np.asarray(g, dtype=np.float64).ravel()
            values = values[np.isfinite(values)]
            biggest = float(np.abs(values).max()) if values.size else 0.0
            self._hist_range = sticky_top(self._hist_range, biggest if biggest > 0 else 1e-8)
            counts, edges = np.histogram(values, bins=31, range=(-self._hist_range, self._hist_range))
            self._count_top = sticky_top(self._count_top, max(int(counts.max()), 1))
            self.stairs.set_data(counts, edges)
            self.stairs.set_visible(True)
            self.hist_note.set_text("")
        self._title(self.ax_hist, f"values of {chosen}.grad", False)
        self.ax_hist.set_xlim(-(self._hist_range or 1.0), self._hist_range or 1.0)
        self.ax_hist.set_ylim(0, self._count_top or 1.0)

    def _loss_curve(self, losses, changed: bool) -> None:
        self.loss_line.set_data(range(1, len(losses) + 1), losses)
        finite = [v for v in losses if np.isfinite(v)]
        if finite:
            lo, hi = min(finite), max(finite)
            spread = max(hi - lo, 0.005 * abs(hi), 1e-6)  # room for many small falls before a reframe
            y0, y1 = self.ax_loss.get_ylim() if self._background_key else (np.inf, -np.inf)
            if not (y0 <= lo and hi <= y1 and (y1 - y0) <= 4 * spread):
                y0, y1 = lo - 0.6 * spread, hi + 0.15 * spread  # room below: losses usually fall
            self.ax_loss.set_ylim(y0, y1)
        top = next((n for n in (10, 20, 50, 100, 200, 500) if n >= len(losses)), None) or nice_ceiling(len(losses))
        self.ax_loss.set_xlim(0.5, top + 0.5)  # a few round ends: the axis rarely changes
        last = f": {losses[-1]:.6g}" if losses else ""
        self._title(self.ax_loss, ("forward() computed the loss" if changed else "loss per forward()") + last, changed)

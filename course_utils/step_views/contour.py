"""Two numbers (w1, w2): the loss as contours over them, the path the optimizer took, the current
point, and arrows for the step (dashed: what step() would do now; solid: the step() just taken;
grey: plain SGD's −lr·grad, to compare with momentum or Adam)."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from course_utils.step_views.base import COLORS, DPI, FONT, Frame, new_figure, place_text, style_axes, text_box
from course_utils.step_views.cached import CachedView


def _xy(tensors: dict, names) -> list[float] | None:
    """The two numbers of a name → tensor dict, in order; None when a tensor is None."""
    out = []
    for n in names:
        t = tensors.get(n)
        if t is None:
            return None
        out.extend(float(v) for v in t.reshape(-1).tolist())
    return out


class ContourStepView(CachedView):
    """The loss over two numbers labelled ``labels``; ``show(frame)`` moves path, point and arrows."""

    def __init__(self, surface, labels=("w1", "w2"), ax=None, dpi: int = DPI, legend: bool = True):
        static = ax is not None
        super().__init__(ax.figure if static else new_figure(6.4, 5.6, dpi), static)
        if ax is None:
            ax = self.fig.add_subplot()
            self.fig.subplots_adjust(left=0.12, right=0.97, bottom=0.24, top=0.92)
        self.ax, self.labels = ax, list(labels)
        g1, g2, Z = (np.asarray(v, float) for v in surface[:3])
        lo, hi = np.nanmin(Z), np.nanmax(Z)
        levels = lo + (hi - lo) * np.linspace(0, 1, 16)[1:] ** 2  # denser near the bottom of the bowl
        ax.contourf(g1, g2, Z, levels=[lo, *levels], cmap="YlGnBu", alpha=0.45)
        ax.contour(g1, g2, Z, levels=levels, colors="#6b7b8c", linewidths=0.7)
        lowest = surface[3] if len(surface) > 3 else None  # found by L-BFGS: a grid point may sit beside it
        if lowest is None:
            j, i = np.unravel_index(np.nanargmin(Z), Z.shape)
            lowest = (g1[i], g2[j])
        ax.plot([lowest[0]], [lowest[1]], "x", color=COLORS["text"], ms=9, mew=2)
        self.limits = (g1[0], g1[-1], g2[0], g2[-1])
        ax.set_xlim(g1[0], g1[-1])
        ax.set_ylim(g2[0], g2[-1])
        ax.set_aspect("equal", adjustable="box")
        (self.trail,) = ax.plot([], [], "o-", color=COLORS["muted"], ms=4, lw=1.2)
        (self.point,) = ax.plot([], [], "o", color=COLORS["point"], ms=9, zorder=5)
        self.sgd_arrow = ax.annotate("", xy=(0, 0), xytext=(0, 0), zorder=5, annotation_clip=False, arrowprops=dict(
            arrowstyle="-|>", color=COLORS["muted"], lw=1.8, ls="--", mutation_scale=14))
        self.sgd_arrow.arrow_patch.set_clip_box(ax.bbox)  # a long plain-SGD step runs off the chart, cut
        self.arrow = ax.annotate("", xy=(0, 0), xytext=(0, 0), zorder=6, arrowprops=dict(
            arrowstyle="-|>", color=COLORS["step"], lw=2.2, mutation_scale=16))
        self.arrow_text = ax.text(0, 0, "", color=COLORS["step"], fontsize=FONT["text"], zorder=7,
                                  bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1.5))
        self.title = ax.set_title("", fontsize=FONT["title"])
        style_axes(ax, self.labels[0], self.labels[1])
        ax.grid(False)
        if legend:
            ax.legend(handles=self.legend_handles(), loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2,
                      fontsize=FONT["tick"], frameon=False)
        self.animate(self.trail, self.point, self.sgd_arrow, self.arrow, self.arrow_text, self.title)

    @staticmethod
    def legend_handles():
        return [Line2D([], [], marker="o", ls="-", color=COLORS["muted"], ms=4, label="path so far"),
                Line2D([], [], marker="x", ls="", color=COLORS["text"], ms=8, mew=2, label="lowest loss"),
                Line2D([], [], color=COLORS["step"], lw=2.2, ls="--", label="step() would move here"),
                Line2D([], [], color=COLORS["muted"], lw=1.8, ls="--", label="plain SGD: −lr·grad")]

    def _inside(self, p) -> bool:
        x0, x1, y0, y1 = self.limits
        return p is not None and all(np.isfinite(p)) and x0 <= p[0] <= x1 and y0 <= p[1] <= y1

    def show(self, frame: Frame):
        e, names = frame.event, frame.names
        w, g = _xy(e.params, names), _xy(e.grads, names)
        path = [p for p in frame.path if self._inside(p)]
        self.trail.set_data([p[0] for p in path], [p[1] for p in path])
        self.arrow.set_visible(False)
        self.sgd_arrow.set_visible(False)
        self.arrow_text.set_text("")
        a, labels = e.action, ", ".join(self.labels)
        point = f"({w[0]:.3g}, {w[1]:.3g})"
        if not self._inside(w):
            self.point.set_data([], [])
            self.title.set_text(f"({labels}) = {point} is off the chart" +
                                (": training diverged" if not all(np.isfinite(w)) else ""))
            return self.fig
        self.point.set_data([w[0]], [w[1]])
        stepped = a in ("step", "run") and any(n in e.changed for n in names) and len(frame.path) >= 2
        nxt = None if g is None or e.grad_stale or not frame.next_values else _xy(frame.next_values, names)
        if stepped:
            self._arrow(frame.path[-2], w, "-", not e.ok, ("⚠" if self.static else "⚠ see the log") if not e.ok else "")
        elif nxt is not None and nxt != w:
            summed = e.grad_passes > 1
            label = "⚠" if summed else "" if self.static else f"{frame.optimizer}'s next step" + (
                f"\n⚠ .grad is a sum of {e.grad_passes}" if summed else "")
            self._arrow(w, nxt, "--", summed, label)
            if not frame.plain_sgd:
                sgd = [w[0] - frame.lr * g[0], w[1] - frame.lr * g[1]]
                self.sgd_arrow.xy, self.sgd_arrow.xyann = sgd, w
                self.sgd_arrow.set_visible(True)
        if self.static:
            self.title.set_text(self._caption(e, point, g, frame.path[-2] if stepped else None))
        else:
            self.title.set_text(self._title(e, labels, point, g, stepped))
        self._place_label()
        return self.fig

    @staticmethod
    def _caption(e, point, g, previous) -> str:
        """A few words for a small panel."""
        if e.action == "step" and previous is not None:
            return f"({previous[0]:.3g}, {previous[1]:.3g}) → {point}"
        if e.action == "forward" and "loss" in e.changed:
            return f"loss = {e.loss:.6g} at {point}"
        if e.action in ("backward", "zero_grad"):
            return "grad = None" if g is None else f"grad = ({g[0]:.3g}, {g[1]:.3g})"
        return f"at {point}" + (f" after {e.steps} steps" if e.action == "run" else "")

    @staticmethod
    def _title(e, labels, point, g, moved) -> str:
        a = e.action
        if a == "forward" and e.loss is not None and "loss" in e.changed:
            return f"forward(): loss = {e.loss:.6g} at ({labels}) = {point}"
        if a == "backward" and g is not None and any(c.endswith(".grad") for c in e.changed):
            return f"backward(): .grad = ({g[0]:.3g}, {g[1]:.3g}) at {point}"
        if a == "zero_grad":
            return "zero_grad(): .grad is None" if g is None else "zero_grad(): .grad is zero"
        if a == "step":
            return f"step() moved ({labels}) to {point}" if moved else f"step() moved nothing: ({labels}) = {point}"
        if a == "run":
            return f"after run(): ({labels}) = {point}, {e.steps} steps taken"
        if a in ("forward", "backward"):
            return f"{a}() changed nothing: see the log"
        return f"({labels}) = {point}: click forward() first"

    def _arrow(self, start, end, style, warn, label) -> None:
        color = COLORS["warn"] if warn else COLORS["step"]
        self.arrow.xy, self.arrow.xyann = tuple(end), tuple(start)
        self.arrow.arrow_patch.set_color(color)
        self.arrow.arrow_patch.set_linestyle(style)
        self.arrow.set_visible(True)
        self.arrow_text.set_color(color)
        self.arrow_text.set_text(label)

    def _place_label(self) -> None:
        if not self.arrow_text.get_text():
            return
        r, ax = self.renderer, self.ax
        tip = ax.transData.transform(self.arrow.xy)
        to_data = ax.transData.inverted().transform
        obstacles = [self.arrow.arrow_patch.get_window_extent(r), self.point.get_window_extent(r)]
        if self.sgd_arrow.get_visible():
            obstacles.append(self.sgd_arrow.arrow_patch.get_window_extent(r))
        start = ax.transData.transform(self.arrow.xyann)
        candidates = [(*to_data((x + dx, y + dy)), ha, va) for (x, y) in (tip, start) for dx, dy, ha, va in (
            (8, 8, "left", "bottom"), (-8, 8, "right", "bottom"), (8, -8, "left", "top"), (-8, -8, "right", "top"))]
        place_text(self.arrow_text, candidates, obstacles, r, ax.get_window_extent(r))

    def boxes(self) -> dict:
        r = self.renderer
        return {"arrow": self.arrow.arrow_patch.get_window_extent(r) if self.arrow.get_visible() else None,
                "arrow_text": text_box(self.arrow_text, r) if self.arrow_text.get_text() else None}

"""One weight: the loss curve, the current w, the tangent whose slope is w.grad, and an arrow for the
step (dashed: what step() would do now; solid: the step() just taken)."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

from course_utils.step_views.base import COLORS, DPI, FONT, Frame, new_figure, place_text, style_axes, text_box
from course_utils.step_views.cached import CachedView


def _short(x: float) -> str:
    return f"{x:.4g}"


class ScalarStepView(CachedView):
    """The loss against one weight ``name``. ``show(frame)`` moves the point, tangent, arrow, title and
    note; ``png()`` renders. Given ``ax``, it draws there as an ordinary (static) figure."""

    def __init__(self, grid, losses, name: str = "w", ax=None, dpi: int = DPI, legend: bool = True):
        static = ax is not None
        super().__init__(ax.figure if static else new_figure(6.4, 4.0, dpi), static)
        if ax is None:
            ax = self.fig.add_subplot()
            self.fig.subplots_adjust(left=0.12, right=0.97, bottom=0.3, top=0.9)
        self.ax, self.name = ax, name
        self.grid, self.losses = np.asarray(grid, float), np.asarray(losses, float)
        ax.plot(self.grid, self.losses, color=COLORS["curve"], lw=2)
        (self.trail,) = ax.plot([], [], "o", color=COLORS["muted"], ms=4, alpha=0.8)
        (self.tangent,) = ax.plot([], [], "--", color=COLORS["grad"], lw=1.8)
        (self.point,) = ax.plot([], [], "o", color=COLORS["point"], ms=9, zorder=5)
        self.arrow = ax.annotate("", xy=(0, 0), xytext=(0, 0), zorder=6,
                                 arrowprops=dict(arrowstyle="-|>", color=COLORS["step"], lw=2.2, mutation_scale=16))
        self.arrow_text = ax.text(0, 0, "", color=COLORS["step"], fontsize=FONT["text"], zorder=7)
        self.note = ax.text(0, 0, "", transform=ax.transAxes, fontsize=FONT["text"], zorder=8, color=COLORS["warn"],
                            bbox=dict(facecolor="white", edgecolor=COLORS["warn"], alpha=0.95, boxstyle="round"))
        self.title = ax.set_title("", fontsize=FONT["title"])
        style_axes(ax, name, "loss")
        if legend:  # below the axes, where it covers nothing
            ax.legend(handles=self.legend_handles(), loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
                      fontsize=FONT["tick"], frameon=False)
        self.animate(self.trail, self.tangent, self.point, self.arrow, self.arrow_text, self.note, self.title)

    def legend_handles(self):
        n = self.name
        return [Line2D([], [], color=COLORS["curve"], lw=2, label=f"loss({n})"),
                Line2D([], [], marker="o", ls="", color=COLORS["point"], ms=8, label=f"current {n}"),
                Line2D([], [], marker="o", ls="", color=COLORS["muted"], ms=4, label=f"earlier {n}"),
                Line2D([], [], ls="--", color=COLORS["grad"], lw=1.8, label=f"slope = {n}.grad"),
                Line2D([], [], color=COLORS["step"], lw=2.2, ls="--", label="next step()"),
                Line2D([], [], color=COLORS["step"], lw=2.2, label="last step()")]

    def loss_at(self, w: float) -> float:
        return float(np.interp(w, self.grid, self.losses))

    def _on_chart(self, v) -> bool:
        return v is not None and bool(np.isfinite(v)) and self.grid[0] <= v <= self.grid[-1]

    def _fit_view(self, xs) -> None:
        """Keep the current limits while everything fits comfortably; otherwise reframe."""
        x0, x1 = min(xs), max(xs)
        if self._framed:
            v0, v1 = self.ax.get_xlim()
            margin = 0.05 * (v1 - v0)
            if v0 + margin <= x0 and x1 <= v1 - margin and (x1 - x0) > 0.2 * (v1 - v0):
                return
        pad = max(0.35 * (x1 - x0), 0.5)
        x0, x1 = max(x0 - pad, self.grid[0]), min(x1 + pad, self.grid[-1])
        inside = (self.grid >= x0) & (self.grid <= x1)
        ys = self.losses[inside] if inside.any() else self.losses
        lo, hi = float(np.nanmin(ys)), float(np.nanmax(ys))
        span = max(hi - lo, 1e-9)
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(lo - 0.08 * span, hi + 0.45 * span)  # room at the top for the texts
        self._framed = True

    _framed = False

    def show(self, frame: Frame):
        """Draw the state after the frame's click."""
        e, n = frame.event, self.name
        w, g = e.value(n), e.grad(n)
        path = [p for p in frame.path if self._on_chart(p)]
        stepped = e.action in ("step", "run") and n in e.changed and len(frame.path) >= 2
        previous = frame.path[-2] if stepped else None
        nxt = None if g is None or e.grad_stale or not frame.next_values else frame.next_values[n].item()
        self.trail.set_data(path[:-1], [self.loss_at(p) for p in path[:-1]])
        self.tangent.set_data([], [])
        self.arrow.set_visible(False)
        self.arrow_text.set_text("")
        if not self._on_chart(w):  # diverged: keep the chart, say what happened
            self._fit_view([self.grid[int(np.nanargmin(self.losses))], *path] or [w])
            self.point.set_data([], [])
            self.title.set_text(f"{n} = {w:.4g} is off the chart: training diverged (lr too large)")
            self._note(e)
            return self.fig
        lw = self.loss_at(w)
        ends = [p for p in (previous, nxt) if self._on_chart(p)]
        self._fit_view([w, self.grid[int(np.nanargmin(self.losses))], *path, *ends])
        self.point.set_data([w], [lw])
        self.title.set_text(self._title(e, w, g, previous))
        if stepped and self._on_chart(previous):
            flag = (" ⚠" if not e.ok else "") if self.static else self._flag(e)
            self._arrow((previous, self.loss_at(previous)), (w, lw), "-", not e.ok, f"{w - previous:+.3g}" + flag)
        elif nxt is not None and g is not None:
            half = 0.16 * (self.ax.get_xlim()[1] - self.ax.get_xlim()[0])
            self.tangent.set_data([w - half, w + half], [lw - g * half, lw + g * half])
            if self._on_chart(nxt) and nxt != w:
                up = self.loss_at(nxt) > lw
                summed = e.grad_passes > 1
                label = f"step() would add {nxt - w:+.3g}" + (" (overshoots: loss goes up)" if up else "") + (
                    f"\n⚠ {n}.grad is a sum of {e.grad_passes} passes" if summed else "")
                if self.static:  # a small panel: the number only (its title says the rest)
                    label = f"{nxt - w:+.3g}" + (" ⚠" if summed else "")
                self._arrow((w, lw), (nxt, self.loss_at(nxt)), "--", summed, label)
        self._note(e)
        self._place_texts()
        return self.fig

    def _title(self, e, w, g, previous) -> str:
        return self._caption(e, w, g, previous) if self.static else self._sentence(e, w, g, previous)

    def _caption(self, e, w, g, previous) -> str:
        """A few words for a small panel."""
        n, a = self.name, e.action
        grad = "None" if g is None else _short(g)
        summed = f" (sum of {e.grad_passes})" if e.grad_passes > 1 and not e.grad_stale else ""
        if a == "forward" and "loss" in e.changed:
            return f"loss = {e.loss:.6g} at {n} = {_short(w)}"
        if a in ("backward", "zero_grad"):
            return f"{n}.grad = {grad}{summed}"
        if a == "step":
            return f"{n}: {_short(previous)} → {_short(w)}" + (" ⚠" if not e.ok else "") if previous is not None \
                else f"nothing moved: {n}.grad = {grad}"
        if a == "run":
            return f"{n} = {_short(w)} after {e.steps} steps"
        return f"{n} = {_short(w)}, {n}.grad = {grad}"

    def _sentence(self, e, w, g, previous) -> str:
        n, a = self.name, e.action
        if not e.ok and e.action in ("forward", "backward") and e.changed == ():
            return f"{a}() changed nothing: see the log"
        if a == "forward":
            return f"forward(): loss = {e.loss:.6g} at {n} = {_short(w)}"
        if a == "backward":
            if e.grad_passes > 1:
                return f"backward() added: {n}.grad = {_short(g)}, a sum of {e.grad_passes} slopes"
            return f"backward(): {n}.grad = {_short(g)}, the slope at {n} = {_short(w)}"
        if a == "zero_grad":
            return f"zero_grad(): {n}.grad is {'None' if g is None else _short(g)}"
        if a == "step":
            if previous is None:
                return f"step() moved nothing: {n} is still {_short(w)}"
            return f"step() moved {n} from {_short(previous)} to {_short(w)}"
        if a == "run":
            return f"after run(): {n} = {_short(w)}, {e.steps} steps taken"
        return f"{n} = {_short(w)}, {n}.grad = {'None' if g is None else _short(g)}: click forward() first"

    def _flag(self, e) -> str:
        """A short ⚠ for a step() that was a misuse (the log says more)."""
        n = self.name
        if "step.overshot" in e.facts:
            return f"\n⚠ overshot: {n}.grad was a sum of {e.grad_passes}"
        for key, text in (("step.summed_grads", f"{n}.grad was a sum of {e.grad_passes}"),
                          ("step.reused_grads", f"reused the same {n}.grad"),
                          ("step.old_grads", f"{n}.grad from an older {n}")):
            if key in e.facts:
                return f"\n⚠ {text}"
        return "" if e.ok else " ⚠"

    def _arrow(self, start, end, style, warn, label) -> None:
        color = COLORS["warn"] if warn else COLORS["step"]
        self.arrow.xy, self.arrow.xyann = end, start
        self.arrow.arrow_patch.set_color(color)
        self.arrow.arrow_patch.set_linestyle(style)
        self.arrow.set_visible(True)
        self.arrow_text.set_color(color)
        self.arrow_text.set_text(label)

    def _note(self, e) -> None:
        n, lines = self.name, []
        if e.grad_passes > 1 and not e.grad_stale:
            lines.append(f"{n}.grad is the sum of {e.grad_passes} backward passes (no zero_grad)")
        if e.grad_stale and e.grads[n] is not None:
            lines.append(f"{n}.grad is the slope at the old {n}, before the step")
        self.note.set_text("\n".join(lines))
        self.note.set_visible(bool(lines) and not self.static)  # a small panel says it in its title

    def boxes(self) -> dict[str, Bbox | None]:
        """Display-space boxes of the marker, the arrow and the two texts (None when not shown)."""
        r = self.renderer
        marker = None
        if len(self.point.get_xdata()):
            x, y = self.ax.transData.transform((self.point.get_xdata()[0], self.point.get_ydata()[0]))
            radius = self.point.get_markersize() * self.fig.dpi / 72 / 2 + 1
            marker = Bbox.from_extents(x - radius, y - radius, x + radius, y + radius)
        arrow = self.arrow.arrow_patch.get_window_extent(r) if self.arrow.get_visible() else None
        text = text_box(self.arrow_text, r) if self.arrow_text.get_text() else None
        note = text_box(self.note, r) if self.note.get_visible() else None
        return {"marker": marker, "arrow": arrow, "arrow_text": text, "note": note}

    def _lines(self) -> list:
        """Display-space polylines the texts must not cross: the arrow's shaft, the tangent, the curve."""
        to_px = self.ax.transData.transform
        lines = []
        if self.arrow.get_visible():
            lines.append(to_px([self.arrow.xyann, self.arrow.xy]))
        if len(self.tangent.get_xdata()):
            lines.append(to_px(np.column_stack(self.tangent.get_data())))
        x0, x1 = self.ax.get_xlim()
        inside = (self.grid >= x0) & (self.grid <= x1)
        lines.append(to_px(np.column_stack([self.grid[inside], self.losses[inside]])))
        return lines

    def _place_texts(self) -> None:
        """The arrow's label and the note go where they cover neither the marker nor any line."""
        r, ax = self.renderer, self.ax
        inside = ax.get_window_extent(r)
        boxes = self.boxes()
        keep_clear = [boxes["marker"], *self._lines()]
        if self.arrow_text.get_text():
            (x0, y0), (x1, y1) = self.arrow.xyann, self.arrow.xy
            mx, my = ax.transData.transform(((x0 + x1) / 2, (y0 + y1) / 2))
            tx, ty = ax.transData.transform((x1, y1))
            to_data = ax.transData.inverted().transform
            spots = [(mx, my + d, "center", "bottom") for d in (12, 30, 50, 75)]
            spots += [(mx, my - d, "center", "top") for d in (12, 30, 50)]
            spots += [(tx + 12, ty + d, "left", "bottom") for d in (6, 30)]
            spots += [(tx - 12, ty + d, "right", "bottom") for d in (6, 30)]
            place_text(self.arrow_text, [(*to_data((x, y)), ha, va) for x, y, ha, va in spots], keep_clear, r, inside)
        if self.note.get_visible():
            corners = [(0.02, 0.97, "left", "top"), (0.98, 0.97, "right", "top"), (0.02, 0.04, "left", "bottom"),
                       (0.98, 0.04, "right", "bottom"), (0.5, 0.97, "center", "top"), (0.5, 0.04, "center", "bottom")]
            text = [text_box(self.arrow_text, r)] if self.arrow_text.get_text() else []
            place_text(self.note, corners, keep_clear + text, r, inside)

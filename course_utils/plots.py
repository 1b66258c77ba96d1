"""Matplotlib figures for the course. Each helper takes data as arguments and returns the figure."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt


def plot_history(history: Mapping[str, Sequence[float]], title: str = "", xlabel: str = "epoch",
                 logy: Sequence[str] = ()):
    """One small panel per series, side by side (e.g. ``{"loss": [...], "w": [...]}``)."""
    names = list(history)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        values = list(history[name])
        ax.plot(range(1, len(values) + 1), values, lw=1.8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(name)
        if name in logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_fit(x, y, curves: Mapping[str, Callable], x_new: float | None = None, title: str = ""):
    """The data points and one curve per entry of ``curves`` (label → function of x, applied to a
    NumPy grid). ``x_new`` marks each curve's prediction there."""
    import numpy as np

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    right = max(x.max(), x_new if x_new is not None else x.max()) + 0.5
    grid = np.linspace(0, right, 200)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.scatter(x, y, color="black", zorder=3, label="data")
    for label, curve in curves.items():
        line, = ax.plot(grid, curve(grid), lw=1.8, label=label)
        if x_new is not None:
            y_new = float(curve(x_new))
            ax.plot([x_new], [y_new], "o", mfc="white", color=line.get_color())
            ax.annotate(f"{y_new:.3f}", (x_new, y_new), textcoords="offset points", xytext=(-14, 7),
                        fontsize=8, color=line.get_color())
    ax.set(xlabel="x", ylabel="y", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_lr_run(losses: Sequence[float], params: Mapping[str, Sequence[float]], title: str = "",
                diverged: bool = False):
    """Left: loss per epoch (log scale, red when ``diverged``); right: each parameter per epoch.
    Values beyond 1e12 (or inf/nan) are left out, and the epoch where that starts is marked."""
    import numpy as np

    losses = np.asarray(losses, dtype=float)
    epochs = np.arange(1, len(losses) + 1)
    off_scale = np.flatnonzero(~np.isfinite(losses) | (losses > 1e12))
    fig, (ax_loss, ax_par) = plt.subplots(1, 2, figsize=(8, 3))
    shown = np.where(np.isfinite(losses) & (losses <= 1e12), losses, np.nan)
    ax_loss.plot(epochs, shown, lw=1.8, color="C3" if diverged else "C0")
    ax_loss.set_yscale("log")
    ax_loss.set(xlabel="epoch", ylabel="mean squared error")
    if len(off_scale):
        ax_loss.axvline(epochs[off_scale[0]], color="C3", ls=":", lw=1)
    if diverged:
        note = "diverging: the loss grows" + (f"\n(off the scale from epoch {epochs[off_scale[0]]})"
                                               if len(off_scale) else "")
        ax_loss.text(0.03, 0.95, note, transform=ax_loss.transAxes, ha="left", va="top", color="C3",
                     fontsize=9, bbox=dict(fc="white", ec="C3", alpha=0.9))
    ax_loss.grid(alpha=0.3)
    for name, values in params.items():
        v = np.asarray(values, dtype=float)
        ax_par.plot(epochs, np.where(np.abs(v) < 1e6, v, np.nan), lw=1.6, label=name)
    ax_par.set(xlabel="epoch", ylabel="value")
    ax_par.legend(fontsize=8)
    ax_par.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig



def plot_curves(series: Mapping[str, Sequence[float]], title: str = "", xlabel: str = "epoch",
                ylabel: str = "", x: Sequence[float] | None = None, logy: bool = False,
                ylim=None, hline: float | None = None, figsize=(6, 3), steps: bool = False):
    """Several series on one axis, one line each (e.g. ``{"correct": [...], "no zero_grad": [...]}``).

    Without ``x`` the points are numbered 1, 2, ...; ``hline`` draws a dashed reference level;
    ``steps`` draws each value as a flat step (for values that hold until the next point).
    """
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=figsize)
    if x is None:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if hline is not None:
        ax.axhline(hline, color="gray", ls="--", lw=1)
    for name, values in series.items():
        values = list(values)
        xs = list(x) if x is not None else range(1, len(values) + 1)
        ax.plot(xs, values, lw=1.6, label=name, marker="o" if len(values) <= 20 else None, ms=3,
                drawstyle="steps-post" if steps else "default")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_grad_norms(norms: Mapping[str, float], title: str = "gradient norm per parameter",
                    figsize=(6, 3)):
    """Horizontal bars of ``{parameter name: gradient norm}`` (a log scale shows small ones too)."""
    names = list(norms)
    fig, ax = plt.subplots(figsize=figsize)
    ax.barh(range(len(names)), [float(norms[n]) for n in names], color="tab:blue")
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("‖grad‖ (log scale)")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_contour_paths(w1_grid, w2_grid, losses, paths: Mapping[str, Sequence[Sequence[float]]],
                       title: str = "", xlabel: str = "w1", ylabel: str = "w2", minimum=None,
                       figsize=(6.4, 2.8)):
    """One panel per entry of ``paths``: the contours of a two-parameter loss and that optimizer's path.

    ``losses[i][j]`` is the loss at ``(w1_grid[j], w2_grid[i])``; each path is a list of (w1, w2)
    points, the start first. Contour levels are log-spaced, so a narrow valley shows its floor.
    """
    import numpy as np

    z = np.asarray(losses, dtype=float)
    positive = z[z > 0]
    levels = np.geomspace(positive.min(), positive.max(), 12) if positive.size else 12
    fig, axes = plt.subplots(1, len(paths), figsize=figsize, sharex=True, sharey=True, squeeze=False)
    for i, (ax, (name, path)) in enumerate(zip(axes[0], paths.items())):
        ax.contour(w1_grid, w2_grid, z, levels=levels, colors="0.7", linewidths=0.6)
        pts = np.asarray(path, dtype=float)
        ax.plot(pts[:, 0], pts[:, 1], "-", color=f"C{i}", lw=1, marker="o", ms=1.5)
        ax.plot(*pts[0], "ks", ms=4)
        if minimum is not None:
            ax.plot(*minimum, "k*", ms=8)
        ax.set_title(name, fontsize=9, color=f"C{i}")
        ax.set_xlabel(xlabel)
        ax.tick_params(labelsize=8)
    axes[0][0].set_ylabel(ylabel)
    axes[0][0].set(xlim=(min(w1_grid), max(w1_grid)), ylim=(min(w2_grid), max(w2_grid)))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _as_image(img, mean=None, std=None):
    """(C,H,W) tensor or array → (H,W) or (H,W,C) array in [0, 1] for imshow."""
    import numpy as np

    arr = np.asarray(img.detach().cpu() if hasattr(img, "detach") else img, dtype=np.float32)
    if arr.ndim == 3:
        if mean is not None:
            c = arr.shape[0]
            arr = arr * np.asarray(std, np.float32).reshape(-1, 1, 1)[:c] \
                + np.asarray(mean, np.float32).reshape(-1, 1, 1)[:c]
        arr = arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
    elif mean is not None:
        arr = arr * float(np.ravel(std)[0]) + float(np.ravel(mean)[0])
    return arr.clip(0, 1)


def plot_image_grid(images, labels, classes: Sequence[str], preds=None, ncols: int = 8,
                    title: str = "", mean=None, std=None, size: float = 1.0):
    """Images with their class names; with ``preds``, titles read "pred (true)" in green/red.

    ``images`` is (N, C, H, W) (a tensor or array); ``mean``/``std`` undo a normalisation for display.
    """
    n = len(images)
    nrows = max(1, -(-n // ncols))
    ncols = min(ncols, n)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 0.2, size * nrows + 0.5),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        arr = _as_image(images[i], mean, std)
        ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1)
        true = classes[int(labels[i])]
        if preds is None:
            ax.set_title(true, fontsize=7)
        else:
            pred = classes[int(preds[i])]
            ok = int(preds[i]) == int(labels[i])
            ax.set_title(pred if ok else f"{pred}\n({true})", fontsize=7,
                         color="tab:green" if ok else "tab:red")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm, classes: Sequence[str], title: str = "confusion matrix",
                          figsize=(5.5, 4.8)):
    """Counts of (true row, predicted column); the diagonal holds the correct predictions."""
    import numpy as np

    cm = np.asarray(cm.cpu() if hasattr(cm, "cpu") else cm)
    fig, ax = plt.subplots(figsize=figsize)
    im = ax.imshow(cm, cmap="Blues")
    k = len(classes)
    ax.set_xticks(range(k), classes, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(k), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = cm.max() / 2
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if cm[i, j] > threshold else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_bars(values: Mapping[str, float], title: str = "", ylabel: str = "", figsize=(6, 3)):
    """One vertical bar per named value (e.g. accuracy per class), the value written on each bar."""
    names = list(values)
    fig, ax = plt.subplots(figsize=figsize)
    bars = ax.bar(range(len(names)), [float(values[n]) for n in names], color="tab:blue")
    ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- the step-through views
# These figures are redrawn after every click of the step-through widget, so they are built once
# and then updated in place (new data on the same artists): far cheaper than a fresh figure.
# They use matplotlib.figure.Figure directly, so a notebook's inline backend never shows them twice.

def figure_png(fig, dpi: int | None = None) -> bytes:
    """The figure rendered to PNG bytes (for an ipywidgets.Image or a file)."""
    import io

    buf = io.BytesIO()
    # fast zlib level: the image is redrawn after every click, and the bytes barely grow
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def _figure(width: float, height: float, dpi: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _canvas_png(fig) -> bytes:
    """PNG of what is on the (already drawn) Agg canvas."""
    import io

    from PIL import Image

    width, height = fig.canvas.get_width_height(physical=True)
    img = Image.frombuffer("RGBA", (width, height), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="png", compress_level=1)
    return buf.getvalue()


def _blit_png(view, axes, texts=()) -> bytes:
    """Render ``view.fig``: a full draw when an axis range or one of the static ``texts`` changed
    since the cached background, otherwise the cached background plus ``view.moving`` (the
    animated artists) painted on top."""
    canvas = view.fig.canvas
    key = tuple((ax.get_xlim(), ax.get_ylim()) for ax in axes) + tuple(t.get_text() for t in texts)
    if key != view._background_key:
        canvas.draw()  # everything except the animated artists
        view._background, view._background_key = canvas.copy_from_bbox(view.fig.bbox), key
    else:
        canvas.restore_region(view._background)
    for artist in view.moving:
        if artist.get_visible():
            view.fig.draw_artist(artist)
    return _canvas_png(view.fig)


class ScalarStepView:
    """Loss against one weight: the curve, the current point, the tangent (slope = grad) and the
    arrow of the coming update (−lr·grad). ``update(...)`` moves them, ``png()`` renders; ``fig``
    is the figure. The axes only change when a point leaves the view, so most redraws paint just
    the moving parts over a cached background."""

    def __init__(self, grid: Sequence[float], losses: Sequence[float], name: str = "w", dpi: int = 96):
        import numpy as np

        self.grid, self.losses, self.name = np.asarray(grid, float), np.asarray(losses, float), name
        self.fig = fig = _figure(6.4, 3.3, dpi)
        ax = self.ax = fig.add_subplot()
        fig.subplots_adjust(left=0.11, right=0.97, bottom=0.15, top=0.88)
        ax.plot(self.grid, self.losses, color="#4c72b0", lw=2, label=f"loss as a function of {name}")
        (self.trail,) = ax.plot([], [], "o", color="#999999", ms=4, alpha=0.7, label="earlier values")
        (self.tangent,) = ax.plot([], [], "--", color="#dd8452", lw=1.8, label=f"tangent, slope = {name}.grad")
        (self.point,) = ax.plot([], [], "o", color="#c44e52", ms=9, zorder=5, label=f"current {name}")
        self.arrow = ax.annotate("", xy=(0, 0), xytext=(0, 0), zorder=6,
                                 arrowprops=dict(arrowstyle="-|>", color="#55a868", lw=2.2, mutation_scale=16))
        self.arrow_text = ax.text(0, 0, "", color="#2d7a3f", ha="center", va="bottom", fontsize=9)
        self.note = ax.text(0.02, 0.05, "", transform=ax.transAxes, color="#c44e52", fontsize=9, zorder=7,
                            bbox=dict(facecolor="white", edgecolor="#c44e52", alpha=0.9, boxstyle="round"))
        (self.arrow_key,) = ax.plot([], [], color="#55a868", lw=2.2, label="next step: −lr·grad")
        ax.set_xlabel(name)
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8, framealpha=0.85)
        self.title = ax.set_title("", y=1.01)
        self.moving = (self.trail, self.tangent, self.point, self.arrow, self.arrow_text, self.note, self.title)
        for artist in self.moving:
            artist.set_animated(True)
        self._background, self._background_key = None, None

    def loss_at(self, w: float) -> float:
        import numpy as np

        return float(np.interp(w, self.grid, self.losses))

    def _fit_view(self, xs) -> None:
        """Keep the current limits while everything fits comfortably; otherwise reframe."""
        import numpy as np

        x0, x1 = min(xs), max(xs)
        if self._background_key is not None:
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
        self.ax.set_ylim(lo - 0.08 * span, hi + 0.35 * span)

    def update(self, w: float, grad: float | None, lr: float, path: Sequence[float] = (), note: str = "",
               warn: bool = True):
        """Redraw for weight ``w`` with gradient ``grad`` (None: no tangent, no arrow); ``note`` is
        written in the corner, in red when ``warn`` (e.g. summed gradients), else in grey."""
        import numpy as np

        color = "#c44e52" if warn else "#555555"
        self.note.set_text(note)
        self.note.set_visible(bool(note))
        self.note.set_color(color)
        self.note.get_bbox_patch().set_edgecolor(color)
        n = self.name
        on_chart = lambda v: v is not None and bool(np.isfinite(v)) and self.grid[0] <= v <= self.grid[-1]
        path = [p for p in path if on_chart(p)]
        target = None if grad is None or not np.isfinite(grad) else w - lr * grad
        if not on_chart(w):  # diverged: keep the chart, say what happened
            self._fit_view([self.grid[int(np.argmin(self.losses))], *path])
            self.point.set_data([], [])
            self.trail.set_data(path, [self.loss_at(p) for p in path])
            self.tangent.set_data([], [])
            self.arrow.set_visible(False)
            self.arrow_text.set_text("")
            self.title.set_text(f"{n} = {w:.4g} is off the chart: training diverged (lr too large)")
            return self.fig
        lw = self.loss_at(w)
        xs = [w, self.grid[int(np.argmin(self.losses))], *path]
        if on_chart(target):
            xs.append(target)
        self._fit_view(xs)
        x0, x1 = self.ax.get_xlim()
        y0, y1 = self.ax.get_ylim()
        self.point.set_data([w], [lw])
        earlier = path[:-1] if path and path[-1] == w else path
        self.trail.set_data(earlier, [self.loss_at(p) for p in earlier])
        if target is None:
            self.tangent.set_data([], [])
            self.arrow.set_visible(False)
            self.arrow_text.set_text("")
            self.title.set_text(f"{n} = {w:.4g}, {n}.grad = {'None: no slope yet' if grad is None else grad}")
        else:
            half = 0.18 * (x1 - x0)
            self.tangent.set_data([w - half, w + half], [lw - grad * half, lw + grad * half])
            self.arrow.set_visible(target != w)
            self.arrow.xy, self.arrow.xyann = (target, lw), (w, lw)
            self.arrow_text.set_position(((w + target) / 2, lw + 0.03 * (y1 - y0)))
            up = not on_chart(target) or self.loss_at(target) > lw
            self.arrow_text.set_text(f"{-lr * grad:+.3g}" + (" (overshoots: loss goes up)" if up else ""))
            self.title.set_text(f"{n} = {w:.4g},  slope {n}.grad = {grad:.4g}  →  step() adds {-lr * grad:+.3g}")
        return self.fig

    def png(self) -> bytes:
        """The current view as PNG bytes (repaints only the moving parts when the axes are unchanged)."""
        return _blit_png(self, (self.ax,))


def plot_scalar_step(grid, losses, w, grad, lr, path=(), name="w", note=""):
    """One-off figure of the loss against ``w`` with tangent and update arrow (see ScalarStepView)."""
    view = ScalarStepView(grid, losses, name)
    view.update(w, grad, lr, path, note)
    for artist in view.moving:
        artist.set_animated(False)  # a one-off figure draws everything the ordinary way
    return view.fig


def _norm(g) -> float:
    """Euclidean norm of a tensor or array (no BLAS call: those threads fight under load)."""
    import numpy as np

    if hasattr(g, "detach"):
        return float(g.detach().double().pow(2).sum().sqrt())
    v = np.asarray(g, dtype=np.float64).ravel()
    return float(np.sqrt(np.sum(v * v)))


def _nice_ceiling(x: float) -> float:
    """The smallest "round" number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) that is ≥ x (x > 0)."""
    import math

    exp = math.floor(math.log10(x))
    for m in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * 10 ** exp >= x * (1 - 1e-12):
            return m * 10 ** exp
    return 10.0 ** (exp + 1)


def _sticky_top(current: float | None, needed: float) -> float:
    """An axis end that only moves when ``needed`` leaves the range or uses less than a quarter of it."""
    import math

    if not math.isfinite(needed) or needed <= 0:
        return current or 1.0
    if current is not None and 0.25 * current <= needed <= current:
        return current
    return _nice_ceiling(needed * 1.1)


class GradientView:
    """Three panels for a network: gradient norm per parameter tensor, a histogram of one chosen
    tensor's gradient, and the loss per forward pass. ``update(...)`` redraws, ``png()`` renders.
    Axis ranges are "sticky" (they change only when the data leave them or shrink a lot), so most
    clicks repaint only the bars, the histogram and the curve over a cached background; the axes
    also stay comparable from click to click."""

    def __init__(self, names: Sequence[str], dpi: int = 80):
        self.names = list(names)
        self.fig = fig = _figure(10.5, 3.4, dpi)
        self.ax_bar, self.ax_hist, self.ax_loss = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.25, 1, 1]})
        fig.subplots_adjust(left=0.12, right=0.985, bottom=0.16, top=0.87, wspace=0.32)
        ax = self.ax_bar
        y = list(range(len(self.names)))
        self.bars = list(ax.barh(y, [0.0] * len(y), color="#4c72b0"))
        ax.set_yticks(y)
        ax.set_yticklabels([n if len(n) <= 16 else "…" + n[-15:] for n in self.names], fontsize=8)
        ax.set_ylim(len(y) - 0.5, -0.5)  # first parameter on top
        ax.set_xlabel("‖grad‖")
        ax.grid(axis="x", alpha=0.3)
        self.none_texts = [ax.text(0, i, " None", va="center", fontsize=8, color="#888888") for i in y]
        self.bar_title = ax.set_title("gradient norm per tensor", fontsize=10, y=1.01)
        ax = self.ax_hist
        self.stairs = ax.stairs([0.0], [0.0, 1.0], fill=True, color="#dd8452", alpha=0.9)
        self.hist_note = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center",
                                 color="#888888", fontsize=10)
        ax.set_xlabel("gradient value")
        ax.set_ylabel("count")
        ax.grid(alpha=0.3)
        self.hist_title = ax.set_title("", fontsize=10, y=1.01)
        ax = self.ax_loss
        (self.loss_line,) = ax.plot([], [], "o-", color="#55a868", ms=3, lw=1.5)
        ax.set_xlabel("forward pass")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        self.loss_title = ax.set_title("loss per forward pass", fontsize=10, y=1.01)
        for ax in (self.ax_bar, self.ax_hist, self.ax_loss):
            ax.locator_params(axis="x", nbins=4)
        self.ax_hist.locator_params(axis="y", nbins=5)
        self.ax_loss.locator_params(axis="y", nbins=5)
        self.ax_loss.xaxis.get_major_locator().set_params(integer=True)
        # titles are part of the cached background (redrawn only when their text changes)
        self.moving = [*self.bars, *self.none_texts, self.stairs, self.hist_note, self.loss_line]
        for artist in self.moving:
            artist.set_animated(True)
        self._chosen = None
        self._norm_top = self._hist_range = self._count_top = None
        self._background, self._background_key = None, None

    def update(self, grads: Mapping[str, object], chosen: str, losses: Sequence[float] = ()):
        """``grads`` maps name → gradient tensor/array or None; ``chosen`` picks the histogram."""
        import numpy as np

        norms = []
        for bar, text, name in zip(self.bars, self.none_texts, self.names):
            g = grads.get(name)
            norm = 0.0 if g is None else _norm(g)
            bar.set_width(norm if np.isfinite(norm) else 0.0)
            text.set_visible(g is None)
            norms.append(norm)
        if any(g is not None for g in grads.values()):  # keep the old scale while all are None
            self._norm_top = _sticky_top(self._norm_top, max(norms))
        self.ax_bar.set_xlim(0, self._norm_top or 1.0)
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
            self._hist_range = _sticky_top(self._hist_range, biggest if biggest > 0 else 1e-8)
            r = self._hist_range
            counts, edges = np.histogram(values, bins=31, range=(-r, r))
            self._count_top = _sticky_top(self._count_top, max(int(counts.max()), 1))
            self.stairs.set_data(counts, edges)
            self.stairs.set_visible(True)
            self.hist_note.set_text("")
        self.hist_title.set_text(f"values of {chosen}.grad")
        self.ax_hist.set_xlim(-(self._hist_range or 1.0), self._hist_range or 1.0)
        self.ax_hist.set_ylim(0, self._count_top or 1.0)
        losses = list(losses)
        self.loss_line.set_data(range(1, len(losses) + 1), losses)
        x_top = _nice_ceiling(max(len(losses), 5))
        finite = [v for v in losses if np.isfinite(v)]
        if finite:
            lo, hi = min(finite), max(finite)
            spread = max(hi - lo, 0.02 * abs(hi), 1e-6)  # a loss that barely moves still gets room
            y0, y1 = self.ax_loss.get_ylim() if self._background_key else (np.inf, -np.inf)
            if not (y0 <= lo and hi <= y1 and (y1 - y0) <= 4 * spread):
                y0, y1 = lo - 0.6 * spread, hi + 0.15 * spread  # room below: losses usually fall
            self.ax_loss.set_ylim(y0, y1)
        self.ax_loss.set_xlim(0.5, x_top + 0.5)
        return self.fig

    def png(self) -> bytes:
        """The current view as PNG bytes (repaints only the moving parts when no axis changed)."""
        return _blit_png(self, (self.ax_bar, self.ax_hist, self.ax_loss), (self.hist_title,))


def plot_gradients(grads, chosen, losses=()):
    """One-off figure: gradient norms per tensor, histogram of ``chosen``, loss per forward pass."""
    view = GradientView(list(grads))
    view.update(grads, chosen, losses)
    for artist in view.moving:
        artist.set_animated(False)  # a one-off figure draws everything the ordinary way
    return view.fig

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
    title_room = 0.3 if preds is not None else 0.15  # inches per row: two lines of title, or one
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 0.2, (size + title_room) * nrows + 0.4),
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

"""Matplotlib figures for the course. Each helper takes data as arguments and returns the figure."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def plot_quadratic_fit(x, y, fits: Mapping[str, Sequence[float]], x_new: float | None = None,
                       title: str = ""):
    """The data points and one curve w1·x² + w2·x + b per entry of ``fits`` (label → (w1, w2, b)).
    ``x_new`` marks each curve's prediction there."""
    import numpy as np

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    right = max(x.max(), x_new if x_new is not None else x.max()) + 0.5
    grid = np.linspace(0, right, 200)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.scatter(x, y, color="black", zorder=3, label="data")
    for label, (w1, w2, b) in fits.items():
        line, = ax.plot(grid, w1 * grid**2 + w2 * grid + b, lw=1.8, label=label)
        if x_new is not None:
            y_new = w1 * x_new**2 + w2 * x_new + b
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


def plot_curves(x, curves: Mapping[str, Sequence[float]], xlabel: str = "", ylabel: str = "",
                title: str = "", ylim=None):
    """Several curves over the same x, one legend entry each."""
    fig, ax = plt.subplots(figsize=(6, 3))
    for label, values in curves.items():
        ax.plot(x, values, lw=1.8, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

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

"""The computations behind the learning-rate explorer: retrain, measure, draw. No ipywidgets here;
the sliders live in ``course_utils.widgets.lr_explorer``.
"""
from __future__ import annotations

import math

from course_utils.plots import plot_lr_run


def quadratic_losses(x, y, history):
    """Mean squared error over the data for each (w1, w2, b) in ``history`` (inf once it overflows)."""
    xs, ys = [float(v) for v in x], [float(v) for v in y]
    losses = []
    for w1, w2, b in history:
        try:
            losses.append(sum((w1 * xi**2 + w2 * xi + b - yi) ** 2 for xi, yi in zip(xs, ys)) / len(xs))
        except OverflowError:
            losses.append(math.inf)
    return losses


def quadratic_run(train, x, y, start, lrs, num_epochs: int):
    """Train with ``train(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs)`` and return
    ``(history, losses)``: (w1, w2, b) and the mean squared error over the data after each epoch."""
    history = train(x, y, *start, *lrs, num_epochs)
    return history, quadratic_losses(x, y, history)


def quadratic_figure(train, x, y, start, lrs, num_epochs: int):
    """The explorer's figure for one choice of learning rates. A run counts as diverged when its
    final loss is above the loss before training."""
    history, losses = quadratic_run(train, x, y, start, lrs, num_epochs)
    start_loss = quadratic_losses(x, y, [start])[0]
    params = {name: [h[i] for h in history] for i, name in enumerate(("w1", "w2", "b"))}
    last = losses[-1]
    diverged = not (math.isfinite(last) and last <= start_loss)
    verdict = "diverged" if diverged else f"final loss {last:.2e}"
    title = f"lr_w1={lrs[0]:.4g}, lr_w2={lrs[1]:.4g}, lr_b={lrs[2]:.4g}: {verdict}"
    return plot_lr_run(losses, params, title=title, diverged=diverged)

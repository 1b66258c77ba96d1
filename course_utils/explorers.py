"""Interactive explorers built on ipywidgets: move a slider, retrain, see the result.

Each explorer also shows a plain figure for its default values, so a notebook executed without a
live frontend (CI, nbviewer, GitHub) still shows something meaningful.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt

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


def lr_explorer(train, x, y, start=(0.05, 1.5, 0.05), lrs=(0.001, 0.05, 0.001), num_epochs: int = 200):
    """Three learning-rate sliders over ``train``; the figure below them retrains on release."""
    from IPython.display import display

    build_lr_explorer(train, x, y, start, lrs, num_epochs, show=display)


def build_lr_explorer(train, x, y, start, lrs, num_epochs: int, show):
    """The explorer's parts, shown through ``show`` (IPython's ``display``); returns the sliders.

    The figure is shown as a plain image with a display id and replaced in place on every change,
    so a static render keeps the figure for the default learning rates.
    """
    import ipywidgets as widgets

    def slider(name, value):
        return widgets.FloatLogSlider(value=value, base=10, min=-4, max=0, step=0.05, description=name,
                                      readout_format=".4f", continuous_update=False,
                                      style={"description_width": "4em"},
                                      layout=widgets.Layout(width="26em"))

    sliders = [slider(name, value) for name, value in zip(("lr_w1", "lr_w2", "lr_b"), lrs)]
    reset = widgets.Button(description="reset", layout=widgets.Layout(width="6em"))
    show(widgets.HBox([widgets.VBox(sliders), reset]))

    fig = quadratic_figure(train, x, y, start, lrs, num_epochs)
    handle = show(fig, display_id=True)
    plt.close(fig)

    def redraw(_change=None):
        new = quadratic_figure(train, x, y, start, [s.value for s in sliders], num_epochs)
        handle.update(new)
        plt.close(new)

    def on_reset(_button):
        for s, value in zip(sliders, lrs):
            s.value = value  # each assignment that changes a value triggers redraw

    for s in sliders:
        s.observe(redraw, names="value")
    reset.on_click(on_reset)
    return sliders

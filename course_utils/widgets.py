"""Interactive views (ipywidgets) over the course's plain engines. The only module importing ipywidgets.

Only API shared by ipywidgets 7.7 (Colab) and 8 (JupyterLab, Binder) is used. Plots are matplotlib
figures rendered to PNG into an ``ipywidgets.Image``, so no frontend extension beyond the widgets
themselves is needed.

    from course_utils.widgets import step_through
    step_through(stepper)          # the last line of a cell: shows the buttons and the plots
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt

from course_utils import step_views
from course_utils.exercises.quadratic import LRS, NUM_EPOCHS, START, explorer_figure
from course_utils.step_views.table import optimizer_line, state_rows
from course_utils.stepper import ACTIONS, Event, Stepper, fmt

TIPS = {
    "forward": "y_hat = model(X); loss = loss_fn(y_hat, y)",
    "zero_grad": "optimizer.zero_grad(): clear every .grad",
    "backward": "loss.backward(): add d(loss)/d(parameter) into .grad",
    "step": "optimizer.step(): move every parameter using its .grad (and the optimizer's state)",
}
# colours that read on JupyterLab's light and dark themes alike (text keeps the theme's own colour)
STYLE = """<style>
.course-stepper-state table {border-collapse: collapse; font-family: monospace; font-size: 13px}
.course-stepper-state td {padding: 1px 10px 1px 0; white-space: nowrap}
.course-stepper-state *, .course-stepper-optim * {line-height: 1.35}
.course-stepper-optim {font-size: 13px; opacity: 0.85; white-space: normal; margin-top: 6px}
.course-stepper-log .cs-event {font-size: 13px; line-height: 1.35; margin: 2px 0; padding: 2px 6px;
  border-left: 4px solid #2a8a45}
.course-stepper-log .cs-warn {border-left-color: #d1560f; background: rgba(209, 86, 15, 0.12)}
.course-stepper-log .cs-old {opacity: 0.6}
</style>"""


class StepperWidget:
    """Buttons for forward / zero_grad / backward / step, a "run N" control, the current values (with
    the optimizer's buffers), a log of what each click did, and a plot redrawn after each click.

    ``click("backward")`` does what pressing the button does (handy in tests and scripts).
    Displayed without a live frontend (nbval, a script), it shows its state as text.
    """

    def __init__(self, stepper: Stepper, log_size: int = 6, dpi: int | None = None):
        if not isinstance(stepper, Stepper):
            raise TypeError("step_through() needs a Stepper: "
                            "step_through(Stepper(model, loss_fn, opt, X, y)).")
        self.stepper, self.log_size = stepper, log_size
        self.buttons = {action: _button(f"{action}()", TIPS[action], action, lambda _, a=action: self.click(a))
                        for action in ACTIONS}
        self.run_count = widgets.BoundedIntText(value=10, min=1, max=1000, description="N =",
                                                layout=widgets.Layout(width="140px"))
        self.run_button = _button("run N iterations", "N times: zero_grad → forward → backward → step", "run",
                                  lambda _: self.run(self.run_count.value), width="150px", style="info")
        self.reset_button = _button("reset", "back to the starting values", "reset",
                                    lambda _: self.reset(), width="80px")
        self.image = _with_class(widgets.Image(format="png"), "plot")
        self.state_html = _with_class(widgets.HTML(), "state")
        self.optim_html = _with_class(widgets.HTML(optimizer_line(stepper.setup.optimizer)), "optim")
        self.log_html = _with_class(widgets.HTML(), "log")
        self.view = step_views.view_for(stepper, dpi)
        self.layer = None  # the histogram's menu, for a network
        if isinstance(self.view, step_views.GradientView):
            names = stepper.names
            self.layer = widgets.Dropdown(options=names, value=names[-2 if len(names) > 1 else 0],
                                          description="histogram:", layout=widgets.Layout(width="260px"))
            self.layer.observe(lambda change: self.refresh(), names="value")
        self.box = _with_class(self._layout(), None)
        self.refresh()

    def _layout(self):
        width, _ = self.view.fig.canvas.get_width_height()
        self.image.layout = widgets.Layout(width=f"{width}px", max_width="100%")  # crisp: never upscaled
        controls = [self.run_count, self.run_button, self.reset_button] + ([self.layer] if self.layer else [])
        side = widgets.VBox([self.state_html, self.optim_html])
        if self.layer is None:  # a small figure: the values sit beside it, or below when there is no room
            side.layout = widgets.Layout(margin="24px 0 0 16px", width="340px")
            middle = [widgets.Box([self.image, side], layout=widgets.Layout(flex_flow="row wrap"))]
        else:
            middle = [self.image, side]
        return widgets.VBox([widgets.HTML(STYLE), widgets.HBox(list(self.buttons.values())),
                             widgets.HBox(controls), *middle, self.log_html])

    # ---------------------------------------------------------------- actions

    def click(self, action: str) -> Event:
        """Run one action on the stepper, then redraw."""
        event = self.stepper.do(action)
        self.refresh()
        return event

    def run(self, n: int) -> Event:
        """n full iterations, then redraw."""
        event = self.stepper.run(int(n))
        self.refresh()
        return event

    def reset(self) -> Event:
        """Back to the starting values (the log starts afresh), then redraw."""
        event = self.stepper.reset()
        self.refresh()
        return event

    # ---------------------------------------------------------------- drawing

    def refresh(self) -> None:
        """Redraw plot, log and values from the stepper's latest event. The plot is sent first, so
        a frontend that shows the new values already has the new picture."""
        frame = step_views.Frame.of(self.stepper, self.layer.value if self.layer else None)
        log = self._log_html()
        try:
            self.view.show(frame)
            self.image.value = self.view.png()
        except Exception as err:  # a plot problem must never hide the state or the log
            log = (f'<div class="cs-event cs-warn">The plot could not be drawn '
                   f'({html.escape(type(err).__name__)}: {html.escape(str(err))}).</div>' + log)
        self.log_html.value = log
        self.state_html.value = self._state_html(frame)

    def _state_html(self, frame) -> str:
        rows = []
        for label, key, value in state_rows(frame, frame.chosen):
            shown = fmt(value, 6) if value is not None else "None"
            data = "" if value is None else f' data-value="{value!r}"'
            rows.append(f'<tr><td>{html.escape(label)}</td><td><b class="cs-value" data-key="{html.escape(key)}"'
                        f'{data}>{shown}</b></td></tr>')
        return f'<table class="cs-table">{"".join(rows)}</table>'

    def _log_html(self) -> str:
        items = []
        recent = list(self.stepper.events)[-self.log_size:][::-1]  # newest first
        for i, event in enumerate(recent):
            classes = "cs-event" + ("" if event.ok else " cs-warn") + (" cs-old" if i else "")
            mark = "" if event.ok else "⚠ "
            label = event.action + ("()" if event.action in ACTIONS else "")
            items.append(f'<div class="{classes}">{mark}<b>{html.escape(label)}</b>: '
                         f'{html.escape(event.message)}</div>')
        return "".join(items)

    # ---------------------------------------------------------------- display

    def text(self) -> str:
        """The current state and the latest message as plain text."""
        event = self.stepper.state()
        return (f"Step-through widget (click its buttons in a live notebook)\n  {event.summary()}\n"
                f"  last: {event.action}: {event.message}")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2, "version_minor": 0, "model_id": self.box.model_id},
            "text/plain": self.text(),
        }

    def __repr__(self) -> str:
        return self.text()


def _with_class(widget, name):
    """Add the CSS class ``course-stepper-<name>`` (``course-stepper`` for None): hooks for tests."""
    widget.add_class("course-stepper" + (f"-{name}" if name else ""))
    return widget


def _button(label: str, tip: str, name: str, on_click, width: str = "120px", style: str = ""):
    button = widgets.Button(description=label, tooltip=tip, button_style=style,
                            layout=widgets.Layout(width=width))
    button.on_click(on_click)
    return _with_class(button, name)


def step_through(stepper: Stepper, **kwargs) -> StepperWidget:
    """The step-through widget for ``stepper`` (put it last in a cell to show it). One weight gets
    the loss curve, two numbers the loss contours with the path, a network per-tensor panels."""
    return StepperWidget(stepper, **kwargs)


# ---------------------------------------------------------------- learning-rate explorer

def lr_explorer(train, x, y, start=START, lrs=LRS, num_epochs: int = NUM_EPOCHS):
    """Three learning-rate sliders over ``train``; the figure below them retrains on release.
    The defaults are notebook 2's (``course_utils.exercises.quadratic``)."""
    from IPython.display import display

    build_lr_explorer(train, x, y, start, lrs, num_epochs, show=display)


def build_lr_explorer(train, x, y, start, lrs, num_epochs: int, show):
    """The explorer's parts, shown through ``show`` (IPython's ``display``); returns the sliders.

    The figure is shown as a plain image with a display id and replaced in place on every change,
    so a static render keeps the figure for the default learning rates.
    """
    def slider(name, value):
        return widgets.FloatLogSlider(value=value, base=10, min=-4, max=0, step=0.05, description=name,
                                      readout_format=".4f", continuous_update=False,
                                      style={"description_width": "4em"},
                                      layout=widgets.Layout(width="26em"))

    sliders = [slider(name, value) for name, value in zip(("lr_w1", "lr_w2", "lr_b"), lrs)]
    reset = widgets.Button(description="reset", layout=widgets.Layout(width="6em"))
    show(widgets.HBox([widgets.VBox(sliders), reset]))

    fig = explorer_figure(train, x, y, start, lrs, num_epochs)
    handle = show(fig, display_id=True)
    plt.close(fig)

    def redraw(_change=None):
        new = explorer_figure(train, x, y, start, [s.value for s in sliders], num_epochs)
        handle.update(new)
        plt.close(new)

    def on_reset(_button):
        for s, value in zip(sliders, lrs):
            s.value = value  # each assignment that changes a value triggers redraw

    for s in sliders:
        s.observe(redraw, names="value")
    reset.on_click(on_reset)
    return sliders

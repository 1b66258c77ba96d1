"""course_utils.widgets: clicking the buttons (in the kernel, no browser) changes what is shown."""
import os
import re

import pytest
import torch
from torch import nn

from course_utils import data, step_views
from course_utils.models import LeNet5
from course_utils.stepper import Stepper
from course_utils.widgets import StepperWidget, step_through

PNG = b"\x89PNG\r\n\x1a\n"


def scalar_widget(lr=0.01):
    X = torch.tensor([1.0, 2.0, 3.0, 4.0])
    y = 2 * X
    w = torch.tensor(1.0, requires_grad=True)
    return step_through(Stepper(lambda X: X * w, nn.MSELoss(), torch.optim.SGD([w], lr=lr), X, y))


def lenet_widget():
    """LeNet-5 on the first 16 real CIFAR-10 training images."""
    if not os.environ.get(data.DATA_ENV):
        pytest.skip(f"set {data.DATA_ENV} to the offline data folder")
    X, y = data.cifar10_tensors(train=True, normalize=True)
    X, y = X[:16], y[:16]
    torch.manual_seed(0)
    model = LeNet5()
    return step_through(Stepper(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.05), X, y))


def shown(widget, key):
    """The value displayed for ``key`` in the state panel, as the page shows it (None for 'None')."""
    m = re.search(rf'data-key="{re.escape(key)}"[^>]*>([^<]*)<', widget.state_html.value)
    assert m, f"{key} is not displayed"
    return None if m.group(1) == "None" else float(m.group(1))


def test_scalar_clicks_change_the_displayed_values_and_the_plot():
    wd = scalar_widget()
    assert bytes(wd.image.value).startswith(PNG)
    images = [bytes(wd.image.value)]
    assert shown(wd, "w") == 1.0 and shown(wd, "w.grad") is None and shown(wd, "loss") is None

    wd.buttons["zero_grad"].click()
    assert "no gradients to clear" in wd.log_html.value
    wd.buttons["forward"].click()
    assert shown(wd, "loss") == 7.5  # mean((x·1 − 2x)²) = mean(x²) = 7.5
    wd.buttons["backward"].click()
    assert shown(wd, "w.grad") == -15.0  # mean(2x(xw − y)) = −2·mean(x²)
    images.append(bytes(wd.image.value))
    assert images[-1] != images[-2], "the tangent and the arrow must appear"
    wd.buttons["step"].click()
    assert shown(wd, "w") == pytest.approx(1.15)  # 1 − 0.01·(−15)
    assert "loss (before the step)" in wd.state_html.value
    images.append(bytes(wd.image.value))
    assert images[-1] != images[-2]
    assert "w ← w − lr·w.grad = 1 − 0.01·(-15) = 1.15" in wd.log_html.value

    wd.run_count.value = 200
    wd.run_button.click()
    assert shown(wd, "w") == pytest.approx(2.0, abs=1e-3) and shown(wd, "steps") == 201
    assert bytes(wd.image.value) != images[-1]


def test_misuse_shows_a_warning_in_the_log():
    wd = scalar_widget()
    wd.click("forward")
    wd.click("backward")
    wd.click("backward")
    newest = wd.log_html.value.split("</div>")[0]
    assert "cs-warn" in newest and "already used by an earlier backward()" in newest
    wd.click("zero_grad")
    before = bytes(wd.image.value)
    wd.click("step")
    assert shown(wd, "w") == 1.0 and "zero_grad() cleared the gradients" in wd.log_html.value
    assert shown(wd, "w.grad") is None
    assert bytes(wd.image.value) != before or "no slope yet" in wd.view.title.get_text()


def test_module_widget_bars_histogram_and_loss():
    wd = lenet_widget()
    assert isinstance(wd.view, step_views.GradientView) and wd.layer.value == "fc3.weight"
    empty = bytes(wd.image.value)
    assert shown(wd, "grad_norm") is None and "every .grad\nis None" == wd.view.grad_bars.note.get_text()
    wd.click("forward")
    wd.click("backward")
    assert shown(wd, "grad_norm") > 0 and shown(wd, "fc3.weight.grad") > 0
    after_backward = bytes(wd.image.value)
    assert after_backward != empty
    heights = [b.get_width() for b in wd.view.bars]
    assert all(h > 0 for h in heights) and not any(t.get_visible() for t in wd.view.none_texts)
    assert wd.view.grad_bars.note.get_text() == ""
    wd.layer.value = "conv1.weight"  # the dropdown redraws the histogram
    assert wd.view.hist_title.get_text() == "values of conv1.weight.grad"
    assert wd.view.stairs.get_data().values.sum() == 450  # every entry of the (6, 3, 5, 5) gradient
    assert bytes(wd.image.value) != after_backward and "conv1.weight.grad" in wd.state_html.value
    wd.run(3)
    assert shown(wd, "steps") == 3 and len(wd.view.loss_line.get_xdata()) == 4
    wd.click("zero_grad")
    assert shown(wd, "grad_norm") is None and "None" in wd.view.hist_note.get_text()


def test_display_without_a_frontend_shows_the_state():
    wd = scalar_widget()
    wd.click("forward")
    bundle = wd._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == wd.box.model_id
    text = bundle["text/plain"]
    assert "w = 1, w.grad = None; loss = 7.5" in text and "forward" in text
    assert repr(wd) == text


def test_stable_hooks_for_a_browser():
    wd = scalar_widget()
    assert "course-stepper-state" in wd.state_html._dom_classes
    assert "course-stepper-plot" in wd.image._dom_classes
    assert {f"course-stepper-{a}" for a in ("forward", "zero_grad", "backward", "step")} <= {
        c for b in wd.buttons.values() for c in b._dom_classes}
    assert 'data-key="w.grad"' in wd.state_html.value


def test_bad_input():
    with pytest.raises(TypeError, match="needs a Stepper"):
        StepperWidget("not a stepper")


def test_views_render_to_png():
    wd = scalar_widget()
    assert wd.view.ax.get_xlabel() == "w" and step_views.figure_png(wd.view.fig).startswith(PNG)
    a, b = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
    s = Stepper(lambda X: (X * a).sum() + b.sum(), nn.MSELoss(), torch.optim.SGD([a, b], lr=0.1),
                torch.ones(3), torch.tensor(1.0))
    view = step_views.view_for(s)
    view.show(step_views.Frame.of(s))
    assert isinstance(view, step_views.GradientView) and view.png().startswith(PNG)


def test_scalar_plot_warns_about_summed_and_stale_gradients():
    wd = scalar_widget()
    for action in ("forward", "backward", "forward", "backward"):
        wd.click(action)
    assert "sum of 2 backward passes" in wd.view.note.get_text()
    wd.click("step")
    assert "slope at the old w, before the step" in wd.view.note.get_text()
    for action in ("zero_grad", "forward", "backward"):
        wd.click(action)
    assert wd.view.note.get_text() == ""


def test_reset_button_and_divergence():
    X = torch.tensor([1.0, 2.0, 3.0, 4.0])
    w = torch.tensor(1.0, requires_grad=True)
    wd = step_through(Stepper(lambda X: X * w, nn.MSELoss(), torch.optim.SGD([w], lr=0.2), X, 2 * X))
    wd.run_count.value = 300
    wd.run_button.click()  # lr = 0.2 is far too large here: w blows up
    assert "diverged" in wd.log_html.value and "off the chart" in wd.view.title.get_text()
    assert "could not be drawn" not in wd.log_html.value
    wd.reset_button.click()
    assert shown(wd, "w") == 1.0 and shown(wd, "w.grad") is None and shown(wd, "steps") == 0
    assert "back to the start" in wd.log_html.value

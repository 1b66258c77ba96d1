"""course_utils.step_views as a learner sees them: texts that cover nothing, an honest arrow for every
step, the update of a network made visible, readable figures, and a static figure of scripted clicks."""
import io
import re

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

matplotlib.use("Agg")

from course_utils import graph, step_views  # noqa: E402
from course_utils.step_views.base import COLORS, overlaps  # noqa: E402
from course_utils.stepper import Stepper  # noqa: E402
from course_utils.widgets import step_through  # noqa: E402

X4 = torch.tensor([1.0, 2.0, 3.0, 4.0])


def scalar(lr=0.01, w0=1.0, opt=torch.optim.SGD):
    w = torch.tensor(w0, requires_grad=True)
    return Stepper(lambda X: X * w, nn.MSELoss(), opt([w], lr=lr), X4, 2 * X4)


def pair(make=lambda p: torch.optim.Adam(p, lr=0.3)):
    w1, w2 = torch.tensor(-1.0, requires_grad=True), torch.tensor(1.0, requires_grad=True)
    X = torch.stack([X4, 0.3 * torch.tensor([1.0, -1.0, 1.0, -1.0])], 1)
    return Stepper(lambda X: X[:, 0] * w1 + X[:, 1] * w2, nn.MSELoss(), make([w1, w2]), X,
                   X @ torch.tensor([1.0, 2.0]), names=["w1", "w2"])


def network(lr=0.5):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4))
    X = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    return Stepper(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=lr), X,
                   torch.tensor([0, 1, 2, 3, 0, 1]))


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


CLICKS = ["forward", "backward", "step", "zero_grad", "forward", "backward", "backward", "step", "step",
          "forward", "zero_grad", "backward", "forward", "backward", "step"]


@pytest.mark.parametrize("make", [scalar, pair, network])
def test_repainting_changed_panels_gives_the_full_picture(make):
    wd = step_through(make())
    for action in CLICKS:
        wd.click(action)
        quick = pixels(bytes(wd.image.value))
        wd.view._background_key = None  # force a full redraw of the same state
        assert np.array_equal(quick, pixels(wd.view.png())), f"stale pixels after {action}"


def clear_of_each_other(view):
    """No text box covers the marker or the arrow, and the two texts do not overlap."""
    boxes = view.boxes()
    shaft = view.ax.transData.transform([view.arrow.xyann, view.arrow.xy]) if view.arrow.get_visible() else None
    for name in ("note", "arrow_text"):
        if boxes[name] is not None:
            assert not overlaps(boxes[name], [boxes["marker"], shaft], pad=0), f"{name} covers the marker or arrow"
    if boxes["note"] is not None and boxes["arrow_text"] is not None:
        assert not boxes["note"].overlaps(boxes["arrow_text"])


@pytest.mark.parametrize("lr", [0.01, 0.05])
def test_annotations_cover_neither_the_marker_nor_the_arrow(lr):
    wd = step_through(scalar(lr))
    sequences = [["forward", "backward", "step"] * 3, ["forward", "backward"] * 3 + ["step"],
                 ["zero_grad", "forward", "backward", "step", "forward", "backward", "step"]]
    for seq in sequences:
        wd.reset()
        wd.run(30 if lr == 0.01 else 3)  # close to the minimum at w = 2, where the old note sat on the dot
        for action in seq:
            wd.click(action)
            wd.view.png()
            clear_of_each_other(wd.view)


def test_an_overshooting_step_with_a_summed_gradient_is_flagged():
    wd = step_through(scalar(lr=0.05))  # one gradient: 1 → 1.75; the sum of two: 1 → 2.5, past w = 2
    for action in ("forward", "backward", "forward", "backward"):
        wd.click(action)
    event = wd.click("step")
    assert event.value("w") == pytest.approx(2.5) and not event.ok and "step.overshot" in event.facts
    assert "overshot because the gradient was a sum" in event.message
    label = wd.view.arrow_text.get_text()
    assert "⚠ overshot" in label and wd.view.arrow.arrow_patch.get_edgecolor() == matplotlib.colors.to_rgba(
        COLORS["warn"])
    assert "cs-warn" in wd.log_html.value.split("</div>")[0]
    wd.reset()
    for action in ("forward", "backward", "step"):  # the same step with one gradient: no flag
        event = wd.click(action)
    assert event.ok and "⚠" not in wd.view.arrow_text.get_text()


def test_after_step_the_title_tells_the_step_just_taken():
    wd = step_through(scalar())
    wd.click("forward")
    wd.click("backward")
    assert "step() would add +0.15" in wd.view.arrow_text.get_text()
    assert wd.view.arrow.arrow_patch.get_linestyle() == "--"
    wd.click("step")
    title = wd.view.title.get_text()
    assert title == "step() moved w from 1 to 1.15" and "would" not in title and "adds" not in title
    assert wd.view.arrow.arrow_patch.get_linestyle() == "-" and wd.view.arrow_text.get_text() == "+0.15"


def test_reset_clears_the_log():
    wd = step_through(scalar())
    for action in ("forward", "backward", "backward", "step"):
        wd.click(action)
    assert wd.log_html.value.count('class="cs-event') == 5
    wd.reset_button.click()
    assert wd.log_html.value.count('class="cs-event') == 1 and "back to the start" in wd.log_html.value
    assert "already used" not in wd.log_html.value


def test_a_networks_step_is_visible_and_its_loss_change_readable():
    wd = step_through(network(lr=1e-4))  # a tiny step: the losses agree in their first 4 digits
    wd.click("forward")
    wd.click("backward")
    before = {n: p.detach().clone() for n, p in wd.stepper.parameters.items()}
    assert wd.view.step_bars.note.get_text() == "no step() yet"
    wd.click("step")
    view = wd.view
    for bar, (name, p) in zip(view.step_bars.bars, wd.stepper.parameters.items()):
        assert bar.get_width() == pytest.approx(float((p.detach() - before[name]).double().norm()), rel=1e-6)
        assert bar.get_width() > 0
    title = view.titles[view.ax_step]
    assert title.get_text() == "step() #1 moved each tensor by ‖Δ‖" and title.get_fontweight() == "bold"
    event = wd.click("forward")
    old, new = re.search(r"went from (\S+) to (\S+) because step\(\) moved", event.message).groups()
    assert old != new and float(old) != float(new)
    assert view.titles[view.ax_step].get_fontweight() == "normal"  # only the last click's panel is green


def text_artists(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def contrast_with_white(color) -> float:
    def channel(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, _ = matplotlib.colors.to_rgba(color)
    lum = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (lum + 0.05)


def assert_readable(fig, png: bytes, where: str):
    """At the size it is shown: text at least 12 px, dark enough on the opaque white figure, which
    therefore reads the same in JupyterLab's light and dark themes."""
    for t in text_artists(fig):
        assert t.get_fontsize() * fig.dpi / 72 >= 12, f"{where}: {t.get_text()!r} is {t.get_fontsize()} pt"
        assert contrast_with_white(t.get_color()) >= 3.0, f"{where}: {t.get_text()!r} is too pale"
    img = Image.open(io.BytesIO(png))
    assert img.mode == "RGB" or min(img.getchannel("A").getdata()) == 255, f"{where}: transparent PNG"
    assert img.convert("RGB").getpixel((1, 1)) == (255, 255, 255), f"{where}: not on white"
    assert fig.get_figwidth() * fig.dpi <= 961, f"{where}: wider than a notebook cell"


def test_every_figure_reads_at_the_default_zoom():
    for make in (scalar, pair, network):
        wd = step_through(make())
        for action in ("forward", "backward", "step", "forward", "backward"):
            wd.click(action)
            assert_readable(wd.view.fig, bytes(wd.image.value), f"{make.__name__} after {action}")
        static = step_views.render_clicks(wd.stepper, ["forward", "backward", "step"])
        assert_readable(static, step_views.figure_png(static), f"{make.__name__} static")
    a = torch.tensor([2.0, 3.0], requires_grad=True)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    loss = nn.functional.mse_loss(model(torch.randn(5, 3)), torch.randn(5, 1))
    for fig in (graph.draw_grad_fn(3 * a ** 3, {"a": a}), graph.draw_grad_fn(loss, dict(model.named_parameters()))):
        assert_readable(fig, step_views.figure_png(fig), "grad_fn graph")


def test_render_clicks_draws_each_click_and_leaves_the_stepper_as_it_was():
    import matplotlib.pyplot as plt

    stepper = scalar()
    wd = step_through(stepper)
    events, image = list(stepper.events), bytes(wd.image.value)
    figures = plt.get_fignums()
    fig = step_views.render_clicks(stepper, ["zero_grad", "forward", "backward", "step", "forward", "backward"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert [t.split("\n")[0] for t in titles] == ["1. zero_grad()", "2. forward()", "3. backward()", "4. step()",
                                                  "5. forward()", "6. backward()  ⚠"]
    assert titles[3].endswith("w: 1 → 1.15") and "sum of 2" in titles[5]
    assert list(stepper.events) == events and stepper.state().value("w") == 1.0 and stepper.losses == []
    assert plt.get_fignums() == figures  # not a pyplot figure: a notebook shows it once, as the cell's value
    wd.click("forward")  # the live widget goes on from the start
    assert stepper.losses == [7.5] and bytes(wd.image.value) != image
    net = network()
    fig = step_views.render_clicks(net, ["forward", "backward", "step", ("run", 2)])
    assert len(fig.axes) == 8 and fig.axes[3].get_title().startswith("4. run(2)")
    assert len(step_views.render_clicks(pair(), ["forward", "backward", "step"]).axes) == 3
    with pytest.raises(ValueError, match="unknown click 'jump'"):
        step_views.render_clicks(net, ["forward", "jump"])


def test_two_numbers_get_contours_and_the_optimizers_buffers():
    wd = step_through(pair())
    assert isinstance(wd.view, step_views.ContourStepView) and wd.layer is None
    first = bytes(wd.image.value)
    for action in ("forward", "backward", "step", "zero_grad", "forward", "backward", "step"):
        wd.click(action)
    assert bytes(wd.image.value) != first and wd.view.title.get_text().startswith("step() moved (w1, w2)")
    state = wd.state_html.value
    w1 = wd.stepper.parameters["w1"]
    live = wd.stepper.optimizer.state[w1]
    for key in ("exp_avg", "exp_avg_sq"):
        shown = float(re.search(rf'data-key="w1.{key}" data-value="([^"]+)"', state).group(1))
        assert shown == pytest.approx(live[key].item(), rel=1e-6)
    assert re.search(r'data-key="optim_step"[^>]*>2<', state) and "exp_avg m and exp_avg_sq v" in wd.optim_html.value

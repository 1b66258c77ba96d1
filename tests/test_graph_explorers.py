"""course_utils.graph reads the real backward graph; the lr explorer retrains when a slider moves."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils import graph, plots, widgets  # noqa: E402
from course_utils.exercises import quadratic  # noqa: E402


def test_graph_of_q_has_the_recorded_functions_and_named_leaves():
    a = torch.tensor([2.0, 3.0], requires_grad=True)
    b = torch.tensor([6.0, 4.0], requires_grad=True)
    Q = 3 * a**3 - b**2
    nodes, edges = graph.grad_fn_graph(Q, {"a": a, "b": b})
    labels = sorted(n["label"].split("\n")[0] for n in nodes.values())
    assert labels == ["MulBackward0", "PowBackward0", "PowBackward0", "SubBackward0", "a", "b"]
    assert len(edges) == 5
    (root,) = [n for n in nodes.values() if n["kind"] == "root"]
    assert root["kind"] == "root" and "(2,)" in root["label"]
    leaves = [n for n in nodes.values() if n["kind"] == "leaf"]
    assert {n["label"] for n in leaves} == {"a\n(2,)", "b\n(2,)"}
    assert isinstance(graph.draw_grad_fn(Q, {"a": a, "b": b}), Figure)


def test_shared_subexpressions_appear_once():
    w = torch.ones(3, requires_grad=True)
    h = w * 2
    out = (h * h + h).sum()
    nodes, edges = graph.grad_fn_graph(out)
    names = [n["label"].split("\n")[0] for n in nodes.values()]
    assert names.count("MulBackward0") == 2 and names.count("leaf") == 1
    assert len(edges) == len(set(edges))


def test_graph_of_a_tensor_without_history_explains_itself():
    with pytest.raises(ValueError, match="requires_grad=True"):
        graph.grad_fn_graph(torch.ones(2))
    with pytest.raises(TypeError, match="torch.Tensor"):
        graph.draw_grad_fn([1.0, 2.0])


class FakeDisplay:
    """Stands in for IPython's display: records what is shown and every in-place update."""

    def __init__(self):
        self.shown, self.updates = [], []

    def __call__(self, obj, display_id=None):
        self.shown.append(obj)
        return self if display_id else None

    def update(self, obj):
        self.updates.append(obj)


def test_lr_explorer_shows_a_static_figure_and_retrains_on_slider_change():
    x, y = torch.tensor([1.0, 2, 3, 4]), torch.tensor([2.0, 4, 6, 8])
    show = FakeDisplay()
    sliders = widgets.build_lr_explorer(quadratic.train_quadratic, x, y, (0.05, 1.5, 0.05),
                                          (0.001, 0.05, 0.001), 50, show)
    controls, first = show.shown
    assert isinstance(first, Figure) and "final loss" in first._suptitle.get_text()
    sliders[0].value = 0.02  # far beyond what w1 tolerates
    assert len(show.updates) == 1
    assert "diverged" in show.updates[0]._suptitle.get_text()
    sliders[0].value = 0.001
    assert "final loss" in show.updates[-1]._suptitle.get_text()


def test_quadratic_run_losses_fall_with_the_reference():
    x, y = torch.tensor([1.0, 2, 3, 4]), torch.tensor([2.0, 4, 6, 8])
    history, losses = quadratic.quadratic_run(quadratic.train_quadratic, x, y, (0.05, 1.5, 0.05),
                                              (0.001, 0.05, 0.001), 200)
    assert len(history) == len(losses) == 200
    assert losses[-1] < losses[0] / 100


def test_new_plot_helpers_return_figures():
    assert isinstance(quadratic.plot_quadratic_fit([1, 2], [2, 4], {"fit": (0.0, 2.0, 0.0)}, x_new=5), Figure)
    assert isinstance(plots.plot_fit([1, 2], [2, 4], {"line": lambda x: 2 * x}, x_new=5), Figure)
    assert isinstance(plots.plot_lr_run([1.0, float("nan")], {"w": [1.0, 2.0]}), Figure)
    assert isinstance(plots.plot_curves({"a": [0, 1]}, x=[0, 1], ylim=(0, 2)), Figure)


def test_explorer_in_a_live_kernel_replaces_its_figure_when_a_slider_moves():
    """Protocol level, as a frontend would: move the slider through its comm, expect the figure's
    display to be updated in place (same display id, a different image)."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        msg_id = kc.execute(
            "import torch\n"
            "from course_utils.widgets import lr_explorer\n"
            "from course_utils.exercises.quadratic import train_quadratic\n"
            "lr_explorer(train_quadratic, torch.tensor([1., 2, 3, 4]), torch.tensor([2., 4, 6, 8]),"
            " num_epochs=50)\n")
        sliders, images = [], []
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            kind, content = msg["msg_type"], msg["content"]
            if kind == "comm_open" and content["data"]["state"].get("_model_name") == "FloatLogSliderModel":
                sliders.append(content["comm_id"])
            if kind == "display_data" and "image/png" in content["data"]:
                images.append((content["transient"]["display_id"], content["data"]["image/png"]))
            assert kind != "error", content
            if kind == "status" and content["execution_state"] == "idle" \
                    and msg["parent_header"].get("msg_id") == msg_id:
                break
        assert len(sliders) == 3 and len(images) == 1
        kc.session.send(kc.shell_channel.socket, "comm_msg", {
            "comm_id": sliders[0],
            "data": {"method": "update", "state": {"value": 0.02}, "buffer_paths": []}})
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["msg_type"] == "update_display_data":
                break
        display_id, first_png = images[0]
        assert msg["content"]["transient"]["display_id"] == display_id
        assert msg["content"]["data"]["image/png"] != first_png
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

"""Models, training loops and checkpoints in course_utils (models.py, training.py, plots.py).

The package's FashionCNN, train_loop and test_loop are the code notebook 8 teaches, and
pool_before_relu is notebook 9's: a test below compares them with the notebooks' cells
(tests/notebook_source.py), so the copies cannot drift apart.
"""
import os
from pathlib import Path

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from notebook_source import _python_lines, copy_problems  # noqa: E402

from course_utils import data, models, training  # noqa: E402
from course_utils.models import FashionCNN, LeNet5, pool_before_relu  # noqa: E402
from course_utils.checkpoints import load_checkpoint, save_checkpoint  # noqa: E402
from course_utils.training import train_loop  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_8 = ROOT / "notebooks" / "08_fashion_mnist_cnn.ipynb"
NOTEBOOK_9 = ROOT / "notebooks" / "09_fashion_mnist_fast.ipynb"


def _has_fashion() -> bool:
    try:
        data.fashion_mnist_arrays(train=False, download=False)
        return True
    except data.DataError:
        return False


needs_data = pytest.mark.skipif(not os.environ.get(data.DATA_ENV) or not _has_fashion(),
                                reason=f"set {data.DATA_ENV} to the offline data folder")


# ---------------------------------------------------------------- models

def test_lenet5_shapes_and_parameter_count():
    model = LeNet5()
    assert model(torch.zeros(5, 3, 32, 32)).shape == (5, 10)
    # conv1 456 + conv2 2416 + fc1 48120 + fc2 10164 + fc3 850
    assert sum(p.numel() for p in model.parameters()) == 62006


def test_lenet5_without_activation_collapses_to_one_linear_map():
    model = LeNet5(act=nn.Identity)
    h = torch.randn(7, 400)
    W = model.fc3.weight @ model.fc2.weight @ model.fc1.weight
    b = model.fc3.weight @ (model.fc2.weight @ model.fc1.bias + model.fc2.bias) + model.fc3.bias
    with torch.no_grad():
        assert torch.allclose(model.fc3(model.fc2(model.fc1(h))), h @ W.T + b, atol=1e-5)
        relu = LeNet5()
        assert not torch.allclose(relu.fc3(relu.act(relu.fc2(relu.act(relu.fc1(h))))),
                                  h @ (relu.fc3.weight @ relu.fc2.weight @ relu.fc1.weight).T, atol=1e-3)


def test_fashion_cnn_shapes_and_channels_last():
    model = FashionCNN()
    x = torch.randn(3, 1, 28, 28)
    assert model.layer1(x).shape == (3, 16, 14, 14)
    assert model.layer2(model.layer1(x)).shape == (3, 32, 7, 7)
    out = model(x)
    assert out.shape == (3, 10)
    cl = FashionCNN()
    cl.load_state_dict(model.state_dict())
    cl = cl.to(memory_format=torch.channels_last)
    assert torch.allclose(cl(x.contiguous(memory_format=torch.channels_last)), out, atol=1e-5)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_pool_before_relu_computes_the_same_outputs_and_gradients_bit_for_bit(memory_format):
    torch.manual_seed(0)
    plain = FashionCNN().to(memory_format=memory_format)
    fast = FashionCNN().to(memory_format=memory_format)
    fast.load_state_dict(plain.state_dict())
    assert pool_before_relu(fast) is fast
    assert [type(m) for m in fast.layer1] == [nn.Conv2d, nn.MaxPool2d, nn.ReLU]
    assert [type(m) for m in fast.layer2] == [nn.Conv2d, nn.MaxPool2d, nn.ReLU]
    assert list(fast.state_dict()) == list(plain.state_dict())   # checkpoints load into either order
    X = torch.randn(64, 1, 28, 28).contiguous(memory_format=memory_format)
    y = torch.randint(0, 10, (64,))
    out_plain, out_fast = plain(X), fast(X)
    assert torch.equal(out_plain, out_fast)
    nn.functional.cross_entropy(out_plain, y).backward()
    nn.functional.cross_entropy(out_fast, y).backward()
    for (name, a), b in zip(plain.named_parameters(), fast.parameters()):
        assert torch.equal(a.grad, b.grad), name


def test_pool_before_relu_twice_is_the_same_as_once():
    model = pool_before_relu(pool_before_relu(FashionCNN()))
    assert [type(m) for m in model.layer1] == [nn.Conv2d, nn.MaxPool2d, nn.ReLU]


# ---------------------------------------------------------------- one source of truth

@pytest.mark.parametrize("notebook, module, name", [(NOTEBOOK_8, models, "FashionCNN"),
                                                    (NOTEBOOK_9, models, "pool_before_relu"),
                                                    (NOTEBOOK_8, training, "train_loop"),
                                                    (NOTEBOOK_8, training, "test_loop")],
                         ids=["FashionCNN", "pool_before_relu", "train_loop", "test_loop"])
def test_package_copy_is_the_code_the_notebook_teaches(notebook, module, name):
    problems = copy_problems(notebook, name, module)
    assert not problems, "\n".join(problems)


def notebook_recipe() -> dict:
    """Notebook 9's recipe: its ``batch_size, num_epochs, max_lr = ...`` line, and in the same cell
    ``Adam(..., betas=...)`` and ``OneCycleLR(..., pct_start=..., div_factor=...)``."""
    import ast

    import nbformat

    for cell in nbformat.read(NOTEBOOK_9, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_python_lines(cell.source))
        except SyntaxError:  # the setup cell: only a %pip line under its `if`
            continue
        recipe = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple):
                names = [t.id for t in node.targets[0].elts if isinstance(t, ast.Name)]
                if "max_lr" in names:
                    recipe.update(zip(names, ast.literal_eval(node.value)))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("Adam", "OneCycleLR"):
                recipe.update({k.arg: ast.literal_eval(k.value) for k in node.keywords
                               if k.arg in ("betas", "pct_start", "div_factor")})
        if "max_lr" in recipe:
            return recipe
    raise LookupError("notebook 9 has no `batch_size, num_epochs, max_lr = ...` line")


def module_constant(source: str, name: str):
    """The value of a top-level ``NAME = <literal>`` in a module's source."""
    import ast

    return next(ast.literal_eval(node.value) for node in ast.parse(source).body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name)


def test_the_benchmark_measures_the_recipe_notebook_9_uses():
    source = (ROOT / "benchmarks" / "bench_fashion_pipeline.py").read_text(encoding="utf-8")
    assert module_constant(source, "RECIPE") == notebook_recipe()
    test_batch = module_constant(source, "TEST_BATCH")
    assert f"TensorBatches(X_test, y_test, batch_size={test_batch}, shuffle=False)" in NOTEBOOK_9.read_text(encoding="utf-8")


# ---------------------------------------------------------------- loops

def test_test_loop_weighs_every_image_once_and_builds_no_graph():
    torch.manual_seed(0)
    model = FashionCNN()
    X, y = torch.randn(50, 1, 28, 28), torch.randint(0, 10, (50,))
    loss, acc = training.test_loop(data.TensorBatches(X, y, 16, shuffle=False), model, nn.CrossEntropyLoss())
    with torch.no_grad():  # 50 = 16 + 16 + 16 + 2: a short last batch must not count as a full one
        logits = model(X)
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert acc == (logits.argmax(1) == y).sum().item() / 50
    assert all(p.grad is None for p in model.parameters())
    assert not model.training


def test_train_loop_takes_a_dataloader_or_tensor_batches_alike_and_steps_the_scheduler():
    X, y = torch.randn(40, 1, 28, 28), torch.randint(0, 10, (40,))

    def one_epoch(batches):
        torch.manual_seed(0)
        model = FashionCNN()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=10)
        loss = train_loop(batches, model, nn.CrossEntropyLoss(), opt, sched)
        return model, loss, sched

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16)
    model_a, loss_a, sched_a = one_epoch(loader)
    model_b, loss_b, sched_b = one_epoch(data.TensorBatches(X, y, 16, shuffle=False))
    assert loss_a == loss_b
    for a, b in zip(model_a.parameters(), model_b.parameters()):
        assert torch.equal(a, b)
    assert sched_a.last_epoch == sched_b.last_epoch == 3  # one scheduler step per batch (16 + 16 + 8)
    assert model_a.training


def test_train_loop_returns_the_mean_loss_per_image_before_each_step():
    torch.manual_seed(0)
    model = FashionCNN()
    X, y = torch.randn(24, 1, 28, 28), torch.randint(0, 10, (24,))
    first = nn.functional.cross_entropy(model(X[:16]), y[:16]).item()
    frozen = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the weights stay, so the loss is known
    second = nn.functional.cross_entropy(model(X[16:]), y[16:]).item()
    mean = train_loop(data.TensorBatches(X, y, 16, shuffle=False), model, nn.CrossEntropyLoss(), frozen)
    assert mean == pytest.approx((first * 16 + second * 8) / 24, rel=1e-5)


@needs_data
def test_a_short_real_training_run_lowers_the_loss():
    torch.manual_seed(0)
    X, y = data.fashion_mnist_tensors(train=False, normalize=True)
    X_train, y_train, X_val, y_val = X[:2000], y[:2000], X[8000:], y[8000:]
    model = FashionCNN()
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    val = data.TensorBatches(X_val, y_val, 500, shuffle=False)
    before, acc_before = training.test_loop(val, model, loss_fn)
    batches = data.TensorBatches(X_train, y_train, batch_size=64, seed=0)
    first = train_loop(batches, model, loss_fn, opt)
    second = train_loop(batches, model, loss_fn, opt)
    after, acc_after = training.test_loop(val, model, loss_fn)
    assert second < first
    assert after < before - 0.5 and acc_after > acc_before + 0.3 and acc_after > 0.6


# ---------------------------------------------------------------- resuming (checkpoints themselves: test_checkpoints.py)

def test_resumed_training_equals_uninterrupted(tmp_path):
    X, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))

    def run(model, opt, epochs):
        for epoch in epochs:
            train_loop(data.TensorBatches(X, y, 16, seed=epoch), model, nn.CrossEntropyLoss(), opt)

    torch.manual_seed(0)
    full = FashionCNN()
    full_opt = torch.optim.Adam(full.parameters(), lr=1e-3)
    run(full, full_opt, range(2))
    save_checkpoint(tmp_path / "c.pt", full, full_opt, epoch=1)
    run(full, full_opt, range(2, 4))

    resumed = FashionCNN()
    resumed_opt = torch.optim.Adam(resumed.parameters(), lr=1e-3)
    start = load_checkpoint(tmp_path / "c.pt", resumed, resumed_opt)["epoch"] + 1
    run(resumed, resumed_opt, range(start, 4))
    for a, b in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


# ---------------------------------------------------------------- plots

def test_plot_helpers_return_figures_with_the_data():
    import matplotlib.pyplot as plt

    from course_utils import plots

    fig = plots.plot_curves({"a": [3, 2, 1], "b": [1, 2, 3]}, ylabel="loss")
    assert [len(line.get_xdata()) for line in fig.axes[0].lines] == [3, 3]
    fig2 = plots.plot_grad_norms({"w": 0.5, "b": 0.01})
    assert len(fig2.axes[0].patches) == 2
    cm = torch.tensor([[5, 1], [2, 7]])
    fig3 = plots.plot_confusion_matrix(cm, ["x", "y"])
    assert sorted(t.get_text() for t in fig3.axes[0].texts) == ["1", "2", "5", "7"]
    imgs = torch.rand(3, 3, 8, 8)
    fig4 = plots.plot_image_grid(imgs, [0, 1, 1], ["cat", "dog"], preds=[0, 0, 1], ncols=3)
    titles = [ax.get_title() for ax in fig4.axes]
    assert titles == ["cat", "cat\n(dog)", "dog"]
    fig5 = plots.plot_bars({"cat": 0.5, "dog": 0.25})
    assert [round(p.get_height(), 2) for p in fig5.axes[0].patches] == [0.5, 0.25]
    for f in (fig, fig2, fig3, fig4, fig5):
        plt.close(f)


@pytest.mark.parametrize("preds", [None, [1] * 16], ids=["labels", "two-line titles"])
def test_image_grid_titles_cover_no_image(preds):
    """A wrong prediction's two-line title fits between the rows: it overlaps no image above it."""
    import matplotlib.pyplot as plt

    from course_utils import plots

    fig = plots.plot_image_grid(torch.rand(16, 1, 28, 28), [0] * 16, ["T-shirt/top", "Sneaker"], preds=preds,
                                title="a title")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    images = [ax.images[0].get_window_extent(renderer) for ax in fig.axes]
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes]
    assert not [(i, j) for i, t in enumerate(titles) for j, im in enumerate(images) if t.overlaps(im)]
    plt.close(fig)

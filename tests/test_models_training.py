"""Reference models, training loops and checkpoints in course_utils (models.py, training.py, plots.py)."""
import os
from pathlib import Path

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from course_utils import data  # noqa: E402
from course_utils.models import FashionCNN, LeNet5  # noqa: E402
from course_utils.checkpoints import load_checkpoint, save_checkpoint  # noqa: E402
from course_utils.training import accuracy, evaluate, train_epoch  # noqa: E402


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


# ---------------------------------------------------------------- loops

def test_accuracy_counts_argmax_matches():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [0.0, 1.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1, 0])) == 0.5
    with pytest.raises(ValueError, match="logits"):
        accuracy(logits, torch.tensor([0, 1]))


def test_evaluate_matches_a_direct_computation_and_does_not_track_grads():
    torch.manual_seed(0)
    model = FashionCNN()
    X, y = torch.randn(50, 1, 28, 28), torch.randint(0, 10, (50,))
    loss, acc = evaluate(model, X, y, batch_size=16)
    with torch.no_grad():
        logits = model(X)
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert acc == pytest.approx(accuracy(logits, y))
    assert all(p.grad is None for p in model.parameters())
    assert not model.training


@needs_data
def test_a_short_real_training_run_lowers_the_loss():
    torch.manual_seed(0)
    X, y = data.fashion_mnist_tensors(train=False, normalize=True)
    X_train, y_train, X_val, y_val = X[:2000], y[:2000], X[8000:], y[8000:]
    model = FashionCNN()
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    before, acc_before = evaluate(model, X_val, y_val, loss_fn)
    batches = data.TensorBatches(X_train, y_train, batch_size=64, seed=0)
    first = train_epoch(model, batches, loss_fn, opt)
    second = train_epoch(model, batches, loss_fn, opt)
    after, acc_after = evaluate(model, X_val, y_val, loss_fn)
    assert second < first
    assert after < before - 0.5 and acc_after > acc_before + 0.3 and acc_after > 0.6


# ---------------------------------------------------------------- resuming (checkpoints themselves: test_checkpoints.py)

def test_resumed_training_equals_uninterrupted(tmp_path):
    X, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))

    def run(model, opt, epochs):
        for epoch in epochs:
            train_epoch(model, data.TensorBatches(X, y, 16, seed=epoch), nn.CrossEntropyLoss(), opt)

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

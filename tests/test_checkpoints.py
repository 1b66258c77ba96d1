"""course_utils.checkpoints: saves that survive crashes and full disks, loads that apply all or nothing."""
import errno
import multiprocessing
import os
import signal
import time

import pytest
import torch
from torch import nn

from course_utils import checkpoints
from course_utils.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from course_utils.models import FashionCNN, LeNet5

try:
    import resource  # Unix only
except ImportError:
    resource = None

# crash tests run the saving in a forked child (torch already imported), then kill or limit it
FORK = multiprocessing.get_context("fork") if hasattr(os, "fork") else None
needs_fork = pytest.mark.skipif(FORK is None or resource is None, reason="needs os.fork and resource (Unix)")


def trained(seed=0, opt_class=torch.optim.Adam, **opt_args):
    """A FashionCNN after three steps of ``opt_class`` with a one-cycle schedule (its state is not empty)."""
    torch.manual_seed(seed)
    model = FashionCNN()
    opt = opt_class(model.parameters(), lr=1e-3, **opt_args)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=10)
    X, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
        sched.step()
    return model, opt, sched


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- the round trip

def test_round_trip_restores_model_optimizer_scheduler_and_epoch(tmp_path):
    model, opt, sched = trained()
    path = save_checkpoint(tmp_path / "sub" / "ckpt.pt", model, opt, epoch=3, scheduler=sched)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"model", "optimizer", "epoch", "scheduler", "optimizer_class", "scheduler_class"}
    assert (raw["optimizer_class"], raw["scheduler_class"]) == ("Adam", "OneCycleLR")

    model2, opt2, sched2 = trained(seed=1)
    assert load_checkpoint(path, model2, opt2, sched2)["epoch"] == 3
    assert same(weights(model), weights(model2))
    for p, q in zip(model.parameters(), model2.parameters()):
        assert torch.equal(opt.state[p]["exp_avg_sq"], opt2.state[q]["exp_avg_sq"])
    assert sched2.last_epoch == sched.last_epoch == 3
    assert opt2.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    assert list(tmp_path.glob("sub/.*")) == []  # no temporary file left beside it


def test_a_checkpoint_saved_by_plain_torch_save_loads_too(tmp_path):
    model, opt, sched = trained()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "epoch": 2}, tmp_path / "nb.pt")  # as the notebook saves
    model2, opt2, sched2 = trained(seed=1)
    assert load_checkpoint(tmp_path / "nb.pt", model2, opt2, sched2)["epoch"] == 2
    assert same(weights(model), weights(model2))


# ---------------------------------------------------------------- saving is atomic

def _save_under_a_size_limit(path, limit, report):
    """In a forked child: save a fresh model's checkpoint while files above ``limit`` bytes are refused."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get the EFBIG error instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    model = FashionCNN()
    try:
        save_checkpoint(path, model, torch.optim.Adam(model.parameters()), epoch=2)
        report.send("saved")
    except Exception as err:
        report.send(f"{type(err).__name__} {err}")


@needs_fork
def test_a_save_that_hits_the_file_size_limit_keeps_the_previous_checkpoint(tmp_path):
    # A real failed write: the child may not write files above 100 kB (the kernel refuses with EFBIG,
    # as a full disk refuses with ENOSPC). The previous good checkpoint (about 350 kB) must survive.
    model, opt, _ = trained()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=1)
    good = path.read_bytes()
    receive, send = FORK.Pipe(duplex=False)
    child = FORK.Process(target=_save_under_a_size_limit, args=(path, 100_000, send))
    child.start()
    child.join(60)
    out = receive.recv() if receive.poll() else "(no report)"
    assert path.read_bytes() == good, f"the previous checkpoint changed ({path.stat().st_size:,} bytes)"
    assert out.startswith("CheckpointError Could not save the checkpoint"), out
    assert "larger than this system allows" in out and "still holds the previous checkpoint, unchanged" in out
    assert "enforce fail" not in out and "inline_container" not in out
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # the partial file was removed


def test_a_full_disk_is_said_in_plain_words(tmp_path, monkeypatch):
    class FullDisk:
        def __init__(self, path):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    model, opt, _ = trained()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=1)
    monkeypatch.setattr(checkpoints, "atomic_write", FullDisk)
    with pytest.raises(CheckpointError) as err:
        save_checkpoint(path, model, opt, epoch=2)
    msg = str(err.value)
    assert "the disk is full" in msg and "MB free" in msg and "still holds the previous checkpoint" in msg
    assert "Free some space" in msg
    with pytest.raises(CheckpointError, match="No file was written"):
        save_checkpoint(tmp_path / "new.pt", model, opt, epoch=2)


def _save_forever(path, started):
    """In a forked child: save a 64 MB checkpoint again and again, saying when each save starts."""
    model = nn.Linear(4096, 4096)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(1000):
        started.send(epoch)
        save_checkpoint(path, model, opt, epoch)


@needs_fork
@pytest.mark.parametrize("delay", [0.0, 0.03, 0.1])
def test_kill_9_in_the_middle_of_saving_leaves_a_loadable_checkpoint(tmp_path, delay):
    path = tmp_path / "big.pt"
    receive, send = FORK.Pipe(duplex=False)
    child = FORK.Process(target=_save_forever, args=(path, send))
    child.start()
    try:
        while receive.poll(60) and receive.recv() < 2:
            pass  # saves 0 and 1 are complete, save 2 is under way
        time.sleep(delay)
    finally:
        child.kill()  # SIGKILL: no cleanup runs
        child.join()
    assert load_checkpoint(path)["epoch"] in (1, 2), f"killed {delay} s into a save"


# ---------------------------------------------------------------- loading is all or nothing

def test_an_adam_checkpoint_does_not_load_into_sgd(tmp_path):
    model, adam, _ = trained()
    path = save_checkpoint(tmp_path / "c.pt", model, adam, epoch=0)
    fresh = FashionCNN()
    before = weights(fresh)
    sgd = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path, fresh, sgd)
    msg = str(err.value)
    assert "saved from a Adam optimizer and this one is a SGD" in msg and "Nothing was loaded" in msg
    assert same(before, weights(fresh)), "the model's weights were overwritten"
    assert "momentum" in sgd.param_groups[0] and sgd.state_dict()["state"] == {}


def test_another_optimizers_state_is_recognised_without_a_class_name(tmp_path):
    model, adam, _ = trained()
    torch.save({"model": model.state_dict(), "optimizer": adam.state_dict(), "epoch": 0}, tmp_path / "c.pt")
    fresh = FashionCNN()
    sgd = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(CheckpointError, match=r"settings \(.*betas.*\) belong to another kind of optimizer than SGD"):
        load_checkpoint(tmp_path / "c.pt", fresh, sgd)
    X = torch.randn(2, 1, 28, 28)
    nn.functional.cross_entropy(fresh(X), torch.tensor([0, 1])).backward()
    sgd.step()  # still a working SGD (it raised KeyError: 'momentum' after a half-done load)


def test_an_optimizer_over_another_model_changes_nothing(tmp_path):
    model, opt, _ = trained()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=0)
    fresh = FashionCNN()
    before = weights(fresh)
    other = torch.optim.Adam(LeNet5().parameters(), lr=1e-3)
    with pytest.raises(CheckpointError, match="parameter groups of sizes .* model.parameters"):
        load_checkpoint(path, fresh, other)
    assert same(before, weights(fresh)), "the model's weights were overwritten before the optimizer failed"


def test_optimizer_state_of_the_wrong_shape_is_caught():
    small, wide = nn.Linear(2, 3), nn.Linear(3, 2)  # two parameters each, different shapes
    opt = torch.optim.Adam(small.parameters())
    small(torch.randn(4, 2)).sum().backward()
    opt.step()
    state = {"model": small.state_dict(), "optimizer": opt.state_dict(), "epoch": 0,
             "optimizer_class": "Adam"}
    msg = checkpoints._optimizer_mismatch(torch.optim.Adam(wide.parameters()), state["optimizer"], "Adam")
    assert "'exp_avg' for a parameter is (3, 2) but the parameter is (2, 3)" in msg


def test_a_different_scheduler_is_refused(tmp_path):
    model, opt, sched = trained()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=0, scheduler=sched)
    model2, opt2, _ = trained(seed=1)
    before = weights(model2)
    step = torch.optim.lr_scheduler.StepLR(opt2, step_size=2)
    with pytest.raises(CheckpointError, match="saved from a OneCycleLR scheduler and this one is a StepLR"):
        load_checkpoint(path, model2, opt2, step)
    assert same(before, weights(model2)) and step.step_size == 2


def test_a_failure_while_applying_undoes_everything(tmp_path, monkeypatch):
    model, opt, sched = trained()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=0, scheduler=sched)
    model2, opt2, sched2 = trained(seed=1)
    before, opt_before = weights(model2), opt2.state_dict()["state"][0]["exp_avg"].clone()

    def broken(state):
        raise RuntimeError("scheduler refused")

    monkeypatch.setattr(sched2, "load_state_dict", broken)
    with pytest.raises(CheckpointError, match="Loading .* failed .*scheduler refused.*Nothing was changed"):
        load_checkpoint(path, model2, opt2, sched2)
    assert same(before, weights(model2))
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt_before)


def test_weights_for_another_model_are_reported_with_the_layers(tmp_path):
    model, opt, _ = trained()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=0)
    lenet = LeNet5()
    before = weights(lenet)
    with pytest.raises(CheckpointError, match="do not fit this model .*(missing|unexpected).*same layers"):
        load_checkpoint(path, lenet)
    assert same(before, weights(lenet))


def test_missing_scheduler_state(tmp_path):
    model, opt, sched = trained()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=0)
    with pytest.raises(CheckpointError, match="no scheduler state.*save_checkpoint\\(..., scheduler=scheduler\\)"):
        load_checkpoint(path, model, opt, sched)


# ---------------------------------------------------------------- files that are not checkpoints

def test_an_empty_file_is_called_empty(tmp_path):
    (tmp_path / "c.pt").write_bytes(b"")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "c.pt", FashionCNN())
    msg = str(err.value)
    assert "is empty (0 bytes)" in msg and "b''" not in msg


def test_a_refused_pickled_class_is_named_without_colour_codes(tmp_path):
    torch.save(FashionCNN(), tmp_path / "model.pt")  # a whole pickled module, not state dicts
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "model.pt")
    msg = str(err.value)
    assert "pickled Python objects (course_utils.models.FashionCNN)" in msg
    assert "weights_only=True" in msg and "state_dict" in msg and "\x1b" not in msg


def test_a_bare_state_dict_names_the_expected_keys_and_the_scheduler(tmp_path):
    torch.save(FashionCNN().state_dict(), tmp_path / "weights.pt")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "weights.pt", FashionCNN())
    msg = str(err.value)
    assert "not a training checkpoint" in msg and "'optimizer'" in msg and "'scheduler'" in msg
    assert "model.load_state_dict(torch.load(path, weights_only=True))" in msg


def test_truncated_damaged_text_missing_and_folder(tmp_path):
    model, opt, _ = trained()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=0)
    good = path.read_bytes()
    path.write_bytes(good[:3000])
    with pytest.raises(CheckpointError, match="c.pt is a truncated checkpoint.*3,000 bytes"):
        load_checkpoint(path)
    damaged = bytearray(good)
    damaged[200:4000] = bytes(3800)  # stored data overwritten, the zip directory at the end kept
    path.write_bytes(bytes(damaged))
    with pytest.raises(CheckpointError, match="c.pt is damaged and cannot be read.*Save the checkpoint again"):
        load_checkpoint(path)
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint.*b'hello'"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="No checkpoint file at .*save_checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)

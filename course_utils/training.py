"""The train and test loops of notebook 8, and checkpoints with clear errors.

``train_loop`` and ``test_loop`` are the code notebook 8 teaches, cell for cell
(tests/test_notebook_copies.py fails when the two differ); later notebooks and the benchmarks import
them from here. Any iterable of ``(X, y)`` batches works: a ``DataLoader`` or ``data.TensorBatches``.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

CHECKPOINT_KEYS = ("model", "optimizer", "epoch")


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable or does not fit the model; the message says what to do."""


def train_loop(dataloader, model, loss_fn, optimizer, scheduler=None):
    """One epoch over the training batches; returns the mean loss per image."""
    device = next(model.parameters()).device
    model.train()
    total_loss, count = 0.0, 0
    for X, y in tqdm(dataloader, desc="train", leave=False):
        X, y = X.to(device), y.to(device)
        y_hat = model(X)
        loss = loss_fn(y_hat, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()                 # a one-cycle schedule moves the lr after every batch
        total_loss += loss.item() * len(X)
        count += len(X)
    return total_loss / count


def test_loop(dataloader, model, loss_fn):
    """(mean loss per image, accuracy) over all the test batches."""
    device = next(model.parameters()).device
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            y_hat = model(X)
            total_loss += loss_fn(y_hat, y).item() * len(X)
            correct += (y_hat.argmax(dim=1) == y).sum().item()
            count += len(X)
    return total_loss / count, correct / count


test_loop.__test__ = False  # a loop, not a test: pytest must not collect it where tests import it


def save_checkpoint(path, model: nn.Module, optimizer, epoch: int, scheduler=None) -> Path:
    """Save ``{model, optimizer, epoch}`` state dicts (and the scheduler's, if given) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": int(epoch)}
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    torch.save(state, path)
    return path


def _legacy_pickle(path: Path) -> bool:
    """True for the pre-1.6 torch.save format, a bare pickle stream (protocol 2 or later)."""
    with open(path, "rb") as f:
        head = f.read(2)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def load_checkpoint(path, model: nn.Module | None = None, optimizer=None, scheduler=None) -> dict:
    """Read a checkpoint saved by ``save_checkpoint`` (``weights_only=True``) and load it into the
    objects given; returns the checkpoint dict. Raises ``CheckpointError`` with a fix when it cannot."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint file at {path}. Check the name, or save one first with "
                              f"save_checkpoint(path, model, optimizer, epoch).")
    if not zipfile.is_zipfile(path) and not _legacy_pickle(path):
        with open(path, "rb") as f:
            head = f.read(24)
        if head.startswith(b"PK\x03\x04"):
            raise CheckpointError(
                f"{path} is a truncated checkpoint: it starts like the zip archive torch.save writes, but "
                f"its end is missing ({path.stat().st_size:,} bytes; an interrupted save, a full disk or a "
                f"partial download). Save the checkpoint again with save_checkpoint(...).")
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint: files written by torch.save are zip archives, and this "
            f"one is not (it starts with {head[:16]!r}). It may be another kind of file, or damaged. "
            f"Pick the right file, or save the checkpoint again with save_checkpoint(...).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        detail = " ".join(str(err).split("Weights only load failed.")[-1].split())[:160]
        raise CheckpointError(
            f"{path} holds pickled Python objects that torch.load(..., weights_only=True) refuses to "
            f"run ({detail}...). Save state dicts (model.state_dict(), optimizer.state_dict()) with "
            f"save_checkpoint(...) instead of whole objects; load this file with weights_only=False only "
            f"if you trust where it came from.") from None
    except (zipfile.BadZipFile, EOFError, RuntimeError, ValueError, UnicodeDecodeError, KeyError) as err:
        first_line = (str(err).strip().splitlines() or [""])[0][:120]
        raise CheckpointError(
            f"{path} is damaged and cannot be read as a PyTorch checkpoint ({type(err).__name__}: "
            f"{first_line}). Save the checkpoint again with save_checkpoint(...).") from None
    if not isinstance(state, dict) or any(k not in state for k in CHECKPOINT_KEYS):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"{path} is a PyTorch file but not a training checkpoint: it should be a dict with keys "
            f"{list(CHECKPOINT_KEYS)}, found {found}. A bare state_dict loads with "
            f"model.load_state_dict(torch.load(path, weights_only=True)).")
    if model is not None:
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as err:
            detail = " ".join(str(err).split())[:300]
            raise CheckpointError(
                f"The weights in {path} do not fit this model ({detail}). Build the model with the "
                f"same layers as the one that was saved.") from None
    if optimizer is not None:
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError) as err:
            raise CheckpointError(f"The optimizer state in {path} does not fit this optimizer ({err}). "
                                  f"Create the optimizer over model.parameters() of the same model, "
                                  f"with the same class, before loading.") from None
    if scheduler is not None:
        if "scheduler" not in state:
            raise CheckpointError(f"{path} holds no scheduler state; save it with "
                                  f"save_checkpoint(..., scheduler=scheduler) to resume a schedule.")
        scheduler.load_state_dict(state["scheduler"])
    return state

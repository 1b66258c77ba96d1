"""Reference training and evaluation loops, and checkpoints with clear errors (taught in notebook 6)."""
from __future__ import annotations

import pickle
import zipfile
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

CHECKPOINT_KEYS = ("model", "optimizer", "epoch")


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable or does not fit the model; the message says what to do."""


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows whose largest logit is at the true class."""
    if logits.ndim != 2 or logits.shape[0] != y.shape[0]:
        raise ValueError(f"accuracy wants logits (N, classes) and labels (N,); got {tuple(logits.shape)} "
                         f"and {tuple(y.shape)}.")
    return (logits.argmax(dim=1) == y).float().mean().item()


def train_epoch(model: nn.Module, batches: Iterable, loss_fn, optimizer, scheduler=None,
                progress: bool = False) -> float:
    """One pass over ``batches`` (zero_grad, forward, loss, backward, step); returns the mean loss per sample."""
    model.train()
    total, count = 0.0, 0
    if progress:
        from tqdm.auto import tqdm
        batches = tqdm(batches, desc="train", leave=False)
    for X, y in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(X)
        count += len(X)
    return total / max(count, 1)


def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn=None,
             batch_size: int = 2000) -> tuple[float, float]:
    """(mean loss, accuracy) of ``model`` on all of X, y, in eval mode without building a graph."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            logits = model(X[start:start + batch_size])
            target = y[start:start + batch_size]
            total_loss += loss_fn(logits, target).item() * len(target)
            correct += (logits.argmax(dim=1) == target).sum().item()
    return total_loss / len(X), correct / len(X)


def save_checkpoint(path, model: nn.Module, optimizer, epoch: int, scheduler=None) -> Path:
    """Save ``{model, optimizer, epoch}`` state dicts (and the scheduler's, if given) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": int(epoch)}
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    torch.save(state, path)
    return path


def load_checkpoint(path, model: nn.Module | None = None, optimizer=None, scheduler=None) -> dict:
    """Read a checkpoint saved by ``save_checkpoint`` (``weights_only=True``) and load it into the
    objects given; returns the checkpoint dict. Raises ``CheckpointError`` with a fix when it cannot."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint file at {path}. Check the name, or save one first with "
                              f"save_checkpoint(path, model, optimizer, epoch).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError,
            UnicodeDecodeError, KeyError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint ({type(err).__name__}: {first_line[:120]}). "
            f"It may be truncated, another kind of file, or saved with pickled objects that "
            f"weights_only=True refuses. Save it again with save_checkpoint(...).") from None
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

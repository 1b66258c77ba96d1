"""Reference training and evaluation loops (taught in notebook 6)."""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

# Checkpoints moved to course_utils.checkpoints; re-exported until the notebooks import them from there.
from course_utils.checkpoints import CheckpointError, load_checkpoint, save_checkpoint  # noqa: F401


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

"""The train and test loops of notebook 8.

``train_loop`` and ``test_loop`` are the code notebook 8 teaches, cell for cell
(tests/test_models_training.py fails when the two differ); notebook 9 and the benchmarks import
them from here. Any iterable of ``(X, y)`` batches works: a ``DataLoader`` or ``data.TensorBatches``.
Checkpoints live in ``course_utils.checkpoints``.
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm


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

"""The loss as a function of one or two numbers of a model, for the step-through views.

Both functions set the numbers in place under ``torch.no_grad()``, evaluate ``loss_fn(model(X), y)``
on a grid, and always put the original values back. A model that cannot be evaluated this way (it
fails, or returns no single number) gets ``None``: the caller simply draws no landscape.
"""
from __future__ import annotations

import math

import torch


def _finite_argmin(values) -> int:
    return min(range(len(values)), key=lambda i: values[i] if math.isfinite(values[i]) else math.inf)


def _evaluate(model, loss_fn, X, y) -> float:
    return float(loss_fn(model(X), y))


def loss_curve(model, loss_fn, X, y, w: torch.Tensor, num: int = 241):
    """``(grid, losses)``: the loss for values of the one-element tensor ``w`` around its current value,
    widened (up to twice, ×3 each time) until the minimum lies inside the grid."""
    start = w.detach().clone()
    w0 = start.item()
    span = max(3.0, 3 * abs(w0))
    try:
        with torch.no_grad():
            for _ in range(3):
                grid = torch.linspace(w0 - span, w0 + span, num)
                losses = []
                for v in grid:
                    w.copy_(v.reshape(w.shape))
                    losses.append(_evaluate(model, loss_fn, X, y))
                best = _finite_argmin(losses)
                if 0 < best < num - 1:
                    break
                span *= 3
    except Exception:  # any failure: no curve (forward() will explain the failure itself)
        return None
    finally:
        with torch.no_grad():
            w.copy_(start)
    return grid.tolist(), losses


def _lowest_point(model, loss_fn, X, y, numbers, start):
    """Where L-BFGS, started at ``start``, finds the loss lowest (the numbers are moved and left there)."""
    params = list({id(t): t for t, _ in numbers}.values())
    grads = [p.grad for p in params]
    search = torch.optim.LBFGS(params, lr=1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        search.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        return loss

    try:
        with torch.enable_grad():
            search.step(closure)
        point = [float(t.detach().reshape(-1)[i]) for t, i in numbers]
    finally:
        for p, g in zip(params, grads):
            p.grad = g
    far = 1e3 * max(1.0, *(abs(v) for v in start))
    return point if all(math.isfinite(v) and abs(v) < far for v in point) else None


def loss_surface(model, loss_fn, X, y, numbers, num: int = 41):
    """``(grid1, grid2, Z, lowest)`` with ``Z[j][i]`` the loss at (grid1[i], grid2[j]), and ``lowest``
    the (number1, number2) where L-BFGS found the loss lowest, or None.

    ``numbers`` are two ``(tensor, flat index)`` pairs naming the two numbers to vary. The square
    grid (equal scales, so a stretched bowl looks stretched) covers the start and the lowest point
    that L-BFGS finds from there; without one, a square of half-width 3 around the start."""
    starts = [t.detach().clone() for t, _ in numbers]
    origin = [float(t.detach().reshape(-1)[i]) for t, i in numbers]
    try:
        lowest = _lowest_point(model, loss_fn, X, y, numbers, origin)
        best = lowest or origin
        with torch.no_grad():
            for (t, _), s in zip(numbers, starts):
                t.copy_(s)
            center = [(o + b) / 2 for o, b in zip(origin, best)]
            half = max(abs(o - b) for o, b in zip(origin, best)) / 2
            span = 1.5 * half + 1.0 if half > 0 else 3.0
            grids = [torch.linspace(c - span, c + span, num).tolist() for c in center]
            Z = []
            for b in grids[1]:
                row = []
                for a in grids[0]:
                    for (t, i), v in zip(numbers, (a, b)):
                        t.view(-1)[i] = v
                    row.append(_evaluate(model, loss_fn, X, y))
                Z.append(row)
            return grids[0], grids[1], Z, lowest
    except Exception:
        return None
    finally:
        with torch.no_grad():
            for (t, _), s in zip(numbers, starts):
                t.copy_(s)

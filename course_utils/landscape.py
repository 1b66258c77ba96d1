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


def loss_surface(model, loss_fn, X, y, numbers, num: int = 41):
    """``(grid1, grid2, Z)`` with ``Z[j][i]`` the loss at (grid1[i], grid2[j]).

    ``numbers`` are two ``(tensor, flat index)`` pairs naming the two numbers to vary. The square
    grid is centred between the start and the best point of a coarse first pass, and is widened
    until that best point lies inside it."""
    starts = [t.detach().clone() for t, _ in numbers]
    origin = [float(t.detach().reshape(-1)[i]) for t, i in numbers]

    def set_to(a, b):
        for (t, i), v in zip(numbers, (a, b)):
            t.view(-1)[i] = v

    def grid_at(center, span, n):
        g1 = torch.linspace(center[0] - span, center[0] + span, n).tolist()
        g2 = torch.linspace(center[1] - span, center[1] + span, n).tolist()
        Z = []
        for b in g2:
            row = []
            for a in g1:
                set_to(a, b)
                row.append(_evaluate(model, loss_fn, X, y))
            Z.append(row)
        return g1, g2, Z

    span = max(3.0, 3 * max(abs(v) for v in origin))
    try:
        with torch.no_grad():
            center = origin
            for _ in range(3):
                g1, g2, Z = grid_at(center, span, 21)  # coarse: where is the minimum?
                flat = [v for row in Z for v in row]
                best = _finite_argmin(flat)
                j, i = divmod(best, 21)
                if 0 < i < 20 and 0 < j < 20:
                    break
                span *= 3
            best_point = (g1[i], g2[j])
            center = [(o + b) / 2 for o, b in zip(origin, best_point)]
            half = max(abs(o - b) for o, b in zip(origin, best_point)) / 2
            span = max(1.4 * half + 0.5, 1.0)
            return grid_at(center, span, num)
    except Exception:
        return None
    finally:
        with torch.no_grad():
            for (t, _), s in zip(numbers, starts):
                t.copy_(s)

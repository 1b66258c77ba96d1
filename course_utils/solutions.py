"""Reference solutions of the course's exercises, kept out of sight until a learner asks.

``reveal_solution("quadratic")`` prints one; ``solution("quadratic")`` returns the function, so a
notebook can carry on with the reference while the learner's version is not done yet. Each function
here is written exactly as a learner would write it in the exercise cell (same name, same arguments).
"""
from __future__ import annotations

import inspect

import torch


def train_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs):
    """Fit y ≈ w1·x² + w2·x + b by per-sample SGD; return [(w1, w2, b) after each epoch] as floats."""
    w1 = torch.tensor(w1, requires_grad=True)
    w2 = torch.tensor(w2, requires_grad=True)
    b = torch.tensor(b, requires_grad=True)
    history = []
    for epoch in range(num_epochs):
        for x_i, y_i in zip(x, y):
            y_hat = w1 * x_i**2 + w2 * x_i + b
            loss = (y_hat - y_i) ** 2
            loss.backward()
            with torch.no_grad():  # the update itself must not be recorded
                w1 -= lr_w1 * w1.grad
                w2 -= lr_w2 * w2.grad
                b -= lr_b * b.grad
            for p in (w1, w2, b):
                p.grad.zero_()  # gradients accumulate: clear them before the next backward
        history.append((w1.item(), w2.item(), b.item()))
    return history


def tanh_grad(x, w):
    """dL/dw for L = tanh(x @ w).mean(), x of shape (N, D), w of shape (D,), without autograd."""
    t = torch.tanh(x @ w)                 # (N,)
    dL_dt = torch.ones_like(t) / len(t)   # the mean spreads 1/N to every sample
    dt_du = 1 - t**2                      # tanh'(u) = 1 − tanh(u)²
    return x.T @ (dL_dt * dt_du)          # du/dw = x: (D, N) @ (N,) → (D,)


def mse(y_hat, y):
    """Mean squared error, like ``nn.MSELoss()``: a 0-dim tensor."""
    return ((y_hat - y) ** 2).mean()


def cross_entropy(logits, targets):
    """Cross-entropy from raw logits (N, C) and integer targets (N,), like ``nn.CrossEntropyLoss()``."""
    shifted = logits - logits.max(dim=1, keepdim=True).values     # exp(large) would overflow
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()  # log-softmax, (N, C)
    picked = log_probs[torch.arange(len(targets)), targets]        # log p(true class), (N,)
    return -picked.mean()


SOLUTIONS = {
    "quadratic": train_quadratic,
    "tanh_grad": tanh_grad,
    "mse": mse,
    "cross_entropy": cross_entropy,
}


def solution(name: str):
    """The reference function of exercise ``name`` (see ``SOLUTIONS`` for the names)."""
    if name not in SOLUTIONS:
        raise KeyError(f"No exercise called {name!r}. Known exercises: {', '.join(SOLUTIONS)}.")
    return SOLUTIONS[name]


def solution_source(name: str) -> str:
    """The source code of the reference solution of exercise ``name``."""
    return inspect.getsource(solution(name))


def reveal_solution(name: str) -> None:
    """Print the reference solution of exercise ``name``: try on your own first!"""
    print(solution_source(name))

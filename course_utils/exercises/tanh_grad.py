"""Notebook 3's exercise: ``tanh_grad(x, w)``, dL/dw of L = tanh(x @ w).mean(), by the chain rule
(without autograd)."""
from __future__ import annotations

import torch

from course_utils.exercises.trial import Trial, checker
from course_utils.exercises.verdict import (PASS, CheckResult, close, first_difference, fmt, hint,
                                            index_text, kind_of, match)


def tanh_grad(x, w):
    """dL/dw for L = tanh(x @ w).mean(), x of shape (N, D), w of shape (D,), without autograd."""
    t = torch.tanh(x @ w)                 # (N,)
    dL_dt = torch.ones_like(t) / len(t)   # the mean spreads 1/N to every sample
    dt_du = 1 - t**2                      # tanh'(u) = 1 − tanh(u)²
    return x.T @ (dL_dt * dt_du)          # du/dw = x: (D, N) @ (N,) → (D,)


SOLUTION = tanh_grad
SHAPES = [(5, 3), (1, 4), (4, 4), (3, 1), (2, 6)]  # (N, D): N = 1, N = D, D = 1, N < D
AUTOGRAD = ("backward", "autograd", "requires_grad", "requires_grad_", "func", "jacrev", "vjp", "jacobian")
ADVICE = {"shape_mismatch": "shapes don't match: x is (N, D), w is (D,), and dL/dw must be (D,). "
                            "Print the .shape of each factor; `x.T @ v` turns an (N,) vector v into (D,)."}


def cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(3)
    return [(torch.randn(n, d, generator=g), torch.randn(d, generator=g)) for n, d in SHAPES]


def autograd_reference(x, w):
    w = w.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.tanh(x @ w).mean(), w)
    return grad


def mistakes(x, w):
    """(value of a typical wrong answer, hint) pairs for one case."""
    n, d = x.shape
    u = x @ w
    t = torch.tanh(u)
    s = torch.sigmoid(u)
    found = [
        (x.T @ torch.ones(n) / n, "the factor tanh'(u) is missing: d tanh(u)/du = 1 − tanh(u)², multiply by it."),
        (x.T @ (1 - u**2) / n, "tanh'(u) is 1 − tanh(u)², evaluated at t = tanh(u), not 1 − u²."),
        (x.T @ (1 - t) / n, "tanh'(u) = 1 − tanh(u)²: the square is missing."),
        (x.T @ t**2 / n, "tanh'(u) is 1 − tanh(u)², not tanh(u)²."),
        (x.T @ (1 - t**2), "L is a mean: divide by N (the number of samples, `len(x)`)."),
        (x.T @ (1 - t**2) / d, f"you divided by D = {d}, the number of weights: L averages over the "
                               f"N = {n} samples, so divide by N = `x.shape[0]`."),
        (x.T @ (1 - t**2) / n**2, "you divided by N twice: the mean contributes 1/N once."),
        (-(x.T @ (1 - t**2)) / n, "sign error: tanh'(u) = 1 − tanh(u)², which is positive."),
        (x.T @ (s * (1 - s)) / n, "that is the sigmoid's derivative, σ(u)(1 − σ(u)); tanh's is 1 − tanh(u)²."),
    ]
    if n == d:  # square x: x @ (...) runs too
        found.append((x @ ((1 - t**2) / n), "you multiplied by x instead of its transpose: dL/dw = "
                                            "xᵀ @ (...), one sum over the samples per weight."))
    return found


def as_gradient(value, n: int, d: int) -> torch.Tensor:
    """The learner's answer if it is a tensor of shape (D,); otherwise a hint about what it is."""
    if not isinstance(value, torch.Tensor):
        hint(f"return dL/dw as a tensor of shape (D,); your function returned {kind_of(value)}.")
    shape = tuple(value.shape)
    if shape == (n, d) and n != d:
        hint(f"your gradient has shape {shape}, one row per sample (or dL/dx, which has x's shape). "
             f"dL/dw has one number per weight: sum the per-sample terms with `x.T @ (...)` and divide "
             f"by N, giving shape ({d},).")
    if shape in ((d, 1), (1, d)) and d > 1:
        hint(f"your gradient has shape {shape}; w has shape ({d},), and so must dL/dw. Use a 1-D vector "
             f"`(...)` of shape (N,) in `x.T @ (...)`, or `.reshape(-1)`.")
    if shape != (d,):
        hint(f"dL/dw needs one number per weight, shape ({d},) for x of shape ({n}, {d}); yours has shape "
             f"{shape}. The last chain-rule factor is du/dw = x: combine it with `x.T @ (...)`.")
    return value.detach()


@checker(advice=ADVICE)
def check_tanh_grad(tanh_grad: Trial) -> CheckResult:
    """Check a learner's ``tanh_grad(x, w)`` against autograd, on inputs of several shapes."""
    worst = 0.0
    for x, w in cases():
        n, d = x.shape
        mine = as_gradient(tanh_grad.call(x.clone(), w.clone()), n, d)
        ref = autograd_reference(x, w)
        if not close(mine, ref):
            found = match(mine, mistakes(x, w))
            i = first_difference(mine, ref)
            hint((found or f"element {index_text(i)} of your dL/dw is {fmt(mine[i].item())}, autograd "
                           f"says {fmt(ref[i].item())}. Write the chain: dL/dt = 1/N, dt/du = 1 − t², "
                           f"du/dw = x.") + f" (Seen with x of shape ({n}, {d}).)" + tanh_grad.reads_notebook())
        worst = max(worst, (mine.double() - ref.double()).abs().max().item())
    notes = tanh_grad.by_hand_note(AUTOGRAD, "the chain rule by hand, without autograd: dL/dt = 1/N, "
                                             "dt/du = 1 − tanh(u)², du/dw = x, combined as "
                                             "`x.T @ ((1 - t**2) / N)`. Try writing it that way.")
    return CheckResult(PASS, f"your gradient matches autograd on {len(SHAPES)} random inputs, shapes "
                             f"(N, D) = {', '.join(str(s) for s in SHAPES)} (max abs difference "
                             f"{worst:.1e}).", notes)


CHECK = check_tanh_grad

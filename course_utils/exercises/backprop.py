"""Notebook 3's exercise: ``backprop(x, y, W1, b1, W2, b2)``, the backward pass of a two-layer network
with a sigmoid between the layers, written by hand (without autograd)."""
from __future__ import annotations

import torch

from course_utils.exercises.trial import Trial, checker
from course_utils.exercises.verdict import (PASS, CheckResult, close, first_difference, fmt, hint,
                                            index_text, kind_of, match)


def backprop(x, y, W1, b1, W2, b2):
    """(dL/dW1, dL/db1, dL/dW2, dL/db2) for h = sigmoid(W1 @ x + b1), y_hat = W2 @ h + b2,
    L = ((y_hat - y) ** 2).sum(), computed by hand (without autograd)."""
    u1 = W1 @ x + b1  # forward, keeping what the backward pass needs
    h = torch.sigmoid(u1)
    y_hat = W2 @ h + b2
    dL_dy_hat = 2 * (y_hat - y)  # L = sum((y_hat - y)²)
    dL_dW2 = torch.outer(dL_dy_hat, h)  # y_hat = W2 @ h + b2: (O,) outer (H,) -> (O, H)
    dL_db2 = dL_dy_hat
    dL_dh = W2.T @ dL_dy_hat  # (H, O) @ (O,) -> (H,)
    dL_du1 = dL_dh * h * (1 - h)  # h = sigmoid(u1): sigmoid'(u1) = h (1 - h)
    dL_dW1 = torch.outer(dL_du1, x)  # u1 = W1 @ x + b1: (H,) outer (D,) -> (H, D)
    dL_db1 = dL_du1
    return dL_dW1, dL_db1, dL_dW2, dL_db2


SOLUTION = backprop
NAMES = ("dL/dW1", "dL/db1", "dL/dW2", "dL/db2")
SHAPES = [(3, 4, 3), (1, 1, 1), (2, 2, 2), (4, 3, 1), (2, 5, 3), (3, 2, 2), (3, 3, 1)]  # (D, H, O)
AUTOGRAD = ("backward", "autograd", "requires_grad", "requires_grad_", "func", "jacrev", "vjp", "jacobian")
ADVICE = {"shape_mismatch": "shapes don't match. x is (D,), W1 (H, D), W2 (O, H): going back through "
                            "`W2 @ h` multiplies by the transpose, `W2.T @ dL_dy_hat` (shape (H,)), and a "
                            "weight's gradient is an outer product, `torch.outer(dL_du1, x)` (W1's shape)."}


def cases() -> list[tuple[torch.Tensor, ...]]:
    """(x, y, W1, b1, W2, b2) for each (D, H, O) in SHAPES, from a fixed seed."""
    g = torch.Generator().manual_seed(5)
    return [tuple(torch.randn(shape, generator=g) for shape in [(d,), (o,), (h, d), (h,), (o, h), (o,)])
            for d, h, o in SHAPES]


def describe(case) -> str:
    x, y, W1, _, W2, _ = case
    return f"D = {len(x)} inputs, H = {len(W1)} hidden units, O = {len(y)} outputs"


def backward_pass(x, y, W1, b1, W2, b2, *, act=torch.sigmoid, slope=None, forward_act=True, scale=2.0,
                  mean=False, W2_back=None, dW1_input=None):
    """The four gradients of a variant of the network; the switches reproduce mistakes. ``slope(u1, h)``
    is the activation's derivative used going back (default: sigmoid's, h (1 - h))."""
    u1 = W1 @ x + b1
    h = act(u1) if forward_act else u1
    g = scale * (W2 @ h + b2 - y) / (len(y) if mean else 1)
    dh = (W2 if W2_back is None else W2_back).T @ g
    du1 = dh * (slope(u1, h) if slope else h * (1 - h) if forward_act else 1)
    return (torch.outer(du1, x if dW1_input is None else dW1_input), du1, torch.outer(g, h), g)


def mistakes(x, y, W1, b1, W2, b2) -> list[tuple[tuple, str]]:
    """(the four gradients of a typical wrong answer, hint), most telling first."""
    args = (x, y, W1, b1, W2, b2)
    u1 = W1 @ x + b1
    found = [
        (backward_pass(*args, slope=lambda u, h: 1), "the sigmoid node is missing from your backward pass: "
         "dL/du1 = dL/dh * σ'(u1), with σ'(u1) = h * (1 - h)."),
        (backward_pass(*args, forward_act=False), "your network has no sigmoid: the forward pass is "
         "h = sigmoid(W1 @ x + b1), and going back dL/du1 = dL/dh * h * (1 - h)."),
        (backward_pass(*args, slope=lambda u, h: u * (1 - u)), "σ'(u1) = σ(u1)(1 − σ(u1)) = h * (1 - h) uses "
         "the sigmoid's output h, not u1 * (1 - u1)."),
        (backward_pass(*args, slope=lambda u, h: 1 - h**2), "1 − h² is tanh's derivative; the sigmoid's is "
         "h * (1 - h)."),
        (backward_pass(*args, slope=lambda u, h: h), "σ'(u1) = h * (1 - h): the factor (1 - h) is missing."),
        (backward_pass(*args, scale=1.0), "your gradients are half the right ones: L = Σ(ŷ − y)², so "
         "dL/dŷ = 2 * (y_hat - y)."),
        (backward_pass(*args, scale=-2.0), "sign error: dL/dŷ = 2 * (y_hat - y), not 2 * (y - y_hat)."),
        (backward_pass(*args, mean=True), "you divided by the number of outputs O: L is the sum of the "
         "squared errors, not their mean."),
        (backward_pass(*args, dW1_input=torch.sigmoid(u1)), "u1 = W1 @ x + b1, so dL/dW1 = "
         "torch.outer(dL_du1, x), with the input x."),
    ]
    if W2.shape[0] == W2.shape[1]:  # square W2: W2 @ (...) runs too
        found.append((backward_pass(*args, W2_back=W2.T), "going back through `W2 @ h` multiplies by the "
                      "transpose: dL/dh = W2.T @ dL_dy_hat."))
    dW1, db1, dW2, db2 = backward_pass(*args)
    h = torch.sigmoid(u1)
    found += [
        ((dW1, db1, torch.outer(db2, u1), db2), "y_hat = W2 @ h + b2 with h = sigmoid(u1): dL/dW2 = "
         "torch.outer(dL_dy_hat, h), with the sigmoid's output h, not u1."),
        ((dW1, db1, torch.outer(h, db2), db2), "dL/dW2 is transposed: torch.outer(dL_dy_hat, h) has "
         "W2's shape (O, H), one row per output."),
        ((torch.outer(x, db1), db1, dW2, db2), "dL/dW1 is transposed: torch.outer(dL_du1, x) has W1's "
         "shape (H, D), one row per hidden unit."),
    ]
    return found


def as_gradients(value, case, reads: str = "") -> list[torch.Tensor]:
    """The learner's four gradients if they have the parameters' shapes; otherwise a hint (``reads``
    appended: which notebook variables the function reads)."""
    x, y, W1, b1, W2, b2 = case
    shapes = [tuple(p.shape) for p in (W1, b1, W2, b2)]
    if isinstance(value, dict):
        hint(f"return a tuple of four tensors in this order, `(dL_dW1, dL_db1, dL_dW2, dL_db2)`, not "
             f"{kind_of(value)}.")
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        what = f"{len(value)} values" if isinstance(value, (tuple, list)) else kind_of(value)
        hint(f"return the four gradients as a tuple `(dL_dW1, dL_db1, dL_dW2, dL_db2)`; yours returned {what}.")
    for name, v, shape in zip(NAMES, value, shapes):
        if not isinstance(v, torch.Tensor):
            hint(f"{name} should be a tensor of shape {shape}; yours is {kind_of(v)}. Stay with tensor "
                 f"operations and return the tensors themselves.")
    got = [tuple(v.shape) for v in value]
    if got != shapes and sorted(got) == sorted(shapes):
        hint(f"your gradients have shapes {got}: return them in the order (dL/dW1, dL/db1, dL/dW2, dL/db2), "
             f"shapes {shapes}.")
    for name, v, shape in zip(NAMES, value, shapes):
        if tuple(v.shape) != shape:
            flipped = tuple(v.shape) == shape[::-1] and len(shape) == 2
            from_h = name == "dL/dW1" and tuple(v.shape) == (len(W1), len(W1))
            hint(f"{name} has shape {tuple(v.shape)}, but a gradient has its parameter's shape, {shape} "
                 f"(with {describe(case)})."
                 + (" Yours is transposed: `torch.outer(gradient at the output, input)` puts the output "
                    "first." if flipped else "")
                 + (" u1 = W1 @ x + b1, so dL/dW1 = torch.outer(dL_du1, x), with the input x." if from_h else "")
                 + reads)
    return [v.detach() for v in value]


@checker(advice=ADVICE)
def check_backprop(backprop: Trial) -> CheckResult:
    """Check a learner's ``backprop(x, y, W1, b1, W2, b2)`` against autograd on networks of several sizes."""
    worst = 0.0
    for case in cases():
        mine = as_gradients(backprop.call(*[t.clone() for t in case]), case, backprop.reads_notebook())
        params = [p.clone().requires_grad_(True) for p in case[2:]]
        x, y = case[:2]
        loss = ((params[2] @ torch.sigmoid(params[0] @ x + params[1]) + params[3] - y) ** 2).sum()
        reference = torch.autograd.grad(loss, params)
        for n, k in enumerate((3, 2, 1, 0)):  # in the order the backward pass computes them
            name, got, ref = NAMES[k], mine[k], reference[k]
            if not close(got, ref):
                found = match(got, [(wrong[k], text) for wrong, text in mistakes(*case)])
                i = first_difference(got, ref)
                right = [NAMES[j] for j in (3, 2, 1, 0)[:n]]
                listed = ", ".join(right[:-1]) + " and " * (n > 1) + (right[-1] if right else "")
                hint((f"{listed} {'is' if n == 1 else 'are'} right, but " if right else "")
                     + f"{name} is wrong: "
                     + (found or f"element {index_text(i)} is {fmt(got[i].item())}, autograd says "
                                 f"{fmt(ref[i].item())}. Go back node by node: dL/dŷ = 2(ŷ − y), "
                                 f"dL/dW2 = outer(dL/dŷ, h), dL/dh = W2ᵀ dL/dŷ, dL/du1 = dL/dh · h(1 − h), "
                                 f"dL/dW1 = outer(dL/du1, x).")
                     + f" (Seen with {describe(case)}.)" + backprop.reads_notebook())
            worst = max(worst, (got.double() - ref.double()).abs().max().item())
    notes = backprop.by_hand_note(AUTOGRAD, "the backward pass by hand, node by node, as in the cell above "
                                            "with one more node for the sigmoid. Try writing it that way.")
    return CheckResult(PASS, f"all four gradients match autograd on {len(SHAPES)} networks, (D, H, O) = "
                             f"{', '.join(str(s) for s in SHAPES)} (max abs difference {worst:.1e}).", notes)


CHECK = check_backprop

"""Notebook 1's exercise: ``train_linear``, the update loop for one weight: per-sample gradient
descent on y ≈ x·w, written with autograd."""
from __future__ import annotations

import functools
from typing import NamedTuple

import torch

from course_utils.exercises.history_checks import (autograd_note, check_floats, check_history_shape, compare_runs,
                                                    rounded_uniform)
from course_utils.exercises.trial import Trial, checker
from course_utils.exercises.verdict import PASS, CheckResult, hint

X = (1.0, 2.0, 3.0, 4.0)  # the notebook's data: four points on y = 2x
Y = (2.0, 4.0, 6.0, 8.0)
W_START, LR, NUM_EPOCHS = 1.0, 0.01, 100


def train_linear(x_data, y_data, w_start, lr, num_epochs):
    """Per-sample gradient descent on y ≈ x·w from w = w_start; return [w after each epoch] as floats."""
    w = torch.tensor(w_start, requires_grad=True)
    history = []
    for epoch in range(num_epochs):
        for x, y in zip(x_data, y_data):
            loss = (x * w - y) ** 2  # forward: the squared error of this sample
            loss.backward()  # w.grad = d(loss)/dw = 2x(xw - y)
            with torch.no_grad():  # the update itself must not be recorded
                w -= lr * w.grad
            w.grad.zero_()  # forget this sample's gradient before the next backward
        history.append(w.item())
    return history


SOLUTION = train_linear
NEW_TENSOR = "`w = w - lr * w.grad` makes a new tensor: update in place, `w -= lr * w.grad`"
ADVICE = {
    "leaf_inplace": "update w inside `with torch.no_grad():`, so that the update itself is not recorded.",
    "graph_freed": "compute the loss again for every sample, inside the loop: backward() can use a graph "
                   "only once.",
    "no_grad_fn": "the loss must be computed from the w created with `requires_grad=True` (as in the "
                  f"stub), outside torch.no_grad(). Under no_grad, {NEW_TENSOR}.",
    "not_scalar": "backward() needs one number: the loss of one sample (x, y) at a time.",
    "none_attribute": "w.grad is None: no backward() has filled it. Either none has run yet (zero w.grad "
                      "after the update, not before the first backward), or the loss does not come from "
                      "this w (the notebook's `loss(x, y)` and `forward(x)` use the notebook's own w: "
                      "write `(x * w - y) ** 2` here; `.item()` and `torch.tensor(...)` cut the link), or "
                      f"{NEW_TENSOR}.",
    "non_leaf_grad": f"w is no longer the leaf you created, so its .grad stays None: {NEW_TENSOR}.",
}
ADVICE["bad_operand"] = ADVICE["none_attribute"]


class Case(NamedTuple):
    x: tuple
    y: tuple
    w_start: float
    lr: float
    num_epochs: int

    def args(self):
        """Fresh arguments for one call: lists of floats, like the notebook's x_data and y_data."""
        return list(self.x), list(self.y), self.w_start, self.lr, self.num_epochs

    def text(self) -> str:
        named = {"x_data": list(self.x), "y_data": list(self.y), "w_start": self.w_start, "lr": self.lr,
                 "num_epochs": self.num_epochs}
        return ", ".join(f"{name} = {value}" for name, value in named.items())


def cases() -> list[Case]:
    """Short random runs: 5, 1, 3 and 2 samples; start, learning rate and epochs differ in each."""
    draw = rounded_uniform(1)

    def case(n: int, num_epochs: int) -> Case:
        x = tuple(draw(0.5, 2, 1) * (-1) ** i for i in range(n))  # |x| ≤ 2: stable for lr ≤ 0.1
        y = tuple(draw(-3, 3, 1) for _ in range(n))
        return Case(x, y, draw(-1, 0.9, 2), draw(0.02, 0.1, 3), num_epochs)

    return [case(n, num_epochs) for n, num_epochs in [(5, 3), (1, 4), (3, 2), (2, 5)]]


@functools.lru_cache(maxsize=None)
def reference_history(case: Case) -> torch.Tensor:
    return torch.tensor(SOLUTION(*case.args()), dtype=torch.float64)


def simulate(x, y, w_start, lr, num_epochs, *, zero=True, per_sample=True, mean=False, scale=2.0,
             grad_of=None, restart=False):
    """The loop with hand-written float32 gradients; the switches reproduce mistakes. ``grad_of(x, y, w)``
    replaces the gradient 2x(xw − y) of one sample (times ``scale``/2)."""
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    grad_of = grad_of or (lambda xb, yb, w: (scale * xb * (xb * w - yb)).sum())
    w, grad, history = torch.tensor(float(w_start)), torch.tensor(0.0), []
    for _ in range(num_epochs):
        if restart:
            w, grad = torch.tensor(float(w_start)), torch.tensor(0.0)
        for xb, yb in ([(x[i:i + 1], y[i:i + 1]) for i in range(len(x))] if per_sample else [(x, y)]):
            g = grad_of(xb, yb, w) / (len(xb) if mean else 1)
            grad = grad + g if not zero else g
            w = w - lr * grad
        history.append(w.item())
    return history


def mistakes(case: Case):
    """(history of a typical wrong answer, hint) pairs, most telling first."""
    def sim(x=case.x, y=case.y, w_start=case.w_start, lr=case.lr, epochs=case.num_epochs, **switches):
        return torch.tensor(simulate(x, y, w_start, lr, epochs, **switches))

    update = "`w -= lr * w.grad` under torch.no_grad()"
    yield sim(zero=False), ("your gradient accumulates from one backward() to the next: zero it after "
                            "every update, `w.grad.zero_()`.")
    yield sim(lr=-case.lr), f"w moves up the gradient (sign error): step against it, {update}."
    yield sim(lr=0.0), ("w never changes. Is w.grad zeroed before the update uses it? The order is "
                        f"backward(), then {update}, then `w.grad.zero_()`.")
    per_sample = "This exercise updates w once per sample, inside the loop over (x, y)."
    yield sim(per_sample=False), f"you update once per epoch with the summed gradient. {per_sample}"
    yield sim(per_sample=False, mean=True), f"you update once per epoch with the mean gradient. {per_sample}"
    yield (sim(grad_of=lambda xb, yb, w: 2 * (xb[-1:] * w - yb[-1:]).sum() * xb[-1], per_sample=False),
           f"only the last sample of each epoch updates w: the forward pass, backward() and the update "
           f"belong inside the loop over (x, y). {per_sample}")
    yield sim(scale=1.0), ("your steps are half as large: the loss is the squared error `(x * w - y) ** 2` "
                           "(no ½), and its gradient is 2x(xw − y).")
    yield sim(grad_of=lambda xb, yb, w: 2 * (xb * w - yb).sum()), (
        "your gradient lacks the factor x: d(loss)/dw = 2(xw − y)·x, the inner derivative du/dw = x "
        "comes from the chain rule.")
    yield sim(grad_of=lambda xb, yb, w: xb.sum()), (
        "your loss is the error x·w − y itself, not its square: use `(x * w - y) ** 2`.")
    yield sim(grad_of=lambda xb, yb, w: (xb * torch.sign(xb * w - yb)).sum()), (
        "your loss is the absolute error: use the squared error `(x * w - y) ** 2`.")
    yield sim(grad_of=lambda xb, yb, w: ((xb * w - yb) ** 2).sum()), (
        "you stepped by the loss, not by its gradient: `w -= lr * w.grad` after loss.backward().")
    yield sim(lr=1.0), "there is no learning rate in your update: `w -= lr * w.grad`."
    yield sim(restart=True), ("w starts again from w_start in every epoch: create w once, before the loop "
                              "over the epochs (the stub does).")
    yield (torch.tensor([case.w_start] + simulate(*case[:4], case.num_epochs - 1)),
           "your history starts with w_start: append w after each epoch's loop over the samples.")
    reads = "your function uses the notebook's {} instead of its argument {}: it must work with whatever it is given."
    yield sim(w_start=W_START), reads.format("start value 1.0", "w_start")
    yield sim(lr=LR), reads.format("learning rate 0.01", "lr")
    yield sim(x=X, y=Y), reads.format("data", "x_data, y_data")


def as_history(value, num_epochs: int, num_samples: int) -> torch.Tensor:
    """The learner's history as a float64 tensor, or a hint about what is wrong with it."""
    if isinstance(value, float):
        hint("return the whole history, a list with w after each epoch, not only the final w.")
    check_history_shape(value, num_epochs, num_samples, "w", "`w.item()`")
    check_floats(value, "`w.item()`")
    return torch.tensor(value, dtype=torch.float64)


@checker(advice=ADVICE)
def check_linear(train_linear: Trial) -> CheckResult:
    """Check a learner's ``train_linear(x_data, y_data, w_start, lr, num_epochs)``."""
    runs = cases() + [Case(X, Y, W_START, LR, NUM_EPOCHS)]  # random short runs, then the notebook's
    mine = compare_runs(train_linear, runs, as_history, reference_history, mistakes, "w",
                        "Check the loss `(x * w - y) ** 2`, backward(), the update `w -= lr * w.grad`, and "
                        "`w.grad.zero_()`, once per sample.")
    notes = autograd_note(train_linear, "w.grad")
    notes += train_linear.by_hand_note(("optim", "SGD"), "the update written out, `w -= lr * w.grad` under "
                                                         "torch.no_grad(), which is what `opt.step()` does.")
    return CheckResult(PASS, f"right on {len(runs) - 1} random short runs (1 to 5 samples, other start values "
                             f"and learning rates), and on the notebook's data w goes from {W_START} to "
                             f"{mine[-1].item():.7f} in {NUM_EPOCHS} epochs.", notes)


CHECK = check_linear

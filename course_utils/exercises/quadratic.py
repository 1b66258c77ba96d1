"""Notebook 2's exercise: ``train_quadratic``, per-sample SGD on y ≈ w1·x² + w2·x + b with one
learning rate per parameter; also what the learning-rate explorer and the fit figure compute."""
from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple

import torch

from course_utils import plots
from course_utils.exercises.history_checks import (autograd_note, check_floats, check_history_shape, compare_runs,
                                                    rounded_uniform)
from course_utils.exercises.trial import Trial, checker
from course_utils.exercises.verdict import PASS, CheckResult, hint

X = (1.0, 2.0, 3.0, 4.0)  # the notebook's data: four points on y = 2x
Y = (2.0, 4.0, 6.0, 8.0)
START = (0.05, 1.5, 0.05)  # w1, w2, b
LRS = (0.001, 0.05, 0.001)  # lr_w1, lr_w2, lr_b
NUM_EPOCHS = 200
PARAMS = ("w1", "w2", "b")


def predict(w1, w2, b, x):
    """The model y_hat = w1·x² + w2·x + b (the one place the package writes it)."""
    return w1 * x**2 + w2 * x + b


def train_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs):
    """Per-sample SGD on y ≈ w1·x² + w2·x + b; return [(w1, w2, b) after each epoch] as floats."""
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


SOLUTION = train_quadratic
ADVICE = {
    "leaf_inplace": "update the parameters inside `with torch.no_grad():`, so the update is not recorded.",
    "graph_freed": "compute y_hat and the loss again inside the loop, for every sample: backward() can "
                   "use a graph only once.",
    "no_grad_fn": "create w1, w2 and b with requires_grad=True, and don't compute the loss inside "
                  "torch.no_grad().",
    "not_scalar": "backward() needs one number: use one sample (x_i, y_i) at a time.",
    "none_attribute": "a .grad is None. `w1 = w1 - lr_w1 * w1.grad` makes a new tensor that has no .grad: "
                      "update in place under torch.no_grad(), `w1 -= lr_w1 * w1.grad`, after backward().",
    "non_leaf_grad": "`w1 = w1 - lr_w1 * w1.grad` makes a new, non-leaf tensor whose .grad stays None: "
                     "update in place under torch.no_grad(), `w1 -= lr_w1 * w1.grad`.",
}
ADVICE["bad_operand"] = ADVICE["none_attribute"]


class Case(NamedTuple):
    x: tuple
    y: tuple
    start: tuple
    lrs: tuple
    num_epochs: int

    def args(self):
        """Fresh arguments for one call: x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs."""
        return (torch.tensor(self.x), torch.tensor(self.y), *self.start, *self.lrs, self.num_epochs)

    def text(self) -> str:
        return (f"x = {list(self.x)}, y = {list(self.y)}, start (w1, w2, b) = {self.start}, lr_w1 = "
                f"{self.lrs[0]}, lr_w2 = {self.lrs[1]}, lr_b = {self.lrs[2]}, num_epochs = {self.num_epochs}")


def cases() -> list[Case]:
    """Short random runs: N = 5, 1, 3, 2 samples, a different learning rate for each parameter."""
    draw = rounded_uniform(2)
    out = []
    for n, num_epochs in [(5, 3), (1, 4), (3, 3), (2, 3)]:
        x = tuple(draw(-2, 2, 1) for _ in range(n))
        y = tuple(draw(-3, 3, 1) for _ in range(n))
        start = (draw(-0.5, 0.5, 2), draw(-1, 1, 2), draw(-0.5, 0.5, 2))
        lrs = (draw(0.002, 0.008, 4), draw(0.02, 0.06, 3), draw(0.1, 0.3, 2))  # stable for |x| ≤ 2
        out.append(Case(x, y, start, lrs, num_epochs))
    return out


@functools.lru_cache(maxsize=None)
def reference_history(case: Case) -> torch.Tensor:
    """The reference solution's history for ``case`` (computed once: the cases never change)."""
    return torch.tensor(SOLUTION(*case.args()), dtype=torch.float64)


def simulate(x, y, start, lrs, num_epochs, *, zero_grad=True, per_sample=True, scale=2.0, mean=False):
    """SGD with hand-written float32 gradients, [(w1, w2, b) after each epoch]. The switches
    reproduce mistakes; a learning rate of 0 freezes its parameter, a negative one climbs the loss."""
    x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    p, lr = torch.tensor(start, dtype=torch.float32), torch.tensor(lrs, dtype=torch.float32)
    grad, history = torch.zeros(3), []
    for _ in range(num_epochs):
        for xb, yb in ([(x[i:i + 1], y[i:i + 1]) for i in range(len(x))] if per_sample else [(x, y)]):
            err = scale * (predict(p[0], p[1], p[2], xb) - yb)
            g = torch.stack([(err * xb**2).sum(), (err * xb).sum(), err.sum()]) / (len(xb) if mean else 1)
            grad = grad + g if not zero_grad else g
            p = p - lr * grad
        history.append(tuple(p.tolist()))
    return history


def _lr_hint(chosen, own) -> str:
    """Hint for updates that used ``chosen`` learning rates instead of ``own``."""
    names = dict(zip(own, ("lr_w1", "lr_w2", "lr_b")))
    groups: dict[str, list[str]] = {}
    for param, lr, right in zip(PARAMS, chosen, own):
        if lr != right:
            groups.setdefault("zero" if lr == 0 else "sign" if lr == -right else names[lr], []).append(param)
    said = []
    for slip, params in groups.items():
        one = len(params) == 1
        who = params[0] if one else f"{', '.join(params[:-1])} and {params[-1]}"
        if slip == "zero":
            said.append(f"{who} never change{'s' * one}")
        elif slip == "sign":
            said.append(f"{who} move{'s' * one} up the gradient (sign error)")
        else:
            said.append(f"{who} {'is' if one else 'are'} updated with {slip}")
    return (f"{'; '.join(said)}. Each parameter steps against its own gradient with its own learning rate, "
            f"after backward() and before the gradients are zeroed: `w1 -= lr_w1 * w1.grad`, "
            f"`w2 -= lr_w2 * w2.grad`, `b -= lr_b * b.grad`.")


def mistakes(case: Case):
    """(history of a typical wrong answer, hint) pairs, most telling first."""
    def sim(x=case.x, y=case.y, start=case.start, lrs=case.lrs, epochs=case.num_epochs, **switches):
        return torch.tensor(simulate(x, y, start, lrs, epochs, **switches))

    yield sim(zero_grad=False), ("your gradients accumulate from one backward() to the next. Zero them after "
                                 "every update: `w1.grad.zero_()`, `w2.grad.zero_()`, `b.grad.zero_()`.")
    per_sample = ("This exercise is per-sample SGD: forward, backward and update inside the loop over "
                  "(x_i, y_i).")
    yield sim(per_sample=False), f"you update once per epoch with the summed loss. {per_sample}"
    yield sim(per_sample=False, mean=True), f"you update once per epoch with the mean loss. {per_sample}"
    yield sim(scale=1.0), "your loss looks like ½·(y_hat − y)². Use the squared error `(y_hat - y_i)**2`."
    yield (torch.tensor([case.start] + simulate(*case[:4], case.num_epochs - 1)),
           "your history starts with the start values: append (w1, w2, b) after each epoch's loop over "
           "the samples, not before it.")
    reads = ("your function uses the notebook's {} instead of its arguments{}: a function must work "
             "with whatever it is given.")
    yield sim(start=START), reads.format("start values", " w1, w2, b")
    yield sim(lrs=LRS), reads.format("learning rates", " lr_w1, lr_w2, lr_b")
    yield sim(x=X, y=Y), reads.format("data", " x, y")
    yield sim(x=X, y=Y, start=START, lrs=LRS), reads.format("data, start values and learning rates", "")
    options = [(*case.lrs, 0.0, -own) for own in case.lrs]  # per parameter: any of the three lrs, 0, −own
    for chosen in itertools.product(*options):
        if chosen != case.lrs:
            yield sim(lrs=chosen), _lr_hint(chosen, case.lrs)


def as_history(value, num_epochs: int, num_samples: int) -> torch.Tensor:
    """The learner's history as a (num_epochs, 3) tensor, or a hint about what is wrong with it."""
    append = "`(w1.item(), w2.item(), b.item())`"
    if not isinstance(value, (list, tuple)):
        check_history_shape(value, num_epochs, num_samples, "(w1, w2, b) tuple", append)
    if len(value) == 3 and all(isinstance(v, float) or isinstance(v, torch.Tensor) and v.dim() == 0
                               for v in value):
        hint("return the whole history, one (w1, w2, b) tuple per epoch, not only the final values.")
    check_history_shape(value, num_epochs, num_samples, "(w1, w2, b) tuple", append)
    for entry in value:
        if not isinstance(entry, (list, tuple)) or len(entry) != 3:
            hint(f"each history entry should be a tuple (w1, w2, b); yours are {type(entry).__name__}s"
                 + (f" of {len(entry)} values." if isinstance(entry, (list, tuple)) else "."))
        check_floats(entry, append)
    return torch.tensor(value, dtype=torch.float64)


@checker(advice=ADVICE)
def check_quadratic(train_quadratic: Trial) -> CheckResult:
    """Check a learner's ``train_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs)``."""
    notes = autograd_note(train_quadratic, "w1.grad, w2.grad and b.grad")  # said only if all is right
    runs = cases() + [Case(X, Y, START, LRS, NUM_EPOCHS)]  # random short runs, then the notebook's
    mine = compare_runs(train_quadratic, runs, as_history, reference_history, mistakes, "(w1, w2, b)",
                        "Check the model `w1 * x_i**2 + w2 * x_i + b`, the loss `(y_hat - y_i)**2`, and one "
                        "update per sample.", long_tol=(1e-3, 1e-4))
    w1, w2, b = mine[-1].tolist()
    return CheckResult(PASS, f"right on {len(runs) - 1} random short runs (1 to 5 samples, a different "
                             f"learning rate for each parameter), and with the notebook's data after "
                             f"{NUM_EPOCHS} epochs w1 = {w1:.4f}, w2 = {w2:.4f}, b = {b:.4f}: the "
                             f"prediction at x = 5 is {predict(w1, w2, b, 5.0):.4f} (the data says 10).", notes)


CHECK = check_quadratic


# ---------------------------------------------------------------- the explorer and the fit figure

def quadratic_losses(x, y, history) -> list[float]:
    """Mean squared error over the data for each (w1, w2, b) in ``history`` (inf once it overflows)."""
    h = torch.tensor(history, dtype=torch.float64).reshape(-1, 3)
    x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    losses = ((predict(h[:, :1], h[:, 1:2], h[:, 2:], x) - y) ** 2).mean(dim=1)
    return torch.nan_to_num(losses, nan=math.inf).tolist()


def quadratic_run(train, x, y, start=START, lrs=LRS, num_epochs: int = NUM_EPOCHS):
    """Train with ``train(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs)`` and return
    ``(history, losses)``: (w1, w2, b) and the mean squared error over the data after each epoch."""
    history = train(x, y, *start, *lrs, num_epochs)
    return history, quadratic_losses(x, y, history)


def explorer_figure(train, x, y, start=START, lrs=LRS, num_epochs: int = NUM_EPOCHS):
    """The explorer's figure for one choice of learning rates. A run counts as diverged when its
    final loss is above the loss before training."""
    history, losses = quadratic_run(train, x, y, start, lrs, num_epochs)
    start_loss = quadratic_losses(x, y, [start])[0]
    params = {name: [h[i] for h in history] for i, name in enumerate(PARAMS)}
    diverged = not (math.isfinite(losses[-1]) and losses[-1] <= start_loss)
    verdict = "diverged" if diverged else f"final loss {losses[-1]:.2e}"
    title = f"lr_w1={lrs[0]:.4g}, lr_w2={lrs[1]:.4g}, lr_b={lrs[2]:.4g}: {verdict}"
    return plots.plot_lr_run(losses, params, title=title, diverged=diverged)


def plot_quadratic_fit(x, y, fits, x_new: float | None = None, title: str = ""):
    """The data and one curve w1·x² + w2·x + b per entry of ``fits`` (label → (w1, w2, b));
    ``x_new`` marks each curve's prediction there."""
    curves = {label: (lambda grid, p=tuple(p): predict(*p, grid)) for label, p in fits.items()}
    return plots.plot_fit(x, y, curves, x_new=x_new, title=title)

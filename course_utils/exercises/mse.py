"""Notebook 4's exercise: ``mse(y_hat, y)``, the mean squared error, equal to ``nn.MSELoss()``."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from course_utils.exercises.loss_checks import check_loss_case
from course_utils.exercises.trial import Trial, checker
from course_utils.exercises.verdict import PASS, CheckResult


def mse(y_hat, y):
    """Mean squared error, like nn.MSELoss(): a 0-dim tensor."""
    return ((y_hat - y) ** 2).mean()


SOLUTION = mse
SHAPES = [(6,), (1,), (3, 4), (4, 4), (2, 3, 2)]  # 1-D, one element, rows ≠ columns, square, 3-D
BUILT_INS = ("mse_loss", "MSELoss")


def cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(4)
    return [(torch.randn(shape, generator=g), torch.randn(shape, generator=g)) for shape in SHAPES]


def mistakes(y_hat, y):
    """(value of a typical wrong answer, hint) pairs for one case."""
    d = y_hat - y
    n = d.numel()
    rows = len(d) if d.dim() else 1
    return [
        ((d**2).sum(), "you summed: the mean squared error divides by the number of elements. Use "
                       "`.mean()` (that is reduction='mean')."),
        (d.abs().mean(), "that is the L1 loss (mean absolute error): square the differences instead of "
                         "taking abs()."),
        (d.mean(), "the square is missing: errors of opposite signs cancel out. Use "
                   "`((y_hat - y)**2).mean()`."),
        ((d**2).mean().sqrt(), "that is the root of the MSE (RMSE): leave out the sqrt."),
        (-(d**2).mean(), "sign error: a squared error is never negative."),
        ((d**2).mean() / 2, "you halved it: nn.MSELoss() has no ½ in front, just the mean of the squares."),
        ((d**2).sum() / rows, f"you divided by the number of rows (len = {rows}), but the mean runs over "
                              f"all {n} elements: divide by `y.numel()`, or use `.mean()`."),
        ((d**2).sum() / max(n - 1, 1) if n > 1 else torch.tensor(float("inf")),
         "you divided by n − 1: that is for an unbiased variance. The MSE divides by n, the number of "
         "elements: use `.mean()`."),
        ((d**2).mean() - d.mean() ** 2, "that is the variance of the errors: the MSE is simply the mean "
                                        "of the squared errors, `((y_hat - y)**2).mean()`."),
        ((d**2).max(), "that is the largest squared error: take the mean over all of them."),
    ]


def describe(shape) -> str:
    return f"y_hat and y of shape {tuple(shape)}"


@checker
def check_mse(mse: Trial) -> CheckResult:
    """Check a learner's ``mse(y_hat, y)`` against ``nn.MSELoss()`` on random inputs of several shapes."""
    worst = 0.0
    for y_hat, y in cases():
        shape_hints = {tuple(y.shape): f"your loss has shape {tuple(y.shape)}, one value per element. "
                                       f"A loss is one number: take the `.mean()`."} if y.dim() else {}
        worst = max(worst, check_loss_case(mse, [y_hat, y], 0, F.mse_loss, mistakes, describe(y.shape),
                                           "nn.MSELoss()", shape_hints))
    notes = mse.by_hand_note(BUILT_INS, "the formula by hand: `((y_hat - y)**2).mean()`.")
    return CheckResult(PASS, f"your MSE equals nn.MSELoss() on {len(SHAPES)} random inputs of shapes "
                             f"{', '.join(str(s) for s in SHAPES)}, and its gradient matches too "
                             f"(max difference {worst:.1e}).", notes)


CHECK = check_mse

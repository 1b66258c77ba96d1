"""Notebook 4's exercise: ``cross_entropy(logits, targets)`` from raw logits, equal to
``nn.CrossEntropyLoss()``, and exact for large logits."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from course_utils.exercises.loss_checks import check_loss_case
from course_utils.exercises.trial import Trial, checker
from course_utils.exercises.verdict import PASS, CheckResult


def cross_entropy(logits, targets):
    """Cross-entropy from raw logits (N, C) and integer targets (N,), like nn.CrossEntropyLoss()."""
    shifted = logits - logits.max(dim=1, keepdim=True).values     # exp(large) would overflow
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()  # log-softmax, (N, C)
    picked = log_probs[torch.arange(len(targets)), targets]        # log p(true class), (N,)
    return -picked.mean()


SOLUTION = cross_entropy
BUILT_INS = ("cross_entropy", "CrossEntropyLoss", "nll_loss", "NLLLoss")
# (N, C, scale, shift, what the case is): ordinary logits first, so mistakes are named there
CASES = [(6, 4, 2.0, 0.0, "ordinary logits"), (1, 5, 2.0, 0.0, "one sample (N = 1)"),
         (4, 4, 2.0, 0.0, "as many samples as classes (N = C = 4)"), (5, 2, 2.0, 0.0, "two classes"),
         (6, 3, 20.0, 100.0, "logits around 100"), (4, 3, 1.0, 0.0, "rows at very different levels"),
         (3, 3, 1.0, 0.0, "confident wrong answers (true class 120 below the best)")]
OVERFLOW = ("right on ordinary logits, but not for large ones: exp(100) overflows float32 to inf. "
            "Subtract each row's max before exp (the log-softmax does not change), or use "
            "`torch.logsumexp(logits, dim=1)`.")


def cases() -> list[tuple[torch.Tensor, torch.Tensor, str]]:
    g = torch.Generator().manual_seed(5)
    out = []
    for n, c, scale, shift, what in CASES:
        logits = torch.randn(n, c, generator=g) * scale + shift
        targets = torch.randint(0, c, (n,), generator=g)
        if what.startswith("rows"):
            logits = logits + torch.tensor([[150.0], [-150.0], [0.0], [80.0]])  # one shift per row
        if what.startswith("confident"):
            logits[torch.arange(n), targets] -= 120.0  # exp(-120) is 0 in float32
        out.append((logits, targets, f"{what}, logits of shape ({n}, {c})"))
    return out


def mistakes(logits, targets):
    """(value of a typical wrong answer, hint) pairs for one case. A mistake whose value overflows
    says nothing by itself; only those whose overflow is the point are kept, after the others."""
    n, c = logits.shape
    rows = torch.arange(n)
    log_p, p = logits.log_softmax(dim=1), logits.softmax(dim=1)
    globally = logits - logits.max()
    found = [
        (-p[rows, targets].mean(), "you averaged the probabilities; cross-entropy averages their "
                                   "negative log: take the log of the softmax (log-softmax)."),
        (log_p[rows, targets].mean(), "sign error: cross-entropy is the *negative* mean log-probability "
                                      "of the true class, so it is never negative."),
        (-log_p[rows, targets].sum(), "you summed over the batch: nn.CrossEntropyLoss() averages "
                                      "(reduction='mean'). Use `.mean()`."),
        (-log_p[:, targets].mean(), "indexing error: `log_probs[:, targets]` picks every target for every "
                                    "row. Pick one entry per row: `log_probs[torch.arange(N), targets]`."),
        (-logits.log_softmax(dim=0)[rows, targets].mean(),
         "the softmax runs over the wrong dimension: normalise each row over the classes, dim=1."),
        (-logits[rows, targets].mean(), "you used the raw logits: turn them into log-probabilities "
                                        "first (logit − logsumexp of its row)."),
        (F.cross_entropy(p, targets), "you applied softmax and then cross-entropy: cross-entropy takes "
                                      "raw logits and does the (log-)softmax itself."),
        (-log_p.mean(), "you averaged over every class, not only the true one: pick "
                        "`log_probs[torch.arange(N), targets]` first."),
        (-log_p[rows, targets].mean() / c, "you divided by the number of classes too: average over the "
                                           "N samples only."),
        (-(logits - logits.exp().sum().log())[rows, targets].mean(),
         "normalise each row separately: the logsumexp is over dim=1 (one per sample), not over the "
         "whole batch."),
    ]
    if n == c:  # square: swapped indices still run
        found.append((-log_p[targets, rows].mean(), "rows and columns are swapped: the row is the sample, "
                                                    "the column its class: `log_probs[torch.arange(N), targets]`."))
    overflows = [
        (-(globally - globally.exp().sum(dim=1, keepdim=True).log())[rows, targets].mean(),
         "you subtract one max for the whole batch, so a row far below it underflows to exp() = 0 and "
         "log 0 = −inf: subtract each row's own max, `logits.max(dim=1, keepdim=True).values`."),
        (-p.log()[rows, targets].mean(), "you took the log of the probabilities: a probability that rounds "
                                         "to 0 gives log 0 = −inf. Stay in log space: log p = shifted − "
                                         "log Σ exp(shifted), the log-softmax."),
    ]
    if logits.abs().max() > 80:  # exp() of these overflows float32
        overflows += [(torch.tensor(float("nan")), OVERFLOW), (torch.tensor(float("inf")), OVERFLOW)]
    return ([(v, h) for v, h in found if torch.isfinite(v)]
            + [(v, h) for v, h in overflows if not torch.isfinite(v)])


@checker
def check_cross_entropy(cross_entropy: Trial) -> CheckResult:
    """Check a learner's ``cross_entropy(logits, targets)`` against ``nn.CrossEntropyLoss()``."""
    worst = 0.0
    for logits, targets, case in cases():
        n = len(targets)
        shape_hints = {
            (n, n): "your result is N×N: `log_probs[:, targets]` picks every target for every row. "
                    "Pick one entry per row with `log_probs[torch.arange(N), targets]`.",
            (n,): f"your loss has shape ({n},), one value per sample: take the `.mean()` over the batch.",
        }
        worst = max(worst, check_loss_case(cross_entropy, [logits, targets], 0, F.cross_entropy, mistakes,
                                           case, "nn.CrossEntropyLoss()", shape_hints))
    notes = cross_entropy.by_hand_note(BUILT_INS, "it by hand: log-softmax (with each row's max "
                                                  "subtracted), pick the true class, negate, average.")
    return CheckResult(PASS, f"your cross-entropy equals nn.CrossEntropyLoss() on {len(CASES)} cases "
                             f"(N = 1, N = C, two classes, logits around 100, rows at very different "
                             f"levels, confident wrong answers), and its gradient matches too (max "
                             f"difference {worst:.1e}).", notes)


CHECK = check_cross_entropy

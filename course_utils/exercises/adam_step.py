"""Notebook 7's exercise: ``adam_step``, one Adam update written by hand, equal to ``torch.optim.Adam``.

The check runs ``torch.optim.Adam`` on random tensors of several shapes and settings for many steps.
At every step it gives the learner's function Adam's state from just before the step, and compares
what comes back in the order Adam computes it: ``exp_avg``, then ``exp_avg_sq``, then the parameter.
The first quantity that differs is named, with the recognised mistake when there is one.
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import torch

from course_utils.exercises.trial import Trial, checker
from course_utils.exercises.verdict import (PASS, CheckResult, close, first_difference, fmt, hint, index_text,
                                            kind_of)


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    """One Adam step for one tensor: return the new (param, exp_avg, exp_avg_sq); step counts from 1."""
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad  # running average of the gradient
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2  # ... and of its square, elementwise
    m_hat = exp_avg / (1 - beta1**step)  # bias correction: both averages started at 0
    v_hat = exp_avg_sq / (1 - beta2**step)
    param = param - lr * m_hat / (v_hat.sqrt() + eps)
    return param, exp_avg, exp_avg_sq


SOLUTION = adam_step
QUANTITIES = ("exp_avg", "exp_avg_sq", "param")
BUILT_INS = ("Adam", "AdamW", "adam", "optim")


class Case(NamedTuple):
    shape: tuple
    lr: float
    betas: tuple
    eps: float
    grad_scale: float  # gradients are randn * grad_scale: eps matters where it is near their size
    num_steps: int = 25

    def text(self) -> str:
        return (f"a tensor of shape {self.shape}, lr = {self.lr}, betas = {self.betas}, "
                f"eps = {self.eps:g}")


# Every case has its own lr, β1 ≠ β2, and an eps that matters in some (eps near the gradient's size).
CASES = (
    Case((5,), 1e-3, (0.9, 0.999), 1e-8, 1.0),  # Adam's defaults
    Case((), 0.05, (0.8, 0.95), 1e-3, 0.01),
    Case((3, 4), 0.2, (0.5, 0.9), 0.1, 1.0),
    Case((2, 3, 2), 0.01, (0.95, 0.99), 1e-6, 100.0),
    Case((1,), 0.003, (0.7, 0.999), 1e-2, 0.01),
)


def _grads(case: Case, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    grads = [torch.randn(case.shape, generator=g) * case.grad_scale for _ in range(case.num_steps)]
    if grads[0].numel() > 1:
        for grad in grads[3::4]:
            grad.view(-1)[-1] = 0.0  # now and then an element whose gradient is exactly 0
        for grad in grads:
            grad.view(-1)[0] = 0.0  # and one that never gets a gradient: eps alone keeps 0/0 away
    return grads


def states(case: Case, seed: int):
    """Adam's own run on one case: (param, grad, exp_avg, exp_avg_sq) before each step and
    (param, exp_avg, exp_avg_sq) after it, for steps 1, 2, ..."""
    p = torch.randn(case.shape, generator=torch.Generator().manual_seed(seed + 1000)).requires_grad_(True)
    opt = torch.optim.Adam([p], lr=case.lr, betas=case.betas, eps=case.eps, foreach=False)
    m, v = torch.zeros(case.shape), torch.zeros(case.shape)
    for grad in _grads(case, seed):
        before = (p.detach().clone(), grad.clone(), m, v)
        p.grad = grad.clone()
        opt.step()
        state = opt.state[p]
        m, v = state["exp_avg"].clone(), state["exp_avg_sq"].clone()
        yield before, (p.detach().clone(), m, v)


def _as_triple(value, case: Case):
    """The learner's (param, exp_avg, exp_avg_sq) as tensors, or a hint that says what is wrong."""
    if isinstance(value, dict):
        hint("return a tuple `(param, exp_avg, exp_avg_sq)`, not a dict.")
    if isinstance(value, torch.Tensor) or not isinstance(value, (tuple, list)):
        hint(f"return all three: `return param, exp_avg, exp_avg_sq` (your function returned "
             f"{kind_of(value)}). The caller keeps exp_avg and exp_avg_sq for the next step.")
    if len(value) != 3:
        hint(f"return three things, `(param, exp_avg, exp_avg_sq)`; yours has {len(value)}.")
    out = []
    for name, v in zip(QUANTITIES[2:] + QUANTITIES[:2], value):
        if not isinstance(v, torch.Tensor):
            hint(f"your `{name}` is {kind_of(v)}: return tensors (no `.item()`), of the parameter's shape.")
        if tuple(v.shape) != case.shape:
            hint(f"your `{name}` has shape {tuple(v.shape)}, but the parameter has shape {case.shape} "
                 f"(with {case.text()}). Every quantity in Adam is elementwise: same shape as the "
                 f"parameter.")
        out.append(v.detach().to(torch.float32))
    param, m, v = out
    return m, v, param  # in the order Adam computes them


def mistakes(quantity: str, p, g, m, v, t: int, lr: float, betas, eps: float):
    """(value of a typical wrong answer, hint) pairs for one quantity at one step."""
    b1, b2 = betas
    m1, v1 = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2  # the right averages
    c1, c2 = 1 - b1**t, 1 - b2**t
    if quantity == "exp_avg":
        return [
            (b2 * m + (1 - b2) * g, "exp_avg uses β2, but the gradient's average takes β1: β1 and β2 "
                                    "are swapped (`beta1, beta2 = betas`)."),
            (b1 * m + g, "the new gradient needs its weight (1 − β1): `beta1 * exp_avg + (1 - beta1) * grad`."),
            ((1 - b1) * m + b1 * g, "the weights are the wrong way round: the old average keeps the "
                                    "large share β1, the new gradient gets (1 − β1)."),
            (b1 * m + (1 - b1) * g**2, "exp_avg averages the gradient itself; its square belongs in "
                                       "exp_avg_sq."),
            ((1 - b1) * g, "exp_avg forgets its old value: it is a running average, "
                           "`beta1 * exp_avg + (1 - beta1) * grad`."),
            (m1 / c1, "you returned the bias-corrected average as exp_avg. Return the running average "
                      "itself; the bias correction is only for the update, worked out afresh each step."),
            (m, "exp_avg comes back unchanged: update it with the new gradient and return the new value."),
            (0.9 * m + 0.1 * g, "your exp_avg uses β1 = 0.9 (Adam's default), not the betas passed in: "
                                "use `beta1, beta2 = betas`."),
        ]
    if quantity == "exp_avg_sq":
        return [
            (b1 * v + (1 - b1) * g**2, "exp_avg_sq uses β1, but the average of the squares takes β2: "
                                       "β1 and β2 are swapped."),
            (b2 * v + (1 - b2) * g, "square the gradient: exp_avg_sq averages `grad ** 2`, elementwise."),
            (b2 * v + (1 - b2) * g.abs(), "square the gradient (`grad ** 2`) instead of taking its "
                                          "absolute value."),
            (b2 * v + g**2, "the new squared gradient needs its weight (1 − β2): "
                            "`beta2 * exp_avg_sq + (1 - beta2) * grad**2`."),
            ((1 - b2) * v + b2 * g**2, "the weights are the wrong way round: the old average keeps β2, "
                                       "the new squared gradient gets (1 − β2)."),
            (b2 * v + (1 - b2) * m1**2, "exp_avg_sq averages the squares of the gradients, not the "
                                        "square of their average: use `grad ** 2`, not `exp_avg ** 2`."),
            ((1 - b2) * g**2, "exp_avg_sq forgets its old value: it is a running average, "
                              "`beta2 * exp_avg_sq + (1 - beta2) * grad**2`."),
            (v1 / c2, "you returned the bias-corrected average as exp_avg_sq. Return the running average "
                      "itself; correct it only for the update."),
            (v1.sqrt(), "you returned the square root. Keep exp_avg_sq as the average of the squares; "
                        "take the root only in the update."),
            (v, "exp_avg_sq comes back unchanged: update it and return the new value."),
            (0.999 * v + 0.001 * g**2, "your exp_avg_sq uses β2 = 0.999 (Adam's default), not the betas "
                                       "passed in: use `beta1, beta2 = betas`."),
        ]

    def update(num, den, rate=lr):
        return p - rate * num / den

    m_hat, v_hat = m1 / c1, v1 / c2
    return [
        (update(m1, v1.sqrt() + eps), "no bias correction: divide exp_avg by (1 − β1**step) and "
                                      "exp_avg_sq by (1 − β2**step) before the update."),
        (update(m_hat, v1.sqrt() + eps), "only exp_avg is bias-corrected: divide exp_avg_sq by "
                                         "(1 − β2**step) as well."),
        (update(m1, v_hat.sqrt() + eps), "only exp_avg_sq is bias-corrected: divide exp_avg by "
                                         "(1 − β1**step) as well."),
        (update(m_hat, (v_hat + eps).sqrt()), "eps is inside the square root: Adam adds it after the "
                                              "root, `v_hat.sqrt() + eps`."),
        (update(m_hat, (v1.sqrt() + eps) / c2**0.5), "eps is added before the bias correction: "
                                                      "correct first, then add eps, "
                                                      "`(exp_avg_sq / (1 - beta2**step)).sqrt() + eps`."),
        (update(m_hat, v1.sqrt() / c2 + eps), "the root of the correction is missing: "
                                              "√(v / (1 − β2**t)) = √v / √(1 − β2**t). Correct first, "
                                              "then take the root."),
        (update(m_hat, v_hat + eps), "the square root is missing: divide by `v_hat.sqrt() + eps`."),
        (update(m_hat, v_hat.sqrt()), "eps is missing: it keeps the division finite where the "
                                      "average squared gradient is 0 (`v_hat.sqrt() + eps`)."),
        (p + lr * m_hat / (v_hat.sqrt() + eps), "sign error: the parameter moves against m̂, "
                                                 "`param - lr * ...`."),
        (update(m_hat, v_hat.sqrt() + eps, 1.0), "the learning rate is missing: multiply the step by lr."),
        (update(g, v_hat.sqrt() + eps), "the update uses the raw gradient; Adam steps with the "
                                        "bias-corrected average m̂."),
        (update(m / c1, (v / c2).sqrt() + eps),
         "the update uses exp_avg and exp_avg_sq from before this step's gradient: update the two "
         "averages first, then the parameter."),
        (update(m1 / (1 - b1 ** (t + 1)), (v1 / (1 - b2 ** (t + 1))).sqrt() + eps),
         "the bias correction uses step + 1, but `step` already counts from 1 (it is 1 on the first "
         "step): use `1 - beta1**step`."),
        (update(m1 / (1 - b1 ** (t - 1)), (v1 / (1 - b2 ** (t - 1))).sqrt() + eps),
         "the bias correction uses step − 1: on step 1 that is 1 − β1**0 = 0, a division by zero. "
         "`step` already counts from 1: use `1 - beta1**step`."),
        (update(m1 / (1 - b1 * t), (v1 / (1 - b2 * t)).abs().sqrt() + eps),
         "the bias correction uses β·step: it is a power, `1 - beta1**step`."),
        (update(m1 * c1, (v1 * c2).sqrt() + eps), "the bias correction multiplies; it divides: "
                                                  "`exp_avg / (1 - beta1**step)`."),
        (p - 1e-3 * m_hat / (v_hat.sqrt() + eps), "your update uses lr = 0.001 (Adam's default), not "
                                                  "the lr passed in."),
        (update(m_hat, v_hat.sqrt() + 1e-8), "your update uses eps = 1e-8 (Adam's default), not the "
                                             "eps passed in."),
    ]


class Step(NamedTuple):
    """One call: the case, the step number, Adam's state before and after, and the learner's answer."""
    case: Case
    t: int
    before: tuple  # param, grad, exp_avg, exp_avg_sq
    expected: tuple  # exp_avg, exp_avg_sq, param after Adam's step
    mine: tuple  # the same three from the learner


def _agree(quantity: str, mine, expected, step: Step) -> bool:
    """Equal up to rounding. A parameter is compared by its change in this step, which is small next
    to the parameter itself: comparing the parameters would hide mistakes that change the step."""
    if quantity == "param":
        p = step.before[0]
        return close(mine - p, expected - p, rtol=1e-3, atol=1e-6 * (1 + p.abs().max().item()))
    scale = step.case.grad_scale if quantity == "exp_avg" else step.case.grad_scale**2
    return close(mine, expected, rtol=1e-4, atol=1e-6 * scale)


def _diagnosis(quantity: str, steps: list[Step]) -> str | None:
    """The hint of the first recognised mistake that reproduces the learner's ``quantity`` at every
    step (a mistake can coincide with the right value at one step, e.g. step 1, but not at all)."""
    index = QUANTITIES.index(quantity)
    found = None
    for step in steps:
        variants = mistakes(quantity, *step.before, step.t, step.case.lr, step.case.betas, step.case.eps)
        fits = {i for i, (wrong, _) in enumerate(variants) if _agree(quantity, step.mine[index], wrong, step)}
        found = fits if found is None else found & fits
        if not found:
            return None
    return variants[min(found)][1] if found else None


def _explain(quantity: str, steps: list[Step], trial: Trial) -> str:
    index = QUANTITIES.index(quantity)
    first = next(s for s in steps if not _agree(quantity, s.mine[index], s.expected[index], s))
    where = f"at step {first.t}, with {first.case.text()}"
    found = _diagnosis(quantity, steps)
    if found:
        return f"your `{quantity}` differs from torch.optim.Adam's {where}: {found}"
    mine, expected = first.mine[index], first.expected[index]
    i = first_difference(mine, expected, rtol=1e-4, atol=0.0) or ()
    element = f"element {index_text(i)} " if i else ""
    return (f"your `{quantity}` differs from torch.optim.Adam's {where}: {element}is {fmt(mine[i].item())} "
            f"where Adam has {fmt(expected[i].item())}. Check it against the formulas above the exercise; "
            f"Adam computes exp_avg, then exp_avg_sq, then the parameter." + trial.reads_notebook())


def _in_another_order(step: Step) -> bool:
    return any(all(close(step.mine[i], step.expected[j], rtol=1e-4, atol=1e-6) for i, j in enumerate(order))
               for order in itertools.permutations(range(3)) if order != (0, 1, 2))


@checker
def check_adam_step(adam_step: Trial) -> CheckResult:
    """Check a learner's ``adam_step(...)`` against ``torch.optim.Adam`` for many steps on random cases."""
    steps = []
    for seed, case in enumerate(CASES):
        for t, (before, after) in enumerate(states(case, seed), start=1):
            p, g, m, v = before
            value = adam_step.call(p.clone(), g.clone(), m.clone(), v.clone(), t, case.lr, case.betas,
                                   case.eps)
            steps.append(Step(case, t, before, (after[1], after[2], after[0]), _as_triple(value, case)))
    for i, quantity in enumerate(QUANTITIES):  # the first quantity that is wrong anywhere
        if not all(_agree(quantity, s.mine[i], s.expected[i], s) for s in steps):
            first = next(s for s in steps if not _agree(quantity, s.mine[i], s.expected[i], s))
            if _in_another_order(first):
                hint("your three values are right, but not in this order: return "
                     "`param, exp_avg, exp_avg_sq`.")
            hint(_explain(quantity, steps, adam_step))
    notes = adam_step.by_hand_note(BUILT_INS, "the formulas by hand: the two running averages, their "
                                              "bias correction, then the update.")
    shapes = ", ".join(str(c.shape) for c in CASES)
    return CheckResult(PASS, f"your Adam step equals torch.optim.Adam's in exp_avg, exp_avg_sq and the "
                             f"parameter, over {len(steps)} steps on tensors of shapes {shapes}, with "
                             f"{len(CASES)} different settings of lr, betas and eps.", notes)


CHECK = check_adam_step

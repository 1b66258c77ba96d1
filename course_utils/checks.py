"""Exercise checkers. Each prints, and returns, one verdict:

- ``PASS: ...``          the answer matches the reference;
- ``HINT: ...``          a recognised mistake (or an error your code raised) and what to change;
- ``NOT DONE YET: ...``  the exercise cell still holds the stub.

A checker never lets the learner's error escape as a traceback: it reports the message instead.
Checkers take the learner's function as an argument, e.g. ``check_mse(mse)``; they read no notebook
variables. ``compare`` prints how close a hand-made value is to PyTorch's.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from course_utils.solutions import solution
from course_utils.torch_errors import classify

PASS, HINT, NOT_DONE = "PASS", "HINT", "NOT DONE YET"


@dataclass(frozen=True)
class CheckResult:
    """A checker's verdict: ``status`` is PASS, HINT or NOT DONE YET; ``message`` says why."""

    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"

    def _ipython_display_(self):
        pass  # the checker has printed the message already; don't show it twice


class _Verdict(Exception):
    """Raised inside a checker to stop at the first verdict."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.result = CheckResult(status, message)


def _hint(message: str):
    raise _Verdict(HINT, message)


def _checker(check):
    """Turn a function that raises ``_Verdict`` into one that prints and returns a CheckResult."""

    @functools.wraps(check)
    def wrapper(*args, **kwargs):
        try:
            result = check(*args, **kwargs)
        except _Verdict as verdict:
            result = verdict.result
        except Exception as err:  # an answer so unusual the check itself tripped on it
            result = CheckResult(HINT, f"the check could not use your answer ({type(err).__name__}: "
                                       f"{err}). Compare what your function returns with what the "
                                       f"exercise asks for (type and shape).")
        print(result)
        return result

    return wrapper


# What a learner should do about each kind of error (the kinds: course_utils.torch_errors).
ERROR_ADVICE = {
    "leaf_inplace": "update the parameters inside `with torch.no_grad():` so the update is not recorded.",
    "graph_freed": "compute y_hat and the loss again inside the loop for every sample; a graph can be used "
                   "by backward() only once.",
    "no_grad_fn": "create the parameters with requires_grad=True, and don't run the forward pass inside "
                  "torch.no_grad().",
    "not_scalar": "backward() needs a single number: use one sample at a time, or reduce the loss with .mean().",
    "none_attribute": "something is None, most likely a .grad: it is filled only by loss.backward() on a leaf "
                      "tensor. Call backward() before reading .grad, and update in place (w -= lr * w.grad) "
                      "so w stays a leaf (w = w - lr * w.grad makes a new tensor with no .grad).",
    "bad_operand": "an operand is None or of the wrong type; a .grad is None until backward() has run on a "
                   "leaf tensor.",
    "shape_mismatch": "shapes don't match: print the .shape of each tensor involved.",
    "index_out_of_range": "an index is out of range: class indices go from 0 to C-1 along dim 1.",
    "item_many": ".item() and float() work only on a tensor holding one number.",
    "numpy_requires_grad": "use .detach() (or .item() for one number) before converting to NumPy.",
    "unexpected_keyword": "keep the function's name and arguments exactly as in the stub.",
    "wrong_arguments": "keep the function's name and arguments exactly as in the stub.",
    "name_not_defined": "inside your function use its arguments, not variables from other cells, and run the "
                        "cell that defines every name you use.",
}


def _error_hint(err: Exception) -> str:
    return ERROR_ADVICE.get(classify(err) or "", "read the last line of the message above, fix that line, "
                                                 "run the exercise cell, then this one.")


def _run(fn, *args, **kwargs):
    """Call the learner's function; stop with NOT DONE YET / HINT when it cannot give an answer."""
    if fn is None or fn is Ellipsis:
        raise _Verdict(NOT_DONE, "write your function in the exercise cell, run that cell, then this one.")
    if not callable(fn):
        _hint(f"pass the function itself, e.g. check(my_function), not its result "
              f"(got a {type(fn).__name__}).")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn(*args, **kwargs)
        except NotImplementedError:
            raise _Verdict(NOT_DONE, "your function still raises NotImplementedError. Replace that "
                                     "line with your code, run the exercise cell, then this one.") from None
        except Exception as err:
            _non_leaf_hint(caught)
            message = str(err).strip().splitlines()[0] if str(err).strip() else ""
            _hint(f"your function raised {type(err).__name__}: {message}\n  What to do: {_error_hint(err)}")
    if value is None or value is Ellipsis:
        raise _Verdict(NOT_DONE, f"your function returned {value!r}. Finish the stub, and make sure it "
                                 f"ends with a `return` line.")
    _non_leaf_hint(caught)
    return value


def _non_leaf_hint(caught_warnings):
    for w in caught_warnings:
        if "not a leaf Tensor" in str(w.message):
            _hint("PyTorch warned that you read .grad of a non-leaf tensor: `w = w - lr * w.grad` makes "
                  "a new tensor, whose .grad stays None. Update in place under torch.no_grad(): "
                  "`w -= lr * w.grad`.")


def _close(a, b, rtol=1e-4, atol=1e-6) -> bool:
    a = torch.as_tensor(a, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def _match(value, variants, rtol=1e-4, atol=1e-6):
    """The hint of the first (expected_value, hint) pair that ``value`` equals, else None."""
    for expected, hint in variants:
        if _close(value, expected, rtol, atol):
            return hint
    return None


def _as_tensor(value, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        return torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        _hint(f"{what} should be a tensor, but your function returned a {type(value).__name__}.")


# ---------------------------------------------------------------- compare

def compare(name: str, mine, reference) -> None:
    """Print whether ``mine`` equals ``reference`` exactly, approximately, and the max abs difference."""
    if mine is None:
        print(f"{name:<14} not computed yet (None)")
        return
    a, b = torch.as_tensor(mine).detach(), torch.as_tensor(reference).detach()
    if a.shape != b.shape:
        print(f"{name:<14} shapes differ: yours {tuple(a.shape)}, reference {tuple(b.shape)}")
        return
    exact = bool(torch.equal(a.to(b.dtype), b))
    a64, b64 = a.double(), b.double()
    approx = bool(torch.allclose(a64, b64, rtol=1e-5, atol=1e-7))
    diff = (a64 - b64).abs().max().item() if a.numel() else 0.0
    print(f"{name:<14} exact: {exact!s:<5}  approx: {approx!s:<5}  max abs diff: {diff:.1e}")


# ---------------------------------------------------------------- notebook 2: the quadratic

QUADRATIC_X = (1.0, 2.0, 3.0, 4.0)
QUADRATIC_Y = (2.0, 4.0, 6.0, 8.0)
QUADRATIC_START = {"w1": 0.05, "w2": 1.5, "b": 0.05}
QUADRATIC_LRS = {"lr_w1": 0.001, "lr_w2": 0.05, "lr_b": 0.001}


def simulate_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs, *, zero_grad=True, sign=1.0,
                       per_sample=True, half=False, update_b=True):
    """Per-sample SGD on y ≈ w1·x² + w2·x + b with hand-written gradients in float32, with switches
    that reproduce typical mistakes. Returns [(w1, w2, b) after each epoch]."""
    f = torch.float32
    x, y = torch.as_tensor(x, dtype=f), torch.as_tensor(y, dtype=f)
    p = torch.tensor([w1, w2, b], dtype=f)
    lr = torch.tensor([lr_w1, lr_w2, lr_b if update_b else 0.0], dtype=f)
    scale = 1.0 if half else 2.0  # d/dy_hat of (y_hat − y)², or of ½(y_hat − y)²
    grad = torch.zeros(3, dtype=f)
    history = []
    with torch.no_grad():
        for _ in range(num_epochs):
            batches = [(x[i], y[i]) for i in range(len(x))] if per_sample else [(x, y)]
            for xb, yb in batches:
                err = p[0] * xb**2 + p[1] * xb + p[2] - yb
                g = torch.stack([(scale * err * xb**2).sum(), (scale * err * xb).sum(), (scale * err).sum()])
                grad = grad + g if not zero_grad else g
                p = p - sign * lr * grad
            history.append(tuple(p.tolist()))
    return history


def _quadratic_history(value, num_epochs: int, num_samples: int):
    if isinstance(value, torch.Tensor) and value.ndim == 2 and value.shape[1] == 3:
        _hint("return a list of (w1, w2, b) tuples of Python floats (use .item()), not one tensor.")
    if not isinstance(value, Sequence) and not isinstance(value, torch.Tensor):
        _hint(f"return the history: a list with one (w1, w2, b) tuple per epoch "
              f"(got a {type(value).__name__}).")
    if len(value) and not isinstance(value[0], (Sequence, torch.Tensor)):
        _hint("return the whole history, one (w1, w2, b) tuple per epoch, not only the final values.")
    if len(value) == num_epochs * num_samples:
        _hint(f"with num_epochs={num_epochs} your history has {len(value)} entries, one per sample: "
              f"append (w1.item(), w2.item(), b.item()) once per epoch, after the loop over the samples.")
    if len(value) != num_epochs:
        _hint(f"with num_epochs={num_epochs} your history has {len(value)} entries; it needs one per "
              f"epoch: loop `for epoch in range(num_epochs):` and append after each epoch.")
    rows = []
    for entry in value:
        if isinstance(entry, torch.Tensor) or any(isinstance(v, torch.Tensor) for v in entry):
            _hint("your history holds tensors, not floats. Append (w1.item(), w2.item(), b.item()): "
                  "a tensor keeps changing as you train (and carries its graph), a float is a snapshot.")
        if len(entry) != 3:
            _hint(f"each history entry should be (w1, w2, b); yours have {len(entry)} values.")
        rows.append([float(v) for v in entry])
    return torch.tensor(rows, dtype=torch.float64)


def _quadratic_mistakes(x, y, start, lrs, num_epochs):
    """(history of a typical mistake, hint) pairs."""
    lr1, lr2, lrb = lrs["lr_w1"], lrs["lr_w2"], lrs["lr_b"]

    def sim(lr_w1=lr1, lr_w2=lr2, lr_b=lrb, **mistake):
        return simulate_quadratic(x, y, start["w1"], start["w2"], start["b"], lr_w1, lr_w2, lr_b,
                                  num_epochs, **mistake)

    shared = "each parameter needs its own learning rate: lr_w1 for w1, lr_w2 for w2, lr_b for b. " \
             "Your run matches one shared learning rate ({}) for all three."
    return [
        (sim(zero_grad=False),
         "your gradients accumulate from one backward() to the next. Zero them after every update: "
         "w1.grad.zero_(), w2.grad.zero_(), b.grad.zero_()."),
        (sim(sign=-1.0),
         "sign error: your parameters climb the loss. Step against the gradient: w1 -= lr_w1 * w1.grad."),
        (sim(lr1, lr1, lr1), shared.format("lr_w1")),
        (sim(lr2, lr2, lr2), shared.format("lr_w2")),
        (sim(lrb, lrb, lrb) if lrb != lr1 else sim(lr1, lr1, lr1), shared.format("lr_b")),
        (sim(lr2, lr1, lrb), "lr_w1 and lr_w2 are swapped: w1 (the x² term) needs the small one."),
        (sim(per_sample=False),
         "you update once per epoch with the summed loss. This exercise is per-sample SGD: "
         "forward, backward and update inside the loop over (x_i, y_i)."),
        (sim(half=True),
         "your loss looks like ½·(y_hat − y)². Use the plain squared error (y_hat − y)**2."),
        (sim(update_b=False), "b never changes: update it too, b -= lr_b * b.grad."),
    ]


@_checker
def check_quadratic(train_quadratic) -> CheckResult:
    """Check a learner's ``train_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs)``."""
    x = torch.tensor(QUADRATIC_X)
    y = torch.tensor(QUADRATIC_Y)
    # A short run first: mistakes are told apart before some of them overflow to inf/nan.
    short = 3
    value = _run(train_quadratic, x.clone(), y.clone(), *QUADRATIC_START.values(),
                 *QUADRATIC_LRS.values(), short)
    mine = _quadratic_history(value, short, len(x))
    expected = simulate_quadratic(x, y, **QUADRATIC_START, **QUADRATIC_LRS, num_epochs=short)
    if not _close(mine, expected):
        hint = _match(mine, _quadratic_mistakes(x, y, QUADRATIC_START, QUADRATIC_LRS, short))
        if hint:
            _hint(hint)
        w = ", ".join(f"{v:.5f}" for v in mine[0].tolist())
        e = ", ".join(f"{v:.5f}" for v in expected[0])
        _hint(f"after epoch 1 your (w1, w2, b) = ({w}), expected ({e}). Check the model "
              f"w1*x**2 + w2*x + b, the loss (y_hat - y)**2, and one update per sample.")
    num_epochs = 200
    value = _run(train_quadratic, x.clone(), y.clone(), *QUADRATIC_START.values(),
                 *QUADRATIC_LRS.values(), num_epochs)
    mine = _quadratic_history(value, num_epochs, len(x))
    expected = simulate_quadratic(x, y, **QUADRATIC_START, **QUADRATIC_LRS, num_epochs=num_epochs)
    if not _close(mine[-1], expected[-1], rtol=1e-3, atol=1e-4):
        _hint(f"the first epochs are right, but after {num_epochs} epochs (w1, w2, b) = "
              f"{tuple(round(v, 4) for v in mine[-1].tolist())}, expected "
              f"{tuple(round(v, 4) for v in expected[-1])}. Does your loop depend on anything "
              f"besides its arguments?")
    w1, w2, b = mine[-1].tolist()
    return CheckResult(PASS, f"after {num_epochs} epochs w1 = {w1:.4f}, w2 = {w2:.4f}, b = {b:.4f}; "
                             f"the prediction at x = 5 is {w1 * 25 + w2 * 5 + b:.4f} (the data says 10).")


# ---------------------------------------------------------------- notebook 3: a gradient by hand

def _tanh_cases(seeds=(0, 1, 2), n=5, d=3):
    cases = []
    for seed in seeds:
        g = torch.Generator().manual_seed(seed)
        cases.append((torch.randn(n, d, generator=g), torch.randn(d, generator=g)))
    return cases


def _tanh_autograd(x, w):
    w = w.clone().requires_grad_(True)
    torch.tanh(x @ w).mean().backward()
    return w.grad


@_checker
def check_tanh_grad(tanh_grad) -> CheckResult:
    """Check a learner's ``tanh_grad(x, w)`` = dL/dw of L = tanh(x @ w).mean() against autograd."""
    worst = 0.0
    for x, w in _tanh_cases():
        n, d = x.shape
        mine = _as_tensor(_run(tanh_grad, x.clone(), w.clone()), "dL/dw")
        if mine.shape == (n, d):
            _hint(f"your gradient has shape {tuple(mine.shape)}, one row per sample. L is a mean over "
                  f"the samples: sum the per-sample terms (x.T @ ...) and divide by N, giving shape ({d},).")
        if mine.shape != (d,):
            _hint(f"dL/dw needs one number per weight, shape ({d},); yours has shape {tuple(mine.shape)}. "
                  f"The last chain-rule factor is du/dw = x: combine it with x.T @ (...).")
        u = x @ w
        t = torch.tanh(u)
        ref = _tanh_autograd(x, w)
        if not _close(mine, ref, rtol=1e-4, atol=1e-6):
            hint = _match(mine, [
                (x.T @ torch.ones(n) / n,
                 "the factor tanh'(u) is missing: d tanh(u)/du = 1 − tanh(u)², multiply by it."),
                (x.T @ (1 - u**2) / n,
                 "tanh'(u) is 1 − tanh(u)², evaluated at t = tanh(u), not 1 − u²."),
                (x.T @ (1 - t) / n, "tanh'(u) = 1 − tanh(u)²: the square is missing."),
                (x.T @ (1 - t**2), "L is a mean: divide by N (the number of samples)."),
                (-(x.T @ (1 - t**2)) / n, "sign error: tanh'(u) = 1 − tanh(u)², which is positive."),
            ])
            _hint(hint or f"your gradient {[round(v, 4) for v in mine.tolist()]} differs from autograd's "
                          f"{[round(v, 4) for v in ref.tolist()]}. Write the chain: dL/dt = 1/N, "
                          f"dt/du = 1 − t², du/dw = x.")
        worst = max(worst, (mine.double() - ref.double()).abs().max().item())
    return CheckResult(PASS, f"your gradient matches autograd on 3 random inputs "
                             f"(max abs difference {worst:.1e}).")


# ---------------------------------------------------------------- notebook 4: losses

def _mse_cases():
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(8, generator=g), torch.randn(8, generator=g)),
            (torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g))]


@_checker
def check_mse(mse) -> CheckResult:
    """Check a learner's ``mse(y_hat, y)`` against ``nn.MSELoss()`` on random inputs."""
    for y_hat, y in _mse_cases():
        y_hat = y_hat.clone().requires_grad_(True)
        value = _run(mse, y_hat, y.clone())
        if isinstance(value, (float, int)) and not isinstance(value, bool):
            _hint("you returned a Python number. Return the tensor (no .item()), so that "
                  "loss.backward() can follow it back to y_hat.")
        mine = _as_tensor(value, "the loss")
        if mine.shape == y.shape and mine.numel() > 1:
            _hint(f"your loss has shape {tuple(mine.shape)}, one value per element. "
                  f"A loss is one number: take the .mean().")
        if mine.numel() != 1:
            _hint(f"a loss is one number, but yours has shape {tuple(mine.shape)}.")
        mine = mine.reshape(())
        d = (y_hat - y).detach()
        ref = F.mse_loss(y_hat.detach(), y)
        if not _close(mine, ref):
            hint = _match(mine, [
                ((d**2).sum(), "you summed: the mean squared error divides by the number of elements. "
                               "Use .mean() (that is reduction='mean')."),
                (d.abs().mean(), "that is the L1 loss (mean absolute error): square the differences "
                                 "instead of taking abs()."),
                (d.mean(), "the square is missing: errors of opposite signs cancel out. Use "
                           "((y_hat - y)**2).mean()."),
                ((d**2).mean().sqrt(), "that is the root of the MSE (RMSE): leave out the sqrt."),
                (-(d**2).mean(), "sign error: a squared error is never negative."),
            ])
            _hint(hint or f"your loss is {mine.item():.5f} where nn.MSELoss() gives {ref.item():.5f}.")
        if isinstance(value, torch.Tensor) and not value.requires_grad:
            _hint("the value is right but cut off from the graph (did you use .detach(), .item(), "
                  "NumPy, or torch.tensor(...)?). Compute it with tensor operations on y_hat.")
    return CheckResult(PASS, "your MSE equals nn.MSELoss() on random 1-D and 2-D inputs, "
                             "and gradients flow back through it.")


def _ce_case(seed: int, n=6, c=4, scale=2.0, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g) * scale + shift
    targets = torch.randint(0, c, (n,), generator=g)
    return logits, targets


def _ce_mistakes(logits, targets):
    n = len(targets)
    rows = torch.arange(n)
    log_p = logits.log_softmax(dim=1)
    p = logits.softmax(dim=1)
    return [
        (-p[rows, targets].mean(), "you averaged the probabilities; cross-entropy averages their "
                                   "negative log: take the log of the softmax (log_softmax)."),
        (log_p[rows, targets].mean(), "sign error: cross-entropy is the *negative* mean log-probability "
                                      "of the true class, so it is ≥ 0."),
        (-log_p[rows, targets].sum(), "you summed over the batch: nn.CrossEntropyLoss() averages "
                                      "(reduction='mean'). Use .mean()."),
        (-log_p[:, targets].mean(), "indexing error: log_probs[:, targets] picks every target for every "
                                    "row. Pick one entry per row: log_probs[torch.arange(N), targets]."),
        (-logits.log_softmax(dim=0)[rows, targets].mean(),
         "the softmax runs over the wrong dimension: normalise each row over the classes, dim=1."),
        (-logits[rows, targets].mean(), "you used the raw logits: turn them into log-probabilities "
                                        "first (logit − logsumexp of the row)."),
        (F.cross_entropy(p, targets), "you applied softmax and then cross-entropy: cross-entropy takes "
                                      "raw logits and does the (log-)softmax itself."),
        (-(logits - logits.exp().sum().log())[rows, targets].mean(),
         "normalise each row separately: the logsumexp is over dim=1 (one per sample), not over the "
         "whole batch."),
    ]


@_checker
def check_cross_entropy(cross_entropy) -> CheckResult:
    """Check a learner's ``cross_entropy(logits, targets)`` against ``nn.CrossEntropyLoss()``."""
    for seed in (0, 1):
        logits, targets = _ce_case(seed)
        logits = logits.requires_grad_(True)
        value = _run(cross_entropy, logits, targets.clone())
        if isinstance(value, (float, int)) and not isinstance(value, bool):
            _hint("you returned a Python number. Return the tensor (no .item()), so that "
                  "loss.backward() can follow it back to the logits.")
        mine = _as_tensor(value, "the loss")
        n = len(targets)
        if mine.shape == (n, n):
            _hint("your result is N×N: log_probs[:, targets] picks every target for every row. "
                  "Pick one entry per row with log_probs[torch.arange(N), targets].")
        if mine.shape == (n,):
            _hint(f"your loss has shape ({n},), one value per sample: take the .mean() over the batch.")
        if mine.numel() != 1:
            _hint(f"a loss is one number, but yours has shape {tuple(mine.shape)}.")
        mine = mine.reshape(())
        ref = F.cross_entropy(logits.detach(), targets)
        if not _close(mine, ref):
            hint = _match(mine, _ce_mistakes(logits.detach(), targets))
            _hint(hint or f"your loss is {mine.item():.5f} where nn.CrossEntropyLoss() gives "
                          f"{ref.item():.5f}. Steps: log_softmax over dim=1, pick the true class of "
                          f"each row, negate, average.")
        if isinstance(value, torch.Tensor) and not value.requires_grad:
            _hint("the value is right but cut off from the graph (.detach(), .item(), NumPy or "
                  "torch.tensor(...)?). Compute it with tensor operations on the logits.")
    logits, targets = _ce_case(2, scale=20.0, shift=100.0)  # exp(100) overflows float32
    mine = _as_tensor(_run(cross_entropy, logits.clone(), targets.clone()), "the loss").reshape(-1)[0]
    ref = F.cross_entropy(logits, targets)
    if not torch.isfinite(mine):
        _hint(f"right on ordinary logits, but logits around 100 give {mine.item()}: exp(100) overflows "
              f"float32. Subtract each row's max before exp (log-softmax is unchanged by the shift), "
              f"or use torch.logsumexp.")
    if not _close(mine, ref):
        _hint(f"right on ordinary logits, but logits around 100 give {mine.item():.4f} instead of "
              f"{ref.item():.4f}. Subtract each row's max before exp.")
    return CheckResult(PASS, "your cross-entropy equals nn.CrossEntropyLoss() on random logits, "
                             "stays exact for logits around 100, and gradients flow through it.")


CHECKS = {
    "quadratic": check_quadratic,
    "tanh_grad": check_tanh_grad,
    "mse": check_mse,
    "cross_entropy": check_cross_entropy,
}


def use_or_reference(name: str, learner_fn, result: CheckResult):
    """The learner's function if its check passed, else the reference solution (said out loud)."""
    if result.passed:
        return learner_fn
    print(f"(Using the reference solution of {name!r} below, so the rest of the notebook runs. "
          f"Your own version takes over once its check passes.)")
    return solution(name)


__all__ = ["CheckResult", "PASS", "HINT", "NOT_DONE", "compare", "check_quadratic", "check_tanh_grad",
           "check_mse", "check_cross_entropy", "use_or_reference", "simulate_quadratic"]

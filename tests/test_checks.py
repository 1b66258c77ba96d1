"""course_utils.checks: every checker passes the reference, names each recognised mistake, says
"not done yet" for an untouched stub, and turns a learner's exception into a message."""
import pytest
import torch
import torch.nn.functional as F

from course_utils import checks, solutions
from course_utils.checks import HINT, NOT_DONE, PASS


def verdict(check, fn, capsys):
    result = check(fn)
    printed = capsys.readouterr().out
    assert printed.strip() == str(result)  # the checker prints exactly its verdict
    assert "Traceback" not in printed
    return result


# ---------------------------------------------------------------- learner code, right and wrong

def make_quadratic(zero_grad=True, sign=1, shared=None, per_sample=True, half=False, to_float=True,
                   swap=False, update_b=True, per_sample_history=False, final_only=False):
    """A learner's train_quadratic written with autograd, with one typical mistake switched on."""

    def train_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs):
        lrs = [lr_w1, lr_w2, lr_b]
        if shared is not None:
            lrs = [lrs[shared]] * 3
        if swap:
            lrs[0], lrs[1] = lrs[1], lrs[0]
        if not update_b:
            lrs[2] = 0.0
        params = [torch.tensor(v, requires_grad=True) for v in (w1, w2, b)]
        history = []

        def snapshot():
            return tuple(p.item() for p in params) if to_float else tuple(params)

        for epoch in range(num_epochs):
            pairs = list(zip(x, y)) if per_sample else [(x, y)]
            for x_i, y_i in pairs:
                y_hat = params[0] * x_i**2 + params[1] * x_i + params[2]
                loss = ((y_hat - y_i) ** 2).sum()
                if half:
                    loss = loss / 2
                loss.backward()
                with torch.no_grad():
                    for p, lr in zip(params, lrs):
                        p -= sign * lr * p.grad
                if zero_grad:
                    for p in params:
                        p.grad.zero_()
                if per_sample_history:
                    history.append(snapshot())
            if not per_sample_history:
                history.append(snapshot())
        return history[-1] if final_only else history

    return train_quadratic


def test_quadratic_reference_passes_with_the_course_numbers(capsys):
    result = verdict(checks.check_quadratic, solutions.train_quadratic, capsys)
    assert result.status == PASS and result.passed
    assert "10.0058" in result.message
    history = solutions.train_quadratic(torch.tensor([1.0, 2, 3, 4]), torch.tensor([2.0, 4, 6, 8]),
                                        0.05, 1.5, 0.05, 0.001, 0.05, 0.001, 200)
    w1, w2, b = history[-1]
    assert w1 * 25 + w2 * 5 + b == pytest.approx(10.005765914916992, abs=1e-6)
    assert torch.tensor(w1) * 25 + torch.tensor(w2) * 5 + torch.tensor(b) == 10.005765914916992


def test_learner_style_correct_quadratic_passes(capsys):
    assert verdict(checks.check_quadratic, make_quadratic(), capsys).passed


@pytest.mark.parametrize("mistake, expected", [
    (dict(zero_grad=False), "Zero them"),
    (dict(sign=-1), "sign error"),
    (dict(shared=0), "one shared learning rate (lr_w1)"),
    (dict(shared=1), "one shared learning rate (lr_w2)"),
    (dict(swap=True), "swapped"),
    (dict(per_sample=False), "per-sample SGD"),
    (dict(half=True), "½"),
    (dict(update_b=False), "b never changes"),
    (dict(to_float=False), "tensors, not floats"),
    (dict(per_sample_history=True), "one per sample"),
    (dict(final_only=True), "not only the final values"),
])
def test_quadratic_mistakes_get_their_hint(mistake, expected, capsys):
    result = verdict(checks.check_quadratic, make_quadratic(**mistake), capsys)
    assert result.status == HINT
    assert expected in result.message


def test_quadratic_update_outside_no_grad_is_a_message_not_a_traceback(capsys):
    def train_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs):
        w1 = torch.tensor(w1, requires_grad=True)
        for epoch in range(num_epochs):
            for x_i, y_i in zip(x, y):
                ((w1 * x_i**2 - y_i) ** 2).backward()
                w1 -= lr_w1 * w1.grad  # in place on a leaf, outside no_grad
        return []

    result = verdict(checks.check_quadratic, train_quadratic, capsys)
    assert result.status == HINT
    assert "RuntimeError" in result.message and "torch.no_grad()" in result.message


def test_quadratic_non_leaf_update_is_explained(capsys):
    def train_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs):
        w1 = torch.tensor(w1, requires_grad=True)
        for epoch in range(num_epochs):
            for x_i, y_i in zip(x, y):
                ((w1 * x_i**2 - y_i) ** 2).backward()
                w1 = w1 - lr_w1 * w1.grad  # a new, non-leaf tensor: its .grad is None next time
        return []

    result = verdict(checks.check_quadratic, train_quadratic, capsys)
    assert result.status == HINT
    assert "w -= lr * w.grad" in result.message or "w1 -= " in result.message


@pytest.mark.parametrize("check", list(checks.CHECKS.values()))
def test_untouched_stubs_are_not_done_yet(check, capsys):
    def stub(*args):
        # YOUR CODE HERE
        raise NotImplementedError("write your code here")

    def ellipsis_stub(*args):
        ...

    def returns_ellipsis(*args):
        return ...

    for fn in (stub, ellipsis_stub, returns_ellipsis, None):
        result = verdict(check, fn, capsys)
        assert result.status == NOT_DONE and not result.passed
        assert str(result).lower().startswith("not done yet")


@pytest.mark.parametrize("check", list(checks.CHECKS.values()))
def test_a_raising_learner_function_gives_a_message(check, capsys):
    def broken(*args):
        return undefined_name * 2  # noqa: F821

    result = verdict(check, broken, capsys)
    assert result.status == HINT
    assert "NameError" in result.message and "run the cell that defines" in result.message

    def zero_division(*args):
        return 1 / 0

    result = verdict(check, zero_division, capsys)
    assert result.status == HINT and "ZeroDivisionError: division by zero" in result.message


@pytest.mark.parametrize("check", list(checks.CHECKS.values()))
def test_passing_a_result_instead_of_the_function(check, capsys):
    result = verdict(check, torch.tensor(1.0), capsys)
    assert result.status == HINT and "pass the function itself" in result.message


# ---------------------------------------------------------------- notebook 3: tanh gradient

def test_tanh_reference_matches_autograd(capsys):
    assert verdict(checks.check_tanh_grad, solutions.tanh_grad, capsys).passed
    x, w = torch.randn(7, 4), torch.randn(4)
    w_ = w.clone().requires_grad_(True)
    torch.tanh(x @ w_).mean().backward()
    assert torch.allclose(solutions.tanh_grad(x, w), w_.grad, atol=1e-6)


def test_tanh_autograd_answer_also_passes(capsys):
    def tanh_grad(x, w):
        w = w.clone().requires_grad_(True)
        torch.tanh(x @ w).mean().backward()
        return w.grad

    assert verdict(checks.check_tanh_grad, tanh_grad, capsys).passed


@pytest.mark.parametrize("wrong, expected", [
    (lambda x, w: x.T @ torch.ones(len(x)) / len(x), "tanh'(u) is missing"),
    (lambda x, w: x.T @ (1 - (x @ w) ** 2) / len(x), "not 1 − u²"),
    (lambda x, w: x.T @ (1 - torch.tanh(x @ w)) / len(x), "the square is missing"),
    (lambda x, w: x.T @ (1 - torch.tanh(x @ w) ** 2), "divide by N"),
    (lambda x, w: x.T @ (torch.tanh(x @ w) ** 2 - 1) / len(x), "sign error"),
    (lambda x, w: x * (1 - torch.tanh(x @ w) ** 2)[:, None] / len(x), "one row per sample"),
    (lambda x, w: (1 - torch.tanh(x @ w) ** 2).mean(), "du/dw = x"),
])
def test_tanh_mistakes_get_their_hint(wrong, expected, capsys):
    result = verdict(checks.check_tanh_grad, wrong, capsys)
    assert result.status == HINT and expected in result.message


# ---------------------------------------------------------------- notebook 4: MSE

def test_mse_reference_passes(capsys):
    assert verdict(checks.check_mse, solutions.mse, capsys).passed
    a, t = torch.tensor([1.0, 2, 3]), torch.tensor([1.0, 2, 5])
    assert solutions.mse(a, t).item() == pytest.approx(4 / 3)


@pytest.mark.parametrize("wrong, expected", [
    (lambda y_hat, y: ((y_hat - y) ** 2).sum(), "you summed"),
    (lambda y_hat, y: (y_hat - y).abs().mean(), "L1 loss"),
    (lambda y_hat, y: (y_hat - y).mean(), "the square is missing"),
    (lambda y_hat, y: ((y_hat - y) ** 2).mean().sqrt(), "RMSE"),
    (lambda y_hat, y: (y_hat - y) ** 2, "one value per element"),
    (lambda y_hat, y: ((y_hat - y) ** 2).mean().item(), "Python number"),
    (lambda y_hat, y: ((y_hat - y) ** 2).mean().detach(), "cut off from the graph"),
])
def test_mse_mistakes_get_their_hint(wrong, expected, capsys):
    result = verdict(checks.check_mse, wrong, capsys)
    assert result.status == HINT and expected in result.message


# ---------------------------------------------------------------- notebook 4: cross-entropy

def naive_cross_entropy(logits, targets):
    probs = logits.exp() / logits.exp().sum(dim=1, keepdim=True)  # overflows for large logits
    return -probs[torch.arange(len(targets)), targets].log().mean()


def test_cross_entropy_reference_passes(capsys):
    assert verdict(checks.check_cross_entropy, solutions.cross_entropy, capsys).passed
    logits = torch.tensor([[0.1, 0.2, 0.3]])
    assert solutions.cross_entropy(logits, torch.tensor([1])).item() == pytest.approx(1.1019, abs=1e-4)
    big = torch.tensor([[1000.0, 0.0, -1000.0]])
    assert solutions.cross_entropy(big, torch.tensor([1])).item() == pytest.approx(1000.0)


def test_logsumexp_answer_passes(capsys):
    def cross_entropy(logits, targets):
        picked = logits[torch.arange(len(targets)), targets]
        return (torch.logsumexp(logits, dim=1) - picked).mean()

    assert verdict(checks.check_cross_entropy, cross_entropy, capsys).passed


def rows(t):
    return torch.arange(len(t))


@pytest.mark.parametrize("wrong, expected", [
    (lambda z, t: -z.softmax(1)[rows(t), t].mean(), "take the log"),
    (lambda z, t: z.log_softmax(1)[rows(t), t].mean(), "sign error"),
    (lambda z, t: -z.log_softmax(1)[rows(t), t].sum(), "you summed"),
    (lambda z, t: -z.log_softmax(1)[:, t].mean(), "indexing error"),
    (lambda z, t: -z.log_softmax(1)[:, t], "N×N"),
    (lambda z, t: -z.log_softmax(1)[rows(t), t], "one value per sample"),
    (lambda z, t: -z.log_softmax(0)[rows(t), t].mean(), "wrong dimension"),
    (lambda z, t: -z[rows(t), t].mean(), "raw logits"),
    (lambda z, t: F.cross_entropy(z.softmax(1), t), "applied softmax and then cross-entropy"),
    (lambda z, t: -(z - z.exp().sum().log())[rows(t), t].mean(), "each row separately"),
    (naive_cross_entropy, "overflows"),
    (lambda z, t: F.cross_entropy(z, t).item(), "Python number"),
])
def test_cross_entropy_mistakes_get_their_hint(wrong, expected, capsys):
    result = verdict(checks.check_cross_entropy, wrong, capsys)
    assert result.status == HINT and expected in result.message


def test_out_of_range_index_is_explained(capsys):
    result = verdict(checks.check_cross_entropy, lambda z, t: -z.log_softmax(1)[rows(t), t + 10].mean(),
                     capsys)
    assert result.status == HINT and "IndexError" in result.message and "0 to C-1" in result.message


# ---------------------------------------------------------------- compare, solutions

def test_compare_reports_exact_approx_and_difference(capsys):
    checks.compare("same", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]))
    checks.compare("close", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]) + 1e-7)
    checks.compare("far", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]))
    checks.compare("shape", torch.tensor([1.0]), torch.tensor([1.0, 2.0]))
    same, close, far, shape = capsys.readouterr().out.splitlines()
    assert "exact: True" in same and "max abs diff: 0.0e+00" in same
    assert "exact: False" in close and "approx: True" in close
    assert "approx: False" in far and "max abs diff: 5.0e-01" in far
    assert "shapes differ" in shape


def test_reveal_solution_prints_the_source(capsys):
    solutions.reveal_solution("quadratic")
    out = capsys.readouterr().out
    assert out.startswith("def train_quadratic(") and "p.grad.zero_()" in out
    with pytest.raises(KeyError, match="Known exercises"):
        solutions.solution("nope")


def test_use_or_reference_falls_back_to_the_solution(capsys):
    failed = checks.CheckResult(NOT_DONE, "stub")
    assert checks.use_or_reference("mse", None, failed) is solutions.mse
    assert "reference solution" in capsys.readouterr().out
    mine = lambda y_hat, y: ((y_hat - y) ** 2).mean()  # noqa: E731
    assert checks.use_or_reference("mse", mine, checks.CheckResult(PASS, "ok")) is mine


def test_every_exercise_has_a_checker_and_a_solution():
    assert set(checks.CHECKS) == set(solutions.SOLUTIONS)

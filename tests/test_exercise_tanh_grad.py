"""check_tanh_grad (notebook 3): wrong answers of many kinds never pass, right ones do, and an
autograd answer passes with a note on what "by hand" meant."""
import pytest
import torch

from course_utils.exercises.tanh_grad import check_tanh_grad, tanh_grad
from learner_code import define, expect_hint, expect_pass, short_time_limit  # noqa: F401

NOTEBOOK_3 = {"x": torch.randn(6, 3), "w": torch.randn(3, requires_grad=True)}


def tg(body: str) -> str:
    lines = "\n".join("    " + line for line in body.strip().splitlines())
    return f"def tanh_grad(x, w):\n{lines}"


T = "t = torch.tanh(x @ w)\n"
WRONG = {  # kind -> (learner code, a fragment the hint must contain)
    "tanh' missing": (tg("return x.T @ torch.ones(len(x)) / len(x)"), "tanh'(u) is missing"),
    "1 - u²": (tg("u = x @ w\nreturn x.T @ (1 - u**2) / len(x)"), "not 1 − u²"),
    "square missing": (tg(T + "return x.T @ (1 - t) / len(x)"), "the square is missing"),
    "t² instead of 1 - t²": (tg(T + "return x.T @ t**2 / len(x)"), "not tanh(u)²"),
    "no 1/N": (tg(T + "return x.T @ (1 - t**2)"), "divide by N"),
    "divides by D": (tg(T + "return x.T @ (1 - t**2) / x.shape[1]"), "you divided by D"),
    "divides by N twice": (tg(T + "return x.T @ ((1 - t**2) / len(x)) / len(x)"), "N twice"),
    "sign": (tg(T + "return x.T @ (t**2 - 1) / len(x)"), "sign error"),
    "sigmoid derivative": (tg("s = torch.sigmoid(x @ w)\nreturn x.T @ (s * (1 - s)) / len(x)"), "sigmoid"),
    "x instead of x.T": (tg(T + "return x @ (1 - t**2) / len(x)"), "shapes don't match"),
    "per-sample rows": (tg(T + "return x * (1 - t**2)[:, None] / len(x)"), "one row per sample"),
    "dL/dx instead of dL/dw": (tg(T + "return torch.outer(1 - t**2, w) / len(x)"), "dL/dx"),
    "no du/dw": (tg(T + "return (1 - t**2).mean()"), "du/dw = x"),
    "column vector": (tg(T + "return x.T @ ((1 - t**2) / len(x)).reshape(-1, 1)"), "must dL/dw"),
    "numpy": (tg(T + "return (x.T @ (1 - t**2) / len(x)).numpy()"), "NumPy"),
    "python list": (tg(T + "return (x.T @ (1 - t**2) / len(x)).tolist()"), "list"),
    "hard-coded numbers": (tg("return torch.tensor([0.1, -0.2, 0.3])"), "shape"),
    "notebook globals": (tg("t = torch.tanh(x @ w)\nreturn x.T @ (1 - t**2) / len(x)").replace(
        "def tanh_grad(x, w)", "def tanh_grad(inputs, weights)"), "reads `w`, `x`"),
    "changes w in place": (tg("w.requires_grad_(True)\nloss = torch.tanh(x @ w).mean()\n"
                              "return torch.autograd.grad(loss, w)[0]"), "switched on `w.requires_grad`"),
    "changes x in place": (tg("x /= len(x)\nt = torch.tanh(x @ w * len(x))\nreturn x.T @ (1 - t**2)"),
                           "changed its argument `x`"),
    "autograd of the sum": (tg("w = w.clone().requires_grad_(True)\ntorch.tanh(x @ w).sum().backward()\n"
                               "return w.grad"), "divide by N"),
    "endless loop": (tg("grads = [x[0]]\nfor g in grads:\n    grads.append(g)\nreturn sum(grads)"),
                     "no answer after"),
    "mean over the weights": (tg(T + "return (x * (1 - t**2)[:, None]).mean(dim=1)"), "shape (3,)"),
}

CORRECT = {
    "reference": tg("t = torch.tanh(x @ w)\ndL_dt = torch.ones_like(t) / len(t)\n"
                    "return x.T @ (dL_dt * (1 - t**2))"),
    "one line": tg("return x.T @ ((1 - torch.tanh(x @ w) ** 2) / len(x))"),
    "einsum": tg(T + "return torch.einsum('nd,n->d', x, 1 - t**2) / x.shape[0]"),
    "loop over samples": tg("grad = torch.zeros_like(w)\nfor x_i in x:\n"
                            "    grad += (1 - torch.tanh(x_i @ w) ** 2) * x_i\nreturn grad / len(x)"),
    "sech² via cosh": tg("return x.T @ (1 / torch.cosh(x @ w) ** 2) / len(x)"),
    "broadcast and mean": tg(T + "return (x * (1 - t**2)[:, None]).mean(dim=0)"),
    "matrix-vector": tg(T + "return torch.mv(x.t(), 1 - t * t) / x.size(0)"),
    "float64 inside": tg("x64, w64 = x.double(), w.double()\nt = torch.tanh(x64 @ w64)\n"
                         "return (x64.T @ (1 - t**2) / len(x)).float()"),
    "autograd backward": tg("w = w.clone().requires_grad_(True)\ntorch.tanh(x @ w).mean().backward()\n"
                            "return w.grad"),
    "autograd.grad": tg("w = w.detach().requires_grad_()\n"
                        "return torch.autograd.grad(torch.tanh(x @ w).mean(), w)[0]"),
}


@pytest.mark.parametrize("kind", WRONG)
def test_wrong_answers_never_pass(kind, capsys, short_time_limit):
    expect_hint(check_tanh_grad, *WRONG[kind], capsys, **NOTEBOOK_3)


@pytest.mark.parametrize("kind", CORRECT)
def test_right_answers_pass(kind):
    expect_pass(check_tanh_grad, CORRECT[kind], **NOTEBOOK_3)


@pytest.mark.parametrize("kind", ["autograd backward", "autograd.grad"])
def test_autograd_passes_with_a_note_on_what_by_hand_meant(kind):
    result = check_tanh_grad(define(CORRECT[kind]))
    assert result.passed and "autograd" in result.notes[0] and "by hand" in result.notes[0]


def test_hand_written_answers_get_no_note():
    assert not check_tanh_grad(define(CORRECT["einsum"])).notes


def test_reference_matches_autograd():
    x, w = torch.randn(7, 4), torch.randn(4)
    w_ = w.clone().requires_grad_(True)
    torch.tanh(x @ w_).mean().backward()
    assert torch.allclose(tanh_grad(x, w), w_.grad, atol=1e-6)

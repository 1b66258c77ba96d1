"""check_backprop (notebook 3): wrong backward passes of many kinds never pass, differently written
right ones do, and an autograd answer passes with a note on what "by hand" meant."""
import pytest
import torch

from course_utils.exercises.backprop import backprop, backward_pass, cases, check_backprop
from learner_code import define, expect_hint, expect_pass, short_time_limit  # noqa: F401

NOTEBOOK_3 = {"x": torch.tensor([1.0, 2.0]), "y": torch.tensor([1.0, -1.0]),
              "W1": torch.tensor([[1.0, -1.0], [0.0, 2.0], [-1.0, 1.0]], requires_grad=True),
              "b1": torch.tensor([0.0, 1.0, -1.0], requires_grad=True),
              "W2": torch.tensor([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]], requires_grad=True),
              "b2": torch.tensor([0.0, -1.0], requires_grad=True)}

FORWARD = ("    u1 = W1 @ x + b1\n"
           "    h = torch.sigmoid(u1)\n"
           "    y_hat = W2 @ h + b2\n")
BACKWARD = ("    dL_dy_hat = 2 * (y_hat - y)\n"
            "    dL_dW2 = torch.outer(dL_dy_hat, h)\n"
            "    dL_db2 = dL_dy_hat\n"
            "    dL_dh = W2.T @ dL_dy_hat\n"
            "    dL_du1 = dL_dh * h * (1 - h)\n"
            "    dL_dW1 = torch.outer(dL_du1, x)\n"
            "    dL_db1 = dL_du1\n")
RETURN = "    return dL_dW1, dL_db1, dL_dW2, dL_db2\n"
REFERENCE = "def backprop(x, y, W1, b1, W2, b2):\n" + FORWARD + BACKWARD + RETURN


def variant(*replacements) -> str:
    """The reference with some (old, new) text replacements: one learner's slip."""
    source = REFERENCE
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new)
    return source


WRONG = {  # kind -> (learner code, a fragment the hint must contain)
    "no sigmoid node going back": (variant(("dL_dh * h * (1 - h)", "dL_dh")), "sigmoid node is missing"),
    "no sigmoid at all": (variant(("torch.sigmoid(u1)", "u1"), ("dL_dh * h * (1 - h)", "dL_dh")),
                          "your network has no sigmoid"),
    "sigmoid' at u": (variant(("dL_dh * h * (1 - h)", "dL_dh * u1 * (1 - u1)")), "not u1 * (1 - u1)"),
    "tanh' instead": (variant(("dL_dh * h * (1 - h)", "dL_dh * (1 - h**2)")), "tanh's derivative"),
    "(1 - h) missing": (variant(("dL_dh * h * (1 - h)", "dL_dh * h")), "(1 - h) is"),
    "factor 2 missing": (variant(("2 * (y_hat - y)", "(y_hat - y)")), "half the right ones"),
    "sign": (variant(("2 * (y_hat - y)", "2 * (y - y_hat)")), "sign error"),
    "mean over outputs": (variant(("2 * (y_hat - y)", "2 * (y_hat - y) / len(y)")), "not their mean"),
    "W2 instead of W2.T": (variant(("W2.T @ dL_dy_hat", "W2 @ dL_dy_hat")), "shapes don't match"),
    "vector times W2.T, wrong side": (variant(("W2.T @ dL_dy_hat", "dL_dy_hat @ W2.T")),
                                             "shapes don't match"),
    "dW2 from u1": (variant(("torch.outer(dL_dy_hat, h)", "torch.outer(dL_dy_hat, u1)")), "not u1"),
    "dW2 transposed": (variant(("torch.outer(dL_dy_hat, h)", "torch.outer(h, dL_dy_hat)")), "transposed"),
    "dW1 transposed": (variant(("torch.outer(dL_du1, x)", "torch.outer(x, dL_du1)")), "transposed"),
    "dW1 from h": (variant(("torch.outer(dL_du1, x)", "torch.outer(dL_du1, h)")),
                   "dL/dW1 = torch.outer(dL_du1, x)"),
    "db1 before the sigmoid node": (variant(("    dL_db1 = dL_du1\n", "    dL_db1 = dL_dh\n")),
                                    "dL/db1 is wrong"),
    "wrong order": (variant((RETURN, "    return dL_dW2, dL_db2, dL_dW1, dL_db1\n")), "in the order"),
    "a dict": (variant((RETURN, "    return {'W1': dL_dW1, 'b1': dL_db1, 'W2': dL_dW2, 'b2': dL_db2}\n")),
               "not a dict"),
    "two gradients only": (variant((RETURN, "    return dL_dW1, dL_dW2\n")), "as a tuple"),
    "numpy": (variant((RETURN, "    return dL_dW1.numpy(), dL_db1.numpy(), dL_dW2.numpy(), dL_db2.numpy()\n")),
              "ndarray (NumPy)"),
    "dW1 summed to a number": (variant(("torch.outer(dL_du1, x)", "(dL_du1 * x.sum()).sum()")), "shape"),
    "reads the notebook's network": (variant(("def backprop(x, y, W1, b1, W2, b2)",
                                              "def backprop(inputs, target, w1, c1, w2, c2)")),
                                     "reads `W1`, `W2`, `b1`, `b2`, `x`, `y`"),
    "changes W1 in place": (variant(("    u1 = W1 @ x + b1\n", "    W1 -= 0.0 * W1 + 1e-3\n    u1 = W1 @ x + b1\n")),
                            "changed its argument `W1`"),
    "autograd on the caller's tensors": (
        "def backprop(x, y, W1, b1, W2, b2):\n    for p in (W1, b1, W2, b2):\n        p.requires_grad_(True)\n"
        "    loss = ((W2 @ torch.sigmoid(W1 @ x + b1) + b2 - y) ** 2).sum()\n"
        "    return torch.autograd.grad(loss, [W1, b1, W2, b2])\n", "switched on `W1.requires_grad`"),
    "endless loop": (variant((RETURN, "    while True:\n        pass\n")), "no answer after"),
}

CORRECT = {
    "reference": REFERENCE,
    "sigmoid written out": variant(("torch.sigmoid(u1)", "1 / (1 + torch.exp(-u1))")),
    "sigmoid' from u": variant(("dL_dh * h * (1 - h)", "dL_dh * torch.sigmoid(u1) * (1 - torch.sigmoid(u1))")),
    "outer by broadcasting": variant(("torch.outer(dL_dy_hat, h)", "dL_dy_hat[:, None] * h[None, :]"),
                                     ("torch.outer(dL_du1, x)", "dL_du1.unsqueeze(1) * x.unsqueeze(0)")),
    "einsum and matmul": variant(("torch.outer(dL_dy_hat, h)", "torch.einsum('o,h->oh', dL_dy_hat, h)"),
                                 ("W2.T @ dL_dy_hat", "dL_dy_hat @ W2")),
    "list returned": variant((RETURN, "    return [dL_dW1, dL_db1, dL_dW2, dL_db2]\n")),
    "loops over elements": (
        "def backprop(x, y, W1, b1, W2, b2):\n" + FORWARD +
        "    g = 2 * (y_hat - y)\n    dW2 = torch.zeros_like(W2)\n    dh = torch.zeros_like(h)\n"
        "    for o in range(len(g)):\n        for j in range(len(h)):\n"
        "            dW2[o, j] = g[o] * h[j]\n            dh[j] += W2[o, j] * g[o]\n"
        "    du1 = dh * h * (1 - h)\n    dW1 = torch.zeros_like(W1)\n"
        "    for j in range(len(du1)):\n        for d in range(len(x)):\n            dW1[j, d] = du1[j] * x[d]\n"
        "    return dW1, du1, dW2, g\n"),
    "float64 inside": variant(("    u1 = W1 @ x + b1\n", "    x, y, W1, b1, W2, b2 = (t.double() for t in (x, y, W1, b1, W2, b2))\n"
                                                        "    u1 = W1 @ x + b1\n")),
    "autograd on copies": (
        "def backprop(x, y, W1, b1, W2, b2):\n    ps = [p.detach().clone().requires_grad_() for p in (W1, b1, W2, b2)]\n"
        "    loss = ((ps[2] @ torch.sigmoid(ps[0] @ x + ps[1]) + ps[3] - y) ** 2).sum()\n"
        "    loss.backward()\n    return tuple(p.grad for p in ps)\n"),
    "error named e, 2 moved": variant(("    dL_dy_hat = 2 * (y_hat - y)\n", "    e = y_hat - y\n    dL_dy_hat = e + e\n")),
}


@pytest.mark.parametrize("kind", WRONG)
def test_wrong_answers_never_pass(kind, capsys, short_time_limit):
    expect_hint(check_backprop, *WRONG[kind], capsys, **NOTEBOOK_3)


@pytest.mark.parametrize("kind", CORRECT)
def test_right_answers_pass(kind):
    expect_pass(check_backprop, CORRECT[kind], **NOTEBOOK_3)


def test_autograd_passes_with_a_note_and_hand_written_answers_without():
    result = check_backprop(define(CORRECT["autograd on copies"]))
    assert result.passed and "by hand" in result.notes[0]
    assert not check_backprop(define(REFERENCE)).notes


def test_hints_say_which_gradients_are_already_right():
    result = check_backprop(define(WRONG["no sigmoid node going back"][0]))
    assert "dL/db2 and dL/dW2 are right, but dL/db1 is wrong" in result.message


def test_cases_cover_square_and_single_unit_networks():
    shapes = [(len(x), len(W1), len(y)) for x, y, W1, *_ in cases()]
    assert (1, 1, 1) in shapes and any(d == h == o for d, h, o in shapes)
    assert any(h == o and d != h for d, h, o in shapes) and any(d == h and h != o for d, h, o in shapes)


def test_reference_and_simulator_agree_with_autograd():
    for case in cases():
        params = [p.clone().requires_grad_(True) for p in case[2:]]
        x, y = case[:2]
        loss = ((params[2] @ torch.sigmoid(params[0] @ x + params[1]) + params[3] - y) ** 2).sum()
        for ref, mine, sim in zip(torch.autograd.grad(loss, params), backprop(*case), backward_pass(*case)):
            assert torch.allclose(ref, mine, atol=1e-6) and torch.allclose(ref, sim, atol=1e-6)

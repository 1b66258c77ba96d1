"""check_quadratic (notebook 2): wrong answers of many kinds never pass (including those that used to:
hard-coded start values, a copy-paste slip between two learning rates that are equal in the
notebook), differently written right ones do, and the numbers the notebook quotes hold."""
import pytest
import torch

from course_utils.exercises.quadratic import (LRS, START, X, Y, cases, check_quadratic, predict, simulate,
                                              train_quadratic)
from learner_code import NOTEBOOK_2, define, expect_hint, expect_pass, short_time_limit  # noqa: F401

HEAD = ("def train_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs):\n"
        "    w1 = torch.tensor(w1, requires_grad=True)\n"
        "    w2 = torch.tensor(w2, requires_grad=True)\n"
        "    b = torch.tensor(b, requires_grad=True)\n"
        "    history = []\n")
FORWARD = ("            y_hat = w1 * x_i**2 + w2 * x_i + b\n"
           "            loss = (y_hat - y_i) ** 2\n"
           "            loss.backward()\n")
UPDATE = ("            with torch.no_grad():\n"
          "                w1 -= lr_w1 * w1.grad\n"
          "                w2 -= lr_w2 * w2.grad\n"
          "                b -= lr_b * b.grad\n")
ZERO = ("            w1.grad.zero_()\n"
        "            w2.grad.zero_()\n"
        "            b.grad.zero_()\n")
LOOP = "    for epoch in range(num_epochs):\n        for x_i, y_i in zip(x, y):\n"
APPEND = "        history.append((w1.item(), w2.item(), b.item()))\n    return history\n"
REFERENCE = HEAD + LOOP + FORWARD + UPDATE + ZERO + APPEND


def variant(*replacements) -> str:
    """The reference loop with some (old, new) text replacements: one learner's slip."""
    source = REFERENCE
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new)
    return source


WRONG = {  # kind -> (learner code, a fragment the hint must contain)
    "no zero_grad": (variant((ZERO, "")), "accumulate"),
    "sign error": (variant(*[(f"{p} -= lr", f"{p} += lr") for p in ("w1", "w2", "b")]), "sign error"),
    "sign error on b only": (variant(("b -= lr_b", "b += lr_b")), "b moves up the gradient"),
    "one lr for all (lr_w1)": (variant(("lr_w2 * w2", "lr_w1 * w2"), ("lr_b * b", "lr_w1 * b")),
                               "w2 and b are updated with lr_w1"),
    "one lr for all (lr_w2)": (variant(("lr_w1 * w1", "lr_w2 * w1"), ("lr_b * b", "lr_w2 * b")),
                               "w1 and b are updated with lr_w2"),
    "copy-paste: b gets lr_w1": (variant(("lr_b * b", "lr_w1 * b")), "b is updated with lr_w1"),
    "copy-paste: w2 gets lr_b": (variant(("lr_w2 * w2", "lr_b * w2")), "w2 is updated with lr_b"),
    "swapped lr_w1 and lr_w2": (variant(("lr_w1 * w1", "lr_w2 * w1"), ("lr_w2 * w2", "lr_w1 * w2")),
                                "w1 is updated with lr_w2; w2 is updated with lr_w1"),
    "b never updated": (variant(("                b -= lr_b * b.grad\n", "")), "b never changes"),
    "zeroed before the step": (variant((FORWARD + UPDATE + ZERO, FORWARD + ZERO + UPDATE)),
                               "w1, w2 and b never change"),
    "one update per epoch (sum)": (HEAD + "    for epoch in range(num_epochs):\n"
                                   "        if True:\n            x_i, y_i = x, y\n"
                                   + FORWARD.replace("** 2\n", "** 2\n            loss = loss.sum()\n")
                                   + UPDATE + ZERO + APPEND, "summed loss"),
    "one update per epoch (mean)": (HEAD + "    for epoch in range(num_epochs):\n"
                                    "        if True:\n            x_i, y_i = x, y\n"
                                    + FORWARD.replace("** 2\n", "** 2\n            loss = loss.mean()\n")
                                    + UPDATE + ZERO + APPEND, "mean loss"),
    "half squared error": (variant(("loss = (y_hat - y_i) ** 2", "loss = 0.5 * (y_hat - y_i) ** 2")), "½"),
    "absolute error": (variant(("loss = (y_hat - y_i) ** 2", "loss = (y_hat - y_i).abs()")), "after epoch 1"),
    "x and x² swapped": (variant(("w1 * x_i**2 + w2 * x_i", "w1 * x_i + w2 * x_i**2")), "after epoch 1"),
    "history of tensors": (variant(("(w1.item(), w2.item(), b.item())", "(w1, w2, b)")), "tensors, not floats"),
    "history per sample": (variant((ZERO + APPEND, ZERO + "            history.append((w1.item(), w2.item(), "
                                                   "b.item()))\n    return history\n")), "one per sample"),
    "final values only": (variant((APPEND, "    return (w1.item(), w2.item(), b.item())\n")), "final values"),
    "history as a tensor": (variant(("return history", "return torch.tensor(history)")), "not a Tensor"),
    "rounded history": (variant(("(w1.item(), w2.item(), b.item())",
                                 "(round(w1.item(), 2), round(w2.item(), 2), round(b.item(), 2))")),
                        "after epoch 1"),
    "one epoch too few": (variant(("range(num_epochs)", "range(num_epochs - 1)")), "one per epoch"),
    "starts with the start values": (variant(("    history = []\n", "    history = [(w1.item(), w2.item(), "
                                              "b.item())]\n"), ("range(num_epochs)", "range(num_epochs - 1)")),
                                     "starts with the start values"),
    "hard-coded start values": (variant(("tensor(w1,", "tensor(0.05,"), ("tensor(w2,", "tensor(1.5,"),
                                        ("tensor(b,", "tensor(0.05,")), "notebook's start values"),
    "hard-coded learning rates": (variant(("lr_w1 *", "0.001 *"), ("lr_w2 *", "0.05 *"), ("lr_b *", "0.001 *")),
                                  "notebook's learning rates"),
    "notebook data": (variant(("(x, y, w1", "(inputs, targets, w1")), "notebook's data"),
    "update outside no_grad": (variant(("            with torch.no_grad():\n", "            if True:\n")),
                               "torch.no_grad()"),
    "non-leaf update": (variant(*[(f"{p} -= lr_{p} * {p}.grad", f"{p} = {p} - lr_{p} * {p}.grad")
                                  for p in ("w1", "w2", "b")]), "w1 -= lr_w1 * w1.grad"),
    "non-leaf update without no_grad": (variant((UPDATE, "".join(f"            {p} = {p} - lr_{p} * {p}.grad\n"
                                                                  for p in ("w1", "w2", "b")))), "non-leaf"),
    "changes x in place": (variant(("    history = []\n", "    history = []\n    x /= x.abs().max()\n")),
                           "changed its argument `x`"),
    "single-lr optimizer": (HEAD + "    opt = torch.optim.SGD([w1, w2, b], lr=lr_w1)\n" + LOOP + FORWARD
                            + "            opt.step()\n            opt.zero_grad()\n" + APPEND,
                            "w2 and b are updated with lr_w1"),
    "endless loop": (variant(("for x_i, y_i in zip(x, y):", "for x_i, y_i in zip(x, y):\n"
                                                            "            while loss_ok := True:\n"
                                                            "                pass")),
                     "no answer after"),
}

CORRECT = {
    "reference": REFERENCE,
    "index loop": variant(("for x_i, y_i in zip(x, y):", "for i in range(len(x)):\n            x_i, y_i = x[i], y[i]")),
    "parameters in a list": (
        "def train_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs):\n"
        "    params = [torch.tensor(v, requires_grad=True) for v in (w1, w2, b)]\n"
        "    lrs = [lr_w1, lr_w2, lr_b]\n    history = []\n"
        "    for _ in range(num_epochs):\n        for x_i, y_i in zip(x, y):\n"
        "            loss = (params[0] * x_i * x_i + params[1] * x_i + params[2] - y_i) ** 2\n"
        "            loss.backward()\n            with torch.no_grad():\n"
        "                for p, lr in zip(params, lrs):\n                    p -= lr * p.grad\n"
        "                    p.grad.zero_()\n"
        "        history.append(tuple(p.item() for p in params))\n    return history\n"),
    "gradients by hand": (
        "def train_quadratic(x, y, w1, w2, b, lr_w1, lr_w2, lr_b, num_epochs):\n"
        "    w1, w2, b = torch.tensor(w1), torch.tensor(w2), torch.tensor(b)\n    history = []\n"
        "    for epoch in range(num_epochs):\n        for x_i, y_i in zip(x, y):\n"
        "            err = w1 * x_i**2 + w2 * x_i + b - y_i\n"
        "            w1 = w1 - lr_w1 * 2 * err * x_i**2\n            w2 = w2 - lr_w2 * 2 * err * x_i\n"
        "            b = b - lr_b * 2 * err\n"
        "        history.append((float(w1), float(w2), float(b)))\n    return history\n"),
    "optimizer with one group per parameter": (
        HEAD + "    opt = torch.optim.SGD([{'params': [w1], 'lr': lr_w1}, {'params': [w2], 'lr': lr_w2},\n"
               "                           {'params': [b], 'lr': lr_b}])\n" + LOOP
        + "            opt.zero_grad()\n" + FORWARD + "            opt.step()\n" + APPEND),
    "grad set to None": variant((ZERO, "            w1.grad = w2.grad = b.grad = None\n")),
    "zero before backward": variant((FORWARD, "            for p in (w1, w2, b):\n"
                                              "                if p.grad is not None:\n"
                                              "                    p.grad.zero_()\n" + FORWARD), (ZERO, "")),
    "update through .data": variant((UPDATE, "            w1.data -= lr_w1 * w1.grad\n"
                                             "            w2.data -= lr_w2 * w2.grad\n"
                                             "            b.data -= lr_b * b.grad\n")),
    "autograd.grad": variant(("            loss.backward()\n", "            g1, g2, gb = torch.autograd.grad(loss, [w1, w2, b])\n"),
                             ("w1.grad\n", "g1\n"), ("w2.grad\n", "g2\n"), ("b.grad\n", "gb\n"), (ZERO, "")),
    "reads y_hat.grad on the way": variant(("            loss.backward()\n",
                                            "            loss.backward()\n            seen = y_hat.grad\n")),
    "swapped difference, float()": variant(("(y_hat - y_i) ** 2", "(y_i - y_hat) ** 2"),
                                           ("(w1.item(), w2.item(), b.item())", "(float(w1), float(w2), float(b))")),
    "float64 parameters": variant(*[(f"tensor({p}, requires_grad", f"tensor({p}, dtype=torch.float64, requires_grad")
                                    for p in ("w1", "w2", "b")]),
}


@pytest.mark.parametrize("kind", WRONG)
def test_wrong_answers_never_pass(kind, capsys, short_time_limit):
    expect_hint(check_quadratic, *WRONG[kind], capsys, **NOTEBOOK_2)


@pytest.mark.parametrize("kind", CORRECT)
def test_right_answers_pass(kind):
    expect_pass(check_quadratic, CORRECT[kind], **NOTEBOOK_2)


def test_pass_quotes_the_notebook_numbers_and_a_hand_written_loop_gets_a_note():
    result = check_quadratic(define(REFERENCE))
    assert "10.0058" in result.message and not result.notes
    by_hand = check_quadratic(define(CORRECT["gradients by hand"]))
    assert by_hand.passed and "loss.backward()" in by_hand.notes[0]


def test_a_hint_names_the_case_so_the_learner_can_rerun_it():
    result = check_quadratic(define(WRONG["copy-paste: b gets lr_w1"][0]))
    first = cases()[0]
    assert f"lr_b = {first.lrs[2]}" in result.message and f"x = {list(first.x)}" in result.message


def test_cases_cover_one_sample_and_distinct_learning_rates():
    runs = cases()
    assert min(len(c.x) for c in runs) == 1
    for c in runs:
        assert len(set(c.lrs)) == 3 and min(c.lrs[1] / c.lrs[0], c.lrs[2] / c.lrs[1]) > 2


def test_reference_and_simulator_agree_and_the_notebook_prediction_holds():
    for c in cases():
        ref = train_quadratic(*c.args())
        assert torch.allclose(torch.tensor(ref), torch.tensor(simulate(c.x, c.y, c.start, c.lrs, c.num_epochs)),
                              rtol=1e-5, atol=1e-6)
    history = train_quadratic(torch.tensor(X), torch.tensor(Y), *START, *LRS, 200)
    assert predict(*history[-1], 5.0) == pytest.approx(10.005765914916992, abs=1e-6)
    assert predict(*(torch.tensor(v) for v in history[-1]), 5.0) == 10.005765914916992

"""check_linear (notebook 1): wrong update loops of many kinds never pass, differently written right
ones do, and the numbers the notebook states about its learning rates hold."""
import math

import pytest
import torch

from course_utils.exercises.linear import LR, W_START, X, Y, cases, check_linear, simulate, train_linear
from learner_code import define, expect_hint, expect_pass, short_time_limit  # noqa: F401

NOTEBOOK_1 = {"x_data": list(X), "y_data": list(Y), "w": torch.tensor(1.0, requires_grad=True), "lr": LR,
              "num_epochs": 100}

HEAD = ("def train_linear(x_data, y_data, w_start, lr, num_epochs):\n"
        "    w = torch.tensor(w_start, requires_grad=True)\n"
        "    history = []\n"
        "    for epoch in range(num_epochs):\n"
        "        for x, y in zip(x_data, y_data):\n")
FORWARD = ("            loss = (x * w - y) ** 2\n"
           "            loss.backward()\n")
UPDATE = ("            with torch.no_grad():\n"
          "                w -= lr * w.grad\n")
ZERO = "            w.grad.zero_()\n"
APPEND = "        history.append(w.item())\n    return history\n"
REFERENCE = HEAD + FORWARD + UPDATE + ZERO + APPEND
# the notebook's own forward and loss, which read the notebook's w
NOTEBOOK_FUNCTIONS = ("def forward(x):\n    return x * w\n\n\ndef loss(x, y):\n    return (forward(x) - y) ** 2\n\n\n")


def variant(*replacements) -> str:
    """The reference loop with some (old, new) text replacements: one learner's slip."""
    source = REFERENCE
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new)
    return source


def once_per_epoch(reduce: str) -> str:
    return (HEAD.replace("        for x, y in zip(x_data, y_data):\n",
                         "        x = torch.tensor(x_data)\n        y = torch.tensor(y_data)\n        if True:\n")
            + FORWARD.replace("** 2\n", f"** 2\n            loss = loss.{reduce}()\n") + UPDATE + ZERO + APPEND)


WRONG = {  # kind -> (learner code, a fragment the hint must contain)
    "no zero_grad": (variant((ZERO, "")), "accumulates"),
    "sign error": (variant(("w -= lr", "w += lr")), "sign error"),
    "zeroed before the update": (variant((UPDATE + ZERO, ZERO + UPDATE)), "w never changes"),
    "once per epoch, summed": (once_per_epoch("sum"), "summed gradient"),
    "once per epoch, mean": (once_per_epoch("mean"), "mean gradient"),
    "only the last sample": (HEAD + "            pass\n" + FORWARD.replace("            ", "        ")
                             + UPDATE.replace("            ", "        ", 1).replace("                ", "            ")
                             + ZERO.replace("            ", "        ") + APPEND, "only the last sample"),
    "half squared error": (variant(("loss = (x * w - y) ** 2", "loss = 0.5 * (x * w - y) ** 2")), "half as large"),
    "gradient by hand without x": (variant((FORWARD, ""), ("w -= lr * w.grad", "w -= lr * 2 * (x * w - y)"),
                                           (ZERO, "")), "lacks the factor x"),
    "error not squared": (variant(("(x * w - y) ** 2", "(x * w - y)")), "not its square"),
    "absolute error": (variant(("(x * w - y) ** 2", "(x * w - y).abs()")), "absolute error"),
    "steps by the loss": (variant(("w -= lr * w.grad", "w -= lr * loss")), "stepped by the loss"),
    "no learning rate": (variant(("w -= lr * w.grad", "w -= w.grad")), "no learning rate"),
    "w recreated every epoch": (variant(("    w = torch.tensor(w_start, requires_grad=True)\n", ""),
                                        ("    for epoch in range(num_epochs):\n",
                                         "    for epoch in range(num_epochs):\n"
                                         "        w = torch.tensor(w_start, requires_grad=True)\n")),
                                "starts again from w_start"),
    "history starts with w_start": (variant(("    history = []\n", "    history = [w.item()]\n"),
                                            ("range(num_epochs)", "range(num_epochs - 1)")), "starts with w_start"),
    "hard-coded start": (variant(("tensor(w_start,", "tensor(1.0,")), "start value 1.0"),
    "hard-coded learning rate": (variant(("w -= lr *", "w -= 0.01 *")), "learning rate 0.01"),
    "hard-coded data": (variant(("zip(x_data, y_data)", "zip([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0])")),
                        "notebook's data"),
    "history of tensors": (variant(("history.append(w.item())", "history.append(w.detach().clone())")),
                           "tensors, not floats"),
    "history per sample": (variant((ZERO + APPEND, ZERO + "            history.append(w.item())\n"
                                                   "    return history\n")), "one per sample"),
    "final w only": (variant((APPEND, "    return w.item()\n")), "not only the final w"),
    "history as a tensor": (variant(("return history", "return torch.tensor(history)")), "not a Tensor"),
    "one epoch too few": (variant(("range(num_epochs)", "range(num_epochs - 1)")), "one per epoch"),
    "update outside no_grad": (variant((UPDATE, "            w -= lr * w.grad\n")), "torch.no_grad()"),
    "new tensor instead of in-place": (variant(("w -= lr * w.grad", "w = w - lr * w.grad")), "w -= lr * w.grad"),
    "uses the notebook's loss()": (NOTEBOOK_FUNCTIONS + variant(("loss = (x * w - y) ** 2", "l = loss(x, y)"),
                                                                ("loss.backward()", "l.backward()")),
                                   "notebook's own w"),
    "zero_grad before the first backward": (variant((FORWARD, ZERO + FORWARD), (UPDATE + ZERO, UPDATE)),
                                            "w.grad is None"),
    "grad set to 0": (variant((ZERO, "            w.grad = 0\n")), "TypeError"),
    "w without requires_grad": (variant(("tensor(w_start, requires_grad=True)", "tensor(w_start)")),
                                "requires_grad=True"),
    "changes x_data in place": (variant(("    history = []\n", "    history = []\n    x_data.reverse()\n")),
                                "changed its argument `x_data`"),
    "loss via .item()": (variant(("loss = (x * w - y) ** 2", "loss = torch.tensor((x * w - y).item() ** 2, "
                                                             "requires_grad=True)")), "w.grad is None"),
    "endless loop": (variant(("        for x, y in zip(x_data, y_data):\n",
                              "        for x, y in zip(x_data, y_data):\n            while True:\n"
                              "                pass\n")), "no answer after"),
}

CORRECT = {
    "reference": REFERENCE,
    "index loop": variant(("for x, y in zip(x_data, y_data):",
                           "for i in range(len(x_data)):\n            x, y = x_data[i], y_data[i]")),
    "y_hat named": variant(("loss = (x * w - y) ** 2", "y_hat = x * w\n            loss = (y_hat - y) ** 2")),
    "gradient by hand": variant((FORWARD, ""), ("w -= lr * w.grad", "w -= lr * 2 * x * (x * w - y)"), (ZERO, "")),
    "zero before backward, guarded": variant((ZERO, ""), (FORWARD, "            if w.grad is not None:\n"
                                                                   "                w.grad.zero_()\n" + FORWARD)),
    "grad set to None": variant((ZERO, "            w.grad = None\n")),
    "update through .data": variant((UPDATE, "            w.data -= lr * w.grad\n")),
    "torch.optim.SGD": variant(("    history = []\n", "    history = []\n    opt = torch.optim.SGD([w], lr=lr)\n"),
                               (UPDATE + ZERO, "            opt.step()\n            opt.zero_grad()\n")),
    "autograd.grad": variant(("            loss.backward()\n", "            (g,) = torch.autograd.grad(loss, w)\n"),
                             ("w.grad\n", "g\n"), (ZERO, "")),
    "float() and swapped difference": variant(("(x * w - y) ** 2", "(y - w * x) ** 2"),
                                              ("w.item()", "float(w)")),
    "reads loss.grad on the way": variant(("            loss.backward()\n",
                                           "            loss.backward()\n            seen = (x * w).grad\n")),
    "tensors made of the lists": variant(("zip(x_data, y_data)", "zip(torch.tensor(x_data), torch.tensor(y_data))")),
}


@pytest.mark.parametrize("kind", WRONG)
def test_wrong_answers_never_pass(kind, capsys, short_time_limit):
    expect_hint(check_linear, *WRONG[kind], capsys, **NOTEBOOK_1)


@pytest.mark.parametrize("kind", CORRECT)
def test_right_answers_pass(kind):
    expect_pass(check_linear, CORRECT[kind], **NOTEBOOK_1)


def test_notes_say_what_the_exercise_meant():
    assert not check_linear(define(REFERENCE)).notes
    by_hand = check_linear(define(CORRECT["gradient by hand"]))
    assert by_hand.passed and "loss.backward()" in by_hand.notes[0]
    optimizer = check_linear(define(CORRECT["torch.optim.SGD"]))
    assert optimizer.passed and "w -= lr * w.grad" in optimizer.notes[0]


def test_a_hint_names_the_case_so_the_learner_can_rerun_it():
    result = check_linear(define(WRONG["sign error"][0]))
    first = cases()[0]
    assert f"lr = {first.lr}" in result.message and f"x_data = {list(first.x)}" in result.message


def test_cases_differ_from_the_notebook_and_from_each_other():
    runs = cases()
    assert min(len(c.x) for c in runs) == 1 and max(len(c.x) for c in runs) >= 5
    assert len({c.lr for c in runs} | {LR}) == len(runs) + 1
    assert len({c.w_start for c in runs} | {W_START}) == len(runs) + 1
    assert len({c.num_epochs for c in runs}) > 1


def test_reference_and_simulator_agree():
    for c in cases():
        assert torch.allclose(torch.tensor(train_linear(*c.args())),
                              torch.tensor(simulate(c.x, c.y, c.w_start, c.lr, c.num_epochs)), rtol=1e-5, atol=1e-6)


def epoch_factor(lr):
    return math.prod(1 - 2 * lr * x * x for x in X)


def test_notebook_1s_learning_rate_limits():
    """What notebook 1 says: per-sample SGD on its data converges up to lr ≈ 0.152 and diverges above,
    except in a narrow window around 0.5; a single x = 4 step overshoots from lr = 1/16 on."""
    grid = [i / 20000 for i in range(1, 100001)]  # lr from 0.00005 to 5
    converging = [lr for lr in grid if abs(epoch_factor(lr)) < 1]
    low = [lr for lr in converging if lr < 0.3]
    assert low == grid[:len(low)] and max(low) == pytest.approx(0.1518, abs=1e-4)
    window = [lr for lr in converging if lr >= 0.3]
    assert min(window) > 0.498 and max(window) < 0.502
    assert 1 - 32 * 0.0625 == -1 and 1 - 32 * 0.1 == pytest.approx(-2.2)
    runs = {lr: train_linear(list(X), list(Y), W_START, lr, 100)[-1] for lr in (0.1, 0.15, 0.16, 0.5)}
    assert abs(runs[0.1] - 2) < 1e-6 and abs(runs[0.15] - 2) < 1e-3 and runs[0.5] == 2.0
    assert -1e17 < runs[0.16] < -1e16  # "about −7·10¹⁶"


def test_notebook_1s_float32_statements():
    """w stops one float32 step below 2, where every remaining update is under half a step."""
    history = train_linear(list(X), list(Y), W_START, LR, 100)
    w = torch.tensor(history[-1])
    assert w.item() == 2 - 2**-23 and torch.nextafter(w, torch.tensor(3.0)).item() == 2.0
    steps = [abs(LR * 2 * x * (x * w.item() - y)) for x, y in zip(X, Y)]
    assert max(steps) < 4e-8 < 2**-23 / 2
    assert abs(epoch_factor(LR) - 0.5027) < 1e-4

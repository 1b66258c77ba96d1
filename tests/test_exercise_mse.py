"""check_mse (notebook 4): wrong answers of many kinds never pass, differently written right ones do."""
import pytest
import torch

from course_utils.exercises.mse import check_mse, mse
from learner_code import define, expect_hint, expect_pass, short_time_limit  # noqa: F401

NOTEBOOK_4 = {"y_hat": torch.tensor([1.0, 2.0, 3.0]), "y": torch.tensor([1.0, 2.0, 5.0])}

WRONG = {  # kind -> (learner code, a fragment the hint must contain)
    "summed": ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).sum()", "you summed"),
    "l1": ("def mse(y_hat, y):\n    return (y_hat - y).abs().mean()", "L1 loss"),
    "no square": ("def mse(y_hat, y):\n    return (y_hat - y).mean()", "the square is missing"),
    "rmse": ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).mean().sqrt()", "RMSE"),
    "negative": ("def mse(y_hat, y):\n    return -((y_hat - y) ** 2).mean()", "sign error"),
    "halved": ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).mean() / 2", "halved"),
    "per element": ("def mse(y_hat, y):\n    return (y_hat - y) ** 2", "one value per element"),
    "divides by rows": ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).sum() / len(y)", "number of rows"),
    "n minus 1": ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).sum() / (y.numel() - 1)", "n − 1"),
    "variance": ("def mse(y_hat, y):\n    d = y_hat - y\n    return (d ** 2).mean() - d.mean() ** 2",
                 "variance"),
    "max": ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).max()", "largest squared error"),
    "mean over dim 0": ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).mean(dim=0)", "shape"),
    "python float": ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).mean().item()", "Python number"),
    "numpy scalar": ("def mse(y_hat, y):\n    d = (y_hat - y).detach().numpy()\n    return (d ** 2).mean()",
                     "NumPy"),
    "detached": ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).mean().detach()", "no gradient reaches"),
    "re-wrapped": ("def mse(y_hat, y):\n    loss = ((y_hat - y) ** 2).mean()\n"
                   "    return torch.tensor(loss.item(), requires_grad=True)", "even with requires_grad=True"),
    "detached part": ("def mse(y_hat, y):\n    d = y_hat - y\n    return (d.detach() * d).mean()",
                      "wrong gradient"),
    "under no_grad": ("def mse(y_hat, y):\n    with torch.no_grad():\n        return ((y_hat - y) ** 2).mean()",
                      "no gradient reaches"),
    "via .data": ("def mse(y_hat, y):\n    return ((y_hat.data - y) ** 2).mean()", "no gradient reaches"),
    "changes y": ("def mse(y_hat, y):\n    y -= y_hat.detach()\n    return (y ** 2).mean()",
                  "changed its argument `y`"),
    "calls backward": ("def mse(y_hat, y):\n    loss = ((y_hat - y) ** 2).mean()\n    loss.backward()\n"
                       "    return loss", "backward()"),
    "notebook globals": ("def mse(a, b):\n    return ((y_hat - y) ** 2).mean()", "reads `y`, `y_hat`"),
    "shape (1,)": ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).mean().reshape(1)", "shape (1,)"),
    "list": ("def mse(y_hat, y):\n    return [((y_hat - y) ** 2).mean()]", "list"),
    "endless loop": ("def mse(y_hat, y):\n    total = 0\n    while total >= 0:\n        total += 1\n"
                     "    return total", "no answer after"),
    "first row only": ("def mse(y_hat, y):\n    return ((y_hat[0] - y[0]) ** 2).mean()", "Seen with"),
}

CORRECT = {
    "reference": "def mse(y_hat, y):\n    return ((y_hat - y) ** 2).mean()",
    "swapped difference": "def mse(y_hat, y):\n    return ((y - y_hat) ** 2).mean()",
    "pow": "def mse(y_hat, y):\n    return (y_hat - y).pow(2).mean()",
    "square": "def mse(y_hat, y):\n    return torch.mean(torch.square(y_hat - y))",
    "sum over numel": "def mse(y_hat, y):\n    d = y_hat - y\n    return (d * d).sum() / d.numel()",
    "norm": "def mse(y_hat, y):\n    return torch.linalg.norm(y_hat - y) ** 2 / y.numel()",
    "flatten and dot": "def mse(y_hat, y):\n    d = (y_hat - y).reshape(-1)\n    return d @ d / len(d)",
    "functional": "def mse(y_hat, y):\n    return F.mse_loss(y_hat, y)",
    "module": "def mse(y_hat, y):\n    loss_fn = nn.MSELoss()\n    return loss_fn(y_hat, y)",
    "prints a non-leaf .grad": "def mse(y_hat, y):\n    d = y_hat - y\n    print(d.grad)\n"
                               "    return (d ** 2).mean()",
    "float64 inside": "def mse(y_hat, y):\n    d = (y_hat - y).double()\n    return (d ** 2).mean().float()",
}


@pytest.mark.parametrize("kind", WRONG)
def test_wrong_answers_never_pass(kind, capsys, short_time_limit):
    expect_hint(check_mse, *WRONG[kind], capsys, **NOTEBOOK_4)


@pytest.mark.parametrize("kind", CORRECT)
def test_right_answers_pass(kind):
    expect_pass(check_mse, CORRECT[kind], **NOTEBOOK_4)


def test_built_in_passes_with_a_note_on_what_was_meant():
    result = check_mse(define(CORRECT["functional"]))
    assert result.passed and "mse_loss" in result.notes[0] and "by hand" in result.notes[0]
    assert not check_mse(define(CORRECT["reference"])).notes


def test_a_non_leaf_grad_warning_is_a_note_not_a_verdict():
    result = check_mse(define(CORRECT["prints a non-leaf .grad"]))
    assert result.passed
    assert any("not a leaf" in note for note in result.notes)
    assert any("printed" in note for note in result.notes)  # its prints are counted, not shown


def test_reference_solution_matches_nn_mse_loss():
    a, t = torch.tensor([1.0, 2, 3]), torch.tensor([1.0, 2, 5])
    assert mse(a, t).item() == pytest.approx(4 / 3)

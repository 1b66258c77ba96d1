"""check_cross_entropy (notebook 4): wrong answers of many kinds never pass, right ones do."""
import pytest
import torch

from course_utils.exercises.cross_entropy import check_cross_entropy, cross_entropy
from learner_code import define, expect_hint, expect_pass, short_time_limit  # noqa: F401

NOTEBOOK_4 = {"logits_batch": torch.randn(5, 4), "targets_batch": torch.randint(0, 4, (5,))}


def ce(body: str) -> str:
    """A learner's cross_entropy whose body is ``body`` (one or more lines)."""
    lines = "\n".join("    " + line for line in body.strip().splitlines())
    return f"def cross_entropy(logits, targets):\n{lines}"


ROWS = "rows = torch.arange(len(targets))\n"
WRONG = {  # kind -> (learner code, a fragment the hint must contain)
    "averaged probabilities": (ce(ROWS + "return -logits.softmax(dim=1)[rows, targets].mean()"), "take the log"),
    "sign": (ce(ROWS + "return logits.log_softmax(dim=1)[rows, targets].mean()"), "sign error"),
    "summed": (ce(ROWS + "return -logits.log_softmax(dim=1)[rows, targets].sum()"), "you summed"),
    "every target for every row": (ce("return -logits.log_softmax(dim=1)[:, targets].mean()"), "indexing error"),
    "N×N result": (ce("return -logits.log_softmax(dim=1)[:, targets]"), "N×N"),
    "per-sample losses": (ce(ROWS + "return -logits.log_softmax(dim=1)[rows, targets]"), "one value per sample"),
    "softmax over samples": (ce(ROWS + "return -logits.log_softmax(dim=0)[rows, targets].mean()"),
                             "wrong dimension"),
    "raw logits": (ce(ROWS + "return -logits[rows, targets].mean()"), "raw logits"),
    "softmax twice": (ce("return F.cross_entropy(logits.softmax(dim=1), targets)"), "applied softmax"),
    "batch-wide logsumexp": (ce(ROWS + "return -(logits - logits.exp().sum().log())[rows, targets].mean()"),
                             "each row separately"),
    "naive exp": (ce(ROWS + "probs = logits.exp() / logits.exp().sum(dim=1, keepdim=True)\n"
                            "return -probs[rows, targets].log().mean()"), "overflows"),
    "naive logsumexp": (ce(ROWS + "lse = torch.log(torch.sum(torch.exp(logits), dim=1))\n"
                                  "return (lse - logits[rows, targets]).mean()"), "overflows"),
    "one max for the batch": (ce(ROWS + "z = logits - logits.max()\n"
                                        "log_p = z - z.exp().sum(dim=1, keepdim=True).log()\n"
                                        "return -log_p[rows, targets].mean()"), "each row's own max"),
    "log of softmax": (ce(ROWS + "return -logits.softmax(dim=1).log()[rows, targets].mean()"),
                       "log of the probabilities"),
    "all classes averaged": (ce("return -logits.log_softmax(dim=1).mean()"), "every class"),
    "divided by classes": (ce(ROWS + "return -logits.log_softmax(dim=1)[rows, targets].mean() / logits.shape[1]"),
                           "number of classes"),
    "rows and columns swapped": (ce(ROWS + "return -logits.log_softmax(dim=1)[targets, rows].mean()"),
                                 "out of bounds"),
    "shift not added back": (ce(ROWS + "z = logits - logits.max(dim=1, keepdim=True).values\n"
                                       "log_p = logits - z.exp().sum(dim=1, keepdim=True).log()\n"
                                       "return -log_p[rows, targets].mean()"), "Seen with ordinary logits"),
    "python float": (ce("return F.cross_entropy(logits, targets).item()"), "Python number"),
    "numpy": (ce("return F.cross_entropy(logits, targets).detach().numpy()"), "NumPy"),
    "re-wrapped": (ce("loss = F.cross_entropy(logits, targets)\n"
                      "return torch.tensor(loss.item(), requires_grad=True)"), "no gradient reaches"),
    "detached log-normaliser": (ce(ROWS + "z = logits - logits.max(dim=1, keepdim=True).values\n"
                                          "log_p = z - z.exp().sum(dim=1, keepdim=True).log().detach()\n"
                                          "return -log_p[rows, targets].mean()"), "wrong gradient"),
    "shifts logits in place": (ce(ROWS + "logits.data -= logits.data.max(dim=1, keepdim=True).values\n"
                                         "log_p = logits - logits.exp().sum(dim=1, keepdim=True).log()\n"
                                         "return -log_p[rows, targets].mean()"), "changed its argument `logits`"),
    "notebook globals": (ce("return F.cross_entropy(logits_batch, targets_batch)"), "reads `logits_batch`"),
    "endless loop": (ce("i = 0\nwhile i < len(targets):\n    loss = F.cross_entropy(logits, targets)\n"
                        "return loss"), "no answer after"),
}

CORRECT = {
    "reference": ce(ROWS + "shifted = logits - logits.max(dim=1, keepdim=True).values\n"
                           "log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()\n"
                           "return -log_probs[rows, targets].mean()"),
    "logsumexp": ce("picked = logits[torch.arange(len(targets)), targets]\n"
                    "return (torch.logsumexp(logits, dim=1) - picked).mean()"),
    "log_softmax": ce("log_p = F.log_softmax(logits, dim=-1)\n"
                      "return -log_p[range(len(targets)), targets].mean()"),
    "gather": ce("log_p = logits.log_softmax(dim=1)\n"
                 "return -log_p.gather(1, targets.unsqueeze(1)).squeeze(1).mean()"),
    "one-hot": ce("one_hot = F.one_hot(targets, logits.shape[1]).float()\n"
                  "return -(one_hot * logits.log_softmax(dim=1)).sum(dim=1).mean()"),
    "loop over rows": ce("total = 0\nfor z, t in zip(logits, targets):\n    m = z.max()\n"
                         "    total = total + (m + (z - m).exp().sum().log()) - z[t]\n"
                         "return total / len(targets)"),
    "detached max": ce(ROWS + "m = logits.detach().max(dim=1, keepdim=True).values\n"
                              "log_p = logits - m - (logits - m).exp().sum(dim=1, keepdim=True).log()\n"
                              "return -log_p[rows, targets].mean()"),
    "functional": ce("return F.cross_entropy(logits, targets)"),
    "module": ce("return nn.CrossEntropyLoss()(logits, targets)"),
    "nll of log_softmax": ce("return F.nll_loss(F.log_softmax(logits, dim=1), targets)"),
    "prints non-leaf grad": ce("log_p = logits.log_softmax(dim=1)\nprint('grad of log_p:', log_p.grad)\n"
                               "return -log_p[torch.arange(len(targets)), targets].mean()"),
}


@pytest.mark.parametrize("kind", WRONG)
def test_wrong_answers_never_pass(kind, capsys, short_time_limit):
    expect_hint(check_cross_entropy, *WRONG[kind], capsys, **NOTEBOOK_4)


@pytest.mark.parametrize("kind", CORRECT)
def test_right_answers_pass(kind):
    expect_pass(check_cross_entropy, CORRECT[kind], **NOTEBOOK_4)


def test_built_ins_pass_with_a_note_on_what_was_meant():
    for kind in ("functional", "module", "nll of log_softmax"):
        result = check_cross_entropy(define(CORRECT[kind]))
        assert result.passed and "by hand" in result.notes[0], kind
    assert not check_cross_entropy(define(CORRECT["logsumexp"])).notes


def test_reference_solution_values():
    assert cross_entropy(torch.tensor([[0.1, 0.2, 0.3]]), torch.tensor([1])).item() == pytest.approx(1.1019, abs=1e-4)
    big = torch.tensor([[1000.0, 0.0, -1000.0]])
    assert cross_entropy(big, torch.tensor([1])).item() == pytest.approx(1000.0)

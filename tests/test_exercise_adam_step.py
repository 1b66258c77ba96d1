"""check_adam_step (notebook 7): wrong answers of many kinds never pass, differently written right ones do."""
import pytest
import torch

from course_utils.exercises import HINT, PASS
from course_utils.exercises.adam_step import CASES, adam_step, check_adam_step, states
from learner_code import define, expect_hint, expect_pass, short_time_limit  # noqa: F401  (a fixture)

NOTEBOOK_7 = {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "beta1": 0.9, "beta2": 0.999}
HEAD = "def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):\n    beta1, beta2 = betas\n"
M = "    exp_avg = beta1 * exp_avg + (1 - beta1) * grad\n"
V = "    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2\n"
HATS = "    m_hat = exp_avg / (1 - beta1**step)\n    v_hat = exp_avg_sq / (1 - beta2**step)\n"
UPDATE = "    param = param - lr * m_hat / (v_hat.sqrt() + eps)\n"
RETURN = "    return param, exp_avg, exp_avg_sq\n"


def answer(m=M, v=V, hats=HATS, update=UPDATE, ret=RETURN, head=HEAD):
    return head + m + v + hats + update + ret


WRONG = {  # kind -> (learner code, a fragment the hint must contain)
    "betas swapped": (answer(head=HEAD.replace("beta1, beta2 = betas", "beta2, beta1 = betas")),
                      "are swapped"),
    "m without 1 - beta1": (answer(m="    exp_avg = beta1 * exp_avg + grad\n"), "weight (1 − β1)"),
    "m weights reversed": (answer(m="    exp_avg = (1 - beta1) * exp_avg + beta1 * grad\n"),
                           "wrong way round"),
    "m of squares": (answer(m="    exp_avg = beta1 * exp_avg + (1 - beta1) * grad**2\n"),
                     "its square belongs"),
    "m forgets": (answer(m="    exp_avg = (1 - beta1) * grad\n"), "forgets its old value"),
    "returns m_hat": (answer(ret="    return param, m_hat, exp_avg_sq\n"), "bias-corrected average as exp_avg"),
    "m unchanged": (answer(m="    new_m = beta1 * exp_avg + (1 - beta1) * grad\n",
                           hats="    m_hat = new_m / (1 - beta1**step)\n"
                                "    v_hat = exp_avg_sq / (1 - beta2**step)\n"), "comes back unchanged"),
    "v not squared": (answer(v="    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad\n"),
                      "square the gradient"),
    "v abs": (answer(v="    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad.abs()\n"), "absolute value"),
    "v with beta1": (answer(v="    exp_avg_sq = beta1 * exp_avg_sq + (1 - beta1) * grad**2\n"),
                     "exp_avg_sq uses β1"),
    "v weights reversed": (answer(v="    exp_avg_sq = (1 - beta2) * exp_avg_sq + beta2 * grad**2\n"),
                           "wrong way round"),
    "v of the average": (answer(v="    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * exp_avg**2\n"),
                         "square of their average"),
    "returns v_hat": (answer(ret="    return param, exp_avg, v_hat\n"), "bias-corrected average as exp_avg_sq"),
    "returns the root": (answer(ret="    return param, exp_avg, exp_avg_sq.sqrt()\n"), "returned the square root"),
    "no bias correction": (answer(hats="    m_hat, v_hat = exp_avg, exp_avg_sq\n"), "no bias correction"),
    "only m corrected": (answer(hats="    m_hat = exp_avg / (1 - beta1**step)\n    v_hat = exp_avg_sq\n"),
                         "only exp_avg is bias-corrected"),
    "only v corrected": (answer(hats="    m_hat = exp_avg\n    v_hat = exp_avg_sq / (1 - beta2**step)\n"),
                         "only exp_avg_sq is bias-corrected"),
    "eps inside the root": (answer(update="    param = param - lr * m_hat / (v_hat + eps).sqrt()\n"),
                            "eps is inside the square root"),
    "eps before correction": (answer(update="    param = param - lr * m_hat * (1 - beta2**step) ** 0.5 / "
                                            "(exp_avg_sq.sqrt() + eps)\n"), "eps is added before the bias"),
    "correction not rooted": (answer(update="    param = param - lr * m_hat / (exp_avg_sq.sqrt() / "
                                            "(1 - beta2**step) + eps)\n"), "root of the correction"),
    "no square root": (answer(update="    param = param - lr * m_hat / (v_hat + eps)\n"), "square root is missing"),
    "no eps": (answer(update="    param = param - lr * m_hat / v_hat.sqrt()\n"), "eps is missing"),
    "sign": (answer(update="    param = param + lr * m_hat / (v_hat.sqrt() + eps)\n"), "sign error"),
    "no lr": (answer(update="    param = param - m_hat / (v_hat.sqrt() + eps)\n"), "learning rate is missing"),
    "raw gradient": (answer(update="    param = param - lr * grad / (v_hat.sqrt() + eps)\n"), "raw gradient"),
    "old averages": (HEAD + "    m_hat = exp_avg / (1 - beta1**step)\n    v_hat = exp_avg_sq / (1 - beta2**step)\n"
                     "    param = param - lr * m_hat / (v_hat.sqrt() + eps)\n" + M + V + RETURN,
                     "from before this"),
    "step plus one": (answer(hats="    m_hat = exp_avg / (1 - beta1**(step + 1))\n"
                                  "    v_hat = exp_avg_sq / (1 - beta2**(step + 1))\n"), "uses step + 1"),
    "step minus one": (answer(hats="    t = step - 1\n    m_hat = exp_avg / (1 - beta1**t)\n"
                                   "    v_hat = exp_avg_sq / (1 - beta2**t)\n"), "step − 1"),
    "beta times step": (answer(hats="    m_hat = exp_avg / (1 - beta1 * step)\n"
                                    "    v_hat = exp_avg_sq / abs(1 - beta2 * step)\n"), "it is a power"),
    "correction multiplies": (answer(hats="    m_hat = exp_avg * (1 - beta1**step)\n"
                                          "    v_hat = exp_avg_sq * (1 - beta2**step)\n"), "multiplies"),
    "default betas": (answer(head=HEAD.replace("beta1, beta2 = betas", "beta1, beta2 = 0.9, 0.999")),
                      "(Adam's default)"),
    "default lr": (answer(update="    param = param - 0.001 * m_hat / (v_hat.sqrt() + eps)\n"), "lr = 0.001"),
    "default eps": (answer(update="    param = param - lr * m_hat / (v_hat.sqrt() + 1e-8)\n"), "eps = 1e-8"),
    "notebook lr": ("def adam_step(param, grad, exp_avg, exp_avg_sq, step, learning_rate, betas, eps):\n"
                    "    beta1, beta2 = betas\n" + M + V + HATS + UPDATE + RETURN, "reads `lr`"),
    "in place": (HEAD + "    exp_avg.mul_(beta1).add_((1 - beta1) * grad)\n"
                 "    exp_avg_sq.mul_(beta2).add_((1 - beta2) * grad**2)\n" + HATS + UPDATE + RETURN,
                 "changed its argument `exp_avg`"),
    "param in place": (answer(update="    param -= lr * m_hat / (v_hat.sqrt() + eps)\n"),
                       "changed its argument `param`"),
    "only param returned": (answer(ret="    return param\n"), "return all three"),
    "wrong order": (answer(ret="    return exp_avg, exp_avg_sq, param\n"), "in this order"),
    "python floats": (answer(ret="    return param.tolist(), exp_avg.tolist(), exp_avg_sq.tolist()\n"),
                      "return tensors"),
    "broadcast shape": (answer(ret="    return param, exp_avg.mean(), exp_avg_sq\n"), "has shape"),
    "endless loop": (HEAD + "    while step > 0:\n        step += 1\n" + RETURN, "no answer after"),
}

CORRECT = {
    "reference": answer(),
    "lerp": answer(m="    exp_avg = exp_avg.lerp(grad, 1 - beta1)\n",
                   v="    exp_avg_sq = exp_avg_sq.lerp(grad * grad, 1 - beta2)\n"),
    "torch functions": answer(v="    exp_avg_sq = torch.add(beta2 * exp_avg_sq, torch.pow(grad, 2), alpha=1 - beta2)\n",
                              update="    param = param - lr * m_hat / (torch.sqrt(v_hat) + eps)\n"),
    "like torch's source": HEAD + M + V + "    import math\n    step_size = lr / (1 - beta1**step)\n"
                           "    denom = exp_avg_sq.sqrt() / math.sqrt(1 - beta2**step) + eps\n"
                           "    param = torch.addcdiv(param, exp_avg, denom, value=-step_size)\n" + RETURN,
    "clones then in place": HEAD + "    m = exp_avg.clone().mul_(beta1).add_(grad, alpha=1 - beta1)\n"
                            "    v = exp_avg_sq.clone().mul_(beta2).addcmul_(grad, grad, value=1 - beta2)\n"
                            "    p = param.clone()\n"
                            "    p.addcdiv_(m / (1 - beta1**step), (v / (1 - beta2**step)).sqrt() + eps, value=-lr)\n"
                            "    return p, m, v\n",
    "indexing betas": ("def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):\n"
                       "    m = betas[0] * exp_avg + (1 - betas[0]) * grad\n"
                       "    v = betas[1] * exp_avg_sq + (1 - betas[1]) * grad * grad\n"
                       "    bc1, bc2 = 1 - betas[0] ** step, 1 - betas[1] ** step\n"
                       "    return param - lr * (m / bc1) / ((v / bc2) ** 0.5 + eps), m, v\n"),
    "float64 inside": ("def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):\n"
                       "    b1, b2 = betas\n    g = grad.double()\n"
                       "    m = b1 * exp_avg.double() + (1 - b1) * g\n    v = b2 * exp_avg_sq.double() + (1 - b2) * g**2\n"
                       "    p = param.double() - lr * (m / (1 - b1**step)) / ((v / (1 - b2**step)).sqrt() + eps)\n"
                       "    return p.float(), m.float(), v.float()\n"),
    "prints": answer(ret="    print('step', step, 'param', param)\n" + RETURN),
    "returns a list": answer(ret="    return [param, exp_avg, exp_avg_sq]\n"),
    "uses torch.optim.Adam": ("def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):\n"
                              "    p = param.clone().requires_grad_(True)\n"
                              "    opt = torch.optim.Adam([p], lr=lr, betas=betas, eps=eps)\n"
                              "    opt.state[p] = {'step': torch.tensor(float(step - 1)), 'exp_avg': exp_avg.clone(),\n"
                              "                    'exp_avg_sq': exp_avg_sq.clone()}\n"
                              "    p.grad = grad.clone()\n    opt.step()\n"
                              "    return p.detach(), opt.state[p]['exp_avg'], opt.state[p]['exp_avg_sq']\n"),
}


@pytest.mark.parametrize("kind", WRONG)
def test_wrong_answers_never_pass(kind, capsys, short_time_limit):
    source, fragment = WRONG[kind]
    expect_hint(check_adam_step, source, fragment, capsys, **NOTEBOOK_7)


@pytest.mark.parametrize("kind", CORRECT)
def test_right_answers_pass(kind):
    expect_pass(check_adam_step, CORRECT[kind], **NOTEBOOK_7)


def test_built_in_passes_with_a_note_on_what_was_meant():
    result = check_adam_step(define(CORRECT["uses torch.optim.Adam"]))
    assert result.passed and "by hand" in " ".join(result.notes)


def test_stub_is_not_done_and_hints_name_the_step_and_the_quantity():
    stub = define(HEAD + "    raise NotImplementedError('write one Adam step')\n" + RETURN)
    assert check_adam_step(stub).status == "NOT DONE YET"
    message = check_adam_step(define(WRONG["eps inside the root"][0])).message
    assert "your `param` differs" in message and "at step 1" in message and "eps = " in message


def test_the_reference_matches_adam_over_every_case():
    for seed, case in enumerate(CASES):
        for t, ((p, g, m, v), (p1, m1, v1)) in enumerate(states(case, seed), start=1):
            mine = adam_step(p, g, m, v, t, case.lr, case.betas, case.eps)
            for a, b in zip(mine, (p1, m1, v1)):
                assert torch.allclose(a, b, rtol=1e-5, atol=1e-7 * max(1.0, case.grad_scale**2)), (case, t)


def test_cases_make_every_mistake_visible():
    """Each case has its own lr and β1 ≠ β2; some have an eps as large as the gradients' scale."""
    assert len({c.lr for c in CASES}) == len(CASES)
    assert all(c.betas[0] != c.betas[1] for c in CASES)
    assert any(c.eps >= 0.1 * c.grad_scale for c in CASES)
    assert {len(c.shape) for c in CASES} >= {0, 1, 2, 3}

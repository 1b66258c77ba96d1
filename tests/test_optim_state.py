"""The stepper records the optimizer's own state (momentum buffer; Adam's moments and step count) and
the move it implies, checked against torch.optim's state and against the parameters' real change."""
import itertools

import pytest
import torch
from torch import nn

from course_utils import optim_state
from course_utils.stepper import ACTIONS, Stepper
from test_stepper import Twin, assert_same

X = torch.tensor([1.0, 2.0, 3.0, 4.0])
Y = 2 * X


def scalar_stepper(make_opt):
    w = torch.tensor(1.0, requires_grad=True)
    opt = make_opt([w])
    return Stepper(lambda X: X * w, nn.MSELoss(), opt, X, Y), w, opt


def pair_stepper(make_opt):
    """y = w1·x1 + w2·x2 with features of very different scale: an ill-conditioned bowl."""
    w1, w2 = torch.tensor(0.0, requires_grad=True), torch.tensor(0.0, requires_grad=True)
    X2 = torch.stack([X, 0.3 * torch.tensor([1.0, -1.0, 1.0, -1.0])], dim=1)
    y2 = X2 @ torch.tensor([1.0, 5.0])
    opt = make_opt([w1, w2])
    model = lambda X: X[:, 0] * w1 + X[:, 1] * w2  # noqa: E731
    return Stepper(model, nn.MSELoss(), opt, X2, y2, names=["w1", "w2"]), (w1, w2), opt


OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.01),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    "nesterov": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
    "adam": lambda p: torch.optim.Adam(p, lr=0.1),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.0),
}


def one_iteration(stepper):
    for action in ("zero_grad", "forward", "backward"):
        stepper.do(action)
    before = {n: p.detach().clone() for n, p in stepper.parameters.items()}
    return before, stepper.step()


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_recorded_state_is_torchs_own_and_implies_the_real_move(kind):
    for make in (scalar_stepper, pair_stepper):
        stepper, _, opt = make(OPTIMIZERS[kind])
        assert optim_state.kind(opt) == kind
        for t in (1, 2, 3):
            before, event = one_iteration(stepper)
            for name, p in stepper.parameters.items():
                torch_state = opt.state[p]
                recorded = event.optim[name]
                assert set(recorded) == {k for k in torch_state if k in optim_state.BUFFERS} | (
                    {"step"} if "step" in torch_state else set())
                for key in optim_state.BUFFERS:
                    if key in torch_state:
                        assert torch.equal(recorded[key], torch_state[key]), f"{kind} {name}.{key} after step {t}"
                if "step" in torch_state:
                    assert recorded["step"] == t == int(torch_state["step"])
                moved = (p.detach().double() - before[name].double())
                assert event.implied[name] == pytest.approx(moved.item(), rel=1e-4, abs=1e-7), f"{kind} {name} step {t}"
                assert event.update[name] == pytest.approx(abs(moved.item()), rel=1e-9)


def test_adams_first_step_by_hand():
    stepper, w, opt = scalar_stepper(lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.9, 0.999), eps=1e-8))
    _, event = one_iteration(stepper)
    g = -15.0  # d/dw mean((xw − 2x)²) at w = 1
    m, v = 0.1 * g, 0.001 * g * g
    assert event.optim["w"]["exp_avg"].item() == pytest.approx(m, rel=1e-6)
    assert event.optim["w"]["exp_avg_sq"].item() == pytest.approx(v, rel=1e-6)
    step = -0.1 * (m / 0.1) / ((v / 0.001) ** 0.5 + 1e-8)  # bias-corrected: ≈ −lr·sign(g)
    assert event.implied["w"] == pytest.approx(step, rel=1e-6) and w.item() == pytest.approx(1.1, rel=1e-6)
    assert "exp_avg m = -1.5" in event.message and "step 1" in event.message


@pytest.mark.parametrize("kind", ["momentum", "adam"])
def test_next_step_preview_is_exact_and_changes_nothing(kind):
    stepper, (w1, w2), opt = pair_stepper(OPTIMIZERS[kind])
    assert stepper.next_step() is None  # no .grad yet
    for _ in range(2):
        one_iteration(stepper)
    stepper.zero_grad()
    stepper.forward()
    stepper.backward()
    state_before = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in opt.state[w1].items()}
    preview = stepper.next_step()
    assert torch.equal(opt.state[w1]["step" if kind == "adam" else "momentum_buffer"],
                       state_before["step" if kind == "adam" else "momentum_buffer"])
    assert w1.item() == stepper.state().value("w1")  # the real parameters did not move
    stepper.step()
    assert torch.equal(preview["w1"], w1.detach()) and torch.equal(preview["w2"], w2.detach())


def test_adam_orderings_match_plain_torch_and_reset_forgets_the_moments():
    def pair():
        made = []
        for _ in range(2):
            w = torch.tensor(1.0, requires_grad=True)
            made.append((lambda X, w=w: X * w, nn.MSELoss(), torch.optim.Adam([w], lr=0.1), X, Y))
        return Stepper(*made[0]), Twin(*made[1]), made[1][2].param_groups[0]["params"]

    for order in itertools.permutations(ACTIONS):
        stepper, twin, twin_params = pair()
        for action in order * 2:
            event = stepper.do(action)
            twin.do(action)
            assert_same(stepper, twin_params, event, f"adam {order}")
            live = twin.opt.state[twin_params[0]]
            assert event.optim["w"].get("step") == (int(live["step"]) if "step" in live else None)
    stepper.reset()
    assert stepper.optimizer.state_dict()["state"] == {} and stepper.state().optim["w"] == {}


def test_the_pair_gets_a_loss_surface_around_start_and_minimum():
    stepper, _, _ = pair_stepper(OPTIMIZERS["sgd"])
    g1, g2, Z, lowest = stepper.surface
    assert lowest[0] == pytest.approx(1.0, abs=1e-3) and lowest[1] == pytest.approx(5.0, abs=1e-3)  # L-BFGS
    assert stepper.pair and not stepper.scalar and stepper.landscape is None
    assert len(Z) == len(g2) and len(Z[0]) == len(g1)
    j, i = divmod(min(range(len(g1) * len(g2)), key=lambda k: Z[k // len(g1)][k % len(g1)]), len(g1))
    assert g1[0] <= 0.0 <= g1[-1] and g2[0] <= 0.0 <= g2[-1]  # the start
    assert abs(g1[i] - 1.0) < 0.5 and abs(g2[j] - 5.0) < 0.5  # the minimum (1, 5)
    assert stepper.state().value("w1") == 0.0 and stepper.state().value("w2") == 0.0


def test_the_preview_never_steps_the_real_optimizer_even_with_a_scheduler():
    stepper, w, opt = scalar_stepper(lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9))
    torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # it patches opt.step on the instance
    stepper.forward()
    stepper.backward()
    preview = stepper.next_step()
    assert w.item() == 1.0 and opt.state[w] == {}  # untouched
    stepper.step()
    assert torch.equal(preview["w"], w.detach())

"""course_utils.stepper: every ordering of the four calls does exactly what plain PyTorch does,
and every misuse comes with the right explanation instead of an exception."""
import itertools
import random
import re

import pytest
import torch
from torch import nn

from course_utils.stepper import ACTIONS, Stepper


class Twin:
    """The same calls made on plain torch objects, the way a learner would type them."""

    def __init__(self, model, loss_fn, opt, X, y):
        self.model, self.loss_fn, self.opt, self.X, self.y = model, loss_fn, opt, X, y
        self.loss = None

    def do(self, action):
        if action == "forward":
            self.loss = self.loss_fn(self.model(self.X), self.y)
        elif action == "zero_grad":
            self.opt.zero_grad()
        elif action == "backward" and self.loss is not None:
            try:
                self.loss.backward()
            except RuntimeError:  # freed graph / modified parameters: PyTorch changes nothing
                pass
        elif action == "step":
            self.opt.step()


def scalar_pair(lr=0.1):
    """(stepper, twin, twin's w) for y = x·w, identical starting values."""
    X = torch.linspace(-1.0, 1.0, 8)
    y = 2.0 * X
    made = []
    for _ in range(2):
        w = torch.tensor(0.5, requires_grad=True)
        made.append((lambda X, w=w: X * w, nn.MSELoss(), torch.optim.SGD([w], lr=lr), X, y))
    return Stepper(*made[0]), Twin(*made[1]), made[1][2].param_groups[0]["params"]


def module_pair(kind):
    """(stepper, twin, twin params) for a small network; conv nets also save weights in the graph."""
    pairs = []
    for _ in range(2):
        torch.manual_seed(0)
        if kind == "mlp":
            model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4))
            X = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
            opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        else:
            model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 4))
            X = torch.randn(6, 1, 6, 6, generator=torch.Generator().manual_seed(1))
            opt = torch.optim.SGD(model.parameters(), lr=0.5)
        y = torch.tensor([0, 1, 2, 3, 0, 1])
        pairs.append((model, nn.CrossEntropyLoss(), opt, X, y))
    params = list(pairs[1][0].parameters())
    return Stepper(*pairs[0]), Twin(*pairs[1]), params


MAKERS = {"scalar": scalar_pair, "mlp": lambda: module_pair("mlp"), "conv": lambda: module_pair("conv")}


def assert_same(stepper, twin_params, event, where):
    for name, live, mine in zip(stepper.names, twin_params, stepper.parameters.values()):
        assert torch.equal(mine.detach(), live.detach()), f"{where}: {name} differs from plain torch"
        assert torch.equal(event.params[name], live.detach()), f"{where}: snapshot of {name} is wrong"
        if live.grad is None:
            assert mine.grad is None and event.grads[name] is None, f"{where}: {name}.grad should be None"
        else:
            assert event.grads[name] is not None, f"{where}: {name}.grad should not be None"
            assert torch.equal(event.grads[name], live.grad), f"{where}: {name}.grad differs from plain torch"
    assert event.message.strip(), f"{where}: empty message"


def drive(kind, sequence):
    stepper, twin, twin_params = MAKERS[kind]()
    for i, action in enumerate(sequence):
        event = getattr(stepper, action)()
        twin.do(action)
        assert event.action == action
        assert_same(stepper, twin_params, event, f"{kind} {sequence[:i + 1]}")
        if twin.loss is not None:
            assert event.loss == pytest.approx(twin.loss.item(), abs=0, rel=0)
        else:
            assert event.loss is None
    return stepper


@pytest.mark.parametrize("kind", MAKERS)
def test_all_24_orderings_match_plain_torch(kind):
    orders = list(itertools.permutations(ACTIONS))
    assert len(orders) == 24
    for order in orders:
        drive(kind, order * 2)  # each ordering twice in a row, so the second round meets leftovers


@pytest.mark.parametrize("kind", MAKERS)
def test_sequences_with_repeats_match_plain_torch(kind):
    for seq in itertools.product(ACTIONS, repeat=3):  # all 64, e.g. backward, backward, step
        drive(kind, seq)
    rng = random.Random(0)
    for _ in range(20):
        drive(kind, [rng.choice(ACTIONS) for _ in range(12)])


@pytest.mark.parametrize("kind", MAKERS)
def test_run_matches_the_plain_loop(kind):
    stepper, twin, twin_params = MAKERS[kind]()
    stepper.forward()
    twin.do("forward")  # a leftover graph before run() must not matter
    event = stepper.run(3)
    for _ in range(3):
        for action in ("zero_grad", "forward", "backward", "step"):
            twin.do(action)
    assert_same(stepper, twin_params, event, f"{kind} run(3)")
    assert event.steps == 3 and len(stepper.losses) == 4 and event.loss_stale
    # and the single calls still agree after a run
    for action in ("backward", "forward", "backward", "step"):
        event = stepper.do(action)
        twin.do(action)
        assert_same(stepper, twin_params, event, f"{kind} after run: {action}")


def test_correct_loop_explains_each_call_and_learns():
    stepper, _, _ = scalar_pair()
    e = stepper.zero_grad()
    assert e.changed == () and "no gradients to clear" in e.message
    e = stepper.forward()
    assert e.changed == ("loss",) and e.grad("w") is None and e.ok
    e = stepper.backward()
    # MSE of x·w against 2x: d/dw = mean(2·(w−2)·x²)
    X = torch.linspace(-1.0, 1.0, 8)
    expected = (2 * (0.5 - 2.0) * X ** 2).mean().item()
    assert e.grad("w") == pytest.approx(expected, rel=1e-6)
    assert e.changed == ("w.grad",) and "slope" in e.message and e.ok
    e = stepper.step()
    assert e.value("w") == pytest.approx(0.5 - 0.1 * expected, rel=1e-6)
    assert e.changed == ("w",) and "w ← w − lr·w.grad" in e.message and "against the gradient" in e.message and e.ok
    assert e.loss_stale and "computed before this step" in e.message
    before = e.loss
    e = stepper.forward()
    assert e.loss < before and not e.loss_stale and "because step() moved" in e.message
    e = stepper.run(80)
    assert e.value("w") == pytest.approx(2.0, abs=0.05) and e.loss < 0.01


def test_step_before_any_backward_moves_nothing():
    stepper, _, _ = scalar_pair()
    stepper.forward()
    e = stepper.step()
    assert not e.ok and e.changed == () and e.value("w") == 0.5
    assert "nothing moved" in e.message and "no backward() has run yet" in e.message


def test_backward_twice_adds_and_shows_the_sum():
    stepper, _, _ = scalar_pair()
    stepper.forward()
    first = stepper.backward().grad("w")
    stepper.forward()
    e = stepper.backward()
    assert e.grad("w") == pytest.approx(2 * first, rel=1e-6) and not e.ok
    assert "ADDED" in e.message and "zero_grad()" in e.message
    text = f"old {first:.4g} + new {first:.4g} = total {2 * first:.4g}"
    assert text in e.message


def test_backward_on_a_freed_graph_is_explained():
    stepper, _, _ = scalar_pair()
    stepper.forward()
    g = stepper.backward().grad("w")
    e = stepper.backward()
    assert not e.ok and e.changed == () and e.grad("w") == g
    assert "already used by an earlier backward()" in e.message and "Run forward()" in e.message
    assert stepper.forward().ok and stepper.backward().grad("w") == pytest.approx(2 * g)


def test_backward_through_a_graph_whose_weights_were_stepped():
    stepper, _, _ = module_pair("conv")
    stepper.forward()
    stepper.backward()
    stepper.step()
    # a conv layer keeps its weight for backward; step() changed it in place
    stepper.forward()
    stepper.step()  # grads still there from before: moves again
    e = stepper.backward()
    assert not e.ok and "step() changed the parameters after forward()" in e.message


def test_zero_grad_between_backward_and_step():
    stepper, _, _ = scalar_pair()
    stepper.forward()
    stepper.backward()
    e = stepper.zero_grad()
    assert not e.ok and e.grad("w") is None and "a step() now moves nothing" in e.message
    e = stepper.step()
    assert not e.ok and e.value("w") == 0.5 and "zero_grad() cleared the gradients after backward()" in e.message


def test_step_without_fresh_forward_shows_stale_loss_and_reused_grads():
    stepper, _, _ = scalar_pair()
    loss0 = stepper.forward().loss
    stepper.backward()
    stepper.step()
    e = stepper.step()
    assert e.loss == loss0 and e.loss_stale and not e.ok
    assert "same gradients the previous step() used" in e.message and "computed before this step" in e.message
    assert "(computed before the last step)" in e.summary()


def test_gradients_from_before_a_step_are_flagged():
    stepper, _, _ = scalar_pair()
    stepper.forward()
    stepper.step()
    stepper.forward()
    stepper.backward()
    stepper.step()  # fine: fresh forward, fresh backward
    stepper.zero_grad()
    e = stepper.backward()  # graph already used
    assert not e.ok
    stepper2, _, _ = scalar_pair()
    stepper2.forward()
    stepper2.backward()
    stepper2.step()
    stepper2.zero_grad()
    stepper2.forward()
    stepper2.step()  # grads were cleared: nothing moves
    e = stepper2.backward()  # fresh graph, fine
    assert e.ok


def test_module_names_and_messages():
    stepper, _, _ = module_pair("mlp")
    assert stepper.names == ["0.weight", "0.bias", "2.weight", "2.bias"] and not stepper.scalar
    stepper.forward()
    e = stepper.backward()
    assert "largest gradient norm" in e.message
    stepper.forward()
    e = stepper.backward()
    assert re.search(r"\d\.(weight|bias)\.grad\[\d+(, \d+)?\]: old -?[\d.e-]+ \+ new", e.message)
    e = stepper.step()
    assert "SGD rule" in e.message and set(e.changed) == set(stepper.names)


def test_names_for_bare_tensors():
    a = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(2.0, requires_grad=True)
    X, y = torch.ones(3), torch.ones(3)
    s = Stepper(lambda X: a * X + b, nn.MSELoss(), torch.optim.SGD([a, b], lr=0.1), X, y)
    assert s.names == ["w1", "w2"] and s.landscape is None
    s = Stepper(lambda X: a * X + b, nn.MSELoss(), torch.optim.SGD([a, b], lr=0.1), X, y, names=["a", "b"])
    assert s.names == ["a", "b"]


def test_landscape_covers_the_minimum_and_leaves_w_alone():
    stepper, _, _ = scalar_pair()
    grid, losses = stepper.landscape
    best = grid[min(range(len(losses)), key=losses.__getitem__)]
    assert best == pytest.approx(2.0, abs=0.05)
    assert stepper.parameters["w"].item() == 0.5 and stepper.parameters["w"].grad is None


def test_bad_input_is_explained():
    w = torch.tensor(0.5)
    X = torch.ones(3)
    with pytest.raises(ValueError, match="requires_grad=True"):
        Stepper(lambda X: X * w, nn.MSELoss(), torch.optim.SGD([w], lr=0.1), X, X)
    w = torch.tensor(0.5, requires_grad=True)
    with pytest.raises(TypeError, match="torch.optim"):
        Stepper(lambda X: X * w, nn.MSELoss(), "sgd", X, X)
    with pytest.raises(ValueError, match="one name per parameter"):
        Stepper(lambda X: X * w, nn.MSELoss(), torch.optim.SGD([w], lr=0.1), X, X, names=["a", "b"])
    s = Stepper(lambda X: X @ w, nn.MSELoss(), torch.optim.SGD([w], lr=0.1), X, X)
    e = s.forward()  # a broken model: explained, not raised
    assert not e.ok and "forward failed" in e.message and s.loss is None
    assert not s.run(0).ok and not s.do("jump").ok


def test_events_flag_summed_and_out_of_date_gradients():
    stepper, _, _ = scalar_pair()
    stepper.forward()
    e = stepper.backward()
    assert e.grad_passes == 1 and not e.grad_stale
    e = stepper.step()
    assert e.grad_stale  # the gradient belongs to w before this step
    stepper.forward()
    e = stepper.backward()
    assert e.grad_passes == 2 and not e.grad_stale
    e = stepper.zero_grad()
    assert e.grad_passes == 0 and not e.grad_stale
    e = stepper.run(2)
    assert e.grad_passes == 1 and e.grad_stale


def test_history_is_bounded_but_losses_are_kept():
    stepper, _, _ = module_pair("mlp")
    for _ in range(20):
        for action in ACTIONS:
            stepper.do(action)
    assert len(stepper.events) == 30 and stepper.state().action == "step"
    assert len(stepper.losses) == 20 and stepper.forwards == 20


@pytest.mark.parametrize("kind", MAKERS)
def test_reset_returns_to_the_start(kind):
    stepper, _, _ = MAKERS[kind]()
    rng = random.Random(1)
    for _ in range(15):
        stepper.do(rng.choice(ACTIONS))
    stepper.run(2)
    e = stepper.reset()
    assert e.action == "reset" and e.steps == 0 and e.loss is None and stepper.losses == []
    assert all(g is None for g in e.grads.values())
    # from here on it behaves exactly like a fresh twin (optimizer state included: momentum)
    _, twin, twin_params = MAKERS[kind]()
    for action in ("forward", "backward", "step", "zero_grad", "forward", "backward", "step"):
        event = stepper.do(action)
        twin.do(action)
        assert_same(stepper, twin_params, event, f"{kind} after reset: {action}")


def test_backward_without_a_graph_and_zeroed_gradients():
    w = torch.tensor(1.0, requires_grad=True)
    X = torch.ones(3)
    stepper = Stepper(lambda X: X * w.detach(), nn.MSELoss(), torch.optim.SGD([w], lr=0.1), X, 2 * X)
    stepper.forward()
    e = stepper.backward()
    assert not e.ok and "does not depend on any tensor with requires_grad=True" in e.message
    opt = torch.optim.SGD([w], lr=0.1)
    opt.zero_grad = lambda set_to_none=False, _z=opt.zero_grad: _z(set_to_none=False)  # old PyTorch default
    stepper = Stepper(lambda X: X * w, nn.MSELoss(), opt, X, 2 * X)
    stepper.forward()
    stepper.backward()
    e = stepper.zero_grad()
    assert e.grad("w") == 0.0 and "filled with zeros" in e.message
    e = stepper.step()
    assert not e.ok and e.value("w") == 1.0 and "every gradient is zero" in e.message


# ---------------------------------------------------------------- honest in odd situations (issue 15)

def test_an_optimizer_over_another_models_parameters_is_refused_at_construction():
    torch.manual_seed(0)
    model, other = nn.Linear(3, 2), nn.Linear(3, 2)
    X, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    with pytest.raises(ValueError, match="does not belong to this model.*none of its parameter tensors"):
        Stepper(model, nn.CrossEntropyLoss(), torch.optim.SGD(other.parameters(), lr=0.1), X, y)
    mixed = torch.optim.SGD([model.weight, other.bias], lr=0.1)
    with pytest.raises(ValueError, match="1 of its 2 parameter tensors"):
        Stepper(model, nn.CrossEntropyLoss(), mixed, X, y)
    w, w_other = torch.tensor(1.0, requires_grad=True), torch.tensor(1.0, requires_grad=True)
    with pytest.raises(ValueError, match="none of the tensors the model uses"):
        Stepper(lambda X: X * w, nn.MSELoss(), torch.optim.SGD([w_other], lr=0.1), torch.ones(3), torch.ones(3))
    assert Stepper(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), X, y).forward().ok


def test_nan_in_the_input_is_named_not_blamed_on_the_learning_rate():
    X = torch.tensor([1.0, float("nan"), 3.0, 4.0])
    w = torch.tensor(1.0, requires_grad=True)
    stepper = Stepper(lambda X: X * w, nn.MSELoss(), torch.optim.SGD([w], lr=0.01), X, 2 * torch.ones(4))
    assert not stepper.state().ok and "X holds 1 NaN value (of 4)" in stepper.state().message
    e = stepper.forward()
    assert not e.ok and "X holds 1 NaN value" in e.message and "fix the data" in e.message
    stepper.backward()
    e = stepper.step()
    assert not e.ok and "X holds 1 NaN value" in e.message and "smaller learning rate would not help" in e.message
    e = stepper.run(3)
    assert not e.ok and "because X holds 1 NaN value" in e.message and "learning rate is too large" not in e.message


def dropout_stepper(*layers):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), *layers, nn.Linear(8, 3))
    X, y = torch.randn(16, 4, generator=torch.Generator().manual_seed(1)), torch.arange(16) % 3
    return Stepper(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), X, y), model


def test_dropout_and_eval_mode_are_accounted_for():
    stepper, model = dropout_stepper(nn.Dropout(0.5))
    first = stepper.forward()
    second = stepper.forward()
    assert second.loss != first.loss  # Dropout drew another mask
    assert "so the same loss" not in second.message and "Dropout drops a different random set" in second.message
    model.eval()
    e = stepper.forward()
    assert "eval mode" in e.message and "so the same loss" not in e.message and not e.ok
    again = stepper.forward()  # eval mode: deterministic, the same loss is the truth
    assert again.loss == e.loss and "so the same loss" in again.message


def test_batchnorm_mode_switch_and_reset_restore_the_running_statistics():
    stepper, model = dropout_stepper(nn.BatchNorm1d(8))
    bn = model[1]
    start_mean = bn.running_mean.clone()
    e = stepper.forward()
    assert "BatchNorm's running mean" in e.message and not torch.equal(bn.running_mean, start_mean)
    model.eval()
    e = stepper.forward()
    assert e.loss != stepper.losses[0] and "eval mode" in e.message and "so the same loss" not in e.message
    stepper.reset()
    assert torch.equal(bn.running_mean, start_mean) and model.training and bn.training
    assert len(stepper.events) == 1 and stepper.state().action == "reset"


def test_history_must_be_at_least_one():
    w = torch.tensor(1.0, requires_grad=True)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="history is how many events the stepper keeps"):
            Stepper(lambda X: X * w, nn.MSELoss(), torch.optim.SGD([w], lr=0.1), torch.ones(2), torch.ones(2),
                    history=bad)
    stepper = Stepper(lambda X: X * w, nn.MSELoss(), torch.optim.SGD([w], lr=0.1), torch.ones(2), torch.ones(2),
                      history=1)
    stepper.forward()
    assert len(stepper.events) == 1 and stepper.state().action == "forward"

"""check_train_one_epoch (notebook 7): wrong loops never pass, differently written right ones do."""
import pytest
import torch
from torch import nn

from course_utils.exercises import HINT, NOT_DONE, PASS
from course_utils.exercises.loop_watch import SETUPS, run
from course_utils.exercises.train_one_epoch import check_train_one_epoch, train_one_epoch
from learner_code import define, expect_hint, expect_pass, short_time_limit  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("fashion_test_images", "one_thread")

NOTEBOOK_7 = {"model": nn.Linear(784, 10), "lr": 0.1, "num_epochs": 3}
HEAD = "def train_one_epoch(model, batches, loss_fn, opt, scheduler=None):\n"
TRAIN = "    model.train()\n"
LOOP = "    total, count = 0.0, 0\n    for X, y in batches:\n"
BODY = ("        opt.zero_grad()\n        loss = loss_fn(model(X), y)\n        loss.backward()\n"
        "        opt.step()\n")
SCHED = "        if scheduler is not None:\n            scheduler.step()\n"
LOG = "        total += loss.item()\n        count += 1\n"
RETURN = "    return total / count\n"


def loop(body=BODY, sched=SCHED, log=LOG, ret=RETURN, train=TRAIN, head=HEAD, loop_=LOOP, after=""):
    return head + train + loop_ + body + sched + log + after + ret


FORWARD = "        loss = loss_fn(model(X), y)\n"
WRONG = {  # kind -> (learner code, a fragment the hint must contain)
    "no zero_grad": (loop(body=FORWARD + "        loss.backward()\n        opt.step()\n"),
                     "not cleared between"),
    "zero_grad without parentheses": (loop(body="        opt.zero_grad\n" + FORWARD +
                                           "        loss.backward()\n        opt.step()\n"), "not cleared between"),
    "zero_grad once before the loop": (HEAD + TRAIN + "    opt.zero_grad()\n" + LOOP + FORWARD +
                                       "        loss.backward()\n        opt.step()\n" + SCHED + LOG + RETURN,
                                       "not cleared between"),
    "zero_grad between backward and step": (loop(body=FORWARD + "        loss.backward()\n"
                                                 "        opt.zero_grad()\n        opt.step()\n"),
                                            "cleared between `loss.backward()` and `opt.step()`"),
    "step before backward": (loop(body="        opt.zero_grad()\n" + FORWARD + "        opt.step()\n"
                                  "        loss.backward()\n"), "ran before `loss.backward()`"),
    "step before backward, no zero_grad": (loop(body=FORWARD + "        opt.step()\n        loss.backward()\n"),
                                           "changed the weights in place"),
    "running loss tensor": (loop(log="        total = total + loss\n        count += 1\n",
                                 ret="    return total.item() / count\n"), "keeps the loss tensors"),
    "list of loss tensors": (loop(log="        count += 1\n        losses.append(loss)\n",
                                  loop_="    losses, count = [], 0\n    for X, y in batches:\n",
                                  ret="    return sum(l.item() for l in losses) / count\n"),
                             "keeps the loss tensors"),
    "returns a graph tensor": (loop(log="        total = total + loss\n        count += 1\n"), "keeps the loss"),
    "returns a plain tensor": (loop(log="        total += loss.detach()\n        count += 1\n"), "not a tensor"),
    "no model.train()": (loop(train=""), "evaluation mode"),
    "model.eval()": (loop(train="    model.eval()\n"), "evaluation mode"),
    "train() after the loop": (loop(train="", after="    model.train()\n"), "evaluation mode"),
    "scheduler per epoch": (loop(sched="", after="    if scheduler is not None:\n        scheduler.step()\n"),
                            "once per epoch"),
    "scheduler before step": (loop(body="        opt.zero_grad()\n" + FORWARD + "        loss.backward()\n",
                                   sched="        if scheduler is not None:\n            scheduler.step()\n"
                                         "        opt.step()\n"), "before `opt.step()`"),
    "scheduler never stepped": (loop(sched=""), "never moved"),
    "scheduler twice per batch": (loop(sched=SCHED + SCHED), "moved 12 times"),
    "scheduler may be None": (loop(sched="        scheduler.step()\n"), "only `if scheduler is not None`"),
    "returns the sum": (loop(ret="    return total\n"), "sum of the batch losses"),
    "returns the last loss": (loop(ret="    return loss.item()\n"), "last batch's loss"),
    "times batch size": (loop(log="        total += loss.item() * len(X)\n        count += 1\n"),
                         "multiplied by the batch size"),
    "first batch only": (HEAD + TRAIN + "    X, y = next(iter(batches))\n" + BODY.replace("        ", "    ")
                         + "    return loss.item()\n", "ran once for 6 batches"),
    "step twice": (loop(body=BODY + "        opt.step()\n"), "`opt.step()` ran 12 times"),
    "backward twice": (loop(body="        opt.zero_grad()\n" + FORWARD + "        loss.backward(retain_graph=True)\n"
                            "        loss.backward()\n        opt.step()\n"), "`loss.backward()` ran 12 times"),
    "own optimizer": (loop(body="        own = torch.optim.SGD(model.parameters(), lr=0.05)\n        own.zero_grad()\n"
                           + FORWARD + "        loss.backward()\n        own.step()\n"), "of your own"),
    "step without parentheses": (loop(body="        opt.zero_grad()\n" + FORWARD + "        loss.backward()\n"
                                      "        opt.step\n"), "`opt.step()` never ran"),
    "forward under no_grad": (loop(body="        opt.zero_grad()\n        with torch.no_grad():\n"
                                   "            loss = loss_fn(model(X), y)\n        loss.backward()\n"
                                   "        opt.step()\n"), "the loss has no graph"),
    "notebook's model": ("def train_one_epoch(net, batches, loss_fn, opt, scheduler=None):\n"
                         "    model.train()\n    total = 0.0\n    for X, y in batches:\n        opt.zero_grad()\n"
                         "        loss = loss_fn(model(X.flatten(1)), y)\n        loss.backward()\n"
                         "        opt.step()\n        total += loss.item()\n    return total / len(batches)\n",
                         "never called `model`"),
    "changes the batches": (loop(body="        X /= 2\n" + BODY), "changed its argument `batches`"),
    "endless loop": (HEAD + "    while True:\n        for X, y in batches:\n            pass\n", "no answer after"),
}

CORRECT = {
    "reference": loop(),
    "quickstart order": loop(body=FORWARD + "        loss.backward()\n        opt.step()\n        opt.zero_grad()\n"),
    "zero_grad after the forward": loop(body="        y_hat = model(X)\n        opt.zero_grad()\n"
                                             "        loss = loss_fn(y_hat, y)\n        loss.backward()\n        opt.step()\n"),
    "model.zero_grad": loop(body=BODY.replace("opt.zero_grad()", "model.zero_grad()")),
    "zeros, not None": loop(body=BODY.replace("opt.zero_grad()", "opt.zero_grad(set_to_none=False)")),
    "grads set to None by hand": loop(body="        for p in model.parameters():\n            p.grad = None\n"
                                           + FORWARD + "        loss.backward()\n        opt.step()\n"),
    "per image": loop(log="        total += loss.item() * len(X)\n        count += len(X)\n"),
    "list of floats": (HEAD + TRAIN + "    losses = []\n    for X, y in batches:\n" + BODY + SCHED +
                       "        losses.append(loss.item())\n    return sum(losses) / len(losses)\n"),
    "detached running total": loop(log="        total = total + loss.detach()\n        count += 1\n",
                                   ret="    return (total / count).item()\n"),
    "enumerate": (HEAD + TRAIN + "    total = 0.0\n    for i, (X, y) in enumerate(batches):\n" + BODY + SCHED +
                  "        total += float(loss)\n    return total / (i + 1)\n"),
    "while with next": (HEAD + TRAIN + "    it, total, n = iter(batches), 0.0, 0\n    while True:\n"
                        "        try:\n            X, y = next(it)\n        except StopIteration:\n            break\n"
                        + BODY + "        if scheduler:\n            scheduler.step()\n"
                        "        total, n = total + loss.item(), n + 1\n    return total / n\n"),
    "train() inside the loop": loop(train="", body="        model.train()\n" + BODY),
    "prints progress": loop(after="    print('epoch done')\n"),
}


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one thread is faster, and steadier on a busy machine (the time limit is short)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def fashion_test_images():
    from course_utils.exercises.loop_watch import _images

    if isinstance(_images(), Exception):
        pytest.skip(f"Fashion-MNIST is not available here: {_images()}")


@pytest.mark.parametrize("kind", WRONG)
def test_wrong_loops_never_pass(kind, capsys, short_time_limit):
    source, fragment = WRONG[kind]
    expect_hint(check_train_one_epoch, source, fragment, capsys, **NOTEBOOK_7)


@pytest.mark.parametrize("kind", CORRECT)
def test_right_loops_pass(kind):
    expect_pass(check_train_one_epoch, CORRECT[kind], **NOTEBOOK_7)


def test_stub_and_no_return_are_not_done():
    stub = define(HEAD + "    raise NotImplementedError('write the loop')\n")
    assert check_train_one_epoch(stub).status == NOT_DONE
    assert check_train_one_epoch(define(loop(ret="    pass\n"))).status == NOT_DONE


def test_the_reference_trains_and_the_watch_sees_each_call():
    for setup in SETUPS:
        r = run(train_one_epoch, setup)
        rec = r.record
        assert rec.forwards == [True] * setup.num_batches
        assert rec.backwards == [False] * setup.num_batches  # .grad was empty at every backward
        assert [s[:2] for s in rec.steps] == [(1, "gradients")] * setup.num_batches
        assert rec.graphs_kept == 0
        assert r.value == pytest.approx(sum(rec.losses) / len(rec.losses))
        assert any(not torch.equal(a, b) for a, b in zip(r.start, r.params))
        if setup.scheduler:
            assert r.scheduler_steps == setup.num_batches
            assert [s[2] for s in rec.steps] == pytest.approx(r.expected_lrs)


def test_a_kept_graph_is_seen_while_the_loop_runs():
    fn = define(WRONG["running loss tensor"][0])
    assert run(fn, SETUPS[0]).record.graphs_kept >= SETUPS[0].num_batches - 2

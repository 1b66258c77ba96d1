"""Notebook 7's exercise: ``train_one_epoch(model, batches, loss_fn, opt, scheduler=None)``, the loop
every PyTorch project writes, with ``torch.optim``.

The check trains a small real model on real Fashion-MNIST images with the learner's function and
watches what happens to the model, its gradients and the loss (``loop_watch``); the first thing that
goes wrong is named. A run of the reference solution from the same start, with the same dropout
masks, gives the parameters the learner's run must reach.
"""
from __future__ import annotations

import torch

from course_utils.exercises.loop_watch import SETUPS, Run, model_for, run, schedule
from course_utils.exercises.trial import Trial, checker
from course_utils.exercises.verdict import PASS, CheckResult, close, fmt, hint, kind_of


def train_one_epoch(model, batches, loss_fn, opt, scheduler=None):
    """One pass over batches; return the mean of the batch losses as a Python float."""
    model.train()  # dropout and batch norm behave as in training
    total, count = 0.0, 0
    for X, y in batches:
        opt.zero_grad()  # forget the previous batch's gradients
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()  # per batch, right after the optimizer's step
        total += loss.item()  # a float: no graph kept alive
        count += 1
    return total / count


SOLUTION = train_one_epoch
ADVICE = {
    "none_attribute": "something is None. `scheduler` is None when no scheduler is given: call "
                      "`scheduler.step()` only `if scheduler is not None`. (A `.grad` is None until "
                      "`backward()` has run.)",
    "graph_freed": "call `loss_fn(model(X), y)` afresh for every batch, and `backward()` once per loss: a "
                   "graph can be walked back only once.",
    "modified_inplace": "`opt.step()` changed the weights in place between this batch's forward pass and its "
                        "`loss.backward()`, which needs the weights as they were. In each batch: forward, "
                        "loss, `backward()`, then `step()`.",
    "no_grad_fn": "the loss has no graph: don't run the forward pass under `torch.no_grad()`, and don't "
                  "`.detach()` or `.item()` the loss before `backward()`.",
}


PARAM_NAMES = tuple(name for name, _ in model_for(0).named_parameters())


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _calls(run_: Run) -> None:
    """Hints about the calls: forward, step, train mode, and their order within each batch."""
    r, s = run_.record, run_.setup
    where = f" (with {s.text()})"
    moved = any(not torch.equal(a, b) for a, b in zip(run_.start, run_.params))
    if not r.forwards:
        hint("your function never called `model`: train the model it is given, `model(X)` for each "
             "batch `X, y` of `batches`, not a model from another cell.")
    if len(r.forwards) != s.num_batches:
        hint(f"`model` ran {_times(len(r.forwards))} for {s.num_batches} batches{where}: one forward pass "
             f"per batch, in `for X, y in batches:`.")
    if not r.steps:
        hint("the parameters changed, but never through `opt.step()` of the optimizer passed in: use "
             "`opt`, the argument (it carries the learning rate, the momentum and the scheduler's "
             "changes), not an optimizer of your own." if moved else
             "`opt.step()` never ran: call it once per batch, after `loss.backward()` (with the "
             "parentheses: `opt.step` alone does nothing).")
    if len(r.steps) != s.num_batches:
        hint(f"`opt.step()` ran {_times(len(r.steps))} for {s.num_batches} batches{where}: once per batch.")
    if not all(r.forwards):
        hint("the model was in evaluation mode while your function trained it (the check calls it right "
             "after `model.eval()`, as after a test loop), so dropout stayed off. Start with "
             "`model.train()`.")
    if len(r.backwards) != s.num_batches:
        hint(f"`loss.backward()` ran {_times(len(r.backwards))} for {s.num_batches} batches{where}: once "
             f"per batch, on that batch's loss.")
    for k, (backwards, held, _) in enumerate(r.steps, start=1):
        if backwards == 0:
            found = ("found no gradients (zero_grad() had just cleared them), so it left the parameters "
                     "as they were" if held != "gradients" else "used the previous batch's gradients")
            hint(f"at batch {k}, `opt.step()` ran before `loss.backward()`: it {found}. In each batch: "
                 f"backward() first, then step().")
        if held != "gradients":
            hint(f"at batch {k} the gradients were cleared between `loss.backward()` and `opt.step()`: "
                 f"step() found {'None' if held == 'none' else 'zeros'} in every `.grad`, so the batch "
                 f"taught the model nothing. Clear them before backward() (at the start of the "
                 f"iteration) or after step().")
    if any(r.backwards):
        k = r.backwards.index(True) + 1
        hint(f"the gradients were not cleared between one `opt.step()` and the next `loss.backward()`: "
             f"at batch {k}, backward() added this batch's gradients to the previous ones, and step() "
             f"used the sum. Call `opt.zero_grad()` once per batch: at the start of the iteration, or "
             f"right after `opt.step()`.")


def _scheduler(run_: Run) -> None:
    r, s = run_.record, run_.setup
    used, n = [lr for _, _, lr in r.steps], run_.scheduler_steps
    if n == 0:
        hint("the scheduler never moved: call `scheduler.step()` after every `opt.step()` (when "
             "`scheduler` is not None).")
    if n == 1 and s.num_batches > 1:
        hint(f"you stepped the scheduler once per epoch; here it must move once per batch (a "
             f"OneCycleLR schedule counts batches): call `scheduler.step()` inside the loop, right after "
             f"`opt.step()`. Your {s.num_batches} steps all used lr = {fmt(used[0])}.")
    if close(used, [s.lr * schedule(k + 1) for k in range(len(used))], rtol=1e-6, atol=0.0):
        hint("`scheduler.step()` runs before `opt.step()`: every step used the next batch's learning "
             "rate, and the schedule's first value was never used. Step the scheduler right after "
             "`opt.step()`.")
    if n != s.num_batches or not close(used, run_.expected_lrs, rtol=1e-6, atol=0.0):
        hint(f"the scheduler moved {n} times in {s.num_batches} batches: once per batch, right after "
             f"`opt.step()`.")


def _returned(run_: Run) -> None:
    value, losses = run_.value, run_.record.losses
    if run_.record.graphs_kept >= 2:
        hint("your loop keeps the loss tensors of older batches alive (a running total `total += loss`, "
             "or a list of losses): each holds its batch's autograd graph, so memory grows with every "
             "batch. Add up `loss.item()`, a plain float.")
    if isinstance(value, torch.Tensor):
        hint("you returned a tensor that is still part of the autograd graph: return a Python float, "
             "added up from `loss.item()`." if value.requires_grad else
             "return the mean loss as a Python float (`.item()`), not a tensor.")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint(f"return the mean loss as a Python float; your function returned {kind_of(value)}.")
    mean = sum(losses) / len(losses)
    if not close(value, mean, rtol=1e-5, atol=1e-7):
        batch = run_.setup.batch_size
        wrong = [(sum(losses), "you returned the sum of the batch losses: divide by the number of batches."),
                 (losses[-1], "you returned the last batch's loss: return the mean over all batches."),
                 (losses[0], "you returned the first batch's loss: return the mean over all batches."),
                 (mean * batch, "your mean is multiplied by the batch size: `loss.item() * len(X)` "
                                "summed over the batches must be divided by the number of images.")]
        found = next((message for v, message in wrong if close(value, v, rtol=1e-5, atol=1e-7)), None)
        hint(found or f"you returned {fmt(value)}, but the mean of this epoch's batch losses was "
                      f"{fmt(mean)}.")


@checker(advice=ADVICE)
def check_train_one_epoch(train_one_epoch: Trial) -> CheckResult:
    """Check a learner's ``train_one_epoch`` by what it does to a real model, its gradients and its loss."""
    for setup in SETUPS:
        mine = run(train_one_epoch.fn, setup, call=train_one_epoch.call)
        _calls(mine)
        if setup.scheduler:
            _scheduler(mine)
        _returned(mine)
        reference = run(SOLUTION, setup)
        for name, a, b in zip(PARAM_NAMES, mine.params, reference.params):
            if not close(a, b, rtol=1e-4, atol=1e-6):
                hint(f"every call came in a right order, but after one epoch ({setup.text()}) `{name}` "
                     f"differs from the reference run's by up to {fmt((a - b).abs().max().item())}. "
                     f"Use `loss_fn(model(X), y)` as given, and nothing but zero_grad, backward and step "
                     f"on the optimizer.")
    return CheckResult(PASS, f"your loop trains exactly like the reference on real Fashion-MNIST images, "
                             f"with {SETUPS[0].text()} and with {SETUPS[1].text()}: one forward, backward "
                             f"and step per batch in training mode, gradients cleared in time, the "
                             f"scheduler stepped per batch, and the mean loss returned as a float.")


CHECK = check_train_one_epoch

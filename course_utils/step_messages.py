"""The words of the step-through engine: one sentence (or a few) per fact key of ``step_facts``.

:func:`explain` joins the sentences of a call's facts, in order, filling in their numbers. Numbers
are printed with 4 significant digits; a pair such as ``{losses[0]}`` / ``{losses[1]}`` gets just as
many more digits as it takes to tell the two apart, so a log never reads "from 2.292 to 2.292".
Rewording a message means editing this table only; the tests of the mechanics stay untouched.
"""
from __future__ import annotations

import math

MESSAGES: dict[str, str] = {
    # start and reset
    "start": "{what}, {grads}. A training iteration is zero_grad → forward → backward → step; try the calls in "
             "any order.",
    "start.nan_input": " Careful: {bad_input}, so every loss computed from it will be nan. Fix the data first.",
    # forward()
    "forward.failed": "forward failed: {error}. Fix the model or the data, then try again.",
    "forward.not_scalar": "forward failed: loss_fn must return a single number (a tensor with one element), "
                          "e.g. use reduction='mean'.",
    "forward.ok": "ran the model on the batch and computed loss = {losses[1]}. Autograd recorded every operation "
                  "(the graph), so backward() can now compute the gradients. Nothing else changed: forward() "
                  "never touches the parameters or their .grad.",
    "forward.nan_input": " The loss is nan because {bad_input}: fix the data (e.g. drop or fill those values); "
                         "no learning rate can help.",
    "forward.nan_params": " The loss is not finite because the parameters are not: training diverged. Reset and "
                          "use a smaller learning rate.",
    "forward.overflow": " The loss is not a finite number: it overflowed. The parameters or the inputs are too large.",
    "forward.mode_switched": " The model is in {mode} mode now, not in the mode of the previous forward().",
    "forward.mode_changed_loss": " Its Dropout / BatchNorm layers work differently in the two modes, so the loss went "
                                 "from {losses[0]} to {losses[1]} although no step() ran.",
    "forward.moved_and_mode": " The loss went from {losses[0]} to {losses[1]}: step() moved the parameters, and the "
                              "mode change altered what Dropout / BatchNorm do.",
    "forward.moved_by_step": " The loss went from {losses[0]} to {losses[1]} because step() moved the parameters.",
    "forward.step_kept_loss": " step() ran since the previous forward(), yet the loss is still {losses[1]} to every "
                              "digit float32 keeps: the move was too small to show in the loss.",
    "forward.dropout": " Same parameters as the previous forward(), yet the loss went from {losses[0]} to "
                       "{losses[1]}: in train mode Dropout drops a different random set of values on every "
                       "forward(). (model.eval() switches that off.)",
    "forward.changed_elsewhere": " Same parameters as the previous forward(), yet the loss went from {losses[0]} "
                                 "to {losses[1]}: something outside this engine changed (the data, or a value "
                                 "the model uses).",
    "forward.graph_replaced": " The previous loss's graph was never used by backward(); it is simply replaced.",
    "forward.same_loss": " Same parameters as the previous forward(), so the same loss.",
    "forward.eval_mode": " Note: the model is in eval mode (model.eval()): its Dropout / BatchNorm layers work as "
                         "for testing (nothing dropped; running averages instead of the batch's statistics). "
                         "Training normally runs in train mode: call model.train().",
    "forward.batchnorm_stats": " In train mode every forward() also updates BatchNorm's running mean and "
                               "variance: buffers, not parameters, so no optimizer touches them.",
    # zero_grad()
    "zero_grad.nothing": "there were no gradients to clear (every .grad is already None). Harmless.",
    "zero_grad.to_none": "cleared the gradients: every .grad is None now (PyTorch sets them to None rather than "
                         "filling them with zeros). The next backward() starts fresh instead of adding to the old values.",
    "zero_grad.to_zeros": "cleared the gradients: every .grad is filled with zeros now. The next backward() starts "
                          "fresh instead of adding to the old values.",
    "zero_grad.unused": " Careful: step() never used those gradients, so a step() now moves nothing. "
                        "Run backward() again first.",
    # backward()
    "backward.no_loss": "there is no loss yet, so there is nothing to differentiate. Run forward() first. Nothing changed.",
    "backward.graph_freed": "PyTorch refused: this loss's graph was already used by an earlier backward(), and "
                            "backward() frees the graph's saved values to save memory. Run forward() to build a "
                            "fresh graph, then backward() again.",
    "backward.no_grad_fn": "the loss does not depend on any tensor with requires_grad=True, so there is nothing to "
                           "differentiate. Does the model use the parameters, and was forward() run outside "
                           "torch.no_grad()?",
    "backward.modified_inplace": "PyTorch refused: step() changed the parameters after forward() built this graph, "
                                 "so the values the graph saved are out of date. Run forward() again, then backward().",
    "backward.failed": "backward failed: {error}",
    "backward.partial": " (Some gradients were written before it failed; see the values.)",
    "backward.unchanged": " The gradients are as before.",
    "backward.accumulated": "the new gradients were ADDED to the ones already in .grad, because zero_grad() was not "
                            "called: {label}: old {old} + new {new} = total {total}. Each .grad is now the sum of "
                            "{passes} backward passes; call zero_grad() before backward() unless you want that.",
    "backward.scalar": "computed d(loss)/d{name} = {grad} and stored it in {name}.grad: the slope of the loss at "
                       "{name} = {value}.",
    "backward.many": "computed d(loss)/d(parameter) for every parameter and stored it in its .grad.",
    "backward.largest": "computed d(loss)/d(parameter) for every parameter and stored it in its .grad; the largest "
                        "gradient norm is {norm} in {name}.",
    "backward.stale_loss": " Note: this loss was computed before the last step(), so these gradients belong to the "
                           "old parameter values. Run forward() first to get gradients at the current values.",
    "backward.nan_input": " The gradients are nan because {bad_input}.",
    # step()
    "step.failed": "step failed: {error}",
    "step.cleared_unused": "nothing moved: zero_grad() cleared the gradients after backward() and before step(), so "
                           "the optimizer had no gradient to follow. The usual order is zero_grad → forward → "
                           "backward → step.",
    "step.no_backward_yet": "nothing moved, because every .grad is None: no backward() has run yet, so the optimizer "
                            "has no direction to move in (it skips parameters without gradients). Run forward() "
                            "and backward() first.",
    "step.cleared_since": "nothing moved, because every .grad is None: zero_grad() cleared them and no backward() "
                          "has run since, so the optimizer has no direction to move in (it skips parameters "
                          "without gradients). Run forward() and backward() first.",
    "step.zero_grads": "nothing moved: every gradient is zero (or the learning rate is 0).",
    "step.too_small": "nothing moved: the gradients are not zero, but the update is too small to change the float32 "
                      "values of the parameters (they have converged as far as float32 can tell), or the "
                      "learning rate is 0.",
    "step.sgd_scalar": "{name} ← {name} − lr·{name}.grad = {old} − {lr}·({grad}) = {new}: a step against the "
                       "gradient, the downhill direction.",
    "step.moved_scalar": "{name} moved from {old} to {new} ({optimizer} update).",
    "step.adam_scalar": " Adam's buffers after step {t}: exp_avg m = {m} (average gradient), exp_avg_sq v = {v} "
                        "(average squared gradient); the move −lr·m̂/(√v̂+ε) = {delta} uses m and v with their "
                        "bias corrected (m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)).",
    "step.momentum_scalar": " momentum_buffer = {buffer} (this gradient plus momentum × the previous buffer); the "
                            "move is −lr·buffer = {delta}.",
    "step.moved_many": "every parameter with a gradient moved {rule}; the largest single change was {change} in {name}.",
    "step.diverged": " {what}: training diverged. Reset and use a smaller learning rate.",
    "step.nan_input": " {what}, because {bad_input}: the nan passed from the data to the gradients to the "
                      "parameters. Fix the data; a smaller learning rate would not help.",
    "step.untouched": " {count} parameter(s) without a gradient stayed put.",
    "step.reused_grads": " These are the same gradients the previous step() used (no backward() since), so the "
                         "parameters moved again in the same direction without a new look at the loss.",
    "step.old_grads": " These gradients were computed at older parameter values (before an earlier step()), so the "
                      "direction may be out of date.",
    "step.summed_grads": " This step followed .grad, which holds the sum of {passes} backward passes "
                         "(no zero_grad() between them), not one gradient.",
    "step.summed_sgd": " The step is about {passes} times as long as one gradient's step.",
    "step.overshot": " It jumped past the minimum (near {name} = {minimum}): it overshot because the gradient was a sum.",
    "step.stale_loss": " The loss shown ({loss}) was computed before this step; run forward() to see the loss at the "
                       "new values.",
    # run(n)
    "run.done": "ran {n} full iteration{plural} of zero_grad → forward → backward → step. The loss went from "
                "{losses[0]} (first forward) to {losses[1]} (last forward, computed just before the last step).",
    "run.diverged": " The loss is not finite: the learning rate is too large and training diverged.",
    "run.nan_input": " The loss is nan because {bad_input}: fix the data; no learning rate can help.",
    "run.loss_up": " The loss went UP: try a smaller learning rate.",
    "run.failed": "iteration {iteration} failed at {failed_action}(): {detail}",
    "run.bad_n": "run(n) needs a whole number n ≥ 1, got {n!r}.",
    "unknown_action": "unknown action {name!r}; use one of {choices}.",
}

# one line per kind of optimizer: what its state holds (the widget shows it beside the buffers)
OPTIMIZER_STATE: dict[str, str] = {
    "sgd": "SGD keeps no state: step() is w ← w − lr·w.grad.",
    "momentum": "momentum_buffer b ← momentum·b + grad (the first step: b = grad); step() is w ← w − lr·b, so "
                "earlier gradients keep pushing.",
    "nesterov": "momentum_buffer b ← momentum·b + grad; with Nesterov step() is w ← w − lr·(grad + momentum·b).",
    "adam": "exp_avg m and exp_avg_sq v average the gradient and its square (β1, β2); step() is "
            "w ← w − lr·m̂/(√v̂+ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t), so a steady gradient moves w by "
            "about lr.",
    "adamw": "like Adam (exp_avg m, exp_avg_sq v, step t), plus the decoupled decay w ← w − lr·weight_decay·w.",
    "other": "this optimizer's own buffers, as it keeps them in optimizer.state.",
}


def fmt(x: float | None, digits: int = 4) -> str:
    """A number the way the course prints it (4 significant digits), or 'None'."""
    if x is None:
        return "None"
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def fmt_pair(a: float | None, b: float | None, digits: int = 4) -> tuple[str, str]:
    """Both numbers with the fewest digits (at least ``digits``, at most 9) that tell them apart."""
    pair = fmt(a, digits), fmt(b, digits)
    if pair[0] != pair[1] or a == b or a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return pair
    for d in range(digits + 1, 10):  # trailing zeros kept, so both show the same number of digits
        pair = f"{a:#.{d}g}", f"{b:#.{d}g}"
        if pair[0] != pair[1]:
            break
    return pair


class _Number(float):
    """A float that formats itself with :func:`fmt` when a template gives no format spec."""

    def __format__(self, spec: str) -> str:
        return fmt(float(self)) if not spec else format(float(self), spec)


def _fill(data: dict) -> dict:
    out = {}
    for key, value in data.items():
        out[key] = _Number(value) if isinstance(value, float) else ("None" if value is None else value)
    if "loss" in data:  # a loss is printed against the previous one, so their difference shows
        out["losses"] = fmt_pair(data.get("previous"), data["loss"])
    if "first" in data:
        out["losses"] = fmt_pair(data["first"], data["last"])
    return out


def explain(keys, data: dict) -> str:
    """The message for a call's fact ``keys`` (in order) with the numbers in ``data``."""
    filled = _fill(data)
    return "".join(MESSAGES[key].format_map(filled) for key in keys if key in MESSAGES)

"""The step-through engine: run forward / zero_grad / backward / step one call at a time.

Each action returns an :class:`Event`: a cheap snapshot of the parameters, their ``.grad`` (``None``
stays ``None``), the loss, what the action changed, and a plain-English message. Calls in an unusual
order (step before backward, backward twice, ...) are carried out exactly as PyTorch would carry them
out, then explained; nothing is raised at the learner.

    stepper = Stepper(lambda X: X * w, loss_fn, opt, X, y)
    print(stepper.forward().message)

``widgets.step_through(stepper)`` puts buttons and plots on top of this class.
"""
from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass

import torch

from course_utils.torch_errors import classify, first_line

ACTIONS = ("forward", "zero_grad", "backward", "step")  # the four calls of a training iteration


@dataclass
class Event:
    """What one action did and the state right after it (tensors are detached copies)."""

    action: str
    message: str
    params: dict[str, torch.Tensor]
    grads: dict[str, torch.Tensor | None]
    loss: float | None  # the most recent loss computed by forward()
    loss_stale: bool  # True when step() moved the parameters after that loss was computed
    changed: tuple[str, ...] = ()  # e.g. ("loss",), ("w.grad",), ("w",)
    ok: bool = True  # False when the action was a misuse or failed (the message says why)
    steps: int = 0  # step() calls so far that moved a parameter
    forwards: int = 0  # forward() calls so far
    grad_passes: int = 0  # backward passes summed in .grad since it was last cleared
    grad_stale: bool = False  # .grad comes from a loss computed before the latest step()

    def value(self, name: str) -> float:
        """A one-element parameter as a Python float."""
        return self.params[name].item()

    def grad(self, name: str) -> float | None:
        """A one-element parameter's gradient as a float, or None when .grad is None."""
        g = self.grads[name]
        return None if g is None else g.item()

    def summary(self) -> str:
        """One line of state: values of one-element parameters (norms otherwise), grads and loss."""
        parts = []
        for name, p in self.params.items():
            g = self.grads[name]
            if p.numel() == 1:
                parts.append(f"{name} = {fmt(p.item())}, {name}.grad = {fmt(None if g is None else g.item())}")
            else:
                parts.append(f"|{name}.grad| = {fmt(None if g is None else g.norm().item())}")
        loss = "not computed yet" if self.loss is None else fmt(self.loss) + (
            " (computed before the last step)" if self.loss_stale else "")
        return "; ".join(parts[:4] + ([f"... {len(parts) - 4} more"] if len(parts) > 4 else [])
                         + [f"loss = {loss}"])

    def __str__(self) -> str:
        return f"{self.action}: {self.message}\n  {self.summary()}"


def _unravel(flat: int, shape) -> list[int]:
    index = []
    for size in reversed(shape):
        index.append(flat % size)
        flat //= size
    return index[::-1]


def fmt(x: float | None, digits: int = 4) -> str:
    """A number the way the course prints it (4 significant digits), or 'None'."""
    if x is None:
        return "None"
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


class Stepper:
    """Run one training iteration a call at a time and explain every call.

    ``model`` is an ``nn.Module`` or any callable mapping ``X`` to predictions (e.g.
    ``lambda X: X * w`` for a bare tensor ``w`` with ``requires_grad=True``). The parameters shown
    are those in ``optimizer.param_groups``; their names come from ``model.named_parameters()``,
    from ``names`` (one per parameter, in optimizer order), or default to ``w`` / ``w1, w2, ...``.
    ``events`` keeps the latest ``history`` events; ``losses`` keeps every loss.
    """

    def __init__(self, model, loss_fn, optimizer, X, y, names=None, history: int = 30):
        if not callable(model):
            raise TypeError("model must be an nn.Module or a function of X, e.g. `lambda X: X * w`.")
        if not callable(loss_fn):
            raise TypeError("loss_fn must be callable as loss_fn(y_hat, y), e.g. nn.MSELoss().")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError("optimizer must be a torch.optim optimizer, "
                            "e.g. torch.optim.SGD([w], lr=0.1) or torch.optim.SGD(model.parameters(), lr=0.01).")
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if not params:
            raise ValueError("The optimizer holds no parameters: pass them when you create it.")
        for p in params:
            if not p.requires_grad or not p.is_leaf:
                raise ValueError("Every parameter must be a leaf tensor created with requires_grad=True, "
                                 "e.g. w = torch.tensor(0.5, requires_grad=True).")
        self.model, self.loss_fn, self.optimizer, self.X, self.y = model, loss_fn, optimizer, X, y
        self._params = params
        self.names = self._names(names)
        self.scalar = len(params) == 1 and params[0].numel() == 1
        self.events: deque[Event] = deque(maxlen=history)  # the latest events (each holds a copy)
        self.landscape = self._landscape() if self.scalar else None
        self._initial = (self._values(), self._grads(), copy.deepcopy(optimizer.state_dict()))
        self._clear_state()
        self.events.append(self._snapshot("start", self._start_message(), ()))

    def _clear_state(self) -> None:
        self._loss: torch.Tensor | None = None  # the latest loss, with its graph
        self._graph_used = False  # backward() already ran through self._loss's graph
        self._loss_at_step = 0  # self.steps when self._loss was computed
        self._grad_at_step: int | None = None  # self.steps when the loss behind .grad was computed
        self._grad_used = False  # step() already used the current .grad
        self._cleared_unused = False  # zero_grad() threw away gradients no step() had used
        self._passes = int(any(p.grad is not None for p in self._params))  # backward passes in .grad
        self.steps = 0
        self.forwards = 0
        self.backwards = 0  # successful backward() calls
        self.losses: list[float] = []  # every loss forward() computed, in order
        self.loss_steps: list[int] = []  # self.steps at each of those forwards
        self.path: list[float] = [self._params[0].item()] if self.scalar else []  # w after each step

    def reset(self) -> Event:
        """Back to the start: the first parameter values and .grad, a fresh optimizer state."""
        values, grads, opt_state = self._initial
        with torch.no_grad():
            for p, v, g in zip(self._params, values.values(), grads.values()):
                p.copy_(v)
                p.grad = None if g is None else g.to(p.device, copy=True)
        self.optimizer.load_state_dict(copy.deepcopy(opt_state))
        self._clear_state()
        event = self._snapshot("reset", "back to the start: " + self._start_message()[len("Ready: "):], ())
        self.events.append(event)
        return event

    # ---------------------------------------------------------------- setup helpers

    def _names(self, names) -> list[str]:
        params = self._params
        if names is not None:
            names = list(names)
            if len(names) != len(params):
                raise ValueError(f"names has {len(names)} entries but the optimizer holds "
                                 f"{len(params)} parameters: give one name per parameter.")
            return names
        if isinstance(self.model, torch.nn.Module):
            by_id = {id(p): n for n, p in self.model.named_parameters()}
            if all(id(p) in by_id for p in params):
                return [by_id[id(p)] for p in params]
        return ["w"] if len(params) == 1 else [f"w{i + 1}" for i in range(len(params))]

    def _landscape(self, num: int = 241):
        """(grid of w values, loss at each) around the start, for plotting loss against w."""
        w = self._params[0]
        start = w.detach().clone()
        w0 = start.item()
        span = max(3.0, 3 * abs(w0))
        try:
            with torch.no_grad():
                for _ in range(3):  # widen until the minimum is inside the range
                    grid = torch.linspace(w0 - span, w0 + span, num)
                    losses = []
                    for v in grid:
                        w.copy_(v.reshape(w.shape))
                        losses.append(float(self.loss_fn(self.model(self.X), self.y)))
                    best = min(range(num), key=lambda i: losses[i] if math.isfinite(losses[i]) else math.inf)
                    if 0 < best < num - 1:
                        break
                    span *= 3
        except Exception:  # a model that cannot be evaluated this way simply gets no curve
            return None
        finally:
            with torch.no_grad():
                w.copy_(start)
        return grid.tolist(), losses

    def _start_message(self) -> str:
        n = sum(p.numel() for p in self._params)
        what = (f"one weight {self.names[0]} = {fmt(self._params[0].item())}" if self.scalar
                else f"{len(self._params)} parameter tensors ({n:,} numbers)")
        grads = ("gradients not computed yet (.grad is None)" if all(p.grad is None for p in self._params)
                 else ".grad already holds gradients from earlier backward() calls")
        return (f"Ready: {what}, {grads}. "
                f"A training iteration is zero_grad → forward → backward → step; try the calls in any order.")

    # ---------------------------------------------------------------- snapshots

    @property
    def parameters(self) -> dict[str, torch.Tensor]:
        """The live parameter tensors by name."""
        return dict(zip(self.names, self._params))

    # snapshots are CPU copies, so plots and comparisons work the same for GPU models
    def _grads(self) -> dict[str, torch.Tensor | None]:
        return {n: (None if p.grad is None else p.grad.detach().to("cpu", copy=True))
                for n, p in zip(self.names, self._params)}

    def _values(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().to("cpu", copy=True) for n, p in zip(self.names, self._params)}

    @property
    def loss(self) -> float | None:
        """The most recent loss computed by forward(), or None before the first forward()."""
        return self.losses[-1] if self.losses else None

    @property
    def loss_stale(self) -> bool:
        return self._loss is not None and self._loss_at_step != self.steps

    def _snapshot(self, action: str, message: str, changed, ok: bool = True, values=None, grads=None) -> Event:
        values = self._values() if values is None else values
        grads = self._grads() if grads is None else grads
        has_grad = any(g is not None for g in grads.values())
        return Event(action=action, message=message, params=values, grads=grads,
                     loss=self.loss, loss_stale=self.loss_stale, changed=tuple(changed), ok=ok,
                     steps=self.steps, forwards=self.forwards, grad_passes=self._passes if has_grad else 0,
                     grad_stale=has_grad and self._grad_at_step is not None and self._grad_at_step != self.steps)

    def state(self) -> Event:
        """The latest event (the current state and how it came about)."""
        return self.events[-1]

    def _record(self, action, message, before_values, before_grads, extra_changed=(), ok=True) -> Event:
        values, grads = self._values(), self._grads()
        changed = list(extra_changed)
        changed += [n for n in self.names if not torch.equal(before_values[n], values[n])]
        for name in self.names:
            old, new = before_grads[name], grads[name]
            if (old is None) != (new is None) or (old is not None and not torch.equal(old, new)):
                changed.append(f"{name}.grad")
        event = self._snapshot(action, message, changed, ok, values, grads)
        self.events.append(event)
        return event

    # ---------------------------------------------------------------- the four actions

    def forward(self) -> Event:
        """Compute y_hat = model(X) and loss = loss_fn(y_hat, y); autograd records the graph."""
        bv, bg = self._values(), self._grads()
        previous, had_unused_graph = self.loss, self._loss is not None and not self._graph_used
        try:
            loss = self.loss_fn(self.model(self.X), self.y)
        except Exception as err:  # a learner's model can fail in many ways; explain, don't raise
            return self._record("forward", f"forward failed: {type(err).__name__}: {err}. "
                                           f"Fix the model or the data, then try again.", bv, bg, ok=False)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            return self._record("forward", "forward failed: loss_fn must return a single number (a tensor "
                                           "with one element), e.g. use reduction='mean'.", bv, bg, ok=False)
        self._loss, self._graph_used, self._loss_at_step = loss, False, self.steps
        self.forwards += 1
        self.losses.append(loss.item())
        self.loss_steps.append(self.steps)
        msg = (f"ran the model on the batch and computed loss = {fmt(self.loss)}. Autograd recorded every "
               f"operation (the graph), so backward() can now compute the gradients. Nothing else changed: "
               f"forward() never touches the parameters or their .grad.")
        if previous is not None:
            if self.loss_steps[-2] != self.steps:
                msg += f" The loss went from {fmt(previous)} to {fmt(self.loss)} because step() moved the parameters."
            elif had_unused_graph:
                msg += " The previous loss's graph was never used by backward(); it is simply replaced."
            else:
                msg += " Same parameters as the previous forward(), so the same loss."
        return self._record("forward", msg, bv, bg, extra_changed=("loss",))

    def zero_grad(self) -> Event:
        """optimizer.zero_grad(): clear every parameter's .grad."""
        bv, bg = self._values(), self._grads()
        had_grads = any(g is not None for g in bg.values())
        unused = had_grads and not self._grad_used
        self.optimizer.zero_grad()
        self._passes = 0
        if not had_grads:
            msg = "there were no gradients to clear (every .grad is already None). Harmless."
        else:
            if all(p.grad is None for p in self._params):
                now = "every .grad is None now (PyTorch sets them to None rather than filling them with zeros)"
            else:
                now = "every .grad is filled with zeros now"
            msg = f"cleared the gradients: {now}. The next backward() starts fresh instead of adding to the old values."
            if unused:
                msg += (" Careful: step() never used those gradients, so a step() now moves nothing. "
                        "Run backward() again first.")
        self._cleared_unused = self._cleared_unused or unused
        self._grad_used = False
        if had_grads:
            self._grad_at_step = None
        return self._record("zero_grad", msg, bv, bg, ok=not unused)

    def backward(self) -> Event:
        """loss.backward(): add d(loss)/d(parameter) into every parameter's .grad."""
        bv, bg = self._values(), self._grads()
        if self._loss is None:
            return self._record("backward", "there is no loss yet, so there is nothing to differentiate. "
                                            "Run forward() first. Nothing changed.", bv, bg, ok=False)
        try:
            self._loss.backward()
        except RuntimeError as err:
            kind = classify(err)
            if kind == "graph_freed":
                msg = ("PyTorch refused: this loss's graph was already used by an earlier backward(), and "
                       "backward() frees the graph's saved values to save memory. Run forward() to build a "
                       "fresh graph, then backward() again.")
            elif kind == "no_grad_fn":
                msg = ("the loss does not depend on any tensor with requires_grad=True, so there is nothing "
                       "to differentiate. Does the model use the parameters, and was forward() run outside "
                       "torch.no_grad()?")
            elif kind == "modified_inplace":
                msg = ("PyTorch refused: step() changed the parameters after forward() built this graph, so "
                       "the values the graph saved are out of date. Run forward() again, then backward().")
            else:
                msg = f"backward failed: {first_line(err)}"
            event = self._record("backward", msg, bv, bg, ok=False)
            if any(c.endswith(".grad") for c in event.changed):
                event.message += " (Some gradients were written before it failed; see the values.)"
            else:
                event.message += " The gradients are as before."
            return event
        self._graph_used = True
        self.backwards += 1
        self._passes += 1
        accumulated = any(g is not None for g in bg.values())
        stale_loss = self._loss_at_step != self.steps
        if accumulated:
            name, old, total = self._first_element(bg)
            msg = (f"the new gradients were ADDED to the ones already in .grad, because zero_grad() was not "
                   f"called: {name}: old {fmt(old)} + new {fmt(total - old)} = total {fmt(total)}. "
                   f"Each .grad is now the sum of {self._passes} backward passes; call zero_grad() before "
                   f"backward() unless you want that.")
            ok = False
        else:
            if self.scalar:
                n = self.names[0]
                msg = (f"computed d(loss)/d{n} = {fmt(self._params[0].grad.item())} and stored it in {n}.grad: "
                       f"the slope of the loss at {n} = {fmt(self._params[0].item())}.")
            else:
                norms = {n: p.grad.norm().item() for n, p in zip(self.names, self._params) if p.grad is not None}
                big = max(norms, key=norms.get) if norms else None
                msg = ("computed d(loss)/d(parameter) for every parameter and stored it in its .grad"
                       + (f"; the largest gradient norm is {fmt(norms[big])} in {big}." if big else "."))
            ok = True
        if stale_loss:
            msg += (" Note: this loss was computed before the last step(), so these gradients belong to the "
                    "old parameter values. Run forward() first to get gradients at the current values.")
            ok = False
        self._grad_used = False
        self._cleared_unused = False
        self._grad_at_step = self._loss_at_step
        return self._record("backward", msg, bv, bg, ok=ok)

    def step(self) -> Event:
        """optimizer.step(): move every parameter against its gradient."""
        bv, bg = self._values(), self._grads()
        try:
            self.optimizer.step()
        except Exception as err:
            return self._record("step", f"step failed: {type(err).__name__}: {err}", bv, bg, ok=False)
        now = self._values()
        moved = [n for n in self.names if not torch.equal(bv[n], now[n])]
        if not moved:
            if all(g is None for g in bg.values()):
                if self._cleared_unused:
                    msg = ("nothing moved: zero_grad() cleared the gradients after backward() and before "
                           "step(), so the optimizer had no gradient to follow. The usual order is "
                           "zero_grad → forward → backward → step.")
                else:
                    why = ("no backward() has run yet" if not self.backwards
                           else "zero_grad() cleared them and no backward() has run since")
                    msg = (f"nothing moved, because every .grad is None: {why}, so the optimizer has no "
                           f"direction to move in (it skips parameters without gradients). "
                           f"Run forward() and backward() first.")
            else:
                msg = "nothing moved: every gradient is zero (or the learning rate is 0)."
            event = self._record("step", msg, bv, bg, ok=False)
            return event
        reused = self._grad_used
        self.steps += 1
        self._grad_used = True
        if self.scalar:
            self.path.append(self._params[0].item())
        msg = self._step_message(bv, now, bg)
        ok = all(bool(torch.isfinite(v).all()) for v in now.values())
        if reused:
            msg += (" These are the same gradients the previous step() used (no backward() since), so the "
                    "parameters moved again in the same direction without a new look at the loss.")
            ok = False
        elif self._grad_at_step is not None and self._grad_at_step != self.steps - 1:
            msg += (" These gradients were computed at older parameter values (before an earlier step()), "
                    "so the direction may be out of date.")
            ok = False
        if self._loss is not None:
            msg += (f" The loss shown ({fmt(self.loss)}) was computed before this step; run forward() to "
                    f"see the loss at the new values.")
        return self._record("step", msg, bv, bg, ok=ok)

    def _step_message(self, before, after, grads) -> str:
        group = self.optimizer.param_groups[0]
        plain_sgd = (type(self.optimizer) is torch.optim.SGD and len(self.optimizer.param_groups) == 1
                     and not group.get("momentum") and not group.get("weight_decay"))
        if self.scalar:
            n, lr = self.names[0], group["lr"]
            old, new, g = before[n].item(), after[n].item(), grads[n].item()
            if plain_sgd:
                msg = (f"{n} ← {n} − lr·{n}.grad = {fmt(old)} − {fmt(lr)}·({fmt(g)}) = {fmt(new)}: "
                       f"a step against the gradient, the downhill direction.")
            else:
                msg = f"{n} moved from {fmt(old)} to {fmt(new)} ({type(self.optimizer).__name__} update)."
            if not math.isfinite(new):
                msg += (f" {n} is no longer a finite number: training diverged. Start again with a "
                        f"smaller learning rate.")
            return msg
        changes = {n: (after[n] - before[n]).abs().max().item() for n in self.names}
        big = max(changes, key=changes.get)
        rule = "by −lr·grad" if plain_sgd else f"by the {type(self.optimizer).__name__} rule"
        untouched = [n for n in self.names if grads[n] is None]
        msg = f"every parameter with a gradient moved {rule}; the largest single change was {fmt(changes[big])} in {big}."
        if not all(torch.isfinite(v).all() for v in after.values()):
            msg += " Some parameters are no longer finite numbers: training diverged. Start again with a smaller lr."
        if untouched:
            msg += f" {len(untouched)} parameter(s) without a gradient stayed put."
        return msg

    def _first_element(self, before_grads):
        """(label, old, total) for a telling gradient entry that was added to: the largest old entry
        of the tensor with the largest old gradient."""
        best = None
        for name, p in zip(self.names, self._params):
            old = before_grads[name]
            if old is not None and p.grad is not None and (best is None or old.norm() > best[1].norm()):
                best = (name, old, p.grad.detach().cpu())
        if best is None:
            return "grad", 0.0, 0.0
        name, old, total = best
        flat = int(old.abs().flatten().argmax())
        index = "" if old.numel() == 1 else "[" + ", ".join(map(str, _unravel(flat, old.shape))) + "]"
        return f"{name}.grad{index}", old.flatten()[flat].item(), total.flatten()[flat].item()

    def run(self, n: int = 1) -> Event:
        """n full iterations of zero_grad → forward → backward → step (the correct loop)."""
        if not isinstance(n, int) or n < 1:
            bv, bg = self._values(), self._grads()
            return self._record("run", f"run(n) needs a whole number n ≥ 1, got {n!r}.", bv, bg, ok=False)
        bv, bg = self._values(), self._grads()
        first = None
        for i in range(n):
            self.optimizer.zero_grad()
            try:
                loss = self.loss_fn(self.model(self.X), self.y)
                loss.backward()
            except Exception as err:
                return self._record("run", f"iteration {i + 1} failed: {type(err).__name__}: {err}", bv, bg,
                                    extra_changed=("loss",) if i else (), ok=False)
            self._loss, self._graph_used, self._loss_at_step = loss, True, self.steps
            self.forwards += 1
            self.backwards += 1
            self.losses.append(loss.item())
            self.loss_steps.append(self.steps)
            first = self.losses[-1] if first is None else first
            self.optimizer.step()
            self.steps += 1
            if self.scalar:
                self.path.append(self._params[0].item())
        self._grad_at_step, self._grad_used, self._cleared_unused = self.steps - 1, True, False
        self._passes = 1
        msg = (f"ran {n} full iteration{'s' if n > 1 else ''} of zero_grad → forward → backward → step. "
               f"The loss went from {fmt(first)} (first forward) to {fmt(self.loss)} (last forward, computed "
               f"just before the last step).")
        if not math.isfinite(self.loss):
            msg += " The loss is not finite: the learning rate is too large and training diverged."
        elif n > 1 and self.loss > first:
            msg += " The loss went UP: try a smaller learning rate."
        return self._record("run", msg, bv, bg, extra_changed=("loss",))

    def do(self, action: str) -> Event:
        """Run an action by name: 'forward', 'zero_grad', 'backward' or 'step'."""
        if action not in ACTIONS:
            bv, bg = self._values(), self._grads()
            return self._record(str(action), f"unknown action {action!r}; use one of {', '.join(ACTIONS)}.",
                                bv, bg, ok=False)
        return getattr(self, action)()

    def __repr__(self) -> str:
        return f"Stepper({self.state().summary()})"

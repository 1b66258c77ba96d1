"""The step-through engine: run forward / zero_grad / backward / step one call at a time.

Each call goes through the same transition: snapshot, the PyTorch call itself, snapshot,
``step_facts.diagnose`` (what happened, what was unusual), ``step_facts.advance`` (the engine's
memory), and an :class:`Event` whose message ``step_messages.explain`` writes. Calls in an unusual
order (step before backward, backward twice, ...) are carried out exactly as PyTorch would carry them
out, then explained; nothing is raised at the learner. ``run(n)`` is the same transitions in a loop.

    stepper = Stepper(lambda X: X * w, loss_fn, opt, X, y)
    print(stepper.forward().message)

``widgets.step_through(stepper)`` puts buttons and plots on top of this class.
"""
from __future__ import annotations

import math
from collections import deque

import torch

from course_utils import optim_state
from course_utils.landscape import loss_curve, loss_surface
from course_utils.step_facts import advance, changes, diagnose
from course_utils.step_messages import explain, fmt
from course_utils.step_state import Book, Event, Facts, Outcome, Snapshot
from course_utils.stepper_setup import Checkpoint, check_arguments, make_setup, parameter_names, start_facts

ACTIONS = ("forward", "zero_grad", "backward", "step")  # the four calls of a training iteration
LOOP = ("zero_grad", "forward", "backward", "step")  # the order run() uses
PREVIEW_LIMIT = 16  # models with at most this many numbers get a preview of the next step()

__all__ = ["ACTIONS", "Event", "Stepper", "fmt"]


class Stepper:
    """Run one training iteration a call at a time and explain every call.

    ``model`` is an ``nn.Module`` or any callable mapping ``X`` to predictions (e.g.
    ``lambda X: X * w`` for a bare tensor ``w`` with ``requires_grad=True``). The parameters shown
    are those in ``optimizer.param_groups`` (any torch.optim optimizer: SGD, momentum, Adam, ...);
    their names come from ``model.named_parameters()``, from ``names`` (one per parameter, in
    optimizer order), or default to ``w`` / ``w1, w2, ...``. ``events`` keeps the latest
    ``history`` events; ``losses`` keeps every loss. One weight (``scalar``) gets a loss curve and
    two numbers (``pair``) a loss surface in ``surface``, for the widget's plots.
    """

    def __init__(self, model, loss_fn, optimizer, X, y, names=None, history: int = 30):
        self._params = check_arguments(model, loss_fn, optimizer, X, y, history)
        self.model, self.loss_fn, self.optimizer, self.X, self.y = model, loss_fn, optimizer, X, y
        self.names = parameter_names(model, self._params, names)
        sizes = [p.numel() for p in self._params]
        self.scalar = sizes == [1]
        self.pair = sum(sizes) == 2 and min(sizes) > 0  # two numbers: a loss surface over them
        self.coord_names = [n if p.numel() == 1 else f"{n}[{i}]"  # one label per number (small models)
                            for n, p in zip(self.names, self._params) for i in range(min(p.numel(), 4))]
        self.landscape = self.surface = None  # (grid, losses) for one weight; (grid1, grid2, Z) for two
        if self.scalar:
            self.landscape = loss_curve(model, loss_fn, X, y, self._params[0])
        elif self.pair:
            self.surface = loss_surface(model, loss_fn, X, y, [(p, i) for p in self._params for i in range(p.numel())])
        minimum = None
        if self.scalar and self.landscape is not None:
            grid, losses = self.landscape
            minimum = grid[min(range(len(grid)), key=lambda i: losses[i] if math.isfinite(losses[i]) else math.inf)]
        self.setup = make_setup(model, optimizer, X, y, self.names, self.scalar, minimum)
        self._start = Checkpoint.take(model, optimizer, self._params)
        self.events: deque[Event] = deque(maxlen=history)  # the latest events (each holds a copy)
        self._clear()
        self._record(self._start_event("start", "Ready: "))

    def _start_event(self, action: str, prefix: str) -> Event:
        now = self._observe()
        facts = start_facts(self.setup, self._params)
        return self._event(action, prefix + explain(facts.keys, facts.data), facts, now, now)

    def _clear(self) -> None:
        self.book = Book(passes=int(any(p.grad is not None for p in self._params)))
        self._loss: torch.Tensor | None = None  # the latest loss, with its graph
        self.losses: list[float] = []  # every loss forward() computed, in order
        self.loss_steps: list[int] = []  # steps taken before each of those forwards
        self.path: list = [self._point()] if (self.scalar or self.pair) else []  # w (or (w1, w2)) after each step
        self._update: dict[str, float] | None = None
        self._implied: dict[str, torch.Tensor] | None = None

    def reset(self) -> Event:
        """Back to the start: the first parameter values and .grad, a fresh optimizer state, the model's
        buffers and mode as they were; the history is cleared."""
        self._start.restore(self.model, self.optimizer, self._params)
        self._clear()
        self.events.clear()
        return self._record(self._start_event("reset", "back to the start: "))

    # ---------------------------------------------------------------- state

    @property
    def parameters(self) -> dict[str, torch.Tensor]:
        """The live parameter tensors by name."""
        return dict(zip(self.names, self._params))

    steps = property(lambda self: self.book.steps, doc="step() calls so far that moved a parameter")
    forwards = property(lambda self: self.book.forwards, doc="successful forward() calls so far")
    backwards = property(lambda self: self.book.backwards, doc="successful backward() calls so far")
    loss = property(lambda self: self.book.loss, doc="the latest loss computed by forward(), or None")

    @property
    def loss_stale(self) -> bool:
        return self.book.loss is not None and self.book.loss_at_step != self.book.steps

    def state(self) -> Event:
        """The latest event (the current state and how it came about)."""
        return self.events[-1]

    def next_step(self) -> dict[str, torch.Tensor] | None:
        """The values one more step() would give now (CPU copies, by name), worked out on a copy of the
        optimizer; None without any .grad, or for models of more than PREVIEW_LIMIT numbers."""
        if all(p.grad is None for p in self._params) or sum(p.numel() for p in self._params) > PREVIEW_LIMIT:
            return None
        values = optim_state.preview_step(self.optimizer, self._params)
        return None if values is None else dict(zip(self.names, values))

    def _point(self):
        flat = [float(v) for p in self._params for v in p.detach().reshape(-1).tolist()]
        return flat[0] if self.scalar else tuple(flat)

    def _observe(self) -> Snapshot:
        return Snapshot(
            values={n: p.detach().to("cpu", copy=True) for n, p in zip(self.names, self._params)},
            grads={n: None if p.grad is None else p.grad.detach().to("cpu", copy=True)
                   for n, p in zip(self.names, self._params)},
            optim=optim_state.read_state(self.optimizer, self._params, self.names),
            training=self.model.training if isinstance(self.model, torch.nn.Module) else None)

    # ---------------------------------------------------------------- the one transition

    def _call(self, action: str) -> Outcome:
        try:
            if action == "forward":
                loss = self.loss_fn(self.model(self.X), self.y)
                if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                    return Outcome(not_scalar=True)
                self._loss = loss
                return Outcome(loss=loss.item())
            if action == "zero_grad":
                self.optimizer.zero_grad()
            elif action == "backward" and self.book.loss is not None:
                self._loss.backward()
            elif action == "step":
                self.optimizer.step()
        except Exception as err:  # a learner's model can fail in many ways: explain, never raise
            return Outcome(error=err)
        return Outcome()

    def _transition(self, action: str, before: Snapshot) -> tuple[Facts, Snapshot]:
        """Make the call, diagnose it, advance the memory: shared by the buttons and run()."""
        outcome = self._call(action)
        after = self._observe()
        facts = diagnose(action, before, after, self.book, self.setup, outcome)
        steps = self.book.steps
        self.book = advance(self.book, facts, after, outcome)
        if action == "forward" and "forward.ok" in facts.keys:
            self.losses.append(outcome.loss)
            self.loss_steps.append(self.book.steps)
        if self.book.steps != steps:  # step() moved the parameters
            self._update = {n: float((after.values[n].double() - before.values[n].double()).norm())
                            for n in self.names}
            self._implied = optim_state.implied_step(self.optimizer, self._params, self.names, after.optim,
                                                     before.grads)
            if self.path:
                self.path.append(self._point())
        return facts, after

    def _event(self, action, message, facts: Facts, before, after, extra=()) -> Event:
        book, has_grad = self.book, any(g is not None for g in after.grads.values())
        changed = tuple(extra) + tuple(c for c in facts.changed if c not in extra)
        return Event(action=action, message=message, params=after.values, grads=after.grads, loss=book.loss,
                     loss_stale=self.loss_stale, changed=changed, ok=facts.ok, steps=book.steps,
                     forwards=book.forwards, grad_passes=book.passes if has_grad else 0,
                     grad_stale=has_grad and book.grad_at_step is not None and book.grad_at_step != book.steps,
                     facts=facts.keys, optim=after.optim, implied=self._implied, update=self._update,
                     training=after.training)

    def _record(self, event: Event) -> Event:
        self.events.append(event)
        return event

    # ---------------------------------------------------------------- the four actions and run

    def _act(self, action: str) -> Event:
        before = self._observe()
        facts, after = self._transition(action, before)
        return self._record(self._event(action, explain(facts.keys, facts.data), facts, before, after))

    def forward(self) -> Event:
        """Compute y_hat = model(X) and loss = loss_fn(y_hat, y); autograd records the graph."""
        return self._act("forward")

    def zero_grad(self) -> Event:
        """optimizer.zero_grad(): clear every parameter's .grad."""
        return self._act("zero_grad")

    def backward(self) -> Event:
        """loss.backward(): add d(loss)/d(parameter) into every parameter's .grad."""
        return self._act("backward")

    def step(self) -> Event:
        """optimizer.step(): move every parameter as the optimizer's rule says (SGD: against its gradient)."""
        return self._act("step")

    def run(self, n: int = 1) -> Event:
        """n full iterations of zero_grad → forward → backward → step (the correct loop), made of the same
        transitions as the buttons; stops at the first call that cannot be carried out."""
        before = self._observe()
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            facts = Facts("run", ("run.bad_n",), {"n": n})
            return self._record(self._event("run", explain(facts.keys, facts.data), facts, before, before))
        first, after = len(self.losses), before
        for i in range(n):
            for action in LOOP:
                facts, after = self._transition(action, after)
                if facts.failed:
                    data = {"iteration": i + 1, "failed_action": action, "detail": explain(facts.keys, facts.data)}
                    return self._finish_run(("run.failed",), data, before, after, first)
        last = self.losses[-1]
        keys = ["run.done"]
        if not math.isfinite(last):
            keys.append("run.nan_input" if self.setup.bad_input else "run.diverged")
        elif n > 1 and last > self.losses[first]:
            keys.append("run.loss_up")
        data = {"n": n, "plural": "s" if n > 1 else "", "first": self.losses[first], "last": last,
                "bad_input": self.setup.bad_input}
        return self._finish_run(tuple(keys), data, before, after, first)

    def _finish_run(self, keys, data, before, after, first) -> Event:
        facts = Facts("run", keys, data, tuple(changes(before, after)))
        extra = ("loss",) if len(self.losses) > first else ()
        return self._record(self._event("run", explain(keys, data), facts, before, after, extra))

    def do(self, action: str) -> Event:
        """Run an action by name: 'forward', 'zero_grad', 'backward' or 'step'."""
        if action not in ACTIONS:
            now = self._observe()
            facts = Facts(str(action), ("unknown_action",), {"name": action, "choices": ", ".join(ACTIONS)})
            return self._record(self._event(str(action), explain(facts.keys, facts.data), facts, now, now))
        return getattr(self, action)()

    def __repr__(self) -> str:
        return f"Stepper({self.state().summary()})"

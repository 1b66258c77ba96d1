"""What the step-through engine observes and remembers, and what it reports.

:class:`Snapshot` is the state PyTorch holds (copied), :class:`Book` the engine's memory between
calls, :class:`Setup` what stays fixed, :class:`Outcome` what a call returned, :class:`Facts` the
diagnosis of one call (``step_facts``), and :class:`Event` what the learner gets back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from course_utils.step_messages import fmt

# keys that mean "this call was a misuse or failed" (the event's ok is False)
PROBLEMS = frozenset({
    "forward.failed", "forward.not_scalar", "forward.nan_input", "forward.nan_params", "forward.overflow",
    "forward.eval_mode", "zero_grad.unused", "backward.no_loss", "backward.graph_freed",
    "backward.no_grad_fn", "backward.modified_inplace", "backward.failed", "backward.accumulated",
    "backward.stale_loss", "backward.nan_input", "step.failed", "step.cleared_unused", "step.no_backward_yet",
    "step.cleared_since", "step.zero_grads", "step.too_small", "step.diverged", "step.nan_input", "step.reused_grads",
    "step.old_grads", "step.summed_grads", "step.overshot", "run.failed", "run.diverged", "run.nan_input",
    "run.loss_up", "run.bad_n", "start.nan_input", "unknown_action"})
# keys after which run() stops: the call could not be carried out
FAILURES = frozenset({"forward.failed", "forward.not_scalar", "backward.no_loss", "backward.graph_freed",
                      "backward.no_grad_fn", "backward.modified_inplace", "backward.failed", "step.failed"})
# keys after which step() took no step: it failed, or the optimizer skipped every parameter (no .grad)
NOT_STEPPED = frozenset({"step.failed", "step.cleared_unused", "step.no_backward_yet", "step.cleared_since"})


@dataclass(frozen=True)
class Snapshot:
    """The state PyTorch holds, copied to the CPU: parameters, their .grad, the optimizer's buffers."""

    values: dict[str, torch.Tensor]
    grads: dict[str, torch.Tensor | None]
    optim: dict[str, dict[str, object]]
    training: bool | None  # model.training for an nn.Module, None for a plain function


@dataclass(frozen=True)
class Setup:
    """What stays fixed for one engine: names, the kind of model and optimizer, the data's health."""

    names: tuple[str, ...]
    scalar: bool
    bad_input: str | None = None  # e.g. "X holds 3 NaN values": said instead of "lr too large"
    random_layers: tuple[str, ...] = ()  # Dropout layers: a different result per forward in train mode
    norm_layers: tuple[str, ...] = ()  # BatchNorm layers: batch statistics vs running averages
    minimum: float | None = None  # one weight: where the loss curve is lowest
    optimizer: str = "sgd"  # optim_state.kind()
    optimizer_name: str = "SGD"
    plain_sgd: bool = True
    lr: float = 0.0


@dataclass(frozen=True)
class Book:
    """What the engine remembers between calls, the history a snapshot cannot show."""

    steps: int = 0  # step() calls that moved a parameter
    forwards: int = 0
    backwards: int = 0  # successful backward() calls
    passes: int = 0  # backward passes summed in .grad since it was last cleared
    loss: float | None = None  # the latest loss
    loss_at_step: int = 0  # steps when that loss was computed
    loss_training: bool | None = None  # the model's mode at that forward()
    graph_used: bool = False  # backward() already ran through that loss's graph
    grad_at_step: int | None = None  # steps when the loss behind .grad was computed
    grad_used: bool = False  # a step() already used the current .grad
    cleared_unused: bool = False  # zero_grad() threw away gradients no step() had used


@dataclass(frozen=True)
class Outcome:
    """What the call itself returned: an exception, or forward()'s loss."""

    error: BaseException | None = None
    loss: float | None = None
    not_scalar: bool = False


@dataclass(frozen=True)
class Facts:
    """The diagnosis of one call: ordered keys, the numbers behind them, and what changed."""

    action: str
    keys: tuple[str, ...]
    data: dict = field(default_factory=dict)
    changed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not PROBLEMS.intersection(self.keys)

    @property
    def failed(self) -> bool:
        return bool(FAILURES.intersection(self.keys))



@dataclass
class Event:
    """What one action did and the state right after it (tensors are detached CPU copies)."""

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
    facts: tuple[str, ...] = ()  # the diagnosis, e.g. ("backward.accumulated",)
    optim: dict[str, dict] = field(default_factory=dict)  # name -> optimizer buffers and 'step'
    implied: dict[str, torch.Tensor] | None = None  # name -> the latest step()'s move as the state implies it
    update: dict[str, float] | None = None  # name -> ‖Δ‖ of the latest step() (None before any step)
    training: bool | None = None  # the model's mode (None for a plain function)

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

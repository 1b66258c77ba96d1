"""Watching a training loop from the outside, for the check of ``train_one_epoch``.

:func:`run` trains a small real model (an MLP with dropout, on real Fashion-MNIST images) with a
given loop function and records what happened to it: each forward pass and whether the model was in
training mode; each backward pass and whether ``.grad`` still held an older batch's gradient; each
``opt.step()`` with what ``.grad`` and the learning rate were at that moment; how often the scheduler
moved; how many older loss graphs stayed alive; and what the function returned.
"""
from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from course_utils.exercises.verdict import not_done


@dataclass(frozen=True)
class Setup:
    """One training run the check makes: the optimizer, the scheduler, the batches."""

    optimizer: str  # "sgd" (momentum 0.9) or "adam"
    lr: float
    scheduler: bool
    num_batches: int
    batch_size: int
    seed: int

    def text(self) -> str:
        opt = f"SGD(momentum=0.9, lr={self.lr})" if self.optimizer == "sgd" else f"Adam(lr={self.lr})"
        sched = "a scheduler" if self.scheduler else "scheduler=None"
        return f"{opt}, {sched}, {self.num_batches} batches of {self.batch_size} images"


SETUPS = (Setup("sgd", 0.05, True, 6, 16, 0), Setup("adam", 0.01, False, 4, 8, 1))


@functools.lru_cache(maxsize=1)
def _images(count: int = 96):
    """The first ``count`` Fashion-MNIST test images (N, 1, 28, 28) in [0, 1], and their labels."""
    from course_utils.data import DataError, fashion_mnist_arrays, to_tensors

    try:
        images, labels = fashion_mnist_arrays(train=False)
    except DataError as err:
        return err
    return to_tensors(images[:count], labels[:count])


def model_for(seed: int) -> nn.Module:
    """The model a run trains: a small MLP with dropout, the same for the same seed."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 16), nn.ReLU(), nn.Dropout(0.25),
                             nn.Linear(16, 10))


def schedule(k: int) -> float:
    """The scheduler's factor after k steps: a different learning rate for every batch."""
    return 1 / (1 + k)


class _Token:
    """Lives exactly as long as the autograd graph of one loss."""


class _Tag(torch.autograd.Function):
    """The identity, with a token held by its graph node: a weak reference to the token tells
    whether anything still holds that loss's graph."""

    @staticmethod
    def forward(ctx, loss, token):
        ctx.token = token
        return loss.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad, None


@dataclass
class Record:
    """What happened during one call of the learner's function."""

    forwards: list = field(default_factory=list)  # model.training at each forward pass
    backwards: list = field(default_factory=list)  # True where .grad held older gradients
    steps: list = field(default_factory=list)  # (backward passes since the last step, grads, lr)
    losses: list = field(default_factory=list)  # each batch loss, as a float
    graphs_kept: int = 0  # most loss graphs from older batches alive at once
    tokens: list = field(default_factory=list)
    backwards_since_step: int = 0

    def watch(self, model: nn.Module, opt):
        first = next(model.parameters())
        model.register_forward_pre_hook(lambda module, args: self.forwards.append(module.training))
        first.register_hook(lambda grad: self._backward(first))
        opt.register_step_pre_hook(lambda optimizer, args, kwargs: self._step(optimizer))

    def _backward(self, p):
        self.backwards.append(p.grad is not None and bool(p.grad.any()))
        self.backwards_since_step += 1

    def _step(self, opt):
        grads = [p.grad for group in opt.param_groups for p in group["params"]]
        held = "none" if all(g is None for g in grads) else \
            "zeros" if all(g is None or not g.any() for g in grads) else "gradients"
        self.steps.append((self.backwards_since_step, held, opt.param_groups[0]["lr"]))
        self.backwards_since_step = 0

    def loss_fn(self, y_hat, y):
        """Cross-entropy, as ``nn.CrossEntropyLoss()`` computes it, with its graph watched."""
        loss = F.cross_entropy(y_hat, y)
        alive = sum(ref() is not None for ref in self.tokens[:-1])  # batches before the previous one
        self.graphs_kept = max(self.graphs_kept, alive)
        token = _Token()
        self.tokens.append(weakref.ref(token))
        self.losses.append(loss.item())
        return _Tag.apply(loss, token)


@dataclass
class Run:
    setup: Setup
    record: Record
    value: object
    params: list
    start: list
    scheduler_steps: int | None
    expected_lrs: list


def run(fn, setup: Setup, call=None) -> Run:
    """Train a fresh model for one epoch with ``fn``; ``call`` runs it (the trial's guarded call)."""
    data = _images()
    if isinstance(data, Exception):
        not_done(f"the check trains on Fashion-MNIST images, which it could not load: {data}")
    X, y = data
    n = setup.num_batches * setup.batch_size
    batches = [(X[i:i + setup.batch_size].clone(), y[i:i + setup.batch_size].clone())
               for i in range(0, n, setup.batch_size)]
    model = model_for(setup.seed)
    model.eval()  # as after an evaluation: the function must switch training mode back on
    params = list(model.parameters())
    if setup.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=setup.lr, momentum=0.9)
    else:
        opt = torch.optim.Adam(params, lr=setup.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, schedule) if setup.scheduler else None
    record = Record()
    record.watch(model, opt)
    start = [p.detach().clone() for p in params]
    with torch.random.fork_rng():
        torch.manual_seed(setup.seed)  # the same dropout masks for the learner and the reference
        args = (model, batches, record.loss_fn, opt, scheduler)
        value = call(*args, mutable=(0, 2, 3, 4)) if call else fn(*args)
    expected_lrs = [setup.lr * schedule(k) if setup.scheduler else setup.lr for k in range(setup.num_batches)]
    return Run(setup, record, value, [p.detach().clone() for p in params], start,
               scheduler.last_epoch if scheduler else None, expected_lrs)

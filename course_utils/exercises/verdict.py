"""What a checker says: the result type, hints, word-wrapped messages, and number comparisons.

A checker ends with one :class:`CheckResult`: ``PASS`` (the answer is right), ``HINT`` (a
recognised mistake, or an error the learner's code raised, and what to change) or ``NOT DONE YET``
(the exercise cell still holds the stub). Inside a check, :func:`hint` and :func:`not_done` stop at
the first verdict. :func:`compare` is for notebooks: how close a hand-made value is to PyTorch's.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import NoReturn

import torch

PASS, HINT, NOT_DONE = "PASS", "HINT", "NOT DONE YET"
WIDTH = 100  # characters per line of a printed verdict


@dataclass(frozen=True)
class CheckResult:
    """A checker's verdict: ``status`` is PASS, HINT or NOT DONE YET; ``message`` says why; ``notes``
    add what is worth knowing either way; ``checked`` is the function the verdict is about."""

    status: str
    message: str
    notes: tuple[str, ...] = ()
    checked: object = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def __str__(self) -> str:
        lines = [wrap(f"{self.status}: {self.message}")]
        lines += [wrap(f"Note: {note}", indent="  ", first_indent="  ") for note in self.notes]
        return "\n".join(lines)

    def _ipython_display_(self):
        pass  # the checker has printed the verdict already; don't show it twice


class Verdict(Exception):
    """Raised inside a check to stop at the first verdict (caught by ``checker``)."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.result = CheckResult(status, message)


def hint(message: str) -> NoReturn:
    """Stop the check: HINT with ``message`` (say what differs, in the exercise's terms, and what to do)."""
    raise Verdict(HINT, message)


def not_done(message: str) -> NoReturn:
    """Stop the check: NOT DONE YET with ``message``."""
    raise Verdict(NOT_DONE, message)


def wrap(text: str, width: int = WIDTH, indent: str = "  ", first_indent: str = "") -> str:
    """Wrap each line of ``text`` at word boundaries; `code in backticks` and short (parentheses)
    are never split."""
    def keep_code(match):
        return match.group(0).replace(" ", "\0")

    out = []
    for line in text.splitlines() or [""]:
        protected = re.sub(r"`[^`]{1,60}`|\([^()]{1,24}\)", keep_code, line)
        out.append(textwrap.fill(protected, width, initial_indent=first_indent if not out else indent,
                                 subsequent_indent=indent, break_long_words=False,
                                 break_on_hyphens=False).replace("\0", " "))
    return "\n".join(out)


# ---------------------------------------------------------------- numbers

def _f64(value) -> torch.Tensor:
    return torch.as_tensor(value).detach().cpu().to(torch.float64)


def close(mine, expected, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """Same shape and equal within the tolerances (inf equals inf, nan equals nan)."""
    a, b = _f64(mine), _f64(expected)
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def first_difference(mine, expected, rtol: float = 1e-4, atol: float = 1e-6) -> tuple[int, ...] | None:
    """Index of the first element where two same-shaped arrays differ, or None."""
    a, b = _f64(mine), _f64(expected)
    differs = ~torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    where = differs.nonzero()
    return tuple(where[0].tolist()) if len(where) else None


def match(value, variants, rtol: float = 1e-4, atol: float = 1e-6) -> str | None:
    """The hint of the first ``(expected, hint)`` pair that ``value`` equals, else None."""
    for expected, message in variants:
        if close(value, expected, rtol, atol):
            return message
    return None


def fmt(value, digits: int = 4) -> str:
    """A number or a sequence of numbers, rounded for a message: ``0.1235`` or ``(0.1, -2.0)``."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(fmt(v, digits) for v in value) + ")"
    return f"{value:.{digits}g}" if abs(value) < 1e-3 or abs(value) >= 1e5 else f"{value:.{digits}f}"


def kind_of(value) -> str:
    """``"a list"``, ``"an ndarray (NumPy)"``: what a learner returned, for a message."""
    kind = type(value).__name__
    numpy = " (NumPy)" if type(value).__module__.split(".")[0] == "numpy" else ""
    return f"{'an' if kind[0].lower() in 'aeiou' else 'a'} {kind}{numpy}"


def index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


# ---------------------------------------------------------------- for notebooks

def compare(name: str, mine, reference) -> None:
    """Print whether ``mine`` equals ``reference`` exactly, approximately, and the max abs difference."""
    if mine is None:
        print(f"{name:<14} not computed yet (None)")
        return
    a, b = torch.as_tensor(mine).detach(), torch.as_tensor(reference).detach()
    if a.shape != b.shape:
        print(f"{name:<14} shapes differ: yours {tuple(a.shape)}, reference {tuple(b.shape)}")
        return
    exact = bool(torch.equal(a.to(b.dtype), b))
    approx = bool(torch.allclose(a.double(), b.double(), rtol=1e-5, atol=1e-7))
    diff = (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
    print(f"{name:<14} exact: {exact!s:<5}  approx: {approx!s:<5}  max abs diff: {diff:.1e}")

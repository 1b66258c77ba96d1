"""Running a learner's function inside a check, so that nothing the learner wrote can break the check.

``@checker`` turns ``def check_x(x: Trial) -> CheckResult`` into the ``check_x(fn)`` a notebook calls.
It prints and returns one verdict, and leaves one even when the learner interrupts the kernel.
Only calls into learner code are guarded (:meth:`Trial.call`, :meth:`Trial.grad`): an exception from
the check's own code is a bug in the course and keeps its traceback, for the maintainer.
"""
from __future__ import annotations

import ast
import functools
import inspect
import io
import linecache
import textwrap
import warnings
from contextlib import redirect_stdout
from dataclasses import replace

import torch

from course_utils.exercises.inputs import change_hint, snapshot
from course_utils.exercises.timelimit import TimeLimit, TimeUp
from course_utils.exercises.verdict import HINT, NOT_DONE, CheckResult, Verdict, hint, not_done
from course_utils.torch_errors import classify, first_line

TIME_LIMIT_S = 5.0  # per call of the learner's function

# What a learner should do about each kind of error (the kinds: course_utils.torch_errors).
# An exercise adds or replaces entries with its own words: @checker(advice={...}).
ERROR_ADVICE = {
    "no_grad_fn": "make sure every tensor you differentiate comes from tensors that require grad, "
                  "and that no part runs inside torch.no_grad().",
    "none_attribute": "something is None, most likely a .grad: only a leaf tensor created with "
                      "requires_grad=True gets a .grad, and only after backward().",
    "bad_operand": "an operand is None or of the wrong type; a .grad is None until backward() has run "
                   "on a leaf tensor.",
    "shape_mismatch": "shapes don't match: print the .shape of each tensor involved.",
    "index_out_of_range": "an index is out of range: print the shapes and the indices you use.",
    "item_many": "`.item()` and `float()` work only on a tensor holding one number.",
    "numpy_requires_grad": "stay with tensor operations: NumPy cannot follow gradients.",
    "dtype_mismatch": "two tensors have different dtypes: don't convert the inputs, use them as given.",
    "unexpected_keyword": "keep the function's name and arguments exactly as in the stub.",
    "wrong_arguments": "keep the function's name and arguments exactly as in the stub.",
    "name_not_defined": "inside your function use its arguments, not variables from other cells, and "
                        "run the cell that defines every name you use.",
    "non_leaf_grad": "only leaf tensors (created by you with requires_grad=True) get a .grad; one "
                     "computed from others (a non-leaf) keeps None unless you call .retain_grad() on it.",
}
GENERIC_ADVICE = "read the last line of the message, fix that line, run the exercise cell, then this one."
DATA_TYPES = (torch.Tensor, int, float, list, tuple, dict)


class Trial:
    """The learner's function as a check sees it: call it safely, look at its source."""

    def __init__(self, fn, advice=None):
        self.fn = fn
        self.advice = {**ERROR_ADVICE, **(advice or {})}
        self.warnings: list[str] = []
        self.printed = ""

    def call(self, *args, mutable=(), returns=True):
        """``fn(*args)`` under a time limit. An error, a timeout, a change to an argument (other than
        the positions in ``mutable``) or, when ``returns``, no return value stops the check."""
        before = {i: snapshot(a) for i, a in enumerate(args) if i not in mutable}
        value = self._guarded(self.fn, *args)
        names = self.arg_names()
        for i, snap in before.items():
            message = change_hint(names[i] if i < len(names) else f"argument {i + 1}", snap, args[i])
            if message:
                hint(message)
        if returns and (value is None or value is Ellipsis):
            not_done(f"your function returned {value!r}. Finish the stub, and make sure it ends with a "
                     f"`return` line.")
        return value

    def grad(self, output, inputs):
        """d(output)/d(input) for each input through the graph the learner's code built; None where
        no gradient reaches an input (also when ``output`` does not require grad at all)."""
        if not (isinstance(output, torch.Tensor) and output.requires_grad):
            return [None] * len(inputs)
        return self._guarded(torch.autograd.grad, output, inputs, allow_unused=True)

    def _guarded(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` with its errors, prints and warnings caught. Only the call itself
        is guarded: an error in this machinery is a bug and is raised as one."""
        out, limit, failed = io.StringIO(), TimeLimit(TIME_LIMIT_S), None
        with warnings.catch_warnings(record=True) as caught, redirect_stdout(out):
            warnings.simplefilter("always")
            try:
                with limit:
                    try:
                        return fn(*args, **kwargs)
                    except (Exception, SystemExit) as err:  # the learner's code raised it
                        failed = err
            except TimeUp:  # also when time ran out just as the function returned
                hint(f"no answer after {TIME_LIMIT_S:g} s: look for a loop that never ends (a `while` "
                     f"whose condition stays true, or a loop that grows the list it walks over).")
            except KeyboardInterrupt:
                not_done(f"you interrupted your function after {limit.elapsed:.1f} s. If it never "
                         f"finishes, look for a loop that never ends; then run this cell again.")
            finally:
                self.printed += out.getvalue()
                self.warnings += [f"{type(w.message).__name__}: {w.message}" for w in caught]
        if isinstance(failed, NotImplementedError):
            not_done("your function still raises NotImplementedError. Replace that line with your code, "
                     "run the exercise cell, then this one.")
        hint(self._error_message(failed))

    def _error_message(self, err: BaseException) -> str:
        where = self._learner_line(err)
        advice = self.advice.get(classify(err) or "", GENERIC_ADVICE)
        return (f"your function raised {type(err).__name__}: {first_line(err)}"
                + (f"\nin the line `{where}`" if where else "") + f"\nWhat to do: {advice}")

    def _learner_line(self, err: BaseException) -> str:
        code = getattr(self.fn, "__code__", None)
        line, tb = "", err.__traceback__
        while code is not None and tb is not None:
            if tb.tb_frame.f_code.co_filename == code.co_filename:
                line = linecache.getline(code.co_filename, tb.tb_lineno).strip()
            tb = tb.tb_next
        return line if len(line) <= 80 else line[:79] + "…"

    # ------------------------------------------------------------ reading the learner's code

    def arg_names(self) -> list[str]:
        try:
            return list(inspect.signature(self.fn).parameters)
        except (TypeError, ValueError):
            return []

    def _tree(self):
        try:
            return ast.parse(textwrap.dedent(inspect.getsource(self.fn)))
        except (OSError, TypeError, SyntaxError, IndentationError):
            return None  # no source (a built-in, a function typed at a prompt): read nothing

    def uses(self, *names: str) -> list[str]:
        """Which of ``names`` the learner's source mentions (as a name, attribute or keyword)."""
        tree = self._tree()
        if tree is None:
            return []
        seen = set()
        for node in ast.walk(tree):
            seen.add(getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "arg", None))
        return [n for n in names if n in seen]

    def by_hand_note(self, names, meant: str) -> tuple[str, ...]:
        """A note for a right answer that uses one of ``names`` (e.g. ``"backward"``, ``"mse_loss"``)
        where the exercise asked for ``meant``; ``()`` when it uses none of them."""
        used = self.uses(*names)
        return (f"your answer uses `{used[0]}`: right, and what you would write in practice, but the "
                f"exercise meant {meant}",) if used else ()

    def notebook_values_read(self) -> list[str]:
        """Names of notebook variables holding data (tensors, numbers, lists) the function reads."""
        tree, space = self._tree(), getattr(self.fn, "__globals__", {})
        if tree is None:
            return []
        local = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        local |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        return sorted(n for n in loaded - local if isinstance(space.get(n), DATA_TYPES))

    def reads_notebook(self) -> str:
        """A sentence naming the notebook variables the function reads, or ``""``."""
        names = self.notebook_values_read()
        if not names:
            return ""
        listed = ", ".join(f"`{n}`" for n in names)
        return (f" Your function reads {listed} from the notebook: use its arguments instead, so that "
                f"it works for whatever it is given.")

    def finish(self, result: CheckResult) -> CheckResult:
        """``result`` with notes about warnings and printed output, tied to the function checked."""
        notes = list(result.notes)
        table = self.advice if result.status == HINT else ERROR_ADVICE  # exercise words explain mistakes
        for text in dict.fromkeys(self.warnings).keys():
            advice = table.get(classify(Warning(text)) or "")
            first = text.splitlines()[0].split(". ")[0].rstrip(".")
            notes.append(f"PyTorch warned while your function ran: {first}." + (f" ({advice})" if advice else ""))
            if len(notes) - len(result.notes) == 2:
                break
        lines = self.printed.count("\n")
        if lines:
            notes.append(f"your function printed {lines} line{'s' * (lines > 1)} while it was checked "
                         f"(not shown here).")
        return replace(result, notes=tuple(notes), checked=self.fn)


def checker(check=None, *, advice=None):
    """Decorator: ``check_x(fn)`` runs ``check(Trial(fn))``, prints the verdict and returns it.
    Use as ``@checker`` or ``@checker(advice={kind: "what to do"})`` for exercise-specific advice."""
    if check is None:
        return functools.partial(checker, advice=advice)

    @functools.wraps(check)
    def run_check(fn) -> CheckResult:
        trial = Trial(fn, advice)
        try:
            if fn is None or fn is Ellipsis:
                not_done("write your function in the exercise cell, run that cell, then this one.")
            if not callable(fn):
                hint(f"pass the function itself, e.g. `{check.__name__}(my_function)`, not its result "
                     f"(you passed a {type(fn).__name__}).")
            result = check(trial)
            if not isinstance(result, CheckResult):
                raise TypeError(f"{check.__name__} returned {result!r}; a check must return a CheckResult")
        except Verdict as verdict:
            result = verdict.result
        except KeyboardInterrupt:
            result = CheckResult(NOT_DONE, "you interrupted the check before it reached a verdict. Run "
                                           "this cell again.")
        except Exception as err:
            if hasattr(err, "add_note"):
                err.add_note(f"This error comes from the course's checker {check.__name__}, not from your "
                             f"code. Please report it to the course's maintainers.")
            raise
        result = trial.finish(result)
        print(result)
        return result

    return run_check

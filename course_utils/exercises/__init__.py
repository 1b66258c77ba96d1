"""The course's auto-checked exercises: one module per exercise, and the registry of them.

In a notebook::

    from course_utils.exercises import compare, reveal_solution, use_or_reference
    from course_utils.exercises.quadratic import check_quadratic

    result = check_quadratic(train_quadratic)   # prints PASS / HINT / NOT DONE YET, returns a CheckResult
    reveal_solution("quadratic")                # a folded reference solution: click to open it
    train = use_or_reference("quadratic", train_quadratic, result)   # later cells run either way

Each exercise module (``linear``, ``quadratic``, ``backprop``, ``tanh_grad``, ``mse``,
``cross_entropy``, ``adam_step``, ``train_one_epoch``) holds everything about its exercise: constants,
the reference solution written as a learner would, the recognised mistakes, the check, and helpers its
notebook uses; it ends with ``SOLUTION = <reference function>`` and ``CHECK = <check function>``.
:data:`EXERCISES` below lists them: adding an exercise is adding one module and its name here. The
shared machinery is in ``verdict`` (what a check says) and ``trial`` (running the learner's code);
CONTRIBUTING.md ("How to add an exercise") walks through it.
"""
from __future__ import annotations

import html
import importlib
import inspect

from course_utils.exercises.verdict import HINT, NOT_DONE, PASS, CheckResult, compare, wrap

EXERCISES = ("linear", "quadratic", "backprop", "tanh_grad", "mse", "cross_entropy",  # one module each,
             "adam_step", "train_one_epoch")  # in this package, in the order the notebooks use them


def exercise(name: str):
    """The module of exercise ``name``."""
    if name not in EXERCISES:
        raise KeyError(f"No exercise called {name!r}. Known exercises: {', '.join(EXERCISES)}.")
    return importlib.import_module(f"{__name__}.{name}")


def solution(name: str):
    """The reference function of exercise ``name``."""
    return exercise(name).SOLUTION


def solution_source(name: str) -> str:
    """The source code of the reference solution of exercise ``name``."""
    return inspect.getsource(solution(name))


class SolutionFold:
    """A reference solution shown folded: a ``<details>`` block a learner clicks to open. Rendered
    as HTML it works alike in JupyterLab, Notebook 7, VS Code and Colab, with no widget and no
    kernel round trip; as plain text it only says how to see the solution."""

    def __init__(self, name: str):
        self.name, self.source = name, solution_source(name)

    def _repr_html_(self) -> str:
        return (f'<details class="course-solution"><summary style="cursor: pointer">Show the reference '
                f'solution of <code>{html.escape(self.name)}</code> (try on your own first!)</summary>'
                f'<pre>{html.escape(self.source)}</pre></details>')

    def __repr__(self) -> str:
        return (f"(The reference solution of {self.name!r} is folded away: open this notebook in Jupyter, "
                f"VS Code or Colab and click it, or run `from course_utils.exercises import "
                f"solution_source; print(solution_source({self.name!r}))`.)")


def reveal_solution(name: str) -> None:
    """Show the reference solution of exercise ``name`` folded; a click opens it. Outside IPython,
    print it."""
    fold = SolutionFold(name)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(fold.source)
    else:
        display(fold)


def use_or_reference(name: str, learner_fn, result):
    """``learner_fn`` if ``result`` is a PASS for this very function, else the reference solution
    of exercise ``name`` (said out loud), so that later cells run either way."""
    reference = solution(name)
    if isinstance(result, CheckResult) and result.passed and result.checked is learner_fn:
        return learner_fn
    if isinstance(result, CheckResult) and result.passed:
        why = "your function was redefined after its check passed: run its check cell again."
    else:
        why = "your own version takes over once its check passes."
    print(wrap(f"(Using the reference solution of {name!r} below, so the rest of the notebook runs; "
               f"{why})"))
    return reference


__all__ = ["CheckResult", "PASS", "HINT", "NOT_DONE", "EXERCISES", "compare", "exercise", "solution",
           "solution_source", "reveal_solution", "use_or_reference"]

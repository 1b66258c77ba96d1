"""Learner answers for the checker tests, written as source code the way a learner types a cell.

``define(source)`` runs the source like a notebook cell (its lines registered in ``linecache``, as
IPython does, so the checkers can read the learner's code) and returns the function it defines.
``NOTEBOOK_2`` holds the globals a learner's notebook 2 has, for answers that read them.
"""
from __future__ import annotations

import itertools
import linecache
import textwrap

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

_cells = itertools.count()

NOTEBOOK_2 = {"x": torch.tensor([1.0, 2.0, 3.0, 4.0]), "y": torch.tensor([2.0, 4.0, 6.0, 8.0]),
              "start": (0.05, 1.5, 0.05), "lrs": (0.001, 0.05, 0.001), "num_epochs": 200}


def define(source: str, **notebook_globals):
    """The (last) function that ``source`` defines, compiled as a notebook cell would be."""
    source = textwrap.dedent(source).strip("\n") + "\n"
    filename = f"<learner-cell-{next(_cells)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"torch": torch, "nn": nn, "F": F, "np": np, **notebook_globals}
    exec(compile(source, filename, "exec"), namespace)
    functions = [v for v in namespace.values()
                 if getattr(getattr(v, "__code__", None), "co_filename", "") == filename]
    return functions[-1]


@pytest.fixture
def short_time_limit(monkeypatch):
    """Learner code gets 0.5 s instead of the notebook's few seconds (an endless loop ends quickly)."""
    from course_utils.exercises import trial

    monkeypatch.setattr(trial, "TIME_LIMIT_S", 0.5)


def assert_wrapped(result, width: int = 100) -> None:
    """Every printed line fits ``width``, unless it is one unbreakable word."""
    for line in str(result).splitlines():
        assert len(line) <= width or " " not in line.strip(), line


def expect_hint(check, source: str, fragment: str, capsys, **notebook_globals):
    """The learner code ``source`` never passes: a hint (printed without a traceback) containing
    ``fragment``, wrapped at word boundaries."""
    result = check(define(source, **notebook_globals))
    assert "Traceback" not in capsys.readouterr().out
    assert result.status == "HINT" and fragment in str(result), str(result)
    assert_wrapped(result)
    return result


def expect_pass(check, source: str, **notebook_globals):
    result = check(define(source, **notebook_globals))
    assert result.status == "PASS", str(result)
    return result

"""Prose that stays true: the figures a notebook's markdown quotes agree with its outputs.

Training results differ between CPUs, thread counts and GPUs, so the prose never quotes their digits:
- an exact percentage in the prose (``91.07%``) must appear in a checked output (``# NBVAL_CHECK_OUTPUT``),
  the only outputs that are the same on every machine;
- an approximate one (``about 91%``) must be within a point of a percentage the notebook printed;
- a threshold (``at least 90.5%``) must be the one a checked cell tests (``≥ 90.5%: yes``).
Numbers in code spans (`lr=1e-3`) are code, not quotes, and are left alone.
"""
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from nbexec import is_checked, output_text  # noqa: E402

# add a notebook here once its prose complies
NOTEBOOKS = [ROOT / "notebooks" / name for name in ("08_fashion_mnist_cnn.ipynb", "09_fashion_mnist_fast.ipynb")]

CODE_SPAN = re.compile(r"`[^`]*`")
EXACT = re.compile(r"(?<![\d.])(\d+\.\d+)\s?%")
APPROX = re.compile(r"\b(?:about|around|roughly|approximately|~)\s*(\d+(?:\.\d+)?)\s?%", re.I)
AT_LEAST = re.compile(r"\bat least\s*(\d+(?:\.\d+)?)\s?%", re.I)
PRINTED = re.compile(r"(\d+(?:\.\d+)?)\s?%")


def prose(nb) -> str:
    return "\n".join(CODE_SPAN.sub(" ", c.source) for c in nb.cells if c.cell_type == "markdown")


def prose_problems(nb) -> list[str]:
    """What the markdown quotes that the outputs do not back; empty when prose and outputs agree."""
    text = prose(nb)
    checked = "\n".join(output_text(c) for c in nb.cells if is_checked(c))
    printed = [float(x) for c in nb.cells if c.cell_type == "code" for x in PRINTED.findall(output_text(c))]
    problems = []
    for figure in EXACT.findall(text):
        if f"{figure}%" not in checked.replace(" %", "%"):
            problems.append(f"the prose quotes {figure}% exactly, but no checked output prints it: it may differ "
                            f"on another machine. Write 'about {round(float(figure))}%' or point at the output.")
    for figure in APPROX.findall(text):
        if not any(abs(p - float(figure)) <= 1.0 for p in printed):
            problems.append(f"the prose says about {figure}%, but no output prints a percentage within a point "
                            f"of it (printed: {sorted(set(printed)) or 'none'}).")
    for figure in AT_LEAST.findall(text):
        if not re.search(rf"≥\s*{re.escape(figure)}\s?%", checked):
            problems.append(f"the prose promises at least {figure}%, but no checked cell tests '≥ {figure}%'.")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_prose_quotes_only_what_the_outputs_back(path):
    problems = prose_problems(nbformat.read(path, as_version=4))
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the check can fail

def notebook(markdown: str, outputs: dict) -> nbformat.NotebookNode:
    """One markdown cell, then one code cell per {source: printed text}."""
    cells = [nbformat.v4.new_markdown_cell(markdown)]
    for source, text in outputs.items():
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


TRAINED = {"print(acc)": "epoch 4: test accuracy 91.23%\n",
           "# NBVAL_CHECK_OUTPUT\nprint(ok)": "final test accuracy ≥ 90.5%: yes\n"}


def test_consistent_prose_passes():
    nb = notebook("It reaches about 91% (`lr=1e-3`, `0.5%` in code is code); the check asks for at least "
                  "90.5%.", TRAINED)
    assert prose_problems(nb) == []


def test_an_exact_training_figure_in_the_prose_is_caught():
    problems = prose_problems(notebook("The final epoch reaches **91.23%**.", TRAINED))
    assert len(problems) == 1 and "quotes 91.23% exactly" in problems[0] and "about 91%" in problems[0]


def test_an_exact_figure_that_a_checked_cell_prints_is_fine():
    nb = notebook("Label smoothing puts 0.5% on each other class.",
                  {"# NBVAL_CHECK_OUTPUT\nprint(t)": "each other class: 0.5%\n"})
    assert prose_problems(nb) == []


def test_an_approximation_far_from_the_outputs_is_caught():
    problems = prose_problems(notebook("It reaches about 93%.", TRAINED))
    assert len(problems) == 1 and "about 93%" in problems[0] and "91.23" in problems[0]


def test_a_threshold_no_checked_cell_tests_is_caught():
    problems = prose_problems(notebook("The check asks for at least 91%.", TRAINED))
    assert len(problems) == 1 and "at least 91%" in problems[0]

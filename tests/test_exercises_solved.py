"""Every notebook with exercises also runs clean when solved, and every check cell then says PASS.

nbval runs the notebooks as shipped (stubs unsolved: check cells say "not done yet"). Here each cell
tagged ``exercise`` is replaced by the reference solution from ``course_utils.exercises`` and the
notebook is executed in a fresh kernel.
"""
import ast
import copy
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_utils.exercises import EXERCISES, exercise, solution, solution_source
from course_utils.exercises import quadratic

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
BY_FUNCTION = {solution(name).__name__: name for name in EXERCISES}


def tagged(nb, tag):
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


def exercise_of(cell) -> str:
    """The exercise an ``exercise`` cell belongs to: the one whose function it defines."""
    defined = [n.name for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)]
    names = [BY_FUNCTION[d] for d in defined if d in BY_FUNCTION]
    assert len(names) == 1, f"an exercise cell must define exactly one exercise function, found {defined}"
    return names[0]


def with_exercises():
    paths = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    return [p for p in paths if tagged(nbformat.read(p, as_version=4), "exercise")]


def solved(nb):
    """A copy of ``nb`` with each exercise cell's stub replaced by the reference solution."""
    nb = copy.deepcopy(nb)
    for cell in tagged(nb, "exercise"):
        cell.source = solution_source(exercise_of(cell))
        cell.outputs = []
    return nb


def stream_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.mark.parametrize("path", with_exercises(), ids=lambda p: p.name)
def test_solved_notebook_runs_clean_and_every_check_passes(path):
    nb = solved(nbformat.read(path, as_version=4))
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()  # raises on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    checks = tagged(nb, "check")
    assert checks, "a notebook with exercises needs check cells"
    for cell in checks:
        assert stream_text(cell).startswith("PASS"), stream_text(cell)
    assert "reference solution" not in "".join(stream_text(c) for c in nb.cells)


@pytest.mark.parametrize("path", with_exercises(), ids=lambda p: p.name)
def test_shipped_notebook_is_unsolved_with_check_and_folded_solution(path):
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    for cell in tagged(nb, "exercise"):
        name = exercise_of(cell)
        assert "NotImplementedError" in cell.source, "ship the exercise as a stub"
        stub = ast.parse(cell.source).body[0]
        reference = ast.parse(solution_source(name)).body[0]
        assert ast.dump(stub.args) == ast.dump(reference.args), "stub and solution signatures differ"
        i = cells.index(cell)
        check, reveal = cells[i + 1], cells[i + 2]
        assert "check" in check.metadata.get("tags", []), "the cell after an exercise checks it"
        assert f"check_{name}({stub.name})" in check.source
        assert stream_text(check).lower().startswith("not done yet"), "commit outputs of the unsolved run"
        assert "solution" in reveal.metadata.get("tags", [])
        assert f'reveal_solution("{name}")' in reveal.source
        (shown,) = reveal.outputs  # the fold, and nothing else: no source in plain sight
        assert shown.output_type == "display_data"
        assert shown.data["text/html"].startswith('<details class="course-solution">')
        assert "<details open" not in shown.data["text/html"]
        assert f"def {reference.name}(" not in shown.data["text/plain"]


def test_every_exercise_is_used_by_some_notebook_and_has_its_parts():
    notebooks = [nbformat.read(p, as_version=4) for p in with_exercises()]
    used = {exercise_of(c) for nb in notebooks for c in tagged(nb, "exercise")}
    assert used == set(EXERCISES)
    for name in EXERCISES:
        module = exercise(name)
        assert module.CHECK.__name__ == f"check_{name}" and callable(module.SOLUTION)


def test_notebook_2_data_cell_holds_the_exercise_constants():
    """The numbers notebook 2 shows the learner are the ones its check and explorer use."""
    nb = nbformat.read(NOTEBOOKS / "02_quadratic_exercise.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and "start = " in c.source]
    values = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            value = node.value.args[0] if isinstance(node.value, ast.Call) else node.value
            values[node.targets[0].id] = ast.literal_eval(value)
    assert tuple(values["x"]) == quadratic.X and tuple(values["y"]) == quadratic.Y
    assert values["start"] == quadratic.START and values["lrs"] == quadratic.LRS
    assert values["num_epochs"] == quadratic.NUM_EPOCHS

"""Code a notebook teaches, read from its cells, to test a package copy against (one source of truth).

A notebook writes out what it teaches (a model class, a loop); a later notebook may import the same code
from ``course_utils`` only if a test keeps the two equal:

    problems = copy_problems(ROOT / "notebooks/05_lenet_training_loop.ipynb", "LeNet5", course_utils.models)
    assert not problems, "\\n".join(problems)

Equal means the same code: comments, docstrings and type annotations may differ, nothing else.
"""
from __future__ import annotations

import ast
import copy
import difflib
import inspect
from pathlib import Path
from types import ModuleType

import nbformat


def _python_lines(cell_source: str) -> str:
    """A code cell's source without IPython lines (``%magic``, ``!shell``), which are not Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines())


def _top_level(tree: ast.Module, name: str) -> ast.AST | None:
    return next((node for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))
                 and node.name == name), None)


def notebook_definition(path: Path, name: str) -> ast.AST:
    """The top-level ``class name`` or ``def name`` of the one code cell of ``path`` that defines it."""
    found = []
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_python_lines(cell.source))
        except SyntaxError:
            continue
        node = _top_level(tree, name)
        if node is not None:
            found.append((i, node))
    if len(found) != 1:
        where = ", ".join(f"cell {i}" for i, _ in found) or "no cell"
        raise LookupError(f"{path.name}: expected exactly one code cell defining {name!r}, found {where}")
    return found[0][1]


def module_definition(module: ModuleType, name: str) -> ast.AST:
    """The top-level ``class name`` or ``def name`` in ``module``'s source file."""
    node = _top_level(ast.parse(inspect.getsource(module)), name)
    if node is None:
        raise LookupError(f"{module.__name__} defines no top-level {name!r}")
    return node


def normalized(node: ast.AST) -> str:
    """The code of a definition as text, without docstrings and type annotations (comments are gone too)."""
    class Strip(ast.NodeTransformer):
        def _drop_docstring(self, node):
            self.generic_visit(node)
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
            return node

        visit_ClassDef = _drop_docstring

        def visit_FunctionDef(self, node):
            node.returns = None
            return self._drop_docstring(node)

        def visit_arg(self, node):
            node.annotation = None
            return node

        def visit_AnnAssign(self, node):  # `x: int = 1` -> `x = 1`
            if node.value is None:
                return None
            return ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)

    tree = ast.fix_missing_locations(Strip().visit(copy.deepcopy(node)))
    return ast.unparse(tree)


def copy_problems(notebook: Path, name: str, module: ModuleType) -> list[str]:
    """Empty when ``module``'s ``name`` is the same code as the notebook's; else a diff, notebook first."""
    taught = normalized(notebook_definition(notebook, name))
    copied = normalized(module_definition(module, name))
    if taught == copied:
        return []
    diff = difflib.unified_diff(taught.splitlines(), copied.splitlines(), lineterm="",
                                fromfile=f"{notebook.name} ({name})", tofile=f"{module.__name__}.{name}")
    return [f"{module.__name__}.{name} differs from the class taught in {notebook.name}; make the package "
            f"copy equal to the notebook cell:", *diff]

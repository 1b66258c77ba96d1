"""The package's shape from the design notes: one-way imports, ipywidgets only in widgets.py."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "course_utils"
MODULES = sorted(".".join(p.relative_to(PKG).with_suffix("").parts) for p in PKG.rglob("*.py")
                 if p.stem != "__init__")  # "data", ..., "exercises.verdict"

# module -> course_utils modules it must never import (directly)
FORBIDDEN = {
    "data": {"models", "training", "stepper", "widgets", "plots", "exercises"},
    "stepper": {"widgets", "step_views", "plots"},
    "step_facts": {"widgets", "step_views", "stepper", "step_messages"},
    "step_state": {"widgets", "step_views", "stepper", "step_facts"},
    "step_messages": {"widgets", "step_views", "stepper", "step_facts"},
    "optim_state": {"widgets", "step_views", "stepper"},
    "landscape": {"widgets", "step_views", "stepper"},
    "plots": {"widgets", "stepper", "data"},
    "models": {"widgets", "data"},
}
FORBIDDEN.update({m: {"widgets", "stepper"} for m in MODULES if m.startswith("exercises.")})
FORBIDDEN.update({m: {"widgets"} for m in MODULES if m.startswith("step_views.")})


def imports_of(module: str) -> set[str]:
    tree = ast.parse((PKG / f"{module.replace('.', '/')}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "course_utils":
                names |= {f"course_utils.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("module", MODULES)
def test_only_widgets_imports_ipywidgets(module):
    uses = {n for n in imports_of(module) if n.split(".")[0] == "ipywidgets"}
    assert not uses or module == "widgets", f"{module}.py imports {uses}; widget code belongs in widgets.py"


@pytest.mark.parametrize("module", MODULES)
def test_no_star_imports(module):
    tree = ast.parse((PKG / f"{module.replace('.', '/')}.py").read_text())
    stars = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)]
    assert not stars, f"{module}.py star-imports {stars}"


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_imports_point_one_way(module):
    used = {n.split(".")[1] for n in imports_of(module) if n.startswith("course_utils.")}
    assert not used & FORBIDDEN[module], f"{module}.py imports {used & FORBIDDEN[module]}"


def test_every_subpackage_is_installed():
    """pyproject.toml lists the packages by hand; one left out is missing from a non-editable install
    (Colab's `%pip install git+...`), and every import of it fails there."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    listed = set(tomllib.loads((PKG.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    present = {".".join(("course_utils",) + p.parent.relative_to(PKG).parts) for p in PKG.rglob("__init__.py")}
    assert present <= listed, f"add {sorted(present - listed)} to [tool.setuptools] packages in pyproject.toml"

"""One source of truth: code in course_utils that a notebook teaches is the notebook cell's code.

Each row names the notebook that writes the code out and the package module that holds the copy later
notebooks import. The test fails with a diff when the two drift apart.
"""
from pathlib import Path

import nbformat
import pytest
from notebook_source import copy_problems, normalized, notebook_definition

from course_utils import models

ROOT = Path(__file__).resolve().parents[1]

COPIES = [  # (notebook that teaches it, name, module holding the copy)
    ("notebooks/05_lenet_training_loop.ipynb", "LeNet5", models),
]


@pytest.mark.parametrize("notebook, name, module", COPIES, ids=[name for _, name, _ in COPIES])
def test_package_copy_is_the_code_the_notebook_teaches(notebook, name, module):
    problems = copy_problems(ROOT / notebook, name, module)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the comparison can fail

TAUGHT = '''\
class Tiny(nn.Module):
    def __init__(self, act=nn.ReLU):
        super().__init__()
        self.fc = nn.Linear(4, 2)   # a comment
        self.act = act()

    def forward(self, x):
        return self.act(self.fc(x))
'''


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('%pip install -q something\nimport torch')]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def module_with(tmp_path: Path, source: str):
    import importlib.util
    path = tmp_path / "copy_module.py"
    path.write_text("import torch\nfrom torch import nn\n\n\n" + source)
    spec = importlib.util.spec_from_file_location("copy_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docstrings_comments_and_annotations_may_differ(tmp_path):
    notebook = write_notebook(tmp_path / "nb.ipynb", TAUGHT)
    copy = TAUGHT.replace("class Tiny(nn.Module):\n", 'class Tiny(nn.Module):\n    """A docstring."""\n\n')
    copy = copy.replace("def forward(self, x):", "def forward(self, x: torch.Tensor) -> torch.Tensor:")
    copy = copy.replace("   # a comment", "")
    assert copy_problems(notebook, "Tiny", module_with(tmp_path, copy)) == []


@pytest.mark.parametrize("drift", [
    ("act=nn.ReLU", "act=nn.Identity"),                     # the default activation (the drift issue 14 found)
    ("nn.Linear(4, 2)", "nn.Linear(4, 3)"),                 # a layer size
    ("return self.act(self.fc(x))", "return self.fc(x)"),  # the forward pass
    ("def __init__(self, act=nn.ReLU):", "def __init__(self, act=nn.ReLU, bias=True):"),  # an extra argument
])
def test_any_change_in_code_is_reported_with_a_diff(tmp_path, drift):
    notebook = write_notebook(tmp_path / "nb.ipynb", TAUGHT)
    problems = copy_problems(notebook, "Tiny", module_with(tmp_path, TAUGHT.replace(*drift)))
    assert problems and "differs from the class taught in nb.ipynb" in problems[0]
    removed = [line for line in problems[1:] if line.startswith("-") and not line.startswith("---")]
    added = [line for line in problems[1:] if line.startswith("+") and not line.startswith("+++")]
    assert removed and added, problems


def test_the_notebook_must_define_it_exactly_once(tmp_path):
    with pytest.raises(LookupError, match="no cell"):
        notebook_definition(write_notebook(tmp_path / "a.ipynb", "x = 1"), "Tiny")
    with pytest.raises(LookupError, match="cell 1, cell 2"):
        notebook_definition(write_notebook(tmp_path / "b.ipynb", TAUGHT, TAUGHT), "Tiny")
    assert "self.fc = nn.Linear(4, 2)" in normalized(notebook_definition(
        write_notebook(tmp_path / "c.ipynb", "import torch\n" + TAUGHT), "Tiny"))

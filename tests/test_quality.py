"""The course-wide quality gate: every notebook runs clean, twice, within its memory budget; committed
notebooks carry a clean run's outputs and follow CONTRIBUTING.md; the three install routes agree; every
link points at a file that exists.

Each check is a function returning a list of problems, tested on deliberately broken notebooks below,
so the gate is known to fail when the thing it guards breaks. The two executions per notebook are
marked ``slow``: ``pytest -m "not slow"`` skips them locally; the README's command runs everything.
"""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from nbexec import checked_outputs, execute_fresh, first_difference, is_checked, notebooks, output_text  # noqa: E402

SLUG = "step-by-step-torch/course"
BRANCH = "main"
MAX_BYTES = 2 * 1024 * 1024            # a committed notebook, outputs included
MAX_PEAK_RSS = 1.5e9                    # bytes, a notebook's kernel at its peak (Binder gives 2 GB)
FIRST_NOTEBOOK = "notebooks/01_linear_by_hand.ipynb"
ABSOLUTE_PATHS = re.compile(r"(?<![\w.~])(/work/|/root/|/home/|/tmp/|/Users/|[A-Za-z]:\\Users\\)")
NOTEBOOKS = notebooks(ROOT)
per_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])


def rel(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


# ---------------------------------------------------------------- CONTRIBUTING.md, the source of truth

def contributing_block(after: str, lang: str = "") -> str:
    """The first fenced code block (``` or ```lang) after the line containing ``after``."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    start = text.index(after)
    m = re.compile(r"^( *)```" + lang + r"\n(.*?)^\1```", re.S | re.M).search(text, start)
    indent = len(m.group(1))
    return "\n".join(line[indent:] for line in m.group(2).splitlines())


def setup_cell_source() -> str:
    return contributing_block("Second cell", "python").strip()


def badge_line(notebook_rel: str) -> str:
    """The two badges for ``notebooks/NN_x.ipynb``, as CONTRIBUTING.md writes them for NN_name."""
    template = contributing_block("First cell").strip()
    assert "notebooks/NN_name.ipynb" in template, "CONTRIBUTING.md's badge template changed: update this test"
    return template.replace("notebooks/NN_name.ipynb", notebook_rel)


# ---------------------------------------------------------------- checks on a committed notebook

def count_problems(nb) -> list[str]:
    """A clean run numbers every non-empty code cell 1, 2, 3, ... in order."""
    problems, expected = [], 1
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if not cell.source.strip():
            if cell.execution_count is not None:
                problems.append(f"cell {i}: empty cell with execution count {cell.execution_count}")
            continue
        if cell.execution_count != expected:
            problems.append(f"cell {i}: execution count {cell.execution_count}, a clean run gives {expected}")
        for out in cell.outputs:
            if out.output_type == "execute_result" and out.get("execution_count") != cell.execution_count:
                problems.append(f"cell {i}: an output numbered {out.get('execution_count')} "
                                f"belongs to another run")
        expected += 1
    return problems


def error_problems(nb) -> list[str]:
    return [f"cell {i}: error output {out.get('ename')}: {out.get('evalue')} (catch intended errors "
            f"and print the message)"
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for out in cell.outputs if out.output_type == "error"]


def _texts(cell):
    yield "source", cell.source
    for out in cell.get("outputs", []):
        yield "output", out.get("text", "") if isinstance(out.get("text", ""), str) else "".join(out["text"])
        yield "output", "\n".join(out.get("traceback", []))
        for mime, value in out.get("data", {}).items():
            if not mime.startswith("image/") or mime == "image/svg+xml":  # base64 can contain '/tmp/'
                yield "output", value if isinstance(value, str) else str(value)


def path_problems(nb) -> list[str]:
    """No absolute path of the author's machine in any source or output."""
    problems = []
    for i, cell in enumerate(nb.cells):
        for where, text in _texts(cell):
            for m in ABSOLUTE_PATHS.finditer(text):
                line = text[text.rfind("\n", 0, m.start()) + 1:].split("\n", 1)[0]
                problems.append(f"cell {i} {where}: absolute path {m.group(1)!r} in {line.strip()[:100]!r}")
    return problems


def header_problems(nb, notebook_rel: str) -> list[str]:
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown":
        return ["the first cell must be markdown: the title, the two badges, what you will learn, run time"]
    problems = []
    if not re.match(r"# \d+ · \S", first.source):
        problems.append("the first cell must start with '# N · Title'")
    if badge_line(notebook_rel) not in first.source:
        links = re.findall(r"\]\((https://(?:colab\.research\.google\.com|mybinder\.org)/[^)\s]+)\)", first.source)
        problems.append(f"the badges must be CONTRIBUTING.md's line for {notebook_rel} "
                        f"(Colab and Binder both pointing at this notebook); found links {links}")
    return problems


def setup_problems(nb) -> list[str]:
    if len(nb.cells) < 2 or nb.cells[1].cell_type != "code":
        return ["the second cell must be the setup code cell from CONTRIBUTING.md"]
    if nb.cells[1].source.strip() != setup_cell_source():
        return ["the second cell differs from CONTRIBUTING.md's setup cell; copy it exactly"]
    return []


@per_notebook
def test_committed_outputs_come_from_a_clean_run(path):
    nb = nbformat.read(path, as_version=4)
    problems = count_problems(nb) + error_problems(nb)
    assert not problems, f"{path.name}: rerun `python scripts/run_notebooks.py {rel(path)}`:\n" + "\n".join(problems)


@per_notebook
def test_no_absolute_paths(path):
    problems = path_problems(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@per_notebook
def test_size(path):
    size = path.stat().st_size
    assert size <= MAX_BYTES, (f"{path.name} is {size / 2**20:.1f} MiB (limit 2 MiB): fewer or smaller "
                               f"figures (about 6×3 in), no per-batch printing")


@per_notebook
def test_header_and_setup_cell_follow_contributing(path):
    nb = nbformat.read(path, as_version=4)
    problems = header_problems(nb, rel(path)) + setup_problems(nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


# ---------------------------------------------------------------- running: twice, identical, within memory

def run_problems(committed, first, second) -> list[str]:
    """Checked outputs must agree between two fresh runs and with the committed notebook."""
    problems = []
    want, a, b = checked_outputs(committed), checked_outputs(first.nb), checked_outputs(second.nb)
    for i in sorted(want):
        if a[i] != b[i]:
            problems.append(f"cell {i}: checked output differs between two fresh runs (seed it): "
                            f"{first_difference(a[i], b[i])}")
        elif a[i] != want[i]:
            problems.append(f"cell {i}: checked output differs from the committed one (rerun the notebook "
                            f"and update the prose): committed vs now, {first_difference(want[i], a[i])}")
    return problems


_runs: dict[Path, tuple] = {}


def two_runs(path: Path):
    """Two executions from fresh kernels, shared by the tests below so each notebook runs twice only."""
    if path not in _runs:
        _runs[path] = (execute_fresh(path), execute_fresh(path))
    return _runs[path]


@pytest.mark.slow
@per_notebook
def test_runs_twice_from_fresh_kernels_with_identical_checked_outputs(path):
    first, second = two_runs(path)
    committed = nbformat.read(path, as_version=4)
    assert checked_outputs(committed), f"{path.name} has no '# NBVAL_CHECK_OUTPUT' cell: mark the cells " \
                                       f"printing the numbers the prose states"
    problems = run_problems(committed, first, second)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.slow
@per_notebook
def test_peak_memory(path):
    peaks = [run.peak_bytes for run in two_runs(path)]
    if None in peaks:
        pytest.skip("peak memory cannot be read on this platform (no resource module)")
    assert max(peaks) <= MAX_PEAK_RSS, (f"{path.name}: the kernel peaked at {max(peaks) / 1e9:.2f} GB "
                                        f"(limit {MAX_PEAK_RSS / 1e9:.1f} GB): use smaller batches or "
                                        f"subsets, free big tensors with del")


# ---------------------------------------------------------------- the gate fails when broken

BADGES_01 = badge_line(FIRST_NOTEBOOK)


def clean_notebook(badges: str = BADGES_01):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# 1 · Title\n{badges}\n**What you will learn**"),
                nbformat.v4.new_code_cell(setup_cell_source(), execution_count=1),
                nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(2 + 2)", execution_count=2,
                                          outputs=[nbformat.v4.new_output("stream", name="stdout", text="4\n")]),
                nbformat.v4.new_code_cell(""),
                nbformat.v4.new_code_cell("1 + 1", execution_count=3,
                                          outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "2"},
                                                                          execution_count=3)])]
    return nb


def test_a_clean_notebook_passes_every_static_check():
    nb = clean_notebook()
    assert count_problems(nb) == error_problems(nb) == path_problems(nb) == setup_problems(nb) == []
    assert header_problems(nb, FIRST_NOTEBOOK) == []


def test_gate_catches_counts_out_of_order_and_stale_outputs():
    nb = clean_notebook()
    nb.cells[2].execution_count = 5
    assert count_problems(nb) == ["cell 2: execution count 5, a clean run gives 2"]
    nb = clean_notebook()
    nb.cells[4].outputs[0].execution_count = 7
    assert "belongs to another run" in count_problems(nb)[0]
    nb = clean_notebook()
    nb.cells[4].execution_count = None  # a cell never run
    assert count_problems(nb)


def test_gate_catches_error_outputs():
    nb = clean_notebook()
    nb.cells[4].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])]
    assert error_problems(nb) == ["cell 4: error output ValueError: boom (catch intended errors and print "
                                  "the message)"]


@pytest.mark.parametrize("leak", ["/work/wt-x/data", "/root/.cache", "/home/ann/course", "/tmp/x.png",
                                  "C:\\Users\\ann\\course"])
def test_gate_catches_absolute_paths(leak):
    nb = clean_notebook()
    nb.cells[2].outputs[0].text = f"saved to {leak}\n"
    assert len(path_problems(nb)) == 1 and "cell 2 output" in path_problems(nb)[0]
    nb = clean_notebook()
    nb.cells[4].source = f"open('{leak}')"
    assert "cell 4 source" in path_problems(nb)[0]


def test_relative_and_url_paths_are_not_absolute():
    nb = clean_notebook()
    nb.cells[2].outputs[0].text = "data/FashionMNIST/raw, ~/.cache/course_utils, https://x.org/tmp/y\n"
    assert path_problems(nb) == []


def test_gate_catches_badges_of_another_notebook_and_a_changed_setup_cell():
    nb = clean_notebook(badges=badge_line("notebooks/02_quadratic_exercise.ipynb"))
    problems = header_problems(nb, FIRST_NOTEBOOK)
    assert len(problems) == 1 and "02_quadratic_exercise" in problems[0]
    nb = clean_notebook(badges=BADGES_01.split(" [![Launch Binder]")[0])  # Colab badge only
    assert header_problems(nb, FIRST_NOTEBOOK)
    nb = clean_notebook()
    nb.cells[1].source = nb.cells[1].source.replace("-q ", "")
    assert setup_problems(nb)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("extra"))
    assert setup_problems(nb)


def test_setup_cell_and_badges_parse_from_contributing():
    src = setup_cell_source()
    assert src.startswith("# Setup") and 'if "google.colab" in sys.modules:' in src and SLUG in src
    assert f"colab.research.google.com/github/{SLUG}/blob/{BRANCH}/{FIRST_NOTEBOOK}" in BADGES_01
    assert f"mybinder.org/v2/gh/{SLUG}/{BRANCH}?urlpath=lab/tree/{FIRST_NOTEBOOK}" in BADGES_01


def kernel_notebook(tmp_path, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_gate_catches_unseeded_checked_output_and_measures_memory(tmp_path):
    path = kernel_notebook(tmp_path, "# NBVAL_CHECK_OUTPUT\nimport os\nprint(os.urandom(8).hex())\n"
                                     "big = b'x' * 300_000_000  # 300 MB, every page touched")
    first, second = execute_fresh(path), execute_fresh(path)
    committed = first.nb
    problems = run_problems(committed, first, second)
    assert len(problems) == 1 and "differs between two fresh runs" in problems[0]
    assert 300e6 < first.peak_bytes < 1.5e9, first.peak_bytes  # the bytearray shows up in the peak
    assert is_checked(first.nb.cells[0]) and len(first.nb.cells) == 1  # the probe cell is gone


@pytest.mark.slow
def test_gate_catches_checked_output_that_differs_from_the_committed_one(tmp_path):
    path = kernel_notebook(tmp_path, "# NBVAL_CHECK_OUTPUT\nprint(sum(range(10)))")
    first, second = execute_fresh(path), execute_fresh(path)
    assert run_problems(first.nb, first, second) == []
    committed = nbformat.read(path, as_version=4)
    committed.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="44\n")]
    problems = run_problems(committed, first, second)
    assert len(problems) == 1 and "differs from the committed one" in problems[0]
    assert "line 1: '[stdout] 44' vs '[stdout] 45'" in problems[0]


def test_stream_chunks_are_joined_before_comparing():
    one = nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("stream", name="stdout", text="a\nb\n")])
    two = nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                                                 nbformat.v4.new_output("stream", name="stdout", text="b\n")])
    assert output_text(one) == output_text(two) == "[stdout] a\nb\n"
    two.outputs.insert(1, nbformat.v4.new_output("stream", name="stderr", text="warn\n"))
    assert output_text(two) != output_text(one)


# ---------------------------------------------------------------- environment.yml, binder/, pyproject.toml

CONDA_TO_PYPI = {"pytorch": "torch", "pytorch-cpu": "torch", "pytorch-gpu": "torch"}
NOT_RUNTIME = {"python", "pip", "jupyterlab", "notebook", "nodejs", "ipykernel"}  # frontend and tooling


def conda_requirement(spec: str) -> Requirement:
    """A conda match spec (``name``, ``name>=1``, ``name=1.2``, ``channel::name``) as a pip Requirement."""
    spec = spec.split("#")[0].strip().split("::")[-1]
    m = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec)
    name, version = m.group(1), m.group(2).replace(" ", "")
    if re.match(r"=[^=]", version):  # conda's name=1.2 means 1.2.*
        version = "==" + version[1:] + ("" if version.endswith("*") else ".*")
    return Requirement(CONDA_TO_PYPI.get(name, name) + version)


def pyproject_runtime() -> dict[str, Requirement]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {canonicalize_name(r.name): r for r in map(Requirement, deps)}


def environment_yml() -> tuple[dict[str, Requirement], list[str]]:
    doc = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in doc["dependencies"] if isinstance(d, str)]
    pip = [p for d in doc["dependencies"] if isinstance(d, dict) for p in d.get("pip", [])]
    reqs = {}
    for spec in conda:
        r = conda_requirement(spec)
        key = canonicalize_name(r.name)
        if key in reqs and not str(r.specifier):
            continue  # pytorch-cpu (variant) after pytorch>=2.0: keep the versioned one
        reqs[key] = r
    return reqs, pip


def binder_requirements() -> tuple[dict[str, Requirement], list[str]]:
    reqs, options = {}, []
    for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
        else:
            r = Requirement(line)
            reqs[canonicalize_name(r.name)] = r
    return reqs, options


def runtime(reqs: dict) -> set[str]:
    return set(reqs) - NOT_RUNTIME


def lower_bound(req: Requirement) -> Version | None:
    for s in req.specifier:
        if s.operator in (">=", "==", "~=", "==="):
            return Version(s.version.rstrip(".*"))
    return None


def test_install_routes_name_the_same_runtime_packages():
    want = set(pyproject_runtime())
    conda, _ = environment_yml()
    binder, _ = binder_requirements()
    assert runtime(conda) == want, (f"environment.yml vs pyproject.toml: missing {want - runtime(conda)}, "
                                    f"extra {runtime(conda) - want}")
    assert runtime(binder) == want, (f"binder/requirements.txt vs pyproject.toml: missing "
                                     f"{want - runtime(binder)}, extra {runtime(binder) - want}")


def test_pinned_versions_satisfy_pyproject():
    ranges = pyproject_runtime()
    for source, reqs in (("environment.yml", environment_yml()[0]), ("binder", binder_requirements()[0])):
        for name, req in reqs.items():
            low = lower_bound(req)
            if name in ranges and low is not None:
                assert ranges[name].specifier.contains(low, prereleases=True), (
                    f"{source} allows {name}{req.specifier}, outside pyproject's {ranges[name].specifier}")


def test_conda_names_map_to_pypi_names():
    assert conda_requirement("pytorch>=2.0").name == "torch"
    assert conda_requirement("pytorch-cpu").name == "torch"
    assert str(conda_requirement("numpy=1.26").specifier) == "==1.26.*"
    assert str(conda_requirement("conda-forge::ipywidgets >=7.7,<9  # x").specifier) in ("<9,>=7.7", ">=7.7,<9")


def test_environment_yml_installs_the_course_from_conda_forge():
    doc = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = environment_yml()
    assert doc["channels"][0] == "conda-forge"
    assert "pytorch-cpu" in [d.split()[0] for d in doc["dependencies"] if isinstance(d, str)]
    assert "-e .[test]" in pip and "jupyterlab" in conda and "torchvision" in conda
    assert str(conda["python"].specifier) == "==3.11.*"


def test_binder_installs_cpu_torch_ipywidgets_8_and_jupyterlab():
    reqs, options = binder_requirements()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in options
    assert reqs["ipywidgets"].specifier.contains("8.1.5") and not reqs["ipywidgets"].specifier.contains("7.8.5")
    assert "jupyterlab" in reqs
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def executable(path: Path) -> bool:
    return path.read_text().startswith("#!/bin/bash\n") and bool(path.stat().st_mode & stat.S_IXUSR)


def test_binder_postbuild_installs_course_utils_and_fetches_both_datasets(tmp_path):
    post = ROOT / "binder" / "postBuild"
    assert executable(post)
    text = post.read_text()
    assert "pip install --no-cache-dir --no-deps -e ." in text
    # run its Python part for real (offline copies stand in for the download) to prove the calls work
    script = text.split("python - <<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    for call in ("data.fashion_mnist_arrays(train)", "data.fashion_mnist(train)", "data.cifar10(train)"):
        assert call in script
    if not os.environ.get("COURSE_DATA_DIR"):
        pytest.skip("set COURSE_DATA_DIR to the offline data folder")
    env = dict(os.environ, COURSE_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "datasets cached in" in done.stdout
    assert len(list((tmp_path / "cache" / "FashionMNIST" / "raw").glob("*-ubyte"))) == 4


@pytest.mark.parametrize("given, opened", [
    (None, "/lab/tree/" + FIRST_NOTEBOOK), ("/lab", "/lab/tree/" + FIRST_NOTEBOOK),
    ("/tree/", "/lab/tree/" + FIRST_NOTEBOOK), ("/lab/tree/notebooks/04_losses.ipynb", "/lab/tree/notebooks/04_losses.ipynb")])
def test_binder_start_opens_notebook_1_unless_a_path_was_asked_for(given, opened):
    start = ROOT / "binder" / "start"
    assert executable(start)
    env = {k: v for k, v in os.environ.items() if k != "JUPYTERHUB_DEFAULT_URL"}
    if given:
        env["JUPYTERHUB_DEFAULT_URL"] = given
    done = subprocess.run([str(start), "printenv", "JUPYTERHUB_DEFAULT_URL"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == opened
    if list((ROOT / "notebooks").glob("01_*.ipynb")):
        assert (ROOT / FIRST_NOTEBOOK).is_file(), f"binder/start opens {FIRST_NOTEBOOK}, which is missing"


# ---------------------------------------------------------------- links and badges

LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)=[\"']([^\"']+)[\"']")


def repo_target(url: str, base: Path) -> tuple[str | None, str]:
    """(repo path a link must resolve to, or None for an external link; a problem, or '')."""
    parts = urlsplit(url)
    if parts.scheme in ("mailto", "data") or url.startswith("#"):
        return None, ""
    if not parts.scheme and not parts.netloc:  # relative link
        target = (base / unquote(parts.path)).resolve()
        try:
            return target.relative_to(ROOT).as_posix() or ".", ""
        except ValueError:
            return None, f"{url} points outside the repository"
    host, path = parts.netloc.lower(), unquote(parts.path)
    patterns = {
        "colab.research.google.com": rf"/github/{SLUG}/blob/([^/]+)/(.+)",
        "github.com": rf"/{SLUG}(?:\.git)?(?:/(?:blob|tree|raw)/([^/]+)(?:/(.*))?)?/?",
        "raw.githubusercontent.com": rf"/{SLUG}/([^/]+)/(.+)",
        "nbviewer.org": rf"/github/{SLUG}/blob/([^/]+)/(.+)",
        "mybinder.org": rf"/v2/gh/{SLUG}/([^/?]+)",
    }
    if host.removeprefix("www.") not in patterns:
        return None, ""
    m = re.fullmatch(patterns[host.removeprefix("www.")], path, re.I)
    if m is None:
        if SLUG.lower() in path.lower():
            return None, f"{url}: not a link form this test knows for {SLUG}"
        return None, ""  # another repository, e.g. a model to learn from
    branch, target = m.group(1), (m.group(2) if m.lastindex and m.lastindex >= 2 else None)
    if host.endswith("mybinder.org"):
        query = parse_qs(parts.query)
        target = next((re.sub(r"^(lab/tree|tree|notebooks|lab/workspaces/[^/]+/tree)/", "", query[k][0])
                       for k in ("urlpath", "labpath", "filepath") if k in query), "binder")
        target = "binder" if target in ("lab", "tree", "") else target
    if branch and branch != BRANCH:
        return None, f"{url} points at branch {branch!r}, not {BRANCH!r}"
    return (target or ".").rstrip("/"), ""


def links(text: str) -> list[str]:
    return [a or b for a, b in LINK.findall(text)]


def link_problems(text: str, base: Path) -> list[tuple[str, str | None]]:
    """(problem, the missing repo path if that is the problem) for every bad link in ``text``."""
    problems = []
    for url in links(text):
        target, problem = repo_target(url, base)
        if problem:
            problems.append((problem, None))
        elif target is not None and not (ROOT / target).exists():
            problems.append((f"{url} → {target}, which does not exist in the repository", target))
    return problems


def documents() -> list[tuple[str, str, Path]]:
    """(name, markdown text, folder its relative links start from) for README.md and every notebook."""
    docs = [("README.md", (ROOT / "README.md").read_text(encoding="utf-8"), ROOT)]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        docs.append((rel(path), "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"), path.parent))
    return docs


DOCUMENTS = documents()


def planned_notebooks() -> set[str]:
    """The course's notebooks as CONTRIBUTING.md names them (`notebooks/NN_short_name.ipynb` list)."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    names = text[text.index("File names:"):].split("\n-", 1)[0]
    return {f"notebooks/{n}.ipynb" for n in re.findall(r"`(\d\d_\w+)`", names)}


@pytest.mark.parametrize("name, text, base", DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_every_link_points_at_a_file_that_exists(name, text, base):
    problems = link_problems(text, base)
    # A notebook CONTRIBUTING.md plans but nobody has committed yet is pending, not broken:
    # the test reports it as xfail until it lands, and fails on any other dead link.
    planned = planned_notebooks()
    broken = [problem for problem, missing in problems if missing not in planned]
    pending = sorted({missing for _, missing in problems if missing in planned})
    assert not broken, f"{name}:\n" + "\n".join(broken)
    if pending:
        pytest.xfail(f"{name} links to notebooks not written yet: {', '.join(pending)}")


def test_planned_notebooks_are_the_six_of_the_course():
    assert len(planned_notebooks()) == 6 and FIRST_NOTEBOOK in planned_notebooks()


def test_link_mapping_to_repo_paths():
    nb01 = FIRST_NOTEBOOK
    assert [repo_target(u, ROOT)[0] for u in links(BADGES_01)] == [None, nb01, None, nb01]
    assert repo_target(f"https://github.com/{SLUG}", ROOT) == (".", "")
    assert repo_target(f"https://github.com/{SLUG}/blob/main/CONTRIBUTING.md", ROOT)[0] == "CONTRIBUTING.md"
    assert repo_target(f"https://mybinder.org/v2/gh/{SLUG}/main", ROOT)[0] == "binder"
    assert repo_target(f"https://mybinder.org/v2/gh/{SLUG}/HEAD?labpath=notebooks%2F04_losses.ipynb",
                       ROOT)[1].startswith("https://mybinder.org")  # HEAD is not the branch the course names
    assert repo_target("notebooks/06_x.ipynb#Remember", ROOT)[0] == "notebooks/06_x.ipynb"
    assert repo_target("../course_utils/data.py", ROOT / "notebooks")[0] == "course_utils/data.py"
    assert repo_target("https://pytorch.org/docs", ROOT) == (None, "")
    assert repo_target("https://github.com/karpathy/micrograd", ROOT) == (None, "")


def test_gate_catches_dead_links():
    text = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{SLUG}/blob/main/notebooks/99_missing.ipynb) "
            "see [the rules](CONTRIBUTING.md), [setup](docs/nowhere.md) and <img src=\"img/none.png\">")
    assert [missing for _, missing in link_problems(text, ROOT)] == [
        "notebooks/99_missing.ipynb", "docs/nowhere.md", "img/none.png"]
    assert link_problems(f"[x](https://github.com/{SLUG}/tree/dev/notebooks)", ROOT)[0][0].endswith(
        "points at branch 'dev', not 'main'")


# ---------------------------------------------------------------- the ipywidgets 7 run

def test_ipywidgets7_script_pins_7_and_its_venv_is_ignored():
    script = ROOT / "scripts" / "ci_ipywidgets7.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert '"ipywidgets==7.8.*"' in text and '-e ".[test]"' in text
    assert "tests/test_widget*.py" in text and "exit 1" in text  # refuses to run on anything but 7
    assert ".venv-ipyw7/" in (ROOT / ".gitignore").read_text().splitlines()

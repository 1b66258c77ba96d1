"""The course-wide quality gate, as tests: every notebook is committed from a clean run, follows
CONTRIBUTING.md, holds no absolute path, stays small, runs from a fresh kernel within its memory budget
and reproduces its checked outputs; the three install routes agree; every link points at a file that
exists. The checks themselves live in ``scripts/check_notebooks.py`` (a command teachers can run
directly); each is also run here against a deliberately broken notebook, so the gate is known to fail
when the thing it guards breaks.

Running the notebooks is nbval's part: it compares their checked outputs with the committed ones, and
scripts/nbval_plugin.py adds the memory budget. The tests of the checks that need a kernel are marked
``slow``.
"""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from check_install_routes import (binder_requirements, conda_requirement, environment_yml,  # noqa: E402
                                  install_route_problems, lower_bound, pyproject_runtime, runtime)
from check_links import bad_links, link_problems, links, notebook_markdown, repo_target  # noqa: E402
from check_notebooks import (BRANCH, FIRST_NOTEBOOK, MAX_PEAK_RSS, SLUG, badge_line, count_problems,  # noqa: E402
                             error_problems, header_problems, main, memory_problems,
                             path_problems, rel, run_problems, setup_cell_source, setup_problems,
                             size_problems)
from nbexec import execute_fresh, is_checked, notebooks, output_text  # noqa: E402

NOTEBOOKS = notebooks(ROOT)
per_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])


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
    problems = size_problems(path)
    assert not problems, f"{path.name}: " + "; ".join(problems)


@per_notebook
def test_header_and_setup_cell_follow_contributing(path):
    nb = nbformat.read(path, as_version=4)
    problems = header_problems(nb, rel(path)) + setup_problems(nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


# ---------------------------------------------------------------- running: fresh kernel, checked outputs, memory

# nbval runs every notebook (its checked outputs against the committed ones) and, through
# scripts/nbval_plugin.py, checks its kernel's peak memory; `python scripts/check_notebooks.py --run` does
# the same outside pytest. The tests below show both fail when they should.

@pytest.mark.slow
@pytest.mark.parametrize("limit, fails", [(2e8, True), (3e9, False)])
def test_nbval_run_fails_a_notebook_over_its_memory_budget(tmp_path, limit, fails):
    path = kernel_notebook(tmp_path, "# NBVAL_CHECK_OUTPUT\nbig = b'x' * 300_000_000  # 300 MB\nprint(len(big))")
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="300000000\n")]
    nb.cells[0].execution_count = 1
    nbformat.write(nb, path)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "scripts"), "COURSE_MAX_KERNEL_BYTES": str(limit)}
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p",
                           "no:cacheprovider", "-p", "nbval_plugin", "--rootdir", str(tmp_path), str(path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert (done.returncode != 0) == fails, done.stdout[-3000:]
    assert ("the kernel peaked at" in done.stdout) == fails, done.stdout[-3000:]
    assert "1 passed" in done.stdout, done.stdout[-3000:]   # the cell itself ran and matched


def test_nbval_plugin_waits_a_minute_for_output():
    import nbval_plugin

    class IPyNbCell:  # the name nbval's cell items have
        output_timeout = 5
    cell = IPyNbCell()
    nbval_plugin.pytest_collection_modifyitems([cell, object()])
    assert cell.output_timeout == 60


def test_the_command_line_reports_problems_and_exit_code(tmp_path, capsys):
    assert main([str(NOTEBOOKS[0])]) == 0
    assert capsys.readouterr().out.startswith(f"{rel(NOTEBOOKS[0])}: ok")
    broken = ROOT / "notebooks" / f"99_gate_probe_{os.getpid()}.ipynb"
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])]
    try:
        nbformat.write(nb, broken)
        assert main([str(broken)]) == 1
    finally:
        broken.unlink()
    out = capsys.readouterr().out
    assert "problem(s)" in out and "error output ValueError: boom" in out and "badges must be" in out


def test_memory_limit_is_reported():
    class Run:
        peak_bytes = int(MAX_PEAK_RSS) + 1
    assert memory_problems(Run()) and not memory_problems(type("R", (), {"peak_bytes": None})())


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

def test_install_routes_agree():
    assert install_route_problems() == []


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

DOCUMENTS = [("README.md", (ROOT / "README.md").read_text(encoding="utf-8"), ROOT)] + [
    (rel(p), notebook_markdown(nbformat.read(p, as_version=4)), p.parent) for p in NOTEBOOKS]


def planned_notebooks() -> set[str]:
    """The course's notebooks as CONTRIBUTING.md names them (`notebooks/NN_short_name.ipynb` list)."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    names = text[text.index("File names:"):].split("\n-", 1)[0]
    return {f"notebooks/{n}.ipynb" for n in re.findall(r"`(\d\d_\w+)`", names)}


@pytest.mark.parametrize("name, text, base", DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_every_link_points_at_a_file_that_exists(name, text, base):
    problems = link_problems(text, base)
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_contributing_lists_exactly_the_notebooks_in_the_folder():
    assert planned_notebooks() == {rel(p) for p in NOTEBOOKS} and FIRST_NOTEBOOK in planned_notebooks()


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
    assert [missing for _, missing in bad_links(text, ROOT)] == [
        "notebooks/99_missing.ipynb", "docs/nowhere.md", "img/none.png"]
    assert bad_links(f"[x](https://github.com/{SLUG}/tree/dev/notebooks)", ROOT)[0][0].endswith(
        "points at branch 'dev', not 'main'")


# ---------------------------------------------------------------- the ipywidgets 7 run

def test_ipywidgets7_script_pins_7_and_its_venv_is_ignored():
    script = ROOT / "scripts" / "ci_ipywidgets7.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert '"ipywidgets==7.8.*"' in text and '-e ".[test]"' in text
    assert "tests/test_widget*.py" in text and "exit 1" in text  # refuses to run on anything but 7
    assert ".venv-ipyw7/" in (ROOT / ".gitignore").read_text().splitlines()


def test_ci_runs_the_readme_test_command_and_the_avx2_leg():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = readme.split("## Run the tests", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")]).returncode == 0
    assert command in ci.splitlines(), f".ci/run must run the README's test command exactly: {command}"
    assert "ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=1" in ci and "pytest -q notebooks/" in ci
    assert "IPYW7_BROWSER=1" in ci and "exit $status" in ci   # the side legs count

"""The course's quality gate, for teachers and contributors: are the committed notebooks clean, do they
follow CONTRIBUTING.md, do their links and install routes hold, and (with ``--run``) do they run from a
fresh kernel within memory and reproduce their checked outputs?

    python scripts/check_notebooks.py                       # static checks of every notebook + repo
    python scripts/check_notebooks.py notebooks/03_*.ipynb  # only these notebooks
    python scripts/check_notebooks.py --run                 # also execute each one (minutes)

Prints one line per problem and exits 1 when there is any. Every check is a function returning a list
of problems (``tests/test_quality.py`` runs them, and proves each one fails on a broken notebook).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_links import link_problems, notebook_markdown  # noqa: E402
from check_install_routes import install_route_problems  # noqa: E402
from nbexec import MAX_PEAK_RSS, ROOT, checked_outputs, execute_fresh, first_difference, notebooks  # noqa: E402

SLUG = "step-by-step-torch/course"
BRANCH = "main"
MAX_BYTES = 2 * 1024 * 1024            # a committed notebook, outputs included
FIRST_NOTEBOOK = "notebooks/01_linear_by_hand.ipynb"
ABSOLUTE_PATHS = re.compile(r"(?<![\w.~])(/work/|/root/|/home/|/tmp/|/Users/|[A-Za-z]:\\Users\\)")


def rel(path: Path) -> str:
    return Path(path).resolve().relative_to(ROOT).as_posix()


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
    if "notebooks/NN_name.ipynb" not in template:
        raise ValueError("CONTRIBUTING.md's badge template no longer names notebooks/NN_name.ipynb")
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
        found = re.findall(r"\]\((https://(?:colab\.research\.google\.com|mybinder\.org)/[^)\s]+)\)", first.source)
        problems.append(f"the badges must be CONTRIBUTING.md's line for {notebook_rel} "
                        f"(Colab and Binder both pointing at this notebook); found links {found}")
    return problems


def setup_problems(nb) -> list[str]:
    if len(nb.cells) < 2 or nb.cells[1].cell_type != "code":
        return ["the second cell must be the setup code cell from CONTRIBUTING.md"]
    if nb.cells[1].source.strip() != setup_cell_source():
        return ["the second cell differs from CONTRIBUTING.md's setup cell; copy it exactly"]
    return []


def size_problems(path: Path) -> list[str]:
    size = Path(path).stat().st_size
    if size <= MAX_BYTES:
        return []
    return [f"{size / 2**20:.1f} MiB (limit 2 MiB): fewer or smaller figures (about 6×3 in), no per-batch printing"]


def static_problems(path: Path) -> list[str]:
    """Every check of a committed notebook that needs no kernel."""
    nb = nbformat.read(path, as_version=4)
    return (count_problems(nb) + error_problems(nb) + path_problems(nb) + size_problems(path)
            + header_problems(nb, rel(path)) + setup_problems(nb)
            + link_problems(notebook_markdown(nb), Path(path).parent))


# ---------------------------------------------------------------- running

def run_problems(committed, *runs) -> list[str]:
    """Checked outputs of every fresh run must agree with each other and with the committed notebook."""
    problems = []
    want = checked_outputs(committed)
    got = [checked_outputs(run.nb) for run in runs]
    for i in sorted(want):
        if any(g[i] != got[0][i] for g in got[1:]):
            other = next(g for g in got[1:] if g[i] != got[0][i])
            problems.append(f"cell {i}: checked output differs between two fresh runs (seed it): "
                            f"{first_difference(got[0][i], other[i])}")
        elif got and got[0][i] != want[i]:
            problems.append(f"cell {i}: checked output differs from the committed one (rerun the notebook "
                            f"and update the prose): committed vs now, {first_difference(want[i], got[0][i])}")
    return problems


def memory_problems(*runs) -> list[str]:
    peaks = [run.peak_bytes for run in runs if run.peak_bytes is not None]
    if peaks and max(peaks) > MAX_PEAK_RSS:
        return [f"the kernel peaked at {max(peaks) / 1e9:.2f} GB (limit {MAX_PEAK_RSS / 1e9:.1f} GB): use "
                f"smaller batches or subsets, free big tensors with del"]
    return []


def executed_problems(path: Path, runs: int = 1) -> list[str]:
    """Execute ``path`` from fresh kernels; problems with its checked outputs and its memory."""
    done = [execute_fresh(path) for _ in range(runs)]
    committed = nbformat.read(path, as_version=4)
    problems = run_problems(committed, *done) + memory_problems(*done)
    if not checked_outputs(committed):
        problems.append("no '# NBVAL_CHECK_OUTPUT' cell: mark the cells printing the numbers the prose states")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--run", action="store_true", help="also execute each notebook from a fresh kernel")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or notebooks(ROOT)
    report = {rel(p): static_problems(p) + (executed_problems(p) if args.run else []) for p in paths}
    if not args.notebooks:
        report["README.md"] = link_problems((ROOT / "README.md").read_text(encoding="utf-8"), ROOT)
        report["install routes"] = install_route_problems()
    for name, problems in report.items():
        print(f"{name}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for problem in problems:
            print(f"  - {problem}")
    return 1 if any(report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

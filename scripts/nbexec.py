"""Run a notebook from a fresh kernel and measure it: wall time and the kernel's peak memory.

Shared by the quality gate (scripts/check_notebooks.py) and the benchmark (benchmarks/bench_notebooks.py).
The notebook file is never modified.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHECK_MARKER = "NBVAL_CHECK_OUTPUT"
MAX_PEAK_RSS = 1.5e9   # bytes, a notebook's kernel at its peak (Binder gives 2 GB)
# Appended as a last cell: peak resident memory of the kernel process (and any child it waited for).
# ru_maxrss is in KiB on Linux, in bytes on macOS; the resource module does not exist on Windows.
PEAK_RSS_SOURCE = """\
try:
    import resource, sys
    _peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print("PEAK_RSS_BYTES", _peak if sys.platform == "darwin" else _peak * 1024)
except ImportError:
    print("PEAK_RSS_BYTES", -1)
"""


@dataclass
class Run:
    """One execution: the executed notebook (the probe cell removed), seconds taken, peak RSS in bytes."""
    nb: nbformat.NotebookNode
    seconds: float
    peak_bytes: int | None


def notebooks(root: Path = ROOT) -> list[Path]:
    """The course notebooks, in order: ``notebooks/NN_*.ipynb``."""
    return sorted((root / "notebooks").glob("[0-9]*.ipynb"))


def execute_fresh(path: Path, timeout: int = 600, measure_memory: bool = True) -> Run:
    """Execute ``path`` top to bottom in a new kernel (cwd = its folder, like JupyterLab does)."""
    nb = nbformat.read(path, as_version=4)
    if measure_memory:
        nb.cells.append(nbformat.v4.new_code_cell(PEAK_RSS_SOURCE))
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    seconds = time.perf_counter() - start
    peak = None
    if measure_memory:
        probe = nb.cells.pop()
        text = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream")
        value = int(text.split("PEAK_RSS_BYTES")[1].split()[0])
        peak = value if value >= 0 else None
    return Run(nb, seconds, peak)


def is_checked(cell) -> bool:
    """True for a code cell whose output nbval compares: a ``# NBVAL_CHECK_OUTPUT`` comment line
    (the same rule nbval applies) or the ``nbval-check-output`` tag."""
    if cell.cell_type != "code":
        return False
    tags = cell.get("metadata", {}).get("tags", [])
    if "nbval-check-output" in tags:
        return True
    return any(line.strip().startswith("#") and line.strip().lstrip("#").strip() == CHECK_MARKER
               for line in cell.source.splitlines())


def output_text(cell) -> str:
    """The comparable text of a cell's outputs: streams, errors and every non-image mime type,
    as nbval compares them (images and widget model ids are skipped; they differ run to run).
    Consecutive pieces of one stream are joined: how the kernel chunks a print varies between runs."""
    parts = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            text = out.get("text", "")
            text = text if isinstance(text, str) else "".join(text)
            label = f"[{out.get('name')}] "
            if parts and parts[-1].startswith(label):
                parts[-1] += text
            else:
                parts.append(label + text)
        elif kind == "error":
            parts.append(f"[error] {out.get('ename')}: {out.get('evalue')}")
        elif kind in ("execute_result", "display_data"):
            for mime, value in sorted(out.get("data", {}).items()):
                if mime.startswith("image/") or mime == "application/vnd.jupyter.widget-view+json":
                    continue
                parts.append(f"[{mime}] {value if isinstance(value, str) else ''.join(value)}")
    return "\n".join(parts)


def first_difference(a: str, b: str) -> str:
    """The first line where two outputs differ, both versions, for a readable failure."""
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}: {x!r} vs {y!r}"
    return f"line {min(len(la), len(lb)) + 1}: one output has {abs(len(la) - len(lb))} more line(s)"


def checked_outputs(nb) -> dict[int, str]:
    """{cell index: comparable output text} for every checked cell."""
    return {i: output_text(cell) for i, cell in enumerate(nb.cells) if is_checked(cell)}



# ---------------------------------------------------------------- the "Run time" line of a notebook

RUN_TIME = re.compile(r"\*\*Run time\*\*\s*(?P<claim>[^.;,(\n]*)", re.I)
_NUMBER = r"(\d+(?:\.\d+)?|½|a|an|one|two|three|four|five)(½)?"
_DURATION = re.compile(rf"(?P<lo>{_NUMBER})(?:\s*(?:–|-|to)\s*(?P<hi>{_NUMBER}))?\s*(?P<unit>seconds?|s\b|minutes?|min\b)", re.I)
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "½": 0.5}


def _amount(number: str, half: str | None) -> float:
    value = _WORDS.get(number.lower()) if number.lower() in _WORDS else float(number)
    return value + (0.5 if half else 0.0)


def claimed_run_time(nb) -> tuple[float, float, str] | None:
    """(low, high) seconds and the words of the first cell's ``**Run time** about 1½ minutes ...`` line;
    None when there is no such line or it names no duration. "about 2 minutes" gives (120, 120),
    "1–2 minutes" (60, 120), "under a minute" (0, 60)."""
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    match = RUN_TIME.search(first.source) if first is not None else None
    if match is None:
        return None
    claim = " ".join(match.group("claim").split())
    duration = _DURATION.search(claim)
    if duration is None:
        return None
    scale = 60.0 if duration.group("unit").lower().startswith("m") else 1.0
    parts = duration.groupdict()
    lo = _amount(*re.match(_NUMBER, parts["lo"]).groups()) * scale
    hi = _amount(*re.match(_NUMBER, parts["hi"]).groups()) * scale if parts["hi"] else lo
    if re.search(r"\b(under|less than|at most|below)\b", claim[:duration.start()], re.I):
        lo = 0.0
    return lo, hi, claim


def run_time_problem(claim: tuple[float, float, str] | None, seconds: float, factor: float = 1.5) -> str:
    """Empty when ``seconds`` is within ``factor``× of the claimed run time, else what is off and a fix."""
    suggestion = f"write 'about {describe_seconds(seconds)}'"
    if claim is None:
        return f"no '**Run time** about …' line in the first cell; {suggestion}"
    lo, hi, words = claim
    if seconds > hi * factor or (lo > 0 and seconds < lo / factor):
        return f"claims '{words}', measured {seconds:.0f} s: {suggestion}"
    return ""


def describe_seconds(seconds: float) -> str:
    """A run time as a person would say it: '15 seconds', '1 minute', '1½ minutes', '3 minutes'."""
    if seconds < 50:
        step = 5 if seconds < 30 else 10
        return f"{max(step, round(seconds / step) * step):.0f} seconds"
    halves = max(2, round(seconds / 30))
    whole, half = divmod(halves, 2)
    text = f"{whole}{'½' if half else ''}"
    return f"{text} minute" if halves == 2 else f"{text} minutes"

"""Re-execute notebooks in place from a fresh kernel, so committed outputs come from a clean run.

    python scripts/run_notebooks.py                 # every notebook in notebooks/
    python scripts/run_notebooks.py notebooks/01_*.ipynb
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from nbexec import execute_fresh, notebooks


def merge_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) chunks into one output, as a reader sees them."""
    merged = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.output_type == "stream" and prev is not None and prev.output_type == "stream"
                and prev.name == out.name):
            prev.text += out.text
        else:
            merged.append(out)
    return merged


def execute(path: Path, timeout: int = 600) -> float:
    """Run one notebook top to bottom in a fresh kernel and save it with its outputs; return seconds."""
    run = execute_fresh(path, timeout=timeout, measure_memory=False)
    for cell in run.nb.cells:  # timestamps and stream chunking would make every re-run a noisy diff
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nbformat.write(run.nb, path)
    return run.seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks or notebooks():
        print(f"{path.name}: {execute(path.resolve()):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

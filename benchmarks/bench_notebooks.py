"""Run every notebook from a fresh kernel and print its wall time and peak memory, plus the total.

    python benchmarks/bench_notebooks.py                  # every notebook in notebooks/
    python benchmarks/bench_notebooks.py notebooks/05_*.ipynb --repeat 2

Targets on a 2-core CPU laptop: at most 2 minutes per notebook and 6 minutes for the whole course;
at most 1.5 GB peak memory per notebook (that limit is also checked by scripts/check_notebooks.py --run).
Notebooks are executed in memory; the files are not modified. Timings on a shared machine are noisy:
report them as measured, with the load average printed below the table.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from nbexec import execute_fresh, notebooks  # noqa: E402

MAX_SECONDS_EACH, MAX_SECONDS_TOTAL, MAX_PEAK = 120, 360, 1.5e9


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook; the fastest counts")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or notebooks(ROOT)
    if not paths:
        print("no notebooks in notebooks/")
        return 0

    print(f"{'notebook':<32} {'time (s)':>9} {'peak (MB)':>10}  targets: ≤{MAX_SECONDS_EACH} s, "
          f"≤{MAX_PEAK / 1e6:.0f} MB", flush=True)
    total, over = 0.0, []
    for path in paths:
        runs = [execute_fresh(path) for _ in range(args.repeat)]
        seconds = min(r.seconds for r in runs)
        peak = max((r.peak_bytes or 0) for r in runs)
        total += seconds
        flag = ""
        if seconds > MAX_SECONDS_EACH or peak > MAX_PEAK:
            flag = "  OVER"
            over.append(path.name)
        print(f"{path.name:<32} {seconds:>9.1f} {peak / 1e6:>10.0f}{flag}", flush=True)
    print(f"{'total':<32} {total:>9.1f} {'':>10}  target: ≤{MAX_SECONDS_TOTAL} s"
          f"{'  OVER' if total > MAX_SECONDS_TOTAL else ''}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"{os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in load) if load else 'n/a'}"
          f" (measured under this load)")
    if over:
        print("over target:", ", ".join(over))
    return 0


if __name__ == "__main__":
    sys.exit(main())

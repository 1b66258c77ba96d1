"""Run every notebook from a fresh kernel: its wall time against the "Run time" its first cell
claims, its peak memory, and the total.

    python benchmarks/bench_notebooks.py                  # every notebook in notebooks/
    python benchmarks/bench_notebooks.py notebooks/05_*.ipynb --repeat 2

Targets on a 2-core CPU laptop: at most 2 minutes per notebook and 8 minutes for the whole course;
at most 1.5 GB peak memory per notebook (also checked by scripts/check_notebooks.py --run); and each
notebook's "**Run time** about …" line within 1.5× of the measured time (the fastest of --repeat
runs). A notebook that is off is named, with the line to write instead. The exit status is 1 when a
notebook is off or over a target. Notebooks are executed in memory; the files are not modified.
Measure on a quiet machine: the load average is printed below the table, and under load every
notebook is slower than its claim.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from nbexec import claimed_run_time, execute_fresh, notebooks, run_time_problem  # noqa: E402

MAX_SECONDS_EACH, MAX_SECONDS_TOTAL, MAX_PEAK = 120, 480, 1.5e9
RUN_TIME_FACTOR = 1.5


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook; the fastest counts")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or notebooks(ROOT)
    if not paths:
        print("no notebooks in notebooks/")
        return 0

    print(f"{'notebook':<32} {'time (s)':>9} {'claimed':>9} {'peak (MB)':>10}  targets: ≤{MAX_SECONDS_EACH} s, "
          f"claim within {RUN_TIME_FACTOR}×, ≤{MAX_PEAK / 1e6:.0f} MB", flush=True)
    total, over, off = 0.0, [], []
    for path in paths:
        runs = [execute_fresh(path) for _ in range(args.repeat)]
        seconds = min(r.seconds for r in runs)
        peak = max((r.peak_bytes or 0) for r in runs)
        claim = claimed_run_time(runs[0].nb)
        problem = run_time_problem(claim, seconds, RUN_TIME_FACTOR)
        total += seconds
        flags = []
        if seconds > MAX_SECONDS_EACH or peak > MAX_PEAK:
            flags.append("OVER")
            over.append(path.name)
        if problem:
            flags.append("OFF")
            off.append(f"{path.name}: {problem}")
        claimed = "-" if claim is None else (f"{claim[0]:.0f}" if claim[0] == claim[1] else f"{claim[0]:.0f}-{claim[1]:.0f}")
        print(f"{path.name:<32} {seconds:>9.1f} {claimed:>9} {peak / 1e6:>10.0f}  {' '.join(flags)}", flush=True)
    print(f"{'total':<32} {total:>9.1f} {'':>9} {'':>10}  target: ≤{MAX_SECONDS_TOTAL} s"
          f"{'  OVER' if total > MAX_SECONDS_TOTAL else ''}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"{os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in load) if load else 'n/a'}"
          f" (measured under this load)")
    if over:
        print("over target:", ", ".join(over))
    for line in off:
        print("run time line off:", line)
    return 1 if (over or off or total > MAX_SECONDS_TOTAL) else 0


if __name__ == "__main__":
    sys.exit(main())

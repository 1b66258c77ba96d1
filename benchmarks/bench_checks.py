"""How long a learner waits for each exercise check: the reference solution (a PASS), and a wrong
answer that matches no recognised mistake (the slowest path: every mistake is simulated first).

    PYTHONPATH=. python benchmarks/bench_checks.py
"""
from __future__ import annotations

import contextlib
import io
import statistics
import time

import torch

from course_utils.exercises import EXERCISES, exercise, solution


def unrecognised(name):
    """A wrong answer of the right type that no mistake in the module describes."""
    ref = solution(name)

    def wrong(*args):
        value = ref(*args)
        if isinstance(value, list):  # the quadratic's history
            return [tuple(v * 1.37 for v in row) for row in value]
        if isinstance(value, tuple):  # adam_step's (param, exp_avg, exp_avg_sq)
            return tuple(v * 1.37 for v in value)
        return value * 1.37

    return wrong


def seconds(check, fn, repeats=3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            check(fn)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    torch.set_num_threads(1)
    print(f"{'exercise':<15} {'PASS (s)':>9} {'unrecognised HINT (s)':>22}")
    for name in EXERCISES:
        check = exercise(name).CHECK
        seconds(check, solution(name), repeats=1)  # warm up (first torch calls)
        print(f"{name:<15} {seconds(check, solution(name)):>9.3f} {seconds(check, unrecognised(name)):>22.3f}")


if __name__ == "__main__":
    main()

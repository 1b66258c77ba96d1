"""Seeds, device choice, threads that fit the machine, and where the notebook is running.

The environment self-check lives in ``course_utils.selfcheck``.
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import numpy as np
import torch

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a notebook's outputs are reproducible."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    torch.backends.cudnn.deterministic = True  # same results run to run on a GPU too
    torch.backends.cudnn.benchmark = False


def get_device(prefer: str | None = None) -> torch.device:
    """``cuda`` when a GPU is available (Colab), else ``cpu``; ``prefer`` forces one."""
    if prefer:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


# ---------------------------------------------------------------- threads that fit the machine

def _cgroup_paths(proc_cgroup: Path) -> dict[str, str]:
    """This process's cgroup paths from /proc/self/cgroup: ``""`` for v2, ``"cpu"`` for v1's cpu controller."""
    try:
        text = Path(proc_cgroup).read_text()
    except OSError:
        return {}
    paths = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[1] == "":
            paths.setdefault("", parts[2])
        elif len(parts) == 3 and "cpu" in parts[1].split(","):
            paths["cpu"] = parts[2]
    return paths


def _up(base: Path, rel: str | None):
    """``base/rel``, then each parent folder up to ``base`` (a quota set higher up limits us too)."""
    folder = base / rel.lstrip("/") if rel else base
    yield folder
    while folder != base and base in folder.parents:
        folder = folder.parent
        yield folder


def _numbers(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []


def cgroup_cpu_limit(cgroup_root=CGROUP_ROOT, proc_cgroup=PROC_CGROUP) -> float | None:
    """CPUs granted by a cgroup CPU quota, or None when there is none.

    Reads cgroup v2's ``cpu.max`` ("quota period", or "max period" for no limit) and cgroup v1's
    ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1: no limit), in this process's cgroup and
    the ones above it; the smallest quota wins. The paths are arguments so tests can use fake files.
    """
    root, paths, limits = Path(cgroup_root), _cgroup_paths(proc_cgroup), []
    for folder in _up(root, paths.get("")):
        quota_period = _numbers(folder / "cpu.max")
        if len(quota_period) == 2 and quota_period[0] != "max":
            limits.append((quota_period[0], quota_period[1]))
    for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for folder in _up(root / mount, paths.get("cpu")):
            quota, period = _numbers(folder / "cpu.cfs_quota_us"), _numbers(folder / "cpu.cfs_period_us")
            if quota and period:
                limits.append((quota[0], period[0]))
    cpus = []
    for quota, period in limits:
        try:
            if int(quota) > 0 and int(period) > 0:
                cpus.append(int(quota) / int(period))
        except ValueError:
            continue
    return min(cpus) if cpus else None


def usable_cpus(cgroup_root=CGROUP_ROOT, proc_cgroup=PROC_CGROUP) -> int:
    """The CPUs this process may really use: its CPU affinity, capped by a cgroup CPU quota.

    ``os.cpu_count()`` counts the whole machine; in a container (Binder, CI) a quota of one or two
    CPUs is common, and a torch that starts a thread per host core then runs slower, not faster.
    A fractional quota rounds down (1.5 CPUs: 1 thread), never below 1.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    limit = cgroup_cpu_limit(cgroup_root, proc_cgroup)
    if limit is not None:
        n = min(n, int(limit))
    return max(1, n)


def fit_threads(max_threads: int | None = None) -> int:
    """Set torch's intra-op threads to :func:`usable_cpus` (at most ``max_threads``); returns the number."""
    n = usable_cpus()
    if max_threads is not None:
        if int(max_threads) < 1:
            raise ValueError(f"max_threads must be at least 1, got {max_threads!r}.")
        n = min(n, int(max_threads))
    torch.set_num_threads(n)
    return n


def load_average() -> float | None:
    """The 1-minute load average (runnable processes), or None where the system has none (Windows)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None

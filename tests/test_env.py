"""course_utils.env: seeds, and threads that fit the CPUs this process may really use."""
import os
import random

import numpy as np
import pytest
import torch

from course_utils import env


def cgroup(tmp_path, files: dict, proc: str = "0::/\n"):
    """A fake /sys/fs/cgroup tree (``{relative path: content}``) and a fake /proc/self/cgroup."""
    root = tmp_path / "cgroup"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (tmp_path / "proc_cgroup").write_text(proc)
    return {"cgroup_root": root, "proc_cgroup": tmp_path / "proc_cgroup"}


# ---------------------------------------------------------------- cgroup CPU quotas, from fake files

@pytest.mark.parametrize("text, cpus", [("50000 100000\n", 0.5), ("250000 100000\n", 2.5),
                                        ("max 100000\n", None), ("", None), ("garbage\n", None),
                                        ("abc 100000\n", None)])
def test_cgroup_v2_cpu_max(tmp_path, text, cpus):
    assert env.cgroup_cpu_limit(**cgroup(tmp_path, {"cpu.max": text})) == cpus


def test_cgroup_v2_a_quota_higher_up_limits_this_cgroup(tmp_path):
    paths = cgroup(tmp_path, {"user.slice/cpu.max": "100000 100000", "user.slice/job/cpu.max": "max 100000"},
                   proc="0::/user.slice/job\n")
    assert env.cgroup_cpu_limit(**paths) == 1.0


@pytest.mark.parametrize("quota, cpus", [("-1", None), ("200000", 2.0), ("150000", 1.5)])
def test_cgroup_v1_cfs_quota(tmp_path, quota, cpus):
    paths = cgroup(tmp_path, {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": quota,
                              "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000"},
                   proc="12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n")
    assert env.cgroup_cpu_limit(**paths) == cpus


def test_cgroup_v1_inside_a_container_sees_its_own_root(tmp_path):
    # with a cgroup namespace the process's path is "/" and the quota sits at the mount's top
    paths = cgroup(tmp_path, {"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"},
                   proc="4:cpu,cpuacct:/\n")
    assert env.cgroup_cpu_limit(**paths) == 1.0


def test_no_cgroup_files_means_no_limit(tmp_path):
    assert env.cgroup_cpu_limit(tmp_path / "nothing", tmp_path / "no_proc_file") is None


@pytest.mark.parametrize("quota, affinity, usable", [("50000 100000", 4, 1), ("250000 100000", 4, 2),
                                                     ("max 100000", 3, 3), ("800000 100000", 2, 2)])
def test_usable_cpus_is_the_affinity_capped_by_the_quota(tmp_path, monkeypatch, quota, affinity, usable):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(affinity)), raising=False)
    assert env.usable_cpus(**cgroup(tmp_path, {"cpu.max": quota})) == usable


def test_usable_cpus_without_affinity_falls_back_to_the_cpu_count(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert env.usable_cpus(tmp_path / "none", tmp_path / "none") == 6


# ---------------------------------------------------------------- fit_threads

@pytest.fixture
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_fit_threads_sets_torch_to_the_usable_cpus(monkeypatch, keep_threads):
    monkeypatch.setattr(env, "usable_cpus", lambda: 1)
    assert env.fit_threads() == 1 and torch.get_num_threads() == 1
    monkeypatch.setattr(env, "usable_cpus", lambda: 2)
    assert env.fit_threads() == 2 and torch.get_num_threads() == 2
    assert env.fit_threads(max_threads=1) == 1 and torch.get_num_threads() == 1


def test_fit_threads_on_this_machine_matches_its_affinity(keep_threads):
    n = env.fit_threads()
    if hasattr(os, "sched_getaffinity"):
        assert 1 <= n <= len(os.sched_getaffinity(0))
    assert torch.get_num_threads() == n


def test_fit_threads_rejects_zero(keep_threads):
    with pytest.raises(ValueError, match="at least 1"):
        env.fit_threads(max_threads=0)


def test_load_average_is_a_number_or_none():
    load = env.load_average()
    assert load is None or load >= 0


# ---------------------------------------------------------------- seeds and device

def test_set_seed_makes_python_numpy_and_torch_repeat():
    env.set_seed(3)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    env.set_seed(3)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_get_device_prefers_what_it_is_told():
    assert env.get_device("cpu") == torch.device("cpu")
    assert env.get_device().type in ("cpu", "cuda")

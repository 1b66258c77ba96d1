"""The self-check's data lines: is each dataset present and verified, downloadable, or damaged?

Each file is verified as the course verifies it before use (md5 of the .gz files and of the CIFAR-10
subset's arrays, every file of a cifar-10-batches-py folder), so "ok" means it will load.
Downloads nothing, writes nothing; the network is probed only when a dataset is missing.
"""
from __future__ import annotations

import os
from pathlib import Path

from course_utils import cifar_files, datadirs, fashion_files
from course_utils.selfcheck_report import Check

# Hosts the data downloads from (Fashion-MNIST mirror, CIFAR-10): probed only when data is missing
DATA_HOSTS = {"Fashion-MNIST": "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
              "CIFAR-10": "www.cs.toronto.edu"}


def _can_reach(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    """True when a TCP connection to host:port opens within ``timeout`` seconds (DNS included)."""
    import socket
    import threading

    result = []

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            pass

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout + 1.0)  # a DNS lookup can hang past the socket timeout
    return bool(result)


def where(path) -> str:
    """A path as a learner can read it without leaking this machine's layout into saved outputs:
    ``$COURSE_DATA_DIR/...``, relative to the course folder, ``~/...``, or else as is."""
    path = Path(path)
    bases = []
    if os.environ.get(datadirs.DATA_ENV):
        bases.append((Path(os.environ[datadirs.DATA_ENV]).expanduser(), f"${datadirs.DATA_ENV}"))
    bases += [(Path(__file__).resolve().parents[1], "."), (Path.home(), "~")]
    for base, label in bases:
        try:
            rel = path.resolve().relative_to(base.resolve())
        except (ValueError, OSError):
            continue
        if label == "." or rel == Path("."):
            return rel.as_posix() if label == "." else label
        return f"{label}/{rel.as_posix()}"
    return str(path)


def _missing(dataset: str, offline_hint: str) -> Check:
    host = DATA_HOSTS[dataset]
    cache = datadirs.cache_dir()
    parent = next((p for p in [cache, *cache.parents] if p.exists()), None)
    if parent is None or not datadirs.is_writable(parent):
        return Check(dataset, "problem", f"not found, and the cache {where(cache)} is not writable",
                     f"Set {datadirs.CACHE_ENV} to a folder you can write to, e.g. "
                     f"os.environ['{datadirs.CACHE_ENV}'] = '/tmp/course-data', or {offline_hint}")
    if _can_reach(host):
        return Check(dataset, "ok", f"not downloaded yet; downloadable into {where(cache)} (first use downloads it)")
    return Check(dataset, "problem", f"not found locally, and {host} cannot be reached (offline?)",
                 f"Connect to the internet and run again, or {offline_hint}")


def check_fashion() -> Check:
    folder, damaged = fashion_files.status()
    if folder is not None:
        return Check("Fashion-MNIST", "ok", f"present and verified in {where(folder)}")
    if damaged:
        return Check("Fashion-MNIST", "problem", f"damaged file {where(damaged[0])} (fails its md5 check)",
                     datadirs.damaged_advice(damaged[0]))
    return _missing("Fashion-MNIST", f"copy the four official .gz files into a folder and point the course "
                                     f"at it: {datadirs.SET_DATA_DIR}")


def _check_subset() -> Check | None:
    """The offline subset's line when both of its .npz files are here (or any is damaged), else None."""
    copies = [cifar_files.npz_copies(train) for train in (True, False)]
    for train, paths in zip((True, False), copies):
        for path in paths:
            try:
                cifar_files.read_npz(path, train)
                break
            except datadirs.DataError:
                if path == paths[-1]:  # no good copy of this split
                    return Check("CIFAR-10", "problem", f"damaged file {where(path)} (fails its checksum)",
                                 datadirs.damaged_advice(path, cifar_files.FULL_INSTEAD))
    if all(copies):
        return Check("CIFAR-10", "ok", f"present and verified in {where(copies[0][0].parent)} (offline subset)")
    return None


def check_cifar() -> Check:
    subset = _check_subset()
    if subset is not None:
        return subset
    root, damaged = cifar_files.batches_status()
    if root is not None:
        return Check("CIFAR-10", "ok", f"present and verified in {where(root / cifar_files.BATCHES)}")
    if damaged:
        folder, bad = damaged[0]
        return Check("CIFAR-10", "problem", f"incomplete or damaged folder {where(folder)} ({', '.join(bad)} "
                                            f"missing or failing its checksum)", cifar_files.batches_advice(folder, bad))
    names = " and ".join(v[0] for v in cifar_files.CIFAR_NPZ.values())
    return _missing("CIFAR-10", f"copy {names} into the cifar10/ subfolder of a folder and point the course "
                                f"at that folder: {datadirs.SET_DATA_DIR}")


def check_data(check, name: str) -> Check:
    """Run one data check; a bad COURSE_DATA_DIR becomes a problem line instead of a traceback."""
    try:
        return check()
    except datadirs.DataError as err:
        return Check(name, "problem", "data folder misconfigured", str(err))

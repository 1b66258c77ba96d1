"""Seeds, device choice and where the notebook is running."""
from __future__ import annotations

import os
import random
import re
import sys

import numpy as np
import torch

from course_utils import data


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


# ---------------------------------------------------------------- environment self-check

MIN_PYTHON = (3, 9)
MIN_TORCH, MIN_TORCHVISION = "2.0", "0.15"
IPYWIDGETS_RANGE = ("7.7", "9")  # >= 7.7, < 9: the course's widgets work with 7 and 8
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Hosts torchvision downloads from (Fashion-MNIST mirror, CIFAR-10): probed only when data is missing
DATA_HOSTS = {"Fashion-MNIST": "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
              "CIFAR-10": "www.cs.toronto.edu"}


class Check:
    """One line of the self-check: what was looked at, what was found, and the fix if it is a problem.

    ``status`` is ``"ok"``, ``"note"`` (worth knowing; ``fix`` holds a tip) or ``"problem"`` (fix it first).
    """

    def __init__(self, name: str, status: str, found: str, fix: str = ""):
        self.name, self.status, self.found, self.fix = name, status, found, fix

    def __repr__(self) -> str:
        return f"Check({self.name!r}, {self.status!r}, {self.found!r}, fix={self.fix!r})"


class SelfCheckReport:
    """The result of :func:`self_check`: a list of :class:`Check`; prints as text, shows as a table."""

    def __init__(self, checks: list[Check]):
        self.checks = list(checks)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status == "problem"]

    @property
    def ok(self) -> bool:
        """True when nothing needs fixing (notes are fine)."""
        return not self.problems

    def __getitem__(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; the checks are {[c.name for c in self.checks]}")

    def summary(self) -> str:
        n = len(self.problems)
        return ("Environment self-check: all good." if n == 0 else
                f"Environment self-check: {n} problem{'s' if n > 1 else ''} to fix (see 'fix:' below).")

    def __str__(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = [self.summary()]
        for c in self.checks:
            mark = {"ok": "ok     ", "note": "note   ", "problem": "PROBLEM"}[c.status]
            lines.append(f"  {mark}  {c.name:<{width}}  {c.found}")
            if c.fix:  # a problem's fix, or a note's tip
                lines.append(f"  {'':7}  {'':<{width}}  {'fix' if c.status == 'problem' else 'tip'}: {c.fix}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        from html import escape

        colour = {"ok": "#1a7f37", "note": "#9a6700", "problem": "#cf222e"}
        rows = "".join(
            f"<tr><td style='color:{colour[c.status]};font-weight:bold'>{escape(c.status)}</td>"
            f"<td>{escape(c.name)}</td><td>{escape(c.found)}</td>"
            f"<td>{escape(c.fix)}</td></tr>" for c in self.checks)
        return (f"<p><b>{escape(self.summary())}</b></p><table>"
                f"<tr><th></th><th>check</th><th>found</th><th>what to do</th></tr>{rows}</table>")


def _version(dist: str) -> str | None:
    """Installed version of a distribution, or None when it is not installed."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _python_version() -> tuple[int, int, int]:
    return tuple(sys.version_info[:3])


def _release(version: str) -> tuple[int, ...]:
    """The numeric release part of a version: '2.14.1+cu130' → (2, 14, 1), '8.1.0rc1' → (8, 1, 0)."""
    m = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(p) for p in m.group(0).split(".")) if m else (0,)


def _older(version: str, minimum: str) -> bool:
    return _release(version) < _release(minimum)


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


def _where(path) -> str:
    """A path as a learner can read it without leaking this machine's layout into saved outputs:
    ``$COURSE_DATA_DIR/...``, relative to the course folder, ``~/...``, or else as is."""
    from pathlib import Path

    path = Path(path)
    bases = []
    if os.environ.get(data.DATA_ENV):
        bases.append((Path(os.environ[data.DATA_ENV]).expanduser(), f"${data.DATA_ENV}"))
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


def _in_kernel() -> bool:
    """True when running inside a Jupyter kernel (JupyterLab, Notebook, Colab, VS Code)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _check_python() -> Check:
    v = _python_version()
    found = ".".join(map(str, v))
    if v[:2] < MIN_PYTHON:
        return Check("Python", "problem", found,
                     f"The course needs Python {'.'.join(map(str, MIN_PYTHON))} or newer (it is tested on 3.11). "
                     f"Create a new environment: conda env create -f environment.yml")
    return Check("Python", "ok", found)


def _check_package(name: str, minimum: str, install: str) -> Check:
    v = _version(name)
    if v is None:
        return Check(name, "problem", "not installed", f"Install it: {install}, then restart the kernel.")
    if _older(v, minimum):
        return Check(name, "problem", f"{v} (too old)",
                     f"The course needs {name} >= {minimum}: {install}, then restart the kernel.")
    return Check(name, "ok", v)


def _check_widgets() -> Check:
    low, high = IPYWIDGETS_RANGE
    spec = f'"ipywidgets>={low},<{high}"'
    v = _version("ipywidgets")
    if v is None:
        return Check("widgets", "problem", "ipywidgets not installed",
                     f"pip install {spec}, then restart the kernel (and reload the browser tab).")
    if _older(v, low) or not _older(v, high):
        return Check("widgets", "problem", f"ipywidgets {v} (unsupported)",
                     f"pip install {spec}, then restart the kernel (and reload the browser tab).")
    from importlib.util import find_spec

    if find_spec("ipywidgets") is None:
        return Check("widgets", "problem", f"ipywidgets {v} is registered but cannot be imported",
                     f"Reinstall it: pip install --force-reinstall {spec}, then restart the kernel.")
    major = int(v.split(".")[0])
    if in_colab():
        if major == 7:
            return Check("widgets", "note", f"ipywidgets {v} on Colab",
                         "If a widget shows as text instead of controls, run "
                         "`from google.colab import output; output.enable_custom_widget_manager()` "
                         "and run the widget cell again.")
        return Check("widgets", "ok", f"ipywidgets {v} on Colab")
    # The browser side: JupyterLab / Notebook 7 render widgets through jupyterlab_widgets
    # (3.x serves ipywidgets 8 and 7 kernels, 1.x only JupyterLab 3); classic Notebook through widgetsnbextension.
    lab = _version("jupyterlab_widgets")
    if major == 8 and lab is not None and _older(lab, "3"):
        return Check("widgets", "problem", f"ipywidgets {v} but jupyterlab_widgets {lab}",
                     "The JupyterLab widget extension is too old for ipywidgets 8: "
                     "pip install -U \"jupyterlab_widgets>=3\" \"jupyterlab>=4\", then restart JupyterLab.")
    if not _in_kernel():
        return Check("widgets", "note", f"ipywidgets {v}; not running in a notebook",
                     "Widgets appear only in a notebook (JupyterLab, Notebook, Colab, VS Code); "
                     "here they print as text.")
    if lab is None:
        return Check("widgets", "note", f"ipywidgets {v}; jupyterlab_widgets not in this environment",
                     f"Widgets render in VS Code and Colab as is. For JupyterLab, install the widget "
                     f"extension where JupyterLab runs: pip install {spec} (it brings jupyterlab_widgets), "
                     f"then restart JupyterLab and reload the page.")
    return Check("widgets", "ok", f"ipywidgets {v}, jupyterlab_widgets {lab}")


def _missing_data(dataset: str, offline_hint: str) -> Check:
    host = DATA_HOSTS[dataset]
    try:
        cache = data.cache_dir()
        parent = next(p for p in [cache, *cache.parents] if p.exists())
        writable = os.access(parent, os.W_OK)
    except StopIteration:
        writable = False
    if not writable:
        return Check(dataset, "problem", f"not found, and the cache {_where(cache)} is not writable",
                     f"Set {data.CACHE_ENV} to a folder you can write to, e.g. "
                     f"os.environ['{data.CACHE_ENV}'] = '/tmp/course-data', or {offline_hint}")
    if _can_reach(host):
        return Check(dataset, "ok", f"not downloaded yet; downloadable into {_where(cache)} (first use downloads it)")
    return Check(dataset, "problem", f"not found locally, and {host} cannot be reached (offline?)",
                 f"Connect to the internet and run again, or {offline_hint}")


def _check_fashion() -> Check:
    found, damaged = [], []
    for name, expected in data.FASHION_FILES.items():
        path = data.find_fashion_file(name)
        if path is not None:
            found.append(path)
            if data.md5(path) != expected:
                damaged.append(path)
    if damaged:
        return Check("Fashion-MNIST", "problem", f"damaged file {_where(damaged[0])}",
                     "Delete it and run again to download a fresh copy, or replace it with the official file.")
    if len(found) == len(data.FASHION_FILES):
        return Check("Fashion-MNIST", "ok", f"present and verified in {_where(found[0].parent)}")
    return _missing_data("Fashion-MNIST",
                         f"copy the four official .gz files into a folder and set {data.DATA_ENV} to it.")


def _check_cifar() -> Check:
    names = [v[0] for v in data.CIFAR_NPZ.values()]
    npz = [data.find_cifar_npz(train) for train in (True, False)]
    if all(npz):
        return Check("CIFAR-10", "ok", f"present in {_where(npz[0].parent)} (offline subset; verified when loaded)")
    batches = data.find_cifar_batches()
    if batches is not None:
        return Check("CIFAR-10", "ok", f"present in {_where(batches / 'cifar-10-batches-py')}")
    return _missing_data("CIFAR-10", f"set {data.DATA_ENV} to a folder whose cifar10/ subfolder holds "
                                     f"{' and '.join(names)}.")


def _check_data(check) -> Check:
    """Run one data check; a bad COURSE_DATA_DIR becomes a problem line instead of a traceback."""
    try:
        return check()
    except data.DataError as err:
        name = "Fashion-MNIST" if check is _check_fashion else "CIFAR-10"
        return Check(name, "problem", "data folder misconfigured", str(err))


def _check_device() -> Check:
    if torch.cuda.is_available():
        return Check("device", "ok", f"cuda ({torch.cuda.get_device_name(0)})")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return Check("device", "ok", "mps (Apple GPU); the course runs on the CPU by default")
    fix = ("Optional: Runtime → Change runtime type → T4 GPU speeds up notebooks 5 and 6."
           if in_colab() else "")
    return Check("device", "ok" if not fix else "note",
                 f"cpu ({torch.get_num_threads()} threads); every notebook is sized to run on a CPU", fix)


def self_check() -> SelfCheckReport:
    """Check this environment for the course; each problem comes with its fix.

    Reports Python, torch, torchvision and ipywidgets versions, whether Fashion-MNIST and CIFAR-10 are
    present (or downloadable), whether widgets will render, and the device. Downloads nothing, changes nothing:
    the network is probed only when a dataset is missing.
    """
    torch_install = (f'pip install "torch>={MIN_TORCH}" "torchvision>={MIN_TORCHVISION}" '
                     f"--index-url {CPU_INDEX}")
    return SelfCheckReport([
        _check_python(),
        _check_package("torch", MIN_TORCH, torch_install),
        _check_package("torchvision", MIN_TORCHVISION,
                       f'pip install "torchvision>={MIN_TORCHVISION}" (the release matching your torch; '
                       f"CPU builds: --index-url {CPU_INDEX})"),
        _check_widgets(),
        _check_data(_check_fashion),
        _check_data(_check_cifar),
        _check_device(),
    ])

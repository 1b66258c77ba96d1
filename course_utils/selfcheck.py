"""The environment self-check: ``self_check()`` reports what the course needs, each problem with its fix.

Python, torch, torchvision and ipywidgets versions, the data (verified as it will be loaded), whether
widgets will render, the device, and the threads torch uses against the CPUs this process may use.
Downloads nothing and changes nothing.
"""
from __future__ import annotations

import re
import sys

import torch

from course_utils import env
from course_utils.selfcheck_data import check_cifar, check_data, check_fashion
from course_utils.selfcheck_report import Check, SelfCheckReport  # noqa: F401  (part of this module's API)

MIN_PYTHON = (3, 10)
# From torch 2.10 on, torch.load(..., weights_only=True) resists crafted files: it could be bypassed
# to run code before 2.6 (CVE-2025-32434) and to corrupt memory before 2.10 (CVE-2026-24747).
MIN_TORCH, MIN_TORCHVISION = "2.10", "0.25"
WEIGHTS_ONLY_NOTE = ("from torch 2.10 on, torch.load(..., weights_only=True) is safe against crafted checkpoint "
                     "files (older versions are open to CVE-2025-32434 and CVE-2026-24747)")
IPYWIDGETS_RANGE = ("7.7", "9")  # >= 7.7, < 9: the course's widgets work with 7 and 8
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


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


def _check_package(name: str, minimum: str, install: str, why: str = "") -> Check:
    v = _version(name)
    if v is None:
        return Check(name, "problem", "not installed", f"Install it: {install}, then restart the kernel.")
    if _older(v, minimum):
        return Check(name, "problem", f"{v} (too old)",
                     f"The course needs {name} >= {minimum}{f' ({why})' if why else ''}: {install}, "
                     f"then restart the kernel.")
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
    if env.in_colab():
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


def _check_device() -> Check:
    if torch.cuda.is_available():
        return Check("device", "ok", f"cuda ({torch.cuda.get_device_name(0)})")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return Check("device", "ok", "mps (Apple GPU); the course runs on the CPU by default")
    fix = ("Optional: Runtime → Change runtime type → T4 GPU speeds up the notebooks that train."
           if env.in_colab() else "")
    return Check("device", "ok" if not fix else "note", "cpu; every notebook is sized to run on a CPU", fix)


def _check_threads() -> Check:
    threads, usable, load = torch.get_num_threads(), env.usable_cpus(), env.load_average()
    found = f"torch uses {threads} thread{'s' * (threads > 1)}; {usable} CPU{'s' * (usable > 1)} usable here"
    if load is not None and load > usable:
        return Check("threads", "note", f"{found}; the machine is busy (load {load:.1f} over the last minute)",
                     "Other programs are using the CPUs: training runs slower than the notebooks' run times "
                     "say. Fewer threads help: from course_utils.env import fit_threads; "
                     "fit_threads(max_threads=1). Or close the other programs.")
    if threads > usable:
        return Check("threads", "note", found,
                     f"More threads than usable CPUs slow training down: from course_utils.env import "
                     f"fit_threads; fit_threads() sets {usable} (the notebooks that train call it).")
    return Check("threads", "ok", found)


def self_check() -> SelfCheckReport:
    """Check this environment for the course; each problem comes with its fix.

    Reports Python, torch, torchvision and ipywidgets versions, whether Fashion-MNIST and CIFAR-10 are
    present and verified (or downloadable), whether widgets will render, the device, and torch's
    threads against the usable CPUs and the machine's load. Downloads nothing, changes nothing: the
    network is probed only when a dataset is missing.
    """
    torch_install = (f'pip install "torch>={MIN_TORCH}" "torchvision>={MIN_TORCHVISION}" '
                     f"--index-url {CPU_INDEX}")
    return SelfCheckReport([
        _check_python(),
        _check_package("torch", MIN_TORCH, torch_install, WEIGHTS_ONLY_NOTE),
        _check_package("torchvision", MIN_TORCHVISION,
                       f'pip install "torchvision>={MIN_TORCHVISION}" (the release matching your torch; '
                       f"CPU builds: --index-url {CPU_INDEX})"),
        _check_widgets(),
        check_data(check_fashion, "Fashion-MNIST"),
        check_data(check_cifar, "CIFAR-10"),
        _check_device(),
        _check_threads(),
    ])

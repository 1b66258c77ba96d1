"""pytest plugin for the notebooks nbval runs (the repository's conftest.py loads it).

- nbval waits at most 5 s for each output message once a cell has finished. On a busy 2-core CI
  machine a training cell's last messages (its progress bars and prints) have come later than that,
  and the cell failed although it had run to the end. A minute is generous and still ends a stuck run.
- After a notebook's last cell, the kernel's peak resident memory (Linux: VmHWM of the kernel
  process) must stay within the course's budget; a notebook above it fails at that cell's teardown.
  ``COURSE_MAX_KERNEL_BYTES`` overrides the budget (the plugin's own test uses it).
"""
from __future__ import annotations

import os

import pytest

from nbexec import MAX_PEAK_RSS

OUTPUT_TIMEOUT_S = 60


def _is_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def kernel_peak_bytes(nbfile) -> int | None:
    """Peak resident memory of the kernel running ``nbfile``'s cells, or None where it cannot be read."""
    try:
        pid = nbfile.kernel.km.provisioner.pid
        with open(f"/proc/{pid}/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    except (AttributeError, OSError, StopIteration, ValueError, TypeError):
        return None


def pytest_collection_modifyitems(items):
    for item in items:
        if _is_cell(item) and hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_TIMEOUT_S


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    last_cell = _is_cell(item) and (nextitem is None or nextitem.parent is not item.parent)
    peak = kernel_peak_bytes(item.parent) if last_cell else None
    result = yield                                   # the kernel shuts down here, after the last cell
    limit = float(os.environ.get("COURSE_MAX_KERNEL_BYTES", MAX_PEAK_RSS))
    if peak is not None and peak > limit:
        pytest.fail(f"{item.parent.name}: the kernel peaked at {peak / 1e9:.2f} GB of memory "
                    f"(limit {limit / 1e9:.1f} GB): use smaller batches or subsets, free big tensors with "
                    f"del", pytrace=False)
    return result

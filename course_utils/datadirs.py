"""Where the course's data lies, and what to tell a learner when a file is missing or damaged.

Data is looked for in ``COURSE_DATA_DIR`` (offline copies, possibly read-only), then in the writable
cache (``COURSE_CACHE_DIR``, else ``data/`` in the course repository, else ``~/.cache/course_utils``).
Downloads land in the cache, written beside their final name and renamed into place once verified.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from course_utils import files

DATA_ENV = "COURSE_DATA_DIR"
CACHE_ENV = "COURSE_CACHE_DIR"
# How to point the course at a folder from inside a notebook (takes effect at the next data call).
SET_DATA_DIR = f'import os; os.environ["{DATA_ENV}"] = "/path/to/your/data"'


class DataError(RuntimeError):
    """A dataset file is missing, damaged or cannot be written; the message says how to fix it."""


def cache_dir() -> Path:
    """The writable folder where downloads and extracted files go."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").is_file() and (repo / "notebooks").is_dir():
        return repo / "data"
    return Path.home() / ".cache" / "course_utils"


def source_dirs() -> list[Path]:
    """Folders searched for data, in order: ``COURSE_DATA_DIR`` (if set), then the cache."""
    dirs = []
    if os.environ.get(DATA_ENV):
        src = Path(os.environ[DATA_ENV]).expanduser()
        if not src.is_dir():
            raise DataError(f"{DATA_ENV} points to {src}, which is not a folder. "
                            f"Fix the path, or unset {DATA_ENV} to download the data instead.")
        dirs.append(src)
    dirs.append(cache_dir())
    return dirs


def candidates(name: str, subdirs: tuple[str, ...]) -> list[Path]:
    """Every existing file ``<folder>/<subdir>/<name>`` over :func:`source_dirs`, in search order."""
    found = []
    for root in source_dirs():
        for sub in subdirs:
            path = root / sub / name
            if path.is_file() and path.resolve() not in {p.resolve() for p in found}:
                found.append(path)
    return found


def searched() -> str:
    """The folders searched, for a "not found" message."""
    return ", ".join(map(str, source_dirs()))


def is_writable(folder: Path) -> bool:
    """True when files in ``folder`` can be created or deleted (no write bit, or a read-only mount: False)."""
    try:
        return os.access(folder, os.W_OK) and not os.statvfs(folder).f_flag & os.ST_RDONLY
    except (OSError, AttributeError):  # no statvfs on Windows
        return os.access(folder, os.W_OK)


def writable_cache(folder: Path) -> Path:
    """Create ``folder`` (inside the cache) and check that files can be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise DataError(
            f"Cannot write to the data cache {folder} ({err.strerror}). "
            f"Set {CACHE_ENV} to a folder you can write to, e.g. "
            f"os.environ['{CACHE_ENV}'] = '/tmp/course-data'.") from None
    return folder


def damaged_advice(path: Path, fresh: str = "a fresh copy") -> str:
    """What to do about a damaged file at ``path``: right for the cache, an offline copy, a read-only folder.

    ``fresh`` names what a download brings instead.
    """
    if not is_writable(path.parent):
        return (f"Its folder is read-only, so it cannot be deleted or repaired from here: ask whoever "
                f"provides that folder for a fresh copy, or put good copies of the official files in a "
                f"folder you can write to and point the course at it from a notebook cell: {SET_DATA_DIR}")
    try:
        path.resolve().relative_to(cache_dir().resolve())
    except ValueError:
        return (f"It lies in your offline data folder ({DATA_ENV}): replace it with a good copy of the "
                f"official file. Or delete it and run again while online: the course then downloads {fresh} "
                f"into its cache.")
    return (f"Delete it and run again while online: the course downloads {fresh}. Offline? Replace it with "
            f"the official file.")


def download(url: str, dest: Path, md5: str) -> None:
    """Download ``url`` to ``dest`` through torchvision, verified by md5 and renamed into place."""
    from torchvision.datasets.utils import download_url

    tmp = files.partial_folder(dest)
    try:
        download_url(url, str(tmp), dest.name, md5)  # raises if the md5 does not match
        with open(tmp / dest.name, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp / dest.name, dest)
    finally:
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()

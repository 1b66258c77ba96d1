"""Writing files so that a crash never leaves half of one: write beside the target, then rename.

A reader of ``path`` sees either the old complete file or the new complete file, never a mix:
the new bytes go to a temporary file in the same folder, are flushed to the disk, and only then
replace ``path`` in one step (``os.replace``). Used by checkpoints and by the data cache.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

PARTIAL = ".partial"  # suffix of the temporary files and folders; a killed process may leave one behind

_md5_memo: dict[tuple, str] = {}


def md5(path) -> str:
    """md5 hex digest of a file (remembered per file size, change time and inode within this process)."""
    st = os.stat(path)
    key = (os.fspath(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _md5_memo:
        h = hashlib.md5()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _md5_memo[key] = h.hexdigest()
    return _md5_memo[key]


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path):
    """``with atomic_write(path) as f: f.write(...)``: ``path`` changes only if the block completes.

    On any error (a full disk, an exception in the block) the temporary file is removed and
    ``path`` keeps its previous content; the error propagates.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PARTIAL)
    try:
        # keep the permissions of the file being replaced; a new one gets the usual rw-r--r--
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def partial_folder(final: Path) -> Path:
    """A new empty temporary folder beside ``final``, to fill and then :func:`replace_folder` into place."""
    return Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=PARTIAL))


def replace_folder(new: Path, final: Path) -> None:
    """Put the complete folder ``new`` at ``final``, replacing whatever was there.

    A crash part-way leaves ``final`` absent or complete, never partial (the old folder is first
    moved aside, then deleted).
    """
    stale = None
    if final.exists():
        stale = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.old.", suffix=PARTIAL))
        os.replace(final, stale / final.name)
    os.replace(new, final)
    _fsync_folder(final.parent)
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)

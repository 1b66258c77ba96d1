"""CIFAR-10's files: the offline subset (.npz), or torchvision's ``cifar-10-batches-py/`` folder.

Both are verified before use: the .npz by the md5 of its arrays, the batches folder file by file
against the md5 values torchvision keeps. A partial or damaged batches folder never blocks a fresh
copy: it is rebuilt from the verified archive (downloaded if needed), extracted beside the folder
and swapped in only when complete.
"""
from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path

import numpy as np

from course_utils import datadirs, files
from course_utils.datadirs import (SET_DATA_DIR, DataError, cache_dir, candidates, damaged_advice, searched,
                                   source_dirs, writable_cache)

# md5 of images.tobytes() / labels.tobytes() (the .npz container itself holds timestamps)
CIFAR_NPZ = {
    True: ("cifar10_train_first9000.npz",
           "491713d1ff9d129a2400ff21c0cec77e", "2fd113d57a3199ea551db259194fb9b5"),
    False: ("cifar10_test_first1000.npz",
            "3fe68351611e8adf42c48792f77b1fdb", "2cf80705fb3dcd82893afe01f144e702"),
}
BATCHES = "cifar-10-batches-py"
FULL_INSTEAD = "the full CIFAR-10 (instead of this subset)"


# ---------------------------------------------------------------- the offline subset

def npz_copies(train: bool) -> list[Path]:
    """Every local copy of the subset's .npz for that split (unverified), in search order."""
    return candidates(CIFAR_NPZ[train][0], ("cifar10", "."))


def read_npz(path: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels int64) from a subset .npz, verified by the md5 of its arrays."""
    _, images_md5, labels_md5 = CIFAR_NPZ[train]
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except Exception as err:  # zipfile, KeyError, ValueError, EOFError...
        raise DataError(f"{path} cannot be read as the CIFAR-10 .npz ({type(err).__name__}: {err}). It is "
                        f"truncated or corrupted. {damaged_advice(path, FULL_INSTEAD)}") from None
    if (hashlib.md5(images.tobytes()).hexdigest() != images_md5
            or hashlib.md5(labels.tobytes()).hexdigest() != labels_md5):
        raise DataError(f"{path} holds different pixels or labels than the official CIFAR-10 subset "
                        f"(checksum mismatch). {damaged_advice(path, FULL_INSTEAD)}")
    return images, labels.astype(np.int64)


def load_npz(train: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """The subset's arrays from the first good copy; None when there is no copy; DataError when all are bad."""
    errors = []
    for path in npz_copies(train):
        try:
            return read_npz(path, train)
        except DataError as err:
            errors.append(err)
    if errors:
        raise errors[0]
    return None


# ---------------------------------------------------------------- torchvision's batches folder

def _expected() -> list[tuple[str, str]]:
    """(file name, md5) of every file in cifar-10-batches-py, as torchvision checks them."""
    from torchvision.datasets import CIFAR10

    return [*CIFAR10.train_list, *CIFAR10.test_list, (CIFAR10.meta["filename"], CIFAR10.meta["md5"])]


def bad_batches(folder: Path) -> list[str]:
    """Names of the files of ``folder`` (a cifar-10-batches-py) that are missing or fail their md5."""
    return [name for name, md5 in _expected()
            if not (folder / name).is_file() or files.md5(folder / name) != md5]


def batches_status() -> tuple[Path | None, list[tuple[Path, list[str]]]]:
    """(root whose cifar-10-batches-py is complete and verified, or None; [(bad folder, bad files)])."""
    damaged = []
    for root in source_dirs():
        folder = root / BATCHES
        if folder.is_dir():
            bad = bad_batches(folder)
            if not bad:
                return root, []
            damaged.append((folder, bad))
    return None, damaged


def _extract(archive: Path, root: Path) -> None:
    """Extract the archive beside ``root/cifar-10-batches-py``, check it, and swap it into place."""
    tmp = files.partial_folder(root / BATCHES)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.10.12+, 3.11.4+: refuse unsafe members
                tar.extractall(tmp, filter="data")
            else:
                tar.extractall(tmp)
        bad = bad_batches(tmp / BATCHES)
        if bad:
            raise DataError(f"{archive} passed its md5 check but {', '.join(bad)} came out wrong. The disk may "
                            f"be failing or full: check it, delete {archive} and run again.")
        files.replace_folder(tmp / BATCHES, root / BATCHES)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def missing_message() -> str:
    names = " and ".join(v[0] for v in CIFAR_NPZ.values())
    return (f"CIFAR-10 was not found in {searched()}. Connect to the internet to download it, or copy "
            f"{names} into the cifar10/ subfolder of a folder and point the course at that folder from a "
            f"notebook cell: {SET_DATA_DIR}")


def batches_advice(folder: Path, bad: list[str]) -> str:
    """What to do about an incomplete or damaged cifar-10-batches-py folder."""
    if folder.parent.resolve() == cache_dir().resolve() and datadirs.is_writable(folder):
        return ("Run again while online: the course downloads CIFAR-10 again and replaces the folder "
                "(or delete the folder yourself).")
    return damaged_advice(folder / bad[0])


def damaged_message(folder: Path, bad: list[str]) -> str:
    return (f"{folder} is incomplete or damaged ({', '.join(bad)}: missing or failing its checksum). "
            f"{batches_advice(folder, bad)}")


def batches_root(download: bool | None = None) -> Path:
    """A root whose cifar-10-batches-py is complete and verified, rebuilt or downloaded when allowed."""
    from torchvision.datasets import CIFAR10

    root, damaged = batches_status()
    if root is not None:
        return root
    problem = damaged_message(*damaged[0]) if damaged else missing_message()
    if download is False:
        raise DataError(problem)
    root = writable_cache(cache_dir())
    archive = root / CIFAR10.filename
    if not (archive.is_file() and files.md5(archive) == CIFAR10.tgz_md5):
        try:
            datadirs.download(CIFAR10.url, archive, CIFAR10.tgz_md5)
        except Exception as err:  # network errors come in many types
            raise DataError(f"Downloading CIFAR-10 into {root} failed ({type(err).__name__}: {err}). "
                            f"{problem}") from None
    _extract(archive, root)
    return root

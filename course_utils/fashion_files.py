"""Fashion-MNIST's files: the four official .gz archives, and the extracted files torchvision reads.

Every file is verified before use: the .gz files by md5, the extracted ones by size and md5. A bad
copy is skipped (a good one elsewhere, or a fresh download, takes its place); an extracted file that
is wrong (a half-written extraction, a changed byte) is rebuilt from the verified archive.
"""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from course_utils import datadirs, files
from course_utils.datadirs import (SET_DATA_DIR, DataError, cache_dir, candidates, damaged_advice, searched,
                                   source_dirs, writable_cache)

# md5 of the official .gz files (the values torchvision checks)
FASHION_FILES = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# size and md5 of the extracted files, which torchvision's FashionMNIST reads from <root>/FashionMNIST/raw/
FASHION_RAW = {
    "train-images-idx3-ubyte": (47_040_016, "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
    "train-labels-idx1-ubyte": (60_008, "9018921c3c673c538a1fc5bad174d6f9"),
    "t10k-images-idx3-ubyte": (7_840_016, "8181f5470baa50b63fa0f6fddb340f0a"),
    "t10k-labels-idx1-ubyte": (10_008, "15d484375f8d13e6eb1aabb0c3f46965"),
}
SUBDIRS = ("fashion-mnist", "FashionMNIST/raw", ".")  # where the .gz files may lie in a data folder
RAW = Path("FashionMNIST") / "raw"  # torchvision's layout under its root


def _good(paths: list[Path], name: str) -> Path | None:
    return next((p for p in paths if files.md5(p) == FASHION_FILES[name]), None)


def status() -> tuple[Path | None, list[Path]]:
    """(folder of verified copies of all four .gz files, or None; copies that fail their md5 check).

    Damaged copies are listed only for files that have no good copy anywhere. Downloads nothing.
    """
    good, damaged = [], []
    for name in FASHION_FILES:
        found = candidates(name, SUBDIRS)
        ok = _good(found, name)
        good += [ok] if ok else []
        damaged += found if ok is None else []
    return (good[0].parent if len(good) == len(FASHION_FILES) else None), damaged


def _download(name: str) -> str:
    """Download one .gz file into the cache; returns '' on success, else what went wrong."""
    from torchvision.datasets import FashionMNIST

    try:
        raw = writable_cache(cache_dir() / RAW)
    except DataError as err:
        return str(err)
    errors = []
    for mirror in FashionMNIST.mirrors:
        try:
            datadirs.download(mirror + name, raw / name, FASHION_FILES[name])
            return ""
        except Exception as err:  # network errors come in many types
            errors.append(f"{type(err).__name__}: {err}")
    return f"Downloading Fashion-MNIST file {name} into {raw} failed ({'; '.join(errors)})"


def gz(name: str, download: bool | None = None) -> Path:
    """Path of a verified copy of one official .gz file, downloading it if needed and allowed."""
    found = candidates(name, SUBDIRS)
    good, failure = _good(found, name), ""
    if good is None and download is not False:
        failure = _download(name)
        found = candidates(name, SUBDIRS)
        good = _good(found, name)
    if good is not None:
        return good
    failed = f" ({failure}.)" if failure else ""
    if found:
        bad = found[0]
        raise DataError(f"{bad} is damaged: its md5 is {files.md5(bad)}, expected {FASHION_FILES[name]} "
                        f"({bad.stat().st_size:,} bytes; truncated or corrupted). {damaged_advice(bad)}{failed}")
    raise DataError(
        f"Fashion-MNIST file {name} was not found in {searched()}.{failed} Connect to the internet and run "
        f"again (it downloads into the cache), or copy the four official .gz files into a folder "
        f"(directly, or in its fashion-mnist/ subfolder) and point the course at it from a notebook cell: "
        f"{SET_DATA_DIR}")


def _raw_ok(path: Path) -> bool:
    size, digest = FASHION_RAW[path.name]
    return path.is_file() and path.stat().st_size == size and files.md5(path) == digest


def _extract(archive: Path, target: Path) -> None:
    with gzip.open(archive, "rb") as src, files.atomic_write(target) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    if not _raw_ok(target):
        raise DataError(f"Extracting {archive} gave a file that fails its checksum ({target}). The disk may be "
                        f"failing or full: check it, delete {target} and run again.")


def torchvision_root(download: bool | None = None) -> Path:
    """A root whose ``FashionMNIST/raw/`` holds the four extracted files, each verified.

    An offline folder that already has that layout is used as it is (nothing is written there);
    otherwise the files are extracted into the cache from the verified .gz files, and any extracted
    file that is wrong is rebuilt.
    """
    for root in source_dirs():
        if all(_raw_ok(root / RAW / name) for name in FASHION_RAW):
            return root
    raw = writable_cache(cache_dir() / RAW)
    for name in FASHION_RAW:
        if not _raw_ok(raw / name):
            _extract(gz(name + ".gz", download), raw / name)
    return cache_dir()

"""Fashion-MNIST and CIFAR-10: find them, verify them, download them, or keep them in memory.

Where data is looked for, in order:

1. ``COURSE_DATA_DIR`` (environment variable): a folder holding offline copies, which may be
   read-only. Accepted layouts: ``fashion-mnist/*.gz``, ``FashionMNIST/raw/*.gz`` or the four
   ``.gz`` files directly in the folder; ``cifar10/cifar10_*.npz`` (the offline CIFAR-10 subset)
   or torchvision's ``cifar-10-batches-py/``.
2. The writable cache, ``COURSE_CACHE_DIR`` or ``data/`` at the top of the course repository
   (``~/.cache/course_utils`` when the package is installed elsewhere). Downloads land here.
3. A download through torchvision, when the machine is online.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

DATA_ENV = "COURSE_DATA_DIR"
CACHE_ENV = "COURSE_CACHE_DIR"

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")

# md5 of the official .gz files (the same values torchvision checks)
FASHION_FILES = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# md5 of images.tobytes() / labels.tobytes() (the .npz container itself holds timestamps)
CIFAR_NPZ = {
    True: ("cifar10_train_first9000.npz",
           "491713d1ff9d129a2400ff21c0cec77e", "2fd113d57a3199ea551db259194fb9b5"),
    False: ("cifar10_test_first1000.npz",
            "3fe68351611e8adf42c48792f77b1fdb", "2cf80705fb3dcd82893afe01f144e702"),
}
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530


class DataError(RuntimeError):
    """A dataset file is missing, damaged or cannot be written; the message says how to fix it."""


# ---------------------------------------------------------------- locations

def cache_dir() -> Path:
    """The writable folder where downloads and extracted files go."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").is_file() and (repo / "notebooks").is_dir():
        return repo / "data"
    return Path.home() / ".cache" / "course_utils"


def source_dirs() -> list[Path]:
    """Folders searched for offline copies: ``COURSE_DATA_DIR`` (if set), then the cache."""
    dirs = []
    if os.environ.get(DATA_ENV):
        src = Path(os.environ[DATA_ENV]).expanduser()
        if not src.is_dir():
            raise DataError(f"{DATA_ENV} points to {src}, which is not a folder. "
                            f"Fix the path, or unset {DATA_ENV} to download the data instead.")
        dirs.append(src)
    dirs.append(cache_dir())
    return dirs


def _writable(folder: Path) -> Path:
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


def md5(path: Path) -> str:
    """md5 hex digest of a file."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _find(name: str, subdirs: tuple[str, ...]) -> Path | None:
    for root in source_dirs():
        for sub in subdirs:
            candidate = root / sub / name
            if candidate.is_file():
                return candidate
    return None


# ---------------------------------------------------------------- Fashion-MNIST

_FASHION_SUBDIRS = ("fashion-mnist", "FashionMNIST/raw", ".")


def find_fashion_file(name: str) -> Path | None:
    """Where one of the four official Fashion-MNIST .gz files lies locally (unverified), or None."""
    return _find(name, _FASHION_SUBDIRS)


def _fashion_gz(name: str, download: bool | None) -> Path:
    """Path of one verified official .gz file, downloading the set if needed and allowed."""
    path = find_fashion_file(name)
    if path is None and download is not False:
        _download_fashion()
        path = find_fashion_file(name)
    if path is None:
        raise DataError(
            f"Fashion-MNIST file {name} was not found in {', '.join(map(str, source_dirs()))}. "
            f"Either connect to the internet and run again (it downloads through torchvision), "
            f"or copy the four official .gz files into a folder and set {DATA_ENV} to it "
            f"(files in <folder>/fashion-mnist/ or directly in <folder>).")
    expected = FASHION_FILES[name]
    if path.stat().st_size == 0 or md5(path) != expected:
        raise DataError(
            f"{path} is damaged: its md5 is {md5(path)}, expected {expected} "
            f"({path.stat().st_size:,} bytes; truncated or corrupted). Delete it and run again "
            f"to download a fresh copy, or replace it with the official file.")
    return path


def _download_fashion() -> None:
    from torchvision.datasets import FashionMNIST

    root = _writable(cache_dir())
    try:
        for train in (True, False):
            FashionMNIST(root, train=train, download=True)
    except Exception as err:  # network errors come in many types
        raise DataError(
            f"Downloading Fashion-MNIST into {root} failed ({type(err).__name__}: {err}). "
            f"Offline? Copy the four official .gz files into a folder and set {DATA_ENV} to it.") from None


def _read_idx(path: Path) -> np.ndarray:
    """Decode a gzipped IDX file (images: N×28×28 uint8, labels: N uint8)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    try:
        magic = int.from_bytes(raw[0:4], "big")
        ndim = magic & 0xFF
        dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    except ValueError as err:
        raise DataError(f"{path} does not hold a valid IDX array ({err}). "
                        f"Delete it and run again to get a fresh copy.") from None


def fashion_mnist_arrays(train: bool = True, download: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images N×28×28 uint8, labels N int64) of the official split, verified by md5."""
    prefix = "train" if train else "t10k"
    images = _read_idx(_fashion_gz(f"{prefix}-images-idx3-ubyte.gz", download))
    labels = _read_idx(_fashion_gz(f"{prefix}-labels-idx1-ubyte.gz", download))
    return images, labels.astype(np.int64)


def fashion_mnist(train: bool = True, transform=None, download: bool | None = None):
    """torchvision's ``FashionMNIST`` dataset, built from verified files (offline copies work)."""
    from torchvision.datasets import FashionMNIST

    raw = _writable(cache_dir() / "FashionMNIST" / "raw")
    for name in FASHION_FILES:  # torchvision wants all four files extracted, whichever split
        gz = _fashion_gz(name, download)
        target = raw / gz.name[:-3]
        if not target.is_file() or target.stat().st_mtime < gz.stat().st_mtime:
            tmp = target.with_suffix(".part")
            with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(target)
    return FashionMNIST(str(cache_dir()), train=train, transform=transform, download=False)


# ---------------------------------------------------------------- CIFAR-10

def find_cifar_npz(train: bool) -> Path | None:
    """Where the offline CIFAR-10 subset .npz of that split lies locally (unverified), or None."""
    return _find(CIFAR_NPZ[train][0], ("cifar10", "."))


def find_cifar_batches() -> Path | None:
    """The folder holding torchvision's ``cifar-10-batches-py/``, or None."""
    return next((root for root in source_dirs() if (root / "cifar-10-batches-py").is_dir()), None)


def _load_npz(path: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    _, images_md5, labels_md5 = CIFAR_NPZ[train]
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except Exception as err:  # zipfile, KeyError, ValueError, EOFError...
        raise DataError(f"{path} cannot be read as the CIFAR-10 .npz ({type(err).__name__}: {err}). "
                        f"It is truncated or corrupted: replace it with a fresh copy.") from None
    if (hashlib.md5(images.tobytes()).hexdigest() != images_md5
            or hashlib.md5(labels.tobytes()).hexdigest() != labels_md5):
        raise DataError(f"{path} holds different pixels or labels than the official CIFAR-10 subset "
                        f"(checksum mismatch). Replace it with a fresh copy.")
    return images, labels.astype(np.int64)


def cifar10_arrays(train: bool = True, download: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images N×32×32×3 uint8 RGB, labels N int64): the offline subset if present, else torchvision."""
    npz = find_cifar_npz(train)
    if npz is not None:
        return _load_npz(npz, train)
    ds = _torchvision_cifar(train, download)
    return ds.data, np.asarray(ds.targets, dtype=np.int64)


def _torchvision_cifar(train: bool, download: bool | None):
    from torchvision.datasets import CIFAR10

    root = find_cifar_batches()
    if root is not None:
        return CIFAR10(str(root), train=train, download=False)
    if download is False:
        raise DataError(_cifar_missing_message())
    root = _writable(cache_dir())
    try:
        return CIFAR10(str(root), train=train, download=True)
    except Exception as err:
        raise DataError(f"Downloading CIFAR-10 into {root} failed ({type(err).__name__}: {err}). "
                        + _cifar_missing_message()) from None


def _cifar_missing_message() -> str:
    names = " and ".join(v[0] for v in CIFAR_NPZ.values())
    return (f"CIFAR-10 was not found in {', '.join(map(str, source_dirs()))}. Connect to the internet "
            f"to download it, or set {DATA_ENV} to a folder whose cifar10/ subfolder holds {names}.")


class ArrayImageDataset(torch.utils.data.Dataset):
    """A torchvision-style dataset over in-memory uint8 images: items are (PIL image, label)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, classes, transform=None):
        self.data, self.targets = images, labels.tolist()
        self.classes, self.transform = list(classes), transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i):
        from PIL import Image

        img = Image.fromarray(self.data[i])
        return (self.transform(img) if self.transform else img), self.targets[i]


def cifar10(train: bool = True, transform=None, download: bool | None = None):
    """CIFAR-10 as a torchvision-style dataset (full data via torchvision, or the offline subset)."""
    npz = find_cifar_npz(train)
    if npz is not None:
        images, labels = _load_npz(npz, train)
        return ArrayImageDataset(images, labels, CIFAR10_CLASSES, transform)
    ds = _torchvision_cifar(train, download)
    ds.transform = transform
    return ds


# ---------------------------------------------------------------- loaders and the fast path

def loader(dataset, batch_size: int = 64, shuffle: bool = True, seed: int | None = None):
    """A DataLoader with course defaults (num_workers=0 works everywhere, Windows and Binder too)."""
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                                       num_workers=0, generator=gen)


def to_tensors(images: np.ndarray, labels: np.ndarray, mean=None, std=None) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N,H,W) or (N,H,W,C) → float tensor (N,C,H,W) in [0, 1], optionally normalised."""
    images = np.ascontiguousarray(images)
    X = torch.from_numpy(images if images.flags.writeable else images.copy())
    X = X.unsqueeze(1) if X.ndim == 3 else X.permute(0, 3, 1, 2)
    X = X.to(torch.float32).div_(255.0).contiguous()
    if mean is not None:
        m = torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        s = torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        X.sub_(m).div_(s)
    return X, torch.from_numpy(labels.astype(np.int64))


def fashion_mnist_tensors(train: bool = True, normalize: bool = False, download: bool | None = None):
    """The whole split as (X (N,1,28,28) float32, y (N,) int64), in [0,1] or normalised."""
    images, labels = fashion_mnist_arrays(train, download)
    stats = (FASHION_MEAN, FASHION_STD) if normalize else (None, None)
    return to_tensors(images, labels, *stats)


def cifar10_tensors(train: bool = True, normalize: bool = False, download: bool | None = None):
    """The whole split as (X (N,3,32,32) float32, y (N,) int64), in [0,1] or normalised."""
    images, labels = cifar10_arrays(train, download)
    stats = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)) if normalize else (None, None)
    return to_tensors(images, labels, *stats)


class TensorBatches:
    """Shuffled mini-batches from tensors already in memory: a fast stand-in for a DataLoader.

    ``for X, y in TensorBatches(X_all, y_all, batch_size=128, seed=0): ...``
    Each pass over it draws a new permutation; ``len()`` is the number of batches.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int = 64,
                 shuffle: bool = True, seed: int | None = None, drop_last: bool = False):
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}: they must match.")
        self.X, self.y, self.batch_size = X, y, batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.dataset = torch.utils.data.TensorDataset(X, y)  # so len(loader.dataset) works

    def __len__(self) -> int:
        n, b = len(self.X), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self):
        n = len(self.X)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            if order is None:
                yield self.X[start:start + self.batch_size], self.y[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size]
                yield self.X[idx], self.y[idx]

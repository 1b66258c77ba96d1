"""Fashion-MNIST and CIFAR-10 for the notebooks: verified files, datasets, tensors in memory.

Where data is looked for, in order:

1. ``COURSE_DATA_DIR`` (environment variable): a folder holding offline copies, which may be
   read-only. Accepted layouts: ``fashion-mnist/*.gz``, ``FashionMNIST/raw/*.gz`` or the four
   ``.gz`` files directly in the folder; ``cifar10/cifar10_*.npz`` (the offline CIFAR-10 subset)
   or torchvision's ``cifar-10-batches-py/``.
2. The writable cache, ``COURSE_CACHE_DIR`` or ``data/`` at the top of the course repository
   (``~/.cache/course_utils`` when the package is installed elsewhere). Downloads land here.
3. A download through torchvision, when the machine is online.

Every file is verified (md5) before use; a damaged copy is skipped or rebuilt, never served. The
file handling lives in ``datadirs`` (folders, messages), ``fashion_files`` and ``cifar_files``.
Plain torchvision code can use the same data offline through :func:`torchvision_root`.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from course_utils import cifar_files, fashion_files
from course_utils.datadirs import CACHE_ENV, DATA_ENV, DataError, cache_dir, source_dirs  # noqa: F401

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def torchvision_root(name: str, download: bool | None = None) -> Path:
    """A ``root`` that plain torchvision code can use offline, e.g. ``datasets.FashionMNIST(root=...)``.

    ``name`` is ``"FashionMNIST"`` or ``"CIFAR10"`` (torchvision's class names). The files under the
    root are verified; torchvision finds them and downloads nothing (``download=False`` works, and
    ``download=True`` finds nothing to do). Nothing is written into a read-only offline folder:
    extracted files go to the course's cache. For example::

        from torchvision import datasets
        root = torchvision_root("FashionMNIST")
        train_set = datasets.FashionMNIST(root=root, train=True, download=False)
    """
    key = name.replace("-", "").replace("_", "").lower()
    if key == "fashionmnist":
        return fashion_files.torchvision_root(download)
    if key == "cifar10":
        try:
            return cifar_files.batches_root(download)
        except DataError as err:
            if any(cifar_files.npz_copies(t) for t in (True, False)):
                raise DataError(f"{err} The offline copy here holds only a subset of CIFAR-10 as .npz files, "
                                f"which torchvision's CIFAR10 cannot read (it needs the original "
                                f"cifar-10-batches-py). Use course_utils.data.cifar10() or cifar10_tensors() "
                                f"for the subset.") from None
            raise
    raise ValueError(f"torchvision_root knows 'FashionMNIST' and 'CIFAR10', not {name!r}.")


# ---------------------------------------------------------------- Fashion-MNIST

def _read_idx(path) -> np.ndarray:
    """Decode a gzipped IDX file (images: N×28×28 uint8, labels: N uint8)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    try:
        magic = int.from_bytes(raw[0:4], "big")
        ndim = magic & 0xFF
        dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    except ValueError as err:  # only for a file that passed its md5 check yet is not IDX: not expected
        raise DataError(f"{path} does not hold a valid IDX array ({err}).") from None


def fashion_mnist_arrays(train: bool = True, download: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images N×28×28 uint8, labels N int64) of the official split, verified by md5."""
    prefix = "train" if train else "t10k"
    images = _read_idx(fashion_files.gz(f"{prefix}-images-idx3-ubyte.gz", download))
    labels = _read_idx(fashion_files.gz(f"{prefix}-labels-idx1-ubyte.gz", download))
    return images, labels.astype(np.int64)


def fashion_mnist(train: bool = True, transform=None, download: bool | None = None):
    """torchvision's ``FashionMNIST`` dataset, built from verified files (offline copies work)."""
    from torchvision.datasets import FashionMNIST

    return FashionMNIST(torchvision_root("FashionMNIST", download), train=train, transform=transform,
                        download=False)


# ---------------------------------------------------------------- CIFAR-10

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


def cifar10_arrays(train: bool = True, download: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images N×32×32×3 uint8 RGB, labels N int64): the offline subset if present, else torchvision's."""
    arrays = cifar_files.load_npz(train)
    if arrays is not None:
        return arrays
    ds = _torchvision_cifar10(train, None, download)
    return ds.data, np.asarray(ds.targets, dtype=np.int64)


def _torchvision_cifar10(train: bool, transform, download: bool | None):
    from torchvision.datasets import CIFAR10

    return CIFAR10(str(cifar_files.batches_root(download)), train=train, transform=transform, download=False)


def cifar10(train: bool = True, transform=None, download: bool | None = None):
    """CIFAR-10 as a torchvision-style dataset (the offline subset if present, else torchvision's full set)."""
    arrays = cifar_files.load_npz(train)
    if arrays is not None:
        return ArrayImageDataset(*arrays, CIFAR10_CLASSES, transform)
    return _torchvision_cifar10(train, transform, download)


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
    stats = (CIFAR10_MEAN, CIFAR10_STD) if normalize else (None, None)
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

"""course_utils.data: real files found and verified, and every failure explained."""
import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import data, datadirs
from course_utils.fashion_files import FASHION_FILES

SHARED = os.environ.get(data.DATA_ENV)
needs_data = pytest.mark.skipif(not SHARED, reason=f"set {data.DATA_ENV} to the offline data folder")


def copy_fashion(dst: Path, names=FASHION_FILES):
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(Path(SHARED) / "fashion-mnist" / name, dst / name)


# ---------------------------------------------------------------- real data

@needs_data
def test_fashion_arrays_are_the_official_split():
    X, y = data.fashion_mnist_arrays(train=True, download=False)
    assert X.shape == (60000, 28, 28) and X.dtype == np.uint8
    assert np.bincount(y).tolist() == [6000] * 10
    assert abs(X.mean() / 255 - 0.28604) < 1e-4
    Xt, yt = data.fashion_mnist_arrays(train=False, download=False)
    assert Xt.shape == (10000, 28, 28) and np.bincount(yt).tolist() == [1000] * 10


@needs_data
def test_fashion_dataset_matches_arrays(tmp_path, monkeypatch):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    ds = data.fashion_mnist(train=False, download=False)
    X, y = data.fashion_mnist_arrays(train=False, download=False)
    assert len(ds) == 10000 and ds.classes[9] == "Ankle boot"
    img, label = ds[123]
    assert label == y[123] and np.array_equal(np.array(img), X[123])


@needs_data
def test_fashion_from_plain_folder_and_readonly_source(tmp_path, monkeypatch):
    src = tmp_path / "plain"
    copy_fashion(src)
    src.chmod(0o555)
    monkeypatch.setenv(data.DATA_ENV, str(src))
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    ds = data.fashion_mnist(train=True, download=False)
    assert len(ds) == 60000
    assert (tmp_path / "cache" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()


@needs_data
def test_cifar10_offline_subset():
    ds = data.cifar10(train=False, download=False)
    assert len(ds) == 1000 and ds.classes[3] == "cat"
    assert ds.targets[:10] == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    img, _ = ds[0]
    assert img.size == (32, 32) and img.mode == "RGB"
    X, y = data.cifar10_tensors(train=True)
    assert X.shape == (9000, 3, 32, 32) and X.dtype == torch.float32
    assert np.bincount(y.numpy()).tolist()[:3] == [901, 867, 917]
    # first train image, top-left pixel, as widely printed: [59, 62, 63]
    assert torch.allclose(X[0, :, 0, 0] * 255, torch.tensor([59.0, 62.0, 63.0]))


@needs_data
def test_tensors_and_fast_batches():
    X, y = data.fashion_mnist_tensors(train=False, normalize=True)
    assert X.shape == (10000, 1, 28, 28)
    assert abs(X.mean().item()) < 0.02  # test split mean is close to the train mean
    batches = data.TensorBatches(X, y, batch_size=128, seed=0)
    assert len(batches) == 79
    seen = torch.cat([yb for _, yb in batches])
    assert len(seen) == 10000 and torch.equal(seen.sort().values, y.sort().values)
    first = next(iter(data.TensorBatches(X, y, batch_size=128, seed=0)))[1]
    again = next(iter(data.TensorBatches(X, y, batch_size=128, seed=0)))[1]
    assert torch.equal(first, again) and not torch.equal(first, y[:128])


def test_tensor_batches_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="must match"):
        data.TensorBatches(torch.zeros(5, 2), torch.zeros(4))


def test_to_tensors_layouts():
    X, y = data.to_tensors(np.full((2, 4, 4, 3), 255, np.uint8), np.array([1, 2]))
    assert X.shape == (2, 3, 4, 4) and X.max() == 1.0 and y.dtype == torch.int64


# ---------------------------------------------------------------- failures, each with a clear message

def test_missing_fashion_lists_the_folders_searched_and_how_to_set_the_data_dir(offline):
    src, cache = offline
    with pytest.raises(data.DataError) as err:
        data.fashion_mnist_arrays(train=True, download=False)
    msg = str(err.value)
    assert "train-images-idx3-ubyte.gz" in msg and f"was not found in {src}, {cache}" in msg
    assert 'from a notebook cell: import os; os.environ["COURSE_DATA_DIR"] = "/path/to/your/data"' in msg


def test_failed_download_says_what_to_do(offline, monkeypatch):
    def no_network(url, dest, md5):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(datadirs, "download", no_network)
    with pytest.raises(data.DataError) as err:
        data.fashion_mnist_arrays(train=False)
    msg = str(err.value)
    assert "Downloading Fashion-MNIST file t10k-images-idx3-ubyte.gz into" in msg
    assert "failed (OSError: Network is unreachable" in msg and "Connect to the internet" in msg


@needs_data
def test_truncated_gz_is_reported(offline):
    src, _ = offline
    copy_fashion(src / "fashion-mnist")
    path = src / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(data.DataError) as err:
        data.fashion_mnist_arrays(train=False, download=False)
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and "damaged" in msg and "offline data folder" in msg
    assert "replace it with a good copy" in msg and "delete it and run again while online" in msg


@needs_data
def test_corrupted_gz_same_size_is_reported(offline):
    src, _ = offline
    copy_fashion(src / "fashion-mnist")
    path = src / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte.gz is damaged"):
        data.fashion_mnist_arrays(train=False, download=False)


def test_corrupt_npz_is_reported(offline):
    src, _ = offline
    (src / "cifar10").mkdir()
    (src / "cifar10" / "cifar10_test_first1000.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(data.DataError, match="cifar10_test_first1000.npz cannot be read .*replace it with a good copy"):
        data.cifar10(train=False, download=False)


def test_npz_with_wrong_pixels_is_reported(offline):
    src, _ = offline
    (src / "cifar10").mkdir()
    np.savez(src / "cifar10" / "cifar10_test_first1000.npz",
             images=np.zeros((2, 32, 32, 3), np.uint8), labels=np.zeros(2, np.int64))
    with pytest.raises(data.DataError, match="checksum mismatch"):
        data.cifar10_arrays(train=False)


def test_missing_cifar_offline(offline):
    with pytest.raises(data.DataError) as err:
        data.cifar10(train=True, download=False)
    assert "cifar10_train_first9000.npz" in str(err.value) and data.DATA_ENV in str(err.value)


def test_unwritable_cache_names_the_fix(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(data.CACHE_ENV, str(blocker / "cache"))
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    with pytest.raises(data.DataError) as err:
        data.fashion_mnist(train=False)
    assert "Cannot write to the data cache" in str(err.value) and data.CACHE_ENV in str(err.value)


def test_data_dir_that_is_not_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "nope"))
    with pytest.raises(data.DataError, match="not a folder"):
        data.fashion_mnist_arrays(download=False)


def test_importing_has_no_side_effects():
    import subprocess
    import sys

    code = ("import importlib, pkgutil, matplotlib, torch, course_utils; "
            "before = dict(matplotlib.rcParams); state = torch.random.get_rng_state(); "
            "[importlib.import_module('course_utils.' + m.name) for m in pkgutil.iter_modules(course_utils.__path__)]; "
            "assert dict(matplotlib.rcParams) == before, 'rcParams changed'; "
            "assert torch.equal(torch.random.get_rng_state(), state), 'torch seeded on import'; "
            "print('quiet')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "quiet\n" and out.stderr == ""

"""The data cache heals itself: interrupted or damaged files are skipped or rebuilt, never served,
and each problem it cannot fix comes with advice that is right for the folder it lies in."""
import hashlib
import os
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from course_utils import cifar_files, data, datadirs, files
from course_utils.fashion_files import FASHION_FILES, RAW

SHARED = os.environ.get(data.DATA_ENV)
needs_data = pytest.mark.skipif(not SHARED, reason=f"set {data.DATA_ENV} to the offline data folder")


@pytest.fixture
def shared_data(tmp_path, monkeypatch):
    """The shared offline copies as the data folder, and an empty cache (returned)."""
    monkeypatch.setenv(data.DATA_ENV, SHARED)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def copy_fashion(dst: Path):
    dst.mkdir(parents=True, exist_ok=True)
    for name in FASHION_FILES:
        shutil.copy(Path(SHARED) / "fashion-mnist" / name, dst / name)


def tree(folder: Path) -> list:
    """Every path under ``folder`` with its size and change time: a fingerprint of the folder."""
    return sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in folder.rglob("*"))


def read_only(folder: Path, monkeypatch):
    """Make ``folder`` read-only; as root (who writes anyway) also make the course see it as read-only."""
    for p in [folder, *folder.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    if os.geteuid() == 0:
        real = datadirs.is_writable
        monkeypatch.setattr(datadirs, "is_writable",
                            lambda f: real(f) and not Path(f).resolve().is_relative_to(folder.resolve()))


def no_network(monkeypatch):
    calls = []

    def refuse(url, dest, md5):
        calls.append(url)
        raise OSError("Network is unreachable")

    monkeypatch.setattr(datadirs, "download", refuse)
    return calls


# ---------------------------------------------------------------- Fashion-MNIST: extracted files

@needs_data
@pytest.mark.parametrize("damage", ["half-written", "one wrong label"])
def test_a_wrong_extracted_file_is_rebuilt_from_the_verified_archive(shared_data, damage):
    cache = shared_data
    data.fashion_mnist(train=False, download=False)  # extracts the four files into the cache
    labels = cache / RAW / "t10k-labels-idx1-ubyte"
    images = cache / RAW / "t10k-images-idx3-ubyte"
    if damage == "half-written":  # as an interrupted extraction leaves it, and newer than the .gz
        images.write_bytes(images.read_bytes()[: images.stat().st_size // 2])
    else:  # full length, every byte a valid label, one of them wrong
        raw = bytearray(labels.read_bytes())
        raw[8 + 123] = (raw[8 + 123] + 1) % 10
        labels.write_bytes(bytes(raw))
    ds = data.fashion_mnist(train=False, download=False)
    X, y = data.fashion_mnist_arrays(train=False, download=False)
    assert len(ds) == 10000 and np.array_equal(ds.targets.numpy(), y)
    assert np.array_equal(ds.data.numpy(), X)
    assert files.md5(images) == "8181f5470baa50b63fa0f6fddb340f0a"


@needs_data
def test_an_interrupted_extraction_leaves_nothing_half_written(shared_data, monkeypatch):
    cache = shared_data

    def disk_full(src, dst, length=0):
        dst.write(src.read(1000))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", disk_full)
    with pytest.raises(OSError, match="No space left"):
        data.fashion_mnist(train=False, download=False)
    assert list((cache / RAW).iterdir()) == []  # no partial file, under its name or another


# ---------------------------------------------------------------- Fashion-MNIST: damaged archives

@needs_data
def test_a_damaged_offline_copy_does_not_hide_a_good_one_in_the_cache(offline):
    src, cache = offline
    copy_fashion(src / "fashion-mnist")
    copy_fashion(cache / "fashion-mnist")
    bad = src / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-10])
    _, y = data.fashion_mnist_arrays(train=False, download=False)
    assert np.bincount(y).tolist() == [1000] * 10


@needs_data
def test_a_damaged_file_in_a_read_only_folder_gets_advice_that_works_there(offline, monkeypatch):
    src, _ = offline
    copy_fashion(src / "fashion-mnist")
    bad = src / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-10])
    read_only(src, monkeypatch)
    tried = no_network(monkeypatch)
    with pytest.raises(data.DataError) as err:
        data.fashion_mnist_arrays(train=False)
    msg = str(err.value)
    assert f"{bad} is damaged" in msg and "folder is read-only, so it cannot be deleted" in msg
    assert 'os.environ["COURSE_DATA_DIR"]' in msg and "Delete it" not in msg
    assert "Network is unreachable" in msg and tried  # a fresh copy was tried first


@needs_data
def test_a_damaged_file_in_the_cache_offline_says_delete_it_while_online(offline, monkeypatch):
    _, cache = offline
    copy_fashion(cache / "fashion-mnist")
    bad = cache / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:5000])
    no_network(monkeypatch)
    with pytest.raises(data.DataError, match="is damaged.*Delete it and run again while online"):
        data.fashion_mnist_arrays(train=False)


@needs_data
def test_a_download_replaces_a_damaged_copy_in_the_cache(offline, monkeypatch):
    _, cache = offline
    copy_fashion(cache / RAW)
    bad = cache / RAW / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(b"")
    fetched = []

    def from_the_mirror(url, dest, md5):  # stands in for the network: serves the official file
        fetched.append(url.rsplit("/", 1)[1])
        shutil.copy(Path(SHARED) / "fashion-mnist" / dest.name, dest)

    monkeypatch.setattr(datadirs, "download", from_the_mirror)
    _, y = data.fashion_mnist_arrays(train=False)
    assert len(y) == 10000 and files.md5(bad) == FASHION_FILES[bad.name]
    assert fetched == ["t10k-labels-idx1-ubyte.gz"]


def test_a_failed_download_leaves_nothing_behind(tmp_path, monkeypatch):
    import torchvision.datasets.utils

    def corrupted(url, root, filename, md5):
        (Path(root) / filename).write_bytes(b"<html>captive portal</html>")
        raise RuntimeError("File not found or corrupted.")

    monkeypatch.setattr(torchvision.datasets.utils, "download_url", corrupted)
    with pytest.raises(RuntimeError, match="corrupted"):
        datadirs.download("https://example.org/x.gz", tmp_path / "x.gz", "0" * 32)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- torchvision_root: plain tutorial code, offline

@needs_data
@pytest.mark.parametrize("download", [False, True])
def test_plain_torchvision_reads_a_read_only_offline_copy(offline, monkeypatch, download):
    from torchvision import datasets

    src, cache = offline
    copy_fashion(src / "fashion-mnist")
    read_only(src, monkeypatch)
    before = tree(src)
    tried = no_network(monkeypatch)
    monkeypatch.setattr(datasets.mnist, "download_and_extract_archive",
                        lambda *a, **k: tried.append(a))  # torchvision must find nothing to download

    root = data.torchvision_root("FashionMNIST")
    ds = datasets.FashionMNIST(root=root, train=False, download=download)  # what tutorials write
    X, y = data.fashion_mnist_arrays(train=False, download=False)
    assert len(ds) == 10000 and np.array_equal(ds.targets.numpy(), y) and np.array_equal(ds.data.numpy(), X)
    assert tree(src) == before, "something was written into the read-only offline copy"
    assert Path(root) == cache and not tried


@needs_data
def test_an_offline_copy_in_torchvisions_layout_is_used_as_it_is(offline, monkeypatch):
    import gzip

    from torchvision import datasets

    src, cache = offline
    (src / RAW).mkdir(parents=True)
    for name in FASHION_FILES:
        with gzip.open(Path(SHARED) / "fashion-mnist" / name) as f:
            (src / RAW / name[:-3]).write_bytes(f.read())
    read_only(src, monkeypatch)
    assert data.torchvision_root("fashion-mnist") == src
    assert len(datasets.FashionMNIST(root=src, train=False)) == 10000
    assert not cache.exists()


def test_torchvision_root_names_what_it_knows():
    with pytest.raises(ValueError, match="'FashionMNIST' and 'CIFAR10', not 'MNIST'"):
        data.torchvision_root("MNIST")


def test_cifar_torchvision_root_explains_that_the_subset_is_not_torchvisions(offline, monkeypatch):
    src, _ = offline
    (src / "cifar10").mkdir()
    (src / "cifar10" / "cifar10_test_first1000.npz").write_bytes(b"x")
    no_network(monkeypatch)
    with pytest.raises(data.DataError, match="only a subset of CIFAR-10 as .npz.*cifar10_tensors"):
        data.torchvision_root("CIFAR10")


# ---------------------------------------------------------------- CIFAR-10: torchvision's batches folder

@pytest.fixture
def cifar_archive(tmp_path, monkeypatch):
    """A cifar-10-python.tar.gz in torchvision's format, built from real CIFAR-10 images (the offline
    subset's first ones); torchvision's expected md5 values are set to this archive's, since the
    official one cannot be downloaded here."""
    if not SHARED:
        pytest.skip(f"set {data.DATA_ENV} to the offline data folder")
    from torchvision.datasets import CIFAR10

    X, y = cifar_files.read_npz(Path(SHARED) / "cifar10" / "cifar10_train_first9000.npz", True)
    folder = tmp_path / "build" / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def dump(name, obj):
        with open(folder / name, "wb") as f:
            pickle.dump(obj, f)
        return [name, hashlib.md5((folder / name).read_bytes()).hexdigest()]

    def batch(start):  # 100 images, stored as torchvision reads them: rows of 3×32×32 (CHW) bytes
        images = X[start:start + 100].transpose(0, 3, 1, 2).reshape(100, -1)
        return {"data": images, "labels": y[start:start + 100].tolist()}

    train = [dump(f"data_batch_{i}", batch(100 * i)) for i in range(1, 6)]
    test = [dump("test_batch", batch(0))]
    meta = dump("batches.meta", {"label_names": list(data.CIFAR10_CLASSES)})
    archive = tmp_path / "build" / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    monkeypatch.setattr(CIFAR10, "train_list", train)
    monkeypatch.setattr(CIFAR10, "test_list", test)
    monkeypatch.setattr(CIFAR10, "meta", {"filename": meta[0], "key": "label_names", "md5": meta[1]})
    monkeypatch.setattr(CIFAR10, "tgz_md5", hashlib.md5(archive.read_bytes()).hexdigest())
    return archive


def serve(archive, monkeypatch):
    """Let 'downloads' of the CIFAR-10 archive copy ``archive``; returns the list of URLs fetched."""
    fetched = []

    def fake(url, dest, md5):
        fetched.append(url)
        shutil.copy(archive, dest)

    monkeypatch.setattr(datadirs, "download", fake)
    return fetched


def test_a_partial_batches_folder_does_not_block_a_fresh_download(offline, cifar_archive, monkeypatch):
    _, cache = offline
    partial = cache / "cifar-10-batches-py"
    partial.mkdir(parents=True)
    shutil.copy(cifar_archive.parent / "cifar-10-batches-py" / "data_batch_1", partial)
    fetched = serve(cifar_archive, monkeypatch)
    ds = data.cifar10(train=True, download=True)
    assert len(ds) == 500 and ds.classes[3] == "cat" and fetched
    assert cifar_files.bad_batches(partial) == []
    assert sorted(p.name for p in cache.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]


def test_a_damaged_batch_is_rebuilt_from_the_archive_offline(offline, cifar_archive, monkeypatch):
    _, cache = offline
    cache.mkdir()
    shutil.copy(cifar_archive, cache)
    shutil.copytree(cifar_archive.parent / "cifar-10-batches-py", cache / "cifar-10-batches-py")
    victim = cache / "cifar-10-batches-py" / "test_batch"
    victim.write_bytes(victim.read_bytes()[:-100])
    tried = no_network(monkeypatch)
    X, y = data.cifar10_arrays(train=False, download=True)
    assert X.shape == (100, 32, 32, 3) and len(y) == 100 and not tried
    assert cifar_files.bad_batches(cache / "cifar-10-batches-py") == []


def test_a_partial_batches_folder_offline_says_what_to_do(offline, cifar_archive, monkeypatch):
    src, cache = offline
    (src / "cifar-10-batches-py").mkdir()
    read_only(src, monkeypatch)
    no_network(monkeypatch)
    with pytest.raises(data.DataError) as err:
        data.cifar10(train=False)
    msg = str(err.value)
    assert "Downloading CIFAR-10" in msg and "Network is unreachable" in msg
    assert "cifar-10-batches-py is incomplete or damaged (data_batch_1" in msg
    assert "read-only" in msg and 'os.environ["COURSE_DATA_DIR"]' in msg

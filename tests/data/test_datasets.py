"""The embedded digits and the IDX reader (MNIST / Fashion-MNIST), on small fake IDX files made here."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from tapegrad.data.datasets import IDXError, load_digits, load_mnist, read_idx


def test_embedded_digits():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.max() == 16 and images.min() == 0
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def _idx(arr: np.ndarray, code: int = 0x08) -> bytes:
    big = arr.astype(arr.dtype.newbyteorder(">"))
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + big.tobytes()


def _write(path, data: bytes, gz: bool = False):
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def _fake_mnist(root, n=5, gz=False, split="train", labels_n=None):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 4, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, labels_n or n).astype(np.uint8)
    prefix = "train" if split == "train" else "t10k"
    _write(root / f"{prefix}-images-idx3-ubyte", _idx(images), gz)
    _write(root / f"{prefix}-labels-idx1-ubyte", _idx(labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_raw_and_gzip(tmp_path, gz):
    images, labels = _fake_mnist(tmp_path, gz=gz)
    _fake_mnist(tmp_path, n=3, gz=gz, split="test")
    x, y = load_mnist(tmp_path)
    assert x.dtype == np.uint8 and np.array_equal(x, images)
    assert y.dtype == np.int64 and np.array_equal(y, labels)
    assert load_mnist(tmp_path, split="test")[0].shape == (3, 4, 3)


def test_read_idx_other_types_and_raw_folder(tmp_path):
    arr = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    p = _write(tmp_path / "f.idx", _idx(arr, 0x0D))
    out = read_idx(p)
    assert out.dtype == np.float32 and np.array_equal(out, arr)
    (tmp_path / "raw").mkdir()
    _fake_mnist(tmp_path / "raw")
    assert load_mnist(tmp_path)[0].shape == (5, 4, 3)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.*downloads nothing"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_mnist(tmp_path / "nope")
    _fake_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        load_mnist(tmp_path, split="test")


def test_truncated_file(tmp_path):
    _fake_mnist(tmp_path)
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-7])
    with pytest.raises(IDXError, match="truncated.*needs 76 bytes, the file has 69"):
        load_mnist(tmp_path)


def test_truncated_gzip(tmp_path):
    _fake_mnist(tmp_path, gz=True)
    p = tmp_path / "train-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(IDXError, match="gzip stream is damaged or cut short"):
        load_mnist(tmp_path)


def test_not_an_idx_file(tmp_path):
    _fake_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"<html>not found</html>")
    with pytest.raises(IDXError, match="not an IDX file"):
        load_mnist(tmp_path)


def test_mismatched_images_and_labels(tmp_path):
    _fake_mnist(tmp_path, n=5, labels_n=4)
    with pytest.raises(IDXError, match="5 images but .* 4 labels"):
        load_mnist(tmp_path)


def test_labels_file_in_place_of_images(tmp_path):
    _fake_mnist(tmp_path)
    labels = (tmp_path / "train-labels-idx1-ubyte").read_bytes()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(labels)
    with pytest.raises(IDXError, match=r"expected uint8 images of shape \(N, H, W\)"):
        load_mnist(tmp_path)

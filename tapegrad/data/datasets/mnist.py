"""Readers for IDX files (MNIST, Fashion-MNIST, raw or gzip) from a directory the user names.

Depends on numpy only; used by `tapegrad train --data DIR`. Nothing is downloaded: tapegrad never reaches
the network.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

# IDX type codes -> big-endian numpy dtypes (the format stores every number most significant byte first)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

_SPLITS = {"train": "train", "test": "t10k"}


class IDXError(ValueError):
    """An IDX file that cannot be read: not IDX, truncated, or not matching its partner file."""


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError; a cut stream is an EOFError
            raise IDXError(
                f"{path}: the gzip stream is damaged or cut short ({e}); download or copy the file again, "
                "or unpack it and pass the raw IDX file"
            ) from None
    return path.read_bytes()


def read_idx(path) -> np.ndarray:
    """Reads one IDX file (raw, or gzip when the name ends in .gz) into a numpy array in native byte order.

    IDX: two zero bytes, a type code (0x08 uint8 ... 0x0E float64), the number of dimensions, each
    dimension as a big-endian uint32, then the values, big-endian, in C order.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_idx: {path} does not exist or is not a file")
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        head = raw[:4].hex(" ") if raw else "nothing"
        raise IDXError(
            f"{path}: not an IDX file (it starts with {head}; IDX files start with 00 00, a type code 08..0e "
            "and the number of dimensions); check that this is an MNIST-style images or labels file"
        )
    ndim, header = raw[3], 4 + 4 * raw[3]
    if len(raw) < header:
        raise IDXError(f"{path}: truncated: the header declares {ndim} dimensions but the file is {len(raw)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise IDXError(
            f"{path}: {what}: shape {shape} of {dtype.name} needs {expected} bytes, the file has {len(raw)}; "
            "the download or copy was probably interrupted; fetch the file again"
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find(root: Path, stem: str) -> Path:
    """root/stem or root/stem.gz (also with MNIST's other spelling, e.g. train-images.idx3-ubyte, and in raw/)."""
    alt = stem.replace("-idx", ".idx")
    for folder in (root, root / "raw"):
        for name in (stem, stem + ".gz", alt, alt + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise FileNotFoundError(
        f"load_mnist: no {stem} (or {stem}.gz) in {root}; the directory must hold MNIST's or Fashion-MNIST's "
        "four IDX files: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
        "t10k-labels-idx1-ubyte (raw, or gzip-compressed with .gz). tapegrad downloads nothing; get them from the "
        "data set's publisher, or train on the embedded digits by leaving out --data"
    )


def load_mnist(root, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST-format images and labels from directory `root`: (uint8 (N, H, W), int64 (N,)).

    Args:
        root: a directory holding the IDX files (or a raw/ folder with them), raw or .gz.
        split: "train" (train-*) or "test" (t10k-*).

    Works for MNIST, Fashion-MNIST and any data set stored the same way. Raises FileNotFoundError naming
    the missing file, and IDXError for a truncated, non-IDX or mismatched pair of files.
    """
    if split not in _SPLITS:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"load_mnist: {root} is not a directory; pass the folder that holds the IDX files")
    prefix = _SPLITS[split]
    images_path, labels_path = _find(root, f"{prefix}-images-idx3-ubyte"), _find(root, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise IDXError(f"{images_path}: expected uint8 images of shape (N, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1:
        raise IDXError(f"{labels_path}: expected labels of shape (N,), got shape {labels.shape}")
    if len(images) != len(labels):
        raise IDXError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; the two files "
            "belong to different data sets or splits; put the matching pair in the directory"
        )
    return images, labels.astype(np.int64)

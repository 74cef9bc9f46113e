"""The 8x8 handwritten digits shipped inside tapegrad (1,797 images, 10 classes; see README.md here).

Depends on numpy only; used by `tapegrad train` and the examples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DIGITS_FILE = Path(__file__).with_name("digits.npz")


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The embedded digits as numpy arrays: images uint8 (1797, 8, 8) with values 0..16, labels int64 (1797,).

    No network and no other package is needed: the arrays ship inside tapegrad (45 KB, CC BY 4.0, from
    the UCI "Optical Recognition of Handwritten Digits" data set; see README.md beside this file).

    >>> import tapegrad as tg
    >>> images, labels = tg.data.datasets.load_digits()
    >>> images.shape, labels.shape, int(images.max())
    ((1797, 8, 8), (1797,), 16)
    """
    if not DIGITS_FILE.is_file():
        raise FileNotFoundError(
            f"load_digits: the embedded data file {DIGITS_FILE} is missing; tapegrad was installed without its "
            "package data. Reinstall it with `pip install --force-reinstall .` from a full checkout"
        )
    with np.load(DIGITS_FILE, allow_pickle=False) as f:
        return f["images"].copy(), f["labels"].astype(np.int64)

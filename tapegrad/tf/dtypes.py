"""tf.dtypes: the dtype objects and conversions (tapegrad's DType; TF's names)."""

from __future__ import annotations

from ..dtype import (  # noqa: F401
    DType,
    as_dtype,
    bfloat16,
    bool_,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from .names import cast  # noqa: F401

bool = bool_  # noqa: A001
half, double = float16, float64


def complex64(*_a, **_k):  # noqa: D401
    raise TypeError("tapegrad has no complex dtypes (complex64 / complex128 are out of scope)")


complex128 = complex64

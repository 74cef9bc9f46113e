"""tf.linalg: matrix functions with TensorFlow's names over tapegrad's ops (batched over leading axes)."""

from __future__ import annotations

from .. import ops as _ops
from .names import convert_to_tensor as _t
from .names import matmul, norm  # noqa: F401
from .names import transpose as _transpose


def matvec(a, b, transpose_a=False, adjoint_a=False, name=None):
    a = _t(a)
    if transpose_a or adjoint_a:
        a = _ops.swapaxes(a, -1, -2)
    return (a @ _t(b).unsqueeze(-1)).squeeze(-1)


def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    return _ops.swapaxes(_t(a), -1, -2)


adjoint = matrix_transpose


def einsum(equation, *inputs, **kwargs):
    return _ops.einsum(equation, *[_t(x) for x in inputs])


def eye(num_rows, num_columns=None, batch_shape=None, dtype=None, name=None):
    from ..dtype import as_dtype

    cols = num_columns if num_columns is not None else num_rows
    m = _ops.eye(num_rows, cols, dtype=as_dtype(dtype) if dtype is not None else None)
    if batch_shape:
        m = m.expand(tuple(batch_shape) + tuple(m.shape))
    return m


def diag(diagonal, name="diag", **kwargs):
    """A (batch of) square matrix with `diagonal` on its main diagonal."""
    d = _t(diagonal)
    n = d.shape[-1]
    return d.unsqueeze(-1) * _ops.eye(n, dtype=d.dtype)


def diag_part(input, name="diag_part", **kwargs):
    return _ops.diagonal(_t(input), 0, -2, -1)


def trace(x, name=None):
    return _ops.sum(diag_part(x), dim=-1)


def tensor_diag(diagonal, name=None):
    return diag(diagonal)


def band_part(input, num_lower, num_upper, name=None):
    x = _t(input)
    if num_lower >= 0:
        x = _ops.triu(x, -num_lower)
    if num_upper >= 0:
        x = _ops.tril(x, num_upper)
    return x


def l2_normalize(x, axis=None, epsilon=1e-12, name=None):
    from .math import l2_normalize as f

    return f(x, axis, epsilon)


def cross(a, b, name=None):
    a, b = _t(a), _t(b)
    (a0, a1, a2), (b0, b1, b2) = [a[..., n] for n in range(3)], [b[..., n] for n in range(3)]
    return _ops.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)


transpose = _transpose

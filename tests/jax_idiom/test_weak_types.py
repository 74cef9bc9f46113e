"""Python numbers and nested lists as operands: weak types, JAX's promotion where a Python value meets a
tensor (PyTorch agrees for scalars), conversion errors, and transforms taking Python numbers."""

import numpy as np
import pytest

import tapegrad as tg

# (tensor dtype, Python value, result dtype): JAX's table for weakly typed Python scalars
TABLE = [
    (tg.int32, 2.0, tg.float32), (tg.int8, 2, tg.int8), (tg.float16, 2, tg.float16), (tg.float16, 2.0, tg.float16),
    (tg.bfloat16, 2.0, tg.bfloat16), (tg.float64, 2.0, tg.float64), (tg.bool, 2, tg.int64), (tg.bool, 2.0, tg.float32),
    (tg.uint8, 3, tg.uint8), (tg.int64, True, tg.int64), (tg.float32, [1.0, 2.0], tg.float32),
    (tg.float16, [1, 2], tg.float16), (tg.int32, [1.5, 2.5], tg.float32),
]


@pytest.mark.parametrize("dtype,value,expected", TABLE)
def test_promotion_table(dtype, value, expected):
    x = tg.ones(2, dtype=dtype)
    assert (x * value).dtype is expected
    assert (value * x).dtype is expected
    assert tg.add(value, x).dtype is expected


def test_issue_examples():
    assert tg.tanh(2.0).dtype is tg.float32 and abs(tg.tanh(2.0).item() - np.tanh(2.0)) < 1e-6
    assert tg.maximum(0.0, [1, -1]).tolist() == [1.0, 0.0]
    w = tg.tensor([[1.0], [2.0]])
    assert ([[1.0, 2.0]] @ w).tolist() == [[5.0]]
    assert tg.sum([1, 2, 3]).item() == 6
    assert tg.stack([1.0, tg.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_lists_holding_tensors_keep_gradients():
    x = tg.tensor(2.0, requires_grad=True)
    tg.sum(tg.exp([x, 1.0])).backward()
    assert abs(x.grad.item() - np.exp(2.0)) < 1e-5


def test_errors_name_the_argument():
    with pytest.raises(TypeError, match="tanh: argument 'x'.*str"):
        tg.tanh("a")
    with pytest.raises(TypeError, match="add: argument 'y'.*dict"):
        tg.add(tg.ones(2), {1: 2})


def test_transforms_take_python_numbers():
    g = tg.grad(tg.tanh)(2.0)
    assert g.dtype is tg.float32 and g.ndim == 0
    assert abs(g.item() - (1 - np.tanh(2.0) ** 2)) < 1e-6
    out, t = tg.jvp(lambda x: x**3, (2.0,), (1.0,))
    assert (out.item(), t.item()) == (8.0, 12.0)
    assert tg.vmap(lambda x: x * 2)(np.arange(3.0)).tolist() == [0.0, 2.0, 4.0]

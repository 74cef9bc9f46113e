"""tg.Variable: TF's constructor and assign family, the same kind of object as tg.nn.Parameter."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


def test_is_a_parameter_and_a_trainable_leaf():
    v = tg.Variable([1.0, 2.0], name="v")
    assert isinstance(v, tg.nn.Parameter) and isinstance(v, tg.Tensor)
    assert v.requires_grad and v.is_leaf and v.trainable and v.name == "v:0"
    assert v.dtype is tg.float32


def test_tf_dtype_inference_and_dtype_argument():
    assert tg.Variable(1).dtype is tg.int32 and not tg.Variable(1).requires_grad
    assert tg.Variable(1, dtype=tg.float64).dtype is tg.float64
    assert tg.Variable(np.zeros(2)).dtype is tg.float64
    assert tg.Variable(lambda: tg.ones([2])).tolist() == [1.0, 1.0]


def test_copies_its_initial_value():
    t = tg.constant([1.0, 2.0])
    v = tg.Variable(t)
    v.assign_add([1.0, 1.0])
    assert t.tolist() == [1.0, 2.0] and v.tolist() == [2.0, 3.0]


def test_assign_family_in_place_no_grad():
    v = tg.Variable([1.0, 2.0])
    data = v._data
    assert v.assign([5.0, 6.0]) is v
    v.assign_sub(tg.constant([1.0, 1.0]))
    v.assign_add(0.5 * tg.ones([2]))
    assert v.tolist() == [4.5, 5.5] and v._data is data
    assert v.is_leaf and v.grad_fn is None and v.assign([0.0, 0.0], read_value=False) is None


def test_assign_errors():
    v = tg.Variable([1.0, 2.0], name="w")
    with pytest.raises(ValueError, match=r"shape \(3,\).*'w'"):
        v.assign([1.0, 2.0, 3.0])
    n = tg.Variable([1, 2])
    with pytest.raises(TypeError, match="cast"):
        n.assign(tg.constant([1.5, 2.5]))
    assert v.tolist() == [1.0, 2.0] and n.tolist() == [1, 2]


def test_assign_after_forward_is_caught_by_backward():
    v = tg.Variable([1.0, 2.0])
    y = (v * v).sum()
    v.assign([3.0, 3.0])
    with pytest.raises(tg.GradError, match="modified by an in-place"):
        y.backward()


def test_numpy_is_a_copy():
    v = tg.Variable([1.0])
    a = v.numpy()
    v.assign([2.0])
    assert a.tolist() == [1.0]


def test_backward_fills_grad_and_optimizer_style_update():
    v = tg.Variable([1.0, 2.0])
    (v * v).sum().backward()
    assert v.grad.tolist() == [2.0, 4.0]
    v.assign_sub(0.5 * v.grad)
    assert v.tolist() == [0.0, 0.0]


def test_elementwise_fast_path_and_repr():
    v = tg.Variable([1.0, 2.0], name="w")
    assert (v + v).tolist() == [2.0, 4.0]
    assert repr(v).startswith("<tg.Variable 'w:0' shape=(2,) dtype=float32, numpy=array([1., 2.]")


def test_value_is_differentiable():
    v = tg.Variable(3.0)
    with tg.GradientTape() as tape:
        y = v.value() * 2
    assert tape.gradient(y, v).item() == 2.0


def test_shape_check_and_missing_value():
    with pytest.raises(ValueError, match="shape"):
        tg.Variable([1.0, 2.0], shape=(3,))
    with pytest.raises(ValueError, match="initial_value"):
        tg.Variable()

"""TensorFlow's names and signatures; PyTorch's meanings kept at the top level where they collide."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


def test_constant_dtype_inference_and_shape():
    assert tg.constant(1.0).dtype is tg.float32 and tg.constant(1).dtype is tg.int32
    assert tg.constant(True).dtype is tg.bool and tg.constant(2**40).dtype is tg.int64
    assert tg.constant(np.float64(1.0)).dtype is tg.float64
    assert tg.constant(0.5, shape=[2, 2]).tolist() == [[0.5, 0.5], [0.5, 0.5]]
    assert tg.constant([1, 2, 3, 4], shape=[2, 2]).shape == (2, 2)
    with pytest.raises(ValueError, match="cannot fill"):
        tg.constant([1, 2, 3], shape=[2, 2])


def test_convert_to_tensor():
    t = tg.constant([1.0])
    assert tg.convert_to_tensor(t) is t
    assert tg.convert_to_tensor([1, 2], dtype=tg.float64).dtype is tg.float64
    with pytest.raises(TypeError, match="tg.cast"):
        tg.convert_to_tensor(t, dtype=tg.int32)


def test_reductions_with_axis_and_keepdims():
    x = tg.constant([[1.0, 2.0], [3.0, 4.0]])
    assert tg.reduce_sum(x).item() == 10.0
    assert tg.reduce_sum(x, axis=0).tolist() == [4.0, 6.0]
    assert tg.reduce_mean(x, axis=[0, 1], keepdims=True).shape == (1, 1)
    assert tg.reduce_max(x, 1).tolist() == [2.0, 4.0] and tg.reduce_min(x).item() == 1.0
    assert tg.reduce_prod(x, axis=-1).tolist() == [2.0, 12.0] and tg.reduce_prod(x).item() == 24.0
    n = tg.constant([1, 2])
    assert tg.reduce_sum(n).dtype is tg.int32 and tg.reduce_mean(n).item() == 1  # TF: integer mean
    assert tg.reduce_any(tg.constant([False, True])).item() is True


def test_reduce_max_ties_share_the_gradient():
    x = tg.constant([2.0, 2.0, 1.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.reduce_max(x)
    assert tape.gradient(y, x).tolist() == [0.5, 0.5, 0.0]


def test_shape_helpers():
    x = tg.zeros([2, 3])
    assert tg.expand_dims(x, 0).shape == (1, 2, 3) and tg.expand_dims(x, -1).shape == (2, 3, 1)
    assert tg.concat([x, x], axis=1).shape == (2, 6) and tg.concat([x, x], 0).shape == (4, 3)
    assert tg.concat([x, x], dim=1).shape == (2, 6)  # PyTorch's keyword still works
    assert tg.cast(tg.constant([1.7]), tg.int32).tolist() == [1]


def test_random():
    tg.random.set_seed(3)
    a = tg.random.normal([2, 2])
    tg.manual_seed(3)
    assert tg.random.normal([2, 2]).tolist() == a.tolist()  # one generator behind both
    assert a.dtype is tg.float32 and a.shape == (2, 2)
    u = tg.random.uniform([1000], minval=2.0, maxval=3.0, seed=1)
    assert 2.0 <= u.numpy().min() and u.numpy().max() < 3.0
    assert tg.random.uniform([3], seed=1).tolist() == tg.random.uniform([3], seed=1).tolist()
    assert tg.random.uniform([5], maxval=4, dtype=tg.int32).dtype is tg.int32
    with pytest.raises(ValueError, match="maxval"):
        tg.random.uniform([2], dtype=tg.int64)
    assert abs(float(tg.random.normal([4000], mean=5.0, stddev=0.1, seed=0).numpy().mean()) - 5.0) < 0.01
    assert np.abs(tg.random.truncated_normal([1000], seed=0).numpy()).max() <= 2.0


def test_math_namespace():
    x = tg.constant([1.0, 4.0])
    assert tg.math.sqrt(x).tolist() == [1.0, 2.0]
    assert tg.math.divide_no_nan(x, tg.constant([0.0, 2.0])).tolist() == [0.0, 2.0]
    assert tg.math.cumsum(x, exclusive=True).tolist() == [0.0, 1.0]
    assert tg.math.cumsum(x, reverse=True).tolist() == [5.0, 4.0]
    assert tg.math.squared_difference(x, 1.0).tolist() == [0.0, 9.0]
    assert tg.math.reduce_sum is tg.reduce_sum and tg.math.argmax(tg.constant([[1, 5], [7, 2]])).tolist() == [1, 0]


def test_collisions_keep_pytorch_meaning_at_top_level():
    x = tg.constant(np.arange(6).reshape(2, 3))
    assert tg.transpose(x, 0, 1).shape == (3, 2)  # PyTorch: swap two dims
    assert tg.tf.transpose(x).shape == (3, 2)  # TF: a permutation (reversed by default)
    assert tg.tf.transpose(tg.zeros([1, 2, 3]), perm=[1, 0, 2]).shape == (2, 1, 3)
    assert tg.tf.gather(x, [1, 0]).tolist() == [[3, 4, 5], [0, 1, 2]]
    assert tg.tf.gather(x, [[2]], axis=1).shape == (2, 1, 1)
    values, _ = tg.sort(tg.constant([3, 1, 2]))  # PyTorch: (values, indices)
    assert tg.tf.sort(tg.constant([3, 1, 2]), direction="DESCENDING").tolist() == [3, 2, 1] and values.tolist() == [
        1,
        2,
        3,
    ]
    assert tg.tf.norm(tg.constant([3.0, 4.0])).item() == 5.0
    assert tg.tf.pad(tg.ones([1, 2]), [[1, 0], [0, 2]]).shape == (2, 4)
    np.testing.assert_allclose(tg.tf.softmax(tg.constant([0.0, 0.0])).numpy(), [0.5, 0.5])
    assert [t.shape for t in tg.tf.split(tg.zeros([6]), 3)] == [(2,)] * 3  # TF: 3 pieces
    assert [t.shape for t in tg.split(tg.zeros([6]), 3)] == [(3,)] * 2  # PyTorch: pieces of 3
    assert tg.tf.range(3).tolist() == [0, 1, 2] and tg.tf.range(3).dtype is tg.int32
    assert tg.tf.argmax(tg.constant([[1, 5], [7, 2]])).tolist() == [1, 0]
    assert tg.tf.matmul(tg.ones([2, 3]), tg.ones([2, 3]), transpose_b=True).shape == (2, 2)


def test_stop_gradient():
    x = tg.Variable(2.0)
    with tg.GradientTape() as tape:
        y = x * tg.stop_gradient(x)
    assert tape.gradient(y, x).item() == 2.0
    nested = tg.stop_gradient({"a": [x]})
    assert not nested["a"][0].requires_grad


def test_tf_namespace_reads_like_tensorflow():
    from tapegrad import tf

    W = tf.Variable(tf.random.normal([3, 2], seed=0))
    x = tf.constant([[1.0, 2.0, 3.0]])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.math.square(tf.matmul(x, W)))
    (g,) = tape.gradient(loss, [W])
    assert g.shape == (3, 2) and tf.float32 is tg.float32 and tf.bool is tg.bool

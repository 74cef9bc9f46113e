"""The same programs in TensorFlow and in tapegrad.tf, compared number for number (skipped without TF)."""

import numpy as np
import pytest

real = pytest.importorskip("tensorflow")

import tapegrad.tf as ours  # noqa: E402


def _run(tf, x):
    out = {}
    out["max_pool"] = tf.nn.max_pool2d(x, 2, 2, "SAME").numpy()
    out["avg_pool"] = tf.nn.avg_pool2d(x, 3, 2, "SAME").numpy()
    k = np.linspace(-1, 1, 3 * 3 * 1 * 2, dtype=np.float32).reshape(3, 3, 1, 2)
    out["conv_same"] = tf.nn.conv2d(tf.constant(x), tf.constant(k), strides=2, padding="SAME").numpy()
    out["conv_valid"] = tf.nn.conv2d(tf.constant(x), tf.constant(k), strides=1, padding="VALID").numpy()
    v = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as t:
        y = v * v
        t.reset()
        z = y * y
    out["reset_is_none"] = np.array([t.gradient(z, y) is None, t.gradient(z, v) is None])
    logits = tf.constant([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]])
    out["sparse_ce"] = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([0, 2]), logits=logits).numpy()
    out["moments"] = np.stack([m.numpy() for m in tf.nn.moments(logits, axes=[1])])
    return out


def test_same_numbers_as_tensorflow():
    x = np.arange(1, 50, dtype=np.float32).reshape(1, 7, 7, 1)
    want, got = _run(real, x), _run(ours, x)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-5, err_msg=key)

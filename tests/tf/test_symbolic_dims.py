"""input_signature with None dimensions and reduce_retracing: one trace for every size, as in TensorFlow."""

import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.tf as tf
from tapegrad.errors import TraceError


def _model(x):
    rows = tf.reshape(x, [tf.shape(x)[0], 1]) * tf.constant([[1.0, -2.0]])
    flat = tf.reshape(rows, [-1])
    return tf.reduce_mean(tf.tanh(flat)) + tf.reduce_sum(tf.exp(x)) / tf.cast(tf.shape(x)[0], tf.float32)


@pytest.mark.parametrize("backend", ["numpy", "c"])
def test_none_dimension_traces_once(backend):
    f = tf.function(_model, input_signature=[tf.TensorSpec([None], tf.float32)])
    f.backend = backend
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RetraceWarning
        for n in range(1, 8):
            x = tf.Variable(np.linspace(-1.0, 1.0, n).astype(np.float32))
            with tf.GradientTape() as tape:
                y = f(x)
            g = tape.gradient(y, x)
            with tf.GradientTape() as tape:
                y_eager = _model(x)
            g_eager = tape.gradient(y_eager, x)
            np.testing.assert_allclose(y.numpy(), y_eager.numpy(), rtol=1e-5)
            np.testing.assert_allclose(g.numpy(), g_eager.numpy(), rtol=1e-5, atol=1e-6)
    assert f.trace_count == 1


@pytest.mark.parametrize("backend", ["numpy", "c"])
def test_gradient_inside_the_function(backend):
    w = tf.Variable([[0.5, -1.0, 2.0]])

    @tg.function(input_signature=[tf.TensorSpec([None, 1], tf.float32)], backend=backend)
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
        return loss, tape.gradient(loss, w)

    for n in range(1, 8):
        x = tf.constant(np.arange(n, dtype=np.float32).reshape(n, 1))
        loss, g = step(x)
        with tf.GradientTape() as tape:
            want = tf.reduce_mean(tf.square(tf.matmul(x, w)))
        np.testing.assert_allclose(loss.numpy(), want.numpy(), rtol=1e-5)
        np.testing.assert_allclose(g.numpy(), tape.gradient(want, w).numpy(), rtol=1e-5)
    assert step.trace_count == 1


def test_concrete_function_shows_symbols():
    f = tf.function(lambda x: tf.reduce_sum(x * 2.0), input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    text = str(f.get_concrete_function().graph)
    assert "f32[d0,3]" in text


def test_python_branch_on_none_dimension_names_the_line():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def f(x):
        if x.shape[0] > 3:
            return x * 2.0
        return x

    with pytest.raises(TraceError, match=r"test_symbolic_dims.py:\d+ in f: d0 is x.shape\[0\].*tf.shape"):
        f(tf.ones([4]))


def test_python_loop_over_none_dimension_is_refused():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def f(x):
        for _ in range(x.shape[0]):
            x = x + 1.0
        return x

    with pytest.raises(TraceError, match="as a Python int"):
        f(tf.ones([2]))


def test_reduce_retracing_generalises_a_changed_dimension():
    @tf.function(reduce_retracing=True)
    def f(x):
        return tf.reduce_sum(x * 2.0, axis=1)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in range(1, 8):
            np.testing.assert_allclose(f(tf.ones([n, 3])).numpy(), np.full(n, 6.0))
    assert f.trace_count == 2  # (1, 3), then (None, 3) for every later size, as TensorFlow
    f(tf.ones([2, 4]))  # another dimension changed: traced again, generalised there too
    f(tf.ones([3, 5]))
    assert f.trace_count == 3


def test_signature_still_checks_concrete_dimensions():
    f = tf.function(lambda x: x + 1.0, input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    with pytest.raises(ValueError, match="input_signature"):
        f(tf.ones([3, 3]))

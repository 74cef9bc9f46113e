"""The workloads in TensorFlow: tf.Variables, a GradientTape inside `tf.function`, once as a TF graph and once
with `jit_compile=True` (XLA). Images are NHWC and kernels HWIO, TensorFlow's CPU layout, converted once from
the shared NCHW / OIHW arrays."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # NOTE: before the import, or TF prints its banner

import numpy as np
import tensorflow as tf

from benchmarks.workloads import chain, scalar_chain

tf.get_logger().setLevel("ERROR")
if os.environ.get("TAPEGRAD_BENCH_THREADS"):  # `python -m benchmarks --threads N`: TF has no standard variable
    tf.config.threading.set_intra_op_parallelism_threads(int(os.environ["TAPEGRAD_BENCH_THREADS"]))
    tf.config.threading.set_inter_op_parallelism_threads(int(os.environ["TAPEGRAD_BENCH_THREADS"]))

NAME = "tensorflow"
PIP = "pip install tensorflow-cpu"
VARIANTS = {"tf.function": False, "tf.function(jit_compile)": True}


def version() -> str:
    threads = tf.config.threading.get_intra_op_parallelism_threads()
    return f"{tf.__version__} ({threads or 'default'} intra-op threads)"


def to_numpy(out) -> np.ndarray:
    return out.numpy() if hasattr(out, "numpy") else np.asarray(out)


def _compiled(fn, jit_compile):
    return tf.function(fn, jit_compile=jit_compile)


def _training_step(forward, variables, x, y, lr, jit_compile):
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = forward(x)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        for v, g in zip(variables, tape.gradient(loss, variables)):
            v.assign_sub(lr * g)
        return loss

    fn = _compiled(step, jit_compile)
    x, y = tf.constant(x), tf.constant(y)
    return lambda: fn(x, y)


def w1(data, jit_compile):
    layers = [(tf.Variable(w.T), tf.Variable(b)) for w, b in data["layers"]]  # x @ W: (in, out)

    def forward(x):
        h = x
        for i, (w, b) in enumerate(layers):
            h = h @ w + b
            if i < len(layers) - 1:
                h = tf.nn.relu(h)
        return h

    return _training_step(forward, [v for layer in layers for v in layer], data["x"], data["y"], data["lr"],
                          jit_compile)


def w2(data, jit_compile):
    (k1, c1), (k2, c2), (wl, bl) = data["conv1"], data["conv2"], data["linear"]
    channels, h, w = data["pooled"]
    # the shared linear weight reads features channels-first (c, h, w); NHWC flattens them as (h, w, c)
    wl_hwc = wl.reshape(-1, channels, h, w).transpose(2, 3, 1, 0).reshape(h * w * channels, -1)
    variables = [tf.Variable(a) for a in (k1.transpose(2, 3, 1, 0), c1, k2.transpose(2, 3, 1, 0), c2, wl_hwc, bl)]

    def forward(x):
        k1, c1, k2, c2, wl, bl = variables
        out = tf.nn.relu(tf.nn.conv2d(x, k1, 1, "VALID") + c1)
        out = tf.nn.relu(tf.nn.conv2d(out, k2, 1, "VALID") + c2)
        out = tf.nn.max_pool2d(out, 2, 2, "VALID")
        return tf.reshape(out, (tf.shape(out)[0], -1)) @ wl + bl

    return _training_step(forward, variables, data["x"].transpose(0, 2, 3, 1), data["y"], data["lr"], jit_compile)


def _value_and_grad(f):
    def fn(x, *rest):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = f(x, *rest)
        return loss, tape.gradient(loss, x)

    return fn


def _gelu_sigmoid_sum(x):
    return tf.reduce_sum(tf.nn.gelu(1.5 * x + 0.5, approximate=True) * tf.sigmoid(x))


def _grad(f):
    """x -> df/dx alone (W3)."""

    def fn(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = f(x)
        return tape.gradient(loss, x)

    return fn


def w3(data, jit_compile):
    fn = _compiled(_grad(_gelu_sigmoid_sum), jit_compile)
    x = tf.constant(data["x"])
    return lambda: fn(x)


def w4(data, jit_compile):
    ops = data["ops"]
    fn = _compiled(_value_and_grad(lambda x, a, b: chain(x, a, b, ops, total=tf.reduce_sum)), jit_compile)
    x, a, b = (tf.constant(data[k]) for k in ("x", "a", "b"))
    return lambda: fn(x, a, b)


def w5(data, jit_compile):
    fn = _compiled(tf.matmul, jit_compile)
    a, b = tf.constant(data["a"]), tf.constant(data["b"])
    return lambda: fn(a, b)


def w6(data, jit_compile):
    def hvp(w, x, v):
        """Forward over reverse: a ForwardAccumulator pushes v through the tape's gradient (TF's documented HVP)."""
        with tf.autodiff.ForwardAccumulator(x, v) as acc:
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(tf.tanh(tf.linalg.matvec(w, x)) ** 2)
            grad = tape.gradient(y, x)
        return acc.jvp(grad)

    fn = _compiled(hvp, jit_compile)
    w, x, v = (tf.constant(data[k]) for k in ("w", "x", "v"))
    return lambda: fn(w, x, v)


def w7(data, jit_compile):
    ops = data["ops"]
    fn = _compiled(_value_and_grad(lambda x: scalar_chain(x, ops, tf.tanh, total=tf.reduce_sum)), jit_compile)
    x = tf.constant(data["x"])
    return lambda: fn(x)

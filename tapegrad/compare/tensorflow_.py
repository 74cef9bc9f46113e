"""The compare tasks in TensorFlow's idiom: GradientTape, Variables, tf.function graphs, tf.while_loop."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # NOTE: before the import, or TF prints its banner

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")  # the retracing warnings of tape.jacobian are not ours to fix

NAME = "tensorflow"
MODULE = "tensorflow"
PIP = "pip install tensorflow-cpu"
UNSUPPORTED = {"inplace_update": "tf.Tensor is immutable; a Variable's assign() is not recorded by the tape, "
               "so there is no in-place change of a saved value to catch"}


def version() -> str:
    return tf.__version__


def to_numpy(out):
    return out.numpy() if hasattr(out, "numpy") else np.asarray(out)


def arithmetic(inp):
    def run():
        x = tf.constant(inp["x"])
        return tf.reshape(x + 1, [4])

    return run


def graph_function(inp):
    @tf.function
    def f(x):
        return tf.reduce_sum(tf.matmul(x, x))

    x = tf.constant(inp["x"])

    def run():
        return f(x)

    return run


def linear_tape(inp):
    W, b = tf.Variable(inp["W"]), tf.Variable(inp["b"])
    x = tf.constant(inp["x"])

    def run():
        with tf.GradientTape() as tape:
            predictions = tf.matmul(x, W) + b
        return tape.gradient(predictions, [W, b])

    return run


def clip_gradients(inp):
    W, b = tf.Variable(inp["W"]), tf.Variable(inp["b"])
    x = tf.constant(inp["x"])

    def run():
        with tf.GradientTape() as tape:
            predictions = tf.matmul(x, W) + b
        grads = tape.gradient(predictions, [W, b])
        return [tf.clip_by_value(g, -0.1, 0.1) for g in grads if g is not None]

    return run


def while_loop_grad(inp):
    n = int(inp["n"])
    x = tf.Variable(inp["x"])

    def run():
        with tf.GradientTape() as tape:
            _, y = tf.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, acc * x), (0, tf.constant(1.0)))
        return tape.gradient(y, x)

    return run


def custom_gradient(inp):
    @tf.custom_gradient
    def square(x):
        def grad(dy):
            return dy * x

        return x * x, grad

    x = tf.Variable(inp["x"])

    def run():
        with tf.GradientTape() as tape:
            y = square(x)
        return tape.gradient(y, x)

    return run


def hessian(inp):
    x = tf.constant(inp["x"])

    def run():
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.reduce_sum(tf.sin(x) * x**2) + tf.reduce_sum(x) ** 2 / 2
            g = inner.gradient(y, x)
        return outer.jacobian(g, x)

    return run


def jvp(inp):
    W, x, v = (tf.constant(inp[k]) for k in ("W", "x", "v"))

    def run():
        with tf.autodiff.ForwardAccumulator(x, v) as acc:
            y = tf.tanh(tf.linalg.matvec(W, x))
        return acc.jvp(y)

    return run


def jacobian(inp):
    W, x = tf.constant(inp["W"]), tf.constant(inp["x"])

    def run():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.tanh(tf.linalg.matvec(W, x))
        return tape.jacobian(y, x)

    return run


def per_example_grads(inp):
    X, y, w = (tf.constant(inp[k]) for k in ("X", "y", "w"))

    def run():
        with tf.GradientTape() as tape:
            tape.watch(w)
            losses = (tf.tanh(tf.linalg.matvec(X, w)) - y) ** 2
        return tape.jacobian(losses, w)

    return run


def dynamic_loop(inp):
    @tf.function
    def f(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.while_loop(lambda x: x < 10.0, lambda x: (x * 1.5,), (x,))[0]
        return tape.gradient(y, x)

    x = tf.constant(inp["x"])

    def run():
        return f(x)

    return run


def mlp_step(inp):
    params = [tf.Variable(inp[k]) for k in ("W1", "b1", "W2", "b2")]
    X, y = tf.constant(inp["X"]), tf.constant(inp["y"])

    @tf.function
    def step():
        W1, b1, W2, b2 = params
        with tf.GradientTape() as tape:
            logits = tf.nn.relu(X @ W1 + b1) @ W2 + b2
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        grads = tape.gradient(loss, params)
        for p, g in zip(params, grads):
            p.assign_sub(0.1 * g)
        return grads

    def run():
        return step()

    return run


def fused_chain(inp):
    @tf.function(jit_compile=False)
    def grad_chain(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(tf.tanh(1.5 * x + 0.5) * tf.sigmoid(x) - 0.1 * x**2)
        return tape.gradient(y, x)

    x = tf.constant(inp["x"])

    def run():
        return grad_chain(x)

    return run

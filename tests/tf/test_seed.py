"""Every example of the seed article's chapter 2 (shared/seed/README.md §2), with the values it must print."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed_article.py"


def test_2_1_1_tensors():
    tensor1 = tg.constant([[1.0, 2.0], [3.0, 4.0]])
    tensor2 = tensor1 + 1
    tensor3 = tg.reshape(tensor2, [4])
    assert tensor1.dtype is tg.float32
    assert tensor2.tolist() == [[2.0, 3.0], [4.0, 5.0]]
    assert tensor3.tolist() == [2.0, 3.0, 4.0, 5.0]
    assert repr(tensor3) == "tensor([2., 3., 4., 5.])"


def test_2_1_2_graph_function():
    # NOTE: the article decorates compute with @tf.function; graph mode (tg.function) is the graph-mode
    # issue, so the plain function is called when tg.function does not exist yet
    def compute(x):
        return tg.reduce_sum(tg.matmul(x, x))

    fn = tg.function(compute) if hasattr(tg, "function") else compute
    result = fn(tg.constant([[1.0, 2.0], [3.0, 4.0]]))
    assert str(result.numpy()) == "54.0"


def _seed_gradients():
    W = tg.Variable(tg.random.normal([2, 2]), name="weight")
    b = tg.Variable(tg.zeros([2]), name="bias")

    def forward(x):
        return tg.matmul(x, W) + b

    x = tg.constant([[1.0, 2.0]])
    with tg.GradientTape() as tape:
        predictions = forward(x)
    return tape.gradient(predictions, [W, b])


def test_2_2_1_tape_gradient_of_nonscalar_target():
    dW, db = _seed_gradients()
    assert dW.tolist() == [[1.0, 1.0], [2.0, 2.0]]
    assert db.tolist() == [1.0, 1.0]


def test_2_2_2_clip_by_value():
    gradients = _seed_gradients()
    clipped = [tg.clip_by_value(g, -0.1, 0.1) if g is not None else None for g in gradients]
    np.testing.assert_allclose(clipped[0].numpy(), [[0.1, 0.1], [0.1, 0.1]])
    np.testing.assert_allclose(clipped[1].numpy(), [0.1, 0.1])
    assert "tensor([0.1, 0.1])" in str(clipped)


def _loop(i, acc):
    return tg.while_loop(lambda i, acc: i < 10, lambda i, acc: (i + 1, acc * i), [i, acc])


def test_2_3_1_loop_ends_at_10_and_0():
    i, acc = _loop(tg.constant(0), tg.constant(1))
    assert (i.item(), acc.item()) == (10, 0)
    assert i.dtype is tg.int32  # TF's dtype for Python ints


def test_2_3_1_integer_watch_is_a_clear_error():
    i, _ = _loop(tg.constant(0), tg.constant(1))
    with tg.GradientTape() as tape, pytest.raises(TypeError) as err:
        tape.watch(i)
    message = str(err.value)
    assert "int32" in message and "cast" in message.lower() and "float" in message


def test_2_3_1_float_loop_gives_zero():
    i, acc = _loop(tg.constant(0.0), tg.constant(1.0))
    with tg.GradientTape() as tape:
        tape.watch(i)
        result = i * acc
    gradient = tape.gradient(result, i)
    assert str(gradient.numpy()) == "0.0"


def test_2_3_2_custom_gradient_gives_one():
    @tg.custom_gradient
    def my_custom_gradient(x):
        def grad(dy):
            return dy * x

        return x * x, grad

    x = tg.Variable(1.0)
    with tg.GradientTape() as tape:
        result = my_custom_gradient(x)
    grad = tape.gradient(result, x)
    assert str(grad.numpy()) == "1.0"


def test_example_script_prints_the_article_values():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(EXAMPLE), run_name="__main__")
    text = out.getvalue()
    for expected in (
        "tensor3 reshaped: tensor([2., 3., 4., 5.])",
        "result: 54.0",
        "gradients of W: tensor([[1., 1.],\n        [2., 2.]])",
        "gradients of b: tensor([1., 1.])",
        "[tensor([[0.1, 0.1],\n        [0.1, 0.1]]), tensor([0.1, 0.1])]",
        "after the loop: i = 10 acc = 0",
        "cannot watch a tensor of dtype int32",
        "gradient of i: 0.0",
        "gradient of my_custom_gradient: 1.0",
    ):
        assert expected in text, expected

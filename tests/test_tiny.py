"""Smoke test of the core API and the seed article's examples (PyTorch idiom); runs in seconds.

If this file fails, start here: it touches tensors, dtypes, broadcasting, the engine, grad modes and a
custom Function once each, with values worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


def close(t, expected, tol=1e-6):
    np.testing.assert_allclose(np.asarray(t.tolist() if isinstance(t, tg.Tensor) else t), expected, rtol=tol, atol=tol)


# *** the seed article's tensor examples (2.1.1, 2.1.2) ***


def test_seed_tensor_arithmetic_and_reshape():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = x + 1
    assert y.shape == (2, 2) and y.dtype == tg.float32
    close(y, [[2, 3], [4, 5]])
    close(tg.reshape(y, [4]), [2, 3, 4, 5])


def test_seed_sum_of_matmul():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = tg.sum(tg.matmul(x, x))
    assert out.shape == () and out.item() == 54.0


def test_seed_linear_gradients_and_clipping():
    # 2.2.1 in the PyTorch idiom: predictions = x @ W + b, gradient of their sum; 2.2.2 clips it.
    tg.manual_seed(0)
    W, b = tg.randn(2, 2, requires_grad=True), tg.zeros(2, requires_grad=True)
    x = tg.tensor([[1.0, 2.0]])
    (x @ W + b).sum().backward()
    close(W.grad, [[1, 1], [2, 2]])
    close(b.grad, [1, 1])
    close(W.grad.clamp(-0.1, 0.1), [[0.1, 0.1], [0.1, 0.1]])
    close(tg.clip(b.grad, -0.1, 0.1), [0.1, 0.1])


def test_seed_custom_gradient():
    # 2.3.2: f(x) = x * x with the hand-written gradient g * x; at 1.0 the custom rule gives 1.0, not 2.0.
    class Square(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x

    x = tg.tensor(1.0, requires_grad=True)
    Square.apply(x).backward()
    assert x.grad.item() == 1.0


# *** tensors ***


def test_creation_dtypes_and_promotion():
    assert tg.tensor([1, 2]).dtype == tg.int64
    assert tg.tensor([1.0]).dtype == tg.float32
    assert (tg.tensor([1, 2]) * 1.5).dtype == tg.float32  # Python scalars are weakly typed
    assert (tg.ones(2, dtype=tg.float64) + tg.ones(2)).dtype == tg.float64
    assert tg.zeros(2, 3).shape == (2, 3) and tg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert tg.eye(3).sum().item() == 3.0
    assert tg.tensor([1.0, 2.0]).double().dtype == tg.float64


def test_broadcasting_and_reductions():
    x = tg.arange(6, dtype=tg.float32).reshape(2, 3)
    close(x + tg.tensor([10.0, 20.0, 30.0]), [[10, 21, 32], [13, 24, 35]])
    close(x.sum(dim=0), [3, 5, 7])
    close(x.mean(dim=1, keepdim=True), [[1], [4]])
    assert x.max().item() == 5.0 and x.argmax().item() == 5
    close(x.T, [[0, 3], [1, 4], [2, 5]])
    close(x[:, 1], [1, 4])


def test_manual_seed_reproduces():
    tg.manual_seed(7)
    a = tg.randn(3)
    tg.manual_seed(7)
    assert a.tolist() == tg.randn(3).tolist()


# *** the engine ***


def test_backward_chain_rule():
    x = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    (x.exp() * x.sin() + x**2).sum().backward()
    xs = np.array([0.5, -1.0, 2.0])
    close(x.grad, np.exp(xs) * (np.sin(xs) + np.cos(xs)) + 2 * xs, tol=1e-5)
    assert x.is_leaf and x.grad_fn is None


def test_grad_accumulates_and_zeroes():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(2):
        (w * 3).sum().backward()
    close(w.grad, [6, 6])
    w.grad.zero_()
    close(w.grad, [0, 0])


def test_higher_order_with_create_graph():
    x = tg.tensor(2.0, requires_grad=True)
    (dy,) = tg.autograd.grad(x**3, x, create_graph=True)
    (d2y,) = tg.autograd.grad(dy, x)
    assert dy.item() == pytest.approx(12.0) and d2y.item() == pytest.approx(12.0)


def test_no_grad_and_detach_cut_the_graph():
    x = tg.ones(2, requires_grad=True)
    with tg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert not (x * 2).detach().requires_grad
    z = x * 2
    assert z.requires_grad and z.grad_fn is not None


def test_hook_sees_and_replaces_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    (x * x).sum().backward()
    assert seen == [[2.0, 4.0]]
    close(x.grad, [20, 40])


def test_second_backward_without_retain_graph_says_why():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # ExpBackward saves its output, freed by the first backward
    y.backward(tg.ones(2))
    with pytest.raises(tg.GradError, match="retain_graph"):
        y.backward(tg.ones(2))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises((TypeError, tg.GradError, ValueError), match="int64"):
        tg.tensor([1, 2]).requires_grad_()


def test_sgd_step_under_no_grad_trains():
    # the pattern the demo uses: forward, backward, update in place under no_grad, zero the grad
    tg.manual_seed(0)
    x = tg.randn(64, 3)
    y = x @ tg.tensor([1.0, -2.0, 0.5]) + 0.3
    w, b = tg.zeros(3, requires_grad=True), tg.zeros((), requires_grad=True)
    losses = []
    for _ in range(50):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with tg.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad.zero_()
        b.grad.zero_()
        losses.append(loss.item())
    assert losses[-1] < 0.01 * losses[0]
    assert w.is_leaf and w.requires_grad

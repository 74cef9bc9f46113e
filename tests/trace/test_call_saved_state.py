"""A differentiated tg.function call keeps its inputs for the backward pass, as an eager op keeps what its rule
reads: an input changed in place before backward is refused, and a second backward without retain_graph is
refused, as PyTorch refuses both."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.errors import GradError


def square_sum(x):
    return (x * x).sum()


def loop_sum(x):
    return tg.while_loop(lambda i, a: i < 4, lambda i, a: (i + 1, tg.sin(a * x) + a), (tg.constant(0), x))[1].sum()


def _square_sum():
    return tg.function(square_sum)


def _loop_sum():
    return tg.function(loop_sum)


@pytest.mark.parametrize("make", [_square_sum, _loop_sum])
def test_input_changed_in_place_after_the_call_is_refused(make):
    f = make()
    x = tg.tensor([0.3, 0.7], requires_grad=True)
    x2 = x * 1.0
    y = f(x2)
    x2.mul_(2.0)
    with pytest.raises(GradError, match=r"modified by an in-place operation: input 0 of the call .* by mul_"):
        y.backward()


@pytest.mark.parametrize("plain", [square_sum, loop_sum])
def test_gradient_as_eager_when_nothing_changes(plain):
    x = tg.tensor([0.3, 0.7], requires_grad=True)
    tg.function(plain)(x * 1.0).backward()
    ref = tg.tensor([0.3, 0.7], requires_grad=True)
    plain(ref * 1.0).backward()
    np.testing.assert_allclose(x.grad.numpy(), ref.grad.numpy(), rtol=1e-6)


def test_second_backward_needs_retain_graph():
    f = _square_sum()
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = f(x)
    y.backward()
    with pytest.raises(GradError, match="backward through the graph a second time"):
        y.backward()
    x.grad = None
    y = f(x)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])

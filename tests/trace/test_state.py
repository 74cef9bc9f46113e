"""Gradients through compiled calls reach the tensors a traced function captures."""

import numpy as np

import tapegrad as tg


def test_backward_through_jit_reaches_captured_parameters():
    """jit(f)(x).backward() where only f's captured Parameters require grad (a model's forward)."""
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.Tanh(), tg.nn.Linear(4, 1))
    x = tg.randn(5, 3)
    loss_fn = tg.jit(lambda x: model(x).square().mean())
    loss_fn(x).backward()
    compiled = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    model(x).square().mean().backward()
    for got, want in zip(compiled, (p.grad.numpy() for p in model.parameters())):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

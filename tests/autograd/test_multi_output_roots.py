"""Two outputs of one Node given together as roots of a backward pass (engine.py `_graph_dependencies`): the Node's
inputs must still become ready, so their gradients are not lost."""

import numpy as np

import tapegrad as tg


def test_two_outputs_of_one_compiled_call_as_roots():
    f = tg.function(lambda x: (x * 2.0, x * 3.0))  # one Node (the call's) with two outputs
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y0, y1 = f(x)
    assert y0.grad_fn is y1.grad_fn
    (g,) = tg.autograd.grad([y0, y1], [x], [tg.ones(2), tg.ones(2)])
    np.testing.assert_allclose(g.numpy(), [5.0, 5.0])
    with tg.GradientTape() as tape:  # the tape idiom, with a list of targets, reaches the same sweep
        tape.watch(x)
        y0, y1 = f(x)
    np.testing.assert_allclose(tape.gradient([y0, y1], x).numpy(), [5.0, 5.0])

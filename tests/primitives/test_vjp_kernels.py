"""The backward kernels (Primitive.vjp_impl, backends/numpy.py VJPS) agree with the vjp rules they stand in for.

An eager backward pass without create_graph runs a primitive's kernel; with create_graph=True it runs the rule
(written with tapegrad ops). Both are asked for the same gradients here, in float64 and float32, with inputs that
broadcast, are non-contiguous, or are 0-d, and with only some inputs needing a gradient.
"""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends.numpy import VJPS

rng = np.random.default_rng(0)


def _t(*shape, positive=False, dtype=tg.float64):
    a = rng.standard_normal(shape)
    return tg.tensor(np.abs(a) + 0.5 if positive else a, dtype=dtype)


# primitive -> (function of the inputs that applies it, input factories). Inputs needing grad are marked by
# the test; shapes broadcast where the front end inserts an expand.
CASES = {
    "add": (lambda x, y: x + y, lambda: [_t(3, 4), _t(4)]),
    "sub": (lambda x, y: x - y, lambda: [_t(3, 1), _t(3, 4)]),
    "neg": (lambda x: -x, lambda: [_t(2, 5)]),
    "mul": (lambda x, y: x * y, lambda: [_t(3, 4), _t(3, 4)]),
    "div": (lambda x, y: x / y, lambda: [_t(3, 4), _t(3, 4, positive=True)]),
    "exp": (lambda x: x.exp(), lambda: [_t(6)]),
    "log": (lambda x: x.log(), lambda: [_t(6, positive=True)]),
    "sqrt": (lambda x: x.sqrt(), lambda: [_t(6, positive=True)]),
    "tanh": (lambda x: x.tanh(), lambda: [_t(4, 3)]),
    "sigmoid": (lambda x: x.sigmoid(), lambda: [_t(4, 3)]),
    "gelu": (lambda x: tg.nn.functional.gelu(x) + tg.nn.functional.gelu(x, approximate="tanh"), lambda: [_t(4, 3)]),
    "where": (lambda x, y: tg.where(x > y, x, y), lambda: [_t(3, 4), _t(3, 4)]),
    "sum": (lambda x: x.sum(1) + x.sum((0, 2), keepdim=True).sum(), lambda: [_t(2, 3, 4)]),
    "expand": (lambda x: x.expand(3, 2, 4), lambda: [_t(2, 1)]),
    "reshape": (lambda x: x.reshape(6, 2), lambda: [_t(3, 4)]),
    "permute": (lambda x: x.permute(2, 0, 1), lambda: [_t(2, 3, 4)]),
    "matmul": (lambda x, y: x @ y, lambda: [_t(2, 3, 4), _t(4, 5)]),
    # repeated indices (their gradients add up), a slice and an index array together
    "index": (lambda x: x[tg.tensor([2, 0, 2, 1])] + x[1:, tg.tensor([3, 3])].sum(), lambda: [_t(3, 4)]),
    # one 2-d index array with repeats on the first axis (the kernel flattens it; max pooling's backward)
    "index 2-d": (lambda x: x[tg.tensor([[2, 0], [2, 2]])].sum(0), lambda: [_t(3, 4)]),
    "pad": (lambda x: tg.nn.functional.pad(x, (1, 2, 0, 3), value=0.5), lambda: [_t(2, 3, 4)]),
    # overlapping, strided and dilated windows (the conv composite's Unfold)
    "unfold": (lambda x: tg.conv2d(x, tg.tensor(np.arange(24.0).reshape(2, 1, 3, 4) / 24, dtype=x.dtype),
                                   stride=(1, 2), dilation=(2, 1)), lambda: [_t(2, 1, 7, 9)]),
}


def test_every_kernel_has_a_case():
    assert set(VJPS) <= {name.split()[0] for name in CASES}, f"add a case for {sorted(set(VJPS) - set(CASES))}"


def _grads(fn, inputs, gout, create_graph):
    out = fn(*inputs)
    need = [x for x in inputs if x.requires_grad]
    got = tg.autograd.grad(out, need, gout, create_graph=create_graph, allow_unused=True)
    return [None if g is None else g.detach().numpy() for g in got]


@pytest.mark.parametrize("dtype", [tg.float64, tg.float32])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "partial", "scalar"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_matches_rule(name, layout, dtype):
    fn, make = CASES[name]
    inputs = [x.to(dtype) for x in make()]
    if layout == "transposed":  # non-contiguous inputs: the transpose of a transposed copy
        inputs = [x.mT.contiguous().mT if x.ndim >= 2 else x for x in inputs]
    for i, x in enumerate(inputs):
        x.requires_grad_(layout != "partial" or i == 0)
    if layout == "scalar":
        if len(inputs) == 2 and name not in ("matmul", "where"):
            inputs[1] = tg.tensor(1.7, dtype=dtype)  # a 0-d operand that needs no gradient
        else:
            pytest.skip("no 0-d operand for this primitive")
    with tg.no_grad():
        gout = tg.tensor(rng.standard_normal(tuple(fn(*inputs).shape)), dtype=dtype)
    kernel = _grads(fn, inputs, gout, create_graph=False)
    rule = _grads(fn, inputs, gout, create_graph=True)
    tol = 1e-12 if dtype is tg.float64 else 1e-5
    for k, r in zip(kernel, rule):
        assert (k is None) == (r is None)
        if k is not None:
            assert k.dtype == r.dtype and k.shape == r.shape
            np.testing.assert_allclose(k, r, rtol=tol, atol=tol)


def test_kernel_runs_without_create_graph():
    """The fast path is taken (so the comparison above compares two different computations)."""
    calls = []
    prim = tg.primitives.PRIMITIVES["tanh"]
    original = prim.vjp_impl
    prim.vjp_impl = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        x = tg.tensor([0.5, -1.0], requires_grad=True)
        x.tanh().sum().backward()
        assert calls == [1]
        tg.autograd.grad(x.tanh().sum(), x, create_graph=True)
        assert calls == [1]  # create_graph runs the rule
    finally:
        prim.vjp_impl = original


@pytest.mark.parametrize("dtype", [tg.float64, tg.float32])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "partial"])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "gelu", "mul"])
def test_kernel_matches_rule_on_c(name, layout, dtype, eager_on_c):
    """The same with every eager op on a C kernel (whatever its size): the C backend's one-loop backward kernels
    (backends/c/eager.py FUSED_VJPS), gelu_backward's kernel, the products of mul's."""
    from tapegrad.backends import base
    from tapegrad.backends.c import eager

    if name in ("sigmoid", "tanh"):
        assert tg.primitives.PRIMITIVES[name].vjp_impl is base.get("c").eager_vjps()[name]
    test_kernel_matches_rule(name, layout, dtype)
    if name in ("sigmoid", "tanh"):
        key = (f"vjp:{name}", (dtype.name,) * 2, dtype.name, ())
        assert eager._state.get(key) == "done", f"{key} did not run on a C kernel"

"""Second-order gradients of composite ops vs PyTorch (double backward with create_graph=True)."""

import pytest

import tapegrad as tg

from .helpers import check_op

torch = pytest.importorskip("torch")


def lib(x):
    return tg if isinstance(x, tg.Tensor) else torch


CASES = {
    "exp": ([(3, 4)], lambda x: x.exp()),
    "log": ([(3, 4)], lambda x: x.abs().add(0.5).log()),
    "tanh": ([(3, 4)], lambda x: x.tanh()),
    "sigmoid": ([(3, 4)], lambda x: x.sigmoid()),
    "sqrt": ([(3, 4)], lambda x: (x * x + 1).sqrt()),
    "pow": ([(3, 4)], lambda x: x**3),
    "pow_tensor": ([(3, 4), (4,)], lambda x, y: (x.abs() + 0.5) ** y),
    "mul_div": ([(3, 4), (3, 4)], lambda x, y: x * y / (y * y + 1)),
    "atan2": ([(3, 4), (3, 4)], lambda x, y: lib(x).atan2(x, y + 3)),
    "erf": ([(3, 4)], lambda x: x.erf()),
    "sin_cos": ([(3, 4)], lambda x: x.sin() * x.cos()),
    "sum_mean": ([(3, 4)], lambda x: (x * x).sum(1) * x.mean(0).sum()),
    "var_std": ([(3, 4)], lambda x: x.var(1) + x.std(0).sum()),
    "norm": ([(3, 4)], lambda x: x.norm(dim=1)),
    "logsumexp": ([(3, 4)], lambda x: x.logsumexp(1)),
    "softmax_like": ([(3, 4)], lambda x: (x - x.logsumexp(1, keepdim=True)).exp()),
    "amax": ([(3, 4)], lambda x: x.amax(1) * x.sum()),
    "max_dim": ([(3, 4)], lambda x: x.max(1).values ** 2),
    "prod": ([(3, 4)], lambda x: x.prod(1)),
    "cumsum": ([(3, 4)], lambda x: x.cumsum(1) ** 2),
    "cumprod": ([(3, 4)], lambda x: x.cumprod(1)),
    "clamp": ([(3, 4)], lambda x: x.clamp(-0.5, 0.5) * x),
    "where": ([(3, 4)], lambda x: lib(x).where(x > 0, x * x, x * x * x)),
    "maximum": ([(3, 4), (3, 4)], lambda x, y: lib(x).maximum(x, y) * x),
    "matmul": ([(3, 4), (4, 2)], lambda x, y: (x @ y) ** 2),
    "einsum": ([(2, 3), (3, 3)], lambda x, y: lib(x).einsum("ij,jk,ik->i", x, y, x)),
    "index_gather": ([(3, 4)], lambda x: x[[0, 2]].gather(1, x[[0, 2]].argsort(1)) ** 2),
    "setitem": ([(3, 4), (4,)], lambda x, y: _set(x, y)),
    "movement": ([(2, 3, 4)], lambda x: (x.permute(2, 0, 1).reshape(4, 6).flip(0)[1:, ::2] ** 2).roll(1, 0)),
    "cat_stack": ([(2, 3), (2, 3)], lambda x, y: lib(x).stack([x * y, lib(x).cat([x, y], 0)[:2] ** 2])),
    "lerp": ([(3,), (3,), (3,)], lambda x, y, w: lib(x).lerp(x, y, w)),
    "abs": ([(3, 4)], lambda x: x.abs() * x),
    "sort_topk": ([(3, 4)], lambda x: x.sort(1).values ** 2 + x.topk(4, 1).values),
}


def _set(x, y):
    z = x * 1
    z[1] = y * y
    return z * z


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_order(name):
    shapes, f = CASES[name]
    check_op(f, f, shapes, grad2=True)

"""checkpoint / remat: same gradients, fewer bytes saved for backward (counted on the graph, not timed)."""

from __future__ import annotations

import numpy as np

import tapegrad as tg
from tapegrad import func
from tapegrad.autograd import engine
from tapegrad.func.checkpoint import CheckpointNode

from .helpers import close, rand


def saved_bytes(t):
    """Bytes of the arrays the graph behind t keeps for its backward pass."""
    total, seen, stack = 0, set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or not isinstance(node, engine.Node):
            continue
        seen.add(id(node))
        if isinstance(node, CheckpointNode):
            total += sum(x._data.nbytes for x in node.leaves if isinstance(x, tg.Tensor))
        elif isinstance(node, engine.PrimNode):
            saves = node.prim.saves
            total += sum(a._data.nbytes for i, a in enumerate(node.args) if saves and i in saves)
            total += node.out_data.nbytes if node.out_version is not None else 0
        stack.extend(e[0] for e in node.edges if e is not None)
    return total


def chain(x, w):
    for _ in range(20):
        x = (x @ w).tanh()
    return x


def test_checkpoint_gradients_and_saved_bytes():
    rng = np.random.default_rng(2)
    x, w = rand(rng, 8, 32), rand(rng, 32, 32) * 0.2
    plain = func.grad(lambda x, w: chain(x, w).sum(), argnums=(0, 1))(x, w)
    ckpt = func.grad(lambda x, w: func.checkpoint(chain)(x, w).sum(), argnums=(0, 1))(x, w)
    close(ckpt[0], plain[0])
    close(ckpt[1], plain[1])
    xr, wr = x.clone().requires_grad_(), w.clone().requires_grad_()
    full = saved_bytes(chain(xr, wr).sum())
    remat = saved_bytes(func.remat(chain)(xr, wr).sum())
    assert remat * 5 < full, (remat, full)


def test_grad_of_grad_through_checkpoint_and_closures():
    x = tg.tensor(0.3, dtype=tg.float64)
    f = lambda x: (x.sin() * x).exp()
    close(func.grad(func.grad(func.checkpoint(f)))(x), func.grad(func.grad(f))(x))
    w = tg.tensor(1.5, dtype=tg.float64, requires_grad=True)
    y = func.checkpoint(lambda x: (x * w).sin())(x.clone().requires_grad_())
    (gw,) = tg.autograd.grad(y, w)  # w is closed over: its gradient still arrives
    close(gw, np.cos(0.45) * 0.3)


def test_checkpoint_replays_random_draws():
    x = tg.ones(1000, dtype=tg.float64, requires_grad=True)
    y = func.checkpoint(lambda x: tg.nn.functional.dropout(x, 0.5, training=True))(x)
    y.sum().backward()
    close(x.grad, (y.detach() != 0).to(tg.float64) * 2)

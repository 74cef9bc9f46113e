"""The TensorFlow idiom of data parallelism (Horovod's): average the gradients a GradientTape returns."""

from __future__ import annotations

from .. import comm
from ..tensor import Tensor


def average_gradients(grads):
    """The mean over ranks of each gradient (None stays None: a variable the loss does not use on any rank
    must be unused on every rank). One all-reduce for the whole list, on one flat buffer."""
    import numpy as np

    present = [g for g in grads if g is not None]
    if not present:
        return list(grads)
    dtype = np.result_type(*[g._data.dtype for g in present])
    flat = np.concatenate([g._data.astype(dtype, copy=False).ravel() for g in present])
    flat = comm.all_reduce(flat, "avg", what="average_gradients")
    out, start = [], 0
    for g in grads:
        if g is None:
            out.append(None)
            continue
        n = g._data.size
        out.append(Tensor._make(flat[start : start + n].reshape(g._data.shape).astype(g._data.dtype, copy=False)))
        start += n
    return out


class DistributedGradientTape:
    """Wraps a tg.GradientTape so that `gradient` returns gradients averaged over the ranks (Horovod's name).

        with tg.GradientTape() as tape:
            loss = loss_fn(model(x), y)
        tape = tg.distributed.DistributedGradientTape(tape)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    """

    def __init__(self, tape):
        self._tape = tape

    def gradient(self, target, sources, *args, **kwargs):
        from ..func.tree_util import tree_flatten, tree_unflatten

        grads = self._tape.gradient(target, sources, *args, **kwargs)
        leaves, tree = tree_flatten(grads, is_leaf=lambda x: x is None)
        return tree_unflatten(tree, average_gradients(leaves))

    def __getattr__(self, name):
        return getattr(self._tape, name)

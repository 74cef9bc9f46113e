"""What every transform's values share: the Tensor subclass they are, and reverse mode at their level.

Forward mode (forward.py) and vmap (vmap.py) wrap lower-level tensors in Tensor subclasses owned by
their interpreter (primitives/base.py). So that `grad` nests inside them (jvp(grad(f)), vmap(grad(f))),
reverse mode records at any level: when a primitive's inputs include a value of this interpreter that
requires grad, the interpreter attaches a LevelNode to its output, exactly as eager mode attaches a
PrimNode; the one backward sweep (autograd/engine.py) then runs the vjp rules on these values.
"""

from __future__ import annotations

from ..autograd import engine
from ..autograd.grad_mode import STATE
from ..dtype import FLOAT
from ..errors import GradError
from ..primitives.base import AVal
from ..tensor import Tensor, _Version


class InterpTensor(Tensor):
    """A value owned by a transform (its `_interp`); subclasses hold the lower-level payload."""

    _payload = ()  # names of the attributes that hold the lower-level values

    def _new_like(self) -> InterpTensor:
        """A fresh value with the same payload and no autograd history (a new leaf at this level)."""
        t = object.__new__(type(self))
        t._interp, t._data, t.dtype, t._version = self._interp, self._data, self.dtype, _Version()
        for name in self._payload:
            setattr(t, name, getattr(self, name))
        return t

    def _inplace(self, new, op):
        # NOTE: in-place ops under a transform are functionalised: the out-of-place result replaces this value's
        # payload. Views taken of it earlier do not see the change (there is no shared storage to write to).
        if tuple(new.shape) != tuple(self.shape):
            new = new.expand(self.shape)
        if new.dtype is not self.dtype:
            new = new.to(self.dtype)
        if new._interp is not self._interp:
            new = self._interp.lift(new)
        for name in ("_data",) + self._payload:
            setattr(self, name, getattr(new, name))
        self._version.value += 1
        self._version.op = op
        if STATE.enabled and (new._rg or self._rg):
            self.grad_fn, self._output_nr, self._rg = new.grad_fn, new._output_nr, new._rg
        return self

    def _refuse_value(self, what):
        raise TypeError(
            f"{what} of a value inside {self._interp.describe()} is not available: the transform computes on all of "
            "its values at once, so there is no single concrete value here. Fix: keep Python control flow on tensor "
            "values out of the transformed function (use tg.where), or pass the value as a non-mapped argument"
        )


class LevelNode(engine.PrimNode):
    """The Node of a primitive applied by an interpreter: like PrimNode, but its saved output is the
    interpreter's value itself (a PrimNode keeps only the numpy data, which would lose the payload)."""

    def __init__(self, prim, params, edges, args, out):
        super().__init__(prim, params, edges, args, out)
        self.out_tensor = out if self.out_version is not None else None

    def apply(self, grads, create_graph):
        if self.freed:
            raise GradError(engine._FREED_MESSAGE.format(node=self.name()))
        prim, args = self.prim, self.args
        for i, version in self.versions:
            if args[i]._version.value != version:
                raise engine._version_error(self, f"input {i}", version, args[i]._version)
        saves = prim.saves
        if not prim.vjp_reads_inputs:
            xs = args  # the rule reads none of them
        else:
            xs = [a if i in saves else AVal(a._data.shape, a.dtype) for i, a in enumerate(args)]
        out = self.out_tensor
        if self.out_version is not None:
            counter, v = self.out_version
            if counter.value != v:
                raise engine._version_error(self, f"the output of {prim.name}", v, counter)
        if prim.vjp_needs:
            return prim.vjp(grads[0], *xs, out=out, needs=[e is not None for e in self.edges], **self.params)
        return prim.vjp(grads[0], *xs, out=out, **self.params)

    def release(self):
        super().release()
        if self.freed:
            self.out_tensor = None


def record(interp, prim, params, args, out) -> None:
    """Attach a LevelNode to `out` when an input owned by `interp` requires grad (eager_apply's rule)."""
    if not (STATE.enabled and prim.differentiable and out.dtype.category == FLOAT):
        return
    edges, any_edge = [], False
    for a in args:
        if a._interp is interp and a._rg and isinstance(a, InterpTensor):
            edges.append(engine.edge_of(a))
            any_edge = True
        else:
            edges.append(None)
    if any_edge:
        out._rg, out.grad_fn = True, LevelNode(prim, params, edges, args, out)


def wants_record(interp, prim, args) -> bool:
    """Whether record() would attach a node (so the interpreter must return its own value, not a lower one)."""
    if not (STATE.enabled and prim.differentiable):
        return False
    # NOTE: a tensor attached by ForwardMode.attach is owned by the level but its requires_grad belongs to the
    # plain tape (it is recorded there), hence the isinstance test
    return any(a._interp is interp and a._rg and isinstance(a, InterpTensor) for a in args)


def fresh_leaf(x: Tensor, interp) -> Tensor:
    """A new leaf that requires grad, at `interp`'s level (or plain when interp is None), with x's value.

    If x already requires grad at that level, the leaf is an alias recorded on x's graph, so that an outer
    derivative flows through; it is still a distinct tensor, so an inner gradient with respect to it never
    picks up contributions that reach x by other paths (no perturbation confusion).
    """
    if interp is None:
        if isinstance(x, InterpTensor):
            raise GradError("fresh_leaf: a transform's value reached plain reverse mode (internal error)")
        if x._rg:
            return _alias(x)  # NOTE: also keeps a tangent attached to x (ForwardMode.attach) on the alias
        leaf = Tensor._make(x._data)
        if x.dtype.category == FLOAT:
            leaf.requires_grad_()
        if x._interp is not None and id(x) in getattr(x._interp, "attached", ()):
            # x has a tangent attached by ForwardMode.attach: the leaf gets it too
            x._interp._attach(leaf, x._interp.attached[id(x)][2])
        elif x._interp is not None:  # a tracer's symbolic value: the leaf stays in that trace
            leaf._interp = x._interp
        return leaf
    if x._interp is interp:
        if x._rg:
            return _alias(x)
        leaf = x._new_like()
    else:
        leaf = interp.lift(x)
        if leaf is x:
            leaf = x._new_like()
    if leaf.dtype.category == FLOAT:
        leaf._rg = True
    return leaf


def _alias(x):
    from ..primitives import bind
    from ..primitives.movement import Reshape

    return bind(Reshape, x, shape=tuple(x.shape))


def strip_level(x: Tensor, interp) -> Tensor:
    """x without its autograd history at `interp`'s level (what a transform returns as a primal output)."""
    if interp is None:
        return x.detach() if x._interp is None and x._rg else x
    if x._interp is interp and x._rg:
        return x._new_like()
    return x

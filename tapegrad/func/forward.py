"""Forward mode: the JVP interpreter, which pushes tangents through every primitive's jvp rule.

Built on the interpreter protocol of primitives/base.py, Autodidax-style: a value of this transform is a
DualTensor (a primal and its tangent, both lower-level tensors), and each primitive applied to one runs
`prim.jvp` on the lower level. Transforms nest through the levels (jvp of jvp, jvp of grad, vmap of jvp).
Two ways in:

- `jvp(f, primals, tangents)`: the functional transform (tg.func.jvp, tg.jvp).
- `ForwardMode`, a context: `make_dual(x, t)` returns a DualTensor (PyTorch's forward_ad), and
  `attach(x, t)` gives an existing tensor a tangent in place, after which every result computed from it
  is a plain Tensor with a tangent kept in the context (TensorFlow's ForwardAccumulator):

>>> import tapegrad as tg
>>> x = tg.tensor([1.0, 2.0])
>>> with tg.func.ForwardMode() as fw:
...     _ = fw.attach(x, tg.tensor([1.0, 0.0]))
...     y = (x * x).sum()
...     fw.tangent(y)
tensor(2.)
"""

from __future__ import annotations

from ..autograd import engine
from ..errors import TapegradError
from ..ops.operands import as_leaf
from ..primitives.base import Interpreter, bind
from ..tensor import Tensor
from . import tree_util as tu
from ._levels import InterpTensor, LevelNode, record, wants_record


class DualTensor(InterpTensor):
    """A primal value with its tangent (None: a zero tangent), owned by a ForwardMode level."""

    _payload = ("primal", "tangent")

    def __repr__(self) -> str:
        return f"DualTensor(primal={self.primal!r}, tangent={self.tangent!r})"

    # the primal is concrete (unless it belongs to a lower transform, which then answers)
    __str__ = __repr__

    def item(self):
        return self.primal.item()

    def tolist(self):
        return self.primal.tolist()

    def numpy(self, *, force=False):
        return self.primal.numpy(force=force)

    def __array__(self, dtype=None, copy=None):
        return self.primal.__array__(dtype)

    def __bool__(self):
        return bool(self.primal)


def _make_dual(interp, primal, tangent) -> DualTensor:
    t = object.__new__(DualTensor)
    t._interp, t.primal, t.tangent = interp, primal, tangent
    t._data, t.dtype, t._version = primal._data, primal.dtype, _version()
    return t


def _version():
    from ..tensor import _Version

    return _Version()


def _check_tangent(x, t, where="tangent"):
    if t is None:
        return None
    if not isinstance(t, Tensor):
        from ..ops.creation import as_tensor

        t = as_tensor(t, dtype=x.dtype)
    if tuple(t.shape) != tuple(x.shape):
        raise ValueError(
            f"{where}: a tangent must have its primal's shape, got tangent shape {tuple(t.shape)} for a primal of "
            f"shape {tuple(x.shape)}"
        )
    if not x.dtype.is_floating_point:
        raise TypeError(
            f"{where}: the primal has dtype {x.dtype.name}; only floating tensors have tangents. Pass None as its "
            "tangent (a zero tangent) or convert the primal with .float()"
        )
    if t.dtype is not x.dtype:
        raise TypeError(
            f"{where}: the tangent has dtype {t.dtype.name} but its primal has dtype {x.dtype.name}; they must match "
            f"(convert the tangent with .to(tg.{x.dtype.name}))"
        )
    return t


class ForwardMode(Interpreter):
    """One level of forward-mode differentiation; use it as a context (`with ForwardMode() as fw:`)."""

    wraps = True  # make_dual values; False while tensors are attached (their results stay plain Tensors)

    def __init__(self):
        self.attached = {}  # id(tensor) -> (tensor, its _interp before, tangent): attach mode

    def describe(self) -> str:
        return "forward-mode differentiation (jvp)"

    # *** values ***

    def lift(self, x: Tensor) -> Tensor:
        """x as a value of this level with a zero tangent."""
        return _make_dual(self, x, None)

    def make_dual(self, x: Tensor, tangent) -> DualTensor:
        """A new DualTensor with primal x and the given tangent (torch.autograd.forward_ad.make_dual)."""
        self._check_active("make_dual")
        return _make_dual(self, x, _check_tangent(x, tangent, "make_dual"))

    def attach(self, x: Tensor, tangent) -> Tensor:
        """Give the existing tensor x a tangent until this context exits; results computed from x are plain
        tensors whose tangents `tangent(y)` returns (TensorFlow's ForwardAccumulator)."""
        self._check_active("attach")
        if isinstance(x, InterpTensor):
            raise TypeError("attach: x is a transform's value; use make_dual for those")
        self._attach(x, _check_tangent(x, tangent, "attach"))
        return x

    def _attach(self, x, tangent):
        if id(x) in self.attached and x._interp is self:
            entry = self.attached[id(x)]
            self.attached[id(x)] = (x, entry[1], tangent)
        else:
            self.attached[id(x)] = (x, x._interp, tangent)
            x._interp = self
            self.wraps = False

    def unpack(self, y):
        """(primal, tangent) of y at this level; the tangent is None when it is zero."""
        if y._interp is not self:
            return y, None
        if isinstance(y, DualTensor):
            return y.primal, y.tangent
        return y, self.attached[id(y)][2]

    def tangent(self, y, zeros=True):
        """The tangent of y (zeros, or None with zeros=False, when y does not depend on a tangent)."""
        t = self.unpack(y)[1]
        if t is None and zeros and isinstance(y, Tensor):
            return y.zeros_like() if y.dtype.is_floating_point else None
        return t

    def primal(self, y):
        return self.unpack(y)[0]

    def _check_active(self, what):
        from ..primitives.base import INTERPRETERS

        if self not in INTERPRETERS:
            raise TapegradError(f"{what}: this ForwardMode is not active; call it inside `with ForwardMode() as fw:`")

    def __exit__(self, *exc):
        for x, prev, _ in self.attached.values():
            if x._interp is self:
                x._interp = prev
        self.attached = {}
        return super().__exit__(*exc)

    # *** the interpreter ***

    def process(self, prim, args, params):
        primals, tangents, lowered = [], [], None
        for a in args:
            if a._interp is not self:
                primals.append(a)
                tangents.append(None)
            elif isinstance(a, DualTensor):
                primals.append(a.primal)
                tangents.append(a.tangent)
            else:  # an attached plain tensor: it is its own primal, one level down while we compute
                _, prev, t = self.attached[id(a)]
                primals.append(a)
                tangents.append(t)
                lowered = lowered or []
                lowered.append((a, prev))
        if lowered:
            for a, prev in lowered:
                a._interp = prev
        try:
            out = bind(prim, *primals, **params)
            dout = None
            if prim.differentiable and any(t is not None for t in tangents):
                dout = prim.jvp(tangents, primals, out, **params)
        finally:
            if lowered:
                for a, _ in lowered:
                    a._interp = self
        if lowered and not any(isinstance(a, DualTensor) for a in args):
            if dout is not None:
                self._attach(out, dout)
                _keep_saved_output(prim, out)
            return out
        if dout is None and not wants_record(self, prim, args):
            return out  # a zero tangent: the lower-level value is the answer
        result = _make_dual(self, out, dout)
        record(self, prim, params, args, result)
        return result


def _keep_saved_output(prim, out):
    """Let out's Node hand the vjp rule `out` itself (with its tangent), not a bare copy of its data, so that
    a backward pass run while the tangents are attached carries them (forward over reverse, TF style)."""
    node = out.grad_fn
    if prim.saves_out and type(node) is engine.PrimNode:
        node.__class__ = LevelNode
        node.out_tensor = out


# *** the functional transform ***


def jvp(f, primals, tangents, has_aux=False):
    """Evaluate f at `primals` and its directional derivative along `tangents`, in one forward pass.

    Uses the primitives' forward-mode (jvp) rules, not two reverse passes.

    Args:
        f: a function of len(primals) positional arguments (pytrees of tensors) returning a pytree of tensors
            (with has_aux, a pair (output, aux)).
        primals: a tuple (or list) of the arguments.
        tangents: a tuple of the same structure, one tangent per tensor (None: a zero tangent).
    Returns:
        (output, output_tangent), or (output, output_tangent, aux) with has_aux.

    >>> import tapegrad as tg
    >>> tg.func.jvp(lambda x: x ** 3, (tg.tensor(2.0),), (tg.tensor(1.0),))
    (tensor(8.), tensor(12.))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp: primals and tangents must be tuples (or lists) of arguments, e.g. jvp(f, (x,), (v,)); "
            f"got {type(primals).__name__} and {type(tangents).__name__}"
        )
    p_leaves, p_def = tu.tree_flatten(tuple(primals))
    p_leaves = [as_leaf(p) for p in p_leaves]
    t_leaves, t_def = tu.tree_flatten(tuple(tangents), is_leaf=lambda t: t is None)
    if len(t_leaves) != len(p_leaves):
        raise ValueError(f"jvp: tangents have structure {t_def}, primals {p_def}; give one tangent per primal tensor")
    with ForwardMode() as fw:
        duals = [fw.make_dual(p, t) if isinstance(p, Tensor) else p for p, t in zip(p_leaves, t_leaves)]
        result = f(*tu.tree_unflatten(p_def, duals))
        out, aux = _split_aux(result, has_aux, "jvp")
        o_leaves, o_def = tu.tree_flatten(out)
        outs = [_primal_out(fw, o) for o in o_leaves]
        douts = [fw.tangent(o) if isinstance(o, Tensor) else None for o in o_leaves]
        if has_aux:
            aux = tu.tree_map(lambda a: _primal_out(fw, a), aux)
    pair = (tu.tree_unflatten(o_def, outs), tu.tree_unflatten(o_def, douts))
    return pair + (aux,) if has_aux else pair


def _primal_out(fw, o):
    return fw.primal(o) if isinstance(o, Tensor) and o._interp is fw else o


def _split_aux(result, has_aux, name):
    if not has_aux:
        return result, None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(f"{name}: with has_aux=True, f must return a pair (output, aux), got {type(result).__name__}")
    return result[0], result[1]

"""The Tensor front end: data, dtype, autograd state, views and in-place semantics.

The operations themselves are composites in ops/ (bound onto Tensor as methods by ops/__init__.py);
this module holds no derivative code. Depends on dtype.py and autograd/graph.py.
"""

from __future__ import annotations

import numpy as np

from . import dtype as dt
from .autograd import graph
from .autograd.grad_mode import STATE
from .errors import GradError, user_frame
from .primitives.base import DYNAMIC as _DYNAMIC


_BY_NP = dt._BY_NP
_new = object.__new__
# Functions called with every Tensor that Tensor._make creates. Empty in eager mode, so the hot path pays one truth
# test; trace/tracer.py registers one while any thread traces (to tell constants made inside a trace from captures).
CREATION_HOOKS: list = []


def _run_creation_hooks(t):
    for hook in CREATION_HOOKS:
        hook(t)



class _Version:
    """The version counter shared by a tensor and its views; bumped by every in-place change."""

    __slots__ = ("value", "op")

    def __init__(self):
        self.value, self.op = 0, None


class Tensor:
    """An n-dimensional array with a dtype, autograd state and PyTorch's semantics.

    Create tensors with `tg.tensor`, `tg.zeros`, `tg.randn`, ...; `Tensor(data)` also works.

    >>> import tapegrad as tg
    >>> x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([[2., 4.],
            [6., 8.]])
    """

    # Class-level defaults keep construction cheap: an instance stores only what differs.
    _rg = False  # requires_grad
    grad = None
    grad_fn = None
    _output_nr = 0
    _base = None  # the tensor whose storage this view shares
    _view_ops = None  # ((prim, params), ...) that rebuild this view from _base
    _view_version = None  # the version counter's value when this view's grad_fn was last set
    _hooks = None
    _post_accumulate_hooks = None
    _cut = None  # (kind, description) when this tensor was cut from a graph (for autograd.explain)
    _retains_grad = False
    _interp = None  # the transform (primitives.base.Interpreter) that owns this value; None: a plain tensor
    _weak = False  # made from a Python number or list (ops/operands.py): promotes as a Python scalar does
    __array_priority__ = 1000  # numpy scalars on the left defer to Tensor's reflected operators

    def __init__(self, data=None, *, dtype=None, requires_grad=False, device=None):
        from .ops.creation import tensor

        t = tensor([] if data is None else data, dtype=dtype, device=device)
        self._data, self.dtype, self._version = t._data, t.dtype, t._version
        if requires_grad:
            self.requires_grad_()

    @staticmethod
    def _make(data) -> Tensor:
        """Wrap a numpy array without copying (the hot path of every op)."""
        if type(data) is not np.ndarray:
            if getattr(data, "symbolic", False):  # a traced value (trace/tracer.py): keep it, with its tracer
                t = _new(Tensor)
                t._data, t.dtype, t._version, t._interp = data, data.tg_dtype, _Version(), data.tracer
                if CREATION_HOOKS:
                    _run_creation_hooks(t)
                return t
            data = np.asarray(data)
        t = _new(Tensor)
        t._data = data
        t.dtype = _BY_NP.get(data.dtype) or dt.from_numpy_dtype(data.dtype)
        t._version = _Version()
        if CREATION_HOOKS:
            _run_creation_hooks(t)
        return t

    # *** metadata ***

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        size = self._data.size
        return size if type(size).__name__ == "Dim" else int(size)  # symbolic while traced for None dims

    def element_size(self) -> int:
        return self.dtype.itemsize

    @property
    def device(self):
        from .device import CPU

        return CPU

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # *** conversion to Python and numpy ***

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a numpy array sharing memory. Allowed on a tensor that requires grad: the
        gradient stops there (autograd.explain reports it if it was the reason for a None gradient)."""
        if self._rg or self._cut is not None:  # the latter: x.detach().numpy() and the like
            from .autograd.explain import note_numpy_export

            note_numpy_export(self)
        if self._data.__class__ is not np.ndarray:
            raise self._data.concrete_error(".numpy()")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._data.__class__ is not np.ndarray:
            raise self._data.concrete_error("np.asarray()")
        if copy:
            return self._data.astype(dtype if dtype is not None else self._data.dtype, copy=True)
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self):
        if self._data.__class__ is not np.ndarray:
            raise self._data.concrete_error(".item() (or float(), int(), an index)")
        if self._data.size != 1:
            raise ValueError(
                f"item: a tensor with {self._data.size} elements (shape {self.shape}) cannot be converted "
                "to a Python scalar; only one-element tensors can"
            )
        return self._data.reshape(()).item() if self.dtype is not dt.bfloat16 else float(self._data.reshape(()))

    def tolist(self):
        if self._data.__class__ is not np.ndarray:
            raise self._data.concrete_error(".tolist()")
        if self.dtype is dt.bfloat16:
            return self._data.astype(np.float32).tolist()
        return self._data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.category == dt.FLOAT:
            raise TypeError(f"only integer tensors of a single element can be used as an index, got {self.dtype.name}")
        return int(self.item())

    def __bool__(self):
        if self._data.__class__ is not np.ndarray:
            raise self._data.concrete_error("bool() (a Python if, while, and, or, not)")
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of a tensor with {self._data.size} elements is ambiguous; use .any() or .all()"
            )
        return bool(self._data.reshape(()))

    __hash__ = object.__hash__  # by identity (C speed: tensors are dict keys in the backward sweep)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __repr__(self) -> str:
        return _format(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    def __deepcopy__(self, memo):
        out = Tensor._make(self._data.copy())
        if self._rg and self.is_leaf:
            out._rg = True
        if self.grad is not None:
            out.grad = Tensor._make(self.grad._data.copy())
        return out

    def __reduce__(self):
        return (_rebuild, (self._data.copy(), self._rg and self.is_leaf))

    # *** autograd ***

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag: bool):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not self.dtype.is_floating_point:
            raise TypeError(
                f"only tensors of floating dtype can require gradients, but this tensor is {self.dtype.name}: "
                f"integer and bool values have no derivative. Fix: cast first, e.g. x = x.float() "
                f"(or create it with dtype=tg.float32)"
            )
        if not self.is_leaf and not requires_grad:
            raise GradError(
                "you can only change requires_grad of leaf tensors; this one was computed by "
                f"{self.grad_fn.name()}. Use .detach() to get a tensor that does not require grad"
            )
        self._rg = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def data(self) -> Tensor:
        """The values, cut from the graph, sharing storage but not the version counter: in-place changes
        through .data are invisible to autograd (PyTorch's legacy escape hatch; prefer detach())."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data, self.dtype = value._data, value.dtype

    @property
    def _version_value(self) -> int:
        return self._version.value

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad (PyTorch semantics)."""
        from .autograd.api import backward

        backward(self, gradient, retain_graph, create_graph, inputs)

    def register_hook(self, hook):
        """hook(grad) -> new grad or None, called with this tensor's gradient during backward."""
        if not self._rg:
            raise GradError(
                "cannot register a hook on a tensor that does not require grad; call .requires_grad_() first"
            )
        if self._base is not None:
            self._sync_view()
        if self.grad_fn is None:
            self._hooks = (self._hooks or []) + [hook]
            return _RemovableHandle(self, "_hooks", hook)
        node = self.grad_fn
        if node.hooks is None:
            node.hooks = {}
        node.hooks.setdefault(self._output_nr, []).append(hook)
        return _RemovableHandle(node.hooks, self._output_nr, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor) called after `.grad` of this leaf was updated by backward."""
        if not self.is_leaf:
            raise GradError(
                "post-accumulate-grad hooks can only be registered on leaf tensors: only leaves accumulate into "
                f".grad, and this one was computed by {self.grad_fn.name()}. Use register_hook(hook) to see its "
                "gradient"
            )
        self._post_accumulate_hooks = (self._post_accumulate_hooks or []) + [hook]
        return _RemovableHandle(self, "_post_accumulate_hooks", hook)

    def retain_grad(self) -> None:
        """Keep `.grad` of this non-leaf tensor after backward (leaves always keep it)."""
        import weakref

        if not self._rg:
            raise GradError(
                "can't retain_grad on a tensor that has requires_grad=False: no gradient flows to it. Call "
                ".requires_grad_() on the leaf it is computed from, before computing it"
            )
        if self._base is not None:
            self._sync_view()
        if self.grad_fn is None:
            return
        node = self.grad_fn
        if node.retained is None:
            node.retained = {}
        node.retained[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    def detach(self) -> Tensor:
        """A tensor sharing storage (and version counter) with self, cut from the graph."""
        # NOTE: not a view for autograd (no _base), as in PyTorch: in-place changes of the result are
        # allowed even when self is a leaf that requires grad, and are seen by self's version counter.
        out = Tensor._make(self._data)
        out._version = self._version
        if self._rg:
            out._cut = ("detach", f"detach() at {user_frame()}")
        return out

    def detach_(self) -> Tensor:
        if self._base is not None and self._base._rg:
            raise GradError(
                "detach_: this tensor is a view of a tensor that requires grad, and a view cannot be cut from the "
                "graph in place (its base would still carry the history). Use t = t.detach() instead"
            )
        self.grad_fn, self._rg = None, False
        return self

    # *** in place ***

    def _inplace(self, new: Tensor, op: str) -> Tensor:
        """Make self hold `new` (an out-of-place result) in place, rebasing its autograd history.

        Checks come first, so that a refused operation leaves self untouched.
        """
        if new.shape != self.shape:
            try:
                new = new.expand(self.shape)
            except ValueError:
                raise ValueError(
                    f"{op}: the result has shape {tuple(new.shape)} but the tensor written in place has shape "
                    f"{tuple(self.shape)}; an in-place op cannot change the shape of its target"
                ) from None
        if new.dtype is not self.dtype:
            if new.dtype.category > self.dtype.category:
                raise TypeError(
                    f"{op}: result type {new.dtype.name} can't be cast to the dtype {self.dtype.name} of the tensor "
                    f"written in place; use the out-of-place op or convert the tensor first with .to({new.dtype.name})"
                )
            new = new.to(self.dtype)
        base = self._base
        recording = STATE.enabled and (new._rg or self._rg or (base is not None and base._rg))
        if recording:
            self._check_inplace_allowed(op)
            if new._rg and new.grad_fn is None:  # a leaf (copy_(leaf)): self must stay connected to it, not become it
                new = new.clone()
            elif self._rg and not new._rg:
                # NOTE: as in PyTorch, self stays in the graph after fill_ / zero_ / copy_ of a constant:
                # its old value gets a zero gradient (a where that never picks it).
                new = Tensor._make(np.zeros(self.shape, bool))._select(self, new)
        if not self._data.flags.writeable:
            raise RuntimeError(
                f"{op}: this tensor cannot be written in place: it is a broadcast (expanded) view whose elements "
                "share memory, or read-only data. Use .clone() first."
            )
        if _DYNAMIC:  # tracing: the tracer records the write (as an implicit output if self is captured state)
            _DYNAMIC[-1].write(self._data if self._data.__class__ is not np.ndarray else self, new)
        else:
            self._data[...] = new._data
        self._version.value += 1
        self._version.op = op
        if recording:
            self._rebase_history(new)
        return self

    def _check_inplace_allowed(self, op):
        leaf_msg = (
            f"{op}: a leaf tensor that requires grad is being used in an in-place operation; that would "
            "overwrite the value autograd differentiates with respect to. Fix: wrap the update in "
            "`with tg.no_grad():` (as an optimizer step does), or use an out-of-place op"
        )
        if self.is_leaf and self._rg and self._base is None:
            raise GradError(leaf_msg)
        base = self._base
        if base is not None and base.is_leaf and base._rg:
            raise GradError(leaf_msg.replace("a leaf tensor", "a view of a leaf tensor"))

    def _rebase_history(self, new: Tensor) -> None:
        base = self._base
        if base is None:
            self.grad_fn, self._output_nr, self._rg = new.grad_fn, new._output_nr, new._rg
            if not new._rg:
                self._cut = new._cut
            return
        # An in-place change through a view: the base now depends on its old value outside the view
        # and on `new` inside it (PyTorch's CopySlices); the view is rebuilt from the new base.
        node = CopySlices(base, new, self._view_ops)
        if new.grad_fn is not None and new.grad_fn.site is not None:  # anomaly mode noted the user's line
            node.site = new.grad_fn.site
        base.grad_fn, base._output_nr, base._rg = node, 0, True
        view = _replay_view(base, self._view_ops)
        self.grad_fn, self._output_nr, self._rg = view.grad_fn, view._output_nr, True
        self._view_version = self._version.value

    def _sync_view(self) -> None:
        """Rebuild a view's history from its base when the base (or another view of it) changed in place
        since the view's grad_fn was recorded; otherwise gradients would flow through the old values."""
        if self._view_version == self._version.value:
            return
        self._view_version = self._version.value
        if not self._base._rg:
            return
        from .autograd.grad_mode import enable_grad

        with enable_grad():
            view = _replay_view(self._base, self._view_ops)
        self.grad_fn, self._output_nr, self._rg = view.grad_fn, view._output_nr, True




class CopySlices(graph.Node):
    """The base of a view after an in-place change of the view: old base outside, new values inside."""

    def __init__(self, base, new, view_ops):
        super().__init__([graph.edge_of(base), graph.edge_of(new)])
        self.shape, self.dtype, self.view_ops = base.shape, base.dtype, view_ops

    def apply(self, grads, create_graph):
        # The view chain V (reshape, permute, slice) is injective, so T(V(g)), with T the chain's
        # transpose (its vjp), is g inside the view and zero outside: the old base gets the rest.
        g = grads[0]
        inside = _replay_view(g, self.view_ops)
        return g - self._transpose(inside), inside

    def _transpose(self, t):
        from .primitives import AVal

        avals = [AVal(self.shape, self.dtype)]
        for prim, params in self.view_ops:
            avals.append(prim.shape(avals[-1], **params))
        for (prim, params), x in zip(reversed(self.view_ops), reversed(avals[:-1])):
            (t,) = prim.vjp(t, x, out=None, **params)
        return t


def _replay_view(base, view_ops):
    """Apply a view's recipe (its chain of view primitives) to another base tensor."""
    from .primitives import bind

    out = base
    for prim, params in view_ops:
        out = bind(prim, out, **params)
    return out


class _RemovableHandle:
    def __init__(self, owner, key, hook):
        self.owner, self.key, self.hook = owner, key, hook

    def remove(self):
        if isinstance(self.owner, dict):
            hooks = self.owner.get(self.key, [])
            if self.hook in hooks:
                hooks.remove(self.hook)
        else:
            hooks = getattr(self.owner, self.key) or []
            setattr(self.owner, self.key, [h for h in hooks if h is not self.hook])


def _rebuild(data, requires_grad):
    t = Tensor._make(data)
    t._rg = requires_grad
    return t


# *** repr ***


def _format(t: Tensor) -> str:
    if t._data.__class__ is not np.ndarray:  # a traced value: shape and dtype only
        return f"tensor({t._data!r})"
    data = t._data.astype(np.float32) if t.dtype is dt.bfloat16 else t._data
    if t.dtype.is_floating_point:
        body = np.array2string(
            data, separator=", ", precision=4, suppress_small=True, prefix="tensor(", threshold=1000, edgeitems=3
        )
    else:
        body = np.array2string(data, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)
    extras = []
    default_dtypes = (dt.get_default_dtype(), dt.int64, dt.bool_)
    if t.dtype not in default_dtypes:
        extras.append(f"dtype=tg.{t.dtype.name}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._rg:
        extras.append("requires_grad=True")
    if t._data.size == 0:
        extras.insert(0, f"size={tuple(t.shape)}")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"

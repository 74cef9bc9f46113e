"""The tracer: a dynamic interpreter that records every primitive bound while it is active into a Graph.

Depends on primitives/base.py (the interpreter protocol, shape rules), autograd/engine.py (so that
symbolic tensors carry grad_fn Nodes and backward passes run, and record, at trace time) and
trace/ir.py. Called by trace/function.py (tg.function / tg.jit) and by the structured control flow.
"""

from __future__ import annotations

import math
import threading
import weakref

import numpy as np

from ..dtype import FLOAT, int64 as INT64
from ..autograd import engine
from ..autograd.grad_mode import STATE
from ..errors import TraceError, user_frame
from ..primitives.base import SCOPE, AVal, Interpreter, ThreadStack
from ..tensor import CREATION_HOOKS, Tensor, _Version
from .ir import Eqn, Graph, Var, type_str

_FIX = (
    "A traced function runs once on symbolic values to record a graph, so Python cannot branch or loop "
    "on their contents. Fix: use tg.cond / tg.switch_case for a data-dependent branch, tg.while_loop for a "
    "data-dependent loop, or mark the argument static (tg.jit(f, static_argnums=...) / a Python value in "
    "tg.function) so that each value gets its own graph."
)


class SymData:
    """The data of a traced Tensor: shape and dtype, and a cell holding the Var it stands for.

    An in-place write re-points the cell (`var`), so tensors that share it (detach(), Tensor._make of the
    same data) see the new value, as tensors sharing storage do in eager mode.
    """

    symbolic = True
    __slots__ = ("var", "tracer", "is_view")

    class _Flags:
        writeable = True
        c_contiguous = True

    flags = _Flags()

    def __init__(self, var: Var, tracer, is_view: bool = False):
        self.var, self.tracer, self.is_view = var, tracer, is_view

    shape = property(lambda self: self.var.aval.shape)
    ndim = property(lambda self: len(self.var.aval.shape))
    size = property(lambda self: math.prod(self.var.aval.shape))  # a Dim when a size is symbolic (trace/dims.py)
    dtype = property(lambda self: self.var.aval.dtype.np)
    tg_dtype = property(lambda self: self.var.aval.dtype)

    def known(self):
        """The value of a size tensor made from symbolic sizes (an object array of ints and Dims), or None."""
        return self.tracer.known.get(self.var.id)

    def copy(self):
        return SymData(self.var, self.tracer)  # a new cell: later in-place writes to one do not reach the other

    def __setitem__(self, key, value):
        self.tracer.write(self, value)

    def describe(self) -> str:
        v = self.var
        made = v.hint or "a traced value"
        return f"{made} ({type_str(v.aval)})"

    def concrete_error(self, what: str) -> TraceError:
        if self.tracer.finished:
            return TraceError(
                f"{what} on {self.describe()}, a symbolic value left over from a finished trace of "
                f"{self.tracer.name!r}: it escaped the traced function (stored in a list, an attribute or optimizer "
                "state). Return it from the function instead, or create that state before the first call."
            )
        return TraceError(f"{what} needs the concrete value of {self.describe()}, which is symbolic while tracing "
                          f"{self.tracer.name!r}. {_FIX}")

    def __array__(self, dtype=None, copy=None):
        raise self.concrete_error("converting to a numpy array")

    def __bool__(self):
        raise self.concrete_error("bool()")

    def reshape(self, *shape):
        raise self.concrete_error("reading the value")

    item = tolist = astype = reshape

    def __repr__(self) -> str:
        return f"Traced<{type_str(self.var.aval)}>"


def is_symbolic(t) -> bool:
    return isinstance(t, Tensor) and type(t._data) is SymData


# Tracers that are recording now in this thread, outermost first (tensors created while they run are constants to
# them). The creation hook is registered while a tracer runs in any thread, and counts its users across threads.
_ACTIVE = ThreadStack()
_HOOK_USERS = [0]
_HOOK_LOCK = threading.Lock()


def _note_created(t):
    data = t._data
    if type(data) is SymData:
        data.tracer.made.append(weakref.ref(t))
    else:
        for tr in _ACTIVE:
            tr.created[id(t)] = weakref.ref(t)


def _use_creation_hook(delta: int):
    with _HOOK_LOCK:
        _HOOK_USERS[0] += delta
        registered = _note_created in CREATION_HOOKS
        if _HOOK_USERS[0] > 0 and not registered:
            CREATION_HOOKS.append(_note_created)
        elif _HOOK_USERS[0] == 0 and registered:
            CREATION_HOOKS.remove(_note_created)


class Tracer(Interpreter):
    """Records primitives into equations; values it owns are Tensors whose data is a SymData.

    Inputs of an equation that the tracer did not make are classified once:
      - a tensor created while tracing (a constant such as the 2.0 of x * 2.0): a literal Var;
      - any other tensor (a Parameter, Variable, optimizer state, a tensor of an enclosing trace):
        captured, i.e. an implicit input fed with its current value on every call.
    In-place writes to captured tensors are redirected here and become implicit outputs written back.
    """

    dynamic = True

    def __init__(self, name: str = "f", first: bool = True):
        self.name = name
        self.first = first  # the first trace of its function: the only one allowed to create state (Variables)
        self.made: list = []  # weakrefs to the symbolic tensors made here (to find those that escape)
        self.new_state: list = []  # tensors registered as created while tracing (tg.Variable), see state_created
        self.inputs: list = []
        self.eqns: list = []
        self.created: dict = {}  # id(tensor) -> weakref, for tensors made while tracing (constants)
        self.captures: list = []  # [(tensor, Var)] in capture order
        self.current: dict = {}  # id(tensor) -> (tensor, Var): the value of a captured or constant tensor after writes
        self.grad_before: dict = {}  # id(tensor) -> its .grad when first captured
        self.sizes: dict = {}  # Dim -> Var: placeholders for symbolic sizes used as values, constants once specialised
        self.known: dict = {}  # Var id -> object array of ints and Dims: the values of small size tensors
        self.finished = False

    # *** entering and leaving ***

    def __enter__(self):
        super().__enter__()
        _ACTIVE.append(self)
        _use_creation_hook(+1)
        return self

    def __exit__(self, *exc):
        _ACTIVE.remove(self)
        _use_creation_hook(-1)
        return super().__exit__(*exc)

    # *** values ***

    def new_input(self, aval: AVal, hint: str = "") -> Tensor:
        v = Var(aval, hint=hint)
        self.inputs.append(v)
        return self.tensor(v)

    def size_tensor(self, dim) -> Tensor:
        """A symbolic size (trace/dims.py Dim) as an int64 scalar: a placeholder Var that no equation defines;
        specialising the graph for concrete sizes turns it into a constant (trace/function.py)."""
        v = self.sizes.get(dim)
        if v is None:
            v = self.sizes[dim] = Var(AVal((), INT64), hint=f"the size {dim}")
            self.known[v.id] = np.array(dim, dtype=object)
        return self.tensor(v)

    def tensor(self, v: Var, is_view: bool = False) -> Tensor:
        t = object.__new__(Tensor)
        t._data, t.dtype, t._version, t._interp = SymData(v, self, is_view), v.aval.dtype, _Version(), self
        return t

    def var_of(self, t) -> Var:
        """The Var standing for tensor t in this trace (capturing or making a constant on first sight)."""
        d = t._data
        if type(d) is SymData:
            if d.tracer is self:
                return d.var
            if d.tracer.finished:
                raise d.concrete_error("an operation")
        hit = self.current.get(id(t))
        if hit is not None:
            return hit[1]
        if type(d) is not SymData and self._made_here(t):
            return Var(AVal(d.shape, t.dtype), const=d)
        return self._capture(t)

    def _made_here(self, t) -> bool:
        r = self.created.get(id(t))
        return r is not None and r() is t

    def _capture(self, t) -> Var:
        v = Var(AVal(t.shape, t.dtype), hint=_capture_hint(t))
        self.captures.append((t, v))
        self.current[id(t)] = (t, v)
        self.grad_before[id(t)] = t.grad
        return v

    # *** the interpreter protocol ***

    def process(self, prim, args, params):
        invars = [self.var_of(a) for a in args]
        try:
            aval = prim.shape(*[v.aval for v in invars], **params)
        except (ValueError, TypeError) as e:
            raise type(e)(f"{e} (while tracing {self.name!r} at {user_frame()})") from None
        out_var = Var(aval)
        if self.known:
            self._propagate_known(prim, invars, params, out_var)
        scope, phase = _scope_phase()
        self.eqns.append(Eqn(prim, invars, [out_var], dict(params), user_frame(), scope, phase))
        out = self.tensor(out_var, prim.is_view)
        self.made.append(weakref.ref(out))
        out_var.hint = f"the result of {prim.name} at {self.eqns[-1].where}"
        if STATE.enabled and prim.differentiable and out.dtype.category == FLOAT:
            engine.record(prim, params, args, out)
            if scope and out.grad_fn is not None:
                out.grad_fn.scope = scope  # its vjp's equations are recorded in this scope (see _scope_phase)
        return out

    def _propagate_known(self, prim, invars, params, out_var) -> None:
        """Track the value of small integer tensors computed from sizes (tf.shape(x)[0] * 2, ...), so that a
        reshape to them can use the symbolic sizes: the primitive's numpy implementation runs on object arrays,
        where Dims do their own arithmetic. Anything it cannot compute is simply not known."""
        if not any(v.id in self.known for v in invars) or len(out_var.shape) > 1:
            return
        ins = []
        for v in invars:
            k = self.known.get(v.id)
            if k is None:
                if v.const is None or v.const.size > 16 or v.const.dtype.kind not in "iub":
                    return
                k = v.const.astype(object)
            ins.append(k)
        if prim.name == "cast":
            out = ins[0] if params["dtype"].category == INT64.category else None
        else:
            try:
                out = np.asarray(prim.impl(*ins, **params), dtype=object)
            except Exception:  # noqa: BLE001  (not computable on sizes: the value stays unknown)
                return
        if out is not None and out.shape == tuple(out_var.shape):
            self.known[out_var.id] = out

    def add_eqn(self, prim, args, params, avals) -> list:
        """Record a multi-output equation (structured control flow); returns its output tensors."""
        invars = [self.var_of(a) for a in args]
        outs = [Var(a) for a in avals]
        scope, phase = _scope_phase()
        self.eqns.append(Eqn(prim, invars, outs, params, user_frame(), scope, phase))
        for v in outs:
            v.hint = f"a result of {prim.name} at {self.eqns[-1].where}"
        res = [self.tensor(v) for v in outs]
        self.made += [weakref.ref(t) for t in res]
        return res

    def write(self, cell_or_tensor, new) -> None:
        """An in-place write `target[...] = new` while tracing (Tensor._inplace and SymData.__setitem__)."""
        nv = self.var_of(new) if isinstance(new, Tensor) else self.var_of(Tensor._make(np.asarray(new)))
        if type(cell_or_tensor) is SymData:
            cell = cell_or_tensor
            if cell.tracer is not self:
                raise TraceError(
                    f"in-place update of {cell.describe()}, a value of an enclosing trace, inside a nested traced "
                    "function or control-flow body; return the new value and assign it outside instead"
                )
            if cell.is_view:
                raise TraceError(
                    f"in-place update through a view ({cell.describe()}) inside a traced function: writes through "
                    "views of traced values are not recorded. Fix: update the tensor itself (x[idx] = v on x), "
                    "or use an out-of-place op such as tg.where or index_put"
                )
            cell.var = nv
            return
        t = cell_or_tensor
        if isinstance(t._data, SymData):  # a Tensor whose data is an enclosing trace's value
            raise TraceError(f"in-place update of {t._data.describe()} from an enclosing trace; return it instead")
        if id(t) not in self.current and not self._made_here(t):
            self._capture(t)
        self.current[id(t)] = (t, nv)

    def register_state(self, t, what: str) -> None:
        """A persistent tensor (a tg.Variable) is being created while tracing. Allowed on the first trace of a
        function only (the trace then runs once and the function is traced again, reading the new state); on a
        later trace it would be a new object on every call, which a graph cannot express."""
        if not self.first:
            raise TraceError(
                f"{what} was created inside {self.name!r} while it was traced again (not its first trace). A traced "
                "function may create Variables on its first trace only: the graph of later calls reads the state "
                "created then, so a Variable made on every call cannot be expressed (each call would need a new "
                "one). Fix: create the Variable outside the function (e.g. in __init__ or before the first call), or "
                "create it on the first call only (`if self.v is None: self.v = tg.Variable(...)`)."
            )
        self.created.pop(id(t), None)  # not a constant: read as a captured input, like state made before the trace
        self.new_state.append(t)

    # *** the result ***

    def escaped(self, keep: list) -> tuple:
        """State created while tracing: ([(tensor, final Var)] of tensors made here that are still referenced
        after the function returned, other than by `keep`), for
          - concrete tensors made here and then updated in place (Adam's zeros_like moments, its step count), and
          - symbolic tensors made here (SGD's momentum buffer `grad.clone()` stored in optimizer state),
        and whether a Variable was created. Such a trace took the "state does not exist yet" path of the Python
        code, so its graph is right for this one call only."""
        import gc

        keep_ids = {id(t) for t in keep}
        written = [(weakref.ref(t), v) for k, (t, v) in list(self.current.items())
                   if type(t._data) is not SymData and self._made_here(t)]
        for r, _ in written:
            del self.current[id(r())]

        def alive():
            out = [(r(), v) for r, v in written if r() is not None and id(r()) not in keep_ids]
            for r in self.made:
                t = r()
                if t is not None and id(t) not in keep_ids and type(t._data) is SymData and t._data.tracer is self:
                    out.append((t, t._data.var))
            return out

        found = alive()
        if found:
            del found
            gc.collect()  # temporaries kept only by reference cycles are not state
            found = alive()
        for t, v in found:  # put the tensors back: the trace goes on to read them
            if type(t._data) is not SymData:
                self.current[id(t)] = (t, v)
        return found, bool(self.new_state)

    def finish(self, outputs: list) -> Graph:
        out_vars = [self.var_of(o) for o in outputs]
        self.finished = True
        return Graph(list(self.inputs), list(self.eqns), out_vars, self.name)

    def writebacks(self) -> list:
        """[(tensor, Var)] for captured tensors whose value was changed in place."""
        return [(t, self.current[id(t)][1]) for t, v in self.captures if self.current[id(t)][1] is not v]

    def grad_writes(self) -> list:
        """[(tensor, new .grad)] for captured tensors whose .grad was assigned while tracing; restores the
        old .grad (the trace must leave no symbolic value behind: the graph's run writes the real one)."""
        out = []
        for t, _ in list(self.captures):
            before = self.grad_before[id(t)]
            if t.grad is not before:
                out.append((t, t.grad))
                t.grad = before
        return out


def _scope_phase() -> tuple:
    """(scope, phase) of the equation being recorded. Phase is "backward" when bound by a backward sweep (the
    engine says so: engine.APPLYING), else "forward". The scope is the innermost module path on SCOPE (pushed by
    nn.Module.__call__); in a backward sweep it is the scope of the forward op whose vjp is running (tagged by
    Tracer.process), or "" when that node was not recorded inside a module (a custom Function, a hook)."""
    if engine.APPLYING:
        return getattr(engine.APPLYING[-1], "scope", ""), "backward"
    return (SCOPE[-1][1] if SCOPE else ""), "forward"


def _capture_hint(t) -> str:
    kind = type(t).__name__
    return f"a captured {kind} of shape {tuple(t.shape)}"


def current_tracer():
    """The innermost active tracer, or None."""
    return _ACTIVE[-1] if _ACTIVE else None

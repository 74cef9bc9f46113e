"""tg.function and tg.jit: one cached tracer per Python function, a Graph per input signature.

Depends on trace/tracer.py (recording), passes/ (optimisation) and backends/plan.py (running). The
public names are exported from tapegrad/__init__.py.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import threading
import warnings

import numpy as np

dt = importlib.import_module("..dtype", __package__)  # (tapegrad.dtype is shadowed by tg.dtype, the class)
from ..autograd.grad_mode import ANOMALY, STATE, no_grad
from ..errors import TraceError
from ..primitives.base import AVal
from ..tensor import Tensor
from .ir import Graph, TapeData, type_str
from .tracer import _ACTIVE as _TRACERS, SymData, Tracer

RETRACE_WARNING_AFTER = 2  # warn from the third trace of one function on


class RetraceWarning(UserWarning):
    """A traced function was traced again for a new input signature (tracing is slow; graphs are cached)."""


# *** pytrees: nested tuples, lists and dicts; Tensors (and numpy arrays) are leaves, anything else is static ***


def _sorted_keys(d):
    from ..func.tree_util import _sorted_keys as ordered

    return ordered(d)


def flatten(tree, path="", leaves=None, paths=None):
    """(leaves, structure, paths): Tensors and numpy arrays become leaves; other values stay in `structure`."""
    leaves = [] if leaves is None else leaves
    paths = [] if paths is None else paths
    if isinstance(tree, (tuple, list)) and not hasattr(tree, "_fields"):
        sub = [flatten(x, f"{path}[{i}]", leaves, paths)[1] for i, x in enumerate(tree)]
        return leaves, (type(tree), tuple(sub)), paths
    if isinstance(tree, dict):
        keys = _sorted_keys(tree)  # as JAX: {'a', 'b'} and {'b', 'a'} are one signature (no retrace)
        sub = [flatten(tree[k], f"{path}[{k!r}]", leaves, paths)[1] for k in keys]
        return leaves, (dict, (tuple(keys), tuple(sub))), paths
    if isinstance(tree, (Tensor, np.ndarray)):
        leaves.append(tree)
        paths.append(path)
        return leaves, "*", paths
    return leaves, ("static", tree), paths


def unflatten(structure, leaves):
    it = iter(leaves)
    return _build(structure, it)


def _build(s, it):
    if s == "*":
        return next(it)
    kind, body = s
    if kind == "static":
        return body
    if kind is dict:
        keys, subs = body
        return {k: _build(x, it) for k, x in zip(keys, subs)}
    return kind(_build(x, it) for x in body)


def _static_key(s):
    """A hashable form of a structure (static values by value when hashable, else by identity)."""
    if s == "*":
        return s
    kind, body = s
    if kind == "static":
        try:
            hash(body)
            return ("static", type(body), body)
        except TypeError:
            return ("static-id", id(body))
    if kind is dict:
        return (dict, body[0], tuple(_static_key(x) for x in body[1]))
    return (kind, tuple(_static_key(x) for x in body))


# *** TensorSpec and signatures ***


class TensorSpec:
    """The shape and dtype a tg.function accepts for one argument; None in shape accepts any size there.

    >>> import tapegrad as tg
    >>> spec = tg.TensorSpec((None, 3), tg.float32)
    >>> spec
    TensorSpec(shape=(None, 3), dtype=float32)
    """

    def __init__(self, shape, dtype=None, name: str | None = None):
        self.shape = tuple(shape)
        self.dtype = dt.as_dtype(dtype) if dtype is not None else dt.get_default_dtype()
        self.name = name

    def accepts(self, t) -> bool:
        return (
            len(t.shape) == len(self.shape)
            and all(s is None or s == n for s, n in zip(self.shape, t.shape))
            and _dtype_of(t) is self.dtype
        )

    def __repr__(self) -> str:
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype.name})"


def _dtype_of(x) -> dt.DType:
    return x.dtype if isinstance(x, Tensor) else dt.from_numpy_dtype(x.dtype)


def _fast_key(args, grad: bool):
    """The fast path's key of positional arguments: (shape, dtype) of each, and with grad mode on whether it requires
    grad (a part of the cache key then); None when one is not a plain tensor (a number, an array, a value being
    traced or batched)."""
    key = []
    for a in args:
        if not isinstance(a, Tensor):
            return None
        d = a._data
        if (type(d) is not np.ndarray and type(d) is not TapeData) or a._interp is not None:
            return None
        key.append(d.shape)
        key.append(a.dtype)
        if grad:
            key.append(a._rg)
    return tuple(key)


def _inside_a_transform(args, kwargs) -> bool:
    """A tracer is recording, or an argument is a transform's value (vmap, jvp, a grad level, a tracer's)."""
    if _TRACERS.items:
        return True
    leaves = flatten((args, kwargs))[0]
    return any(isinstance(x, Tensor) and x._interp is not None for x in leaves)


def _leaf_key(x):
    return (tuple(x.shape), _dtype_of(x).name, bool(isinstance(x, Tensor) and x._rg and STATE.enabled))


def _matches(generic, key) -> bool:
    """Whether a cache key with None dimensions accepts a concrete key (same structure, dtypes, ranks)."""
    if generic[1:] != key[1:] or len(generic[0]) != len(key[0]):
        return False
    for (gs, gd, gg), (s, d, g) in zip(generic[0], key[0]):
        if gd != d or gg != g or len(gs) != len(s) or any(a is not None and a != b for a, b in zip(gs, s)):
            return False
    return True


def _relax(old, new):
    """One leaf's key with None where the two shapes differ, or None when dtype, rank or requires_grad differ."""
    (s0, d0, g0), (s1, d1, g1) = old, new
    if d0 != d1 or g0 != g1 or len(s0) != len(s1):
        return None
    return (tuple(a if a == b else None for a, b in zip(s0, s1)), d0, g0)


def _describe_change(name, old, new) -> str:
    (s0, d0, g0), (s1, d1, g1) = old, new
    if s0 != s1:
        return f"{name}: shape {s0} -> {s1}"
    if d0 != d1:
        return f"{name}: dtype {d0} -> {d1}"
    return f"{name}: requires_grad {g0} -> {g1}"


# *** the traced function ***


class ConcreteFunction:
    """One traced Graph with how to call it: explicit inputs, captured state, write-backs, output structure."""

    def __init__(self, graph, captures, writebacks, grad_writes, out_struct, n_explicit, grad_reads, backend=None):
        self.graph = graph
        self.backend = backend  # "c", "numpy" or None (TAPEGRAD_BACKEND decides when the plan is built)
        self.captures = captures  # [(tensor or ("grad", owner))] fed after the explicit inputs
        self.writebacks = writebacks  # [tensor] whose new values are the outputs after the explicit ones
        self.grad_writes = grad_writes  # [(tensor, is_none)] whose .grad is set from the outputs after those
        self.out_struct = out_struct
        self.n_explicit = n_explicit
        self.grad_reads = grad_reads
        self.tensor_captures = [c for c in captures if not isinstance(c, tuple)]  # (the fast path checks _rg)
        self.one_shot = False  # the trace created state: right for the call that traced it only (not cached)
        self.symbols = ()  # [(name, leaf index, axis)] of symbolic sizes: the graph is generic (see specialise)
        self.sizes: dict = {}  # Dim -> placeholder Var, for sizes used as values (trace/tracer.py size_tensor)
        self.optimize = True
        self._special: dict = {}  # concrete sizes -> ConcreteFunction
        self._plan = None
        self._const_outputs = None  # indices of the outputs that are constants (copied on every call)
        self._plain = False  # (set by the first call) no constant outputs, captures or write-backs: the short path
        self._lock = threading.Lock()

    def plan(self):
        if self._plan is None:
            with self._lock:  # threads whose first calls race compile once
                if self._plan is None:
                    from ..backends.base import compile_graph

                    self.graph.in_place = self._in_place()
                    self._plan = compile_graph(self.graph, self.backend)
        return self._plan

    def _in_place(self) -> dict:
        """{output index: input index} for the write-backs into captured tensors: a backend may write such an
        output straight into the input's array (the C plan does where nothing can tell), and then the copy after
        the call is skipped (`val is t._data`)."""
        n_in = len(self.graph.inputs) - len(self.captures)
        first = len(self.graph.outputs) - len(self.writebacks) - sum(1 for _, none in self.grad_writes if not none)
        where = {id(c): n_in + k for k, c in enumerate(self.captures) if not isinstance(c, tuple)}
        return {first + j: where[id(t)] for j, t in enumerate(self.writebacks) if id(t) in where}

    def specialise(self, leaves) -> ConcreteFunction:
        """The function for the concrete sizes of these inputs: itself when its graph has no symbolic sizes, else
        the generic graph with the sizes substituted and every shape rule run again, optimised, and cached per
        size (the backends compile kernels for concrete shapes; the Python function is not traced again)."""
        if not self.symbols:
            return self
        env = {name: int(leaves[i].shape[axis]) for name, i, axis in self.symbols}
        key = tuple(env[name] for name, _, _ in self.symbols)
        cf = self._special.get(key)
        if cf is None:
            from .specialise import specialise_graph

            graph = specialise_graph(self.graph, env, self.sizes)
            if self.optimize:
                from ..passes import optimize

                graph = optimize(graph)
            cf = ConcreteFunction(graph, self.captures, self.writebacks, self.grad_writes, self.out_struct,
                                  self.n_explicit, self.grad_reads, self.backend)
            cf.one_shot = self.one_shot
            self._special[key] = cf
        return cf

    def guard_failure(self):
        """Why the captured state no longer fits this graph (a .grad it reads became None...), or None."""
        for c in self.captures:
            if isinstance(c, tuple):
                owner = c[1]
                g = owner.grad
                if g is None or type(g._data) is SymData:
                    return f"{_capture_name(owner)}.grad: tensor -> None"
        return None

    def __call__(self, *leaves):
        if self._plain:  # (the common case, by itself: a call of a small function is mostly this Python)
            outs = (self._plan or self.plan())([x._data if isinstance(x, Tensor) else x for x in leaves])
            for i, o in enumerate(outs):
                if type(o) is not np.ndarray or not o.flags.writeable:  # a numpy scalar, a read-only view
                    outs[i] = np.array(o, copy=True)
            if self.out_struct == "*":
                return Tensor._make(outs[0])
            return unflatten(self.out_struct, [Tensor._make(r) for r in outs])
        if self.symbols:
            return self.specialise(leaves)(*leaves)
        feed = [x._data if isinstance(x, Tensor) else x for x in leaves]
        for c in self.captures:
            feed.append(c[1].grad._data if isinstance(c, tuple) else c._data)
        # NOTE: no lock here: every plan serialises its own calls (its buffers and kernel argument arrays are reused
        # by every call), and what the call returns is its own
        outs = (self._plan or self.plan())(feed)
        consts = self._const_outputs
        if consts is None:
            consts = self._const_outputs = [i for i, v in enumerate(self.graph.outputs) if v.const is not None]
            self._plain = (not consts and not self.captures and not self.writebacks and not self.grad_writes
                           and all(v.dtype.name != "tape" for v in self.graph.outputs))
        for i in consts:
            outs[i] = np.array(outs[i], copy=True)  # the plan's own constant: the caller may write to it
        for i, o in enumerate(outs):
            if type(o) is not np.ndarray or not o.flags.writeable:  # a numpy scalar, a read-only view
                outs[i] = _tape(o) if type(o) is TapeData else np.array(o, copy=True)
        if not self.writebacks and not self.grad_writes:
            if self.out_struct == "*":
                return _out_tensor(outs[0])
            return unflatten(self.out_struct, [_out_tensor(r) for r in outs])
        n = len(outs) - len(self.writebacks) - sum(1 for _, none in self.grad_writes if not none)
        results, rest = outs[:n], outs[n:]
        for t, val in zip(self.writebacks, rest):
            if isinstance(t, tuple):  # the .grad of a captured tensor, as it is now
                t = t[1].grad
            if val is not t._data:  # (it is when the plan wrote the new value in place)
                t._data[...] = val
            t._version.value += 1
        k, unique = n + len(self.writebacks), getattr(getattr(self._plan, "core", None), "unique_outputs", ())
        for t, none in self.grad_writes:
            if none:
                t.grad = None
            else:  # a new array no other output shares is kept as it is (a 1.6 MB copy per W1 step otherwise)
                t.grad = Tensor._make(outs[k] if k in unique else np.array(outs[k], copy=True))
                k += 1
        return unflatten(self.out_struct, [_out_tensor(r) for r in results])

    def __str__(self) -> str:
        return str(self.graph)


def _tape(data):
    from .control import tape_tensor

    return tape_tensor(data)


def _out_tensor(r):
    """An output array as a Tensor (a loop's tape, kept for a backward pass, arrives as a Tensor already)."""
    return r if isinstance(r, Tensor) else Tensor._make(r)


def _capture_name(t) -> str:
    return f"captured {type(t).__name__} {type_str(AVal(t.shape, t.dtype))}"


class Function:
    """A Python function traced into graphs: one Graph per input signature, run by the plan executor."""

    def __init__(self, fn, *, input_signature=None, reduce_retracing=False, static_argnums=(), static_argnames=(),
                 donate_argnums=(), optimize=True, name=None, backend=None):
        self.fn = fn
        if backend is not None:
            from ..backends.base import resolve

            resolve(backend)  # an unknown name fails here, not at the first call
        self.backend = backend
        self.name = name or getattr(fn, "__name__", "f")
        self.input_signature = list(input_signature) if input_signature is not None else None
        self.reduce_retracing = reduce_retracing
        self.static_argnums = {static_argnums} if isinstance(static_argnums, int) else set(static_argnums)
        self.static_argnames = {static_argnames} if isinstance(static_argnames, str) else set(static_argnames)
        self.donate_argnums = donate_argnums  # accepted for JAX compatibility: numpy buffers are never donated
        self.optimize = optimize
        self.cache: dict = {}
        self.trace_count = 0
        self._last_key = None
        self._last_names = None
        self._state_created = None  # what the last trace created (when it did): the next trace's reason
        self._trace_lock = threading.RLock()  # re-entrant: a function may call itself while it is traced
        self._fast: dict = {}  # fast key (_fast_key) -> (ConcreteFunction, leaf order): calls of known signature
        try:
            self._sig = inspect.signature(fn)
        except (TypeError, ValueError):
            self._sig = None
        functools.update_wrapper(self, fn)

    def __get__(self, obj, objtype=None):  # decorating a method: bind self as a static argument
        if obj is None:
            return self
        return functools.partial(self.__call__, obj)

    # *** arguments ***

    def _split(self, args, kwargs):
        """(dynamic tree, static values, argument names): static arguments are part of the cache key only."""
        if self._sig is not None:
            try:
                bound = self._sig.bind(*args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{self.name}: {e}") from None
            names = list(bound.arguments)
            values = list(bound.arguments.values())
        else:
            names, values = [f"arg{i}" for i in range(len(args))] + list(kwargs), list(args) + list(kwargs.values())
        dyn, static = {}, {}
        for i, (n, v) in enumerate(zip(names, values)):
            if i in self.static_argnums or n in self.static_argnames:
                try:
                    hash(v)
                except TypeError:
                    raise ValueError(
                        f"{self.name}: static argument {n!r} must be hashable (it is part of the cache key), got a "
                        f"{type(v).__name__}; pass a tuple instead of a list, or make it a traced argument"
                    ) from None
                static[n] = v
            else:
                dyn[n] = v
        return dyn, static, names

    def _check_signature(self, leaves, paths):
        if self.input_signature is None:
            return
        if len(leaves) != len(self.input_signature):
            raise TypeError(
                f"{self.name}: input_signature has {len(self.input_signature)} TensorSpecs but the call passes "
                f"{len(leaves)} tensors"
            )
        for spec, x, p in zip(self.input_signature, leaves, paths):
            if not spec.accepts(x):
                raise ValueError(
                    f"{self.name}: argument {p} has shape {tuple(x.shape)} and dtype {_dtype_of(x).name}, which does "
                    f"not match its input_signature entry {spec}; a None dimension accepts any size, the others "
                    "must be equal"
                )

    # *** tracing ***

    def _key(self, dyn, static):
        leaves, struct, paths = flatten(dyn)
        self._check_signature(leaves, paths)
        leaf_keys = tuple(_leaf_key(x) for x in leaves)
        if self.input_signature is not None:  # a None dimension is symbolic: one trace for every size there
            leaf_keys = tuple((spec.shape,) + k[1:] for spec, k in zip(self.input_signature, leaf_keys))
        key = (leaf_keys, _static_key(struct), tuple(sorted((k, _static_key(("static", v))) for k, v in static.items())))
        return key, leaves, struct, paths

    def _trace(self, dyn, static, leaves, struct, paths, key=None):
        tracer = Tracer(self.name, first=self.trace_count == 1)
        shapes, symbols = _symbolic_shapes(tracer, key, leaves, paths)
        with tracer:
            sym = [tracer.new_input(AVal(shape, _dtype_of(x)), hint=_pretty(p))
                   for p, x, shape in zip(paths, leaves, shapes)]
            for s, x in zip(sym, leaves):
                if isinstance(x, Tensor) and x._rg and STATE.enabled:
                    s._rg = True  # a leaf of the trace: backward inside reaches it, grad(jit(f)) differentiates it
            merged = dict(unflatten(struct, sym))
            merged.update(static)
            out = self._invoke(merged)
            out_leaves, out_struct, _ = flatten(out)
            n_out = len(out_leaves)
            writes = tracer.writebacks()
            grad_writes = tracer.grad_writes()
            for x in out_leaves:
                if isinstance(x, Tensor) and type(x._data) is SymData:
                    x.grad_fn = None  # drop the trace-time autograd history of the outputs
            del out, merged
            created, made_variable = tracer.escaped(out_leaves + [g for _, g in grad_writes if g is not None])
            for t, v in created:  # state created by this trace: make it concrete, written back after the call
                if type(t._data) is SymData:
                    t._data, t._interp, t.grad_fn = np.zeros(v.aval.shape, v.aval.dtype.np), None, None
                writes.append((t, v))
            extra = [_plain_or_sym(tracer, t, v) for t, v in writes]
            extra += [g for _, g in grad_writes if g is not None]
            graph = tracer.finish([_as_tensor(o) for o in out_leaves] + extra)
        graph.name = self.name
        captures, grad_reads = _classify_captures(tracer)
        graph.inputs = graph.inputs + [v for _, v in tracer.captures]
        kinds = {id(t): c for (t, _), c in zip(tracer.captures, captures)}
        targets = [kinds.get(id(t), t) for t, _ in writes]
        cf = ConcreteFunction(graph, captures, targets, [(t, g is None) for t, g in grad_writes],
                              out_struct, n_out, grad_reads, self.backend)
        if symbols:  # generic in some sizes: optimised and compiled per concrete size (ConcreteFunction.specialise)
            cf.symbols, cf.sizes, cf.optimize = symbols, dict(tracer.sizes), self.optimize
        if created or made_variable:
            what = [f"a {type(t).__name__} of shape {tuple(t.shape)}" for t in tracer.new_state]
            what += [f"{v.hint or 'a value'} ({type_str(v.aval)})" for _, v in created]
            cf.one_shot = f"{len(what)} tensor(s) kept after the call, e.g. {what[0]}"
        if self.optimize and not symbols:
            from ..passes import optimize

            cf.graph = optimize(cf.graph)
        return cf

    def _invoke(self, merged):
        if self._sig is None:
            return self.fn(*merged.values())
        ordered = {n: merged[n] for n in self._sig.parameters if n in merged}
        bound = inspect.BoundArguments(self._sig, ordered)
        return self.fn(*bound.args, **bound.kwargs)

    def _concrete(self, args, kwargs):
        cf, leaves = self._generic(args, kwargs)
        return cf.specialise(leaves), leaves

    def _generic(self, args, kwargs):
        """(the traced function for this signature, which may be generic in None dimensions; the leaves)."""
        dyn, static, names = self._split(args, kwargs)
        key, leaves, struct, paths = self._key(dyn, static)
        key = self._generic_key(key)
        cf = self.cache.get(key)
        if cf is None or cf.guard_failure() is not None:
            # Tracing and the cache update happen under a lock, so threads whose first calls race trace once.
            with self._trace_lock:
                cf, leaves = self._trace_or_reuse(key, leaves, struct, paths, dyn, static)
        return cf, leaves

    def _generic_key(self, key):
        """The cached key with None dimensions that matches key (the last such one), else key itself; with
        reduce_retracing, a dimension whose size differs from the last trace's becomes None (as TensorFlow's
        reduce_retracing relaxes shapes)."""
        if key in self.cache:
            return key
        for k in reversed(list(self.cache)):
            if _matches(k, key):
                return k
        old = self._last_key
        if self.reduce_retracing and old is not None and old[1:] == key[1:] and len(old[0]) == len(key[0]):
            relaxed = tuple(_relax(a, b) for a, b in zip(old[0], key[0]))
            if None not in relaxed:
                return (relaxed,) + key[1:]
        return key

    def _trace_or_reuse(self, key, leaves, struct, paths, dyn, static):
        cf = self.cache.get(key)
        if cf is not None:
            reason = cf.guard_failure()
            if reason is None:
                return cf, leaves
            self._warn_retrace(reason)
        elif self._state_created:
            self._warn_retrace(f"its previous trace created state ({self._state_created}), which is read from now on; "
                               "a function that creates new state on every call cannot be compiled")
        elif self.cache:
            self._warn_retrace(self._change(key, paths, static))
        self._state_created = None
        self.trace_count += 1
        cf = self._trace(dyn, static, leaves, struct, paths, key)
        if cf.one_shot:
            # This trace created state (optimizer moments, a Variable): its graph took the "no state yet" path of
            # the Python code, so it serves this call only; the next call traces again and reads the state.
            self._last_key, self._last_names = None, (paths, static)
            self._state_created = cf.one_shot
            return cf, leaves
        self.cache[key] = cf
        self._last_key, self._last_names = key, (paths, static)
        return cf, leaves

    def _change(self, key, paths, static) -> str:
        old = self._last_key
        if old is None:
            return "new signature"
        if len(old[0]) == len(key[0]) and old[1] == key[1]:
            for p, a, b in zip(paths, old[0], key[0]):
                if a != b:
                    return _describe_change(p.lstrip("[").split("]")[0].strip("'") if p.startswith("[") else p, a, b)
        if old[1] != key[1]:
            before = dict(_statics(old[1], ""))
            for p, v in _statics(key[1], ""):
                if p in before and before[p] != v:
                    return f"{p.lstrip('[').split(']')[0].strip(chr(39))}: Python value {_show(before[p])} -> {_show(v)}"
        if old[2] != key[2]:
            before = dict(old[2])
            for k, v in key[2]:
                if before.get(k) != v:
                    return f"{k}: static value {_show(before.get(k))} -> {_show(v)}"
        return "the structure of the arguments changed (another number of tensors, or a Python value)"

    def _warn_retrace(self, change: str):
        if self.trace_count >= RETRACE_WARNING_AFTER and not self.reduce_retracing:
            warnings.warn(
                f"{self.name} is being traced again (trace {self.trace_count + 1}) because {change}. Each new "
                "signature (shapes, dtypes, static values) costs a trace. Fix: pass tensors of one shape, give "
                "input_signature=[tg.TensorSpec((None, ...))] or reduce_retracing=True, or keep Python values "
                "that vary out of the arguments.",
                RetraceWarning,
                stacklevel=6,  # the user's call: __call__ > _concrete > _generic > _trace_or_reuse > here
            )

    # *** public ***

    def __call__(self, *args, **kwargs):
        if self._fast and not kwargs and not _TRACERS.items:  # (under an outer trace the call is inlined, below)
            grad = STATE.enabled
            entry = self._fast.get(_fast_key(args, grad))
            if entry is not None:
                cf, order, args_rg = entry  # args_rg: an argument requires grad (the key, with grad on, says so)
                leaves = args if order is None else [args[i] for i in order]
                if not (grad and (args_rg or cf.tensor_captures and any(c._rg for c in cf.tensor_captures))):
                    STATE.enabled = False  # as no_grad() (without its record of the caller's line, which costs 2 us)
                    try:
                        out = cf(*leaves)
                    finally:
                        STATE.enabled = grad
                    return out if ANOMALY.watch is None else self._checked(out)
                from .differentiate import call_with_grad

                return self._checked(call_with_grad(self, cf, leaves, args, kwargs))
        if _inside_a_transform(args, kwargs):
            # called while tracing an outer function, or on values of vmap / jvp / a grad level: the call's ops
            # belong to that transform (TensorFlow inlines a nested tf.function, JAX traces through a nested jit);
            # a compiled plan would read the placeholder arrays behind those values and return wrong numbers
            return self.fn(*args, **kwargs)
        cf, leaves = self._concrete(args, kwargs)
        if STATE.enabled and (
            any(isinstance(x, Tensor) and x._rg for x in leaves)
            or any(not isinstance(c, tuple) and c._rg for c in cf.captures)  # e.g. a model's Parameters
        ):
            from .differentiate import call_with_grad

            self._remember(cf, args, kwargs, leaves)
            out = call_with_grad(self, cf, leaves, args, kwargs)
        else:
            self._remember(cf, args, kwargs, leaves)
            with no_grad():
                out = cf(*leaves)
        return self._checked(out)

    def _checked(self, out):
        if ANOMALY.watch is not None:  # compiled ops are out of the per-op checks' sight: check the outputs
            from ..autograd.anomaly import check_compiled

            check_compiled(self.name, out)
        return out

    # *** the fast path: a call whose arguments are tensors of a signature seen before ***

    def _remember(self, cf, args, kwargs, leaves) -> None:
        """Record cf for calls with positional tensor arguments of these shapes and dtypes (and, with grad mode on,
        requires_grad flags), so that the next such call skips binding the signature, flattening, the cache key and
        the guards (about 20 us of Python). Only for graphs that hold for every call of that signature: no static
        arguments, no state created by the trace, no symbolic sizes, no captured .grad (whose guard must be checked
        on every call)."""
        if (kwargs or self.static_argnums or self.static_argnames or cf.one_shot or cf.symbols or cf.grad_reads
                or len(leaves) != len(args)):
            return
        key = _fast_key(args, STATE.enabled)
        if key is None:
            return
        # where each leaf comes from: flatten() orders leaves by argument name (and *args inside its tuple), so the
        # order is found by flattening distinct markers passed the same way
        marks = [np.empty(0) for _ in args]
        at = {id(m): i for i, m in enumerate(marks)}
        order = [at[id(m)] for m in flatten(self._split(marks, {})[0])[0]]
        if len(order) == len(args) and all(leaf is args[i] for leaf, i in zip(leaves, order)):
            identity = order == list(range(len(args)))
            self._fast[key] = (cf, None if identity else order, STATE.enabled and any(a._rg for a in args))

    def get_concrete_function(self, *args, **kwargs) -> ConcreteFunction:
        """The traced graph for these arguments (tracing them if needed); print it to read it. Without arguments,
        the input_signature's: None dimensions then show as symbols (d0, d1, ...)."""
        if not args and not kwargs and self.input_signature is not None:
            from ..ops.creation import zeros

            args = tuple(zeros(*[1 if s is None else s for s in spec.shape], dtype=spec.dtype)
                         for spec in self.input_signature)
            return self._generic(args, kwargs)[0]
        return self._concrete(args, kwargs)[0]

    def lower(self, *args, **kwargs) -> Graph:
        """The Graph for these arguments (JAX's f.lower(...); tg.function's get_concrete_function(...).graph)."""
        return self.get_concrete_function(*args, **kwargs).graph


def _symbolic_shapes(tracer, key, leaves, paths):
    """The input shapes of a trace, a Dim (trace/dims.py) for each None dimension of the key, and the symbols
    as [(name, leaf index, axis)] (empty when every size is concrete)."""
    from .dims import Dim

    if key is None:
        return [tuple(x.shape) for x in leaves], []
    shapes, symbols = [], []
    for i, ((shape, _, _), p) in enumerate(zip(key[0], paths)):
        dims = []
        for axis, n in enumerate(shape):
            if n is None:
                name = f"d{len(symbols)}"
                symbols.append((name, i, axis))
                n = Dim.symbol(name, f"{_pretty(p)}.shape[{axis}]", tracer)
            dims.append(n)
        shapes.append(tuple(dims))
    return shapes, symbols


def _pretty(path: str) -> str:
    """"['x'][0]" -> "x[0]": the name of an argument leaf for listings, pictures and errors."""
    if path.startswith("['"):
        name, _, rest = path[2:].partition("']")
        return name + rest
    return path


def _statics(s, path):
    """(path, value) for the Python values in a structure key."""
    if s == "*":
        return
    if s[0] in ("static", "static-id"):
        yield path, s
    elif s[0] is dict:
        for k, sub in zip(s[1], s[2]):
            yield from _statics(sub, f"{path}[{k!r}]")
    else:
        for i, sub in enumerate(s[1]):
            yield from _statics(sub, f"{path}[{i}]")


def _show(v):
    return repr(v[2]) if isinstance(v, tuple) and len(v) == 3 else repr(v)


def _as_tensor(x):
    if isinstance(x, Tensor):
        return x
    from ..ops.creation import as_tensor

    return as_tensor(x)


def _plain_or_sym(tracer, t, v):
    return tracer.tensor(v) if v.const is None else Tensor._make(v.const)


def _classify_captures(tracer):
    """Captured tensors that are the .grad of another captured tensor are read through it (`owner.grad`), so that
    a later call sees the .grad object of that time, not the one that existed while tracing."""
    owners = {id(g): t for t, g in ((t, tracer.grad_before[id(t)]) for t, _ in tracer.captures) if g is not None}
    out, grad_reads = [], []
    for t, _ in tracer.captures:
        owner = owners.get(id(t))
        if owner is not None:
            out.append(("grad", owner))
            grad_reads.append(owner)
        else:
            out.append(t)
    return out, grad_reads


def function(fn=None, *, input_signature=None, reduce_retracing=False, jit_compile=None, autograph=False,
             backend=None):
    """Trace fn into a graph on its first call per input signature (TensorFlow's tf.function).

    Tensors (in nested tuples, lists and dicts) are traced; every other argument is a Python value that is
    part of the cache key. Variables and Parameters read inside are captured; in-place updates to them are
    written back after each call.

    >>> import tapegrad as tg
    >>> @tg.function
    ... def f(x):
    ...     return (x * x).sum()
    >>> f(tg.tensor([1.0, 2.0]))
    tensor(5.)
    >>> f.trace_count
    1
    """
    if fn is None:
        return lambda f: Function(f, input_signature=input_signature, reduce_retracing=reduce_retracing,
                                  backend=backend)
    return Function(fn, input_signature=input_signature, reduce_retracing=reduce_retracing, backend=backend)


def jit(fn=None, *, static_argnums=(), static_argnames=(), donate_argnums=(), backend=None):
    """Trace fn into a graph on its first call per signature (JAX's jax.jit; the same tracer as tg.function).

    >>> import tapegrad as tg
    >>> f = tg.jit(lambda x, n: x ** n, static_argnums=1)
    >>> f(tg.tensor([2.0]), 3)
    tensor([8.])
    """
    if fn is None:
        return lambda f: Function(f, static_argnums=static_argnums, static_argnames=static_argnames,
                                  donate_argnums=donate_argnums, backend=backend)
    return Function(fn, static_argnums=static_argnums, static_argnames=static_argnames, donate_argnums=donate_argnums,
                    backend=backend)

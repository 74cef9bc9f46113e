"""tg.custom_gradient: TensorFlow's decorator for a function with a hand-written gradient.

Depends on the engine (autograd/engine.py): the decorated call records one Node whose backward
calls the user's grad_fn, so it works under tapes, `.backward()` and `tg.autograd.grad` alike,
and to higher order when grad_fn is written with differentiable ops.
"""

from __future__ import annotations

import functools
import inspect

from ..autograd import engine
from ..autograd.grad_mode import STATE, no_grad
from ..errors import GradError
from ..tensor import Tensor
from . import nest
from . import variable as _var


def custom_gradient(f=None):
    """Decorate f(*args) -> (y, grad_fn) so that the gradient of y is grad_fn(*upstream).

    grad_fn returns one gradient per (flattened) argument of f, None for no gradient. When f reads
    trainable Variables that are not among its arguments, grad_fn must accept `variables=` and
    return `(argument_gradients, variable_gradients)`. Arguments may be passed by keyword: they
    are bound to f's parameters, so they get their gradients from grad_fn too.

    >>> import tapegrad as tg
    >>> @tg.custom_gradient
    ... def square(x):
    ...     return x * x, lambda dy: dy * x   # deliberately not 2 * x
    >>> x = tg.Variable(1.0)
    >>> with tg.GradientTape() as tape:
    ...     y = square(x)
    >>> tape.gradient(y, x).numpy()
    array(1., dtype=float32)
    """
    if f is None:  # @tg.custom_gradient()
        return custom_gradient
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):  # a builtin: keywords cannot be bound, positional calls still work
        signature = None

    @functools.wraps(f)
    def decorated(*args, **kwargs):
        if kwargs and signature is not None:
            # NOTE: TensorFlow drops the custom rule for keyword arguments; binding them to their
            # parameters gives them their gradient like positional ones.
            bound = signature.bind(*args, **kwargs)
            args, kwargs = bound.args, bound.kwargs
        return _call(f, args, kwargs)

    return decorated


def _call(f, args, kwargs):
    inputs = nest.flatten(list(args)) + nest.flatten(kwargs)
    reads = {}
    _var.listen(reads)
    try:
        with no_grad():  # the forward pass is not recorded: grad_fn stands in for its backward
            result = f(*args, **kwargs)
    finally:
        _var.unlisten(reads)
    y, grad_fn = _split_result(f, result)
    ids = {id(x) for x in inputs}
    variables = [v for v in reads.values() if id(v) not in ids and v._rg]
    edges = [engine.edge_of(x) if isinstance(x, Tensor) and x._rg else None for x in inputs]
    edges += [engine.edge_of(v) for v in variables]
    if not STATE.enabled or not any(e is not None for e in edges):
        return y
    if variables and not _accepts_variables(grad_fn):
        names = ", ".join(v._name for v in variables)
        raise TypeError(
            f"custom_gradient: {f.__name__} reads the Variables {names}, so its grad_fn must accept a keyword "
            "argument `variables` and return (gradients of the arguments, gradients of the variables); "
            "define it as `def grad_fn(*upstream, variables=None)`"
        )
    outs = nest.flatten(y)
    node = CustomGradientNode(f, grad_fn, edges, inputs, variables, outs)
    wrapped = [_attach(o, node, nr) for nr, o in enumerate(outs)]
    return nest.pack_as(y, wrapped)


def _split_result(f, result):
    if not (isinstance(result, tuple) and len(result) == 2 and callable(result[1])):
        raise TypeError(
            f"custom_gradient: {getattr(f, '__name__', f)} must return a pair (y, grad_fn) where grad_fn is a "
            f"function of the upstream gradients; it returned a {type(result).__name__}"
        )
    return result


def _accepts_variables(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "variables" or p.kind is p.VAR_KEYWORD for p in params)


def _attach(o, node, nr):
    """A fresh tensor for output nr whose history is the node (never the caller's own tensor object)."""
    if not isinstance(o, Tensor) or not o.dtype.is_floating_point:
        return o
    out = Tensor._make(o._data)
    out._rg, out.grad_fn, out._output_nr = True, node, nr
    return out


class CustomGradientNode(engine.Node):
    """The recorded call of a custom_gradient function; its backward is the user's grad_fn."""

    def __init__(self, f, grad_fn, edges, inputs, variables, outs):
        super().__init__(edges)
        self.fname, self.grad_fn, self.variables = getattr(f, "__name__", "f"), grad_fn, variables
        self.num_inputs = len(inputs)
        self.in_dtypes = [x.dtype if isinstance(x, Tensor) else None for x in inputs] + [v.dtype for v in variables]
        self.num_outputs = len(outs)
        self.out_meta = [(tuple(o.shape), o.dtype) if isinstance(o, Tensor) else None for o in outs]

    def name(self) -> str:
        return "CustomGradientBackward"

    def apply(self, grads, create_graph):
        if self.freed:
            raise GradError(engine._FREED_MESSAGE.format(node=f"{self.name()} (of {self.fname})"))
        upstream = [_materialize(g, m) for g, m in zip(grads, self.out_meta)]
        if self.variables:
            result = self.grad_fn(*upstream, variables=list(self.variables))
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise GradError(
                    f"custom_gradient: the grad_fn of {self.fname} was called with variables= and must return a pair "
                    "(gradients of the arguments, gradients of the variables)"
                )
            in_grads = self._flat(result[0], self.num_inputs, "arguments")
            in_grads += self._flat(result[1], len(self.variables), "variables")
        else:
            in_grads = self._flat(self.grad_fn(*upstream), self.num_inputs, "arguments")
        return [self._check(i, g) for i, g in enumerate(in_grads)]

    def _flat(self, grads, n, what):
        flat = nest.flatten(list(grads)) if isinstance(grads, (list, tuple)) else [grads]
        if len(flat) != n:
            raise GradError(
                f"custom_gradient: the grad_fn of {self.fname} returned {len(flat)} gradients for its {what}, but "
                f"there are {n}; return one gradient (or None) per {what[:-1]}, in order"
            )
        return flat

    def _check(self, i, g):
        if g is None or self.edges[i] is None:
            return None
        if not isinstance(g, Tensor):
            from ..ops.creation import as_tensor

            g = as_tensor(g, dtype=self.in_dtypes[i])
        dtype = self.in_dtypes[i]
        return g if g.dtype is dtype else g.to(dtype)

    def release(self):
        self.grad_fn, self.freed = None, True


def _materialize(g, meta):
    """grad_fn always sees a tensor per output, zeros for an output that received no gradient."""
    if g is not None or meta is None:
        return g
    from ..ops.creation import zeros

    return zeros(*meta[0], dtype=meta[1])

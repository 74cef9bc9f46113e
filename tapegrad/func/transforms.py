"""The functional transforms of the JAX idiom: grad, value_and_grad, vjp, linearize, jacrev, jacfwd,
hessian, hvp (jvp lives in forward.py, vmap in vmap.py).

Reverse mode is the one engine (autograd/engine.py, run_backward) applied at the innermost transform's
level (_levels.py), so grad nests in jvp and vmap and they nest in it. Arguments and results are pytrees.
"""

from __future__ import annotations

import functools
import threading

from ..autograd import engine
from ..autograd.grad_mode import STATE
from ..ops.operands import as_leaf
from ..primitives.base import INTERPRETERS
from ..tensor import Tensor
from . import tree_util as tu
from ._levels import fresh_leaf, strip_level
from .forward import _split_aux, jvp

class _Depth(threading.local):
    """Functional reverse-mode transforms running now in this thread (an inner one records its backward)."""

    count = 0


_ACTIVE = _Depth()


def _level():
    """The interpreter whose values grad differentiates: the innermost one that wraps its values."""
    for it in reversed(INTERPRETERS):
        if hasattr(it, "lift") and getattr(it, "wraps", True):
            return it
    return None


def _reaches_foreign(roots, leaves) -> bool:
    """Whether the graph behind roots reaches a tensor that requires grad other than `leaves`: the function
    closed over something an outer derivative may need, so the backward pass must be recorded."""
    own = {id(t) for t in leaves}
    stack = [r for r in roots if isinstance(r, engine.Node) and id(r) not in own]
    seen = {id(n) for n in stack}
    while stack:
        for e in stack.pop().edges:
            if e is None:
                continue
            target = e[0]
            if not isinstance(target, engine.Node):
                if id(target) not in own:
                    return True
            elif id(target) not in seen:
                if id(target) in own:
                    continue
                seen.add(id(target))
                stack.append(target)
    return False


def _own_edge_ids(leaves):
    """ids of the nodes of alias leaves (fresh_leaf of a tensor that requires grad): the walk stops there."""
    return [t.grad_fn if t.grad_fn is not None else t for t in leaves]


class _Linearized:
    """The state of one vjp: f's output leaves, the input leaves, and how to run the backward pass."""

    def __init__(self, f, primals, has_aux, name):
        self.level, self.name = _level(), name
        leaves, self.in_def = tu.tree_flatten(tuple(primals))
        leaves = [as_leaf(x) for x in leaves]
        self.ins = [fresh_leaf(x, self.level) if isinstance(x, Tensor) else x for x in leaves]
        _ACTIVE.count += 1
        try:
            result = f(*tu.tree_unflatten(self.in_def, self.ins))
        finally:
            _ACTIVE.count -= 1
        out, self.aux = _split_aux(result, has_aux, name)
        self.outs, self.out_def = tu.tree_flatten(out)
        for i, o in enumerate(self.outs):
            if not isinstance(o, Tensor):
                raise TypeError(
                    f"{name}: f must return tensors (in a pytree), but output leaf {i} is a {type(o).__name__}; "
                    "return it through has_aux=True if it is not to be differentiated"
                )
        self.create_graph = STATE.enabled and (_ACTIVE.count > 0 or bool(INTERPRETERS) or self._closes_over_grad())

    def _closes_over_grad(self):
        roots = [o.grad_fn for o in self.outs if o._rg and o.grad_fn is not None]
        own = [t for t in self.ins if isinstance(t, Tensor) and t._rg]
        return _reaches_foreign(roots, _own_edge_ids(own) + own)

    def out_tree(self):
        strip = (lambda o: o) if self.create_graph else (lambda o: strip_level(o, self.level))
        return tu.tree_unflatten(self.out_def, [strip(o) for o in self.outs])

    def aux_tree(self):
        if self.create_graph:
            return self.aux
        return tu.tree_map(lambda a: strip_level(a, self.level) if isinstance(a, Tensor) else a, self.aux)

    def pullback(self, cts, retain_graph=True):
        """Cotangents of the inputs (flat, None where none arrives) for flat output cotangents (None = zero)."""
        roots, grads = [], []
        for o, g in zip(self.outs, cts):
            if g is not None and o._rg:
                roots.append(engine.edge_of(o))
                grads.append(g)
        ins = [t if isinstance(t, Tensor) and t._rg else None for t in self.ins]
        edges = [engine.edge_of(t) if t is not None else None for t in ins]
        if not roots:
            return [None] * len(ins)
        create = self.create_graph or _ACTIVE.count > 0
        got = engine.run_backward(
            roots, grads, retain_graph or create, create, inputs=[e for e in edges if e is not None], accumulate=False
        )
        return [None if e is None else got[(id(e[0]), e[1])] for e in edges]


def _zeros_for(x, g):
    if g is not None:
        return g
    return x.zeros_like() if isinstance(x, Tensor) else None


def _check_cotangent(o, g, i, name):
    if g is None:
        return None
    if not isinstance(g, Tensor):
        from ..ops.creation import as_tensor

        g = as_tensor(g, dtype=o.dtype)
    if tuple(g.shape) != tuple(o.shape):
        raise ValueError(
            f"{name}: cotangent {i} has shape {tuple(g.shape)} but output {i} has shape {tuple(o.shape)}; "
            "a cotangent must have its output's shape"
        )
    return g if g.dtype is o.dtype else g.to(o.dtype)


def vjp(f, *primals, has_aux=False):
    """Evaluate f at primals and return its vector-Jacobian product function.

    Args:
        f: a function of the primals (pytrees of tensors) returning a pytree of tensors
            (with has_aux, a pair (output, aux)).
        primals: the arguments.
    Returns:
        (output, vjp_fn) or (output, vjp_fn, aux). vjp_fn(cotangents) takes a pytree of the output's structure
        and returns a tuple with one cotangent per primal; it can be called many times.

    >>> import tapegrad as tg
    >>> out, vjp_fn = tg.func.vjp(lambda x: x * x, tg.tensor([1.0, 2.0]))
    >>> vjp_fn(tg.tensor([1.0, 10.0]))
    (tensor([ 2., 40.]),)
    """
    lin = _Linearized(f, primals, has_aux, "vjp")

    def vjp_fn(cotangents):
        c_leaves, c_def = tu.tree_flatten(cotangents, is_leaf=lambda c: c is None)
        if len(c_leaves) != len(lin.outs):
            raise ValueError(
                f"vjp_fn: the cotangents have structure {c_def} but the output has structure {lin.out_def}; "
                "pass one cotangent per output tensor, in the output's structure"
            )
        cts = [_check_cotangent(o, g, i, "vjp_fn") for i, (o, g) in enumerate(zip(lin.outs, c_leaves))]
        grads = lin.pullback(cts)
        return tu.tree_unflatten(lin.in_def, [_zeros_for(x, g) for x, g in zip(lin.ins, grads)])

    vjp_fn._linearized = lin  # for jacrev
    pair = (lin.out_tree(), vjp_fn)
    return pair + (lin.aux_tree(),) if has_aux else pair


def _argnums_tuple(argnums, nargs, name):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise ValueError(f"{name}: argnums must name at least one argument")
    for a in nums:
        if not isinstance(a, int) or not -nargs <= a < nargs:
            raise ValueError(
                f"{name}: argnums {argnums!r} is out of range for a call with {nargs} positional arguments"
            )
    return tuple(a % nargs for a in nums)


def _split_args(args, argnums):
    """f of the differentiated arguments only, and those arguments."""
    diff = tuple(args[i] for i in argnums)

    def partial(*d):
        full = list(args)
        for i, v in zip(argnums, d):
            full[i] = v
        return full

    return diff, partial


def value_and_grad(f, argnums=0, has_aux=False, allow_int=False):
    """A function returning (f(*args), gradient of f with respect to args[argnums]).

    f must return a scalar tensor (shape ()). The gradient has the structure of the argument (a tuple of
    them when argnums is a tuple); inputs that f does not depend on get zeros.

    >>> import tapegrad as tg
    >>> tg.value_and_grad(lambda x: (x ** 2).sum())(tg.tensor([1.0, 2.0]))
    (tensor(5.), tensor([2., 4.]))
    """

    @functools.wraps(f)
    def value_and_grad_f(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), "grad")
        diff, partial = _split_args(args, nums)
        diff = tu.tree_map(as_leaf, diff)
        _check_int_inputs(diff, nums, allow_int)
        lin = _Linearized(lambda *d: f(*partial(*d), **kwargs), diff, has_aux, "grad")
        out = _scalar_output(lin)
        grads = lin.pullback([out.ones_like()], retain_graph=False)
        g_tree = tu.tree_unflatten(lin.in_def, [_zeros_for(x, g) for x, g in zip(lin.ins, grads)])
        g = g_tree[0] if isinstance(argnums, int) else g_tree
        value = lin.out_tree()
        return ((value, lin.aux_tree()), g) if has_aux else (value, g)

    return value_and_grad_f


def grad(f, argnums=0, has_aux=False, allow_int=False):
    """The gradient of a scalar function: grad(f)(*args) = d f(*args) / d args[argnums].

    Args:
        f: returns a scalar tensor (with has_aux, a pair (scalar, aux)).
        argnums: the positional argument (int) or arguments (tuple) to differentiate; each may be a pytree.
        has_aux: return (gradient, aux).
        allow_int: allow integer arguments, whose gradient is zero, instead of raising.
    Returns:
        a function of f's arguments returning the gradient, with the structure of args[argnums].

    >>> import tapegrad as tg
    >>> tg.grad(lambda x: x ** 3)(tg.tensor(2.0))
    tensor(12.)
    >>> tg.grad(tg.grad(lambda x: x ** 3))(tg.tensor(2.0))
    tensor(12.)
    """
    vg = value_and_grad(f, argnums, has_aux, allow_int)

    @functools.wraps(f)
    def grad_f(*args, **kwargs):
        (value_aux, g) = vg(*args, **kwargs)
        return (g, value_aux[1]) if has_aux else g

    return grad_f


def _check_int_inputs(diff, nums, allow_int):
    for n, tree in zip(nums, diff):
        for leaf in tu.tree_leaves(tree):
            if isinstance(leaf, Tensor) and not leaf.dtype.is_floating_point and not allow_int:
                raise TypeError(
                    f"grad: argument {n} has dtype {leaf.dtype.name}; gradients are defined for floating inputs only. "
                    "Convert it with .float(), leave it out of argnums, or pass allow_int=True for a zero gradient"
                )


def _scalar_output(lin):
    if len(lin.outs) != 1 or lin.out_def != tu.tree_structure(0):
        raise TypeError(
            f"grad: f must return one scalar tensor, but it returned a pytree of structure {lin.out_def}. For several "
            "outputs use tg.func.vjp(f, *args) and call its vjp_fn with cotangents, or tg.func.jacrev(f)"
        )
    out = lin.outs[0]
    if out.ndim != 0:
        raise ValueError(
            f"grad: f must return a scalar (a tensor of shape ()), but it returned shape {tuple(out.shape)}. Reduce it "
            "(e.g. .sum()), or for a vector-Jacobian product use tg.func.vjp(f, x) and call vjp_fn(cotangent); "
            "tg.func.jacrev(f) gives the whole Jacobian"
        )
    if not out.dtype.is_floating_point:
        raise TypeError(f"grad: f returned dtype {out.dtype.name}; gradients need a floating output")
    return out


def linearize(f, *primals):
    """(f(*primals), f_jvp) where f_jvp(*tangents) is the Jacobian-vector product at primals.

    NOTE: f_jvp reruns forward mode from the primals on each call (there is no graph to partially evaluate
    in eager mode); with graph mode it can keep only the linear part.
    """
    out = f(*primals)

    def f_jvp(*tangents):
        return jvp(f, primals, tangents)[1]

    return out, f_jvp


# *** Jacobians ***


def _basis(x):
    """The standard basis for x's elements, batched: shape (n, *x.shape)."""
    from ..ops.creation import eye

    n = x.numel()
    return eye(n, dtype=x.dtype).reshape((n,) + tuple(x.shape))


def jacrev(f, argnums=0, has_aux=False):
    """The Jacobian of f by reverse mode: one vjp per output element, batched with vmap.

    The result for output leaf o and input x has shape o.shape + x.shape; for several outputs it has the
    output's structure, each entry the structure of args[argnums].

    >>> import tapegrad as tg
    >>> tg.func.jacrev(lambda x: x ** 2)(tg.tensor([1.0, 3.0]))
    tensor([[2., 0.],
            [0., 6.]])
    """
    from .vmap import vmap

    @functools.wraps(f)
    def jac_f(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), "jacrev")
        diff, partial = _split_args(args, nums)
        lin = _Linearized(lambda *d: f(*partial(*d), **kwargs), diff, has_aux, "jacrev")
        per_out = []
        for i, o in enumerate(lin.outs):

            def pull(ct, i=i):
                cts = [None] * len(lin.outs)
                cts[i] = ct
                return [_zeros_for(x, g) for x, g in zip(lin.ins, lin.pullback(cts))]

            rows = vmap(pull)(_basis(o))  # one (n_out, *x.shape) block per input leaf
            per_out.append(
                tu.tree_unflatten(
                    lin.in_def, [r.reshape(tuple(o.shape) + tuple(x.shape)) for r, x in zip(rows, lin.ins)]
                )
            )
        per_out = [p[0] if isinstance(argnums, int) else p for p in per_out]
        jac = tu.tree_unflatten(lin.out_def, per_out)
        return (jac, lin.aux_tree()) if has_aux else jac

    return jac_f


def jacfwd(f, argnums=0, has_aux=False):
    """The Jacobian of f by forward mode: one jvp per input element, batched with vmap.

    Same layout as jacrev: output leaf shape + input shape.

    >>> import tapegrad as tg
    >>> tg.func.jacfwd(lambda x: x.sin())(tg.tensor([0.0, 0.0]))
    tensor([[1., 0.],
            [0., 1.]])
    """
    from .vmap import vmap

    @functools.wraps(f)
    def jac_f(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), "jacfwd")
        diff, partial = _split_args(args, nums)
        d_leaves, d_def = tu.tree_flatten(diff)
        g = lambda *d: f(*partial(*d), **kwargs)
        out_def, aux, cols = None, None, []
        for j, x in enumerate(d_leaves):

            def push(t, j=j):
                tangents = [None] * len(d_leaves)
                tangents[j] = t
                res = jvp(g, tuple(diff), tu.tree_unflatten(d_def, tangents), has_aux=has_aux)
                return list(res[1:]) if not has_aux else [res[1], res[2]]

            res = vmap(push, out_axes=0 if not has_aux else [0, None])(_basis(x))
            t_out = res[0]
            if has_aux:
                aux = res[1]
            leaves, out_def = tu.tree_flatten(t_out)
            cols.append([_move_batch_last(t, x) for t in leaves])
        per_out = []
        for i in range(out_def.num_leaves):
            tree = tu.tree_unflatten(d_def, [cols[j][i] for j in range(len(d_leaves))])
            per_out.append(tree[0] if isinstance(argnums, int) else tree)
        jac = tu.tree_unflatten(out_def, per_out)
        return (jac, aux) if has_aux else jac

    return jac_f


def _move_batch_last(t, x):
    """(n, *out_shape) -> (*out_shape, *x.shape)."""
    out_shape = tuple(t.shape[1:])
    perm = tuple(range(1, t.ndim)) + (0,)
    return t.permute(*perm).reshape(out_shape + tuple(x.shape))


def hessian(f, argnums=0):
    """The Hessian of a scalar f, as jacfwd(jacrev(f)) (forward over reverse).

    >>> import tapegrad as tg
    >>> tg.func.hessian(lambda x: (x ** 3).sum())(tg.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacfwd(jacrev(f, argnums), argnums)


def hvp(f, primals, tangents):
    """The Hessian-vector product of a scalar f at primals along tangents, by forward over reverse.

    Returns (gradient, hessian_vector_product), each a tuple with one entry per primal, computed together
    as jvp(grad(f), primals, tangents): one forward and one backward pass, no Hessian materialised.

    >>> import tapegrad as tg
    >>> tg.func.hvp(lambda x: (x ** 3).sum(), (tg.tensor([1.0, 2.0]),), (tg.tensor([1.0, 1.0]),))[1]
    (tensor([ 6., 12.]),)
    """
    argnums = tuple(range(len(primals)))
    return jvp(grad(f, argnums), tuple(primals), tuple(tangents))

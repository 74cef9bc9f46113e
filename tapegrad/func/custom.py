"""custom_vjp and custom_jvp: functions whose derivative the user writes (JAX's API).

custom_vjp records one Node (autograd/engine.py) whose backward calls the user's bwd; custom_jvp's rule is
applied by forward mode (forward.py) and, for reverse mode, transposed by differentiating the rule's
tangent output with respect to its (linear) tangent inputs. Both work at any transform level (_levels.py).
"""

from __future__ import annotations

import functools

from ..autograd import engine
from ..autograd.grad_mode import STATE, enable_grad, no_grad
from ..tensor import Tensor
from . import tree_util as tu
from ._levels import InterpTensor, _alias, fresh_leaf, strip_level
from .forward import DualTensor, ForwardMode


def _split(args, nondiff_argnums):
    nondiff = tuple(args[i] for i in nondiff_argnums)
    diff_pos = [i for i in range(len(args)) if i not in nondiff_argnums]
    return nondiff, diff_pos


def _grad_level(leaves):
    """(interpreter or None, whether any leaf requires grad there): the innermost level with a leaf that
    requires grad, where the custom rule's Node is recorded."""
    best, found = None, False
    for x in leaves:
        if isinstance(x, Tensor) and x._rg and (isinstance(x, InterpTensor) or x._interp is None):
            it = x._interp
            if not found or (it is not None and (best is None or it.level > best.level)):
                best, found = it, True
    return best, found


def _attach_outputs(node, outs, level):
    """Outputs as seen by the graph: fresh tensors at `level` whose grad_fn is node."""
    results = []
    for i, o in enumerate(outs):
        if isinstance(o, Tensor) and o.dtype.is_floating_point:
            if level is None:
                y = Tensor._make(o._data) if not isinstance(o, InterpTensor) else o
            elif o._interp is level:
                y = o._new_like()
            else:
                y = level.lift(o)
            y._rg, y.grad_fn, y._output_nr = True, node, i
            o = y
        results.append(o)
    return results


class _RuleNode(engine.Node):
    check_shapes = True

    def __init__(self, name, edges, outs, backward):
        self.edges, self._name, self.outs, self.backward = edges, name, outs, backward
        self.num_outputs = len(outs)

    def name(self) -> str:
        return self._name

    def apply(self, grads, create_graph):
        gs = [g if g is not None or not isinstance(o, Tensor) else o.zeros_like() for g, o in zip(grads, self.outs)]
        return self.backward(gs, create_graph)


def _flat_cotangents(cts, args, diff_pos, name):
    if not isinstance(cts, (tuple, list)) or len(cts) != len(diff_pos):
        raise TypeError(
            f"{name}: bwd must return a tuple with one cotangent per differentiable argument ({len(diff_pos)}), "
            f"got {type(cts).__name__}{'' if not isinstance(cts, (tuple, list)) else f' of length {len(cts)}'}"
        )
    flat = []
    for ct, i in zip(cts, diff_pos):
        n = len(tu.tree_leaves(args[i]))
        leaves = tu.tree_leaves(ct, is_leaf=lambda c: c is None) if ct is not None else [None] * n
        if len(leaves) != n:
            raise ValueError(f"{name}: the cotangent for argument {i} does not have the argument's structure")
        flat.extend(leaves)
    return flat


class custom_vjp:
    """A function with a user-written vector-Jacobian product (jax.custom_vjp).

    fwd(*args) -> (output, residuals); bwd(*nondiff_args, residuals, output_cotangent) -> a tuple with one
    cotangent per differentiable argument. As in PyTorch's autograd.Function, fwd runs without recording;
    residuals that are fwd's own inputs keep their graph, so bwd written in tapegrad ops can be differentiated
    again with respect to them.

    >>> import tapegrad as tg
    >>> @tg.func.custom_vjp
    ... def clip_grad(x):
    ...     return x
    >>> clip_grad.defvjp(lambda x: (x, None), lambda res, g: (g.clamp(-1, 1),))
    >>> tg.grad(lambda x: (3 * clip_grad(x)).sum())(tg.tensor([1.0, 2.0]))
    tensor([1., 1.])
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun, self.nondiff_argnums = fun, tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd) -> None:
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if self.fwd is None:
            raise TypeError(f"custom_vjp function {self.__name__}: call .defvjp(fwd, bwd) before calling it")
        nondiff, diff_pos = _split(args, self.nondiff_argnums)
        leaves = [x for i in diff_pos for x in tu.tree_leaves(args[i])]
        if any(isinstance(x, DualTensor) for x in leaves):
            # as JAX: a vjp rule says nothing about tangents, and differentiating fun instead would silently
            # ignore the rule the user wrote
            raise TypeError(
                f"can't apply forward-mode autodiff (jvp) to a custom_vjp function ({self.__name__}); use "
                "custom_jvp for a function that must support forward mode (jvp, jacfwd, hessian)"
            )
        level, found = _grad_level(leaves)
        if not (found and STATE.enabled):
            return self.fun(*args)
        with no_grad():
            out, res = self.fwd(*args)
        o_leaves, o_def = tu.tree_flatten(out)
        edges = [engine.edge_of(x) if isinstance(x, Tensor) and x._rg and x._interp is level else None for x in leaves]

        def backward(gs, create_graph):
            cts = self.bwd(*nondiff, res, tu.tree_unflatten(o_def, gs))
            return _flat_cotangents(cts, args, diff_pos, f"custom_vjp {self.__name__}")

        node = _RuleNode(f"{self.__name__}Backward", edges, o_leaves, backward)
        return tu.tree_unflatten(o_def, _attach_outputs(node, o_leaves, level))


class custom_jvp:
    """A function with a user-written Jacobian-vector product (jax.custom_jvp).

    jvp_rule(*nondiff_args, primals, tangents) -> (output, output_tangent), with primals and tangents tuples
    of the differentiable arguments. Forward mode applies the rule; reverse mode transposes it (the rule must
    be linear in the tangents, as a jvp is).

    >>> import tapegrad as tg
    >>> @tg.func.custom_jvp
    ... def log1pexp(x):
    ...     return (1 + x.exp()).log()
    >>> log1pexp.defjvp(lambda p, t: (log1pexp(p[0]), t[0] * p[0].sigmoid()))
    >>> tg.grad(lambda x: log1pexp(x).sum())(tg.tensor([100.0]))
    tensor([1.])
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun, self.nondiff_argnums = fun, tuple(nondiff_argnums)
        self.jvp_rule = None

    def defjvp(self, jvp_rule, symbolic_zeros=False):
        self.jvp_rule = jvp_rule
        return jvp_rule

    def defjvps(self, *rules):
        """One rule per differentiable argument, rule_i(tangent_i, primal_out, *primals) -> its part of the
        output tangent (None: that argument has no effect); the output tangent is their sum, as in JAX."""

        def jvp_rule(primals, tangents):
            out = self.fun(*primals)
            total = None
            for rule, t in zip(rules, tangents):
                if rule is None or t is None:
                    continue
                part = rule(t, out, *primals)
                total = part if total is None else tu.tree_map(lambda a, b: a + b, total, part)
            return out, total if total is not None else tu.tree_map(lambda o: o.zeros_like(), out)

        self.defjvp(jvp_rule)

    def __call__(self, *args):
        if self.jvp_rule is None:
            raise TypeError(f"custom_jvp function {self.__name__}: call .defjvp(jvp_rule) before calling it")
        nondiff, diff_pos = _split(args, self.nondiff_argnums)
        leaves = [x for i in diff_pos for x in tu.tree_leaves(args[i])]
        fw = None
        for x in leaves:
            if isinstance(x, DualTensor) and (fw is None or x._interp.level > fw.level):
                fw = x._interp
        if fw is not None:
            return self._forward(fw, args, nondiff, diff_pos)
        level, found = _grad_level(leaves)
        if found and STATE.enabled:
            return self._reverse(level, args, nondiff, diff_pos, leaves)
        return self.fun(*args)

    def _forward(self, fw: ForwardMode, args, nondiff, diff_pos):
        def part(i, f):
            return tu.tree_map(lambda x: f(x) if isinstance(x, Tensor) else x, args[i])

        primals = tuple(part(i, fw.primal) for i in diff_pos)
        tangents = tuple(part(i, fw.tangent) for i in diff_pos)
        out, tout = self.jvp_rule(*nondiff, primals, tangents)
        return tu.tree_map(lambda o, t: fw.make_dual(o, t) if isinstance(o, Tensor) else o, out, tout)

    def _reverse(self, level, args, nondiff, diff_pos, leaves):
        with no_grad():
            out = self.fun(*args)
        o_leaves, o_def = tu.tree_flatten(out)
        edges = [engine.edge_of(x) if isinstance(x, Tensor) and x._rg and x._interp is level else None for x in leaves]

        def backward(gs, create_graph):
            # the transpose of the (linear) tangent map: reverse mode through the rule, w.r.t. the tangents
            with enable_grad():
                prim = [
                    (_alias(x) if create_graph else strip_level(x, level)) if isinstance(x, Tensor) else x
                    for x in leaves
                ]
                tans = [
                    fresh_leaf(x.zeros_like(), level) if isinstance(x, Tensor) and x.dtype.is_floating_point else None
                    for x in leaves
                ]
                p_tree, t_tree = self._trees(args, diff_pos, prim), self._trees(args, diff_pos, tans)
                _, tout = self.jvp_rule(*nondiff, p_tree, t_tree)
            t_leaves = tu.tree_leaves(tout)
            roots = [(engine.edge_of(t), g) for t, g in zip(t_leaves, gs) if isinstance(t, Tensor) and t._rg]
            wanted = [engine.edge_of(t) for t in tans if t is not None]
            got = (
                engine.run_backward(
                    [r for r, _ in roots],
                    [g for _, g in roots],
                    create_graph,
                    create_graph,
                    inputs=wanted,
                    accumulate=False,
                )
                if roots
                else {}
            )
            return [None if t is None else got.get((id(t), 0)) for t in tans]

        node = _RuleNode(f"{self.__name__}Backward", edges, o_leaves, backward)
        return tu.tree_unflatten(o_def, _attach_outputs(node, o_leaves, level))

    @staticmethod
    def _trees(args, diff_pos, flat):
        it = iter(flat)
        return tuple(
            tu.tree_unflatten(tu.tree_structure(args[i]), [next(it) for _ in tu.tree_leaves(args[i])]) for i in diff_pos
        )

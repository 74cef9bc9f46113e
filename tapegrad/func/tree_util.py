"""Pytrees: nested lists, tuples, dicts, namedtuples and None whose leaves are tensors (or anything else).

A leaf layer under every functional transform (tapegrad.func): transforms flatten their arguments and
results with tree_flatten and rebuild them with tree_unflatten. Depends on nothing in tapegrad.

>>> from tapegrad import tree_util
>>> leaves, treedef = tree_util.tree_flatten({"w": [1, 2], "b": (3, None)})
>>> leaves
[3, 1, 2]
>>> tree_util.tree_unflatten(treedef, [x * 10 for x in leaves])
{'b': (30, None), 'w': [10, 20]}
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

# type -> (flatten(node) -> (children, aux), unflatten(aux, children) -> node)
_REGISTRY: dict = {}


def register_pytree_node(nodetype: type, flatten_func: Callable, unflatten_func: Callable) -> None:
    """Make instances of `nodetype` inner nodes of pytrees instead of leaves.

    Args:
        nodetype: the class to register.
        flatten_func: node -> (children, aux_data); children is an iterable of subtrees, aux_data
            anything hashable that unflatten needs (compared when two trees' structures are compared).
        unflatten_func: (aux_data, children) -> node.

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))
    >>> tree_leaves(Pair(1, [2, 3]))
    [1, 2, 3]
    """
    if nodetype in _REGISTRY:
        raise ValueError(f"register_pytree_node: {nodetype.__name__} is already registered as a pytree node")
    _REGISTRY[nodetype] = (flatten_func, unflatten_func)


def _sorted_keys(d):
    # NOTE: keys are sorted, as JAX does, so that {'a':.., 'b':..} and {'b':.., 'a':..} have one structure;
    # keys that cannot be compared keep their insertion order.
    try:
        return sorted(d)
    except TypeError:
        return list(d)


register_pytree_node(tuple, lambda t: (t, None), lambda _, ch: tuple(ch))
register_pytree_node(list, lambda t: (t, None), lambda _, ch: list(ch))
register_pytree_node(
    dict, lambda d: ((d[k] for k in _sorted_keys(d)), tuple(_sorted_keys(d))), lambda keys, ch: dict(zip(keys, ch))
)
register_pytree_node(OrderedDict, lambda d: (d.values(), tuple(d)), lambda keys, ch: OrderedDict(zip(keys, ch)))
register_pytree_node(type(None), lambda _: ((), None), lambda _, ch: None)


def _node_functions(x):
    fns = _REGISTRY.get(type(x))
    if fns is None and isinstance(x, tuple) and hasattr(type(x), "_fields"):  # any namedtuple class
        return _namedtuple_functions(type(x))
    return fns


def _namedtuple_functions(cls):
    return (lambda t: (tuple(t), None), lambda _, ch: cls(*ch))


class PyTreeDef:
    """The structure of a pytree without its leaves: what tree_unflatten needs to rebuild it."""

    __slots__ = ("aux", "children", "kind", "num_leaves", "unflatten")

    def __init__(self, kind, aux, children, unflatten):
        self.kind, self.aux, self.children, self.unflatten = kind, aux, tuple(children), unflatten
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in self.children)

    @property
    def num_nodes(self) -> int:
        return 1 + sum(c.num_nodes for c in self.children)

    def __eq__(self, other):
        return (
            isinstance(other, PyTreeDef)
            and self.kind is other.kind
            and self.aux == other.aux
            and self.children == other.children
        )

    def __hash__(self):
        return hash((self.kind, self.aux, self.children))

    def __repr__(self) -> str:
        return f"PyTreeDef({self._render()})"

    def _render(self) -> str:
        if self.kind is None:
            return "*"
        inner = ", ".join(c._render() for c in self.children)
        if self.kind is list:
            return f"[{inner}]"
        if self.kind is tuple:
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        if self.kind in (dict, OrderedDict):
            return "{" + ", ".join(f"{k!r}: {c._render()}" for k, c in zip(self.aux, self.children)) + "}"
        if self.kind is type(None):
            return "None"
        return f"{self.kind.__name__}({inner})"


_LEAF = PyTreeDef(None, None, (), None)


def tree_flatten(tree: Any, is_leaf: Callable | None = None) -> tuple[list, PyTreeDef]:
    """The leaves of `tree` (left to right; dict values in sorted key order) and its structure.

    is_leaf(x) -> True stops the descent at x (x becomes a leaf even if it is a list, a dict, ...).
    """
    leaves: list = []
    return leaves, _flatten(tree, is_leaf, leaves)


def _flatten(x, is_leaf, leaves):
    fns = None if (is_leaf is not None and is_leaf(x)) else _node_functions(x)
    if fns is None:
        leaves.append(x)
        return _LEAF
    children, aux = fns[0](x)
    return PyTreeDef(type(x), aux, [_flatten(c, is_leaf, leaves) for c in children], fns[1])


def tree_unflatten(treedef: PyTreeDef, leaves) -> Any:
    """Rebuild a pytree of structure `treedef` from its leaves (the inverse of tree_flatten)."""
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(
            f"tree_unflatten: the structure {treedef} has {treedef.num_leaves} leaves but {len(leaves)} were given"
        )
    it = iter(leaves)
    return _unflatten(treedef, it)


def _unflatten(td, it):
    if td.kind is None:
        return next(it)
    return td.unflatten(td.aux, [_unflatten(c, it) for c in td.children])


def tree_leaves(tree: Any, is_leaf: Callable | None = None) -> list:
    """The leaves of `tree`, in tree_flatten's order."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any, is_leaf: Callable | None = None) -> PyTreeDef:
    """The structure of `tree` (its PyTreeDef)."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f: Callable, tree: Any, *rest: Any, is_leaf: Callable | None = None) -> Any:
    """Apply f to every leaf of `tree` (and the matching leaves of `rest`), keeping the structure.

    >>> tree_map(lambda a, b: a + b, {"x": 1, "y": [2, 3]}, {"x": 10, "y": [20, 30]})
    {'x': 11, 'y': [22, 33]}
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = []
    for i, r in enumerate(rest):
        r_leaves, r_def = tree_flatten(r, is_leaf)
        if r_def != treedef:
            raise ValueError(
                f"tree_map: tree {i + 1} has structure {r_def}, which differs from the first tree's {treedef}; "
                "all trees must have the same structure"
            )
        others.append(r_leaves)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others)])


def tree_reduce(f: Callable, tree: Any, initializer: Any = None, is_leaf: Callable | None = None) -> Any:
    """Fold f over the leaves of tree, left to right (functools.reduce over tree_leaves)."""
    import functools

    leaves = tree_leaves(tree, is_leaf)
    return functools.reduce(f, leaves) if initializer is None else functools.reduce(f, leaves, initializer)


def tree_all(tree: Any) -> bool:
    return all(tree_leaves(tree))


__all__ = [
    "PyTreeDef",
    "register_pytree_node",
    "tree_all",
    "tree_flatten",
    "tree_leaves",
    "tree_map",
    "tree_reduce",
    "tree_structure",
    "tree_unflatten",
]

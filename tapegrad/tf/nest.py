"""Nested structures (TensorFlow's "nests"): lists, tuples, namedtuples and dicts of leaves.

Leaf module of tapegrad/tf; the tape, custom_gradient and the control-flow functions use it to
accept and return structures that mirror what the user passed.
"""

from __future__ import annotations


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def flatten(structure) -> list:
    """The leaves of structure, depth first; dict values in sorted-key order, as TensorFlow does."""
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in flatten(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_as(structure, flat):
    """A structure shaped like `structure` whose leaves are taken, in order, from `flat`."""
    it = iter(flat)
    out = _pack(structure, it)
    if next(it, _END) is not _END:
        raise ValueError(f"pack_as: {len(list(flat))} leaves given for a structure with fewer leaves")
    return out


_END = object()


def _pack(structure, it):
    if isinstance(structure, dict):
        packed = {k: _pack(structure[k], it) for k in sorted(structure)}
        return type(structure)((k, packed[k]) for k in structure)  # the caller's key order
    if _is_namedtuple(structure):
        return type(structure)(*[_pack(x, it) for x in structure])
    if isinstance(structure, (list, tuple)):
        return type(structure)(_pack(x, it) for x in structure)
    try:
        return next(it)
    except StopIteration:
        raise ValueError("pack_as: too few leaves for the structure") from None


def map_structure(fn, structure):
    """fn applied to every leaf, in a structure shaped like the input."""
    return pack_as(structure, [fn(x) for x in flatten(structure)])


def same_structure(a, b) -> bool:
    """Whether a and b nest the same way (leaves may differ)."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and sorted(a) == sorted(b)
            and all(same_structure(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (
            isinstance(a, (list, tuple))
            and isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(same_structure(x, y) for x, y in zip(a, b))
        )
    return True


def describe(structure) -> str:
    """A short picture of a structure for error messages: [T, (T, T)], {'a': T}."""
    if isinstance(structure, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in structure.items()) + "}"
    if isinstance(structure, list):
        return "[" + ", ".join(describe(x) for x in structure) + "]"
    if isinstance(structure, tuple):
        return "(" + ", ".join(describe(x) for x in structure) + ("," if len(structure) == 1 else "") + ")"
    return "T"

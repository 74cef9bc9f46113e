"""Symbolic dimensions: the None sizes of an input_signature while a function is traced once for all sizes.

A `Dim` is a polynomial with integer coefficients over named sizes (`d0`, `2*d0`, `d0*d1 + 3`), so the
shape rules (products, sums, exact division) propagate it through a graph unchanged. The graph traced with
Dims is generic; `specialise` (trace/function.py) substitutes concrete sizes and re-runs the shape rules.

Comparisons with an integer have no honest answer for every size. Inside tapegrad (shape rules, front-end
normalisation) a Dim is answered as a large unknown size (not equal to any constant, positive): decisions
taken that way are re-checked when the graph is specialised, because every shape rule runs again on the
concrete sizes. In the user's own code the same question raises a TraceError naming the line, since
Python branching on an unknown size cannot be recorded in a graph. Depends on errors.py only.
"""

from __future__ import annotations

import os
import sys

from ..errors import TraceError, user_frame

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INTERNAL: dict = {}


def _called_from_user(depth: int = 2) -> bool:
    """Whether the code asking about a Dim (the caller of the dunder method) lies outside tapegrad."""
    frame = sys._getframe(depth)
    name = frame.f_code.co_filename
    internal = _INTERNAL.get(name)
    if internal is None:
        internal = _INTERNAL[name] = os.path.abspath(name).startswith(_PACKAGE_DIR)
    return not internal


class Dim:
    """A symbolic size: terms maps a monomial (a sorted tuple of symbol names) to its integer coefficient."""

    __slots__ = ("terms", "origins", "owner")

    def __init__(self, terms: dict, origins: dict, owner=None):
        self.terms = {m: c for m, c in terms.items() if c}
        self.origins = origins  # symbol name -> what it stands for ("x.shape[0]"), for error messages
        self.owner = owner  # the Tracer whose inputs define the symbols (makes size tensors, see tensor_of)

    @classmethod
    def symbol(cls, name: str, origin: str, owner=None) -> Dim:
        return cls({(name,): 1}, {name: origin}, owner)

    # *** algebra ***

    def _new(self, terms, other=None) -> Dim | int:
        origins = dict(self.origins)
        if isinstance(other, Dim):
            origins.update(other.origins)
        terms = {m: c for m, c in terms.items() if c}
        if not terms or set(terms) == {()}:
            return terms.get((), 0)  # a constant: a plain int again (d0 - d0 == 0)
        return Dim(terms, origins, self.owner or getattr(other, "owner", None))

    @staticmethod
    def _terms(x) -> dict:
        if isinstance(x, Dim):
            return x.terms
        if isinstance(x, int):
            return {(): int(x)}
        return None

    def __add__(self, other):
        t = self._terms(other)
        if t is None:
            return NotImplemented
        out = dict(self.terms)
        for m, c in t.items():
            out[m] = out.get(m, 0) + c
        return self._new(out, other)

    __radd__ = __add__

    def __neg__(self):
        return self._new({m: -c for m, c in self.terms.items()})

    def __sub__(self, other):
        return self + (-other) if self._terms(other) is not None else NotImplemented

    def __rsub__(self, other):
        return (-self) + other if self._terms(other) is not None else NotImplemented

    def __mul__(self, other):
        t = self._terms(other)
        if t is None:
            return NotImplemented
        out: dict = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in t.items():
                m = tuple(sorted(m1 + m2))
                out[m] = out.get(m, 0) + c1 * c2
        return self._new(out, other)

    __rmul__ = __mul__

    def __floordiv__(self, other):
        q = self._divide(other)
        if q is None:
            raise self._error(f"dividing the size {self} by {other}, which does not divide it for every size,")
        return q

    def __rfloordiv__(self, other):
        if isinstance(other, int) and other == 0:
            return 0
        raise self._error(f"dividing {other} by the size {self}")

    def __mod__(self, other):
        if self._divide(other) is not None:
            return 0
        raise self._error(f"the remainder of the size {self} by {other}")

    def _divide(self, other):
        """self / other when it is exact for every value of the symbols (other an int or one monomial)."""
        t = self._terms(other)
        if t is None or len(t) != 1:
            return None
        (m2, c2), = t.items()
        out = {}
        for m, c in self.terms.items():
            rest = list(m)
            for s in m2:
                if s not in rest:
                    return None
                rest.remove(s)
            if c % c2:
                return None
            out[tuple(rest)] = c // c2
        return self._new(out, other)

    # *** questions with no answer valid for every size ***

    def __eq__(self, other):
        if isinstance(other, Dim):
            return self.terms == other.terms
        if not isinstance(other, int):
            return NotImplemented
        if _called_from_user():
            raise self._error(f"comparing the size {self} with {other}")
        return False  # internal code: an unknown size is none of the constants it is compared with

    def __ne__(self, other):
        if isinstance(other, Dim):
            return self.terms != other.terms
        if not isinstance(other, int):
            return NotImplemented
        if _called_from_user():
            raise self._error(f"comparing the size {self} with {other}")
        return True

    def _order(self, other, large: bool):
        if not isinstance(other, (int, Dim)):
            return NotImplemented
        if _called_from_user(3):
            raise self._error(f"comparing the size {self} with {other}")
        return large  # internal code: an unknown size is positive and large

    def __lt__(self, other):
        return self._order(other, False)

    def __le__(self, other):
        return self._order(other, isinstance(other, Dim) and other == self)

    def __gt__(self, other):
        return self._order(other, not (isinstance(other, Dim) and other == self))

    def __ge__(self, other):
        return self._order(other, True)

    def __hash__(self):
        return hash(tuple(sorted(self.terms.items())))

    def __bool__(self):
        if _called_from_user():
            raise self._error(f"the truth value of the size {self}")
        return True

    def __index__(self):
        raise self._error(f"using the size {self} as a Python int")

    __int__ = __index__

    def __float__(self):
        raise self._error(f"using the size {self} as a Python float")

    def _error(self, what: str) -> TraceError:
        names = ", ".join(f"{n} is {o}" for n, o in sorted(self.origins.items()))
        return TraceError(
            f"{what} at {user_frame()}: {names}, a None dimension of the input signature, whose value is unknown "
            "while the function is traced once for every size. Python code cannot branch on it or use it as a "
            "number. Fix: compute with tf.shape(x) (a tensor, usable in reshapes and arithmetic), or give that "
            "dimension a concrete size in the TensorSpec."
        )

    # *** display and substitution ***

    def __str__(self) -> str:
        parts = []
        for m, c in sorted(self.terms.items(), key=lambda mc: (-len(mc[0]), mc[0])):
            name = "*".join(m)
            parts.append(str(c) if not m else name if c == 1 else f"{c}*{name}")
        return " + ".join(parts).replace("+ -", "- ")

    __repr__ = __str__

    def evaluate(self, env: dict) -> int:
        total = 0
        for m, c in self.terms.items():
            for s in m:
                c *= env[s]
            total += c
        return total


def is_dim(x) -> bool:
    return type(x) is Dim


def has_dims(shape) -> bool:
    return any(type(s) is Dim for s in shape)


def substitute(value, env: dict, graph_fn=None):
    """value with every Dim replaced by its size under env (tuples, lists, dicts walked; Graphs by graph_fn)."""
    t = type(value)
    if t is Dim:
        return value.evaluate(env)
    if t is tuple or t is list:
        return t(substitute(x, env, graph_fn) for x in value)
    if t is dict:
        return {k: substitute(v, env, graph_fn) for k, v in value.items()}
    if graph_fn is not None and t.__name__ == "Graph":
        return graph_fn(value)
    return value


def known_value(t):
    """The value a tracer knows for a small symbolic integer tensor built from sizes (tf.shape(x), x.shape[0] used
    as a tensor, their products and slices) as a numpy object array of ints and Dims, else None."""
    known = getattr(getattr(t, "_data", None), "known", None)
    return known() if callable(known) else None


def as_size(a):
    """A size argument as an int or a Dim: ints, Dims, and scalar tensors whose value the tracer knows."""
    if type(a) is Dim:
        return a
    k = known_value(a)
    if k is not None and k.ndim == 0:
        return k.item()
    return int(a)

"""Sample inputs for every primitive in the table, used by the registry-driven rule tests.

SAMPLES maps a primitive name to a function `rng -> list[Case]`. A primitive registered without an
entry here fails `test_rules.py::test_registry`. Inputs are numpy arrays (float64 unless the case is
about dtypes); domains keep finite differences valid: away from poles, branch cuts and kinks, and
without ties where the rule picks a winner. Cases that deliberately sit on a kink or a tie set
`smooth=False`: they are checked for shapes and for the jvp/vjp transpose identity, never against FD.
"""

from __future__ import annotations

import numpy as np

import tapegrad as tg


class Case:
    """One call of a primitive: positional array arguments and keyword params.

    diff: indices of the arguments to differentiate (default: every floating argument).
    smooth: False for cases on a kink or tie (finite differences are not valid there).
    eps, tol: finite-difference step and tolerance (looser for float32 round trips).
    """

    def __init__(self, args, params=None, *, diff=None, label="", smooth=True, eps=1e-6, tol=1e-6):
        self.args = [np.asarray(a) for a in args]
        self.params = params or {}
        if diff is None:
            diff = tuple(i for i, a in enumerate(self.args) if a.dtype.kind == "f")
        self.diff = tuple(diff)
        self.label = label
        self.smooth, self.eps, self.tol = smooth, eps, tol

    def __repr__(self) -> str:
        shapes = ",".join("x".join(map(str, a.shape)) or "()" for a in self.args)
        return f"{self.label or shapes}"


# *** value generators ***

SHAPES = [(), (4,), (2, 3), (0, 3)]  # scalar, vector, matrix, zero-size


def _uniform(rng, shape, lo, hi):
    return rng.uniform(lo, hi, size=shape)


def _signed(rng, shape, lo, hi):
    """|values| in [lo, hi] with random signs (keeps away from 0 and its kinks)."""
    return _uniform(rng, shape, lo, hi) * rng.choice([-1.0, 1.0], size=shape)


def _off_grid(rng, shape, lo=-3, hi=3):
    """Values whose fractional part lies in (0.1, 0.4) or (0.6, 0.9): away from integers and halves."""
    whole = rng.integers(lo, hi, size=shape).astype(np.float64)
    frac = _uniform(rng, shape, 0.1, 0.4) + rng.choice([0.0, 0.5], size=shape)
    return whole + frac


def _ints(rng, shape, dtype=np.int64):
    return rng.integers(-4, 5, size=shape).astype(dtype)


def _int_scans(rng):
    """Scans over integer and bool inputs (accumulate in int64, as numpy and PyTorch do)."""
    return [
        Case([_ints(rng, (2, 3), np.int32)], {"axis": 1}, label="int32"),
        Case([rng.random((4,)) < 0.5], {"axis": 0}, label="bool"),
    ]


def _distinct(rng, shape, spacing=0.5):
    """Values pairwise at least `spacing` apart (no ties for max/argmax/sort)."""
    n = int(np.prod(shape))
    vals = (rng.permutation(n) - n / 2) * spacing + _uniform(rng, n, -0.1, 0.1)
    return vals.reshape(shape)


# *** elementwise unary ***


def _unary(lo, hi, signed=False):
    def make(rng):
        draw = _signed if signed else _uniform
        return [Case([draw(rng, s, lo, hi)]) for s in SHAPES]

    return make


UNARY_DOMAINS = {
    "neg": _unary(-2, 2),
    "exp": _unary(-2, 2),
    "expm1": _unary(-2, 2),
    "log": _unary(0.2, 3),
    "log1p": _unary(-0.8, 3),
    "sqrt": _unary(0.2, 3),
    "sin": _unary(-3, 3),
    "cos": _unary(-3, 3),
    "tan": _unary(-1.2, 1.2),
    "asin": _unary(-0.9, 0.9),
    "acos": _unary(-0.9, 0.9),
    "atan": _unary(-3, 3),
    "sinh": _unary(-2, 2),
    "cosh": _unary(-2, 2),
    "tanh": _unary(-2, 2),
    "asinh": _unary(-3, 3),
    "acosh": _unary(1.1, 3),
    "atanh": _unary(-0.9, 0.9),
    "sigmoid": _unary(-4, 4),
    "erf": _unary(-2, 2),
    "erfc": _unary(-2, 2),
    "abs": _unary(0.1, 2, signed=True),
}


def _gelu(rng):
    """Both approximations, around 0 and in the tails (where the tanh form's sigmoid saturates)."""
    cases = []
    for approximate in ("none", "tanh"):
        cases += [Case([_uniform(rng, s, -3, 3)], {"approximate": approximate}) for s in SHAPES]
        cases.append(Case([np.array([-7.0, -4.5, 4.5, 7.0])], {"approximate": approximate}, label=f"tails_{approximate}"))
    return cases


def _gelu_backward(rng):
    """(g, x): the derivative of gelu scaled by g, both differentiable."""
    cases = []
    for approximate in ("none", "tanh"):
        cases += [Case([_uniform(rng, s, -2, 2), _uniform(rng, s, -3, 3)], {"approximate": approximate}) for s in SHAPES]
    return cases


def _abs(rng):
    cases = UNARY_DOMAINS["abs"](rng)
    cases.append(Case([np.array([-1.0, 0.0, 2.0])], label="at_zero", smooth=False))
    return cases


def _piecewise(rng):
    cases = [Case([_off_grid(rng, s)]) for s in SHAPES]
    cases.append(Case([np.array([-1.0, 0.0, 0.5, 2.0])], label="on_steps", smooth=False))
    return cases


# *** elementwise binary ***


def _binary(x_draw, y_draw, shapes=SHAPES):
    def make(rng):
        return [Case([x_draw(rng, s), y_draw(rng, s)]) for s in shapes]

    return make


def _any(rng, shape):
    return _uniform(rng, shape, -2, 2)


def _away_from_zero(rng, shape):
    return _signed(rng, shape, 0.5, 2)


def _positive(rng, shape):
    return _uniform(rng, shape, 0.3, 2)


def _pow(rng):
    cases = _binary(_positive, _any)(rng)
    # negative bases with integer exponents: defined, differentiable in x only (log(x) is nan)
    x = _signed(rng, (5,), 0.3, 2)
    cases.append(Case([x, np.array([2.0, 3.0, -1.0, 0.0, 1.0])], diff=(0,), label="neg_base_int_exp"))
    # x == 0: smooth in x for integer exponents >= 1, and in y (0**y == 0 for y > 0) with x held at 0
    cases.append(Case([np.zeros(3), np.array([1.0, 2.0, 3.0])], diff=(0,), label="zero_base_dx"))
    cases.append(Case([np.zeros(3), np.array([0.5, 2.0, 2.5])], diff=(1,), label="zero_base_dy"))
    # the conventions at 0: d/dx is 0 where y == 0, d/dy is 0 where x == 0 and y >= 0
    cases.append(Case([np.array([0.0, 0.0, 1.5]), np.array([0.0, 2.0, 0.0])], label="zero_conventions", smooth=False))
    return cases


def _extremum(rng):
    cases = []
    for s in SHAPES:
        both = _distinct(rng, (2,) + s, spacing=0.3)
        cases.append(Case([both[0], both[1]]))
    cases.append(Case([np.array([1.0, 2.0, -1.0]), np.array([1.0, 0.0, -1.0])], label="ties", smooth=False))
    return cases


def _atan2(rng):
    # keep the ordinate x away from 0 so that the branch cut (x = 0, y < 0) is never crossed
    return _binary(_away_from_zero, _any)(rng)


def _copysign(rng):
    # x away from 0 (the derivative out / x); y of both signs, plus -0.0 and +0.0 on a non-smooth case
    cases = _binary(_away_from_zero, _any)(rng)
    cases.append(Case([np.array([1.5, -2.0, 0.0]), np.array([-0.0, 0.0, -1.0])], label="signed zeros", smooth=False))
    return cases


def _logaddexp(rng):
    cases = _binary(_any, _any)(rng)
    cases.append(Case([np.array([800.0, -800.0, 3.0]), np.array([799.0, -801.0, 3.0])], label="far and equal"))
    return cases


def _modulo(rng):
    cases = []
    for s in SHAPES:
        y = _signed(rng, s, 0.5, 2)
        x = y * _off_grid(rng, s)  # x / y stays away from integers: no jumps of trunc/floor
        cases.append(Case([x, y]))
    return cases


def _arith(x_draw, y_draw):
    def make(rng):
        cases = _binary(x_draw, y_draw)(rng)
        cases.append(Case([_ints(rng, (2, 3), np.int32), _ints(rng, (2, 3), np.int32)], label="int32"))
        return cases

    return make


# *** non-differentiable elementwise ***


def _compare(rng):
    cases = []
    for s in SHAPES:
        x = _off_grid(rng, s)
        y = np.where(rng.random(s) < 0.3, x, _off_grid(rng, s))  # some equal pairs
        cases.append(Case([x, y]))
    return cases


def _bitwise(rng):
    cases = []
    for s in SHAPES:
        cases.append(Case([rng.integers(-8, 8, size=s), rng.integers(-8, 8, size=s)]))
    cases.append(Case([rng.random((2, 3)) < 0.5, rng.random((2, 3)) < 0.5], label="bool"))
    cases.append(Case([rng.integers(0, 255, size=(4,)).astype(np.uint8)] * 2, label="uint8"))
    return cases


def _shift(rng):
    cases = [Case([rng.integers(-100, 100, size=s), rng.integers(-2, 70, size=s)]) for s in SHAPES]
    cases.append(Case([rng.integers(0, 255, size=(4,)).astype(np.uint8), np.array([0, 3, 8, 9], np.uint8)], label="uint8"))
    cases.append(Case([np.array([-128, 5], np.int8), np.array([7, 9], np.int8)], label="int8"))
    return cases


def _bitwise_not(rng):
    cases = [Case([rng.integers(-8, 8, size=s)]) for s in SHAPES]
    cases.append(Case([rng.random((2, 3)) < 0.5], label="bool"))
    return cases


def _classify(rng):
    cases = [Case([_any(rng, s)]) for s in SHAPES]
    cases.append(Case([np.array([np.nan, np.inf, -np.inf, 0.0, 1.5])], label="special"))
    return cases


# *** selection and conversion ***


def _where(rng):
    cases = []
    for s in SHAPES:
        cases.append(Case([rng.random(s) < 0.5, _any(rng, s), _any(rng, s)]))
    return cases


def _cast(rng):
    f64, f32 = tg.float64, tg.float32
    return [
        Case([_any(rng, (2, 3))], {"dtype": f64}, label="f64_to_f64"),
        Case([_any(rng, ())], {"dtype": f64}, label="scalar"),
        Case([_any(rng, (0, 2))], {"dtype": f64}, label="empty"),
        # float32 round trips: FD needs a larger step, and float32 rounding limits the tolerance
        Case([_any(rng, (3,))], {"dtype": f32}, label="f64_to_f32", eps=1e-2, tol=1e-4),
        Case([_any(rng, (3,)).astype(np.float32)], {"dtype": f64}, label="f32_to_f64", eps=1e-2, tol=1e-4),
        # to an integer dtype: no gradient flows back
        Case([_off_grid(rng, (4,))], {"dtype": tg.int64}, label="f64_to_i64"),
        Case([rng.integers(-5, 5, size=(3,))], {"dtype": f64}, label="i64_to_f64"),
    ]


# *** reductions and scans ***


def _sum(rng):
    return [
        Case([_any(rng, ())], {"axes": (), "keepdim": False}),
        Case([_any(rng, (4,))], {"axes": (0,), "keepdim": False}),
        Case([_any(rng, (2, 3))], {"axes": (1,), "keepdim": True}),
        Case([_any(rng, (2, 3, 2))], {"axes": (0, 2), "keepdim": False}),
        Case([_any(rng, (2, 3))], {"axes": (0, 1), "keepdim": False}),
        Case([_any(rng, (0, 3))], {"axes": (0,), "keepdim": False}),
        Case([_any(rng, (2, 3))], {"axes": (), "keepdim": False}, label="no_axes"),
        Case([rng.integers(-5, 5, size=(2, 3))], {"axes": (1,), "keepdim": False}, label="int"),
        Case([_ints(rng, (2, 3), np.int32)], {"axes": (0,), "keepdim": True}, label="int32"),
        Case([rng.random((2, 3)) < 0.5], {"axes": (0, 1), "keepdim": False}, label="bool"),
    ]


def _amax(rng):
    return [
        Case([_distinct(rng, ())], {"axes": (), "keepdim": False}),
        Case([_distinct(rng, (5,))], {"axes": (0,), "keepdim": False}),
        Case([_distinct(rng, (3, 4))], {"axes": (1,), "keepdim": True}),
        Case([_distinct(rng, (2, 3, 2))], {"axes": (0, 2), "keepdim": False}),
        Case([_distinct(rng, (0, 3))], {"axes": (1,), "keepdim": False}, label="empty_kept_dim"),
        Case(
            [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])], {"axes": (1,), "keepdim": False}, label="ties", smooth=False
        ),
        Case([_ints(rng, (2, 3), np.int32)], {"axes": (1,), "keepdim": False}, label="int32"),
        Case([_distinct(rng, (2, 3))], {"axes": (), "keepdim": False}, label="no_axes"),
    ]


def _arg_reduce(rng):
    return [
        Case([_distinct(rng, (5,))], {"axis": 0, "keepdim": False}),
        Case([_distinct(rng, (3, 4))], {"axis": 1, "keepdim": True}),
        Case([_distinct(rng, (3, 4))], {"axis": 0, "keepdim": False}),
        Case([np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])], {"axis": 1, "keepdim": False}, label="ties"),
    ]


def _argsort(rng):
    return [
        Case([_distinct(rng, (5,))], {"axis": 0, "descending": False}),
        Case([_distinct(rng, (3, 4))], {"axis": 1, "descending": True}),
        Case([np.array([2.0, 1.0, 2.0, 1.0])], {"axis": 0, "descending": True}, label="ties"),
        Case([_any(rng, (0, 3))], {"axis": 0, "descending": False}),
    ]


def _cumsum(rng):
    return [
        Case([_any(rng, (5,))], {"axis": 0}),
        Case([_any(rng, (3, 4))], {"axis": 1}),
        Case([_any(rng, (3, 4))], {"axis": 0}),
        Case([_any(rng, (0, 3))], {"axis": 0}),
        Case([_any(rng, (2, 0))], {"axis": 1}),
        *_int_scans(rng),
    ]


def _cumprod(rng):
    return [
        Case([_any(rng, (5,))], {"axis": 0}),
        Case([_any(rng, (3, 4))], {"axis": 1}),
        Case([_any(rng, (4, 2))], {"axis": 0}),
        Case([_any(rng, (1, 3))], {"axis": 0}),
        Case([_any(rng, (0, 3))], {"axis": 0}),
        # cumprod is a polynomial: zeros in x are smooth points, and the rule must stay exact there
        Case([np.array([1.5, 0.0, -2.0, 0.7])], {"axis": 0}, label="one_zero"),
        Case([np.array([[0.5, 0.0, 2.0, 0.0, 1.2]])], {"axis": 1}, label="two_zeros"),
        *_int_scans(rng),
    ]


def _prod(rng):
    return [
        Case([_any(rng, (5,))], {"axis": 0, "keepdim": False}),
        Case([_any(rng, (3, 4))], {"axis": 1, "keepdim": True}),
        Case([_any(rng, (3, 4))], {"axis": 0, "keepdim": False}),
        Case([_any(rng, (1, 3))], {"axis": 0, "keepdim": False}),
        Case([_any(rng, (0, 3))], {"axis": 0, "keepdim": False}, label="empty_axis"),
        Case([np.array([1.5, 0.0, -2.0, 0.7])], {"axis": 0, "keepdim": False}, label="one_zero"),
        Case([np.array([[0.5, 0.0, 2.0, 0.0]])], {"axis": 1, "keepdim": False}, label="two_zeros"),
        Case([_ints(rng, (2, 3), np.int32)], {"axis": 1, "keepdim": False}, label="int32"),
        Case([rng.random((2, 3)) < 0.5], {"axis": 0, "keepdim": True}, label="bool"),
    ]


# *** movement ***


def _reshape(rng):
    return [
        Case([_any(rng, (2, 3))], {"shape": (3, 2)}),
        Case([_any(rng, ())], {"shape": (1, 1)}),
        Case([_any(rng, (1, 1))], {"shape": ()}),
        Case([_any(rng, (2, 3, 2))], {"shape": (12,)}),
        Case([_any(rng, (0, 3))], {"shape": (3, 0)}),
    ]


def _permute(rng):
    return [
        Case([_any(rng, (2, 3, 4))], {"perm": (2, 0, 1)}),
        Case([_any(rng, (2, 3))], {"perm": (1, 0)}),
        Case([_any(rng, ())], {"perm": ()}),
        Case([_any(rng, (0, 3))], {"perm": (1, 0)}),
    ]


def _expand(rng):
    return [
        Case([_any(rng, (3, 1))], {"shape": (3, 4)}),
        Case([_any(rng, (1, 1))], {"shape": (2, 3)}),
        Case([_any(rng, (1, 2, 1))], {"shape": (3, 2, 2)}),
        Case([_any(rng, ())], {"shape": ()}),
        Case([_any(rng, (1, 3))], {"shape": (0, 3)}),
    ]


def _slice(rng):
    return [
        Case([_any(rng, (6,))], {"index": ((1, 5, 2),)}),
        Case([_any(rng, (4, 5))], {"index": ((0, 4, 1), (4, -1, -2))}, label="reverse_to_start"),
        Case([_any(rng, (4, 5))], {"index": ((3, 0, -1), (1, 4, 1))}, label="reverse"),
        Case([_any(rng, (3, 4))], {"index": ((1, 1, 1), (0, 4, 3))}, label="empty_result"),
        Case([_any(rng, ())], {"index": ()}),
        Case([_any(rng, (0, 3))], {"index": ((0, 0, 1), (0, 3, 2))}),
    ]


def _unslice(rng):
    cases = []
    for c in _slice(rng):
        shape, index = c.args[0].shape, c.params["index"]
        sliced = tuple(len(range(*s)) for s in index)
        cases.append(Case([_any(rng, sliced)], {"shape": shape, "index": index}, label=c.label))
    return cases


def _pad(rng):
    return [
        Case([_any(rng, (3,))], {"widths": ((1, 2),), "value": 0.0}),
        Case([_any(rng, (2, 3))], {"widths": ((0, 1), (2, 0)), "value": 1.5}),
        Case([_any(rng, ())], {"widths": (), "value": 0.0}),
        Case([_any(rng, (0, 2))], {"widths": ((1, 1), (0, 0)), "value": -1.0}),
    ]


def _flip(rng):
    return [
        Case([_any(rng, (5,))], {"axes": (0,)}),
        Case([_any(rng, (2, 3))], {"axes": (0, 1)}),
        Case([_any(rng, (2, 3, 2))], {"axes": (1,)}),
        Case([_any(rng, ())], {"axes": ()}),
        Case([_any(rng, (0, 3))], {"axes": (1,)}),
    ]


def _concat(rng):
    return [
        Case([_any(rng, (2,)), _any(rng, (3,))], {"axis": 0}),
        Case([_any(rng, (2, 1)), _any(rng, (2, 3)), _any(rng, (2, 2))], {"axis": 1}),
        Case([_any(rng, (1, 3)), _any(rng, (0, 3)), _any(rng, (2, 3))], {"axis": 0}, label="with_empty"),
        Case([_any(rng, (2, 3))], {"axis": 0}, label="single"),
    ]


# *** advanced indexing ***

_ALL = ("slice", None, None, None)


def _index(rng):
    return [
        Case([_any(rng, (5,)), np.array([0, 3, 3, 1])], {"key": ("idx",)}, label="repeats"),
        Case([_any(rng, (3, 4)), np.array([[0, 2], [3, 3]])], {"key": (_ALL, "idx")}, label="second_axis"),
        Case(
            [_any(rng, (3, 4, 2)), np.array([0, 2, 1]), np.array([[1], [3]])],
            {"key": ("idx", "idx")},
            label="broadcast_pair",
        ),
        Case([_any(rng, (3, 4)), np.array([2, 0])], {"key": ("newaxis", "idx", ("slice", 1, 3, None))}, label="mixed"),
        Case([_any(rng, (4, 3)), np.array([1, 2])], {"key": ("ellipsis", "idx")}, label="ellipsis"),
        Case([_any(rng, (4,)), np.array(2)], {"key": ("idx",)}, label="scalar_index"),
        Case([_any(rng, (4, 2)), np.zeros(0, np.int64)], {"key": ("idx",)}, label="empty_index"),
        Case([_any(rng, (5,)), np.array([-1, 0])], {"key": ("idx",)}, label="negative"),
    ]


def _index_put(rng):
    cases = []
    for c in _index(rng):
        x, idx, key = c.args[0], c.args[1:], c.params["key"]
        shape = x[_decode(key, idx)].shape
        positions = [a.ravel() % n for a, n in zip(np.broadcast_arrays(*idx), _indexed_sizes(x.shape, key))]
        unique = len(set(zip(*positions))) == positions[0].size
        for acc in (True, False):
            # NOTE: overwriting with repeated indices keeps an unspecified write (as in PyTorch): its
            # gradient is not defined, so accumulate=False is only sampled with unique indices.
            if acc or unique:
                args = [_any(rng, x.shape), _any(rng, shape), *idx]
                cases.append(Case(args, {"key": key, "accumulate": acc}, label=f"{c.label}_{'add' if acc else 'set'}"))
    return cases


def _indexed_sizes(shape, key):
    """The sizes of the axes that the index tensors of `key` select (consecutive "idx" entries)."""
    dims, dim = [], 0
    for k in key:
        if k == "ellipsis":
            dim = len(shape) - (len(key) - key.index(k) - 1 - key.count("newaxis"))
        elif k == "idx":
            dims.append(shape[dim])
            dim += 1
        elif k != "newaxis":
            dim += 1
    return dims


def _decode(key, idx):
    from tapegrad.primitives.indexing import decode_key

    return decode_key(key, idx)


# *** linear algebra and windows ***


def _well_conditioned(rng, n, batch=()):
    return rng.normal(size=batch + (n, n)) * 0.3 + np.eye(n) * 2


def _spd(rng, n, batch=()):
    """Symmetric positive definite with well-separated eigenvalues (eigh's rule needs distinct ones)."""
    q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    a = (q * np.arange(1.0, n + 1) * 1.5) @ q.T
    return np.broadcast_to(a, batch + (n, n)).copy()


def _distinct_svd(rng, m, n):
    u = np.linalg.qr(rng.normal(size=(m, n)))[0]
    v = np.linalg.qr(rng.normal(size=(n, n)))[0]
    return (u * np.arange(1.0, n + 1)) @ v.T


def _matmul(rng):
    return [
        Case([_any(rng, (2, 3)), _any(rng, (3, 4))]),
        Case([_any(rng, (2, 2, 3)), _any(rng, (2, 3, 1))]),
        Case([_any(rng, (1, 1)), _any(rng, (1, 1))]),
        Case([_any(rng, (0, 3)), _any(rng, (3, 2))]),
        Case([_any(rng, (2, 0)), _any(rng, (0, 3))], label="empty_inner"),
    ]


UNFOLD_CONFIGS = [
    ((2, 1, 5), (2,), (1,), (1,)),
    ((1, 2, 7), (3,), (2,), (2,)),
    ((1, 2, 4, 5), (2, 3), (1, 2), (1, 1)),
    ((1, 1, 5, 5), (2, 2), (2, 1), (2, 1)),
    ((1, 1, 3, 3, 3), (2, 2, 2), (1, 1, 1), (1, 1, 1)),
    ((0, 1, 4), (2,), (1,), (1,)),
]


def _window_params(kernel, stride, dilation):
    return {"kernel": kernel, "stride": stride, "dilation": dilation}


def _tile_argmax(rng):
    """Tiles of 1, 2 and 3 spatial dims, with a remainder left out (floor mode), and ties (the first maximum)."""
    ties = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 0.0, 0.0]]]])
    return [Case([_distinct(rng, (2, 3, 7))], {"kernel": (2,)}),
            Case([_distinct(rng, (1, 2, 5, 4))], {"kernel": (2, 2)}),
            Case([_distinct(rng, (1, 1, 4, 3, 5))], {"kernel": (2, 1, 2)}),
            Case([ties], {"kernel": (2, 2)}, label="ties")]


def _unfold(rng):
    return [Case([_any(rng, shape)], _window_params(*rest)) for shape, *rest in UNFOLD_CONFIGS]


def _fold(rng):
    from tapegrad.primitives.linalg import window_out_size

    cases = []
    for shape, kernel, stride, dilation in UNFOLD_CONFIGS:
        outs = tuple(window_out_size(*a) for a in zip(shape[2:], kernel, stride, dilation))
        cols = _any(rng, shape[:2] + outs + kernel)
        cases.append(Case([cols], {"size": shape[2:], **_window_params(kernel, stride, dilation)}))
    return cases


def _random_bits(rng):
    """Draws from an int64 key (not differentiable): shape and dtype come from the params."""
    key = np.array(int(rng.integers(0, 2**62)), np.int64)
    return [
        Case([key], {"shape": s, "dtype": tg.float64, "distribution": dist}, label=f"{dist}{s}")
        for s, dist in [((), "uniform"), ((4,), "normal"), ((2, 3), "uniform"), ((0, 3), "normal")]
    ] + [Case([np.array(-7, np.int64)], {"shape": (3,), "dtype": tg.float32, "distribution": "uniform"},
              label="negative key float32")]


def _polygamma(rng):
    return [Case([_uniform(rng, s, 0.5, 3)], {"n": n}) for s, n in zip(SHAPES, (0, 1, 2, 3))] + [
        Case([_uniform(rng, (3,), -2.8, -2.2)], {"n": 1}, label="negative")]


def _zeta(rng):
    # differentiable in q only (diff=(1,)), as in PyTorch
    return [Case([_uniform(rng, s, 1.5, 4), _uniform(rng, s, 0.5, 3)], diff=(1,)) for s in SHAPES]


SPECIAL_DOMAINS = {
    "lgamma": lambda rng: [Case([_uniform(rng, s, 0.3, 4)]) for s in SHAPES] + [
        Case([_off_grid(rng, (4,), -3, 0)], label="negative")],
    "polygamma": _polygamma,
    "erfinv": _unary(-0.95, 0.95),
    "erfcx": _unary(-2, 5),
    "ndtri": _unary(0.02, 0.98),
    "i0": _unary(-3, 3),
    "i0e": _unary(0.2, 3, signed=True),
    "i1": _unary(-3, 3),
    "i1e": _unary(0.2, 3, signed=True),
    "zeta": _zeta,
    # differentiable in x only (diff=(1,)); x on both sides of max(1, a), where the algorithm switches
    "gammainc": lambda rng: [Case([_uniform(rng, s, 0.5, 4), _uniform(rng, s, 0.2, 6)], diff=(1,)) for s in SHAPES],
    "gammaincc": lambda rng: [Case([_uniform(rng, s, 0.5, 4), _uniform(rng, s, 0.2, 6)], diff=(1,)) for s in SHAPES],
}


SAMPLES = {
    **SPECIAL_DOMAINS,
    "random_bits": _random_bits,
    # collectives need a process group: their rules are checked on 1, 2 and 3 ranks in tests/distributed/
    **{name: lambda rng: [] for name in ("all_reduce", "all_gather", "reduce_scatter", "broadcast_from")},
    **UNARY_DOMAINS,
    "abs": _abs,
    "gelu": _gelu,
    "gelu_backward": _gelu_backward,
    **{name: _piecewise for name in ("sign", "floor", "ceil", "round", "trunc")},
    "add": _arith(_any, _any),
    "sub": _arith(_any, _any),
    "mul": _arith(_any, _any),
    "div": _binary(_any, _away_from_zero),  # true division: the front end casts integers to float first
    "pow": _pow,
    "maximum": _extremum,
    "minimum": _extremum,
    "atan2": _atan2,
    "copysign": _copysign,
    "logaddexp": _logaddexp,
    "fmod": _modulo,
    "remainder": _modulo,
    **{name: _compare for name in ("eq", "ne", "lt", "le", "gt", "ge")},
    **{name: _bitwise for name in ("bitwise_and", "bitwise_or", "bitwise_xor")},
    "bitwise_not": _bitwise_not,
    "bitwise_left_shift": _shift,
    "bitwise_right_shift": _shift,
    "isnan": _classify,
    "isinf": _classify,
    "where": _where,
    "cast": _cast,
    "sum": _sum,
    "amax": _amax,
    "argmax": _arg_reduce,
    "argmin": _arg_reduce,
    "argsort": _argsort,
    "tile_argmax": _tile_argmax,
    "cumsum": _cumsum,
    "cumprod": _cumprod,
    "prod": _prod,
    "reshape": _reshape,
    "permute": _permute,
    "expand": _expand,
    "slice": _slice,
    "unslice": _unslice,
    "pad": _pad,
    "flip": _flip,
    "concat": _concat,
    "index": _index,
    "index_put": _index_put,
    "matmul": _matmul,
    "inv": lambda rng: [Case([_well_conditioned(rng, 3)]), Case([_well_conditioned(rng, 2, batch=(2,))])],
    "slogdet": lambda rng: [Case([_well_conditioned(rng, 3)]), Case([_well_conditioned(rng, 2, batch=(2,))])],
    "detsign": lambda rng: [Case([_well_conditioned(rng, 3)])],
    "cholesky": lambda rng: [Case([_spd(rng, 3)]), Case([_spd(rng, 2, batch=(2,))])],
    "eigh": lambda rng: [Case([_spd(rng, 3)], smooth=True, tol=1e-5)],
    "qr": lambda rng: [Case([_well_conditioned(rng, 3)]), Case([rng.normal(size=(4, 2))])],
    "svd": lambda rng: [Case([_distinct_svd(rng, 3, 3)], tol=1e-5), Case([_distinct_svd(rng, 4, 2)], tol=1e-5)],
    "lu": lambda rng: [Case([_well_conditioned(rng, 3)]), Case([_well_conditioned(rng, 2, batch=(2,))])],
    "solve": lambda rng: [Case([_well_conditioned(rng, 3), rng.normal(size=(3, 2))]),
                          Case([_well_conditioned(rng, 2, batch=(2,)), rng.normal(size=(2, 2, 1))])],
    "triangular_solve": lambda rng: [
        Case([_well_conditioned(rng, 3), rng.normal(size=(3, 2))], {"upper": up, "unit": unit})
        for up in (False, True) for unit in (False, True)],
    "unfold": _unfold,
    "fold": _fold,
}

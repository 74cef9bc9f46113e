"""Linear-algebra composites: matmul with batch broadcasting and 1-D rules, mm, bmm, dot, outer, einsum."""

from __future__ import annotations

import math

from .. import dtype as dt
from ..errors import user_frame
from ..primitives import bind
from ..primitives.linalg import Matmul
from ..tensor import Tensor
from .elementwise import _as_operand, broadcast_shapes, expand_to
from .reduce import vector_norm  # noqa: F401  (tg.linalg.vector_norm, as torch.linalg.vector_norm)


def matmul(x: Tensor, y: Tensor) -> Tensor:
    """Matrix product with numpy/PyTorch rules: 1-D operands are promoted and squeezed, batch dims broadcast.

    >>> tg.matmul(tg.tensor([[1.0, 2.0]]), tg.tensor([[3.0], [4.0]]))
    tensor([[11.]])
    """
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"matmul: both operands must be Tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {tuple(x.shape)} and {tuple(y.shape)}; use * for scalars")
    if x.dtype is not y.dtype:
        d = dt.promote(x.dtype, y.dtype)
        x, y = _as_operand(x, d), _as_operand(y, d)
    if x.dtype is dt.bool_:
        raise TypeError("matmul: not defined for bool tensors; convert with .float() or .int()")
    xs = x.unsqueeze(0) if x.ndim == 1 else x
    ys = y.unsqueeze(-1) if y.ndim == 1 else y
    if xs.shape[-1] != ys.shape[-2]:
        raise ValueError(
            f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be multiplied "
            f"({xs.shape[-2]}x{xs.shape[-1]} and {ys.shape[-2]}x{ys.shape[-1]}): the inner sizes "
            f"{xs.shape[-1]} and {ys.shape[-2]} differ (at {user_frame()})"
        )
    try:
        batch = broadcast_shapes(xs.shape[:-2], ys.shape[:-2])
    except ValueError as e:
        raise ValueError(
            f"matmul: the batch dimensions of {tuple(x.shape)} and {tuple(y.shape)} do not broadcast: {e}"
        ) from None
    xs = expand_to(xs, batch + xs.shape[-2:])
    ys = expand_to(ys, batch + ys.shape[-2:])
    out = bind(Matmul, xs, ys)
    if x.ndim == 1:
        out = out.squeeze(-2)
    if y.ndim == 1:
        out = out.squeeze(-1)
    return out


def mm(x, y):
    """The product of two matrices.

    >>> tg.mm(tg.tensor([[1, 2], [3, 4]]), tg.tensor([[1, 0], [0, 1]]))
    tensor([[1, 2],
            [3, 4]])
    """
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"mm: expects two 2-D tensors, got shapes {tuple(x.shape)} and {tuple(y.shape)}; use matmul")
    return matmul(x, y)


def bmm(x, y):
    """Batched matrix products of (b, n, m) and (b, m, p).

    >>> tg.bmm(tg.ones(2, 1, 3), tg.ones(2, 3, 1))
    tensor([[[3.]],
    <BLANKLINE>
            [[3.]]])
    
            [[3.]]])
    """
    if x.ndim != 3 or y.ndim != 3 or x.shape[0] != y.shape[0]:
        raise ValueError(f"bmm: expects two 3-D tensors with equal batch sizes, got {tuple(x.shape)} and {tuple(y.shape)}")
    return matmul(x, y)


def mv(x, v):
    """A matrix times a vector.

    >>> tg.mv(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, 1.0]))
    tensor([3., 7.])
    """
    return matmul(x, v)


def dot(x, y):
    """The dot product of two vectors.

    >>> tg.dot(tg.tensor([1, 2]), tg.tensor([3, 4]))
    tensor(11)
    """
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"dot: expects two 1-D tensors of equal size, got {tuple(x.shape)} and {tuple(y.shape)}")
    return matmul(x, y)


inner = vdot = dot


def outer(x, y):
    """The outer product of two vectors.

    >>> tg.outer(tg.tensor([1, 2]), tg.tensor([1, 10]))
    tensor([[ 1, 10],
            [ 2, 20]])
    """
    return x.reshape(-1, 1) * y.reshape(1, -1)


ger = outer


def _parse_einsum(equation, operands):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs = eq
        letters = lhs.replace(",", "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c != "."))
        if "..." in lhs:
            out = "..." + out
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: the equation has {len(terms)} operands but {len(operands)} tensors were given")
    # replace '...' by fresh uppercase letters, right-aligned across operands
    ell = max((t.ndim - (len(s) - 3) for s, t in zip(terms, operands) if "..." in s), default=0)
    fresh = "".join(chr(ord("A") + i) for i in range(ell))
    fixed = []
    for s, t in zip(terms, operands):
        if "..." in s:
            k = t.ndim - (len(s) - 3)
            s = s.replace("...", fresh[ell - k :])
        if len(s) != t.ndim:
            raise ValueError(f"einsum: subscripts '{s}' do not match an operand with {t.ndim} dimensions")
        fixed.append(s)
    return fixed, out.replace("...", fresh)


def _broadcast_letters(equation, items):
    """Check that each subscript letter has one size across operands (size 1 broadcasts, as in PyTorch)."""
    size = {}
    for k, (s, t) in enumerate(items):
        for c, n in zip(s, t.shape):
            if size.get(c, 1) != 1 and n != 1 and size[c] != n:
                raise ValueError(
                    f"einsum('{equation}'): subscript {c} has size {n} in operand {k} but size {size[c]} in an "
                    "earlier operand; sizes must match (or be 1)"
                )
            size[c] = n if size.get(c, 1) == 1 else size[c]
    return [(s, t.expand(tuple(size[c] for c in s))) if t.shape != tuple(size[c] for c in s) else (s, t)
            for s, t in items]


def _take_diagonals(s, t):
    """Repeated letters in one operand (e.g. 'ii') select a diagonal."""
    for c in set(s):
        sizes = {n for x, n in zip(s, t.shape) if x == c}
        if len(sizes) > 1:
            raise ValueError(f"einsum: subscript {c} repeats in '{s}' over dimensions of different sizes {sorted(sizes)}")
    while len(set(s)) < len(s):
        for c in s:
            if s.count(c) > 1:
                i = s.index(c)
                j = s.index(c, i + 1)
                t = t.diagonal(0, i, j)
                s = s[:i] + s[i + 1 : j] + s[j + 1 :] + c
                break
    return s, t


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, contracted pairwise with matmul: einsum('bij,bjk->bik', a, b).

    >>> tg.einsum('ij,j->i', tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, 1.0]))
    tensor([3., 7.])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    terms, out = _parse_einsum(equation, operands)
    items = _broadcast_letters(equation, [_take_diagonals(s, t) for s, t in zip(terms, operands)])
    while len(items) > 1:
        (sa, a), (sb, b) = items[0], items[1]
        later = out + "".join(s for s, _ in items[2:])
        items = [_contract(sa, a, sb, b, later)] + items[2:]
    s, t = items[0]
    gone = tuple(i for i, c in enumerate(s) if c not in out)
    if gone:
        t = t.sum(gone)
        s = "".join(c for c in s if c in out)
    return t.permute([s.index(c) for c in out]) if s != out else t


def _contract(sa, a, sb, b, keep):
    """Contract two operands over letters they share and no later term needs."""
    a, sa = _sum_unique(sa, a, sb + keep)
    b, sb = _sum_unique(sb, b, sa + keep)
    batch = [c for c in sa if c in sb and c in keep]
    summed = [c for c in sa if c in sb and c not in keep]
    only_a = [c for c in sa if c not in sb]
    only_b = [c for c in sb if c not in sa]
    a2 = a.permute([sa.index(c) for c in batch + only_a + summed])
    b2 = b.permute([sb.index(c) for c in batch + summed + only_b])
    size = dict(zip(sa, a.shape))
    size.update(dict(zip(sb, b.shape)))
    na = math.prod(size[c] for c in only_a)
    nb = math.prod(size[c] for c in only_b)
    ns = math.prod(size[c] for c in summed)
    a3 = a2.reshape(tuple(a2.shape[: len(batch)]) + (na, ns))
    b3 = b2.reshape(tuple(b2.shape[: len(batch)]) + (ns, nb))
    r = matmul(a3, b3)
    shape = tuple(r.shape[: len(batch)]) + tuple(size[c] for c in only_a) + tuple(size[c] for c in only_b)
    return "".join(batch + only_a + only_b), r.reshape(shape)


def _sum_unique(s, t, others):
    gone = tuple(i for i, c in enumerate(s) if c not in others)
    if not gone:
        return t, s
    return t.sum(gone), "".join(c for c in s if c in others)


# Tensor methods: tensor.name(...) == name(tensor, ...) (attached by ops/__init__.py)
_METHODS = """matmul mm bmm mv dot inner outer"""

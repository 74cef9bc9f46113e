"""matmul (batch broadcasting, 1-D cases), mm, bmm, dot, outer, einsum vs PyTorch."""

import numpy as np
import pytest

import tapegrad as tg

from .helpers import check_error, check_op

torch = pytest.importorskip("torch")

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4,)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),
    ((0, 3), (3, 2)),
    ((3, 0), (0, 2)),
    ((1, 4), (4, 1)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    check_op(tg.matmul, torch.matmul, list(shapes))
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, list(shapes), dtype="float32")


def test_matmul_dtypes():
    check_op(tg.matmul, torch.matmul, [np.arange(6).reshape(2, 3), np.arange(3)])
    check_op(tg.matmul, torch.matmul, [np.arange(6).reshape(2, 3).astype(np.int32), np.ones((3, 2), np.int32)])
    check_op(tg.matmul, torch.matmul, [(2, 3), (3, 2)], dtype="float16")
    check_op(tg.matmul, torch.matmul, [(2, 3), (3, 2)], dtype="bfloat16")
    check_op(
        lambda a, b: tg.einsum("ij,kj->ik", a, b),
        lambda a, b: torch.einsum("ij,kj->ik", a, b),
        [(2, 3), (4, 3)],
        dtype="bfloat16",
    )


def test_mm_bmm_mv_dot_outer():
    check_op(tg.mm, torch.mm, [(3, 4), (4, 2)])
    check_op(lambda a, b: a.mm(b), lambda a, b: a.mm(b), [(3, 4), (4, 2)])
    check_op(tg.bmm, torch.bmm, [(2, 3, 4), (2, 4, 5)])
    check_op(tg.mv, torch.mv, [(3, 4), (4,)])
    check_op(tg.dot, torch.dot, [(5,), (5,)])
    check_op(lambda a, b: a.dot(b), lambda a, b: a.dot(b), [(5,), (5,)], dtype="float32")
    check_op(tg.outer, torch.outer, [(3,), (4,)])
    check_op(tg.inner, torch.inner, [(4,), (4,)])
    check_op(tg.outer, torch.outer, [np.arange(3), np.arange(2)])


EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii->", [(4, 4)]),
    ("ii->i", [(4, 4)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("...i->...", [(2, 3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,kj", [(3, 4), (5, 4)]),
    ("ba", [(3, 4)]),
    ("iij->j", [(3, 3, 2)]),
    ("i,i,i->i", [(4,), (4,), (4,)]),
    ("ij,k->ijk", [(2, 3), (4,)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(eq, shapes):
    check_op(lambda *xs: tg.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs), shapes)


def test_einsum_list_operands_and_spaces():
    check_op(
        lambda a, b: tg.einsum("ij, jk -> ik", [a, b]),
        lambda a, b: torch.einsum("ij, jk -> ik", [a, b]),
        [(2, 3), (3, 2)],
    )


def test_errors():
    check_error(ValueError, lambda: tg.ones(2, 3) @ tg.ones(4, 5), "matmul", "(2, 3)", "(4, 5)")
    check_error(ValueError, lambda: tg.matmul(tg.ones(3), tg.ones(4)), "matmul", "(3,)", "(4,)")
    check_error(ValueError, lambda: tg.matmul(tg.ones(2, 2, 3), tg.ones(3, 3, 2)), "(2,)", "(3,)")
    check_error(ValueError, lambda: tg.matmul(tg.ones(()), tg.ones(3)), "matmul", "()")
    check_error(ValueError, lambda: tg.mm(tg.ones(3), tg.ones(3, 2)), "mm", "(3,)")
    check_error(ValueError, lambda: tg.bmm(tg.ones(2, 3, 4), tg.ones(3, 4, 5)), "bmm", "(2, 3, 4)", "(3, 4, 5)")
    check_error(ValueError, lambda: tg.dot(tg.ones(3), tg.ones(4)), "dot", "(3,)", "(4,)")
    check_error(ValueError, lambda: tg.einsum("ij,jk->ik", tg.ones(2, 3)), "einsum", "2")
    check_error(ValueError, lambda: tg.einsum("ijk->i", tg.ones(2, 3)), "einsum", "ijk")
    check_error(TypeError, lambda: tg.matmul(tg.ones(2, 2) > 0, tg.ones(2, 2) > 0), "matmul", "bool")


def test_einsum_broadcast_and_size_errors():
    check_op(lambda a, b: tg.einsum("ij,ij->ij", a, b), lambda a, b: torch.einsum("ij,ij->ij", a, b), [(2, 3), (2, 1)])
    check_op(lambda a, b: tg.einsum("ij,jk->ik", a, b), lambda a, b: torch.einsum("ij,jk->ik", a, b), [(2, 1), (3, 5)])
    check_op(
        lambda a, b: tg.einsum("...i,...i->...", a, b),
        lambda a, b: torch.einsum("...i,...i->...", a, b),
        [(2, 1, 3), (4, 3)],
    )
    check_error(ValueError, lambda: tg.einsum("ij,jk->ik", tg.ones(2, 3), tg.ones(4, 5)), "einsum", "j", "4", "3")
    check_error(ValueError, lambda: tg.einsum("ii->i", tg.ones(2, 3)), "einsum", "i", "2", "3")
    check_error(ValueError, lambda: tg.matmul(tg.ones(2, 2, 3), tg.ones(3, 3, 2)), "matmul", "(2, 2, 3)", "(3, 3, 2)")

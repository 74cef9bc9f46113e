"""Movement ops vs PyTorch (values, shapes, gradients), and views sharing storage with their base."""

# ruff: noqa: B023  (lambdas made in a loop are called at once, by check_op, in the same iteration)

import numpy as np
import pytest

import tapegrad as tg

from .helpers import check_error, check_op

torch = pytest.importorskip("torch")


def both(f):
    return f, f


MOVES = {
    "reshape": lambda x: x.reshape(4, 6),
    "reshape_infer": lambda x: x.reshape(-1, 3),
    "reshape_tuple": lambda x: x.reshape((2, 12)),
    "view": lambda x: x.view(6, 4),
    "view_infer": lambda x: x.view(-1),
    "flatten": lambda x: x.flatten(),
    "flatten_1": lambda x: x.flatten(1),
    "flatten_0_1": lambda x: x.flatten(0, 1),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "unflatten_infer": lambda x: x.unflatten(-1, (-1, 2)),
    "squeeze_none": lambda x: x.reshape(2, 1, 3, 1, 4).squeeze(),
    "squeeze_dim": lambda x: x.reshape(2, 1, 3, 1, 4).squeeze(1),
    "squeeze_neg": lambda x: x.reshape(2, 1, 3, 1, 4).squeeze(-2),
    "squeeze_noop": lambda x: x.squeeze(0),
    "squeeze_tuple": lambda x: x.reshape(2, 1, 3, 1, 4).squeeze((1, 3)),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "unsqueeze_neg": lambda x: x.unsqueeze(-1),
    "unsqueeze_mid": lambda x: x.unsqueeze(2),
    "permute": lambda x: x.permute(2, 0, 1),
    "permute_list": lambda x: x.permute([1, 2, 0]),
    "permute_neg": lambda x: x.permute(-1, -3, -2),
    "transpose": lambda x: x.transpose(0, 2),
    "transpose_neg": lambda x: x.transpose(-1, -2),
    "swapaxes": lambda x: x.swapaxes(0, 1),
    "T": lambda x: x.reshape(6, 4).T,
    "mT": lambda x: x.mT,
    "t": lambda x: x.reshape(6, 4).t(),
    "movedim": lambda x: x.movedim(0, -1),
    "expand": lambda x: x[:, :1].expand(2, 5, 4),
    "expand_new_dims": lambda x: x.expand(3, 2, 3, 4),
    "expand_minus1": lambda x: x[:1].expand(2, -1, -1),
    "broadcast_to": lambda x: x[:, :, :1].broadcast_to((3, 2, 3, 5)),
    "repeat": lambda x: x.repeat(2, 1, 3),
    "repeat_more_dims": lambda x: x.repeat(2, 1, 1, 2),
    "tile": lambda x: x.tile((2,)),
    "tile_more": lambda x: x.tile((2, 1, 1, 1)),
    "flip": lambda x: x.flip(0),
    "flip_multi": lambda x: x.flip((0, -1)),
    "fliplr": lambda x: x.fliplr(),
    "roll": lambda x: x.roll(1, 0),
    "roll_neg": lambda x: x.roll(-2, -1),
    "roll_multi": lambda x: x.roll((1, 2), (0, 2)),
    "roll_flat": lambda x: x.roll(5),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "narrow_neg": lambda x: x.narrow(-1, -3, 2),
    "chunk": lambda x: x.chunk(2, 2),
    "chunk_uneven": lambda x: x.chunk(2, 1),
    "chunk_more": lambda x: x.chunk(5, 2),
    "split": lambda x: x.split(2, 2),
    "split_uneven": lambda x: x.split(2, 1),
    "split_sizes": lambda x: x.split([1, 3], 2),
    "tensor_split": lambda x: x.tensor_split(3, 2),
    "unbind": lambda x: x.unbind(1),
    "unbind_neg": lambda x: x.unbind(-1),
    "triu": lambda x: x.triu(),
    "triu_k": lambda x: x.triu(1),
    "tril": lambda x: x.tril(),
    "tril_neg": lambda x: x.tril(-1),
    "diagonal": lambda x: x.diagonal(),
    "diagonal_offset": lambda x: x.diagonal(1, 1, 2),
    "diagonal_neg": lambda x: x.diagonal(-1, -1, -2),
    "contiguous": lambda x: x.transpose(0, 1).contiguous(),
    "repeat_interleave": lambda x: x.repeat_interleave(2, 1),
    "view_as": lambda x: x.view_as(x.reshape(4, 6)),
    "expand_as": lambda x: x[:1].expand_as(x),
    "reshape_as": lambda x: x.reshape_as(x.reshape(24)),
}


@pytest.mark.parametrize("name", sorted(MOVES))
def test_movement(name):
    check_op(*both(MOVES[name]), [(2, 3, 4)])


@pytest.mark.parametrize("name", ["reshape_infer", "permute", "flip", "roll", "chunk", "unbind", "triu", "repeat"])
def test_movement_int_and_float32(name):
    check_op(*both(MOVES[name]), [(2, 3, 4)], dtype="float32")
    check_op(*both(MOVES[name]), [(2, 3, 4)], dtype="int64", low=-5, high=5)


def test_functional_forms():
    cases = [
        (lambda m, x: m.reshape(x, (3, 8))),
        (lambda m, x: m.flatten(x, 1)),
        (lambda m, x: m.squeeze(x)),
        (lambda m, x: m.unsqueeze(x, 1)),
        (lambda m, x: m.permute(x, (1, 0, 2))),
        (lambda m, x: m.transpose(x, 0, 1)),
        (lambda m, x: m.flip(x, [0])),
        (lambda m, x: m.roll(x, 1, 1)),
        (lambda m, x: m.narrow(x, 0, 1, 1)),
        (lambda m, x: m.chunk(x, 3, 1)),
        (lambda m, x: m.split(x, 1, 0)),
        (lambda m, x: m.unbind(x, 2)),
        (lambda m, x: m.triu(x, 0)),
        (lambda m, x: m.tril(x)),
        (lambda m, x: m.diagonal(x, 0, 0, 2)),
        (lambda m, x: m.broadcast_to(x, (2, 2, 3, 4))),
        (lambda m, x: m.tile(x, (1, 2))),
        (lambda m, x: m.movedim(x, (0, 1), (2, 0))),
    ]
    for f in cases:
        check_op(lambda x: f(tg, x), lambda x: f(torch, x), [(2, 3, 4)])


def test_cat_stack():
    for dim in (0, 1, -1):
        check_op(lambda a, b: tg.cat([a, b], dim), lambda a, b: torch.cat([a, b], dim), [(2, 3), (2, 3)])
        check_op(lambda a, b: tg.stack([a, b], dim), lambda a, b: torch.stack([a, b], dim), [(2, 3), (2, 3)])
    check_op(lambda a, b: tg.stack((a, b), 2), lambda a, b: torch.stack((a, b), 2), [(2, 3), (2, 3)])
    check_op(lambda a, b, c: tg.cat([a, b, c], 1), lambda a, b, c: torch.cat([a, b, c], 1), [(2, 1), (2, 3), (2, 0)])
    check_op(lambda a, b: tg.concat([a, b]), lambda a, b: torch.concat([a, b]), [(1, 3), (2, 3)])
    # mixed dtypes promote; a 1-D empty tensor is skipped (legacy PyTorch behaviour)
    check_op(lambda a, b: tg.cat([a, b]), lambda a, b: torch.cat([a, b]), [np.array([1, 2]), (3,)])
    check_op(lambda a, b: tg.cat([a, b]), lambda a, b: torch.cat([a, b]), [np.zeros(0), (2, 3)])
    check_op(lambda a: tg.stack([a]), lambda a: torch.stack([a]), [()])
    check_op(lambda a, b: tg.hstack([a, b]), lambda a, b: torch.hstack([a, b]), [(2, 3), (2, 1)])
    check_op(lambda a, b: tg.vstack([a, b]), lambda a, b: torch.vstack([a, b]), [(3,), (2, 3)])


def test_0d_and_empty():
    check_op(lambda x: x.reshape(1, 1), lambda x: x.reshape(1, 1), [()])
    check_op(lambda x: x.reshape(()), lambda x: x.reshape(()), [(1, 1)])
    check_op(lambda x: x.flatten(), lambda x: x.flatten(), [()])
    check_op(lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(0), [()])
    check_op(lambda x: x.squeeze(), lambda x: x.squeeze(), [()])
    check_op(lambda x: x.T, lambda x: x.T, [()])
    check_op(lambda x: x.expand(3, 2), lambda x: x.expand(3, 2), [()])
    check_op(lambda x: x.permute(()), lambda x: x.permute(()), [()])
    check_op(lambda x: x.reshape(0, 5), lambda x: x.reshape(0, 5), [(5, 0)])
    check_op(lambda x: x.reshape(-1, 5), lambda x: x.reshape(-1, 5), [(5, 0)])
    check_op(lambda x: x.flip(0), lambda x: x.flip(0), [(0, 2)])
    check_op(lambda x: x.roll(1, 0), lambda x: x.roll(1, 0), [(0, 2)])
    check_op(lambda x: x.split(2, 0), lambda x: x.split(2, 0), [(0, 2)])
    check_op(lambda x: x.expand(0, 3), lambda x: x.expand(0, 3), [(1, 3)])


# *** views share storage with their base ***

VIEWS = {
    "view": lambda x: x.view(12),
    "reshape": lambda x: x.reshape(2, 6),
    "slice": lambda x: x[1:, ::2],
    "int_index": lambda x: x[1],
    "none_ellipsis": lambda x: x[None, ..., 1],
    "transpose": lambda x: x.transpose(0, 1),
    "T": lambda x: x.T,
    "permute": lambda x: x.permute(1, 0),
    "detach": lambda x: x.detach(),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "squeeze": lambda x: x.unsqueeze(1).squeeze(1),
    "flatten": lambda x: x.flatten(),
    "split": lambda x: x.split(1, 0)[1],
    "chunk": lambda x: x.chunk(2, 1)[0],
    "unbind": lambda x: x.unbind(1)[2],
    "view_of_view": lambda x: x[1:].view(-1)[2:],
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_share_storage(name):
    base = tg.arange(12.0).reshape(3, 4).clone()
    tbase = torch.arange(12.0).reshape(3, 4).clone()
    v, tv = VIEWS[name](base), VIEWS[name](tbase)
    version = base._version.value
    v.mul_(10)
    tv.mul_(10)
    assert base.tolist() == tbase.tolist()
    assert base._version.value > version
    assert v._version.value == base._version.value  # views share the counter
    # writes to the base are seen through the view
    base.add_(1)
    tbase.add_(1)
    assert v.tolist() == tv.tolist()


def test_reshape_of_noncontiguous_copies():
    """reshape of a transposed tensor must copy (as PyTorch); view refuses, naming reshape as the fix."""
    base = tg.arange(6.0).reshape(2, 3)
    r = base.T.reshape(6)
    r.add_(100)
    assert base.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    check_error(RuntimeError, lambda: base.T.view(6), "view", "reshape")
    c = base.T.contiguous()
    c.add_(1)
    assert base.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_non_view_ops_copy():
    base = tg.arange(6.0).reshape(2, 3)
    for f in (
        lambda x: x.flip(0),
        lambda x: x.roll(1, 1),
        lambda x: x.repeat(1, 1),
        lambda x: x.clone(),
        lambda x: x.triu(),
        lambda x: x[[0, 1]],
        lambda x: x[x > 2],
        lambda x: tg.cat([x, x]),
    ):
        out = f(base)
        out.zero_()
        assert base.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_inplace_through_view_gradient():
    """An in-place op through a view of a non-leaf: gradients flow to the base correctly (CopySlices)."""

    def run(x, y):
        b = x * 1
        b[:, 1:].mul_(y)
        v = b.transpose(0, 1)
        v[0].add_(2.0)
        b.view(-1)[::3].sigmoid_()
        return b

    check_op(run, run, [(3, 4), (3, 3)])


def test_inplace_on_view_of_leaf_errors():
    x = tg.ones(3, requires_grad=True)
    with pytest.raises(Exception, match="leaf"):
        x[1:].add_(1)


def test_expanded_view_write_errors():
    x = tg.ones(1, 3).expand(2, 3)
    with pytest.raises(RuntimeError, match="clone"):
        x.add_(1)


def test_errors():
    x = tg.ones(2, 3)
    check_error(ValueError, lambda: x.reshape(4, 2), "reshape", "(2, 3)", "(4, 2)")
    check_error(ValueError, lambda: x.view(5), "(2, 3)", "(5,)")
    check_error(ValueError, lambda: x.reshape(-1, -1), "reshape", "-1")
    check_error(ValueError, lambda: x.reshape(-1, 4), "reshape", "(2, 3)")
    check_error(IndexError, lambda: x.permute(0, 2), "permute", "2")
    check_error(ValueError, lambda: x.permute(0, 0), "permute", "(0, 0)")
    check_error(IndexError, lambda: x.transpose(0, 3), "transpose", "3")
    check_error(IndexError, lambda: x.unsqueeze(4), "unsqueeze", "4")
    check_error(IndexError, lambda: x.squeeze(2), "squeeze", "2")
    check_error(IndexError, lambda: x.flatten(0, 5), "flatten", "5")
    check_error(ValueError, lambda: x.expand(3, 3), "expand", "(2, 3)", "(3, 3)")
    check_error(ValueError, lambda: x.expand(3), "expand")
    check_error(ValueError, lambda: x.repeat(2), "repeat")
    check_error(IndexError, lambda: x.narrow(1, 2, 2), "narrow", "3")
    check_error(ValueError, lambda: x.split([1, 1], 1), "split", "3")
    check_error(ValueError, lambda: tg.cat([x, tg.ones(3, 3)], 1), "cat", "(2, 3)", "(3, 3)")
    check_error(IndexError, lambda: tg.cat([x, x], 2), "cat", "2")
    check_error(ValueError, lambda: tg.stack([x, tg.ones(3, 2)]), "stack", "(2, 3)", "(3, 2)")
    check_error(ValueError, lambda: x.unflatten(1, (2, 2)), "unflatten", "3")
    check_error(ValueError, lambda: x.diagonal(0, 1, 1), "diagonal")
    check_error(ValueError, lambda: tg.ones(2, 2, 2).t(), "t()", "3")


COPYING = {
    "flip": lambda x: x.flip(0),
    "roll": lambda x: x.roll(1, 0),
    "roll_by_0": lambda x: x.roll(0, 0),
    "roll_flat": lambda x: x.roll(3),
    "repeat_ones": lambda x: x.repeat(1, 1, 1),
    "tile_ones": lambda x: x.tile((1,)),
    "cat_one": lambda x: tg.cat([x]),
    "stack_one": lambda x: tg.stack([x]),
    "clone": lambda x: x.clone(),
    "repeat_interleave_1": lambda x: x.repeat_interleave(1, 0),
    "floor": lambda x: x.floor(),
    "round": lambda x: x.round(),
    "trunc": lambda x: x.trunc(),
    "ceil": lambda x: x.ceil(),
    "triu": lambda x: x.triu(),
    "gather": lambda x: x.gather(0, tg.zeros(2, 3, 4, dtype=tg.int64)),
    "fancy": lambda x: x[[0, 1]],
    "mask": lambda x: x[x > -1],
    "sort": lambda x: x.sort(0).values,
    "topk": lambda x: x.topk(1, 0).values,
    "max_dim": lambda x: x.max(0).values,
    "cumsum": lambda x: x.cumsum(0),
    "sum_empty_dims": lambda x: x.sum(0),
    "masked_fill": lambda x: x.masked_fill(x < -1, 0),
    "where": lambda x: tg.where(x > -1, x, x),
    "abs": lambda x: x.abs(),
    "clamp": lambda x: x.clamp(min=-100),
}


@pytest.mark.parametrize("dtype", [tg.float32, tg.int64])
@pytest.mark.parametrize("name", sorted(COPYING))
def test_copying_ops_do_not_alias(name, dtype):
    """Ops that copy in PyTorch: writing into the result leaves the input alone."""
    x = tg.arange(24).reshape(2, 3, 4).to(dtype).clone()
    before = x.tolist()
    out = COPYING[name](x)
    assert out is not x
    out.zero_()
    assert x.tolist() == before

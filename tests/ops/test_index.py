"""Indexing vs PyTorch: basic slicing, advanced (integer / boolean) indexing, __setitem__, gather/scatter."""

# ruff: noqa: B023  (lambdas made in a loop are called at once, by check_op, in the same iteration)

import numpy as np
import pytest

import tapegrad as tg

from .helpers import check_error, check_op

torch = pytest.importorskip("torch")

I = np.array  # index arrays are numpy here; helpers turn them into tensors of both frameworks

BASIC = {
    "int": lambda x: x[1],
    "neg_int": lambda x: x[-1],
    "two_ints": lambda x: x[1, 2],
    "all_ints": lambda x: x[1, 2, 3],
    "slice": lambda x: x[1:3],
    "slice_step": lambda x: x[::2],
    "slice_neg_step_free": lambda x: x[:, -2:],
    "slice_steps": lambda x: x[:, ::2, 1::3],
    "slice_out_of_range": lambda x: x[:, 1:100],
    "slice_empty": lambda x: x[:, 3:1],
    "none": lambda x: x[None],
    "none_mid": lambda x: x[:, None, 1],
    "ellipsis": lambda x: x[..., 1],
    "ellipsis_mid": lambda x: x[1, ..., ::2],
    "ellipsis_none": lambda x: x[..., None],
    "ellipsis_only": lambda x: x[...],
    "mixed": lambda x: x[None, 1:, ..., None, -1],
    "empty_tuple": lambda x: x[()],
}


@pytest.mark.parametrize("name", sorted(BASIC))
def test_basic_indexing(name):
    check_op(BASIC[name], BASIC[name], [(3, 4, 5)])


def test_0d_indexing():
    for f in (lambda x: x[()], lambda x: x[None], lambda x: x[...], lambda x: x[..., None]):
        check_op(f, f, [()])


ADVANCED = {
    "int_array": (lambda x, i: x[i], I([2, 0, 2])),
    "int_array_neg": (lambda x, i: x[i], I([-1, 0, -3])),
    "int_array_2d": (lambda x, i: x[i], I([[0, 1], [2, 2]])),
    "int_array_dim1": (lambda x, i: x[:, i], I([3, 0])),
    "int_array_last": (lambda x, i: x[..., i], I([4, 4, 0])),
    "int_array_with_int": (lambda x, i: x[1, i], I([0, 3])),
    "int_array_with_slice_after": (lambda x, i: x[i, 1:3], I([1, 1, 0])),
    "two_arrays": (lambda x, i: x[i, i], I([0, 2, 1])),
    "two_arrays_broadcast": (lambda x, i: x[i[:, None], i[None, :]], I([0, 2, 1])),
    "separated_arrays": (lambda x, i: x[i, :, i], I([0, 2])),
    "bool_mask_first_dim": (lambda x, m: x[m], I([True, False, True])),
    "bool_mask_dim1": (lambda x, m: x[:, m], I([True, False, True, True])),
    "bool_mask_2d": (lambda x, m: x[m], I([[True, False, True, True], [False] * 4, [True, True, False, False]])),
    "bool_mask_all_false": (lambda x, m: x[m], I([False, False, False])),
    "none_and_array": (lambda x, i: x[None, i], I([0, 1])),
    "list_index": (lambda x, i: x[[0, 2]], None),
    "repeated_indices": (lambda x, i: x[i], I([1, 1, 1, 0])),
}


@pytest.mark.parametrize("name", sorted(ADVANCED))
def test_advanced_indexing(name):
    f, idx = ADVANCED[name]
    if idx is None:
        check_op(lambda x: f(x, None), lambda x: f(x, None), [(3, 4, 5)])
    else:
        check_op(f, f, [(3, 4, 5), idx])


def test_index_with_tensor_of_scalar_and_bool_scalar():
    check_op(lambda x, i: x[i], lambda x, i: x[i], [(3, 4), np.array(1)])
    check_op(lambda x: x[x > 0], lambda x: x[x > 0], [(3, 4)])
    check_op(lambda x: x[(x > 0).any(1)], lambda x: x[(x > 0).any(1)], [(3, 4)])


SETS = {
    "int": lambda y, v: y.__setitem__(1, v[0]),
    "slice": lambda y, v: y.__setitem__((slice(None), slice(1, 3)), v[:, :2]),
    "step": lambda y, v: y.__setitem__((slice(None), slice(None, None, 2)), v[:, :2]),
    "scalar": lambda y, v: y.__setitem__((Ellipsis, 0), 5.0),
    "broadcast": lambda y, v: y.__setitem__(slice(0, 2), v[0]),
    "whole": lambda y, v: y.__setitem__(Ellipsis, v),
    "none": lambda y, v: y.__setitem__((None, 1), v[1]),
    "int_array": lambda y, v: y.__setitem__(I([2, 0]), v[:2]),
    "int_array_repeated": lambda y, v: y.__setitem__(I([1, 1]), v[:1]),
    "bool_mask": lambda y, v: y.__setitem__(y.detach() > 0, 0.0),
    "bool_mask_values": lambda y, v: y.__setitem__(I([True, False, True]), v[:2]),
    "two_arrays": lambda y, v: y.__setitem__((I([0, 2]), I([3, 1])), v[0, :2]),
    "array_dim1": lambda y, v: y.__setitem__((slice(None), I([0, 3])), v[:, :2]),
}


@pytest.mark.parametrize("name", sorted(SETS))
def test_setitem_differentiable(name):
    """y[key] = v in place: values match torch, and gradients reach both the old y and v."""

    def run(x, v):
        y = x * 1
        key_fn = SETS[name]
        if isinstance(y, torch.Tensor) and name in (
            "int_array",
            "int_array_repeated",
            "bool_mask_values",
            "two_arrays",
            "array_dim1",
        ):
            return _torch_set(y, v, name)
        key_fn(y, v)
        return y

    check_op(run, run, [(3, 4), (3, 4)])


def _torch_set(y, v, name):
    t = torch.tensor
    if name == "int_array":
        y[t([2, 0])] = v[:2]
    elif name == "int_array_repeated":
        y[t([1, 1])] = v[:1]
    elif name == "bool_mask_values":
        y[t([True, False, True])] = v[:2]
    elif name == "two_arrays":
        y[t([0, 2]), t([3, 1])] = v[0, :2]
    else:
        y[:, t([0, 3])] = v[:, :2]
    return y


def test_setitem_int_dtype_and_version():
    x = tg.zeros(3, 4, dtype=tg.int64)
    v = x._version.value
    x[1] = 7
    x[:, 0] = tg.tensor([1, 2, 3])
    x[tg.tensor([0, 2]), 1] = 9
    x[x == 7] = -1
    t = torch.zeros(3, 4, dtype=torch.int64)
    t[1] = 7
    t[:, 0] = torch.tensor([1, 2, 3])
    t[torch.tensor([0, 2]), 1] = 9
    t[t == 7] = -1
    assert x.tolist() == t.tolist() and x.dtype is tg.int64
    assert x._version.value == v + 4


def test_setitem_through_view_updates_base():
    base = tg.zeros(3, 4)
    row = base[1]
    row[1:3] = 5.0
    row[tg.tensor([0])] = 1.0
    assert base.tolist()[1] == [1.0, 5.0, 5.0, 0.0]
    assert row._version.value == base._version.value


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather(dim):
    idx = np.array([[0, 1, 2, 0], [2, 2, 1, 0]]) if dim == 0 else np.array([[0, 3, 3], [1, 0, 2], [3, 3, 3]])
    check_op(lambda x, i: x.gather(dim, i), lambda x, i: x.gather(dim, i), [(3, 4), idx])
    check_op(lambda x, i: tg.gather(x, dim, i), lambda x, i: torch.gather(x, dim, i), [(3, 4), idx])
    check_op(lambda x, i: tg.take_along_dim(x, i, dim), lambda x, i: torch.take_along_dim(x, i, dim), [(3, 4), idx])


def test_take_along_dim_broadcast_and_flat():
    check_op(
        lambda x, i: tg.take_along_dim(x, i, 1),
        lambda x, i: torch.take_along_dim(x, i, 1),
        [(3, 4), np.array([[0, 3]])],
    )
    check_op(
        lambda x, i: tg.take_along_dim(x, i), lambda x, i: torch.take_along_dim(x, i), [(3, 4), np.array([0, 11, 5])]
    )
    check_op(
        lambda x: tg.take_along_dim(x, x.argsort(1), 1), lambda x: torch.take_along_dim(x, x.argsort(1), 1), [(3, 4)]
    )


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_and_scatter_add(dim):
    # unique targets for scatter (duplicates make its result order dependent); any for scatter_add
    idx = np.array([[2, 0, 1, 1], [0, 1, 0, 2]]) if dim == 0 else np.array([[3, 0], [1, 2], [0, 3]])
    check_op(lambda x, i, s: x.scatter(dim, i, s), lambda x, i, s: x.scatter(dim, i, s), [(3, 4), idx, idx.shape])
    # a src larger than index: PyTorch's forward takes its leading part, its backward fails on it
    check_op(
        lambda x, i, s: x.scatter(dim, i, s), lambda x, i, s: x.scatter(dim, i, s), [(3, 4), idx, (3, 4)], grad=False
    )
    dup = np.array([[0, 0, 1, 1], [0, 0, 0, 2]]) if dim == 0 else np.array([[3, 3], [1, 1], [0, 3]])
    check_op(
        lambda x, i, s: x.scatter_add(dim, i, s), lambda x, i, s: x.scatter_add(dim, i, s), [(3, 4), dup, dup.shape]
    )
    check_op(
        lambda x, i, s: tg.scatter_add(x, dim, i, s),
        lambda x, i, s: torch.scatter_add(x, dim, i, s),
        [(3, 4), dup, (3, 4)],
        grad=False,
    )
    check_op(lambda x, i: x.scatter(dim, i, 2.5), lambda x, i: x.scatter(dim, i, 2.5), [(3, 4), idx])
    check_op(
        lambda x, i, s: x.scatter(dim, i, s, reduce="add"),
        lambda x, i, s: x.scatter(dim, i, s, reduce="add"),
        [(3, 4), dup, (3, 4)],
        grad=False,
    )

    def inplace(x, i, s):
        y = x * 1
        y.scatter_(dim, i, s)
        y.scatter_add_(dim, i, s)
        return y

    check_op(inplace, inplace, [(3, 4), idx, idx.shape])


def test_index_select():
    for dim in (0, 1, -1):
        check_op(
            lambda x, i: x.index_select(dim, i), lambda x, i: x.index_select(dim, i), [(3, 4), np.array([2, 0, 2])]
        )
    check_op(lambda x, i: tg.index_select(x, 0, i), lambda x, i: torch.index_select(x, 0, i), [(3, 4), np.array(1)])
    check_op(
        lambda x, i: x.index_add(0, i, x[:2] * 2), lambda x, i: x.index_add(0, i, x[:2] * 2), [(3, 4), np.array([2, 2])]
    )


def test_masked_fill():
    m = np.array([[True, False, True, False]] * 3)
    check_op(lambda x, m: x.masked_fill(m, -1.0), lambda x, m: x.masked_fill(m, -1.0), [(3, 4), m])
    check_op(lambda x, m: x.masked_fill(m, 2), lambda x, m: x.masked_fill(m, 2), [(3, 4), m[0]])
    check_op(lambda x, m: x.masked_fill(m, float("-inf")), lambda x, m: x.masked_fill(m, float("-inf")), [(3, 4), m])
    check_op(lambda x, m, v: x.masked_fill(m, v), lambda x, m, v: x.masked_fill(m, v), [(3, 4), m, ()])
    check_op(lambda x, m: x.masked_fill(m, 7), lambda x, m: x.masked_fill(m, 7), [np.arange(4), m[0]])

    def inplace(x, m):
        y = x * 1
        y.masked_fill_(m, 0.5)
        return y

    check_op(inplace, inplace, [(3, 4), m])


def test_masked_select_nonzero_argwhere():
    m = np.array([[True, False, True, False]] * 3)
    check_op(lambda x, m: x.masked_select(m), lambda x, m: x.masked_select(m), [(3, 4), m])
    check_op(lambda x, m: x.masked_select(m), lambda x, m: x.masked_select(m), [(3, 4), m[0]])
    check_op(lambda m: m.nonzero(), lambda m: m.nonzero(), [m])
    check_op(lambda m: m.nonzero(as_tuple=True), lambda m: m.nonzero(as_tuple=True), [m])
    check_op(lambda m: tg.argwhere(m), lambda m: torch.argwhere(m), [m])


def test_index_put():
    def run(x, v):
        return x.index_put(
            (tg.tensor([0, 2]),) if isinstance(x, tg.Tensor) else (torch.tensor([0, 2]),), v[:2], accumulate=True
        )

    check_op(run, run, [(3, 4), (3, 4)])


def test_errors():
    x = tg.ones(2, 3)
    check_error(IndexError, lambda: x[2], "index 2", "dimension 0", "size 2")
    check_error(IndexError, lambda: x[:, -4], "-4", "dimension 1", "size 3")
    check_error(IndexError, lambda: x[tg.tensor([0, 5])], "5", "size 2")
    check_error(IndexError, lambda: x[:, [3]], "3", "size 3")
    check_error(IndexError, lambda: x[0, 0, 0], "too many indices", "2")
    check_error(IndexError, lambda: x[..., ...], "ellipsis")
    check_error(IndexError, lambda: x[tg.tensor([True, False, True])], "(3,)", "(2,)")
    check_error(IndexError, lambda: x[tg.tensor([0.5])], "float")
    check_error(IndexError, lambda: x.gather(1, tg.tensor([[0, 3]])), "3", "size 3")
    check_error(IndexError, lambda: x.index_select(0, tg.tensor([2])), "2", "size 2")
    check_error(ValueError, lambda: x.gather(0, tg.tensor([0])), "gather", "(1,)", "(2, 3)")
    check_error(TypeError, lambda: x.gather(0, tg.ones(2, 3)), "gather", "integer")
    check_error(TypeError, lambda: x.masked_fill(tg.ones(2, 3), 0), "masked_fill", "bool")
    check_error(IndexError, lambda: x.scatter(0, tg.tensor([[2, 0, 0]]), 1.0), "2", "size 2")

    def bad_set():
        x[5] = 1.0

    check_error(IndexError, bad_set, "5", "size 2")

"""Tensor basics: metadata, conversion to Python and numpy, repr, copy and pickle, autograd attributes."""

import copy
import pickle

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.errors import GradError


def test_metadata():
    x = tg.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and isinstance(x.shape, tuple)
    assert x.ndim == 3 and x.dim() == 3
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.numel() == 24 and len(x) == 2
    assert x.dtype == tg.float32 and x.is_floating_point()
    assert tg.tensor([1, 2]).dtype == tg.int64 and not tg.tensor([1, 2]).is_floating_point()
    assert tg.tensor(True).dtype == tg.bool
    s = tg.tensor(3.5)
    assert s.shape == () and s.ndim == 0 and s.numel() == 1
    with pytest.raises(TypeError, match="0-d"):
        len(s)


def test_metadata_matches_torch():
    torch = pytest.importorskip("torch")
    data = np.arange(6.0).reshape(2, 3)
    x, xt = tg.tensor(data), torch.tensor(data)
    assert x.shape == tuple(xt.shape) and x.size() == tuple(xt.size())
    assert x.ndim == xt.ndim and x.numel() == xt.numel() and x.size(0) == xt.size(0)
    assert x.tolist() == xt.tolist()
    assert x[1, 2].item() == xt[1, 2].item()


def test_item_and_python_conversions():
    assert tg.tensor(2.5).item() == 2.5 and isinstance(tg.tensor(2.5).item(), float)
    assert tg.tensor([7]).item() == 7 and isinstance(tg.tensor([7]).item(), int)
    assert tg.tensor(True).item() is True
    assert float(tg.tensor(2.5)) == 2.5 and int(tg.tensor(2.7)) == 2 and int(tg.tensor([[3]])) == 3
    assert bool(tg.tensor(1.0)) and not bool(tg.tensor([0.0]))
    assert f"{tg.tensor(2.5):.2f}" == "2.50"
    assert [1, 2, 3][tg.tensor(1)] == 2  # __index__ on an integer tensor


def test_conversions_of_many_elements_are_clear_errors():
    x = tg.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"2 elements.*one-element"):
        x.item()
    with pytest.raises(ValueError, match="2 elements"):
        float(x)
    with pytest.raises(RuntimeError, match="ambiguous.*any\\(\\).*all\\(\\)"):
        bool(x)
    with pytest.raises(TypeError, match="float32"):
        [1, 2][tg.tensor(1.0)]


def test_tolist_nested_and_scalar():
    assert tg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert tg.tensor(1.5).tolist() == 1.5
    assert tg.tensor([0.5], dtype=tg.bfloat16).tolist() == [0.5]


def test_numpy_shares_memory_and_is_allowed_on_tensors_that_require_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    arr = x.numpy()  # PyTorch refuses this; tapegrad allows it (the gradient stops there)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float32
    y = tg.tensor(arr) * 2
    assert not y.requires_grad
    t = tg.zeros(3)
    t.numpy()[1] = 5.0
    assert t.tolist() == [0.0, 5.0, 0.0]
    np.testing.assert_array_equal(np.asarray(tg.tensor([1, 2])), [1, 2])


def test_repr_shows_values_dtype_and_grad_fn():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(tg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(tg.tensor([[1, 2], [3, 4]])) == "tensor([[1, 2],\n        [3, 4]])"
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(tg.tensor(3.0)) == "tensor(3.)"
    assert "dtype=tg.float64" in repr(tg.tensor([1.0], dtype=tg.float64))
    assert "dtype" not in repr(tg.tensor([True]))
    assert "size=(2, 0)" in repr(tg.zeros(2, 0))
    assert "..." in repr(tg.arange(5000.0))  # large tensors are summarised
    assert str(x.sum()) == repr(x.sum())


def test_repr_matches_torch_for_simple_cases():
    torch = pytest.importorskip("torch")
    for data in ([1.0, 2.0], [[1, 2], [3, 4]], 3.0, [True, False]):
        assert repr(tg.tensor(data)) == repr(torch.tensor(data))


def test_deepcopy_copies_data_grad_and_requires_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    c = copy.deepcopy(x)
    assert c is not x and c.requires_grad and c.is_leaf
    assert not np.shares_memory(c.numpy(), x.numpy())
    assert c.grad.tolist() == [3.0, 3.0] and c.grad is not x.grad
    c.numpy()[0] = 9.0
    assert x.tolist() == [1.0, 2.0]
    model = {"w": x, "b": tg.zeros(2)}
    clone = copy.deepcopy(model)
    assert clone["w"].requires_grad and clone["b"].tolist() == [0.0, 0.0]


def test_deepcopy_of_a_non_leaf_gives_a_leaf_without_history():
    # NOTE: PyTorch refuses to deepcopy non-leaf tensors; tapegrad copies the values only.
    y = tg.tensor([1.0], requires_grad=True) * 2
    c = copy.deepcopy(y)
    assert c.is_leaf and not c.requires_grad and c.tolist() == [2.0]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int64", "bool", "bfloat16", "float16"])
def test_pickle_round_trip_keeps_values_and_dtype(dtype):
    x = tg.tensor([1, 0, 1], dtype=getattr(tg, dtype))
    y = pickle.loads(pickle.dumps(x))
    assert y.dtype == x.dtype and y.tolist() == x.tolist() and not y.requires_grad


def test_pickle_keeps_requires_grad_of_leaves():
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    assert y.requires_grad and y.is_leaf and y.tolist() == [[1.0, 2.0]]
    z = pickle.loads(pickle.dumps(x * 2))
    assert not z.requires_grad and z.tolist() == [[2.0, 4.0]]
    view = tg.arange(6.0).reshape(2, 3)[:, 1]
    assert pickle.loads(pickle.dumps(view)).tolist() == [1.0, 4.0]


def test_autograd_attributes_of_a_fresh_tensor():
    x = tg.tensor([1.0])
    assert x.grad is None and x.grad_fn is None and x.is_leaf and not x.requires_grad
    assert not x.retains_grad and x.output_nr == 0 and x._version_value == 0


def test_requires_grad_setter_and_integer_error():
    x = tg.tensor([1.0])
    x.requires_grad = True
    assert x.requires_grad
    with pytest.raises(TypeError) as e:
        tg.tensor([1, 2]).requires_grad = True
    assert "int64" in str(e.value) and ".float()" in str(e.value)


def test_grad_can_be_set_and_read():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.grad = tg.tensor([0.5, 0.5])
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.5, 2.5]


def test_version_counter_shared_with_views_and_detach():
    x = tg.zeros(4)
    v, d = x[1:3], x.detach()
    v.add_(1)
    assert x._version_value == v._version_value == d._version_value == 1
    d.mul_(2)
    assert x.tolist() == [0.0, 2.0, 2.0, 0.0] and x._version_value == 2


def test_failed_in_place_op_leaves_tensor_unchanged():
    x = tg.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        x.add_(tg.ones(3))
    with pytest.raises(TypeError, match="float32"):
        tg.tensor([1, 2]).add_(0.5)
    assert x.tolist() == [1.0, 2.0] and x._version_value == 0
    leaf = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(GradError):
        leaf.mul_(3)
    assert leaf.tolist() == [1.0] and leaf._version_value == 0


def test_iteration_and_numpy_interop():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    rows = list(x)
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]
    assert (np.float64(2.0) * x).tolist() == [[2.0, 4.0], [6.0, 8.0]]
    assert isinstance(np.float64(2.0) * x, tg.Tensor)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_inplace_arithmetic_matches_torch(dtype):
    """x.add_(y, alpha=), x -= y, x *= s, x /= 0 written straight into x's memory (the optimizer path) agree with
    PyTorch, bump the version counter, write through views, and leave no warning for a division by zero."""
    import warnings

    import torch

    a = np.array([[1.5, -2.0, 0.0], [3.0, 4.0, -1.0]], dtype)
    b = np.array([[0.5, 1.0, 2.0], [-1.0, 0.25, 3.0]], dtype)
    x, tx = tg.tensor(a), torch.tensor(a)
    y, ty = tg.tensor(b), torch.tensor(b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for op in (lambda t, u: t.add_(u, alpha=-0.1), lambda t, u: t.sub_(u), lambda t, u: t.mul_(0.5),
                   lambda t, u: t.div_(u), lambda t, u: t.__iadd__(2), lambda t, u: t.div_(0.0)):
            version = x._version.value
            assert op(x, y) is x
            op(tx, ty)
            assert x._version.value == version + 1
            np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-3)
    base = tg.zeros(2, 3, dtype=getattr(tg, dtype))
    row = base[1]
    row.add_(tg.ones(3, dtype=getattr(tg, dtype)), alpha=2)
    np.testing.assert_array_equal(base.numpy(), [[0, 0, 0], [2, 2, 2]])
    p = tg.nn.Parameter(tg.ones(3, dtype=getattr(tg, dtype)))
    with pytest.raises(RuntimeError, match="leaf"):
        p.add_(1.0)  # with grad enabled an in-place change of a leaf that requires grad is refused, as in PyTorch
    with tg.no_grad():
        p.add_(tg.ones(3, dtype=getattr(tg, dtype)), alpha=-0.5)
    np.testing.assert_array_equal(p.detach().numpy(), [0.5, 0.5, 0.5])

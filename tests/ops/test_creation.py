"""Creation functions vs PyTorch: values, dtypes, shapes, devices, seeds, from_numpy memory sharing."""

import numpy as np
import pytest

import tapegrad as tg

from .helpers import assert_close, dtype_name

torch = pytest.importorskip("torch")


def same(a, b):
    assert_close(a, b, 1e-6, 1e-7)


@pytest.mark.parametrize(
    "data",
    [
        1,
        2.5,
        True,
        [1, 2, 3],
        [1.0, 2],
        [[1, 2], [3, 4]],
        [True, False],
        [1, 2.0, True],
        [],
        [[]],
        [[1.5], [2.5]],
        (1, 2),
        [np.float32(1.0)],
        np.array([1, 2], np.int32),
        np.array(3.0),
        np.arange(6.0).reshape(2, 3),
        np.array([1, 2], np.uint8),
        np.array([True]),
        np.array([1.0], np.float16),
    ],
    ids=repr,
)
def test_tensor_infers_dtype(data):
    same(tg.tensor(data), torch.tensor(data))


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool", "float16", "bfloat16"]
)
def test_tensor_with_dtype(dtype):
    same(tg.tensor([1, 0, 2], dtype=getattr(tg, dtype)), torch.tensor([1, 0, 2], dtype=getattr(torch, dtype)))
    same(tg.tensor([1.7, -0.2], dtype=dtype), torch.tensor([1.7, -0.2]).to(getattr(torch, dtype)))
    assert tg.tensor([1], dtype=getattr(torch, dtype)).dtype is getattr(tg, dtype)  # torch dtypes accepted


def test_tensor_of_tensors_and_copy():
    a = tg.tensor([1.0, 2.0])
    b = tg.tensor(a)
    b.add_(1)
    assert a.tolist() == [1.0, 2.0]
    assert tg.tensor([tg.tensor(1.0), tg.tensor(2.0)]).tolist() == [1.0, 2.0]
    arr = np.ones(3)
    t = tg.tensor(arr)
    arr[0] = 5
    assert t.tolist() == [1.0, 1.0, 1.0]  # tensor() copies
    assert tg.tensor([1.0], requires_grad=True).requires_grad


def test_as_tensor_and_from_numpy_share_memory():
    arr = np.arange(4.0)
    t = tg.from_numpy(arr)
    assert t.dtype is tg.float64
    arr[0] = 10
    assert t[0].item() == 10
    t.mul_(2)
    assert arr[1] == 2
    u = tg.as_tensor(arr)
    arr[2] = -1
    assert u[2].item() == -1
    v = tg.as_tensor(arr, dtype=tg.float32)  # a different dtype must copy
    arr[3] = 99
    assert v[3].item() != 99 and v.dtype is tg.float32
    x = tg.ones(2)
    assert tg.as_tensor(x) is x
    same(tg.as_tensor([1, 2]), torch.as_tensor([1, 2]))
    same(tg.from_numpy(np.zeros((2, 0), np.int16)), torch.from_numpy(np.zeros((2, 0), np.int16)))
    with pytest.raises(TypeError, match="ndarray"):
        tg.from_numpy([1, 2])


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
def test_filled(name):
    for args in [(2, 3), ((2, 3),), ([4],), (0,), ((),)]:
        out = getattr(tg, name)(*args)
        ref = getattr(torch, name)(*args)
        assert out.shape == tuple(ref.shape) and dtype_name(out.dtype) == dtype_name(ref.dtype)
        if name != "empty":
            same(out, ref)
    same(getattr(tg, name)(2, dtype=tg.int32).zero_(), getattr(torch, name)(2, dtype=torch.int32).zero_())
    assert getattr(tg, name)(2, requires_grad=True).requires_grad


def test_full_and_like():
    for value in (3, 2.5, True):
        same(tg.full((2, 3), value), torch.full((2, 3), value))
    same(tg.full((2,), 7, dtype=tg.float64), torch.full((2,), 7, dtype=torch.float64))
    x, tx = tg.ones(2, 3, dtype=tg.int32), torch.ones(2, 3, dtype=torch.int32)
    for name in ("zeros_like", "ones_like", "empty_like"):
        out, ref = getattr(tg, name)(x), getattr(torch, name)(tx)
        assert out.shape == tuple(ref.shape) and dtype_name(out.dtype) == dtype_name(ref.dtype)
    same(tg.zeros_like(x, dtype=tg.float64), torch.zeros_like(tx, dtype=torch.float64))
    same(tg.full_like(x, 4), torch.full_like(tx, 4))
    same(tg.full_like(x, 4.7), torch.full_like(tx, 4.7))
    f = tg.ones(2, dtype=tg.float64)
    for name in ("rand_like", "randn_like"):
        out = getattr(tg, name)(f)
        assert out.shape == (2,) and out.dtype is tg.float64
    assert tg.rand_like(tg.ones(3)).dtype is tg.float32
    assert tg.zeros_like(f, requires_grad=True).requires_grad


@pytest.mark.parametrize(
    "args",
    [(5,), (2, 7), (1, 2, 0.25), (0, 1, 0.1), (10, 0, -3), (2.5,), (-3, 3), (0,), (1, 10, 3), (0.0, 1.0, 0.3), (5, 5)],
    ids=str,
)
def test_arange(args):
    same(tg.arange(*args), torch.arange(*args))
    same(tg.arange(*args, dtype=tg.float64), torch.arange(*args, dtype=torch.float64))


def test_arange_bad_step():
    with pytest.raises(RuntimeError):
        torch.arange(5, 1)
    with pytest.raises(ValueError, match="step"):
        tg.arange(5, 1)
    with pytest.raises(ValueError, match="step"):
        tg.arange(0, 1, 0)


@pytest.mark.parametrize("args", [(0, 1, 5), (-1, 1, 1), (2, 3, 0), (0, 10, 11), (1, 0, 4)], ids=str)
def test_linspace(args):
    same(tg.linspace(*args), torch.linspace(*args))
    same(tg.linspace(*args, dtype=tg.float64), torch.linspace(*args, dtype=torch.float64))


def test_eye():
    for args in [(3,), (2, 4), (4, 2), (0,)]:
        same(tg.eye(*args), torch.eye(*args))
    same(tg.eye(3, dtype=tg.int64), torch.eye(3, dtype=torch.int64))
    same(tg.eye(2, dtype=tg.bool), torch.eye(2, dtype=torch.bool))


def test_random_shapes_dtypes_and_ranges():
    tg.manual_seed(0)
    r = tg.rand(1000)
    assert r.dtype is tg.float32 and r.shape == (1000,)
    assert 0 <= r.min().item() and r.max().item() < 1 and abs(r.mean().item() - 0.5) < 0.05
    n = tg.randn(2000, dtype=tg.float64)
    assert n.dtype is tg.float64 and abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1) < 0.1
    i = tg.randint(3, 7, (500,))
    assert i.dtype is tg.int64 and i.min().item() == 3 and i.max().item() == 6
    assert tg.randint(5, (2, 3)).shape == (2, 3)
    assert tg.randint(0, 2, (4,), dtype=tg.int32).dtype is tg.int32
    g = tg.normal(2.0, 3.0, size=(4000,))
    assert g.dtype is tg.float32 and abs(g.mean().item() - 2) < 0.2 and abs(g.std().item() - 3) < 0.2
    m = tg.normal(tg.zeros(3), tg.ones(3))
    assert m.shape == (3,)
    m = tg.normal(tg.zeros(3, dtype=tg.float64), 1.0)
    assert m.shape == (3,) and m.dtype is tg.float64
    assert tg.rand(2, 3).shape == (2, 3) and tg.randn((2, 3)).shape == (2, 3)
    assert tg.rand(2, requires_grad=True).requires_grad


def test_manual_seed_reproducible():
    def draw():
        return [
            tg.rand(3).tolist(),
            tg.randn(2, 2).tolist(),
            tg.randint(0, 100, (5,)).tolist(),
            tg.normal(0.0, 1.0, size=(3,)).tolist(),
            tg.randn_like(tg.ones(2)).tolist(),
        ]

    tg.manual_seed(123)
    a = draw()
    tg.manual_seed(123)
    b = draw()
    tg.manual_seed(124)
    c = draw()
    assert a == b and a != c


def test_device_argument():
    for fn in (
        lambda **k: tg.zeros(2, **k),
        lambda **k: tg.ones(2, **k),
        lambda **k: tg.full((2,), 1.0, **k),
        lambda **k: tg.arange(3, **k),
        lambda **k: tg.rand(2, **k),
        lambda **k: tg.randn(2, **k),
        lambda **k: tg.randint(3, (2,), **k),
        lambda **k: tg.eye(2, **k),
        lambda **k: tg.linspace(0, 1, 3, **k),
        lambda **k: tg.tensor([1.0], **k),
        lambda **k: tg.as_tensor([1.0], **k),
        lambda **k: tg.empty(2, **k),
        lambda **k: tg.zeros_like(tg.ones(2), **k),
        lambda **k: tg.normal(0.0, 1.0, size=(2,), **k),
    ):
        assert str(fn(device="cpu").device) == "cpu"
        fn(device=tg.device("cpu"))
    assert tg.ones(2).to("cpu").device.type == "cpu"


def test_tensor_properties():
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and isinstance(x.shape, tuple)
    assert x.ndim == 2 and x.dim() == 2 and x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.numel() == 6 and tg.numel(x) == 6 and len(x) == 2
    assert x[1, 2].item() == 6.0 and isinstance(x[1, 2].item(), float)
    assert tg.tensor(3).item() == 3 and isinstance(tg.tensor(3).item(), int)
    assert tg.tensor(True).item() is True
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert tg.tensor(2.5).tolist() == 2.5
    assert isinstance(x.numpy(), np.ndarray)
    assert "tensor(" in repr(x) and "4." in repr(x)
    assert "dtype=tg.int32" in repr(tg.ones(2, dtype=tg.int32))
    with pytest.raises(ValueError, match="6 elements"):
        x.item()
    y = tg.ones(2, requires_grad=True)
    arr = (y * 2).numpy()  # allowed on a tensor that requires grad
    assert arr.tolist() == [2.0, 2.0]
    assert "requires_grad=True" in repr(y)
    assert "grad_fn" in repr(y * 2)

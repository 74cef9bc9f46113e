"""Tensor creation: from data, filled, ranges, and random numbers (seeded by manual_seed)."""

from __future__ import annotations

import math

import numpy as np

from .. import dtype as dt
from ..device import device as _check_device
from ..tensor import Tensor

# *** from data ***


def _infer_dtype(data) -> dt.DType:
    """PyTorch's inference for nested Python data: bool < int64 < default float."""
    kinds = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, Tensor):
            kinds.add(x.dtype)
        else:
            kinds.add(dt.scalar_dtype(x))
    if not kinds:
        return dt.get_default_dtype()
    out = None
    for k in kinds:
        out = k if out is None else dt.promote(out, k)
    return out


def _to_array(data, dtype):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        return np.stack([_to_array(x, dtype) for x in data]) if data else np.zeros(0)
    try:
        return np.asarray(data)
    except ValueError:
        raise ValueError(
            "tensor: the nested sequences have different lengths (a ragged list), so they do not form an "
            "n-dimensional array; pad them to equal lengths or build a list of tensors"
        ) from None


def tensor(data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of data (nested lists, numbers, numpy arrays or tensors).

    >>> import tapegrad as tg
    >>> tg.tensor([[1., 2.], [3., 4.]]) + 1
    tensor([[2., 3.],
            [4., 5.]])
    """
    _check_device(device)
    if isinstance(data, np.generic):  # np.float64(1.5) keeps its dtype, as in PyTorch (it is also a Python float)
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        target = dt.as_dtype(dtype) if dtype is not None else dt.from_numpy_dtype(data.dtype)
        arr = np.array(data, dtype=target.np)
    else:
        target = dt.as_dtype(dtype) if dtype is not None else _infer_dtype(data)
        arr = np.array(_to_array(data, target), dtype=target.np)
    out = Tensor._make(arr)
    if isinstance(data, np.ndarray):
        out._cut = _numpy_export_cut(data)
    if requires_grad:
        out.requires_grad_()
    return out


def _numpy_export_cut(arr):
    """autograd.explain.numpy_export_cut, imported on first use (autograd imports this package); a module global
    then, since an import statement in tensor() costs about a microsecond per call."""
    global _numpy_export_cut
    from ..autograd.explain import numpy_export_cut

    _numpy_export_cut = numpy_export_cut
    return numpy_export_cut(arr)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """data as a tensor, without a copy when it already is one (or a numpy array) of that dtype.

    >>> tg.as_tensor([1.5, 2.5])
    tensor([1.5, 2.5])
    """
    _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or dt.as_dtype(dtype) is data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or dt.as_dtype(dtype).np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a numpy array (changes to one are seen by the other).

    >>> import numpy as np
    >>> tg.from_numpy(np.array([1, 2]))
    tensor([1, 2])
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    dt.from_numpy_dtype(array.dtype)  # raises for unsupported dtypes
    out = Tensor._make(array)
    from ..autograd.explain import numpy_export_cut

    out._cut = numpy_export_cut(array)
    return out


# *** filled ***


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = size[0]
    shape = tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimension in size {shape}; sizes must be >= 0")
    return shape


def _finish(arr, requires_grad, device):
    _check_device(device)
    out = Tensor._make(arr)
    if requires_grad:
        out.requires_grad_()
    return out


def _float_dtype(dtype):
    return dt.as_dtype(dtype) if dtype is not None else dt.get_default_dtype()


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros (float32 unless dtype says otherwise).

    >>> tg.zeros(2, 3)
    tensor([[0., 0., 0.],
            [0., 0., 0.]])
    """
    return _finish(np.zeros(_shape(size), _float_dtype(dtype).np), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones.

    >>> tg.ones(2, dtype=tg.int64)
    tensor([1, 1])
    """
    return _finish(np.ones(_shape(size), _float_dtype(dtype).np), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor (here: zeros).

    >>> tg.empty(2, 2).shape
    (2, 2)
    """
    return _finish(np.empty(_shape(size), _float_dtype(dtype).np), requires_grad, device)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with fill_value (its dtype follows the value unless given).

    >>> tg.full((2,), 7)
    tensor([7, 7])
    """
    d = dt.as_dtype(dtype) if dtype is not None else dt.scalar_dtype(fill_value)
    return _finish(np.full(_shape((size,)), fill_value, d.np), requires_grad, device)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The identity matrix (n x m).

    >>> tg.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype).np), requires_grad, device)


def _like(fill):
    def like(t, *, dtype=None, device=None, requires_grad=False):
        d = dt.as_dtype(dtype) if dtype is not None else t.dtype
        return _finish(fill(t.shape, d), requires_grad, device)

    return like


zeros_like = _like(lambda s, d: np.zeros(s, d.np))
ones_like = _like(lambda s, d: np.ones(s, d.np))
empty_like = _like(lambda s, d: np.empty(s, d.np))


def full_like(t, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """fill_value in x's shape and dtype.

    >>> tg.full_like(tg.tensor([1, 2]), 5)
    tensor([5, 5])
    """
    d = dt.as_dtype(dtype) if dtype is not None else t.dtype
    return _finish(np.full(t.shape, fill_value, d.np), requires_grad, device)


# *** ranges ***


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from start (default 0) up to end, exclusive: tg.arange(5), tg.arange(1, 2, 0.25).

    >>> tg.arange(0, 1, 0.25)
    tensor([0.  , 0.25, 0.5 , 0.75])
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        is_float = any(isinstance(v, float) or (isinstance(v, Tensor) and v.dtype.is_floating_point) for v in (start, end, step))
        dtype = dt.get_default_dtype() if is_float else dt.int64
    d = dt.as_dtype(dtype)
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if (end - start) * step < 0:
        raise ValueError(f"arange: the range [{start}, {end}) is inconsistent with the sign of step {step}")
    n = max(0, math.ceil((end - start) / step))
    return _finish((start + step * np.arange(n, dtype=np.float64)).astype(d.np), requires_grad, device)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """steps evenly spaced values from start to end, inclusive.

    >>> tg.linspace(0, 1, 5)
    tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    return _finish(np.linspace(start, end, int(steps)).astype(_float_dtype(dtype).np), requires_grad, device)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """base ** linspace(start, end, steps).

    >>> tg.logspace(0, 2, 3)
    tensor([  1.,  10., 100.])
    """
    return _finish(np.logspace(start, end, int(steps), base=base).astype(_float_dtype(dtype).np), requires_grad, device)


# *** random ***


def _key_from(entropy) -> int:
    """A 63-bit starting key for traced draws, derived from a seed (or fresh entropy when None)."""
    ss = np.random.SeedSequence(None if entropy is None else int(entropy) & 0xFFFFFFFFFFFFFFFF)
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


class _RandomState:
    """The global random state. Eager draws use `generator`. Draws inside tg.jit / tg.function use `key`, a
    0-d int64 tensor that the traced graph captures (re-read on every call) and advances in place (written
    back after every call), so each compiled call draws fresh numbers (see _traced_draw)."""

    generator = np.random.default_rng()
    seed = None
    key = Tensor._make(np.array(_key_from(None), np.int64))


RNG = _RandomState()


def manual_seed(seed: int):
    """Seeds the generator behind rand/randn/randint/normal/dropout, for reproducible results (eager, and the
    traced draws of tg.jit / tg.function calls made after it).

    >>> _ = tg.manual_seed(0)
    >>> tg.initial_seed()
    0
    """
    RNG.seed = int(seed)
    RNG.generator = np.random.default_rng(int(seed))
    RNG.key._data[...] = _key_from(seed)  # in place: compiled graphs hold this tensor as a captured input
    return RNG


def seed() -> int:
    """Seeds the generator from the clock and returns the seed.

    >>> isinstance(tg.seed(), int)
    True
    """
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def initial_seed() -> int:
    """The seed the generator was last seeded with.

    >>> _ = tg.manual_seed(3)
    >>> tg.initial_seed()
    3
    """
    return RNG.seed


def get_rng_state():
    """The generator's state, for set_rng_state.

    >>> state = tg.get_rng_state()
    >>> a = tg.rand(2)
    >>> _ = tg.set_rng_state(state)
    >>> tg.equal(a, tg.rand(2))
    True
    """
    return RNG.generator.bit_generator.state


def set_rng_state(state) -> None:
    """Restores a state from get_rng_state.

    >>> _ = tg.manual_seed(1)
    >>> state = tg.get_rng_state()
    >>> x = tg.randn(3)
    >>> tg.set_rng_state(state)
    >>> tg.equal(x, tg.randn(3))
    True
    """
    RNG.generator.bit_generator.state = state


def _gen(generator):
    return generator if generator is not None else RNG.generator


def _tracing(generator) -> bool:
    """Whether a draw should be a random_bits primitive: a tracer is recording and no explicit generator was
    given (an explicit numpy generator is drawn from at trace time, and its numbers become constants)."""
    from ..primitives.base import DYNAMIC

    return bool(DYNAMIC) and generator is None


def _traced_draw(shape, d, distribution, requires_grad, device):
    """A draw inside a traced function: random_bits on the current key, then key += 1 in place. The key is
    captured, so the graph reads its value at every call and writes the advanced value back afterwards."""
    from ..primitives.base import bind
    from ..primitives.random import RandomBits

    _check_device(device)
    out = bind(RandomBits, RNG.key, shape=tuple(shape), dtype=d, distribution=distribution)
    RNG.key.add_(1)
    if requires_grad:
        out.requires_grad_()
    return out


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Uniform samples in [0, 1). Inside tg.jit / tg.function: fresh samples on every call (random_bits).

    >>> _ = tg.manual_seed(0)
    >>> x = tg.rand(2, 3)
    >>> x.shape, bool(((x >= 0) & (x < 1)).all())
    ((2, 3), True)
    """
    d = _float_dtype(dtype)
    if _tracing(generator):
        return _traced_draw(_shape(size), d, "uniform", requires_grad, device)
    return _finish(_gen(generator).random(_shape(size)).astype(d.np), requires_grad, device)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Standard normal samples. Inside tg.jit / tg.function: fresh samples on every call (random_bits).

    >>> tg.randn(4, dtype=tg.float64).dtype
    tapegrad.float64
    """
    d = _float_dtype(dtype)
    if _tracing(generator):
        return _traced_draw(_shape(size), d, "normal", requires_grad, device)
    return _finish(_gen(generator).standard_normal(_shape(size)).astype(d.np), requires_grad, device)


def randint(low, high=None, size=(), *, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Integers uniform in [low, high): tg.randint(10, (3,)) or tg.randint(2, 10, (3,)).

    >>> x = tg.randint(0, 5, (10,))
    >>> bool(((x >= 0) & (x < 5)).all()), x.dtype
    (True, tapegrad.int64)
    """
    if isinstance(high, (tuple, list)):  # randint(high, size), as torch.randint(10, (3,))
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    d = dt.as_dtype(dtype) if dtype is not None else dt.int64
    return _finish(_gen(generator).integers(low, high, _shape((size,))).astype(d.np), requires_grad, device)


def randperm(n, *, dtype=None, device=None, generator=None) -> Tensor:
    """A random permutation of 0..n-1 (int64).

    >>> tg.sort(tg.randperm(4)).values
    tensor([0, 1, 2, 3])
    """
    d = dt.as_dtype(dtype) if dtype is not None else dt.int64
    return _finish(_gen(generator).permutation(int(n)).astype(d.np), False, device)


def normal(mean=0.0, std=1.0, size=None, *, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Normal samples; mean and std may be tensors (then they give the shape) or numbers (then size does).

    >>> tg.normal(2.0, 0.0, (3,))
    tensor([2., 2., 2.])
    """
    if _tracing(generator):
        if isinstance(mean, Tensor) or isinstance(std, Tensor):
            shape = np.broadcast_shapes(*[tuple(v.shape) for v in (mean, std) if isinstance(v, Tensor)])
            d = dt.as_dtype(dtype) if dtype is not None else (mean if isinstance(mean, Tensor) else std).dtype
        elif size is None:
            raise ValueError("normal: give size= when mean and std are numbers, e.g. tg.normal(0., 1., size=(3,))")
        else:
            shape, d = _shape((size,)), _float_dtype(dtype)
        out = (_traced_draw(shape, d, "normal", False, device) * std + mean).to(d)
        return out.requires_grad_() if requires_grad else out
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        arr = _gen(generator).normal(m, s)
        d = dt.as_dtype(dtype) if dtype is not None else (mean if isinstance(mean, Tensor) else std).dtype
    else:
        if size is None:
            raise ValueError("normal: give size= when mean and std are numbers, e.g. tg.normal(0., 1., size=(3,))")
        arr = _gen(generator).normal(mean, std, _shape((size,)))
        d = _float_dtype(dtype)
    return _finish(np.asarray(arr).astype(d.np), requires_grad, device)


def rand_like(t, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform [0, 1) draws in x's shape and dtype.

    >>> tg.rand_like(tg.zeros(2, dtype=tg.float64)).dtype
    tapegrad.float64
    """
    return rand(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=device)


def randn_like(t, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal draws in x's shape and dtype.

    >>> tg.randn_like(tg.zeros(2, 2)).shape
    (2, 2)
    """
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=device)


def randint_like(t, low, high=None, *, dtype=None, device=None) -> Tensor:
    """Integer draws in [low, high) in x's shape.

    >>> tg.randint_like(tg.zeros(3), 2, 3)
    tensor([2., 2., 2.])
    """
    return randint(low, high, t.shape, dtype=dtype or t.dtype, device=device)


# *** examples for the docstrings of the functions that factories make above (exp, eq, ...) and of those
# beside the dispatch code (add, mul, ...); attached here, so that help() shows them and tests/test_doctests.py
# runs them, without touching those definitions ***
_EXAMPLES = {
    "zeros_like": ("Zeros of x's shape and dtype.", ">>> tg.zeros_like(tg.tensor([1, 2]))\ntensor([0, 0])"),
    "ones_like": ("Ones of x's shape and dtype.", ">>> tg.ones_like(tg.tensor([1.5]))\ntensor([1.])"),
    "empty_like": ("An uninitialised tensor of x's shape and dtype (here: zeros).", ">>> tg.empty_like(tg.tensor([1, 2])).shape\n(2,)"),
}


from ._examples import attach_examples  # noqa: E402

attach_examples(globals(), _EXAMPLES)


# *** more of PyTorch's random functions, drawn from the same generator ***


def bernoulli(input, p=None, *, generator=None):
    """1 with probability input (or p) and 0 otherwise, in input's dtype; not differentiable.

    >>> tg.bernoulli(tg.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """
    prob = input.detach()._data if p is None else np.broadcast_to(np.asarray(p, np.float64), input.shape)
    if np.any((prob < 0) | (prob > 1)):
        raise ValueError("bernoulli: probabilities must lie in [0, 1]")
    draws = _gen(generator).random(input.shape) < prob
    return Tensor._make(draws.astype(input.dtype.np))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the categorical distributions with (unnormalised) weights in input's last dim: (k,) or
    (n, k), without replacement unless replacement=True (int64).

    >>> tg.multinomial(tg.tensor([0.0, 0.0, 5.0]), 2, replacement=True)
    tensor([2, 2])
    """
    w = np.asarray(input.detach()._data, np.float64)
    if w.ndim not in (1, 2) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("multinomial: expects finite non-negative weights of shape (k,) or (n, k)")
    rows = w.reshape(-1, w.shape[-1])
    if np.any(rows.sum(-1) <= 0):
        raise ValueError("multinomial: each row of weights must have a positive sum")
    if not replacement and num_samples > np.min((rows > 0).sum(-1)):
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from fewer "
                         "categories with nonzero weight")
    gen = _gen(generator)
    out = np.stack([gen.choice(len(r), size=num_samples, replace=replacement, p=r / r.sum()) for r in rows])
    return Tensor._make(out.reshape(w.shape[:-1] + (num_samples,)).astype(np.int64))


def poisson(input, generator=None):
    """Poisson draws with the rates in input, in input's dtype; not differentiable.

    >>> tg.poisson(tg.zeros(3))
    tensor([0., 0., 0.])
    """
    return Tensor._make(_gen(generator).poisson(input.detach()._data).astype(input.dtype.np))


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    """A 0-d tensor holding s (float32 unless dtype says otherwise), as torch.scalar_tensor.

    >>> tg.scalar_tensor(3)
    tensor(3.)
    """
    return tensor(float(s) if dtype is None else s, dtype=dtype, requires_grad=requires_grad)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """torch.asarray: as_tensor (sharing memory with a numpy array when no conversion is needed).

    >>> tg.asarray([1, 2])
    tensor([1, 2])
    """
    out = as_tensor(obj, dtype=dtype)
    if copy:
        out = out.clone()
    return out.requires_grad_() if requires_grad else out

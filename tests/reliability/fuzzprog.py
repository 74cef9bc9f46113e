"""Random tensor programs for differential fuzzing: a program is plain data (inputs and ops), drawn by
hypothesis, run in PyTorch (the reference), tapegrad eager and tg.jit on the numpy and C backends, and compared
value by value, with first- and second-order gradients.

A program prints as the Python expression that rebuilds it, so a shrunk failure pastes straight into a
regression test: `check(Program(...))`.

Every op is written once against a library `L` (torch or tapegrad: tapegrad mirrors PyTorch's names), so the
reference and the system under test run the same text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

import tapegrad as tg

FLOATS = ("float32", "float64")
TOL = {"float32": 2e-3, "float64": 1e-7}  # relative to the largest finite reference value (and at least 1)


@dataclass(frozen=True)
class Input:
    shape: tuple
    dtype: str = "float32"
    layout: str = "c"  # "c" contiguous, "t" stored transposed, "step" every other element of a wider array


@dataclass(frozen=True)
class Op:
    name: str
    args: tuple  # indices into the program's values (its inputs first, then each op's result)
    params: tuple = ()


@dataclass(frozen=True)
class Program:
    inputs: tuple
    ops: tuple
    outputs: tuple  # indices of the values returned
    seed: int = 0
    ties: bool = False  # inputs drawn from a few round values, so max/min/amax meet ties and zeros


# *** the op table: name -> fn(L, *values, *params) ***


def _F(L):
    return L.nn.functional


# In-place writes through views are eager-only: a traced function refuses them with a TraceError that names
# the view (the tracer does not record writes through views).
EAGER_ONLY = {"inplace_mul", "inplace_add"}


def _inplace_on_view(L, x, view, method, *rest):
    """A copy changed in place through a view of it: the in-place rebase the engine must get right."""
    out = x.clone()
    v = out.transpose(0, -1) if view == "t" else out[..., ::2]
    getattr(v, method)(*rest) if rest else getattr(v, method)(2.0)
    return out


UNARY = {
    "neg": lambda L, x: -x,
    "abs": lambda L, x: x.abs(),
    "exp": lambda L, x: x.exp(),
    "tanh": lambda L, x: x.tanh(),
    "sigmoid": lambda L, x: x.sigmoid(),
    "sin": lambda L, x: x.sin(),
    "relu": lambda L, x: _F(L).relu(x),
    "square": lambda L, x: x * x,
    "sqrt_abs": lambda L, x: x.abs().sqrt(),
    "log_abs1": lambda L, x: (x.abs() + 1).log(),
    "recip": lambda L, x: 1 / (x.abs() + 0.5),
    "scale": lambda L, x: x * 0.5 + 1,
}
BINARY = {
    "add": lambda L, x, y: x + y,
    "sub": lambda L, x, y: x - y,
    "mul": lambda L, x, y: x * y,
    "div": lambda L, x, y: x / (y.abs() + 0.5),
    "maximum": lambda L, x, y: L.maximum(x, y),
    "minimum": lambda L, x, y: L.minimum(x, y),
    "where": lambda L, x, y: L.where(x > y, x, y * 2),
    "cat": lambda L, x, y, d: L.cat([x, y], d),
    "matmul": lambda L, x, y: x @ y,
    "inplace_add": lambda L, x, y, view: _inplace_on_view(L, x, view, "add_", y),
}
REDUCE = {
    "sum": lambda L, x, dims, k: x.sum(dims, keepdim=k),
    "mean": lambda L, x, dims, k: x.mean(dims, keepdim=k),
    "amax": lambda L, x, dims, k: x.amax(dims, keepdim=k),
    "softmax": lambda L, x, d: _F(L).softmax(x, dim=d),
    "log_softmax": lambda L, x, d: _F(L).log_softmax(x, dim=d),
}
MOVE = {
    "reshape": lambda L, x, shape: x.reshape(shape),
    "permute": lambda L, x, perm: x.permute(perm),
    "transpose": lambda L, x, a, b: x.transpose(a, b),
    "expand": lambda L, x, shape: x.expand(shape),
    "unsqueeze": lambda L, x, d: x.unsqueeze(d),
    "slice": lambda L, x, d, start, step: x[(slice(None),) * d + (slice(start, None, step),)],
    "inplace_mul": lambda L, x, view: _inplace_on_view(L, x, view, "mul_"),
}
CAST = {
    "to_float64": lambda L, x: x.to(L.float64),
    "to_float32": lambda L, x: x.to(L.float32),
    "gt0": lambda L, x: x > 0,  # bool
    "where_bool": lambda L, c, x: L.where(c, x, -x),
    "to_int": lambda L, x: (x * 2).to(L.int64),
    "int_mix": lambda L, i, x: i * x + i,  # int with float: promotion
}
OPS = {**UNARY, **BINARY, **REDUCE, **MOVE, **CAST}
# Families drawn first (then an op in them), so that the few reductions are as frequent as the many maps;
# in-place ops are eager-only (below), so they get a small family of their own.
FAMILIES = [sorted(UNARY), sorted(set(BINARY) - {"inplace_add"}), sorted(REDUCE), sorted(REDUCE),
            sorted(set(MOVE) - {"inplace_mul"}), sorted(CAST)]
INPLACE = ["inplace_add", "inplace_mul"]


# *** running ***


def _array(spec: Input, rng) -> np.ndarray:
    """The input's values (a standard normal, or round values with ties) in the input's layout's storage."""
    stored = spec.shape[::-1] if spec.layout == "t" else spec.shape[:-1] + (2 * spec.shape[-1],) if (
        spec.layout == "step") else spec.shape
    return rng.standard_normal(stored)


def _view(L, base, spec: Input):
    if spec.layout == "t":
        return base.permute(tuple(reversed(range(base.ndim))))
    if spec.layout == "step":
        return base[..., ::2]
    return base


def make_inputs(prog: Program):
    """numpy arrays of each input's storage (rounded to the input's dtype), from the program's seed."""
    rng = np.random.default_rng(prog.seed)
    out = []
    for spec in prog.inputs:
        a = _array(spec, rng)
        if prog.ties:
            a = np.round(a * 2) / 2
        out.append(np.asarray(a, dtype=spec.dtype))  # an array even for shape (): never a numpy scalar
    return out


def as_tensors(L, prog: Program, arrays):
    """The inputs in library L: views of their storage; float ones require grad (leaves, as views of
    storage that does not)."""
    out = []
    for spec, a in zip(prog.inputs, arrays):
        t = _view(L, L.tensor(a.copy()), spec)
        out.append(t.requires_grad_() if spec.dtype in FLOATS else t)
    return out


def run_ops(L, prog: Program, xs) -> tuple:
    values = list(xs)
    for op in prog.ops:
        values.append(OPS[op.name](L, *(values[i] for i in op.args), *op.params))
    return tuple(values[i] for i in prog.outputs)


def weights(prog: Program, outs, float_inputs):
    """Fixed cotangents for the float outputs and direction vectors for the second order, from the seed."""
    rng = np.random.default_rng(prog.seed + 1)
    cots = [rng.standard_normal(tuple(o.shape)) for o in outs]
    dirs = [rng.standard_normal(tuple(x.shape)) for x in float_inputs]
    return cots, dirs


def _floats(prog):
    return [i for i, s in enumerate(prog.inputs) if s.dtype in FLOATS]


def _loss(L, outs, cots):
    total = 0.0
    for o, c in zip(outs, cots):
        if o.dtype.is_floating_point:
            total = total + (o * L.tensor(c, dtype=o.dtype)).sum()
    return total


def _dot(L, gs, dirs):
    total = 0.0
    for g, d in zip(gs, dirs):
        if g is not None:
            total = total + (g * L.tensor(d, dtype=g.dtype)).sum()
    return total


def run_tape(L, prog: Program, arrays):
    """Values, gradients and second-order gradients with L's tape (torch.autograd / tapegrad's engine)."""
    xs = as_tensors(L, prog, arrays)
    fx = [xs[i] for i in _floats(prog)]
    outs = run_ops(L, prog, xs)
    cots, dirs = weights(prog, outs, fx)
    loss = _loss(L, outs, cots)
    if not fx or not isinstance(loss, L.Tensor) or not loss.requires_grad:
        return outs, (), ()
    g1 = L.autograd.grad(loss, fx, create_graph=True, allow_unused=True)
    second = _dot(L, g1, dirs)
    g2 = (L.autograd.grad(second, fx, allow_unused=True) if isinstance(second, L.Tensor) and second.requires_grad
          else (None,) * len(fx))
    return outs, g1, g2


def jitted(prog: Program, arrays, backend: str, with_grads: bool):
    """The same program as one tg.jit graph: the forward alone, or forward plus both gradient orders through
    tg.func.grad (one graph holding a forward pass and its gradients, as a training step does)."""
    xs = as_tensors(tg, prog, arrays)
    xs = [x.detach() for x in xs]
    fidx = _floats(prog)
    outs_probe = run_ops(tg, prog, xs)
    cots, dirs = weights(prog, outs_probe, [xs[i] for i in fidx])

    def merged(fx, rest):
        full = list(rest)
        for i, x in zip(fidx, fx):
            full[i] = x
        return full

    def loss(*fx, rest):
        out = _loss(tg, run_ops(tg, prog, merged(fx, rest)), cots)
        return out if isinstance(out, tg.Tensor) else tg.tensor(0.0)

    def step(*all_xs):
        outs = run_ops(tg, prog, all_xs)
        if not with_grads or not fidx:
            return outs, (), ()
        fx = [all_xs[i] for i in fidx]
        argnums = tuple(range(len(fx)))
        g = tg.func.grad(lambda *a: loss(*a, rest=all_xs), argnums=argnums)
        g1 = g(*fx)
        g2 = tg.func.grad(lambda *a: _dot(tg, g(*a), dirs), argnums=argnums)(*fx)
        return outs, g1, g2

    return tg.jit(step, backend=backend)(*xs)


# *** comparing ***


def _np(t):
    if t is None:
        return None
    if isinstance(t, torch.Tensor):
        return t.detach().numpy(force=True)  # force: torch's second-order zeros can be lazy ZeroTensors
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def close(got, want, what: str, loose: bool = False):
    """got (tapegrad) against want (torch), each a tensor or None (None is an all-zero gradient). `loose`: the
    program computes in float32 somewhere, so even its float64 values carry float32 rounding."""
    g, w = _np(got), _np(want)
    if g is None or w is None:
        other = w if g is None else g
        assert other is None or not np.any(other), f"{what}: None against nonzero values {other}"
        return
    assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
    assert str(g.dtype) == str(w.dtype), f"{what}: dtype {g.dtype} != {w.dtype}"
    if g.dtype.kind not in "fc":
        np.testing.assert_array_equal(g, w, err_msg=what)
        return
    finite = w[np.isfinite(w)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    tol = TOL["float32" if loose else str(g.dtype)]
    np.testing.assert_allclose(g, w, rtol=tol, atol=tol * scale, equal_nan=True, err_msg=what)


def compare(got, want, label: str, loose: bool = False):
    outs, g1, g2 = got
    r_outs, r_g1, r_g2 = want
    for k, (a, b) in enumerate(zip(outs, r_outs)):
        close(a, b, f"{label}: output {k}", loose)
    for order, (gs, rs) in enumerate(((g1, r_g1), (g2, r_g2)), 1):
        for k, b in enumerate(rs):
            close(gs[k] if k < len(gs) else None, b, f"{label}: order-{order} gradient of float input {k}", loose)


def check(prog: Program, backends=("numpy", "c")):
    """Run `prog` everywhere and compare with PyTorch (raises AssertionError naming the first difference)."""
    arrays = make_inputs(prog)
    ref = run_tape(torch, prog, arrays)
    loose = any(s.dtype == "float32" for s in prog.inputs) or any(op.name == "to_float32" for op in prog.ops)
    compare(run_tape(tg, prog, arrays), ref, "eager", loose)
    if any(op.name in EAGER_ONLY for op in prog.ops):
        return
    for backend in backends:
        fwd = jitted(prog, arrays, backend, with_grads=False)
        compare((fwd[0], (), ()), (ref[0], (), ()), f"jit {backend} forward", loose)
        compare(jitted(prog, arrays, backend, with_grads=True), ref, f"jit {backend} forward+grads", loose)


# *** drawing programs (hypothesis) ***

from hypothesis import strategies as st  # noqa: E402 - the runner above is usable without hypothesis

SIZES = st.sampled_from([1, 1, 2, 2, 3, 3, 4, 5, 0])


def _probe(shape, dtype):
    # real (tiny) tensors, not meta ones: meta kernels skip some checks (amax over an empty dim)
    return torch.ones(shape, dtype=getattr(torch, dtype))


def _out_spec(name, args, params):
    """Shape and dtype of an op's result, from PyTorch; None when PyTorch refuses it."""
    try:
        r = OPS[name](torch, *(_probe(*a) for a in args), *params)
    except (RuntimeError, IndexError, ValueError, TypeError):
        return None
    return tuple(r.shape), str(r.dtype).replace("torch.", "")


def _broadcastable(draw, shape):
    """A shape that broadcasts with `shape`: some dims 1, some leading dims dropped."""
    out = [draw(st.sampled_from([n, 1])) if n != 0 else draw(st.sampled_from([0, 1])) for n in shape]
    return tuple(out[draw(st.integers(0, len(out))):])


def _dims(draw, ndim):
    if ndim == 0 or draw(st.booleans()):
        return None
    return tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1, max_size=ndim))))


def _new_shape(draw, shape):
    """A reshape target: adjacent dims merged, or one dim split off as a 1."""
    shape = list(shape)
    if len(shape) >= 2 and draw(st.booleans()):
        i = draw(st.integers(0, len(shape) - 2))
        return tuple(shape[:i] + [shape[i] * shape[i + 1]] + shape[i + 2:])
    i = draw(st.integers(0, len(shape)))
    return tuple(shape[:i] + [1] + shape[i:])


def _params(draw, name, shape):
    """Parameters of a one-operand op (or None when it does not apply to this shape)."""
    nd = len(shape)
    if name in ("sum", "mean", "amax"):
        return (_dims(draw, nd), draw(st.booleans()))
    if name in ("softmax", "log_softmax", "unsqueeze") or name == "cat":
        return (draw(st.integers(-nd - (name == "unsqueeze"), max(nd - 1 + (name == "unsqueeze"), 0))),) \
            if nd or name == "unsqueeze" else None
    if name == "reshape":
        return (_new_shape(draw, shape),)
    if name == "permute":
        return (tuple(draw(st.permutations(range(nd)))),) if nd else None
    if name == "transpose":
        return (draw(st.integers(0, nd - 1)), draw(st.integers(0, nd - 1))) if nd else None
    if name == "expand":
        return (tuple(draw(st.sampled_from([2, 3])) if n == 1 else n for n in shape),)
    if name == "slice":
        return (draw(st.integers(0, nd - 1)), draw(st.integers(0, 2)), draw(st.integers(1, 3))) if nd else None
    if name in ("inplace_mul", "inplace_add"):
        return (draw(st.sampled_from(["t", "step"])),) if nd else None
    return ()


class _Builder:
    def __init__(self, draw):
        self.draw, self.inputs, self.specs, self.ops = draw, [], [], []
        self.order = []  # per value, in creation order: its index among the inputs or among the ops' results

    def new_input(self, shape, dtype):
        spec = Input(tuple(shape), dtype, self.draw(st.sampled_from(["c", "c", "t", "step"])) if shape else "c")
        self.inputs.append(spec)
        self.specs.append((spec.shape, dtype))
        self.order.append(("input", len(self.inputs) - 1))
        return len(self.specs) - 1

    def pick(self, kinds):
        """An existing value of one of `kinds` (dtype names), or None; mostly one of the latest three, so that
        programs are chains more often than fans."""
        found = [i for i, (_, d) in enumerate(self.specs) if d in kinds]
        if not found:
            return None
        return self.draw(st.sampled_from(found[-3:] if self.draw(st.integers(0, 3)) else found))

    def partner(self, name, x):
        """The second operand of a two-operand op on value x: an existing value that fits, or a new input."""
        shape, dtype = self.specs[x]
        if name == "matmul":
            if not shape:
                return None
            return self.new_input((shape[-1], self.draw(SIZES)), dtype)
        if name == "cat":
            return x if self.draw(st.booleans()) else self.new_input(shape, dtype)
        if name == "inplace_add":
            return self.new_input(_broadcastable(self.draw, shape), dtype)
        same = [i for i, s in enumerate(self.specs) if s[1] in FLOATS and
                _out_spec("add", (s, self.specs[x]), ()) is not None]
        if same and self.draw(st.booleans()):
            return self.draw(st.sampled_from(same))
        return self.new_input(_broadcastable(self.draw, shape), self.draw(st.sampled_from([dtype, *FLOATS])))

    def step(self):
        draw = self.draw
        family = INPLACE if draw(st.integers(0, 39)) == 0 else draw(st.sampled_from(FAMILIES))
        name = draw(st.sampled_from(family))
        if name in ("where_bool", "int_mix"):
            first = self.pick(("bool",) if name == "where_bool" else ("int64",))
            x = self.pick(FLOATS)
            args, params = (first, x), ()
        else:
            x = self.pick(FLOATS)
            params = _params(draw, name, self.specs[x][0])
            if params is None:
                return
            args = (x,)
            if name in BINARY:
                y = self.partner(name, x)
                if y is None:
                    return
                args = (x, y)
        if None in args:
            return
        spec = _out_spec(name, [self.specs[i] for i in args], params)
        if spec is None or math.prod(spec[0]) > 400:
            return
        self.ops.append(Op(name, args, params))
        self.specs.append(spec)
        self.order.append(("op", len(self.ops) - 1))

    def index(self, i):
        """Value i's index in the program: the inputs come first, then the ops' results."""
        kind, k = self.order[i]
        return k if kind == "input" else len(self.inputs) + k

    def program(self, outputs, seed, ties):
        ops = tuple(Op(o.name, tuple(self.index(a) for a in o.args), o.params) for o in self.ops)
        return Program(tuple(self.inputs), ops, tuple(self.index(i) for i in outputs), seed, ties)


@st.composite
def programs(draw, max_ops=12):
    b = _Builder(draw)
    b.new_input(tuple(draw(st.lists(SIZES, max_size=4))), draw(st.sampled_from(FLOATS)))
    n_ops = draw(st.integers(1, max_ops) | st.integers(max_ops // 2, max_ops))  # favour longer programs
    for _ in range(4 * n_ops):
        if len(b.ops) >= n_ops:
            break
        b.step()
    results = [i for i, (kind, _) in enumerate(b.order) if kind == "op"] or [0]
    outputs = (results[-1],) if len(results) < 2 or draw(st.booleans()) else (results[-1], draw(
        st.sampled_from(results[:-1])))
    return b.program(outputs, draw(st.integers(0, 2**16)), draw(st.booleans()))

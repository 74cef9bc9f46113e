"""Lowering of equations to library kernels of the C backend: the data movement around convolution and pooling, in C.

Convolution and pooling are composites (ops/conv.py): a constant pad, unfold (a sliding-window view),
reshape / permute views, one matmul, and in the backward fold (col2im), argmax and the index / index_put
pair that gathers and scatters one element per window. On numpy the window gathers are copies of 7-d
strided views and fold is one strided add per kernel offset, which made them the slowest part of a CNN
training step. Here:

* every chain of view equations (reshape, permute, expand, slice, unfold, with a constant pad at its root)
  is described by a `View`: an affine map from the view's indices to coordinates of one root value,
  the padded coordinates bounds-checked;
* `lower(items)` replaces equations of the item list from fuse.py by `LibraryKernel`s that read the
  root directly: a reshape that cannot be a view (im2col, the transposes around the matmul) and a pad
  become gathers; fold, argmax / argmin, and an index / index_put along one axis (the form that gather,
  scatter_add, max pooling and cross-entropy bind) become loops over the view; a non-contiguous view that a
  fused kernel reads becomes a gather (the plan would otherwise copy it with np.ascontiguousarray on every
  call).

Each LibraryKernel renders to one C function `lN(void **a)`: its loaded buffers then its outputs, all
C-contiguous, with shapes and strides as compile-time constants; the plan (plan.py) builds it into the
same shared library as the fused kernels and gives its outputs buffers allocated once. Kernels that index
with runtime data return nonzero on an out-of-range index, and the plan raises IndexError. Anything not
matched stays a numpy call, so every stride, padding, dilation and group count stays correct. The loops
run on one core: splitting the large ones across this 2-core machine's cores (OpenMP, next to numpy's BLAS
threads) measured no faster for a CNN training step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .fuse import Kernel, reads
from .scalar import CTYPES
from .scalar import value_literal

PRELUDE = "#include <string.h>\n"
VIEW_OPS = ("reshape", "permute", "expand", "slice", "unfold")
FOLD_TYPES = ("float32", "float64", "int32", "int64")  # fold adds, so no bool


# *** views: affine maps from a view's indices to coordinates of its root ***


@dataclass(frozen=True)
class View:
    """Element [i_0, i_1, ...] of the view is base.flat[l] with l = offset[0] + sum_k i_k * coef[k][0], or `fill`
    when a pad at the root put it outside the base: the coordinate along padded base dim padded[j],
    offset[1 + j] + sum_k i_k * coef[k][1 + j], is outside [0, base.shape[padded[j]]).

    So a coefficient vector is (linear stride, then one coordinate step per padded dim): views, slices and
    reshapes act on these vectors as numpy acts on strides. `ops` names the equations the view went through."""

    base: object  # the root Var
    shape: tuple
    coef: tuple  # one vector per view dim
    offset: tuple
    padded: tuple = ()  # base dims whose coordinate can fall outside the base
    fill: object = 0.0  # the pad value, as the pad equation gave it
    ops: tuple = ()

    def strides(self) -> tuple:
        """(linear stride per view dim, linear offset) into the C-contiguous base buffer, in elements."""
        return tuple(c[0] for c in self.coef), self.offset[0]

    def contiguous(self) -> bool:
        """True when the view is a C-contiguous run of the base (numpy would hand it to a kernel as is)."""
        if self.padded:
            return False
        strides, _ = self.strides()
        want = _c_strides(self.shape)
        return all(s == w for s, w, n in zip(strides, want, self.shape) if n != 1)

    def with_(self, shape, coef, offset=None, op=""):
        return View(self.base, tuple(shape), tuple(tuple(c) for c in coef),
                    self.offset if offset is None else tuple(offset), self.padded, self.fill, self.ops + (op,))


def _c_strides(shape) -> tuple:
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= n
    return tuple(reversed(out))


def identity(v) -> View:
    return View(v, tuple(v.shape), tuple((s,) for s in _c_strides(v.shape)), (0,))


def _scaled(c, f) -> tuple:
    return tuple(x * f for x in c)


def _permute(view: View, perm) -> View:
    return view.with_([view.shape[p] for p in perm], [view.coef[p] for p in perm], op="permute")


def _expand(view: View, shape) -> View:
    zero = (0,) * len(view.offset)
    lead = len(shape) - len(view.shape)
    coef = [zero] * lead + [zero if n_in == 1 and n != 1 else c
                            for c, n_in, n in zip(view.coef, view.shape, shape[lead:])]
    return view.with_(shape, coef, op="expand")


def _slice(view: View, index) -> View:
    offset = list(view.offset)
    coef, shape = [], []
    for c, (start, stop, step) in zip(view.coef, index):
        offset = [o + start * x for o, x in zip(offset, c)]
        coef.append(_scaled(c, step))
        shape.append(len(range(start, stop, step)))
    return view.with_(shape, coef, offset, op="slice")


def _unfold(view: View, kernel, stride, dilation) -> View:
    spatial = view.coef[2:]
    outs = [(n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(view.shape[2:], kernel, stride, dilation)]
    coef = list(view.coef[:2]) + [_scaled(c, s) for c, s in zip(spatial, stride)]
    coef += [_scaled(c, d) for c, d in zip(spatial, dilation)]
    return view.with_(tuple(view.shape[:2]) + tuple(outs) + tuple(kernel), coef, op="unfold")


def _reshape(view: View, shape) -> View | None:
    """The reshaped view, or None when no strides express it (numpy's reshape would copy).

    numpy's rule (its no-copy reshape) on coefficient vectors: drop size-1 dims, then split the old and the
    new dims into groups of equal size; a group of old dims must be one run (each coefficient the next one's
    times its size), and the new dims of the group get the run's coefficients."""
    zero = (0,) * len(view.offset)
    old = [(n, c) for n, c in zip(view.shape, view.coef) if n != 1]
    new = [n for n in shape if n != 1]
    coef_new: list = []
    oi = ni = 0
    while ni < len(new) and oi < len(old):
        np_, op_ = new[ni], old[oi][0]
        nj, oj = ni + 1, oi + 1
        while np_ != op_:
            if np_ < op_:
                np_ *= new[nj]
                nj += 1
            else:
                op_ *= old[oj][0]
                oj += 1
        for k in range(oi, oj - 1):
            if old[k][1] != _scaled(old[k + 1][1], old[k + 1][0]):
                return None
        group = [old[oj - 1][1]]
        for k in range(nj - 1, ni, -1):
            group.append(_scaled(group[-1], new[k]))
        coef_new += group[::-1]
        ni, oi = nj, oj
    it = iter(coef_new)
    coef = [zero if n == 1 else next(it) for n in shape]
    return view.with_(shape, coef, op="reshape")


def _pad(v, widths, value) -> View:
    """pad(v) read as a view of v: indices shift by the leading widths; the padded dims are bounds-checked."""
    bs = _c_strides(v.shape)
    shape = [n + a + b for n, (a, b) in zip(v.shape, widths)]
    padded = tuple(d for d, (a, b) in enumerate(widths) if a > 0 or b > 0)
    coef = [(s,) + tuple(int(d == p) for p in padded) for d, s in enumerate(bs)]
    offset = (sum(-a * s for (a, _), s in zip(widths, bs)),) + tuple(-widths[p][0] for p in padded)
    return View(v, tuple(shape), tuple(coef), offset, padded, value, ("pad",))


def _step_view(e, src: View) -> View | None:
    name, p = e.prim.name, e.params
    if name == "reshape":
        return _reshape(src, tuple(p["shape"]))
    if name == "permute":
        return _permute(src, p["perm"])
    if name == "expand":
        return _expand(src, tuple(p["shape"]))
    if name == "slice":
        return _slice(src, p["index"])
    if name == "unfold":
        return _unfold(src, p["kernel"], p["stride"], p["dilation"])
    return None


# *** the kernels ***


@dataclass
class LibraryKernel:
    """One C library call that replaces equation `eqn`. `loads` maps Var id -> (Var, shape) as a fused
    Kernel's do (the plan reads both alike); `outputs` are the Vars it writes; `prims` the primitives it
    covers; `checks` says that it returns nonzero on an out-of-range index (see `index_error`)."""

    kind: str
    eqn: object
    views: list  # the Views it reads, in argument order (a contiguous value is its identity View)
    outputs: list
    params: dict = field(default_factory=dict)
    loads: dict = field(default_factory=dict)
    checks: bool = False

    def __post_init__(self):
        for w in self.views:
            self.loads.setdefault(w.base.id, (w.base, tuple(w.base.shape)))

    @property
    def args(self) -> list:
        return [w.base for w in self.views]

    @property
    def prims(self) -> list:
        """The primitives it stands for: the view chains it reads through, then its own equation's."""
        chain = [op for w in self.views for op in w.ops] + list(self.params.get("covers", ()))
        return chain if self.params.get("own_view") else chain + [self.eqn.prim.name]

    def render(self, name: str) -> tuple:
        """(C source of the function `name`, the loaded Vars in argument order)."""
        body = _RENDER[self.kind](self)
        ret = "int" if self.checks else "void"
        out = self.outputs[0]
        comment = (f"/* {name}: {self.kind} ({' '.join(self.prims)}) -> {list(out.shape)} {out.dtype.name}"
                   f" from {', '.join(str(list(w.base.shape)) for w in self.views)} */")
        decls = [f"    const {_ct(w.base)} *restrict in{j} = (const {_ct(w.base)} *)a[{j}];"
                 for j, w in enumerate(self.views)]
        decls += [f"    {_ct(v)} *restrict out{j} = ({_ct(v)} *)a[{len(self.views) + j}];"
                  for j, v in enumerate(self.outputs)]
        lines = [comment, f"{ret} {name}(void **a) {{", *decls, *("    " + b for b in body)]
        if self.checks:
            lines.append("    return 0;")
        lines.append("}")
        return "\n".join(lines) + "\n", self.args

    def index_error(self, env_value) -> IndexError:
        """The error numpy raises for the first out-of-range index (`env_value(var)` reads the plan's env)."""
        idx = np.asarray(env_value(self.params["index"]))
        n = self.params["size"]
        bad = idx[(idx < -n) | (idx >= n)]
        first = int(bad.reshape(-1)[0]) if bad.size else "?"
        return IndexError(f"index {first} is out of bounds for axis {self.params['axis']} with size {n}")


def _ct(v) -> str:
    return CTYPES[v.dtype.name]


def _affine(strides, offset, dims) -> str:
    """C expression offset + sum over d in dims of i<d> * strides[d] (the loop variable of dim d is i<d>)."""
    terms = [str(offset)] if offset else []
    for d in dims:
        s = strides[d]
        if s == 1:
            terms.append(f"i{d}")
        elif s != 0:
            terms.append(f"i{d} * {s}L")
    return " + ".join(terms) or "0"


def _nest(loops, body) -> list:
    """Nested for loops around body (a list of lines): loops are (dim, extent), the first outermost, over the
    loop variables i<dim>."""
    lines = []
    for k, (d, n) in enumerate(loops):
        lines.append("    " * k + f"for (long i{d} = 0; i{d} < {n}L; i{d}++)" + (" {" if k == len(loops) - 1 else ""))
    pad = "    " * len(loops)
    lines += [pad + b for b in body]
    if loops:
        lines.append("    " * (len(loops) - 1) + "}")
    return lines


def _merged(view: View, keep=()) -> tuple:
    """The view's dims as (extent, coefficient vector) with size-1 dims dropped and runs merged (a dim whose
    coefficients are the next one's times its size joins it), so loops are fewer and longer. Dims in `keep`
    are neither dropped nor merged; returns (dims, map from kept dim to its position)."""
    dims, where = [], {}
    for d, (n, c) in enumerate(zip(view.shape, view.coef)):
        if d in keep:
            where[d] = len(dims)
            dims.append([n, c, True])
            continue
        if n == 1:
            continue
        if dims and not dims[-1][2] and dims[-1][1] == _scaled(c, n):
            dims[-1][0] *= n
            dims[-1][1] = c
            continue
        dims.append([n, c, False])
    return [(n, c) for n, c, _ in dims], where


def _linear(coefs) -> list:
    return [c[0] for c in coefs]


def _bounds(view: View, coefs) -> str:
    """C condition that every padded coordinate lies inside the base, or '' when nothing is padded."""
    conds = []
    for j, b in enumerate(view.padded):
        expr = _affine([c[1 + j] for c in coefs], view.offset[1 + j], range(len(coefs)))
        conds.append(f"(unsigned long)({expr}) < {view.base.shape[b]}UL")
    return " && ".join(conds)


def _render_gather(k: LibraryKernel) -> list:
    """out (C order) = the view, element by element; padded positions get the fill value."""
    view = k.views[0]
    dims, _ = _merged(view)
    extents = [n for n, _ in dims]
    coefs = [c for _, c in dims]
    _, off = view.strides()
    lin = _linear(coefs)
    every = range(len(dims))
    src = f"in0[{_affine(lin, off, every)}]"
    dst = f"out0[{_affine(_c_strides(extents), 0, every)}]"
    cond = _bounds(view, coefs)
    value = f"({cond}) ? {src} : {value_literal(view.fill, k.outputs[0].dtype.name)}" if cond else src
    return _nest(list(enumerate(extents)), [f"{dst} = {value};"])


def _render_arg(k: LibraryKernel) -> list:
    """out[...] = position of the first largest (argmax) / smallest (argmin) along the reduced axis (the view
    dims `axes`, one dim or a run of dims read as one); a NaN wins, as in numpy."""
    view, axes = k.views[0], k.params["axes"]
    dims, where = _merged(view, keep=axes)
    red = [where[a] for a in axes]
    rest = [d for d in range(len(dims)) if d not in red]
    lin = _linear([c for _, c in dims])
    _, off = view.strides()
    better = ">" if k.kind == "argmax" else "<"
    t = _ct(view.base)
    out_strides = dict(zip(rest, _c_strides([dims[d][0] for d in rest])))
    scan = [f"{t} x = p[{_affine(lin, 0, red)}];",
            f"if (x {better} best || (x != x && best == best)) {{ best = x; arg = j; }}",
            "j++;"]
    body = [f"const {t} *p = in0 + ({_affine(lin, off, rest)});",
            f"{t} best = p[0];",
            "long arg = 0, j = 0;",
            *_nest([(d, dims[d][0]) for d in red], scan),
            f"out0[{_affine(out_strides, 0, rest)}] = arg;"]
    return _nest([(d, dims[d][0]) for d in rest], body)


def _wrapped_index(expr: str, n: int) -> list:
    """C lines that read index j from expr, wrap a negative one once and return 1 when it is out of range."""
    return [f"long j = (long)({expr});", f"if (j < 0) j += {n}L;", f"if ((unsigned long)j >= {n}UL) return 1;"]


def _split_index(shape, strides, dims) -> tuple:
    """(C lines, expression): the linear offset of position j along `dims` (a run of dims read as one axis)."""
    if len(dims) == 1:
        return [], f"j * {strides[dims[0]]}L"
    lines = ["long r = j, at = 0;"]
    for d in reversed(dims[1:]):
        lines.append(f"at += (r % {shape[d]}L) * {strides[d]}L; r /= {shape[d]}L;")
    lines.append(f"at += r * {strides[dims[0]]}L;")
    return lines, "at"


def _render_take(k: LibraryKernel) -> list:
    """out[p] = x[p with p[axis] replaced by index[p]] (index, out: the same shape). The axis of x may be a run
    of dims of its view (`axes`, the windows of max pooling before their reshape), split from j."""
    xv, iv = k.views
    axis, axes, out = k.params["axis"], k.params["axes"], k.outputs[0]
    every = range(len(out.shape))
    xs, xoff = xv.strides()
    istr, ioff = iv.strides()
    x_dim = [d if d < axis else d + len(axes) - 1 for d in every]  # the view dim of each out dim
    x_at = _affine([0 if d == axis else xs[x_dim[d]] for d in every], xoff, every)
    split, at = _split_index(xv.shape, xs, axes)
    body = [*_wrapped_index(f"in1[{_affine(istr, ioff, every)}]", k.params["size"]), *split,
            f"out0[{_affine(_c_strides(out.shape), 0, every)}] = in0[{x_at} + {at}];"]
    return _nest(list(enumerate(out.shape)), body)


def _render_scatter(k: LibraryKernel) -> list:
    """out = x (or zeros), then out[p with p[axis] replaced by index[p]] = (or +=) values[p]."""
    axis, out = k.params["axis"], k.outputs[0]
    size = math.prod(out.shape)
    if k.params["zeros"]:
        first = f"memset(out0, 0, sizeof(*out0) * {size}L);"
        (iv, vv), ii = k.views, 0
    else:
        first = f"memcpy(out0, in0, sizeof(*out0) * {size}L);"
        (_, iv, vv), ii = k.views, 1
    every = range(len(vv.shape))
    istr, ioff = iv.strides()
    vstr, voff = vv.strides()
    ostr = _c_strides(out.shape)
    o_at = _affine([0 if d == axis else ostr[d] for d in every], 0, every)
    op = "+=" if k.params["accumulate"] else "="
    body = [*_wrapped_index(f"in{ii}[{_affine(istr, ioff, every)}]", k.params["size"]),
            f"out0[{o_at} + j * {ostr[axis]}L] {op} in{ii + 1}[{_affine(vstr, voff, every)}];"]
    return [first] + _nest(list(enumerate(vv.shape)), body)


def _fold_strides(out, p) -> list:
    """The fold output's linear stride per input dim: N, C, then O_j (stride_j steps), K_j (dilation_j steps)."""
    ostr = _c_strides(tuple(out.shape))
    per_dim = [ostr[0], ostr[1]] + [s * ostr[2 + j] for j, s in enumerate(p["stride"])]
    return per_dim + [d * ostr[2 + j] for j, d in enumerate(p["dilation"])]


def _render_fold(k: LibraryKernel) -> list:
    """out = 0, then every window element of the (N, C, *O, *K) input added at its place in (N, C, *size);
    the loops run in the order of the input's strides (largest first) so that it is read in sequence."""
    view, out = k.views[0], k.outputs[0]
    per_dim = _fold_strides(out, k.params)
    strides, off = view.strides()
    order = sorted((d for d in range(len(view.shape)) if view.shape[d] != 1), key=lambda d: -abs(strides[d]))
    body = [f"out0[{_affine(per_dim, 0, order)}] += in0[{_affine(strides, off, order)}];"]
    return [f"memset(out0, 0, sizeof(*out0) * {math.prod(out.shape)}L);"] + _nest([(d, view.shape[d]) for d in order],
                                                                                 body)


def _render_scatter_fold(k: LibraryKernel) -> list:
    """fold(reshape(index_put(zeros, values, ..., index))) without the scattered array: out = 0, then each value
    added where its window element lands (max pooling's backward: one element per window)."""
    (iv, vv), out, p = k.views, k.outputs[0], k.params
    axis, windows = p["axis"], p["windows"]  # the scattered array's shape, and the fold input's
    every = range(len(vv.shape))
    istr, ioff = iv.strides()
    vstr, voff = vv.strides()
    # the element's index into the (N, C, *O, *K) windows: the leading dims they share with the scattered array
    # are the loop's own; the rest comes from its place in the scattered array's remaining dims
    lead = 0
    while lead < min(axis, len(windows) - 1) and windows[lead] == p["scattered"][lead]:
        lead += 1
    tail = (0,) * lead + _c_strides(p["scattered"][lead:])
    rest = [d for d in every if d >= lead]
    at = _affine([0 if d == axis else tail[d] for d in every], 0, rest)
    split = [f"long r = {'' if at == '0' else at + ' + '}j * {tail[axis]}L;"]
    for d in range(len(windows) - 1, lead, -1):
        split.append(f"long w{d} = r % {windows[d]}L; r /= {windows[d]}L;")
    split.append(f"long w{lead} = r;")
    per_dim = _fold_strides(out, p)
    dst = " + ".join(f"{'i' if d < lead else 'w'}{d} * {s}L" for d, s in enumerate(per_dim) if s)
    body = [*_wrapped_index(f"in0[{_affine(istr, ioff, every)}]", p["size"]), *split,
            f"out0[{dst}] += in1[{_affine(vstr, voff, every)}];"]
    return [f"memset(out0, 0, sizeof(*out0) * {math.prod(out.shape)}L);"] + _nest(list(enumerate(vv.shape)), body)


_RENDER = {"gather": _render_gather, "fold": _render_fold, "argmax": _render_arg, "argmin": _render_arg,
           "take": _render_take, "scatter": _render_scatter, "scatter_fold": _render_scatter_fold}


# *** lowering: which equations become library kernels ***


def _ctype_ok(v) -> bool:
    return v.dtype.name in CTYPES and all(n > 0 for n in v.shape)


def _grid_dim(v, ndim: int):
    """The dim d when constant v is arange(n) laid along dim d of an ndim-d index (the other dims 1), else None."""
    c = v.const
    if c is None or c.ndim != ndim or c.dtype.kind not in "iu":
        return None
    long_dims = [d for d, n in enumerate(c.shape) if n != 1]
    if len(long_dims) > 1:
        return None
    d = long_dims[0] if long_dims else None
    n = c.shape[d] if d is not None else 1
    if not np.array_equal(np.asarray(c).reshape(-1), np.arange(n)):
        return None
    return d


def _along_axis(x, idx, out_shape, key):
    """(axis, index Var) when x[key with idx] picks, at every position p of the result, x at p with p[axis]
    replaced by index[p] (torch.gather's form: all but one index array are aranges along their own dim);
    else None."""
    nd = len(x.shape)
    if tuple(key) != ("idx",) * nd or len(idx) != nd or len(out_shape) != nd:
        return None
    data = [d for d, v in enumerate(idx) if _grid_dim(v, nd) != d or v.shape[d] != out_shape[d]]
    if len(data) != 1:
        return None
    axis = data[0]
    ix = idx[axis]
    if tuple(ix.shape) != tuple(out_shape) or ix.dtype.name not in ("int32", "int64"):
        return None
    if any(out_shape[d] > x.shape[d] for d in range(nd) if d != axis):
        return None
    return axis, ix


def _blasable(view: View) -> bool:
    """numpy hands a matrix to BLAS when one of its last two dims is unit-strided and the other steps over at
    least a row of it (a transposed matrix qualifies); otherwise it runs a slow loop of its own."""
    if view.padded or len(view.shape) < 2:
        return not view.padded
    (rows, cols), (sr, sc) = view.shape[-2:], view.strides()[0][-2:]
    return (sc == 1 or cols == 1) and sr >= cols or (sr == 1 or rows == 1) and sc >= rows


def _merged_tail(before, after) -> int:
    """n when reshaping `before` to `after` keeps the leading dims and merges the last n >= 2 into one."""
    n = len(before) - len(after) + 1
    if n < 2 or tuple(before[: len(after) - 1]) != tuple(after[:-1]):
        return 0
    return n if math.prod(before[len(after) - 1 :]) == after[-1] else 0


def _is_zero_const(v) -> bool:
    return v.const is not None and not np.any(v.const)


class _Lowering:
    """One pass over the fused items: Views for the outputs of view equations, then the replacements."""

    def __init__(self, items, outputs):
        self.items = items
        self.views: dict = {}  # Var id -> View, for the outputs of view equations
        self.merged: dict = {}  # Var id -> (View, n): a copying reshape that merged the View's last n dims
        self.defining: dict = {}  # Var id -> the equation that defines it
        self.readers: dict = {v.id: 1 for v in outputs}  # Var id -> how many items read it (the caller: 1)

    def view_of(self, v, unpadded=False) -> View:
        """How a library kernel reads v: through the view chain that defines it, else v itself."""
        w = self.views.get(v.id)
        if w is None or (unpadded and w.padded):
            return identity(v)
        return w

    def run(self) -> list:
        out = []
        materialize = self._materialize()
        for x in self.items:
            if isinstance(x, Kernel):
                out.append(x)
                continue
            lk = self._lower(x, materialize)
            out.append(lk if lk is not None else x)
        return out

    def _materialize(self) -> set:
        """Compute every View, and return the ids of the view outputs worth copying into a plan buffer with a
        C gather: those a fused kernel reads while they are not contiguous (the plan would copy them with numpy
        on every call), and matmul operands that BLAS cannot take (numpy would run its slow loop instead)."""
        wanted: set = set()
        for x in self.items:
            read = reads(x)
            for v in read:
                self.readers[v.id] = self.readers.get(v.id, 0) + 1
            if isinstance(x, Kernel):
                wanted.update(v.id for v in read if v.id in self.views and not self.views[v.id].contiguous())
                continue
            for v in x.outputs:
                self.defining[v.id] = x
            if x.prim.name == "matmul":
                wanted.update(v.id for v in x.inputs if v.id in self.views and not _blasable(self.views[v.id]))
            if len(x.inputs) == 1 and len(x.outputs) == 1 and _ctype_ok(x.inputs[0]):
                self._view_step(x)
        return wanted

    def _view_step(self, e):
        """Record the View (or the merge) that a view equation or a pad defines."""
        src, out, name = e.inputs[0], e.outputs[0], e.prim.name
        if name in VIEW_OPS:
            w = _step_view(e, self.view_of(src))
            if w is not None:
                self.views[out.id] = w
            elif name == "reshape" and src.id in self.views:
                n = _merged_tail(tuple(src.shape), tuple(out.shape))
                if n and not self.views[src.id].padded:
                    self.merged[out.id] = (self.views[src.id], n)
        elif name == "pad" and src.id not in self.views and src.const is None:
            self.views[out.id] = _pad(src, e.params["widths"], e.params["value"])

    def _sole_chain(self, base, end) -> bool:
        """True when the view chain from base to end (the equations defining end, back to base) is read only
        along itself: nothing else needs base or the values between."""
        v = end
        while v.id != base.id:
            e = self.defining.get(v.id)
            if self.readers.get(v.id, 0) != 1 or e is None or e.prim.name not in VIEW_OPS:
                return False
            v = e.inputs[0]
        return self.readers.get(base.id, 0) == 1

    def _lower(self, e, materialize):
        """The LibraryKernel that replaces equation e, or None (it stays a numpy call)."""
        if not e.outputs or not all(_ctype_ok(v) for v in list(e.inputs) + list(e.outputs)):
            return None
        name = e.prim.name
        if name in VIEW_OPS or name == "pad":
            return self._gather(e, materialize)
        rule = {"fold": self._fold, "argmax": self._arg, "argmin": self._arg, "index": self._take,
                "index_put": self._scatter}.get(name)
        return rule(e) if rule is not None else None

    def _gather(self, e, materialize):
        out = e.outputs[0]
        w = self.views.get(out.id)
        if w is None and e.prim.name == "reshape" and e.inputs[0].id in self.views:  # a reshape that copies
            return LibraryKernel("gather", e, [self.views[e.inputs[0].id]], [out])
        if w is not None and (e.prim.name == "pad" or out.id in materialize):
            return LibraryKernel("gather", e, [w], [out], {"own_view": True})
        return None

    def _fold(self, e):
        if e.outputs[0].dtype.name not in FOLD_TYPES:
            return None
        w = self.view_of(e.inputs[0], unpadded=True)
        return self._scatter_fold(e, w) or LibraryKernel("fold", e, [w], e.outputs, dict(e.params))

    def _scatter_fold(self, e, w):
        """fold reading (through a reshape) an index_put into zeros that nothing else reads: one kernel that
        adds each value at its place in the fold's output (max pooling's backward)."""
        put = self.defining.get(w.base.id)
        if put is None or put.prim.name != "index_put" or not _is_zero_const(put.inputs[0]):
            return None
        x, v = put.inputs[0], put.inputs[1]
        full = w.contiguous() and w.offset[0] == 0 and math.prod(w.shape) == math.prod(x.shape)
        if not full or not self._sole_chain(w.base, e.inputs[0]) or not all(_ctype_ok(u) for u in put.inputs):
            return None
        found = _along_axis(x, put.inputs[2:], tuple(v.shape), put.params["key"])
        if found is None or not (put.params["accumulate"] or v.shape[found[0]] == 1):  # "=" with repeats
            return None
        axis, ix = found
        params = {**e.params, "axis": axis, "index": ix, "size": x.shape[axis], "scattered": tuple(x.shape),
                  "windows": tuple(w.shape), "covers": ("index_put", *w.ops)}
        return LibraryKernel("scatter_fold", e, [identity(ix), self.view_of(v, unpadded=True)], e.outputs, params,
                             checks=True)

    def _arg(self, e):
        axis, src = e.params["axis"], e.inputs[0]
        if axis is None or not src.shape or e.outputs[0].dtype.name != "int64":
            return None
        axis %= len(src.shape)
        view, axes = self._axis_view(src, axis)
        return LibraryKernel(e.prim.name, e, [view], e.outputs, {"axis": axis, "axes": axes})

    def _axis_view(self, v, axis) -> tuple:
        """(View to read v through, the view dims that make up `axis`): the windows of a copying reshape that
        merged them into v's last axis, so that the copy is not made; else v's own view and axis."""
        if v.id in self.merged and axis == len(v.shape) - 1:
            w, n = self.merged[v.id]
            return w, tuple(range(len(w.shape) - n, len(w.shape)))
        return self.view_of(v, unpadded=True), (axis,)

    def _take(self, e):
        x, out = e.inputs[0], e.outputs[0]
        found = _along_axis(x, e.inputs[1:], tuple(out.shape), e.params["key"])
        if found is None:
            return None
        axis, ix = found
        view, axes = self._axis_view(x, axis)
        return LibraryKernel("take", e, [view, identity(ix)], [out],
                             {"axis": axis, "axes": axes, "index": ix, "size": x.shape[axis]}, checks=True)

    def _scatter(self, e):
        x, v = e.inputs[0], e.inputs[1]
        found = _along_axis(x, e.inputs[2:], tuple(v.shape), e.params["key"])
        if found is None:
            return None
        axis, ix = found
        zeros = _is_zero_const(x)  # then out starts as zeros: x is neither read nor loaded
        views = ([] if zeros else [identity(x)]) + [identity(ix), self.view_of(v, unpadded=True)]
        params = {"axis": axis, "index": ix, "size": x.shape[axis], "zeros": zeros,
                  "accumulate": bool(e.params["accumulate"])}
        return LibraryKernel("scatter", e, views, e.outputs, params, checks=True)


def lower(items: list, outputs) -> list:
    """The item list from fuse.py with the equations this file implements replaced by LibraryKernels
    (in place, so the order stays valid: each reads only values defined before the equation it replaces).
    `outputs` are the graph's outputs (values the caller reads)."""
    return _Lowering(items, outputs).run()

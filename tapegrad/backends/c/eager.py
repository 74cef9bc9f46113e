"""Eager ops on compiled C kernels: the C backend's `eager_impls()`.

Each elementwise primitive (unary, binary, where, cast) and the reductions sum and amax get a wrapper around the
numpy reference. A call on at least LIMITS[family] elements, in dtypes and a layout a kernel handles, runs one
vectorised, OpenMP-parallel C kernel; everything else (small tensors, float16/bfloat16, layouts that do not
reduce to rows) runs the numpy reference unchanged. softmax, log_softmax, layer norm and cross-entropy are
composites of these primitives (amax and sum over the last axis, then a row-broadcast sub / div), so their row
work reaches the same kernels.

Kernels are written in the scalar templates of scalar.py (the vectorised exp/log/tanh/sigmoid/erf of vmath.py;
libm for the rest) and built by compiler.py into its on-disk cache, one small library per (primitive, dtypes)
(about 0.3-0.4 s of gcc each, once per machine). The build runs on a background thread when the kernel is first
wanted; until it is loaded the op runs on numpy, so no eager op waits for the compiler. A later process loads
it from the cache, also off the calling thread (about 0.1 s for the first, most of it the compiler probe). TAPEGRAD_EAGER_COMPILE=sync builds on the calling thread instead
(tests). With no working C compiler: one CompilerMissingWarning and numpy from then on.

Layouts: the output is always a fresh C-contiguous array. Operands are described by element strides over the
output shape; dimensions of size 1 are dropped and neighbours that are contiguous for every operand merged.
What is left must be one dimension (a flat loop: every operand contiguous or a single broadcast value, e.g. a
0-d Python scalar against a tensor) or two (m rows of r: every operand steps by 1 or 0 along a row and by any
stride between rows: a row or column broadcast, a slice of rows). More dimensions go to numpy. A reduction
needs a C-contiguous input whose reduced axes are adjacent (after dropping size-1 axes): m x r x k, reduce r.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
import warnings

import _ctypes
import numpy as np

from ...primitives.base import BINARY, SELECT, UNARY
from .. import buffers
from . import compiler
from .scalar import BY_PARAM, CTYPES, PRELUDE, expr

# *** which calls go to C ***

# Elements from which the C kernel beats numpy, per family, measured by `python -m benchmarks.eager_threshold`
# (numpy and the kernel interleaved in one process, float32, medians of 5; the 2-core AVX2 machine of
# docs/performance.md while other jobs kept it busy, 2026-12-07):
# - cheap (add, mul by a 0-d scalar, div, ...: numpy's SIMD loops, memory-bound): level up to 1M elements (add
#   1M: numpy 0.48 ms, C 0.56 ms), level or ahead from 4M (mul by 0-d 4M: 3.0 vs 2.1 ms; add 16M: 39 vs 27 ms);
# - costly (tanh, exp, sigmoid, ...: numpy one element at a time): level at 4096 (26 vs 26 us), ahead from
#   16384 (62 vs 35 us) to 16M (138 vs 45 ms);
# - reduce (sum over every axis): level at 65536 (47 vs 48 us), ahead from 262144 (132 vs 113 us).
# - gelu and gelu_backward (numpy: five to ten array ops each) are costly ops that cross earlier (by hand, busy machine,
#   float32: gelu 1024 elements 38 vs 15 us, 8192 109 vs 16 us; gelu_backward 4096 101 vs 41 us): the costly limit.
# Below these a call costs about 5-15 us of ctypes and pointer handling more than numpy's.
# - select (where on a random mask, ReLU's): numpy branches per element and mispredicts half of them: level at
#   16384 (35 vs 49 us with the machine busy), 6x slower from 65536 (488 vs 80 us), 13x at 1M (9.2 vs 0.70 ms).
# - fused (the one-loop backward kernels of FUSED_VJPS against numpy's three passes; measured by hand, the machine
#   busy, load average 3.4-3.8, 2026-12-07): numpy ahead or level up to 256K (32K: 28 vs 31 us, 256K: 168 vs 173
#   us), the loop ahead once the arrays leave the caches (sigmoid's, 4M float32: 6.4 / 9.3 ms against 1.7 / 2.8).
# - move (a reshape that copies a strided view, and Fold): numpy copies and adds such views one innermost run at a
#   time, and convolution's windows have short runs (24 floats on W2): its im2col copy of 10.6M floats took 9.7 ms,
#   Fold's col2im 16.5 ms; the kernel walks the runs in a loop nest of its own (see move_source).
# - pool (tile_argmax, max pooling's index): level with numpy's knockout at 1024 elements, 6x ahead at 4096
#   (_tile_argmax).
LIMITS = {"cheap": 1 << 22, "costly": 1 << 13, "reduce": 1 << 18, "select": 1 << 16, "fused": 1 << 18,
          "move": 1 << 16, "pool": 1 << 12}
# Elements from which a kernel splits its loop across cores (OpenMP); below it one thread is faster than waking
# the others (about 10-20 us). With the machine busy, splitting gained nothing measurable below 4M elements; the
# costly limit is set where one thread's work (about 0.2 ms for tanh on 64K) dwarfs the wake-up. fused and move are
# memory-bound, as cheap. select, measured on the quiet machine (21:43 UTC, `--ops where`): split 275 vs 336 us at
# 1M, 1.98 vs 3.44 ms at 4M; level at 64K-256K.
# pool (tile_argmax) as move: on W2 it runs right after conv's GEMMs, whose OpenBLAS worker keeps spinning on the
# other core for about 0.1 s (2^28 cycles, OPENBLAS_THREAD_TIMEOUT's default: 104 ms of CPU during a 200 ms sleep after
# one GEMM, 0.1 ms with OPENBLAS_THREAD_TIMEOUT=4), so a second OpenMP thread shares a core with it.
PARALLEL = {"cheap": 1 << 22, "costly": 1 << 16, "reduce": 1 << 22, "select": 1 << 20, "fused": 1 << 22,
            "move": 1 << 22, "pool": 1 << 22}

SYNC = os.environ.get("TAPEGRAD_EAGER_COMPILE", "background").lower() == "sync"

FLOATS = ("float32", "float64")
INTS = ("int32", "int64")
# Primitives that a kernel runs on integer / bool operands (with numpy's results: -fwrapv wraps like numpy);
# every other one runs on float32 / float64 only (bool + bool is logical-or in numpy, 2 in C).
INT_OK = {"neg", "abs", "sign", "add", "sub", "mul", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
          "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
          "where", "cast"}
BOOL_OK = {"eq", "ne", "lt", "le", "gt", "ge", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "where",
           "cast", "maximum", "minimum"}
NOT_FLOAT = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift"}
BOOL = np.dtype(bool)
TO_BOOL = {"eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf"}
REDUCTIONS = ("sum", "amax")
MOVES = ("reshape", "fold")  # the strided copy / add kernel (move_source) serves both


def _accepts(name: str, dtypes: tuple) -> bool:
    """Whether a kernel exists for primitive `name` on operands of these dtype names."""
    if name == "where":
        return dtypes[0] == "bool" and dtypes[1] == dtypes[2] and dtypes[1] in CTYPES
    if name == "cast":
        return dtypes[0] in CTYPES
    if any(d != dtypes[0] for d in dtypes):  # numpy would promote mixed operands: leave them to it
        return False
    d = dtypes[0]
    if d in FLOATS:
        return name not in NOT_FLOAT
    return name in (INT_OK if d in INTS else BOOL_OK if d == "bool" else ())


# *** C source ***


class _Var:
    def __init__(self, dtype: str):
        self.dtype = type("D", (), {"name": dtype})()


class _Eqn:
    """The shape of a trace Eqn that scalar.expr reads: prim.name, the dtype names of inputs and output, and the
    params that choose a template (scalar.BY_PARAM)."""

    def __init__(self, name: str, ins: tuple, out: str, params: tuple = ()):
        self.prim = type("P", (), {"name": name})()
        self.inputs, self.outputs, self.params = [_Var(d) for d in ins], [_Var(out)], dict(params)


def elementwise_source(name: str, ins: tuple, out: str, params: tuple = ()) -> str:
    """C source of `flat` and `rows` for primitive `name` on inputs of dtype names `ins`, output dtype `out`.

    flat(n, mode, par, x0, x1, ..., out): out[i] = f(x0[i] or x0[0], ...), bit j of mode set when xj varies.
    rows(m, r, mode, par, x0, s0, x1, s1, ..., out): row o reads xj + o * sj, varying along the row (bit j of
    mode) or not; out is m x r contiguous. Both split across threads from `par` elements."""
    e, k = _Eqn(name, ins, out, params), len(ins)
    ct, co = [CTYPES[d] for d in ins], CTYPES[out]
    cases_flat, cases_rows = [], []
    one = _expr if name in FUSED_VJPS else expr
    for mode in range(1 << k):
        varies = [(mode >> j) & 1 for j in range(k)]
        f = one(e, [f"x{j}[i]" if v else f"c{j}" for j, v in enumerate(varies)])
        cases_flat += [f"case {mode}:", "    #pragma omp parallel for simd if(parallel: n >= par) schedule(static)",
                       f"    for (long i = 0; i < n; i++) out[i] = ({co})({f});", "    break;"]
        g = one(e, [f"y{j}[i]" if v else f"c{j}" for j, v in enumerate(varies)])
        cases_rows += [f"case {mode}:", "    #pragma omp parallel for if(m * r >= par) schedule(static)",
                       "    for (long o = 0; o < m; o++) {",
                       *(f"        const {ct[j]} *y{j} = x{j} + o * s{j}; {ct[j]} c{j} = y{j}[0];" for j in range(k)),
                       f"        {co} *w = out + o * r;", "        #pragma omp simd",
                       f"        for (long i = 0; i < r; i++) w[i] = ({co})({g});", "    }", "    break;"]
    xs = ", ".join(f"const {ct[j]} *x{j}" for j in range(k))
    xss = ", ".join(f"const {ct[j]} *x{j}, long s{j}" for j in range(k))
    heads = [f"{ct[j]} c{j} = x{j}[0];" for j in range(k)]
    return "\n".join([
        PRELUDE,
        f"void flat(long n, int mode, long par, {xs}, {co} *out) {{", *("    " + h for h in heads),
        "    switch (mode) {", *("    " + c for c in cases_flat), "    }", "}",
        f"void rows(long m, long r, int mode, long par, {xss}, {co} *out) {{",
        "    switch (mode) {", *("    " + c for c in cases_rows), "    }", "}", ""])


CHUNKS = 16  # fixed partial results of a long reduction, combined in order: the result ignores the thread count
BLOCK = 64  # columns accumulated together when the reduced axis is not the last


def reduction_source(name: str, dtype: str) -> str:
    """C source of red(m, r, k, par, x, out): out[o, j] = sum or max over i of x[o, i, j] (x is m x r x k,
    C-contiguous), accumulated in double for sums. amax propagates NaN as numpy: a max plus a NaN flag."""
    t = CTYPES[dtype]
    if name == "sum":
        acc, init, clause = "double", "0", "reduction(+:a)"
        step, fin = "a += (double)v;", "({t})a"
        combine = "a += p[c];"
    else:
        acc, init, clause = t, "-INFINITY", "reduction(max:a) reduction(|:nan)"
        step, fin = "a = v > a ? v : a; nan |= (v != v);", "(nan ? ({t})NAN : a)"
        combine = "a = p[c] > a ? p[c] : a; nan |= pn[c];"
    fin = fin.format(t=t)
    col_step = ("acc[b] += (double)v;" if name == "sum" else
                "acc[b] = v > acc[b] ? v : acc[b]; nf[b] |= (v != v);")
    col_fin = ("(" + t + ")acc[b]") if name == "sum" else f"(nf[b] ? ({t})NAN : acc[b])"
    return "\n".join([
        PRELUDE, "#include <stdlib.h>",
        f"void red(long m, long r, long k, long par, const {t} *x, {t} *out) {{",
        "    if (k == 1 && (m >= CHUNKS || m * r < par)) {",
        "        #pragma omp parallel for if(m * r >= par) schedule(static)",
        "        for (long o = 0; o < m; o++) {",
        f"            const {t} *y = x + o * r; {acc} a = {init}; unsigned char nan = 0;",
        f"            #pragma omp simd {clause}",
        f"            for (long i = 0; i < r; i++) {{ {t} v = y[i]; {step} }}",
        f"            out[o] = {fin};", "        }",
        "    } else if (k == 1) {  /* few long rows: each row in CHUNKS slices, in parallel */",
        "        for (long o = 0; o < m; o++) {",
        f"            const {t} *y = x + o * r; {acc} p[CHUNKS]; unsigned char pn[CHUNKS];",
        "            #pragma omp parallel for schedule(static)",
        "            for (long c = 0; c < CHUNKS; c++) {",
        f"                {acc} a = {init}; unsigned char nan = 0;",
        f"                #pragma omp simd {clause}",
        f"                for (long i = r * c / CHUNKS; i < r * (c + 1) / CHUNKS; i++) {{ {t} v = y[i]; {step} }}",
        "                p[c] = a; pn[c] = nan;", "            }",
        f"            {acc} a = p[0]; unsigned char nan = pn[0];",
        f"            for (long c = 1; c < CHUNKS; c++) {{ {combine} }}",
        f"            out[o] = {fin};", "        }",
        "    } else {  /* the reduced axis is not the last: blocks of columns, rows streamed in order */",
        "        #pragma omp parallel for collapse(2) if(m * r * k >= par) schedule(static)",
        "        for (long o = 0; o < m; o++) {",
        "            for (long j0 = 0; j0 < k; j0 += BLOCK) {",
        "                long w = k - j0 < BLOCK ? k - j0 : BLOCK;",
        f"                {acc} acc[BLOCK]; unsigned char nf[BLOCK];",
        f"                for (long b = 0; b < w; b++) {{ acc[b] = {init}; nf[b] = 0; }}",
        "                for (long i = 0; i < r; i++) {",
        f"                    const {t} *y = x + (o * r + i) * k + j0;",
        "                    #pragma omp simd",
        f"                    for (long b = 0; b < w; b++) {{ {t} v = y[b]; {col_step} }}",
        "                }",
        f"                for (long b = 0; b < w; b++) out[o * k + j0 + b] = {col_fin};",
        "            }", "        }", "    }", "}", ""]).replace("CHUNKS", str(CHUNKS)).replace("BLOCK", str(BLOCK))


MAX_DIMS = 8  # loop dims of a move (after merging); more go to numpy


def move_source(dtype: str) -> str:
    """C source of move(nd, shape, ss, ds, src, dst, add, par): for every index i of `shape` (nd dims, the last
    innermost), dst[sum i_d * ds_d] = (or += when add) src[sum i_d * ss_d]; strides in elements, any sign.

    One innermost run per step of an odometer over the outer dims (no division per run: a run of W2's im2col
    is 24 elements). Threads split the first dim, so the caller orders dims such that distinct values of the first
    one never write the same dst element (Fold's overlapping windows add up within one image and channel)."""
    t = CTYPES[dtype]
    return "\n".join([
        "#ifdef _OPENMP", "#include <omp.h>", "#endif",
        f"void move(long nd, const long *shape, const long *ss, const long *ds, const {t} *src, {t} *dst, int add,",
        "          long par) {",
        "    long n = shape[nd - 1], si = ss[nd - 1], di = ds[nd - 1], inner = 1, total = 1;",
        "    for (long d = 1; d < nd - 1; d++) inner *= shape[d];",
        "    for (long d = 0; d < nd; d++) total *= shape[d];",
        "    #pragma omp parallel if(total >= par)",
        "    {",
        "        long lo = 0, hi = nd > 1 ? shape[0] : 1;",
        "#ifdef _OPENMP",
        "        long th = omp_get_thread_num(), nt = omp_get_num_threads();",
        "        long first = lo + (hi - lo) * th / nt;",
        "        hi = lo + (hi - lo) * (th + 1) / nt;",
        "        lo = first;",
        "#endif",
        "        long idx[MAXD] = {0};",
        "        long so = lo * (nd > 1 ? ss[0] : 0), dof = lo * (nd > 1 ? ds[0] : 0);",
        "        if (nd > 1) idx[0] = lo;",
        "        long runs = (hi - lo) * (nd > 1 ? inner : 1);",
        "        for (long o = 0; o < runs; o++) {",
        f"            const {t} *p = src + so; {t} *q = dst + dof;",
        "            if (si == 1 && di == 1) {",
        "                if (add) { for (long i = 0; i < n; i++) q[i] += p[i]; }",
        "                else { for (long i = 0; i < n; i++) q[i] = p[i]; }",
        "            } else if (add) { for (long i = 0; i < n; i++) q[i * di] += p[i * si]; }",
        "            else { for (long i = 0; i < n; i++) q[i * di] = p[i * si]; }",
        "            for (long d = nd - 2; d >= 0; d--) {  /* the odometer: next run */",
        "                idx[d]++; so += ss[d]; dof += ds[d];",
        "                if (idx[d] < shape[d] || d == 0) break;",
        "                so -= ss[d] * shape[d]; dof -= ds[d] * shape[d]; idx[d] = 0;",
        "            }",
        "        }",
        "    }",
        "}", ""]).replace("MAXD", str(MAX_DIMS))


TILE_DIMS = 3  # spatial dims of tile_argmax's kernel (1-d and 2-d pooling run as 3-d with leading dims of 1)


def tile_source(dtype: str) -> str:
    """C source of targ(planes, s, k, o, x, out, par): for each of `planes` (N*C) planes of s[0] x s[1] x s[2]
    elements, each tile of k[0] x k[1] x k[2] (o[d] of them along dim d, from the origin) gives out = the flat index
    into x of its first maximum in scan order, a NaN counting as the largest (numpy's argmax, lower.py's argmax).

    A knockout in one pass: a chunk of up to CH tiles (whole rows of tiles when a row is shorter: W2's rows are 12
    tiles) keeps each tile's best value and offset, updated by each kernel offset in scan order across the chunk
    (independent lanes, which gcc vectorises, reading through a table of the tiles' offsets; one tile at a time was
    a chain of dependent compares, 4 ns an element, and one row of tiles at a time 1.8). The pick is arithmetic,
    not a branch: ReLU outputs are half zeros (ties), which mispredict. Offsets within a plane are ints (the caller
    checks that a plane fits)."""
    t = CTYPES[dtype]
    return "\n".join([
        "#define CH 64",
        f"void targ(long planes, const long *s, const long *k, const long *o, const {t} *x, long *out, long par) {{",
        "    long s1 = s[1], s2 = s[2], k0 = k[0], k1 = k[1], k2 = k[2], o0 = o[0], o1 = o[1], o2 = o[2];",
        "    long plane = s[0] * s1 * s2, tiles = o0 * o1 * o2;",
        "    long mc = o2 < CH ? o2 : CH, nb = CH / mc;  /* a chunk: nb rows of mc tiles (nb = 1 for long rows) */",
        "    int base[CH];  /* each lane's tile offset from the chunk's first */",
        "    for (long q = 0; q < nb * mc; q++) base[q] = (int)((q / mc) * k1 * s2 + (q % mc) * k2);",
        "    #pragma omp parallel for schedule(static) if(planes * plane >= par)",
        "    for (long pl = 0; pl < planes; pl++) {",
        f"        const {t} *xp = x + pl * plane;",
        "        long *op = out + pl * tiles;",
        f"        {t} best[CH];",
        "        int arg[CH];",
        "        for (long a = 0; a < o0; a++)",
        "        for (long b0 = 0; b0 < o1; b0 += nb)",
        "        for (long c0 = 0; c0 < o2; c0 += mc) {",
        "            long rows = o1 - b0 < nb ? o1 - b0 : nb, cols = o2 - c0 < mc ? o2 - c0 : mc;",
        "            long m = rows * cols;  /* rows > 1 only when cols = o2: then base holds for the chunk */",
        "            int first = (int)((a * k0 * s1 + b0 * k1) * s2 + c0 * k2);",
        f"            const {t} *p0 = xp + first;",
        "            for (long q = 0; q < m; q++) { best[q] = p0[base[q]]; arg[q] = first + base[q]; }",
        "            for (long i = 0; i < k0; i++)",
        "            for (long j = 0; j < k1; j++)",
        "            for (long l = 0; l < k2; l++) {",
        "                if (i == 0 && j == 0 && l == 0) continue;",
        "                int at = first + (int)((i * s1 + j) * s2 + l);",
        f"                const {t} *p = xp + at;",
        "                for (long q = 0; q < m; q++) {",
        f"                    {t} v = p[base[q]], w = best[q];",
        "                    int take = (v > w) | ((v != v) & (w == w));",
        "                    best[q] = take ? v : w;",
        "                    arg[q] = take ? at + base[q] : arg[q];",
        "                }",
        "            }",
        "            long *dst = op + (a * o1 + b0) * o2 + c0;",
        "            for (long q = 0; q < m; q++) dst[q] = pl * plane + arg[q];",
        "        }",
        "    }",
        "}", ""])


# *** building and loading, off the calling thread ***

_L, _P = ctypes.c_long, ctypes.c_void_p
# A key is (primitive name, input dtype names, output dtype name, params): params are the (name, value) pairs that
# choose the primitive's C template (scalar.BY_PARAM: gelu's approximation), () for most. A loaded kernel goes into
# its impl's own table (`ready`, keyed by numpy dtypes, which hash faster than the names, and those params).
_state: dict = {}  # key -> "pending" | "done" | "failed" (absent: never asked for)
_todo: list = []
_cv = threading.Condition()
_worker = None
_news: list = []  # warnings a background build left for the calling thread to issue (warnings belong there)
_handles: list = []  # loaded libraries: never closed (their functions are in the impls' tables)


def _functions(key, path: str):
    handle = compiler._dlopen(path)
    _handles.append(handle)
    name, ins = key[0], key[1]
    if name in REDUCTIONS:
        return ctypes.CFUNCTYPE(None, _L, _L, _L, _L, _P, _P)(_ctypes.dlsym(handle, "red"))
    if name == "move":
        return ctypes.CFUNCTYPE(None, _L, _P, _P, _P, _P, _P, ctypes.c_int, _L)(_ctypes.dlsym(handle, "move"))
    if name == "tile_argmax":
        return ctypes.CFUNCTYPE(None, _L, _P, _P, _P, _P, _P, _L)(_ctypes.dlsym(handle, "targ"))
    k = len(ins)
    flat = ctypes.CFUNCTYPE(None, _L, ctypes.c_int, _L, *([_P] * k), _P)(_ctypes.dlsym(handle, "flat"))
    rows = ctypes.CFUNCTYPE(None, _L, _L, ctypes.c_int, _L, *([_P, _L] * k), _P)(_ctypes.dlsym(handle, "rows"))
    return flat, rows


def source(key) -> str:
    name, ins, out, params = key
    if name == "move":
        return move_source(ins[0])
    if name == "tile_argmax":
        return tile_source(ins[0])
    return reduction_source(name, ins[0]) if name in REDUCTIONS else elementwise_source(name, ins, out, params)


def _build(key, ready, fast) -> None:
    """Compile (or take from the disk cache) and load one kernel; on failure the key stays on numpy."""
    global _disabled
    cc = compiler._find()[0]
    if cc is None:
        _disabled = True
        _news.append(compiler.problem())
        _state[key] = "failed"
        return
    try:
        ready[fast] = _functions(key, compiler.build(source(key), cc))
        _state[key] = "done"
    except (compiler.CompileError, OSError) as e:  # a generator bug or an unusable cache: this op stays on numpy
        _state[key] = "failed"
        _news.append(f"the eager C kernel for {key[0]} on {', '.join(key[1])} could not be built ({e}); "
                     "it runs on numpy")


def _work() -> None:
    while True:
        with _cv:
            while not _todo:
                _cv.wait()
            job = _todo.pop(0)
        _build(*job)


def _request(key, ready: dict, fast) -> None:
    global _worker
    if key in _state:
        return
    _state[key] = "pending"
    if SYNC:
        _build(key, ready, fast)
        return
    with _cv:
        _todo.append((key, ready, fast))
        if _worker is None:
            _worker = threading.Thread(target=_work, name="tapegrad-eager-cc", daemon=True)
            _worker.start()
        _cv.notify()


def wait(timeout: float = 120.0) -> None:
    """Block until every kernel asked for so far is built (or failed); for benchmarks and tests."""
    import time

    end = time.monotonic() + timeout
    while any(s == "pending" for s in list(_state.values())) and time.monotonic() < end:
        time.sleep(0.01)
    _flush()


def _reset_after_fork() -> None:
    """In a forked child: the worker thread is gone and may have held the lock; queued builds are asked again."""
    global _worker, _cv
    _worker, _cv = None, threading.Condition()
    for key in [k for k, s in _state.items() if s == "pending"]:
        del _state[key]
    _todo.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


_disabled = False  # no working compiler: every op on numpy
_warned_cc = False


def _flush() -> None:
    """Issue, on the calling thread, the warnings that background builds left."""
    global _warned_cc
    while _news:
        msg = _news.pop(0)
        if msg is None:
            continue
        if _disabled and not _warned_cc:
            _warned_cc = True
            warnings.warn(f"tapegrad: {msg}, so eager ops run on numpy (correct, slower). Fix: install a working C "
                          "compiler (e.g. `apt-get install gcc`) or point TAPEGRAD_CC at one; silence this with "
                          "TAPEGRAD_EAGER_BACKEND=numpy.", compiler.CompilerMissingWarning, stacklevel=4)
        elif not _disabled:
            warnings.warn(f"tapegrad: {msg}", RuntimeWarning, stacklevel=4)


# *** layouts ***


def _strides(x: np.ndarray, shape: tuple, itemsize: int):
    """x's element strides over `shape` (broadcast: 0 along its missing and size-1 axes), or None when a stride
    is not a whole number of elements."""
    lead = len(shape) - x.ndim
    out = [0] * lead
    for n, s in zip(x.shape, x.strides):
        if n == 1:
            out.append(0)
        elif s % itemsize:
            return None
        else:
            out.append(s // itemsize)
    return out


def _layout(shape: tuple, xs):
    """(m, r, [per operand: (outer stride, varies along the row)]) with m == 1 for a flat loop, or None."""
    per = []
    for x in xs:
        st = _strides(x, shape, x.itemsize)
        if st is None:
            return None
        per.append(st)
    groups = []  # innermost first: [size, strides of the group's innermost axis]
    for d in range(len(shape) - 1, -1, -1):
        n = shape[d]
        if n == 1:
            continue
        if groups:
            size, inner = groups[-1]
            if all(p[d] == s * size for p, s in zip(per, inner)):
                groups[-1][0] = size * n
                continue
        groups.append([n, [p[d] for p in per]])
    if len(groups) > 2 or not groups:
        return None
    r, inner = groups[0]
    if any(s not in (0, 1) for s in inner):
        return None
    if len(groups) == 1:
        return 1, r, [(0, s) for s in inner]
    m, outer = groups[1]
    return m, r, list(zip(outer, inner))


def _run(fns, xs, shape, out_dtype, par):
    """The kernel's result for operands xs broadcast to `shape`, or None when the layout is not one it runs."""
    mode = 0
    for j, x in enumerate(xs):  # the common case first: each operand the whole contiguous shape, or one value
        if x.shape == shape and x.flags.c_contiguous:
            mode |= 1 << j
        elif x.size != 1:
            break
    else:
        out = buffers.empty(shape, out_dtype)
        fns[0](out.size, mode, par, *[x.ctypes.data for x in xs], out.ctypes.data)
        return out
    lay = _layout(shape, xs)
    if lay is None:
        return None
    m, r, per = lay
    out = buffers.empty(shape, out_dtype)
    mode = 0
    for j, (_, v) in enumerate(per):
        mode |= v << j
    ptrs = [x.ctypes.data for x in xs]
    if m == 1:
        fns[0](r, mode, par, *ptrs, out.ctypes.data)
    else:
        args = []
        for p, (s, _) in zip(ptrs, per):
            args += (p, s)
        fns[1](m, r, mode, par, *args, out.ctypes.data)
    return out


# *** the wrappers ***


# numpy runs these one element at a time (libm, or its own scalar loops); the kernels vectorise the tg_* ones
# of vmath.py and split all of them across cores, so they pay off early. numpy's arithmetic, compares, sqrt,
# floor, ... are SIMD loops already: only splitting a long one across cores beats them.
COSTLY = {"exp", "expm1", "log", "log1p", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid", "erf",
          "erfc", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "pow", "logaddexp", "fmod", "remainder",
          "gelu", "gelu_backward"}


def _family(prim) -> str:
    if prim.name == "where":
        return "select"
    return "costly" if prim.name in COSTLY else "fused" if prim.name in FUSED_VJPS else "cheap"


def _elementwise(prim, ref):
    """prim's eager impl: the kernel from LIMITS[family] elements, else (and for what it does not run) ref."""
    name, fam = prim.name, _family(prim)
    limits, parallel = LIMITS, PARALLEL
    to_bool = name in TO_BOOL
    chooser = BY_PARAM[name][0] if name in BY_PARAM else None  # the param that picks the template, if any
    ready: dict = {}  # (input numpy dtypes..., output numpy dtype, template params) -> (flat, rows), by the builder

    def impl(*xs, **params):
        n = max(x.size for x in xs)
        if n < limits[fam] or n == 0:
            return ref(*xs, **params)
        return kernel(xs, params)

    def unary(x):  # the common arities without *args / **params: small calls cost one size test more than numpy
        return ref(x) if x.size < limits[fam] else kernel((x,), {})

    def binary(x, y):
        lim = limits[fam]
        return ref(x, y) if x.size < lim and y.size < lim else kernel((x, y), {})

    def kernel(xs, params):
        if not min(x.size for x in xs):
            return ref(*xs, **params)
        xs = [x if type(x) is np.ndarray else np.asarray(x) for x in xs]
        out = params["dtype"].np if name == "cast" else BOOL if to_bool else xs[-1].dtype
        chosen = () if chooser is None else ((chooser, params[chooser]),)
        fast = (*[x.dtype for x in xs], out, chosen)  # numpy dtypes hash fast; their .name is a Python property
        fns = ready.get(fast)
        if fns is None:
            key = (name, tuple(x.dtype.name for x in xs), np.dtype(out).name, chosen)
            if not _disabled and key not in _state and key[2] in CTYPES and _accepts(name, key[1]):
                _request(key, ready, fast)
                fns = ready.get(fast)  # built now when SYNC
            if _news:
                _flush()
            if fns is None:
                return ref(*xs, **params)
        shape = xs[0].shape
        for x in xs[1:]:
            if x.shape != shape:
                shape = np.broadcast_shapes(*(x.shape for x in xs))
                break
        res = _run(fns, xs, shape, out, parallel[fam])
        return ref(*xs, **params) if res is None else res

    if chooser is None:  # the fast paths take no params
        impl = unary if prim.family == UNARY and name != "cast" else binary if prim.family == BINARY else impl
    impl.__name__ = f"{name}_c"
    impl.reference = ref
    return impl


def _reduction(name, ref):
    limits, parallel = LIMITS, PARALLEL
    ready: dict = {}  # numpy dtype -> the loaded kernel

    def impl(x, *, axes, keepdim):
        if x.size < limits["reduce"] or x.size == 0 or type(x) is not np.ndarray or not x.flags.c_contiguous:
            return ref(x, axes=axes, keepdim=keepdim)
        fns = ready.get(x.dtype)
        if fns is None:
            key = (name, (x.dtype.name,), x.dtype.name, ())
            if not _disabled and key not in _state and key[2] in FLOATS:
                _request(key, ready, x.dtype)
                fns = ready.get(x.dtype)
            if _news:
                _flush()
            if fns is None:
                return ref(x, axes=axes, keepdim=keepdim)
        shape = x.shape
        kept = [d for d in range(x.ndim) if shape[d] != 1]
        red = [d for d in kept if d in axes]
        if not red:  # only size-1 axes reduced: numpy (a reshaped copy)
            return ref(x, axes=axes, keepdim=keepdim)
        pos = [kept.index(d) for d in red]
        if pos[-1] - pos[0] != len(pos) - 1:  # reduced axes not adjacent
            return ref(x, axes=axes, keepdim=keepdim)
        m = math.prod(shape[d] for d in kept[: pos[0]])
        r = math.prod(shape[d] for d in red)
        k = math.prod(shape[d] for d in kept[pos[-1] + 1:])
        oshape = tuple(1 if d in axes else n for d, n in enumerate(shape)) if keepdim else \
            tuple(n for d, n in enumerate(shape) if d not in axes)
        out = buffers.empty(oshape, x.dtype)
        fns(m, r, k, parallel["reduce"], x.ctypes.data, out.ctypes.data)
        return out

    impl.__name__ = f"{name}_c"
    impl.reference = ref
    return impl


_move_ready: dict = {}  # numpy dtype -> the loaded move kernel (shared by the reshape and fold wrappers)
_tile_ready: dict = {}  # numpy dtype -> the loaded tile_argmax kernel


def _float_kernel(name, ready, dtype, out):
    """The loaded kernel `name` for dtype, or None (not float32 / float64, no compiler, or still building)."""
    fn = ready.get(dtype)
    if fn is None and dtype.name in FLOATS and not _disabled:
        key = (name, (dtype.name,), out or dtype.name, ())
        if key not in _state:
            _request(key, ready, dtype)
            fn = ready.get(dtype)
        if _news:
            _flush()
    return fn


def _move_kernel(dtype):
    return _float_kernel("move", _move_ready, dtype, None)


def _loops(shape, ss, ds, order) -> tuple:
    """(shape, src strides, dst strides) over the dims in `order` (outermost first), size-1 dims dropped and a dim
    merged into the next one in `order` where both strides let it (fewer, longer runs)."""
    dims = []
    for d in order:
        n = shape[d]
        if n == 1:
            continue
        if dims and dims[-1][1] == ss[d] * n and dims[-1][2] == ds[d] * n:
            dims[-1] = [dims[-1][0] * n, ss[d], ds[d]]
            continue
        dims.append([n, ss[d], ds[d]])
    return tuple(zip(*dims)) if dims else ((1,), (0,), (0,))


def _call_move(fn, x, out, shape, ss, ds, add) -> None:
    n = len(shape)
    arr = ctypes.c_long * n
    fn(n, arr(*shape), arr(*ss), arr(*ds), x.ctypes.data, out.ctypes.data, int(add), PARALLEL["move"])


def _elements(a: np.ndarray):
    """a's strides in elements, or None when one is not a whole number of them."""
    if any(s % a.itemsize for s in a.strides):
        return None
    return [s // a.itemsize for s in a.strides]


def _reshape(ref):
    """Reshape: a view where numpy makes one; a large strided array that must be copied is copied by the move
    kernel (the dims in the source's C order, so dst is written in sequence)."""

    def impl(x, *, shape):
        if x.size < LIMITS["move"] or type(x) is not np.ndarray or x.flags.c_contiguous:
            return ref(x, shape=shape)
        try:
            return np.reshape(x, shape, copy=False)
        except ValueError:  # numpy would copy
            pass
        fn, ss = _move_kernel(x.dtype), _elements(x)
        if fn is None or ss is None:
            return ref(x, shape=shape)
        loops = _loops(x.shape, ss, _c_elements(x.shape), range(x.ndim))
        if len(loops[0]) > MAX_DIMS:
            return ref(x, shape=shape)
        out = buffers.empty(x.shape, x.dtype)
        _call_move(fn, x, out, *loops, add=False)
        return out.reshape(shape)

    impl.__name__, impl.reference = "reshape_c", ref
    return impl


def _c_elements(shape) -> list:
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= n
    return out[::-1]


def _fold(ref):
    """Fold (col2im): zeros, then each window element of the (N, C, *O, *K) input added at its place. The loops
    follow the input's strides (largest first), so that the GEMM layout of conv's backward, (C, *K, N, *O), is read
    in sequence; threads split the outermost loop only when it is N or C (distinct images / channels never add
    into the same element)."""

    def impl(cols, *, size, kernel, stride, dilation):
        fn = _move_kernel(cols.dtype) if cols.size >= LIMITS["move"] and type(cols) is np.ndarray else None
        ss = _elements(cols) if fn is not None else None
        if ss is None:
            return ref(cols, size=size, kernel=kernel, stride=stride, dilation=dilation)
        nd = len(kernel)
        out = np.zeros(cols.shape[:2] + tuple(size), cols.dtype)
        ostr = _c_elements(out.shape)
        ds = ostr[:2] + [s * ostr[2 + j] for j, s in enumerate(stride)] + \
            [d * ostr[2 + j] for j, d in enumerate(dilation)]
        order = sorted(range(cols.ndim), key=lambda d: -abs(ss[d]))
        # the window dims' places in that order refilled with the kernel dims first, each group in its own order:
        # every output element then adds its windows in numpy's order (kernel offsets in scan order), bit for bit
        spots = [i for i, d in enumerate(order) if d >= 2]
        for i, d in zip(spots, list(range(2 + nd, 2 + 2 * nd)) + list(range(2, 2 + nd))):
            order[i] = d
        outer = next((d for d in order if cols.shape[d] != 1), 0)
        loops = _loops(cols.shape, ss, ds, order)
        if outer > 1 or (len(loops[0]) > 1 and loops[0][0] != cols.shape[outer]):
            # the first loop is a window dim (or merged with one): overlapping adds, so one thread
            loops = ((1,) + loops[0], (0,) + loops[1], (0,) + loops[2])
        if len(loops[0]) > MAX_DIMS or 2 + 2 * nd != cols.ndim:
            return ref(cols, size=size, kernel=kernel, stride=stride, dilation=dilation)
        _call_move(fn, cols, out, *loops, add=True)
        return out

    impl.__name__, impl.reference = "fold_c", ref
    return impl


def _tile_argmax(ref):
    """tile_argmax (max pooling's index) in one pass over x with a C kernel, threads splitting the planes, against
    numpy's knockout, a pass over x per kernel offset. One thread, CPU time, float32, the machine busy: W2's
    (64, 64, 24, 24) 2 x 2 pool 3.9 ms against 10-11; 4096 elements 0.02 against 0.13 ms; level at 1024 (0.11)."""

    def impl(x, *, kernel):
        nd = len(kernel)
        fn = _float_kernel("tile_argmax", _tile_ready, x.dtype, "int64") \
            if x.size >= LIMITS["pool"] and type(x) is np.ndarray and nd <= TILE_DIMS and \
            math.prod(x.shape[2:]) < 2**31 else None
        if fn is None:
            return ref(x, kernel=kernel)
        x = np.ascontiguousarray(x)
        pad = (1,) * (TILE_DIMS - nd)
        outs = tuple(n // k for n, k in zip(x.shape[2:], kernel))
        out = np.empty(x.shape[:2] + outs, np.int64)
        arr = ctypes.c_long * TILE_DIMS
        fn(x.shape[0] * x.shape[1], arr(*(pad + x.shape[2:])), arr(*(pad + tuple(kernel))), arr(*(pad + outs)),
           x.ctypes.data, out.ctypes.data, PARALLEL["pool"])
        return out

    impl.__name__, impl.reference = "tile_argmax_c", ref
    return impl


_impls: dict = {}


def impls(reference: dict) -> dict:
    """primitive name -> eager impl for every elementwise primitive with a C template and sum / amax; `reference`
    is the numpy backend's table, which each impl falls back on. Made once per process: the kernels an impl has
    loaded stay with it when install_eager switches backends back and forth."""
    if not _impls:
        _impls.update(_make_impls(reference))
    return _impls


# *** backward kernels as one loop: the C backend's eager_vjps ***
# numpy's backward kernel for sigmoid (backends/numpy.py VJPS) is g * (out * (1 - out)) in three array operations,
# three passes over memory; here it is one loop of the same arithmetic (PyTorch's sigmoid_backward). Kernel name ->
# C template over g = {0} and the primitive's saved output {1}. The names are not primitives: "vjp:" + primitive.
FUSED_VJPS = {"vjp:sigmoid": "({0} * ({1} * (1 - {1})))", "vjp:tanh": "({0} * (1 - {1} * {1}))"}


def _expr(e, args: list) -> str:
    return FUSED_VJPS[e.prim.name].format(*args)


class _Loop:
    """What _elementwise reads of a primitive, for a kernel that is not one (FUSED_VJPS)."""

    family = BINARY

    def __init__(self, name: str):
        self.name = name


_vjps: dict = {}


def vjps(reference: dict) -> dict:
    """primitive name -> backward kernel (backends/numpy.py VJPS says what one receives) for the primitives of
    FUSED_VJPS, each falling back on `reference` (numpy's VJPS) below its size limit and for what it does not run.
    Made once per process, as impls()."""
    if not _vjps:
        for kernel in FUSED_VJPS:
            name = kernel.split(":", 1)[1]
            _vjps[name] = _output_vjp(_elementwise(_Loop(kernel), _vjp_reference(reference[name])), reference[name])
    return _vjps


def _vjp_reference(vjp):
    return lambda g, out: vjp(g, None, out, (True,))[0]


def _output_vjp(loop, reference):
    """The backward kernel of a unary primitive whose vjp reads only g and its output: the loop, or below its size
    limit numpy's vjp `reference` itself (the loop's own test would get there through two more calls)."""
    limits = LIMITS

    def vjp(g, x, out, needs):
        if g.size < limits["fused"]:
            return reference(g, x, out, needs)
        return (loop(g, out),)

    return vjp


def _make_impls(reference: dict) -> dict:
    from ...primitives import PRIMITIVES
    from .scalar import has_template

    out = {}
    for name, prim in PRIMITIVES.items():
        if prim.family in (UNARY, BINARY, SELECT) and prim.fusable and has_template(name) and name in reference:
            out[name] = _elementwise(prim, reference[name])
    for name in REDUCTIONS:
        out[name] = _reduction(name, reference[name])
    out["reshape"] = _reshape(reference["reshape"])
    out["fold"] = _fold(reference["fold"])
    out["tile_argmax"] = _tile_argmax(reference["tile_argmax"])
    return out


def cost_of_first_build(name: str = "tanh", dtype: str = "float32") -> float:
    """Seconds to compile one eager kernel from source (no cache): what a first process pays, in the background."""
    import tempfile
    import time

    from ...primitives import PRIMITIVES
    from ...primitives.base import BINARY

    cc = compiler.compiler()
    key = (name, (dtype,) * (2 if PRIMITIVES[name].family == BINARY else 1), dtype, ())
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        compiler._compile_into(source(key), cc, os.path.join(tmp, "k.so"), "k", compiler.entry(source(key), cc)[2])
        return time.perf_counter() - t0

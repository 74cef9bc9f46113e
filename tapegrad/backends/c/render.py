"""Kernel -> C source: one function per fused kernel, from an op -> C-expression table.

Depends on passes/fuse.py (the Kernel). Every kernel is `void kN(void **a)`: a[0..] are its loaded
buffers then its output buffers, all C-contiguous. Shapes are compile-time constants, so index
arithmetic folds; loops are split across cores (OpenMP) when they are large enough.
"""

from __future__ import annotations

import math

import numpy as np

from ...passes.fuse import CTYPES, reduce_mode

PARALLEL_MIN = 1 << 15  # elements below which a loop runs on one core (thread start-up costs more)

PRELUDE = """#include <math.h>
#include <stdint.h>
static inline float tg_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline double tg_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static inline float tg_remf(float a, float b) { float r = fmodf(a, b); return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }
static inline double tg_rem(double a, double b) { double r = fmod(a, b); return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }
"""

# name -> C template over {0}, {1}, {2}; "{f}" is the float32 suffix of libm ("f" for float, "" for double)
MATH = {"exp": "exp{f}({0})", "expm1": "expm1{f}({0})", "log": "log{f}({0})", "log1p": "log1p{f}({0})",
        "sqrt": "sqrt{f}({0})", "sin": "sin{f}({0})", "cos": "cos{f}({0})", "tan": "tan{f}({0})",
        "asin": "asin{f}({0})", "acos": "acos{f}({0})", "atan": "atan{f}({0})", "sinh": "sinh{f}({0})",
        "cosh": "cosh{f}({0})", "tanh": "tanh{f}({0})", "asinh": "asinh{f}({0})", "acosh": "acosh{f}({0})",
        "atanh": "atanh{f}({0})", "erf": "erf{f}({0})", "erfc": "erfc{f}({0})", "floor": "floor{f}({0})",
        "ceil": "ceil{f}({0})", "round": "nearbyint{f}({0})", "trunc": "trunc{f}({0})", "pow": "pow{f}({0}, {1})",
        "atan2": "atan2{f}({0}, {1})", "fmod": "fmod{f}({0}, {1})", "sigmoid": "tg_sigmoid{f}({0})",
        "remainder": "tg_rem{f}({0}, {1})", "isnan": "({0} != {0})", "isinf": "(isinf({0}) != 0)"}
PLAIN = {"neg": "(-{0})", "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "div": "({0} / {1})",
         "eq": "({0} == {1})", "ne": "({0} != {1})", "lt": "({0} < {1})", "le": "({0} <= {1})", "gt": "({0} > {1})",
         "ge": "({0} >= {1})", "bitwise_and": "({0} & {1})", "bitwise_or": "({0} | {1})", "bitwise_xor": "({0} ^ {1})",
         "where": "({0} ? {1} : {2})",
         # NaN propagates through maximum/minimum as in numpy
         "maximum": "(({0} != {0} || {0} > {1}) ? {0} : {1})", "minimum": "(({0} != {0} || {0} < {1}) ? {0} : {1})",
         "sign": "(({0} > 0) ? 1 : (({0} < 0) ? -1 : {0}))"}


def expr(e, args: list) -> str:
    """The C expression of one elementwise equation over the C expressions of its inputs."""
    name, out = e.prim.name, e.outputs[0].dtype.name
    if name == "cast":
        src = e.inputs[0].dtype.name
        if out == "bool":
            return f"({args[0]} != 0)"
        return f"(({CTYPES[out]}){args[0]})" if src != "bool" else f"(({CTYPES[out]})({args[0]} != 0))"
    if name == "abs":
        return f"fabs{'f' if out == 'float32' else ''}({args[0]})" if out.startswith("float") else \
            f"(({args[0]}) < 0 ? -({args[0]}) : ({args[0]}))"
    if name == "bitwise_not":
        return f"(!{args[0]})" if out == "bool" else f"(~{args[0]})"
    if name in ("isnan", "isinf"):
        return MATH[name].format(*args)
    if name in MATH:
        return MATH[name].format(*args, f="f" if out == "float32" else "")
    return PLAIN[name].format(*args)


def literal(c: np.ndarray, dtype: str) -> str:
    x = c[(0,) * c.ndim].item()
    if dtype.startswith("float"):
        x = float(x)
        if math.isnan(x):
            return "NAN"
        if math.isinf(x):
            return "INFINITY" if x > 0 else "(-INFINITY)"
        return repr(x) + ("f" if dtype == "float32" else "")
    if dtype == "bool":
        return "1" if x else "0"
    return f"(({CTYPES[dtype]}){int(x)}LL)"


def is_literal(v) -> bool:
    c = v.const
    return c is not None and c.size >= 1 and (c.size == 1 or not any(c.strides))


def _index(shape, lshape) -> str:
    """The offset into a C-contiguous array of shape `lshape` broadcast (right-aligned) against loop `shape`."""
    size = int(np.prod(lshape, dtype=np.int64))
    if tuple(lshape) == tuple(shape):
        return "i"
    if size == 1:
        return "0"
    pad = (1,) * (len(shape) - len(lshape)) + tuple(lshape)
    lstrides = [int(np.prod(pad[d + 1:], dtype=np.int64)) for d in range(len(pad))]
    terms = []
    for d, (n, m) in enumerate(zip(shape, pad)):
        if m == 1:
            continue
        inner = int(np.prod(shape[d + 1:], dtype=np.int64))
        t = f"(i / {inner}L)" if inner != 1 else "i"
        if d > 0:
            t = f"({t} % {n}L)"
        terms.append(f"{t} * {lstrides[d]}L")
    return " + ".join(terms)


def render(kernel, name: str):
    """(C source of the kernel function, list of loaded Vars in argument order)."""
    shape = kernel.shape
    n = int(np.prod(shape, dtype=np.int64))
    args, names, decls = [], {}, []
    for vid, (v, lshape) in kernel.loads.items():
        if is_literal(v):
            names[vid] = literal(v.const, v.dtype.name)
            continue
        j = len(args)
        args.append(v)
        decls.append(f"    const {CTYPES[v.dtype.name]} *restrict in{j} = (const {CTYPES[v.dtype.name]} *)a[{j}];")
        names[vid] = f"in{j}[{_index(shape, lshape)}]"
    outs = kernel.outputs
    for j, v in enumerate(outs):
        decls.append(f"    {CTYPES[v.dtype.name]} *restrict out{j} = ({CTYPES[v.dtype.name]} *)a[{len(args) + j}];")
    body = []
    for e in kernel.members:
        v = e.outputs[0]
        names[v.id] = f"t{len(body)}"
        body.append(f"{CTYPES[v.dtype.name]} t{len(body)} = {expr(e, [names[u.id] for u in e.inputs])};")
    out_index = {v.id: j for j, v in enumerate(outs)}
    for e in kernel.members:
        v = e.outputs[0]
        if v.id in out_index:
            body.append(f"out{out_index[v.id]}[i] = {names[v.id]};")
    comment = f"/* {name}: fuses {' '.join(kernel.prims)} over {list(shape)} */"
    par = f"if({n} >= {PARALLEL_MIN})"
    lines = [comment, f"void {name}(void **a) {{", *decls]
    red = kernel.reduce
    if red is None:
        lines += [f"    #pragma omp parallel for simd {par}", f"    for (long i = 0; i < {n}L; i++) {{",
                  *("        " + b for b in body), "    }"]
    else:
        src = names[red.inputs[0].id]
        rj = out_index.get(red.outputs[0].id)
        rtype = CTYPES[red.outputs[0].dtype.name]
        mode = reduce_mode(shape, red.params["axes"])
        axes = range(len(shape)) if mode == "all" else red.params["axes"]
        r = int(np.prod([shape[a] for a in axes], dtype=np.int64))
        m = n // r if r else 0
        store = (lambda idx, val: f"out{rj}[{idx}] = ({rtype})({val});") if rj is not None else (lambda idx, val: "")
        inner = [*body, f"acc += (double){src};"]
        if mode == "all":
            lines += ["    double acc = 0;", f"    #pragma omp parallel for reduction(+:acc) {par}",
                      f"    for (long i = 0; i < {n}L; i++) {{", *("        " + b for b in inner), "    }",
                      "    " + store(0, "acc")]
        elif mode == "suffix":
            lines += [f"    #pragma omp parallel for {par}", f"    for (long o = 0; o < {m}L; o++) {{",
                      "        double acc = 0;", f"        for (long r = 0; r < {r}L; r++) {{",
                      f"            long i = o * {r}L + r;", *("            " + b for b in inner), "        }",
                      "        " + store("o", "acc"), "    }"]
        else:  # prefix: blocks of 64 output columns, rows streamed in order
            binner = [b.replace("acc +=", "acc[j] +=") for b in inner]
            lines += [f"    #pragma omp parallel for {par}", f"    for (long o0 = 0; o0 < {m}L; o0 += 64) {{",
                      f"        long w = {m}L - o0 < 64 ? {m}L - o0 : 64;", "        double acc[64] = {0};",
                      f"        for (long r = 0; r < {r}L; r++) {{", "            for (long j = 0; j < w; j++) {",
                      f"                long i = r * {m}L + o0 + j;", *("                " + b for b in binner),
                      "            }", "        }", "        for (long j = 0; j < w; j++) { " + store("o0 + j", "acc[j]")
                      + " }", "    }"]
    lines.append("}")
    return "\n".join(lines) + "\n", args

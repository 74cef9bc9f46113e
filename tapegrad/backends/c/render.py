"""Kernel -> C source: one function per fused kernel, from an op -> C-expression table.

Depends on passes/fuse.py (the Kernel). Every kernel is `void kN(void **a)`: a[0..] are its loaded
buffers then its output buffers, all C-contiguous. Shapes are compile-time constants, so index
arithmetic folds; loops are split across cores (OpenMP) when they are large enough.
"""

from __future__ import annotations

import numpy as np

from ...passes.fuse import CTYPES, reduce_mode
from .scalar import PRELUDE, expr, is_literal, literal  # noqa: F401  (PRELUDE: plan.py reads it here)

PARALLEL_MIN = 1 << 15  # elements below which a loop runs on one core (thread start-up costs more)


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

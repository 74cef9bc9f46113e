"""Matrix-vector products that share their matrix, as one C loop over the matrix (a pass of the C plan).

Forward-over-reverse code multiplies one matrix by several vectors: `jvp(grad(f))` of f(x) = g(W @ x) computes
W @ x and the tangent W @ v (W6, the Hessian-vector product). BLAS reads the matrix once per product, and a
matrix-vector product is bound by that read (W6's 512x512 float32 W is 1 MB: one pass over it is most of a
product's time). `share_matrix(items)` replaces the products of one matrix by column vectors with one
`MatvecKernel`, which reads each row of the matrix once and accumulates its dot product with every vector.
(One BLAS matmul of W by the vectors stacked as columns is no answer: OpenBLAS's GEMM packs W first, and measured
slower here than the separate products: 67 against 40 us for two products with a 512x512 W, one thread.)

The products are merged only where nothing changes but the speed:
- the matrix is 2-d float32 / float64, a graph input or a value the plan writes into its own buffer (never a
  view, which would have to be copied into a contiguous array on every call), and each vector is (k, 1) of the
  same dtype;
- the merged kernel stands where the first product stood, so every vector must be defined before it (W6's x and
  v are: W @ tanh(W @ x) is not merged, its vector needs the first product).
The dot products are summed in float32 for float32, in vector lanes then across them, as BLAS's kernels do:
the results agree with BLAS's to rounding, not bit for bit.

The loop runs on one core. Split across both cores with OpenMP, between BLAS calls that run on OpenBLAS's threads,
W6 took 0.44 ms a call against 0.28 ms without the merge (medians of 60 samples interleaved in one process; the
two thread pools fight for the cores). On one core,
`python -m benchmarks.cpu_time W6 c` in alternating processes, before (bb42b93) and after, on a busy machine: medians
0.100 / 0.130 / 0.233 / 0.124 ms before, 0.088 / 0.153 / 0.110 / 0.091 ms after (minima 0.100-0.164 against
0.085-0.105).
"""

from __future__ import annotations

from dataclasses import dataclass

from .lower import LibraryKernel, identity
from .scalar import CTYPES

MAX_VECTORS = 4  # vectors per merged kernel: each needs an accumulator per row of the block in registers
ROWS = 4  # rows of the matrix per step of the loop: ROWS x vectors independent sums keep the FMA units busy


@dataclass
class MatvecKernel(LibraryKernel):
    """out_j = A @ b_j for one (m, k) matrix A and column vectors b_j (k, 1): `eqns` are the matmuls it replaces."""

    eqns: tuple = ()

    @property
    def prims(self) -> list:
        return ["matmul"] * len(self.eqns)

    def render(self, name: str) -> tuple:
        a = self.views[0].base
        m, k = (int(n) for n in a.shape)
        t = CTYPES[a.dtype.name]
        nv = len(self.outputs)
        decls = [f"    const {t} *restrict in{j} = (const {t} *)a[{j}];" for j in range(nv + 1)]
        decls += [f"    {t} *restrict out{j} = ({t} *)a[{nv + 1 + j}];" for j in range(nv)]
        sums = [f"s{r}_{j}" for r in range(ROWS) for j in range(nv)]
        block = [
            f"for (long i = 0; i < {m // ROWS * ROWS}L; i += {ROWS}) {{",
            f"    {t} {', '.join(s + ' = 0' for s in sums)};",
            f"    #pragma omp simd reduction(+:{','.join(sums)})",
            f"    for (long j = 0; j < {k}L; j++) {{",
            *(f"        {t} a{r} = in0[(i + {r}) * {k}L + j];" for r in range(ROWS)),
            *(f"        s{r}_{j} += a{r} * in{j + 1}[j];" for r in range(ROWS) for j in range(nv)),
            "    }",
            *(f"    out{j}[i + {r}] = s{r}_{j};" for r in range(ROWS) for j in range(nv)),
            "}",
            f"for (long i = {m // ROWS * ROWS}L; i < {m}L; i++) {{",  # the rows left over
            f"    {t} {', '.join(f's{j} = 0' for j in range(nv))};",
            f"    #pragma omp simd reduction(+:{','.join(f's{j}' for j in range(nv))})",
            f"    for (long j = 0; j < {k}L; j++) {{",
            *(f"        s{j} += in0[i * {k}L + j] * in{j + 1}[j];" for j in range(nv)),
            "    }",
            *(f"    out{j}[i] = s{j};" for j in range(nv)),
            "}",
        ]
        comment = f"/* {name}: {nv} products of one {m}x{k} {a.dtype.name} matrix by vectors, one pass over it */"
        lines = [comment, f"void {name}(void **a) {{", *decls, *("    " + b for b in block), "}"]
        return "\n".join(lines) + "\n", self.args


def _candidate(x, is_view) -> bool:
    """A float matmul of a 2-d matrix that is not a view by a (k, 1) column vector of the same dtype."""
    if getattr(x, "prim", None) is None or x.prim.name != "matmul":
        return False
    a, b = x.inputs
    out = x.outputs[0]
    return (out.dtype.name in ("float32", "float64") and a.dtype is out.dtype and b.dtype is out.dtype
            and len(a.shape) == 2 and tuple(b.shape) == (a.shape[1], 1) and not is_view(a))


def _root(v, made, is_view):
    """v itself, or the value a chain of reshapes made v from when that value is no view: a reshape of a
    contiguous array has the same elements in the same order, so the kernel reads the root and the reshape
    steps (a Python call each, on every call of the plan) can go."""
    while v.id in made and getattr(made[v.id], "prim", None) is not None and made[v.id].prim.name == "reshape":
        src = made[v.id].inputs[0]
        if is_view(src):
            break
        v = src
    return v


def share_matrix(items: list, is_view) -> list:
    """The items with the matmuls of one matrix by column vectors merged into MatvecKernels (see the module
    docstring). `is_view(var)`: whether the plan stores var as a view of another value. The caller drops the
    items nobody reads any more (the reshapes of the vectors, see `_root`)."""
    defined = {v.id: i for i, x in enumerate(items) for v in x.outputs}
    made = {v.id: x for x in items for v in x.outputs}
    groups: dict = {}  # matrix Var id -> the positions of its products, in order
    for i, x in enumerate(items):
        if _candidate(x, is_view):
            groups.setdefault(x.inputs[0].id, []).append(i)
    replace, drop = {}, set()
    for positions in groups.values():
        while len(positions) > 1:
            first, rest = positions[0], positions[1:]
            # vectors defined before the first product (graph inputs and constants are: not in `defined`)
            joined = [first] + [p for p in rest if defined.get(items[p].inputs[1].id, -1) < first][:MAX_VECTORS - 1]
            if len(joined) > 1:
                eqns = tuple(items[p] for p in joined)
                a = eqns[0].inputs[0]
                views = [identity(a)] + [identity(_root(e.inputs[1], made, is_view)) for e in eqns]
                replace[first] = MatvecKernel("matvec", eqns[0], views, [e.outputs[0] for e in eqns], eqns=eqns)
                drop.update(joined[1:])
            positions = [p for p in positions if p not in joined]
    if not replace:
        return items
    return [replace.get(i, x) for i, x in enumerate(items) if i not in drop]

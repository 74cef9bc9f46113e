"""Every fused kernel that tests/trace produces, as CUDA: compiled by NVRTC (sm_80, sm_90) and run emulated on the
CPU against numpy. Not part of the suite (it runs tests/trace inside itself, a few minutes); run it by hand:

    PYTHONPATH=. python tests/backends/cuda_trace_kernels.py

It wraps the C renderer so that each kernel the C plans render while tests/trace runs on the C backend is kept,
then checks them all as tests/backends/test_cuda.py checks its own graphs, and prints the counts.
"""

import importlib.util
import pathlib
import sys
import tempfile

import numpy as np
import pytest

HERE = pathlib.Path(__file__).resolve().parent


def main() -> int:
    from tapegrad.backends.c import render as c_render
    from tapegrad.backends.cuda import emulate, nvrtc
    from tapegrad.backends.cuda import render as cu_render

    seen, kernels = set(), []
    original = c_render.render

    def keep(kernel, name):
        src, args = original(kernel, name)
        if src not in seen:
            seen.add(src)
            kernels.append(kernel)
        return src, args

    c_render.render = keep
    rc = pytest.main(["-p", "no:cacheprovider", "-q", "-x", str(HERE.parent / "trace")])
    c_render.render = original
    if rc not in (0, 5):
        print(f"tests/trace failed (exit {rc})")
        return 1
    spec = importlib.util.spec_from_file_location("_test_cuda", HERE / "test_cuda.py")
    tc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tc)
    cks = [cu_render.render(k, f"k{j}") for j, k in enumerate(kernels)]
    source = cu_render.module_source(cks)
    for arch in ("sm_80", "sm_90"):
        nvrtc.compile(source, arch)  # raises on any error or warning
    lib = emulate.build(cks, tempfile.mkdtemp())
    bad = 0
    for j, (ck, k) in enumerate(zip(cks, kernels)):
        arrays = tc._inputs(k, np.random.default_rng(j))
        got = emulate.run(lib, ck, [arrays[next(vid for vid, (u, _) in k.loads.items() if u is v)] for v in ck.args])
        for g, w, v in zip(got, tc._numpy(k, arrays), k.outputs):
            try:
                np.testing.assert_allclose(g, w, equal_nan=True, **tc.TOL.get(v.dtype.name, {"rtol": 0, "atol": 0}))
            except AssertionError as exc:
                bad += 1
                print(f"kernel {j} ({' '.join(k.prims)} over {list(k.shape)}): {str(exc)[:300]}")
    layouts = {}
    for k in kernels:
        layouts[cu_render.layout(k)] = layouts.get(cu_render.layout(k), 0) + 1
    print(f"{len(kernels)} distinct fused kernels from tests/trace ({layouts}): NVRTC sm_80 and sm_90 clean; "
          f"emulated: {len(kernels) - bad} match numpy, {bad} do not")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

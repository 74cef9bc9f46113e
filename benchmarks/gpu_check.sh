#!/usr/bin/env bash
# The CUDA backend on a GPU, in one run of at most 8 minutes: bash benchmarks/gpu_check.sh (from the repository root).
#
# 1. installs tapegrad[cuda] (CuPy with its CUDA 13 libraries, NVRTC) unless CuPy already imports or
#    GPU_CHECK_NO_INSTALL is set (PYTHON names the interpreter, default python3);
# 2. runs tests/backends/test_cuda.py, whose GPU tests launch every fused kernel of its graphs and run every graph
#    through the cuda plan, against numpy (they are skipped on machines without a GPU);
# 3. reruns tests/trace on the cuda backend (TAPEGRAD_BACKEND=cuda) against the same numpy/eager references as
#    on C. The op suite (tests/ops) is eager: tapegrad's tensors stay in host memory in this build, so it has no
#    CUDA run;
# 4. runs benchmarks/gpu_bench.py: W1, W3 (64M floats), W5 (8192^2 fp32/tf32/bf16) for tapegrad compiled and the
#    installed peers (PyTorch eager, torch.compile, jax.jit), and prints a table.
# Every stage has its own time limit; a stage that fails is reported and the next one still runs.
# Not yet run anywhere (it was written without a GPU): see docs/cuda.md.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
START=$SECONDS
STATUS=0
left() { echo $(( 470 - (SECONDS - START) )); }
stage() { echo; echo "=== $1 ($(( SECONDS - START )) s elapsed) ==="; }

stage "GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "nvidia-smi failed"

stage "install"
if [ -z "${GPU_CHECK_NO_INSTALL:-}" ] && ! $PY -c "import cupy, cuda.bindings.nvrtc" 2>/dev/null; then
    timeout 150 $PY -m pip install -q -e ".[cuda]" pytest hypothesis || echo "pip install failed (offline?)"
fi
$PY - <<'PYEOF' || exit 1
import sys, tapegrad as tg
why = tg.cuda.backend_problem()
print("tapegrad", tg.__version__ if hasattr(tg, "__version__") else "", "from", tg.__file__)
if why:
    print("the cuda backend cannot run here:", why)
    sys.exit(1)
import cupy
print("CuPy", cupy.__version__, "device", cupy.cuda.Device().compute_capability, "GPUs:", tg.cuda.device_count())
PYEOF

stage "tests/backends/test_cuda.py (GPU tests included)"
timeout $(( $(left) > 150 ? 150 : $(left) )) $PY -m pytest -p no:cacheprovider -rs tests/backends/test_cuda.py || STATUS=1

stage "tests/trace on TAPEGRAD_BACKEND=cuda"
TAPEGRAD_BACKEND=cuda timeout $(( $(left) > 120 ? 120 : $(left) )) $PY -m pytest -p no:cacheprovider tests/trace \
    --maxfail=25 --tb=line || STATUS=1

stage "benchmarks (W1, W3, W5)"
timeout $(( $(left) > 20 ? $(left) : 20 )) $PY -m benchmarks.gpu_bench || STATUS=1

stage "done in $(( SECONDS - START )) s, status $STATUS"
exit $STATUS

"""How much of PyTorch's public API tapegrad has: `python -m tapegrad.coverage [--missing]` (needs torch).

For each namespace (torch, torch.Tensor, torch.nn.functional, torch.nn, torch.linalg, torch.special) it lists
the public names and whether tapegrad's counterpart (tg, tg.Tensor, tg.nn.functional, ...) has them. Names that
do not apply to a CPU framework without complex numbers, sparse or quantized tensors are left out (see
_NOT_APPLICABLE); the counts are of what is left.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import types

# torch namespace -> tapegrad's (attribute path from the tapegrad package; "" is tg itself)
NAMESPACES = {
    "torch": "",
    "torch.Tensor": "Tensor",
    "torch.nn.functional": "nn.functional",
    "torch.nn": "nn",
    "torch.linalg": "linalg",
    "torch.special": "special",
}

# NOTE: one pattern per reason, so that a reader can check what is excluded and why
_NOT_APPLICABLE = [
    r"complex|cfloat|cdouble|chalf|conj|\breal\b|^imag$|angle|polar|view_as_real|is_neg\b|resolve_neg",  # complex
    r"sparse|coo|csr|csc|bsr|bsc|to_dense|_nnz|indices$|crow|ccol|col_indices|row_indices|coalesce",  # sparse
    r"quant|qint|quint|qscheme|q_scale|q_zero|q_per_channel|int_repr|dequantize|fake_quant|fbgemm",  # quantized
    r"cuda|cudnn|miopen|mkldnn|mkl|mps|xpu|vulkan|hip|ipu|xla|lazy|meta|mtia|hpu|pin_memory|is_pinned|"
    r"record_stream|share_memory|is_shared|storage|untyped|data_ptr|nested|float8|float4|int1|int2|int3|int4|"
    r"int5|int6|int7|uint1|uint2|uint3|uint4|uint5|uint6|uint7|bits|float8|e4m3|e5m2|e8m0|named|names|"
    r"refine_names|rename|align_to|align_as|has_names|ipc|dlpack|jit|fx|onnx|compiler|export|package|library|"
    r"overrides|classes|ops$|backends|distributed|hub|profiler|testing|utils$|futures|monitor|multiprocessing|"
    r"signal|masked|sym_|Sym|typename|autocast|vmap$|func$|accelerator|mtia|_C$|version|torch_version|"
    r"Storage$|Generator$|DispatchKey|Stream|Event|Size$|layout|strided|channels_last|memory_format|"
    r"contiguous_format|preserve_format|device$|get_device|set_device|TypedStorage|UntypedStorage|GradScaler|"
    r"amp$|scaled_mm|grouped_mm|Swizzle|ScalingType",  # device/internal
]
_SKIP = re.compile("|".join(f"(?:{p})" for p in _NOT_APPLICABLE), re.IGNORECASE)


_INTERNAL_MODULES = ("torch._C", "torch.jit", "torch._jit_internal", "typing", "torch.types", "torch._tensor_docs")
_LEGACY = re.compile(r"^[A-Z][A-Za-z0-9]*Tensor$")  # FloatTensor, LongTensor, ...: legacy constructors


def _applies(namespace, name, value) -> bool:
    if name.startswith("_") or _SKIP.search(name) or _LEGACY.match(name):
        return False
    if isinstance(value, types.ModuleType):
        return False  # submodules are namespaces of their own (or internals)
    if namespace == "torch.Tensor":
        return True  # methods and properties
    if isinstance(value, type):  # a class: TorchScript's (pybind11) and typing's types are internals
        module = str(getattr(value, "__module__", ""))
        if "pybind11" in type(value).__module__ or module.startswith(_INTERNAL_MODULES):
            return False
        return namespace == "torch" or module.startswith(namespace)  # not a class merely imported there
    if callable(value):
        return not str(getattr(value, "__module__", "") or "").startswith(("typing", "torch._jit_internal"))
    import torch

    return isinstance(value, torch.dtype)  # of the plain values, only dtypes are API (not flags or doc strings)


def torch_names(namespace: str) -> list:
    """Public names of a torch namespace that apply to tapegrad."""
    obj = _resolve_torch(namespace)
    return sorted({name for name in dir(obj) if _applies(namespace, name, getattr(obj, name, None))})


def _resolve_torch(namespace: str):
    if namespace == "torch.Tensor":
        import torch

        return torch.Tensor
    return importlib.import_module(namespace)


def _resolve_tapegrad(path: str):
    import tapegrad

    if path == "Tensor":  # an instance: properties and attributes set in __init__ (dtype) count too
        return tapegrad.zeros(2, 2)
    obj = tapegrad
    for part in filter(None, path.split(".")):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _has(obj, name) -> bool:
    try:
        return hasattr(obj, name)
    except Exception:  # a property that exists but refuses this sample tensor
        return True


def report(namespaces=NAMESPACES) -> dict:
    """{torch namespace: (names tapegrad has, names it lacks)}."""
    out = {}
    for ns, ours in namespaces.items():
        target = _resolve_tapegrad(ours)
        names = torch_names(ns)
        have = [n for n in names if target is not None and _has(target, n)]
        out[ns] = (have, [n for n in names if n not in have])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tapegrad.coverage", description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list the names tapegrad lacks")
    parser.add_argument("--present", action="store_true", help="list the names tapegrad has")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("tapegrad.coverage compares with PyTorch's API: install torch first", file=sys.stderr)
        return 1
    results = report()
    total_have = total = 0
    print(f"{'namespace':<22} {'has':>5} / {'of':>5}   share")
    for ns, (have, missing) in results.items():
        n = len(have) + len(missing)
        total_have, total = total_have + len(have), total + n
        print(f"{ns:<22} {len(have):>5} / {n:>5}   {100 * len(have) / max(n, 1):5.1f}%")
        if args.present:
            print("  has: " + " ".join(have))
        if args.missing and missing:
            print("  missing: " + " ".join(missing))
    print(f"{'all':<22} {total_have:>5} / {total:>5}   {100 * total_have / max(total, 1):5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())

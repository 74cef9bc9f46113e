"""tg.compile: torch.compile's spelling of tg.jit, for functions and Modules.

torch.compile's tuning knobs (mode, dynamic, fullgraph, options) have no counterpart here and are accepted and
ignored; `backend` picks a tapegrad backend ("c", "numpy") and PyTorch's own names ("inductor", "eager",
"aot_eager") mean the default one.
"""

from __future__ import annotations

_TORCH_BACKENDS = ("inductor", "eager", "aot_eager", "cudagraphs")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            disable=False):  # noqa: A001  (tg.compile, as torch.compile)
    """Trace model (a function or an nn.Module) into a graph on first call per signature, as tg.jit does.

    A Module comes back as a Module whose forward runs the traced graph (its parameters are the original
    module's, under `_orig_mod`, as in PyTorch); one trace is kept per train / eval mode.

    >>> import tapegrad as tg
    >>> f = tg.compile(lambda x: (x * x).sum())
    >>> f(tg.tensor([1.0, 2.0]))
    tensor(5.)
    """
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, disable=disable)
    if disable:
        return model
    ours = None if backend in _TORCH_BACKENDS or callable(backend) else backend
    from ..nn.module import Module

    if isinstance(model, Module):
        return _compiled_module(model, ours)
    from .function import jit

    return jit(model, backend=ours)


def _compiled_module(module, backend):
    from ..nn.module import Module
    from .function import jit

    class OptimizedModule(Module):
        """module with a traced forward; attributes not found here are looked up on the original."""

        def __init__(self):
            super().__init__()
            self._orig_mod = module
            # NOTE: one trace per mode: train() / eval() change what forward does (dropout, batch norm)
            object.__setattr__(self, "_traced", {})

        def forward(self, *args, **kwargs):
            mode = self._orig_mod.training
            if mode not in self._traced:
                self._traced[mode] = jit(self._orig_mod, backend=backend)
            return self._traced[mode](*args, **kwargs)

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(self._orig_mod, name)

    return OptimizedModule()

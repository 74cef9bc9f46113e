"""JAX's configuration spelling of anomaly mode (autograd/anomaly.py): `tg.func.config.update("jax_debug_nans",
True)`, reading `tg.func.config.jax_debug_nans`, and the `debug_nans` / `debug_infs` context managers.

As in JAX, debug_nans checks for NaN and debug_infs for Inf. Unlike JAX's process-wide flags, these are per thread,
like grad mode.
"""

from __future__ import annotations

from ..autograd.anomaly import AnomalySetting, set_anomaly_fields
from ..autograd.grad_mode import ANOMALY

_OPTIONS = {"jax_debug_nans": "debug_nans", "jax_debug_infs": "debug_infs"}  # option -> anomaly state field


def _field(name: str) -> str:
    if name not in _OPTIONS:
        raise AttributeError(f"Unrecognized config option: {name!r}; tapegrad's are {', '.join(_OPTIONS)}")
    return _OPTIONS[name]


class Config:
    """jax.config: `update(option, value)`, and each option read as an attribute."""

    def update(self, name: str, value) -> None:
        set_anomaly_fields(**{_field(name): bool(value)})

    def __getattr__(self, name: str):
        return getattr(ANOMALY, _field(name))


config = Config()


def debug_nans(new_val: bool = True) -> AnomalySetting:
    """`with tg.func.debug_nans(True):` (jax.debug_nans): a forward op or backward rule that makes NaN raises
    AnomalyError naming the primitive and the user's line; the previous setting comes back on exit."""
    return AnomalySetting(debug_nans=bool(new_val))


def debug_infs(new_val: bool = True) -> AnomalySetting:
    """`with tg.func.debug_infs(True):` (jax.debug_infs): as debug_nans, for Inf."""
    return AnomalySetting(debug_infs=bool(new_val))

"""tf.config and tf.device: the devices tapegrad has (one CPU) and whether tf.function traces.

tf.device accepts TensorFlow's device strings. TensorFlow places ops softly by default (an op
asked for on a missing GPU runs on the CPU), so a GPU request runs on the CPU here, with one warning.
"""

from __future__ import annotations

import re
import warnings
from collections import namedtuple

PhysicalDevice = namedtuple("PhysicalDevice", ["name", "device_type"])
LogicalDevice = namedtuple("LogicalDevice", ["name", "device_type"])

_STATE = {"eager": False}
_CPU = PhysicalDevice("/physical_device:CPU:0", "CPU")


def run_functions_eagerly(run_eagerly: bool) -> None:
    """With True, every tf.function runs its Python body eagerly (for debugging), as in TensorFlow."""
    _STATE["eager"] = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    return _STATE["eager"]


def list_physical_devices(device_type=None) -> list:
    return [_CPU] if device_type is None or device_type.upper() == "CPU" else []


def list_logical_devices(device_type=None) -> list:
    if device_type is None or device_type.upper() == "CPU":
        return [LogicalDevice("/device:CPU:0", "CPU")]
    return []


def get_visible_devices(device_type=None) -> list:
    return list_physical_devices(device_type)


def set_visible_devices(devices, device_type=None) -> None:
    """Accepted for compatibility: the CPU is always visible."""


def set_soft_device_placement(enabled) -> None:
    """Accepted: placement is always soft (there is only the CPU)."""


def get_soft_device_placement() -> bool:
    return True


class experimental:  # noqa: N801  (tf.config.experimental, a namespace)
    @staticmethod
    def set_memory_growth(device, enable) -> None:
        """Meaningful for GPUs only; accepted so that GPU-setup boilerplate runs."""

    @staticmethod
    def get_memory_growth(device) -> bool:
        return False

    list_physical_devices = staticmethod(list_physical_devices)
    set_visible_devices = staticmethod(set_visible_devices)


class threading:  # noqa: N801
    @staticmethod
    def set_intra_op_parallelism_threads(n) -> None:
        """Accepted; the numpy / C backends choose their own thread counts."""

    set_inter_op_parallelism_threads = set_intra_op_parallelism_threads


_DEVICE = re.compile(r"^(?:/job:\w+)?(?:/replica:\d+)?(?:/task:\d+)?/?(?:device:)?(CPU|GPU|TPU|cpu|gpu|tpu)(?::(\d+))?$")
_WARNED = set()


class device:  # noqa: N801  (tf.device is a lower-case context manager)
    """`with tf.device("CPU:0"):` places the ops inside; tapegrad has one CPU, so it checks the name only."""

    def __init__(self, device_name):
        self.name = device_name
        if device_name is None or device_name == "":
            return
        m = _DEVICE.match(str(device_name))
        if m is None:
            raise ValueError(
                f"tf.device: {device_name!r} is not a device name; write e.g. 'CPU:0', '/CPU:0' or "
                "'/job:localhost/replica:0/task:0/device:CPU:0'"
            )
        kind = m.group(1).upper()
        if kind != "CPU" and kind not in _WARNED:
            _WARNED.add(kind)
            warnings.warn(
                f"tf.device({device_name!r}): tapegrad has no {kind} here; the ops run on the CPU (TensorFlow's "
                "soft placement does the same)",
                stacklevel=2,
            )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

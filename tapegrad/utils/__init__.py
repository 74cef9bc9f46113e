"""tg.utils: PyTorch's torch.utils spelling. `tg.utils.data` is `tg.data` (Dataset, DataLoader, ...)."""

import sys

from .. import data

# `import tapegrad.utils.data` and `from tapegrad.utils.data import DataLoader` find the same module
sys.modules[__name__ + ".data"] = data

__all__ = ["data"]

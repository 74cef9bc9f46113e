"""tg.data: Dataset, TensorDataset, DataLoader, random_split, and the data sets in tg.data.datasets.

Depends on the Tensor front end only (as torch.utils.data does); used by the CLI and by training loops.
"""

from . import datasets  # noqa: F401
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split  # noqa: F401
from .loader import DataLoader, default_collate  # noqa: F401
from .sampler import DistributedSampler  # noqa: F401

"""tg.tf: TensorFlow's vocabulary over tapegrad's one engine. `import tapegrad.tf as tf` reads like TF.

Layout (in the order a user meets them): variable.py (Variable), tape.py (GradientTape),
custom_gradient.py, clip.py (clip_by_*), control_flow.py (while_loop, cond, switch_case, scan, ...),
names.py (constant, reduce_*, and the TF forms of names whose PyTorch meaning differs), math.py
(tg.math), random.py (tg.random), autodiff.py (ForwardAccumulator) and nest.py (nested structures).

Everything is also reachable from the top level (`tg.GradientTape`, `tg.reduce_sum`, ...) except the
names whose TensorFlow meaning differs from PyTorch's (transpose, gather, sort, norm, pad, softmax,
argmax, split, range, ...): `tg.transpose` is PyTorch's and `tg.tf.transpose` is TensorFlow's.
"""

from __future__ import annotations

from ..dtype import bfloat16, bool_, float16, float32, float64, int8, int16, int32, int64, uint8  # noqa: F401
from ..tensor import Tensor  # noqa: F401
from . import autodiff, math, nest, random  # noqa: F401
from .clip import clip_by_global_norm, clip_by_norm, clip_by_value, global_norm  # noqa: F401
from .control_flow import cond, foldl, foldr, map_fn, scan, switch_case, while_loop  # noqa: F401
from .custom_gradient import custom_gradient  # noqa: F401
from .names import *
from .names import range, stop_gradient  # noqa: F401
from .tape import GradientTape, UnconnectedGradients  # noqa: F401
from .variable import Variable  # noqa: F401

bool = bool_

# *** TensorFlow's namespaces and top-level names beyond the core (issue 14) ***
from . import config, dtypes, errors, linalg  # noqa: E402,F401
from . import autograph  # noqa: E402,F401
from . import nn  # noqa: E402,F401
from .config import device  # noqa: E402,F401
from .dtypes import DType, as_dtype  # noqa: E402,F401
from .function import function  # noqa: E402,F401
from .module import Module, init_scope, name_scope  # noqa: E402,F401
from .toplevel import *  # noqa: E402,F401,F403
from ..trace.function import TensorSpec  # noqa: E402,F401
from . import keras  # noqa: E402,F401
from .keras import optimizers  # noqa: E402,F401

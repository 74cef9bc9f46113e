"""tg.optim: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) with PyTorch's step() / zero_grad() and
TensorFlow's apply_gradients() / minimize() on the same object, and learning-rate schedulers
(tg.optim.lr_scheduler). Depends on Tensor ops and autograd; used by training loops and the CLI."""

from . import lr_scheduler  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .optimizer import Optimizer, OptimizerStateError  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401

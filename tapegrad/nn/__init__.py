"""tg.nn: neural-network building blocks in PyTorch's shape: Module and its containers, the layers, the losses
as modules, Parameter, the initialisers (tg.nn.init) and the stateless functions (tg.nn.functional)."""

from . import functional  # noqa: F401
from . import init  # noqa: F401
from . import parallel  # noqa: F401  (DistributedDataParallel)
from . import utils  # noqa: F401  (clip_grad_norm_, clip_grad_value_)
from .activation import *  # noqa: F403
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
from .conv import *  # noqa: F403
from .linear import (AlphaDropout, Bilinear, Dropout, Dropout1d, Dropout2d, Dropout3d, Embedding, Flatten, Identity,  # noqa: F401
                     FeatureAlphaDropout, Linear, Unflatten)
from .losses import *  # noqa: F403
from .module import Module, StateDictError  # noqa: F401
from .norm import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, InstanceNorm1d, InstanceNorm2d,  # noqa: F401
                   InstanceNorm3d, LayerNorm, LocalResponseNorm, RMSNorm)
from .parameter import Parameter  # noqa: F401
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
from .transformer import MultiheadAttention, TransformerEncoder, TransformerEncoderLayer  # noqa: F401

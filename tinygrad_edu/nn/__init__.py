"""Neural networks: `tg.nn`, shaped like `torch.nn`.

- `module.py`: Module (parameters found by walking attributes) and Parameter.
- `layers.py`: Linear, Sequential, the activations, Dropout, Flatten, Identity.
- `losses.py`: MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss.
- `functional.py` (`tg.nn.functional as F`): the same as plain functions.
- `conv.py`: Conv1d, Conv2d, MaxPool2d, AvgPool2d (im2col and one matrix product).
- `normalization.py`: BatchNorm1d, BatchNorm2d, LayerNorm; `embedding.py`: Embedding.
- `rnn.py`: RNN, LSTM, GRU and their cells, with PyTorch's layouts.
- `init.py`: Xavier and Kaiming initialisation; `utils.py`: gradient clipping.
"""

from . import functional, init, utils
from .conv import AvgPool2d, Conv1d, Conv2d, MaxPool2d
from .embedding import Embedding
from .layers import (
    GELU,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

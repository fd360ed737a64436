"""Neural networks: `tg.nn`, shaped like `torch.nn`.

- `module.py`: Module (parameters found by walking attributes) and Parameter.
- `layers.py`: Linear, Sequential, the activations, Dropout, Flatten, Identity.
- `losses.py`: MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss.
- `functional.py` (`tg.nn.functional as F`): the same as plain functions.
- `init.py`: Xavier and Kaiming initialisation; `utils.py`: gradient clipping.
"""

from . import functional, init, utils
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

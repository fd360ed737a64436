"""tinygrad_edu: automatic differentiation over NumPy, written to be read.

    import tinygrad_edu as tg
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad          # Tensor([2., 4., 6.])

Where to start reading: `tensor.py` (the Tensor), `engine.py` (Function, the graph
node, and the backward walk), `ops.py` (every primitive op and its derivative),
`gradcheck.py` (proving them). The files are floors: each imports only from the ones
below it (grad_mode.py and debug.py at the bottom, then engine.py, fused.py, ops.py,
tensor.py, and everything else on top).
"""

__version__ = "0.1.0"

import numpy as _np  # noqa: E402

from . import autograd, data, distributions, linalg, nn, ops, optim, stats, viz
from .check import check_graph
from .creation import (
    arange,
    eye,
    full,
    generator,
    linspace,
    manual_seed,
    normal,
    ones,
    ones_like,
    rand,
    randn,
    uniform,
    zeros,
    zeros_like,
)
from .debug import detect_anomaly
from .derivatives import grad, hessian, jacobian, jvp, value_and_grad, vjp
from .dtypes import get_default_dtype, set_default_dtype
from .engine import Function
from .functions import (
    abs,
    argmax,
    argmin,
    cat,
    clip,
    cos,
    dot,
    einsum,
    exp,
    expand,
    flatten,
    gelu,
    leaky_relu,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    outer,
    pad,
    permute,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckReport, gradcheck, gradgradcheck
from .integrate import trapezoid
from .serialization import CheckpointError, load, save
from .tensor import Tensor

float32, float64 = _np.float32, _np.float64  # so that tg.float64 reads like torch.float64

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

from . import autograd, cuda, data, distributions, linalg, nn, ops, optim, stats, viz
from .check import check_graph

# `tg.tensor` is the factory function (as `torch.tensor`), not the module tensor.py whose
# name it shares: importing creation.py imports tensor.py first (which sets the package's
# attribute `tensor` to the module), then this line binds the name to the function.
from .creation import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    uniform,
    zeros,
    zeros_like,
)
from .debug import detect_anomaly
from .derivatives import grad, hessian, jacobian, jvp, value_and_grad, vjp
from .device import device, set_default_device
from .dtypes import (
    bool,
    double,
    float,
    float32,
    float64,
    get_default_dtype,
    int,
    int32,
    int64,
    long,
    set_default_dtype,
    uint8,
)
from .engine import Function
from .functions import (
    abs,
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    bmm,
    cat,
    chunk,
    clamp,
    clip,
    clone,
    cos,
    cumsum,
    dot,
    einsum,
    equal,
    exp,
    expand,
    flatten,
    flip,
    floor,
    gelu,
    is_tensor,
    isclose,
    leaky_relu,
    log,
    log2,
    log10,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    neg,
    norm,
    numel,
    outer,
    pad,
    permute,
    pow,
    prod,
    reciprocal,
    relu,
    remainder,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sum,
    t,
    tanh,
    transpose,
    tril,
    triu,
    unbind,
    unsqueeze,
    var,
    where,
)
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckReport, gradcheck, gradgradcheck
from .integrate import trapezoid
from .rng import Generator, default_generator, generator, manual_seed
from .serialization import CheckpointError, load, save
from .tensor import Tensor


"""The ops as functions (`tg.exp(t)`, `tg.cat([a, b])`, ...), for those who prefer them.

Each elementwise function accepts a Tensor or anything `tg.Tensor` accepts and calls the
method of the same name; the functions that combine several tensors live here only.
"""

from __future__ import annotations

import builtins  # sum, max, ... are shadowed below by the ops of the same names

import numpy as np

from . import ops
from .ops import einsum, where
from .tensor import Tensor

__all__ = [
    "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "gelu",
    "softplus", "clip", "maximum", "minimum", "abs", "sum", "max", "min", "mean", "var", "std",
    "logsumexp", "argmax", "argmin", "softmax", "log_softmax", "reshape", "transpose",
    "permute", "expand", "squeeze", "unsqueeze", "flatten", "pad", "stack", "cat", "split",
    "where", "dot", "outer", "matmul", "einsum",
]


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def exp(x):
    """e^x."""
    return _t(x).exp()


def log(x):
    """Natural logarithm."""
    return _t(x).log()


def sqrt(x):
    """Square root."""
    return _t(x).sqrt()


def sin(x):
    """Sine."""
    return _t(x).sin()


def cos(x):
    """Cosine."""
    return _t(x).cos()


def tanh(x):
    """Hyperbolic tangent."""
    return _t(x).tanh()


def sigmoid(x):
    """1 / (1 + e^-x)."""
    return _t(x).sigmoid()


def relu(x):
    """max(x, 0)."""
    return _t(x).relu()


def leaky_relu(x, slope: float = 0.01):
    """x for x > 0, slope * x otherwise."""
    return _t(x).leaky_relu(slope)


def gelu(x, approximate: str = "none"):
    """x * Phi(x)."""
    return _t(x).gelu(approximate)


def softplus(x):
    """ln(1 + e^x)."""
    return _t(x).softplus()


def clip(x, lo=None, hi=None):
    """Limit values to [lo, hi]."""
    return _t(x).clip(lo, hi)


def maximum(x, y):
    """Elementwise maximum."""
    return _t(x).maximum(y)


def minimum(x, y):
    """Elementwise minimum."""
    return _t(x).minimum(y)


def abs(x):  # noqa: A001  (the name users expect, as np.abs)
    """|x|."""
    return _t(x).abs()


def sum(x, axis=None, keepdims=False, **aliases):  # noqa: A001
    """Sum over `axis`."""
    return _t(x).sum(axis, keepdims, **aliases)


def max(x, axis=None, keepdims=False, **aliases):  # noqa: A001
    """Maximum over `axis`."""
    return _t(x).max(axis, keepdims, **aliases)


def min(x, axis=None, keepdims=False, **aliases):  # noqa: A001
    """Minimum over `axis`."""
    return _t(x).min(axis, keepdims, **aliases)


def mean(x, axis=None, keepdims=False, **aliases):
    """Mean over `axis`."""
    return _t(x).mean(axis, keepdims, **aliases)


def var(x, axis=None, keepdims=False, ddof=0, **aliases):
    """Variance over `axis`."""
    return _t(x).var(axis, keepdims, ddof, **aliases)


def std(x, axis=None, keepdims=False, ddof=0, **aliases):
    """Standard deviation over `axis`."""
    return _t(x).std(axis, keepdims, ddof, **aliases)


def logsumexp(x, axis=None, keepdims=False, **aliases):
    """log(sum(exp(x))) over `axis`, without overflow."""
    return _t(x).logsumexp(axis, keepdims, **aliases)


def argmax(x, axis=None, keepdims=False, **aliases):
    """Index of the largest value."""
    return _t(x).argmax(axis, keepdims, **aliases)


def argmin(x, axis=None, keepdims=False, **aliases):
    """Index of the smallest value."""
    return _t(x).argmin(axis, keepdims, **aliases)


def softmax(x, axis=-1, **aliases):
    """e^x / sum(e^x) along `axis`."""
    return _t(x).softmax(axis, **aliases)


def log_softmax(x, axis=-1, **aliases):
    """log(softmax(x)) along `axis`."""
    return _t(x).log_softmax(axis, **aliases)


def reshape(x, *shape):
    """`x.reshape(*shape)`."""
    return _t(x).reshape(*shape)


def transpose(x, *axes):
    """`x.transpose(*axes)`."""
    return _t(x).transpose(*axes)


def permute(x, *axes):
    """`x.permute(*axes)`."""
    return _t(x).permute(*axes)


def expand(x, *shape):
    """`x.expand(*shape)`."""
    return _t(x).expand(*shape)


def squeeze(x, axis=None):
    """`x.squeeze(axis)`."""
    return _t(x).squeeze(axis)


def unsqueeze(x, axis):
    """`x.unsqueeze(axis)`."""
    return _t(x).unsqueeze(axis)


def flatten(x, start=0, end=-1):
    """`x.flatten(start, end)`."""
    return _t(x).flatten(start, end)


def pad(x, widths, value=0):
    """`x.pad(widths, value)`."""
    return _t(x).pad(widths, value)


def matmul(x, y):
    """Matrix product, as `np.matmul`."""
    return _t(x).matmul(y)


def dot(x, y):
    """Dot product of 1-D tensors (matrix product for 2-D), as `np.dot`."""
    return _t(x).dot(y)


def outer(x, y):
    """Outer product: out[i, j] = x[i] * y[j] (inputs are flattened, as `np.outer`)."""
    return _t(x).reshape(-1, 1) * _t(y).reshape(1, -1)


def cat(tensors, axis: int = 0, *, dim=None):
    """Join tensors along an existing axis (`np.concatenate`, `torch.cat`)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: needs at least one tensor")
    return ops.Cat.apply(*tensors, axis=axis if dim is None else dim)


def stack(tensors, axis: int = 0, *, dim=None):
    """Join tensors of one shape along a new axis (`np.stack`, `torch.stack`)."""
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    axis = axis if dim is None else dim
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape "
                             f"{tensors[0].shape}: stacked tensors must have the same shape")
    return cat([t.unsqueeze(axis) for t in tensors], axis=axis)


def split(x, split_size_or_sections, axis: int = 0, *, dim=None):
    """Cut a tensor into pieces along `axis`, as `torch.split`.

    An int is the size of each piece (the last may be smaller); a list gives each
    piece's size. (NumPy's `np.split` reads an int as the *number* of pieces instead.)
    """
    x = _t(x)
    axis = ops._normalize_axes(axis if dim is None else dim, x.ndim, "split")[0]
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: the piece size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, but axis "
                             f"{axis} has size {n}")
    lead = (slice(None),) * axis
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[lead + (slice(start, start + size),)])
        start += size
    return pieces


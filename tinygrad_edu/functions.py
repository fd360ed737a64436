"""The ops as functions (`tg.exp(t)`, `tg.cat([a, b])`, ...), for those who prefer them.

Each elementwise function accepts a Tensor or anything `tg.Tensor` accepts and calls the
method of the same name; the functions that combine several tensors live here only.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .ops import einsum, where
from .tensor import Tensor

__all__ = [
    "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "gelu",
    "softplus", "clip", "maximum", "minimum", "abs", "sum", "max", "min", "mean", "var", "std",
    "logsumexp", "argmax", "argmin", "softmax", "log_softmax", "reshape", "transpose",
    "permute", "expand", "squeeze", "unsqueeze", "flatten", "pad", "stack", "cat", "split",
    "where", "dot", "outer", "matmul", "einsum", "amax", "amin", "prod", "cumsum", "norm",
    "all", "any", "t", "flip", "chunk", "clone", "pow", "neg", "reciprocal", "log10", "log2",
    "square", "clamp", "numel", "mm", "bmm", "equal", "allclose", "isclose", "tril", "triu",
    "is_tensor", "unbind", "remainder", "floor",
]


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _operands(x, y) -> tuple:
    """x and y for a binary op: a number beside a tensor stays a number, so that it takes
    the tensor's dtype (minimum(0.1, float64 tensor) keeps 0.1 in float64, as PyTorch)."""
    return (x, y) if isinstance(x, Tensor) or isinstance(y, Tensor) else (_t(x), y)


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
    return ops.Maximum.apply(*_operands(x, y))


def minimum(x, y):
    """Elementwise minimum."""
    return ops.Minimum.apply(*_operands(x, y))


def abs(x):  # noqa: A001  (the name users expect, as np.abs)
    """|x|."""
    return _t(x).abs()


def sum(x, axis=None, keepdims=False, **aliases):  # noqa: A001
    """Sum over `axis`."""
    return _t(x).sum(axis, keepdims, **aliases)


def max(x, dim=None, keepdim=False, **aliases):  # noqa: A001
    """`x.max()`, `x.max(dim)` -> (values, indices), or `max(x, other)` elementwise."""
    return _t(x).max(dim, keepdim, **aliases)


def min(x, dim=None, keepdim=False, **aliases):  # noqa: A001
    """`x.min()`, `x.min(dim)` -> (values, indices), or `min(x, other)` elementwise."""
    return _t(x).min(dim, keepdim, **aliases)


def amax(x, dim=None, keepdim=False, **aliases):
    """Largest values over `dim` (values only)."""
    return _t(x).amax(dim, keepdim, **aliases)


def amin(x, dim=None, keepdim=False, **aliases):
    """Smallest values over `dim` (values only)."""
    return _t(x).amin(dim, keepdim, **aliases)


def prod(x, dim=None, keepdim=False, **aliases):
    """Product over `dim`."""
    return _t(x).prod(dim, keepdim, **aliases)


def cumsum(x, dim=None, **aliases):
    """Running sums along `dim`."""
    return _t(x).cumsum(dim, **aliases)


def norm(x, p="fro", dim=None, keepdim=False):
    """The p-norm (see Tensor.norm; tg.linalg.norm has matrix norms too)."""
    return _t(x).norm(p, dim, keepdim)


def all(x, dim=None, keepdim=False, **aliases):  # noqa: A001
    """True where every element is nonzero."""
    return _t(x).all(dim, keepdim, **aliases)


def any(x, dim=None, keepdim=False, **aliases):  # noqa: A001
    """True where some element is nonzero."""
    return _t(x).any(dim, keepdim, **aliases)


def mean(x, axis=None, keepdims=False, **aliases):
    """Mean over `axis`."""
    return _t(x).mean(axis, keepdims, **aliases)


def var(x, dim=None, unbiased=None, keepdim=False, **options):
    """Variance over `dim`, unbiased by default as PyTorch's (see Tensor.var)."""
    return _t(x).var(dim, unbiased, keepdim, **options)


def std(x, dim=None, unbiased=None, keepdim=False, **options):
    """Standard deviation over `dim`, unbiased by default as PyTorch's."""
    return _t(x).std(dim, unbiased, keepdim, **options)


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


def transpose(x, dim0, dim1):
    """`x.transpose(dim0, dim1)`: swap two axes."""
    return _t(x).transpose(dim0, dim1)


def t(x):
    """`x.t()`: the matrix transpose."""
    return _t(x).t()


def flip(x, dims):
    """`x.flip(dims)`."""
    return _t(x).flip(dims)


def chunk(x, chunks, dim=0):
    """`x.chunk(chunks, dim)`."""
    return _t(x).chunk(chunks, dim)


def clone(x):
    """`x.clone()`."""
    return _t(x).clone()


def pow(x, exponent):  # noqa: A001
    """x ** exponent."""
    return ops.Pow.apply(*_operands(x, exponent))


def neg(x):
    """-x."""
    return _t(x).neg()


def reciprocal(x):
    """1 / x."""
    return _t(x).reciprocal()


def log10(x):
    """Base-10 logarithm."""
    return _t(x).log10()


def log2(x):
    """Base-2 logarithm."""
    return _t(x).log2()


def square(x):
    """x * x."""
    return _t(x).square()


def clamp(x, min=None, max=None):  # noqa: A002
    """Limit values to [min, max]."""
    return _t(x).clamp(min, max)


def numel(x):
    """The number of elements."""
    return _t(x).numel()


def mm(x, mat2):
    """The product of two matrices (2-D)."""
    return _t(x).mm(mat2)


def bmm(x, mat2):
    """Batched matrix product."""
    return _t(x).bmm(mat2)


def equal(x, y) -> bool:
    """True when both have the same shape and the same elements (as `torch.equal`)."""
    a, b = np.asarray(ops._data(x)), np.asarray(ops._data(y))
    return a.shape == b.shape and bool(np.array_equal(a, b))


def allclose(x, y, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True when |x - y| <= atol + rtol * |y| everywhere (`torch.allclose`)."""
    return bool(np.allclose(ops._data(x), ops._data(y), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


def isclose(x, y, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """Elementwise |x - y| <= atol + rtol * |y|, a bool tensor (`torch.isclose`)."""
    return Tensor(np.isclose(ops._data(x), ops._data(y), rtol=rtol, atol=atol,
                             equal_nan=equal_nan))


def tril(x, diagonal: int = 0):
    """The lower triangle (elements above the `diagonal`-th diagonal set to 0)."""
    x = _t(x)
    return x * np.tri(*x.shape[-2:], k=diagonal, dtype=bool)


def triu(x, diagonal: int = 0):
    """The upper triangle (elements below the `diagonal`-th diagonal set to 0)."""
    x = _t(x)
    return x * ~np.tri(*x.shape[-2:], k=diagonal - 1, dtype=bool)


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


def flatten(x, start_dim=0, end_dim=-1):
    """`x.flatten(start_dim, end_dim)`."""
    return _t(x).flatten(start_dim, end_dim)


def pad(x, widths, value=0):
    """`x.pad(widths, value)`."""
    return _t(x).pad(widths, value)


def matmul(input=None, other=None):  # noqa: A002  (PyTorch's keyword names)
    """Matrix product, as `np.matmul` (`tg.matmul(a, b)` or `tg.matmul(input=a, other=b)`)."""
    return _t(input).matmul(other)


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


def split(x, split_size_or_sections, dim: int = 0, *, axis=None):
    """Cut a tensor into pieces along `dim`, as `torch.split` (see Tensor.split)."""
    return _t(x).split(split_size_or_sections, dim if axis is None else axis)


def is_tensor(obj) -> bool:
    """True for a tg.Tensor."""
    return isinstance(obj, Tensor)


def unbind(x, dim: int = 0):
    """`x.unbind(dim)`: the slices along `dim`."""
    return _t(x).unbind(dim)


def remainder(x, other):
    """x % other, with the divisor's sign (Python's `%`)."""
    x, other = _operands(x, other)
    return x.remainder(other) if isinstance(x, Tensor) else other.__rmod__(x)


def floor(x):
    """Round down (no gradient)."""
    return _t(x).floor()

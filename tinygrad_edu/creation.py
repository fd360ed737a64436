"""Making tensors: constants, ranges and random draws.

Every random draw comes from one `np.random.Generator`, reseeded by `tg.manual_seed(n)`,
so a seeded program gives the same numbers every run.
"""

from __future__ import annotations

import numpy as np

from .dtypes import get_default_dtype
from .tensor import Tensor, _shape_args

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator behind every random call (rand, randn, uniform, normal, ...)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The generator behind every random call (for code that needs NumPy draws too)."""
    return _generator


def _new(array: np.ndarray, dtype, requires_grad: bool) -> Tensor:
    dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    return Tensor(array.astype(dtype, copy=False), requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: `tg.zeros(2, 3)` or `tg.zeros((2, 3))`."""
    return _new(np.zeros(_shape_args(shape, "zeros")), dtype, requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _new(np.ones(_shape_args(shape, "ones")), dtype, requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of `shape` filled with `fill_value`; as in PyTorch, an int or bool fill
    gives an int64 or bool tensor, a float the default dtype."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is None and isinstance(fill_value, (bool, int, np.bool_, np.integer)):
        return Tensor(np.full(shape, fill_value), requires_grad=requires_grad)
    return _new(np.full(shape, fill_value, dtype=float), dtype, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m, square by default)."""
    return _new(np.eye(n, m), dtype, requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as `np.arange`: integers stay integers."""
    array = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and array.dtype.kind == "i":
        return Tensor(array, requires_grad=requires_grad)
    return _new(array, dtype, requires_grad)


def linspace(start, stop, num: int = 50, dtype=None, requires_grad: bool = False) -> Tensor:
    """`num` evenly spaced values from start to stop, both included."""
    return _new(np.linspace(start, stop, num), dtype, requires_grad)


def zeros_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and, unless given, the dtype) of `t`."""
    data = np.asarray(getattr(t, "data", t))
    return Tensor(np.zeros_like(data, dtype=dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and, unless given, the dtype) of `t`."""
    data = np.asarray(getattr(t, "data", t))
    return Tensor(np.ones_like(data, dtype=dtype), requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform draws from [0, 1)."""
    return _new(_generator.random(_shape_args(shape, "rand")), dtype, requires_grad)


def randn(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal draws (mean 0, standard deviation 1)."""
    return _new(_generator.standard_normal(_shape_args(shape, "randn")), dtype, requires_grad)


def uniform(low, high, shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform draws from [low, high)."""
    if not low < high:
        raise ValueError(f"uniform: low ({low}) must be smaller than high ({high})")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _new(_generator.uniform(low, high, shape), dtype, requires_grad)


def normal(mean, std, shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Normal draws with the given mean and standard deviation."""
    if std < 0:
        raise ValueError(f"normal: std must be >= 0, got {std}")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _new(_generator.normal(mean, std, shape), dtype, requires_grad)

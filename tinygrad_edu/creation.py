"""Making tensors: `tg.tensor`, constants, ranges and random draws.

Every creator takes its size as PyTorch does, `tg.zeros(2, 3)` or `tg.zeros((2, 3))`, and
`dtype=`, `requires_grad=` and `device=` (the CPU, the only device: see device.py).

Random draws come from a `tg.Generator`: the one given as `generator=`, or the default
one, reseeded by `tg.manual_seed(n)`. Same seed, same numbers, every run. (The numbers
are NumPy's, not PyTorch's: a seeded program here and in PyTorch draws different ones.)
"""

from __future__ import annotations

import numpy as np

from .device import as_device
from .dtypes import as_dtype, get_default_dtype
from .rng import _rng
from .tensor import Tensor, _sizes, _to_array


def _new(array: np.ndarray, dtype, requires_grad: bool, device, op: str) -> Tensor:
    """A float tensor (the default float unless `dtype` says otherwise) from `array`."""
    as_device(device, op)
    dtype = get_default_dtype() if dtype is None else as_dtype(dtype, op)
    return Tensor(array.astype(dtype, copy=False), requires_grad=requires_grad)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data`, as `torch.tensor`.

    Python ints become int64, floats the default float (float32), bools bool; an ndarray
    or a Tensor keeps its dtype. `tg.Tensor(data)` does the same.
    """
    as_device(device, "tensor")
    if dtype is not None:
        dtype = as_dtype(dtype, "tensor")
    return Tensor(_to_array(data, dtype), requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares `array`'s memory (no copy), as `torch.from_numpy`: writing to
    one changes the other. The dtype is the array's."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}")
    as_dtype(array.dtype, "from_numpy")
    return Tensor._make(array, False, None)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: `tg.zeros(2, 3)` or `tg.zeros((2, 3))`."""
    return _new(np.zeros(_sizes(size, "zeros")), dtype, requires_grad, device, "zeros")


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _new(np.ones(_sizes(size, "ones")), dtype, requires_grad, device, "ones")


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor whose values are not set (here: zeros; in PyTorch: whatever was in memory,
    so never read them before writing)."""
    return _new(np.zeros(_sizes(size, "empty")), dtype, requires_grad, device, "empty")


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of `size` filled with `fill_value`; as in PyTorch, an int or bool fill
    gives an int64 or bool tensor, a float the default dtype."""
    size = _sizes((size,), "full")
    if dtype is None and isinstance(fill_value, (bool, int, np.bool_, np.integer)):
        as_device(device, "full")
        kind = np.bool_ if isinstance(fill_value, (bool, np.bool_)) else np.int64
        return Tensor(np.full(size, fill_value, dtype=kind), requires_grad=requires_grad)
    return _new(np.full(size, fill_value, dtype=float), dtype, requires_grad, device, "full")


def eye(n: int, m: int | None = None, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m, square by default)."""
    n, m = _sizes((n, n if m is None else m), "eye")
    return _new(np.eye(n, m), dtype, requires_grad, device, "eye")


def arange(start, end=None, step=1, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end), as `torch.arange`: integer arguments give an
    int64 tensor, a float among them the default float."""
    if step == 0:
        raise ValueError(f"arange: step must be nonzero, got {step!r}")
    array = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is None and array.dtype.kind in "iu":
        as_device(device, "arange")
        return Tensor(array.astype(np.int64, copy=False), requires_grad=requires_grad)
    return _new(array, dtype, requires_grad, device, "arange")


def linspace(start, end, steps: int = 50, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    (steps,) = _sizes((steps,), "linspace")
    return _new(np.linspace(start, end, steps), dtype, requires_grad, device, "linspace")


def _like(t, fill, dtype, requires_grad: bool, device, op: str) -> Tensor:
    as_device(device, op)
    data = np.asarray(getattr(t, "data", t))
    dtype = data.dtype if dtype is None else as_dtype(dtype, op)
    return Tensor(np.full(data.shape, fill, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and, unless given, the dtype) of `t`."""
    return _like(t, 0, dtype, requires_grad, device, "zeros_like")


def ones_like(t, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and, unless given, the dtype) of `t`."""
    return _like(t, 1, dtype, requires_grad, device, "ones_like")


def empty_like(t, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor with the shape (and, unless given, the dtype) of `t`; see `empty`."""
    return _like(t, 0, dtype, requires_grad, device, "empty_like")


def full_like(t, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """`fill_value` with the shape (and, unless given, the dtype) of `t`."""
    return _like(t, fill_value, dtype, requires_grad, device, "full_like")


# --- random -------------------------------------------------------------------------------


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform draws from [0, 1)."""
    rng = _rng(generator, "rand")
    return _new(rng.random(_sizes(size, "rand")), dtype, requires_grad, device, "rand")


def randn(*size, generator=None, dtype=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal draws (mean 0, standard deviation 1)."""
    rng = _rng(generator, "randn")
    return _new(rng.standard_normal(_sizes(size, "randn")), dtype, requires_grad,
                device, "randn")


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high), as `torch.randint(low, high, size)`
    (also `randint(high, size)`); int64 unless `dtype` says otherwise."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: give the size, e.g. tg.randint(0, 10, (3,))")
    if not low < high:
        raise ValueError(f"randint: low ({low}) must be smaller than high ({high})")
    draws = _rng(generator, "randint").integers(low, high, _sizes((size,), "randint"))
    as_device(device, "randint")
    dtype = np.int64 if dtype is None else as_dtype(dtype, "randint")
    return Tensor(draws.astype(dtype), requires_grad=requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """A random order of 0, 1, ..., n - 1 (int64)."""
    as_device(device, "randperm")
    (n,) = _sizes((n,), "randperm")
    order = _rng(generator, "randperm").permutation(n)
    dtype = np.int64 if dtype is None else as_dtype(dtype, "randperm")
    return Tensor(order.astype(dtype), requires_grad=requires_grad)


def multinomial(input, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Draw `num_samples` category indices with probabilities proportional to `input`
    (one row of weights, or one row per draw set), as `torch.multinomial`: int64, shape
    (num_samples,) or (rows, num_samples). Weights need not add up to 1; without
    `replacement` a category is drawn at most once."""
    weights = np.asarray(getattr(input, "data", input), dtype=np.float64)
    if weights.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D, got shape {weights.shape}")
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise ValueError("multinomial: weights must be finite and >= 0")
    rows = weights.reshape(-1, weights.shape[-1])
    totals = rows.sum(axis=1, keepdims=True)
    if (totals <= 0).any():
        raise ValueError("multinomial: every row of weights must have a positive sum")
    if not replacement and num_samples > (rows > 0).sum(axis=1).min():
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without "
                         "replacement from fewer categories with a positive weight")
    rng = _rng(generator, "multinomial")
    out = np.stack([rng.choice(rows.shape[1], size=num_samples, replace=bool(replacement),
                               p=row / total) for row, total in zip(rows, totals[:, 0])])
    return Tensor(out.reshape(weights.shape[:-1] + (num_samples,)).astype(np.int64))


def uniform(low, high, shape, dtype=None, requires_grad: bool = False, *,
            generator=None) -> Tensor:
    """Uniform draws from [low, high)."""
    if not low < high:
        raise ValueError(f"uniform: low ({low}) must be smaller than high ({high})")
    shape = _sizes((shape,), "uniform")
    return _new(_rng(generator, "uniform").uniform(low, high, shape), dtype, requires_grad,
                None, "uniform")


def normal(mean, std, size=None, dtype=None, requires_grad: bool = False, *,
           generator=None) -> Tensor:
    """Normal draws with the given mean and standard deviation: `tg.normal(0., 1., (2,
    3))`; as `torch.normal`, mean and std may be tensors (one draw per element)."""
    mean_, std_ = (np.asarray(getattr(v, "data", v), dtype=np.float64) for v in (mean, std))
    if (std_ < 0).any():
        raise ValueError(f"normal: std must be >= 0, got {std}")
    if size is None:
        size = np.broadcast_shapes(mean_.shape, std_.shape)
    shape = _sizes((size,), "normal")
    draws = _rng(generator, "normal").normal(mean_, std_, shape)
    if dtype is None and isinstance(mean, Tensor):
        dtype = mean.dtype
    return _new(draws, dtype, requires_grad, None, "normal")

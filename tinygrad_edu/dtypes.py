"""The default floating dtype: what Python floats and lists become.

float32, as in PyTorch: half the memory of float64 and what deep learning uses. Gradient
checks need float64 (finite differences in float32 drown in round-off), so
`tg.gradcheck` works in float64, and `tg.set_default_dtype(np.float64)` switches the
whole program when you want to see exact digits.
"""

from __future__ import annotations

import numpy as np

_default_dtype = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    """The dtype given to Python floats and lists of floats (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the dtype for new floating tensors made from Python values: float32 or float64."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: the default dtype must be a floating dtype "
                        f"(float32 or float64), got {dtype}")
    _default_dtype = dtype


# PyTorch's dtype names. A dtype here is a NumPy dtype, so `x.dtype == tg.float32` holds
# and `np.zeros(3, dtype=tg.long)` works too. `tg.float` is float32 and `tg.int` int32, as
# in PyTorch (where Python's own `float` and `int`, given as a dtype, mean float64 and
# int64, as in NumPy).
float32 = np.float32
float64 = np.float64
int32 = np.int32
int64 = np.int64
float = np.float32  # noqa: A001  (torch.float)
double = np.float64
long = np.int64
int = np.int32  # noqa: A001  (torch.int)
bool = np.bool_  # noqa: A001  (torch.bool)
uint8 = np.uint8

_SUPPORTED = "float32 (tg.float), float64 (tg.double), int64 (tg.long), int32 (tg.int), " \
             "uint8 and bool"


def as_dtype(dtype, op: str) -> np.dtype:
    """`dtype` (a NumPy dtype, one of the names above, or Python's float/int/bool) as a
    NumPy dtype; a clear error for the ones this library does not have (float16, ...)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: {dtype!r} is not a dtype; use one of {_SUPPORTED}") from None
    if dt.kind == "f" and dt.itemsize < 4:
        raise TypeError(f"{op}: {dt} is not supported: this library computes on the CPU with "
                        f"NumPy, where half precision is slow and not needed. Use float32 "
                        f"(tg.float) or float64 (tg.double)")
    if dt.kind not in "fiub" or dt.itemsize > 8:
        raise TypeError(f"{op}: dtype {dt} is not supported; use one of {_SUPPORTED}")
    return dt

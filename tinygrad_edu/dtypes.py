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

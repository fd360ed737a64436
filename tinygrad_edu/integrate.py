"""Numerical integration of sampled values, differentiable in both the values and the
sample points."""

from __future__ import annotations

from .tensor import Tensor


def trapezoid(y, x=None, dx: float = 1.0, axis: int = -1) -> Tensor:
    """The trapezoidal rule along `axis`, as `np.trapezoid`:

        integral ~= sum_i (x[i+1] - x[i]) * (y[i+1] + y[i]) / 2

    Args:
        y: the sampled values.
        x: the sample points: 1-D with y.shape[axis] entries, or the same shape as y.
            When None, the points are `dx` apart.
        axis: the axis to integrate along.

    Both `y` and `x` may require gradients: d/dy[i] and d/dx[i] follow from the sum
    above by the ordinary Tensor ops it is written with.
    """
    y = y if isinstance(y, Tensor) else Tensor(y)
    if y.ndim == 0:
        raise ValueError("trapezoid: y must have at least one axis, got a 0-d tensor")
    axis = axis % y.ndim
    y = y.swapaxes(axis, -1)                      # integrate along the last axis
    if x is None:
        widths = dx
    else:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim == 1:
            if x.shape[0] != y.shape[-1]:
                raise ValueError(f"trapezoid: x has {x.shape[0]} points but y has "
                                 f"{y.shape[-1]} along axis {axis}")
        elif x.ndim == y.ndim:
            x = x.swapaxes(axis, -1)
        else:
            raise ValueError(f"trapezoid: x must be 1-D or have y's shape, got x "
                             f"{x.shape} for y with {y.ndim} axes")
        widths = x[..., 1:] - x[..., :-1]
    heights = (y[..., 1:] + y[..., :-1]) / 2
    return (widths * heights).sum(axis=-1)

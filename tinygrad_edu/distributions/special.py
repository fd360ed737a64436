"""The log-gamma function and its derivatives, for the Poisson and Gamma densities.

    lgamma(x)   = ln |Gamma(x)|
    digamma(x)  = d/dx lgamma(x)       (psi)
    trigamma(x) = d/dx digamma(x)      (psi')

NumPy has no vectorised lgamma, so the forward pass maps `math.lgamma` over the array.
Digamma and trigamma are computed here in NumPy, each in the same three steps:

1. reflection, for x < 1/2:  psi(x) = psi(1 - x) - pi / tan(pi x)
                             psi'(x) = -psi'(1 - x) + pi^2 / sin^2(pi x)
2. recurrence, until x >= 10: psi(x) = psi(x + 1) - 1/x,   psi'(x) = psi'(x + 1) + 1/x^2
3. the asymptotic series at x >= 10, whose error there is below 1e-14:
   psi(x)  ~ ln x - 1/(2x) - 1/(12x^2) + 1/(120x^4) - 1/(252x^6) + 1/(240x^8) - 1/(132x^10)
   psi'(x) ~ 1/x + 1/(2x^2) + 1/(6x^3) - 1/(30x^5) + 1/(42x^7) - 1/(30x^9) + 5/(66x^11)

Each is a Function whose backward is the next one, so lgamma can be differentiated
twice (gradgradcheck); trigamma's own derivative is not implemented.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine import Function
from ..tensor import Tensor

_RECURRENCE_STEPS = 10  # from x >= 1/2, ten steps of x -> x + 1 reach the series' range


def _digamma(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    original = x  # (kept: 1 - (1 - x) would round a tiny x away)
    x = np.where(reflect, 1 - x, x)
    shift = np.zeros_like(x)
    for _ in range(_RECURRENCE_STEPS):  # psi(x) = psi(x + 1) - 1/x
        shift -= 1 / x
        x = x + 1
    inv2 = 1 / (x * x)
    series = np.log(x) - 0.5 / x - inv2 * (
        1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    result = series + shift
    # psi(x) = psi(1 - x) - pi / tan(pi x); here `result` holds psi(1 - x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # (near the poles)
        reflected = result - np.pi / np.tan(np.pi * np.where(reflect, original, 0.25))
    result = np.where(reflect, reflected, result)
    # at the poles, as PyTorch: -inf at 0, NaN at -1, -2, ... (tan(pi x) is only ~1e-16
    # there, not 0, so the formula would give a huge finite number)
    result = np.where(original == 0, -np.inf, result)
    return np.where((original < 0) & (original == np.floor(original)), np.nan, result)


def _trigamma(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    original = x
    x = np.where(reflect, 1 - x, x)
    shift = np.zeros_like(x)
    for _ in range(_RECURRENCE_STEPS):  # psi'(x) = psi'(x + 1) + 1/x^2
        shift += 1 / (x * x)
        x = x + 1
    inv = 1 / x
    inv2 = inv * inv
    series = inv + inv2 / 2 + inv * inv2 * (
        1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 * (1 / 30 - inv2 * 5 / 66))))
    result = series + shift
    # psi'(x) = -psi'(1 - x) + pi^2 / sin^2(pi x); here `result` holds psi'(1 - x)
    return np.where(reflect, np.pi ** 2 / np.sin(np.pi * original) ** 2 - result, result)


def _lgamma_scalar(v: float) -> float:
    """math.lgamma, but +inf at the poles (0, -1, -2, ...) and on overflow, as
    PyTorch's and SciPy's lgamma, instead of raising."""
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):  # a pole, or |x| near the float64 maximum
        return math.inf


def lgamma_array(x) -> np.ndarray:
    """ln |Gamma(x)| of each element, in float64 (NumPy has no vectorised lgamma, so
    `math.lgamma` is mapped over the values)."""
    values = np.array([_lgamma_scalar(v) for v in np.ravel(x).tolist()], dtype=np.float64)
    return values.reshape(np.shape(x))


class Lgamma(Function):
    """y = ln |Gamma(x)|  (+inf at the poles x = 0, -1, -2, ...)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return lgamma_array(x.data).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_output):
        # d/dx lgamma(x) = digamma(x)
        (x,) = ctx.saved_tensors
        return grad_output * Digamma.apply(x)


class Digamma(Function):
    """y = psi(x) = d/dx lgamma(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _digamma(x.data).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_output):
        # d/dx psi(x) = psi'(x)
        (x,) = ctx.saved_tensors
        return grad_output * Trigamma.apply(x)


class Trigamma(Function):
    """y = psi'(x) = d^2/dx^2 lgamma(x)"""

    @staticmethod
    def forward(ctx, x):
        return _trigamma(x.data).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("trigamma: its derivative (the third derivative of "
                                  "lgamma) is not implemented")


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def lgamma(x) -> Tensor:
    """ln |Gamma(x)|, differentiable (its derivative is digamma)."""
    return Lgamma.apply(_t(x))


def digamma(x) -> Tensor:
    """psi(x) = d/dx ln Gamma(x), differentiable (its derivative is trigamma)."""
    return Digamma.apply(_t(x))


def trigamma(x) -> Tensor:
    """psi'(x) = d^2/dx^2 ln Gamma(x)."""
    return Trigamma.apply(_t(x))

"""Statistics that gradients flow through: variance, covariance, correlation.

Everything here is built from Tensor ops (mean, matmul, sqrt, ...), so no function in
this file has its own backward: the chain rule through those ops is the derivative.
The conventions are NumPy's (`np.cov`, `np.corrcoef`, `np.var`), so a result can be
checked against NumPy directly.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def var(x, axis=None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Variance over `axis`, divided by (n - ddof), as `np.var` (ddof=0 by default)."""
    return _t(x).var(axis=axis, keepdims=keepdims, ddof=ddof)


def std(x, axis=None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Standard deviation: sqrt(var), as `np.std` (ddof=0 by default)."""
    return _t(x).std(axis=axis, keepdims=keepdims, ddof=ddof)


def cov(x, rowvar: bool = True, bias: bool = False, ddof: int | None = None) -> Tensor:
    """Covariance matrix, as `np.cov`.

    C[i, j] = sum_k (x[i, k] - mean_i) (x[j, k] - mean_j) / (n - ddof)

    Args:
        x: a 1-D tensor (one variable) or a 2-D one. With `rowvar=True` (the default)
            each row is a variable and each column an observation; `rowvar=False`
            swaps the two.
        bias: divide by n instead of n - 1 (ignored when `ddof` is given).
        ddof: the "delta degrees of freedom"; the default is 1, or 0 when `bias=True`.

    Returns:
        A (variables, variables) tensor; a 0-d tensor for a single variable, as NumPy.
    """
    x = _t(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"cov: x must be 1-D or 2-D, got shape {x.shape}")
    if x.ndim == 1:
        x = x.reshape(1, -1)
    elif not rowvar:
        x = x.T  # (observations, variables) -> (variables, observations)
    if ddof is None:
        ddof = 0 if bias else 1
    n_observations = x.shape[1]
    if n_observations - ddof <= 0:
        raise ValueError(f"cov: {n_observations} observation(s) with ddof={ddof} leave no "
                         "degrees of freedom (n - ddof must be positive)")
    centered = x - x.mean(axis=1, keepdims=True)               # (variables, observations)
    c = centered @ centered.T / (n_observations - ddof)        # (variables, variables)
    return c.reshape(()) if c.shape == (1, 1) else c


def corrcoef(x, rowvar: bool = True) -> Tensor:
    """Pearson correlation coefficients, as `np.corrcoef`: R = C / sqrt(diag(C) diag(C)^T).

    NumPy clips the result to [-1, 1] against rounding; this does not, because a clip
    would zero the gradient exactly where a correlation reaches +-1.
    """
    c = cov(x, rowvar=rowvar)
    if c.ndim == 0:
        return c / c  # one variable correlates perfectly with itself
    n = c.shape[0]
    # diag(C) as a differentiable op: keep the diagonal with an identity mask, sum rows
    mask = Tensor(np.eye(n, dtype=c.dtype))
    stddev = (c * mask).sum(axis=1).sqrt()                     # (variables,)
    return c / (stddev.reshape(n, 1) * stddev.reshape(1, n))

"""Gradient clipping: `tg.nn.utils.clip_grad_norm_` and `clip_grad_value_`, as PyTorch."""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor


def _with_grads(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so that their joint norm is at most `max_norm`.

    The norm is taken over every gradient as if they were one long vector. When it
    exceeds max_norm, every gradient is multiplied by max_norm / (norm + 1e-6), in
    place: the direction of the step is kept, only its length is capped (a guard
    against exploding gradients, common in RNNs). Returns the norm before clipping.
    """
    params = _with_grads(parameters)
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if not params:
        return Tensor(0.0)
    grads = [p.grad.data for p in params]
    if norm_type == math.inf:
        total = max(float(np.abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        total = sum(float((np.abs(g) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {total}; "
                           "a NaN or inf gradient cannot be clipped (try tg.detect_anomaly() "
                           "to find where it comes from)")
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= np.asarray(scale, dtype=g.dtype)
    return Tensor(total, dtype=grads[0].dtype)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient element into [-clip_value, clip_value], in place."""
    for p in _with_grads(parameters):
        np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)

"""Normalization layers: BatchNorm1d, BatchNorm2d, LayerNorm.

Both kinds do the same thing over different axes: take the mean mu and the (biased)
variance var of x over some axes, and rescale

    xhat = (x - mu) / sqrt(var + eps),        y = weight * xhat + bias.

- Batch norm takes the statistics over every axis but the channel axis 1 (the batch,
  and the length or height and width): one mu and var per channel. While training it
  also keeps running averages of them, which evaluation uses instead, so that a model
  in eval mode gives each sample the same output whatever else is in the batch.
- Layer norm takes them over the trailing `normalized_shape` axes of each sample: no
  running statistics, the same computation in training and in evaluation.

Both use one op, `Normalize`, whose backward is the closed form derived there. Built
from primitives (mean, sub, mul, mean, add, sqrt, div, mul, add) the same forward is
eleven graph nodes, most keeping an array of the input's size for backward, and its
backward walks them all; the closed form is one node and a few reductions, and a
training step of a batch-norm or layer-norm layer runs 1.6 to 3 times faster for it.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import get_default_dtype
from ..engine import Function
from ..tensor import Tensor
from .module import Module, Parameter


def _array(value):
    """The NumPy array behind a Tensor (or the array itself)."""
    return value.data if isinstance(value, Tensor) else value


# ---------------------------------------------------------------------------------------
# the op
# ---------------------------------------------------------------------------------------


class Normalize(Function):
    """y = weight * (x - mu) / sqrt(var + eps) + bias, with mu and var (biased) over `axes`

    weight and bias (or None) have the shape of x without `param_axes`: for batch norm
    param_axes = axes (one weight per channel), for layer norm param_axes are the leading
    axes (one weight per normalized element). `stats`, if given, is a dict that forward fills
    with "mean" and "var" (biased, the axes kept): batch_norm needs them for the running
    statistics too, and so they are computed once. (They are handed out, never taken in:
    the output stays a function of x, weight and bias alone, which tg.check_graph relies
    on when it re-runs the op.)

    Backward, for one group of N values normalised together, with s = 1/sqrt(var + eps)
    and xhat_i = (x_i - mu) s:

        dmu/dx_j = 1/N,   dvar/dx_j = 2 (x_j - mu) / N,
        ds/dx_j = -(1/2)(var + eps)^(-3/2) dvar/dx_j = -s^2 xhat_j / N,
        dxhat_i/dx_j = s ([i = j] - 1/N) + (x_i - mu) ds/dx_j
                     = s ([i = j] - 1/N - xhat_i xhat_j / N).

    So, with u = dL/dxhat = weight * g (g = dL/dy), summing u_i dxhat_i/dx_j over i:

        dL/dx = s (u - mean(u) - xhat * mean(u * xhat))
              = (1/N) s (N u - sum(u) - xhat sum(u xhat)),
        dL/dweight = sum of g * xhat over param_axes,   dL/dbias = sum of g over param_axes.

    (The two subtracted terms are the projections of u onto the constants and onto xhat:
    shifting x by a constant, or scaling x - mu, does not change xhat, which always has
    mean 0 and variance var / (var + eps), about 1.)
    """

    @staticmethod
    def forward(ctx, x, weight=None, bias=None, *, axes, param_axes, eps, stats=None):
        xd = x.data
        mean = xd.mean(axis=axes, keepdims=True)  # one per group, the axes kept
        centered = xd - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)  # biased: divided by N
        if stats is not None:
            stats["mean"], stats["var"] = mean, var
        inv_std = 1 / np.sqrt(var + eps)  # s
        xhat = centered * inv_std
        view = _param_view(xd.shape, param_axes)
        out = xhat
        if weight is not None:
            out = out * weight.data.reshape(view)
        if bias is not None:
            out = out + bias.data.reshape(view)
        ctx.axes, ctx.param_axes, ctx.eps = axes, param_axes, eps
        ctx.save_for_backward(x, weight, xhat, inv_std)
        return out  # (float32 x with float64 weight gives float64, NumPy's rule, as Linear)

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dx = s (u - mean(u) - xhat mean(u xhat)),  u = weight * g  (derived above)
        # dL/dweight = sum(g xhat),  dL/dbias = sum(g)   (over param_axes)
        x, weight, xhat, inv_std = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        axes, param_axes = ctx.axes, ctx.param_axes
        if not ctx.create_graph:  # the usual backward: on arrays (see fused.Linear)
            g = grad_output.data
            u = g if weight is None else g * weight.data.reshape(_param_view(g.shape, param_axes))
            grad_x = grad_w = grad_b = None
            if need_x:
                grad_x = inv_std * (u - u.mean(axis=axes, keepdims=True)
                                    - xhat * (u * xhat).mean(axis=axes, keepdims=True))
                grad_x = Tensor._make(grad_x.astype(x.dtype, copy=False), False, None)
            if need_w:
                grad_w = Tensor._make((g * xhat).sum(axis=param_axes), False, None)
            if need_b:
                grad_b = Tensor._make(g.sum(axis=param_axes), False, None)
            return grad_x, grad_w, grad_b
        # create_graph=True: the same formulas as recorded Tensor ops, with xhat and s
        # recomputed from x so that their own dependence on x is differentiated too
        g = grad_output
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        s = 1 / ((centered * centered).mean(axis=axes, keepdims=True) + ctx.eps).sqrt()
        xhat = centered * s
        u = g if weight is None else g * weight.reshape(_param_view(g.shape, param_axes))
        grad_x = (s * (u - u.mean(axis=axes, keepdims=True)
                       - xhat * (u * xhat).mean(axis=axes, keepdims=True)) if need_x else None)
        grad_w = (g * xhat).sum(axis=param_axes) if need_w else None
        grad_b = g.sum(axis=param_axes) if need_b else None
        return grad_x, grad_w, grad_b


def _param_view(shape: tuple, param_axes: tuple) -> tuple:
    """The shape a weight takes to broadcast against x: x's shape with param_axes set to 1
    ((C,) -> (1, C, 1, 1) for batch norm; unchanged (*normalized_shape) for layer norm)."""
    return tuple(1 if i in param_axes else n for i, n in enumerate(shape))


def _check_param(op: str, label: str, value, shape: tuple) -> None:
    if value is not None and tuple(np.shape(_array(value))) != shape:
        raise ValueError(f"{op}: {label} has shape {np.shape(_array(value))}, but the input "
                         f"needs shape {shape}")


# ---------------------------------------------------------------------------------------
# the functions
# ---------------------------------------------------------------------------------------


def batch_norm(input: Tensor, running_mean, running_var, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over every axis but the channel axis 1, as PyTorch.

    For input (N, C), (N, C, L) or (N, C, H, W), per channel c:

        y = weight_c * (x - mu_c) / sqrt(var_c + eps) + bias_c.

    Training: mu_c and var_c are the batch's mean and biased variance (over the
    n = N*L or N*H*W values of channel c), and the running buffers are updated in place:

        running_mean = (1 - momentum) * running_mean + momentum * mu_c
        running_var  = (1 - momentum) * running_var  + momentum * var_c * n / (n - 1)

    (the running variance uses the unbiased estimate, as PyTorch does). Evaluation
    (training=False): mu_c and var_c are the running buffers, and nothing changes.

    Args:
        input: a Tensor of shape (N, C, ...).
        running_mean: a Tensor (or array) of shape (C,), or None (only with
            training=True: then nothing is tracked).
        running_var: the same, for the variance.
        weight: a Tensor of shape (C,), or None for 1.
        bias: a Tensor of shape (C,), or None for 0.
        training: use the batch's statistics (and update the running ones).
        momentum: the weight of the new batch in the running averages.
        eps: added to the variance, so that a constant channel does not divide by 0.
    """
    if not isinstance(input, Tensor):
        input = Tensor(np.asarray(input))
    if input.ndim < 2:
        raise ValueError(f"batch_norm: input must have a batch axis and a channel axis, "
                         f"(N, C, ...), got shape {input.shape}")
    channels = input.shape[1]
    for label, value in (("running_mean", running_mean), ("running_var", running_var),
                         ("weight", weight), ("bias", bias)):
        _check_param("batch_norm", label, value, (channels,))
    axes = (0,) + tuple(range(2, input.ndim))  # every axis but the channels
    view = _param_view(input.shape, axes)        # (1, C, 1, ...)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation (training=False) needs running_mean "
                             "and running_var; pass them, or training=True to use the "
                             "batch's own statistics")
        # the statistics are constants here, so y is an affine map of x: plain Tensor ops
        mean = _array(running_mean).reshape(view).astype(input.dtype, copy=False)
        inv_std = (1 / np.sqrt(_array(running_var) + eps)).reshape(view).astype(input.dtype,
                                                                             copy=False)
        out = (input - mean) * inv_std
        if weight is not None:
            out = out * weight.reshape(view)
        if bias is not None:
            out = out + bias.reshape(view)
        return out
    count = int(np.prod(input.shape)) // channels if channels else 0  # values per channel
    if count <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {input.shape} ({count} value per channel): the "
                         "variance of one value is 0. Use a batch of at least 2 samples, or "
                         "put the model in eval mode (model.eval()) for single samples")
    stats = {}  # the batch's mean and variance, filled in by Normalize's forward
    out = Normalize.apply(input, weight, bias, axes=axes, param_axes=axes, eps=eps,
                          stats=stats)
    if running_mean is not None:  # in place: the module's buffer is this very array
        buffer = _array(running_mean)
        buffer *= 1 - momentum
        buffer += momentum * stats["mean"].reshape(channels)
    if running_var is not None:  # with the unbiased variance: var * n / (n - 1)
        buffer = _array(running_var)
        buffer *= 1 - momentum
        buffer += momentum * stats["var"].reshape(channels) * (count / (count - 1))
    for running in (running_mean, running_var):
        if isinstance(running, Tensor):
            running._bump_version()
    return out


def layer_norm(input: Tensor, normalized_shape, weight=None, bias=None,
               eps: float = 1e-5) -> Tensor:
    """Layer normalization over the trailing `normalized_shape` axes, as PyTorch.

    For each sample (each index of the leading axes), with mu and var (biased) taken over
    its last len(normalized_shape) axes:

        y = weight * (x - mu) / sqrt(var + eps) + bias,

    weight and bias of shape normalized_shape (or None for 1 and 0).
    """
    if not isinstance(input, Tensor):
        input = Tensor(np.asarray(input))
    shape = _normalized_shape("layer_norm", normalized_shape)
    if input.shape[input.ndim - len(shape):] != shape or input.ndim < len(shape):
        raise ValueError(f"layer_norm: input of shape {input.shape} does not end with "
                         f"normalized_shape {shape}: the normalised axes are the last "
                         f"{len(shape)} of the input")
    _check_param("layer_norm", "weight", weight, shape)
    _check_param("layer_norm", "bias", bias, shape)
    lead = input.ndim - len(shape)
    return Normalize.apply(input, weight, bias, axes=tuple(range(lead, input.ndim)),
                           param_axes=tuple(range(lead)), eps=eps)


def _normalized_shape(op: str, normalized_shape) -> tuple:
    shape = ((normalized_shape,) if isinstance(normalized_shape, (int, np.integer))
             else tuple(normalized_shape))
    if not shape or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                            and n > 0 for n in shape):
        raise ValueError(f"{op}: normalized_shape must be a positive int or a non-empty "
                         f"tuple of them, got {normalized_shape!r}")
    return tuple(int(n) for n in shape)


# ---------------------------------------------------------------------------------------
# the modules
# ---------------------------------------------------------------------------------------


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ only in the input ranks."""

    ranks: tuple = ()
    layouts = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):
        super().__init__()
        name = type(self).__name__
        if (not isinstance(num_features, (int, np.integer)) or isinstance(num_features, bool)
                or num_features <= 0):
            raise ValueError(f"{name}: num_features must be a positive int, got "
                             f"{num_features!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1] (or None for a cumulative "
                             f"average), got {momentum}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        # the same keys, in the same order, as PyTorch's state dict: weight, bias,
        # running_mean, running_var, num_batches_tracked
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Back to mean 0, variance 1 and no batch seen."""
        if self.track_running_stats:
            for buffer, value in ((self.running_mean, 0), (self.running_var, 1),
                                  (self.num_batches_tracked, 0)):
                buffer.data[...] = value
                buffer._bump_version()

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in self.ranks:
            raise ValueError(f"{name}: expected {self.layouts} input, got shape {x.shape}"
                             + (" (a single sample? add the batch axis with x.unsqueeze(0))"
                                if x.ndim == min(self.ranks) - 1 else ""))
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: input of shape {x.shape} has {x.shape[1]} channels "
                             f"(axis 1), but the layer was made with num_features="
                             f"{self.num_features}")
        counting = self.training and self.track_running_stats
        factor = self.momentum
        if factor is None:  # cumulative moving average: batch k gets weight 1/k, which
            # makes the running mean the plain mean of all the batches seen
            factor = 1.0 / (int(self.num_batches_tracked.data) + 1) if counting else 0.0
        # in eval mode without running statistics, the batch's own are all there is
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        out = batch_norm(x, self.running_mean if track else None,
                         self.running_var if track else None, self.weight, self.bias,
                         training=use_batch_stats, momentum=factor, eps=self.eps)
        if counting:  # counted once batch_norm succeeded: a refused batch changes nothing
            self.num_batches_tracked.data += 1  # in place: a 0-d int64 array
            self.num_batches_tracked._bump_version()
        return out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs: one mean and variance per
    channel C, taken over N (and L). See `batch_norm` for the formulas.

    weight starts at 1 and bias at 0 (Parameters, with affine=True); the buffers
    running_mean (0), running_var (1) and num_batches_tracked (0) are in the state dict.
    momentum=None averages every batch seen equally (a cumulative average).

    Args:
        num_features: C, the number of channels (axis 1 of the input).
        eps: added to the variance before the square root.
        momentum: the weight of each new batch in the running averages, or None.
        affine: learn weight and bias (otherwise y = xhat).
        track_running_stats: keep the running averages; without them, evaluation uses
            the batch's own statistics too.
        dtype: of weight, bias and the running averages (default: tg's default dtype).
    """

    ranks, layouts = (2, 3), "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of images (N, C, H, W): one mean and variance per channel C,
    taken over N, H and W. See `BatchNorm1d` and `batch_norm`."""

    ranks, layouts = (4,), "4-D (N, C, H, W)"


class LayerNorm(Module):
    """Layer normalization: each sample normalised over its last axes (see `layer_norm`).

    normalized_shape is an int (the last axis, e.g. the features of a transformer) or a
    tuple of trailing sizes. weight (1) and bias (0) have shape normalized_shape.

    Args:
        normalized_shape: the sizes of the last axes to normalise over.
        eps: added to the variance before the square root.
        elementwise_affine: learn weight and bias (otherwise y = xhat).
        dtype: of weight and bias (default: tg's default dtype).
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape("LayerNorm", normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        shape = self.normalized_shape
        self.weight = Parameter(np.ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype=dtype)) if elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


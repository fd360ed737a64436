"""Layers and losses as plain functions: `import tinygrad_edu.nn.functional as F`.

The modules in `layers.py` and `losses.py` hold their options and call these. Most
functions here are built from the primitive ops in `ops.py`, so their gradients follow
from those; `linear`, `cross_entropy`, `nll_loss`, `binary_cross_entropy` and
`log_softmax` use the fused ops of `fused.py` (see there for why). Convolution, pooling,
normalization and embedding are written in their own files and are part of F too.

Losses follow PyTorch's definitions and argument names. `reduction` is "mean" (the
default), "sum" or "none" (one loss per element or sample).
"""

from __future__ import annotations

import numpy as np

from .. import fused
from ..rng import generator
from ..tensor import Tensor
from .conv import avg_pool2d, conv1d, conv2d, max_pool2d  # noqa: F401 (part of F)
from .embedding import embedding  # noqa: F401 (part of F)
from .normalization import batch_norm, layer_norm  # noqa: F401 (part of F)

# --- layers ---------------------------------------------------------------------------


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, with weight of shape (out_features, in_features), as PyTorch."""
    return fused.Linear.apply(_tensor(x), weight, bias)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot rows: shape `tensor.shape + (num_classes,)`, int64, a 1 at
    each index (as `torch.nn.functional.one_hot`). num_classes=-1: the largest index + 1.
    Multiply by weights or call `.float()` to use it in a matrix product."""
    index = np.asarray(getattr(tensor, "data", tensor))
    if index.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects integer class indices, got {index.dtype}; "
                        "convert with .long()")
    if index.size and index.min() < 0:
        raise ValueError(f"one_hot: class indices must be >= 0, got {index.min()}")
    if num_classes == -1:
        if not index.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass it")
        num_classes = int(index.max()) + 1
    elif index.size and index.max() >= num_classes:
        raise ValueError(f"one_hot: class index {index.max()} is not smaller than "
                         f"num_classes={num_classes}")
    return Tensor((index[..., None] == np.arange(num_classes)).astype(np.int64))


def relu(x: Tensor) -> Tensor:
    """max(0, x)"""
    return x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, negative_slope * x elsewhere"""
    return x.leaky_relu(negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x)"""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF ("tanh" for the tanh approximation)."""
    return x.gelu(approximate)


def softmax(x: Tensor, axis: int = -1, *, dim=None) -> Tensor:
    return x.softmax(axis, dim=dim)


def log_softmax(x: Tensor, axis: int = -1, *, dim=None) -> Tensor:
    return x.log_softmax(axis, dim=dim)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) ("inverted"
    dropout), so that the expected value is unchanged and evaluation needs no rescaling.
    Draws from `tg.generator()`, so `tg.manual_seed` makes it repeatable."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p is a probability in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * np.zeros((), dtype=x.dtype)
    keep = generator().random(x.shape) >= p
    # the mask is a constant: the gradient passes where the element was kept, scaled
    return x * (keep * np.asarray(1 / (1 - p), dtype=x.dtype))


def flatten(x: Tensor, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    """Merge axes start_dim..end_dim into one (by default all but the batch axis)."""
    return x.flatten(start_dim, end_dim)


# --- losses ---------------------------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _as_dtype(value, dtype):
    """A weight as an array of the input's dtype (so float32 losses stay float32)."""
    if value is None or (isinstance(value, Tensor) and value.requires_grad):
        return value
    return np.asarray(value.data if isinstance(value, Tensor) else value, dtype=dtype)


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of 'mean', 'sum' or 'none', "
                     f"got {reduction!r}")


def _same_shape(op: str, input: Tensor, target: Tensor) -> None:
    """Refuse input and target of different shapes (PyTorch only warns).

    The classic mistake is a (N, 1) prediction against a (N,) target: broadcasting makes
    an (N, N) matrix of every prediction against every target, and the loss is quietly
    wrong.
    """
    if input.shape != target.shape:
        hint = ""
        if input.shape == target.shape + (1,):
            hint = " (use input.squeeze(-1), or target.reshape(-1, 1))"
        elif target.shape == input.shape + (1,):
            hint = " (use target.squeeze(-1))"
        raise ValueError(f"{op}: input has shape {input.shape} but target has shape "
                         f"{target.shape}; they must be equal, since broadcasting them would "
                         f"compare every prediction with every target{hint}")


def _float_target(op: str, input: Tensor, target) -> Tensor:
    target = _tensor(target)
    if target.dtype != input.dtype:
        target = Tensor(target.data.astype(input.dtype)) if not target.requires_grad \
            else target.astype(input.dtype)
    _same_shape(op, input, target)
    return target


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((input - target)^2)."""
    target = _float_target("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean(|input - target|)."""
    target = _float_target("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction, "l1_loss")


def binary_cross_entropy(input: Tensor, target, weight=None,
                         reduction: str = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) for probabilities p = `input` in [0, 1].

    As in PyTorch, each log is clamped at -100, so p = 0 or 1 gives a large finite loss
    rather than inf. Prefer `binary_cross_entropy_with_logits` on the raw scores: it is
    exact where sigmoid-then-log rounds to 0.
    """
    target = _float_target("binary_cross_entropy", input, target)
    p = input.data
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1):
        raise ValueError(f"binary_cross_entropy: input must be probabilities in [0, 1], got "
                         f"values from {np.nanmin(p):g} to {np.nanmax(p):g}; apply sigmoid "
                         "first, or use binary_cross_entropy_with_logits on the raw scores")
    loss = fused.BinaryCrossEntropy.apply(input, target)
    weight = _as_dtype(weight, input.dtype)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed from the logits without overflow.

    With p = sigmoid(x): -log p = softplus(-x) and -log(1 - p) = softplus(x), so
        loss = y softplus(-x) + (1 - y) softplus(x) = softplus(x) - y x,
    and softplus(x) = ln(1 + e^x) is computed stably (max(x, 0) + ln(1 + e^-|x|)): the
    loss is exact for logits of +-1000, where sigmoid rounds to 0 or 1 and log(0) = -inf.
    The gradient is simply sigmoid(x) - y. `pos_weight` multiplies the positive term.
    """
    target = _float_target("binary_cross_entropy_with_logits", input, target)
    weight, pos_weight = _as_dtype(weight, input.dtype), _as_dtype(pos_weight, input.dtype)
    if pos_weight is None:
        loss = input.softplus() - target * input
    else:  # y pw softplus(-x) + (1 - y) softplus(x)
        loss = target * pos_weight * (-input).softplus() + (1 - target) * input.softplus()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _class_indices(op: str, input: Tensor, target) -> np.ndarray:
    """The target as an integer array of shape input.shape without the class axis (1)."""
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices (integers), got dtype "
                        f"{target.dtype}; convert with y.astype(np.int64)"
                        + (" (for probabilities per class, give a float target of the "
                           f"input's shape {input.shape})" if op == "cross_entropy" else ""))
    if target.shape != expected:
        raise ValueError(f"{op}: input of shape {input.shape} (class axis 1, "
                         f"{input.shape[1] if input.ndim > 1 else input.shape[0]} classes) "
                         f"needs a target of shape {expected}, got {target.shape}")
    return target


def nll_loss(input: Tensor, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: -input[n, target[n]], for log-probabilities `input`.

    `input` is (N, C), (C,) or (N, C, d1, ...) with the classes on axis 1, as in PyTorch;
    `target` holds class indices (N,) or (N, d1, ...). With `weight` (one per class) the
    mean is sum(w[y] * loss) / sum(w[y]); targets equal to `ignore_index` add nothing.
    """
    input = _tensor(input)
    if input.ndim == 0:
        raise ValueError("nll_loss: input needs a class axis, got a 0-d tensor")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"nll_loss: reduction must be one of 'mean', 'sum' or 'none', "
                         f"got {reduction!r}")
    target = _class_indices("nll_loss", input, target)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if input.ndim > 2:  # (N, C, d1, ...) -> (N*d1*..., C): the classes last, one row each
        axes = (0,) + tuple(range(2, input.ndim)) + (1,)
        input = input.permute(*axes).reshape(-1, classes)
    rows = input.reshape(1, classes) if input.ndim == 1 else input
    flat_target = target.reshape(-1)
    if flat_target.size and 0 <= flat_target.min() and flat_target.max() < classes and not (
            0 <= ignore_index < classes):  # the usual case, checked with two reductions
        every_row, keep, safe = True, None, flat_target
    else:
        keep = flat_target != ignore_index
        every_row = bool(keep.all())
        safe = flat_target if every_row else np.where(keep, flat_target, 0)
        if safe.size and (safe.min() < 0 or safe.max() >= classes):
            bad = flat_target[keep & ((flat_target < 0) | (flat_target >= classes))]
            raise IndexError(f"nll_loss: target {bad[0]} is out of range for {classes} "
                             f"classes (targets must be in 0..{classes - 1}, or ignore_index)")
    sample_weight = None  # each row's weight: w[target], and 0 for ignored rows
    if weight is not None:
        w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=input.dtype)
        if w.shape != (classes,):
            raise ValueError(f"nll_loss: weight needs one value per class, shape "
                             f"({classes},), got {w.shape}")
        sample_weight = w[safe] if every_row else w[safe] * keep
    elif not every_row:
        sample_weight = keep.astype(input.dtype)
    loss = fused.NLLLoss.apply(rows, target=safe, sample_weight=sample_weight,
                             reduction=reduction)
    return loss.reshape(target.shape) if reduction == "none" else loss


def cross_entropy(input: Tensor, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of the logits `input` against class indices `target`.

    The same as `nll_loss(log_softmax(input, axis=1), target)`. The log-softmax subtracts
    each row's maximum before exponentiating (see Tensor.logsumexp), so logits of 1000
    do not overflow. Shapes as in `nll_loss`: classes on axis 1 of (N, C) or
    (N, C, d1, ...). `target` may instead hold probabilities per class (a float tensor
    of the input's shape). `label_smoothing` eps mixes the one-hot target with the
    uniform distribution: (1 - eps) * onehot + eps / C, as PyTorch.
    """
    input = _tensor(input)
    if input.ndim == 0:
        raise ValueError("cross_entropy: input needs a class axis, got a 0-d tensor")
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    if label_smoothing and weight is not None:
        raise ValueError("cross_entropy: label_smoothing together with class weights is not "
                         "supported; use one or the other")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of 'mean', 'sum' or 'none', "
                         f"got {reduction!r}")
    class_axis = 1 if input.ndim > 1 else 0
    target_data = target.data if isinstance(target, Tensor) else np.asarray(target)
    if (input.ndim == 2 and weight is None and not label_smoothing and reduction != "none"
            and target_data.dtype.kind in "iu" and target_data.shape == input.shape[:1]
            and target_data.size and 0 <= target_data.min()
            and target_data.max() < input.shape[1] and not 0 <= ignore_index < input.shape[1]):
        # the usual case, (N, C) logits and valid class indices: one fused op (see
        # fused.CrossEntropy)
        return fused.CrossEntropy.apply(input, target=target_data, mean=reduction == "mean")
    log_p = fused.LogSoftmax.apply(input, axis=class_axis)
    if target_data.dtype.kind == "f" and target_data.shape == input.shape:
        # probabilities per class: -sum_c w_c q_c log p_c; the mean is over samples
        target = _float_target("cross_entropy", input, target)
        if weight is not None:
            w = np.asarray(weight.data if isinstance(weight, Tensor) else weight,
                           dtype=input.dtype)
            target = target * w.reshape((-1,) + (1,) * (input.ndim - class_axis - 1))
        loss = -(target * log_p).sum(axis=class_axis)
        if label_smoothing:
            classes = input.shape[class_axis]
            loss = (1 - label_smoothing) * loss - label_smoothing / classes * log_p.sum(
                axis=class_axis)
        return _reduce(loss, reduction, "cross_entropy")
    _class_indices("cross_entropy", input, target_data)
    loss = nll_loss(log_p, target_data, weight=weight, ignore_index=ignore_index,
                    reduction=reduction)
    if label_smoothing:
        # the uniform part: -(1/C) sum_c log p_c per sample, reduced the same way
        classes = input.shape[class_axis]
        smooth = -log_p.sum(axis=class_axis) / classes
        smooth = smooth * (target_data != ignore_index)
        if reduction == "mean":
            smooth = smooth.sum() / max(int((target_data != ignore_index).sum()), 1)
        else:
            smooth = _reduce(smooth, reduction, "cross_entropy")
        loss = (1 - label_smoothing) * loss + label_smoothing * smooth
    return loss


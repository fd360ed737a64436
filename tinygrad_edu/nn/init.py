"""Initialising weights, as `torch.nn.init`: each function fills a tensor in place.

Why it matters: with weights too large, activations grow layer after layer until
tanh/sigmoid saturate (and gradients vanish) or ReLU outputs explode; too small, and
everything shrinks to 0. The schemes below pick the spread from the layer's size so that
the variance of the activations stays about the same from layer to layer:

- Xavier/Glorot (for tanh and sigmoid): Var(w) = gain^2 * 2 / (fan_in + fan_out).
- Kaiming/He (for ReLU): Var(w) = gain^2 / fan_in, gain = sqrt(2) for ReLU, because ReLU
  zeroes half of its inputs and so halves the variance.

fan_in is the number of inputs of each output unit (in_features for a Linear weight of
shape (out, in); in_channels * kernel area for a convolution). Every draw comes from
`tg.generator()`, so `tg.manual_seed` makes initialisation repeatable.
"""

from __future__ import annotations

import math

import numpy as np

from ..rng import _rng
from ..tensor import Tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which a nonlinearity shrinks the spread of its inputs, as PyTorch."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r} (use linear, "
                     "sigmoid, tanh, relu, leaky_relu, selu or conv1d/2d/3d)")


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(inputs per output unit, outputs per input unit) of a weight of shape
    (out, in, *kernel): in * kernel area and out * kernel area."""
    if tensor.ndim < 2:
        raise ValueError(f"init: fan in and fan out need a weight with at least 2 axes, got "
                         f"shape {tensor.shape}")
    receptive_field = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    tensor.data[...] = values  # in place, keeping the dtype: an optimizer may hold it
    tensor._bump_version()
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with draws from U(a, b) (from `generator`, a tg.Generator, or the default)."""
    return _fill(tensor, _rng(generator, "uniform_").uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with draws from N(mean, std^2) (from `generator`, or the default)."""
    return _fill(tensor, _rng(generator, "normal_").normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, value: float) -> Tensor:
    return _fill(tensor, value)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)): variance 2/(fan_in+fan_out)."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))  # U(-a, a) has variance a^2 / 3
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """U(-b, b) with b = gain * sqrt(3 / fan): variance gain^2 / fan (He et al., 2015).

    `a` is the negative slope of a leaky ReLU (0: plain ReLU, gain sqrt(2)). nn.Linear's
    default initialisation is this with a = sqrt(5), which works out to
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)

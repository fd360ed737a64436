"""Continuous distributions: Normal, Uniform, Gamma."""

from __future__ import annotations

import math

import numpy as np

from ..ops import where
from ..tensor import Tensor
from .distribution import Distribution, as_parameter, as_value, broadcast_all, require
from .special import digamma, lgamma

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class Normal(Distribution):
    """The normal (Gaussian) distribution N(loc, scale^2).

        ln p(x) = -(x - loc)^2 / (2 scale^2) - ln scale - ln(2 pi) / 2

    rsample: x = loc + scale * eps with eps ~ N(0, 1), so dx/dloc = 1, dx/dscale = eps.
    """

    has_rsample = True
    _params = ("loc", "scale")

    def __init__(self, loc, scale):
        loc = as_parameter(loc, "Normal", "loc")
        scale = as_parameter(scale, "Normal", "scale")
        require(scale.data > 0, "Normal", "scale must be positive", scale)
        self.batch_shape, (self.loc, self.scale) = broadcast_all("Normal", loc=loc, scale=scale)

    @property
    def dtype(self):
        return self.loc.dtype

    def log_prob(self, value) -> Tensor:
        value = as_value(value, "Normal", self.dtype)
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - self.scale.log() - _HALF_LOG_2PI

    def rsample(self, shape=()) -> Tensor:
        eps = self._rng().standard_normal(self._sample_shape(shape)).astype(self.dtype)
        return self.loc + self.scale * Tensor(eps)  # the noise carries no parameter

    def sample(self, shape=()) -> Tensor:
        return self.rsample(shape).detach()

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return self.scale * self.scale

    def entropy(self) -> Tensor:
        # 0.5 ln(2 pi e scale^2) = 0.5 + 0.5 ln(2 pi) + ln scale
        return self.scale.log() + (0.5 + _HALF_LOG_2PI)


class Uniform(Distribution):
    """The uniform distribution on [low, high).

        ln p(x) = -ln(high - low) for low <= x < high, -inf outside

    rsample: x = low + (high - low) * u with u ~ U[0, 1).
    """

    has_rsample = True
    _params = ("low", "high")

    def __init__(self, low, high):
        low = as_parameter(low, "Uniform", "low")
        high = as_parameter(high, "Uniform", "high")
        require(np.asarray(low.data < high.data), "Uniform",
                "low must be below high (the gaps high - low are shown)", high.data - low.data)
        self.batch_shape, (self.low, self.high) = broadcast_all("Uniform", low=low, high=high)

    @property
    def dtype(self):
        return self.low.dtype

    def log_prob(self, value) -> Tensor:
        value = as_value(value, "Uniform", self.dtype)
        inside = (value.data >= self.low.data) & (value.data < self.high.data)
        # where() sends no gradient to the branch it does not pick, so -inf is harmless
        return where(inside, -(self.high - self.low).log(), -np.inf)

    def rsample(self, shape=()) -> Tensor:
        u = self._rng().random(self._sample_shape(shape)).astype(self.dtype)
        return self.low + (self.high - self.low) * Tensor(u)

    def sample(self, shape=()) -> Tensor:
        return self.rsample(shape).detach()

    @property
    def mean(self) -> Tensor:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> Tensor:
        width = self.high - self.low
        return width * width / 12

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()


class Gamma(Distribution):
    """The gamma distribution with shape `concentration` (alpha) and `rate` (beta).

        ln p(x) = alpha ln beta + (alpha - 1) ln x - beta x - lgamma(alpha),  x > 0

    Gradients reach both parameters: d lgamma(alpha)/d alpha is digamma(alpha) (see
    `special.py`). No rsample: the gamma's reparameterized sampler needs implicit
    differentiation, which this package does not implement.
    """

    _params = ("concentration", "rate")

    def __init__(self, concentration, rate):
        concentration = as_parameter(concentration, "Gamma", "concentration")
        rate = as_parameter(rate, "Gamma", "rate")
        require(concentration.data > 0, "Gamma", "concentration must be positive",
                concentration)
        require(rate.data > 0, "Gamma", "rate must be positive", rate)
        self.batch_shape, (self.concentration, self.rate) = broadcast_all(
            "Gamma", concentration=concentration, rate=rate)

    @property
    def dtype(self):
        return self.concentration.dtype

    def log_prob(self, value) -> Tensor:
        value = as_value(value, "Gamma", self.dtype)
        require(value.data > 0, "Gamma.log_prob", "values must be positive", value)
        alpha, beta = self.concentration, self.rate
        return alpha * beta.log() + (alpha - 1) * value.log() - beta * value - lgamma(alpha)

    def sample(self, shape=()) -> Tensor:
        draws = self._rng().gamma(self.concentration.data, 1 / self.rate.data,
                                  size=self._sample_shape(shape))
        return Tensor(draws.astype(self.dtype))

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def variance(self) -> Tensor:
        return self.concentration / (self.rate * self.rate)

    def entropy(self) -> Tensor:
        # alpha - ln beta + lgamma(alpha) + (1 - alpha) digamma(alpha)
        alpha = self.concentration
        return alpha - self.rate.log() + lgamma(alpha) + (1 - alpha) * digamma(alpha)

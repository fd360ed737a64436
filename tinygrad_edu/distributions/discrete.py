"""Discrete distributions: Bernoulli, Categorical, Poisson."""

from __future__ import annotations

import numpy as np

from ..ops import where
from ..tensor import Tensor
from .distribution import Distribution, as_parameter, as_value, require
from .special import lgamma_array


def _one_of(dist: str, probs, logits) -> None:
    if (probs is None) == (logits is None):
        raise ValueError(f"{dist}: give exactly one of probs and logits")


def _clip_away_from_zero_and_one(probs: Tensor) -> Tensor:
    # log(0) = -inf would turn 0 * log(0) into nan; the smallest step away keeps it finite
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clip(eps, 1 - eps)


class Bernoulli(Distribution):
    """A coin that shows 1 with probability p, given as `probs` = p or as `logits` =
    ln(p / (1 - p)).

        ln p(y) = y l - softplus(l)      (= -softplus(-l) for y = 1, -softplus(l) for 0)

    written with the logit l because ln(sigmoid(l)) rounds to ln(0) = -inf for l << 0,
    whereas softplus (ln(1 + e^l), computed without overflow) stays finite.
    """

    _params = ("probs",)

    def __init__(self, probs=None, logits=None):
        _one_of("Bernoulli", probs, logits)
        if probs is not None:
            probs = as_parameter(probs, "Bernoulli", "probs")
            require((probs.data >= 0) & (probs.data <= 1), "Bernoulli",
                    "probs must lie in [0, 1]", probs)
            self.probs = probs
            clipped = _clip_away_from_zero_and_one(probs)
            self.logits = clipped.log() - (1 - clipped).log()
        else:
            self.logits = as_parameter(logits, "Bernoulli", "logits")
            self.probs = self.logits.sigmoid()
        self.batch_shape = self.probs.shape

    @property
    def dtype(self):
        return self.logits.dtype

    def log_prob(self, value) -> Tensor:
        value = as_value(value, "Bernoulli", self.dtype)
        require((value.data == 0) | (value.data == 1), "Bernoulli.log_prob",
                "values must be 0 or 1", value)
        return value * self.logits - self.logits.softplus()

    def sample(self, shape=()) -> Tensor:
        u = self._rng().random(self._sample_shape(shape))
        return Tensor((u < self.probs.data).astype(self.dtype))

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def entropy(self) -> Tensor:
        # -p ln p - (1 - p) ln(1 - p) = softplus(l) - p l, since ln p = l - softplus(l)
        # and ln(1 - p) = -softplus(l)
        return self.logits.softplus() - self.probs * self.logits


class Categorical(Distribution):
    """One of K categories 0..K-1, with probabilities along the last axis of `probs`
    (normalised to sum to 1) or of `logits` (unnormalised log-probabilities).

        ln p(k) = log_softmax(logits)[k]

    log_softmax subtracts the largest logit before exponentiating, so large logits do
    not overflow. `mean` and `variance` treat the category index as a number.
    """

    _params = ("probs",)

    def __init__(self, probs=None, logits=None):
        _one_of("Categorical", probs, logits)
        if probs is not None:
            probs = as_parameter(probs, "Categorical", "probs")
            if probs.ndim == 0:
                raise ValueError("Categorical: probs needs a last axis of categories, got a "
                                 "0-d tensor")
            require(probs.data >= 0, "Categorical", "probs must be non-negative", probs)
            require(probs.data.sum(axis=-1) > 0, "Categorical",
                    "each row of probs needs a positive sum", probs.data.sum(axis=-1))
            self.probs = probs / probs.sum(axis=-1, keepdims=True)
            tiny = float(np.finfo(self.probs.dtype).tiny)
            self.logits = self.probs.clip(tiny, None).log()  # 0 * ln(tiny) = 0, not nan
        else:
            logits = as_parameter(logits, "Categorical", "logits")
            if logits.ndim == 0:
                raise ValueError("Categorical: logits needs a last axis of categories, got "
                                 "a 0-d tensor")
            self.logits = logits.log_softmax(axis=-1)
            self.probs = self.logits.exp()
        self.num_categories = self.probs.shape[-1]
        self.batch_shape = self.probs.shape[:-1]

    @property
    def dtype(self):
        return self.logits.dtype

    def _one_hot(self, value) -> np.ndarray:
        index = np.asarray(value.data if isinstance(value, Tensor) else value)
        require(index.astype(np.int64) == index, "Categorical.log_prob",
                "values must be integer category indices", index)
        require((index >= 0) & (index < self.num_categories), "Categorical.log_prob",
                f"values must lie in 0..{self.num_categories - 1}", index)
        # (..., K): 1 at each value's category; the product below picks ln p(k)
        return (index[..., None] == np.arange(self.num_categories)).astype(self.dtype)

    def log_prob(self, value) -> Tensor:
        # ln p(k) picked out of each row by where(), not by a product with the one-hot:
        # a category masked with logit -inf would give -inf * 0 = NaN in the product
        return where(self._one_hot(value), self.logits, 0.0).sum(axis=-1)

    def sample(self, shape=()) -> Tensor:
        # inverse CDF: the category is the number of cumulative probabilities below u
        cdf = np.cumsum(self.probs.data, axis=-1)
        u = self._rng().random(self._sample_shape(shape) + (1,))
        index = (u >= cdf).sum(axis=-1)
        return Tensor(np.minimum(index, self.num_categories - 1).astype(np.int64))

    @property
    def mean(self) -> Tensor:
        k = Tensor(np.arange(self.num_categories, dtype=self.dtype))
        return (self.probs * k).sum(axis=-1)

    @property
    def variance(self) -> Tensor:
        k = Tensor(np.arange(self.num_categories, dtype=self.dtype))
        mean = self.mean
        return (self.probs * k * k).sum(axis=-1) - mean * mean

    def entropy(self) -> Tensor:
        # a masked category (logit -inf, p = 0) adds 0 ln 0 = 0: clipping its logit to the
        # most negative finite number keeps 0 * logit at 0 instead of NaN, as PyTorch does
        lowest = float(np.finfo(self.dtype).min)
        return -(self.probs * self.logits.clip(lowest, None)).sum(axis=-1)


class Poisson(Distribution):
    """Counts of events that arrive at `rate` lambda per interval.

        ln p(k) = k ln lambda - lambda - ln(k!)     with ln(k!) = lgamma(k + 1)

    ln(k!) depends on the data only, so it is computed in NumPy as a constant.
    """

    _params = ("rate",)

    def __init__(self, rate):
        rate = as_parameter(rate, "Poisson", "rate")
        require(rate.data > 0, "Poisson", "rate must be positive", rate)
        self.rate = rate
        self.batch_shape = rate.shape

    @property
    def dtype(self):
        return self.rate.dtype

    def log_prob(self, value) -> Tensor:
        value = as_value(value, "Poisson", self.dtype)
        require((value.data >= 0) & (np.floor(value.data) == value.data)
                & np.isfinite(value.data), "Poisson.log_prob",
                "values must be finite non-negative integers", value)
        log_factorial = lgamma_array(value.data + 1).astype(self.dtype)
        return value * self.rate.log() - self.rate - Tensor(log_factorial)

    def sample(self, shape=()) -> Tensor:
        draws = self._rng().poisson(self.rate.data, size=self._sample_shape(shape))
        return Tensor(draws.astype(self.dtype))

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def variance(self) -> Tensor:
        return self.rate

    def entropy(self) -> Tensor:
        """-sum_k p(k) ln p(k), summed over k = 0 .. K (no closed form exists).

        K = rate + 20 sqrt(rate) + 20 leaves out a tail of probability far below 1e-20.
        """
        top = int(np.max(self.rate.data) + 20 * np.sqrt(np.max(self.rate.data)) + 20)
        k = np.arange(top + 1, dtype=self.dtype).reshape((-1,) + (1,) * self.rate.ndim)
        log_p = self.log_prob(np.broadcast_to(k, (top + 1,) + self.batch_shape))
        return -(log_p.exp() * log_p).sum(axis=0)

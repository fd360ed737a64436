"""The base class every distribution shares, and the helpers that turn arguments into
parameters.

A distribution holds its parameters as Tensors, broadcast to one common `batch_shape`,
so `Normal(tg.zeros(3), 1.0)` is three independent normals. `log_prob`, `mean`,
`variance` and `entropy()` are written with Tensor ops: gradients flow from them to the
parameters. `sample(shape)` draws `shape + batch_shape` values from `tg.generator()`
(so `tg.manual_seed` makes it repeatable) and carries no gradient; `rsample(shape)`,
where a distribution has one, writes the draw as a differentiable function of the
parameters and of parameter-free noise (the reparameterization trick).
"""

from __future__ import annotations

import numpy as np

from .. import rng
from ..dtypes import get_default_dtype
from ..tensor import Tensor


def as_parameter(value, dist: str, name: str) -> Tensor:
    """A float Tensor from a number, array or Tensor (integers become the default float
    dtype; a Tensor keeps its graph, so gradients reach it)."""
    if isinstance(value, Tensor):
        return value if value.dtype.kind == "f" else value.astype(get_default_dtype())
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{dist}: {name} must be a number, an array or a Tensor, got "
                        f"{type(value).__name__}")
    if array.dtype.kind != "f" or not isinstance(value, (np.ndarray, np.floating)):
        array = array.astype(get_default_dtype())  # Python floats: the default dtype
    return Tensor(array)


def broadcast_all(dist: str, **params: Tensor) -> tuple[tuple[int, ...], list[Tensor]]:
    """Expand every parameter to their common shape (the batch shape)."""
    shapes = {name: p.shape for name, p in params.items()}
    try:
        batch_shape = np.broadcast_shapes(*shapes.values())
    except ValueError:
        described = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{dist}: the parameter shapes {described} cannot be broadcast "
                         "together") from None
    return batch_shape, [p.expand(batch_shape) for p in params.values()]


def require(condition, dist: str, message: str, values) -> None:
    """Raise ValueError(`dist: message, got ...`) unless every element of `condition`."""
    condition = np.asarray(condition)
    if not condition.all():
        bad = np.asarray(values.data if isinstance(values, Tensor) else values)
        bad = bad[~np.broadcast_to(condition, bad.shape)] if bad.ndim else bad
        raise ValueError(f"{dist}: {message}, got {np.ravel(bad)[:5].tolist()}")


def as_value(value, dist: str, dtype) -> Tensor:
    """The argument of log_prob as a Tensor of the parameters' float dtype."""
    if isinstance(value, Tensor):
        return value if value.dtype == dtype else value.astype(dtype)
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{dist}.log_prob: the value must be numbers, an array or a "
                        f"Tensor, got {type(value).__name__}")
    return Tensor(array.astype(dtype))


class Distribution:
    """A family of probability distributions, with `batch_shape` independent members."""

    batch_shape: tuple[int, ...] = ()
    has_rsample = False
    _params: tuple[str, ...] = ()  # the parameter attributes that repr shows

    def _sample_shape(self, shape) -> tuple[int, ...]:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        return shape + tuple(self.batch_shape)

    @staticmethod
    def _rng() -> np.random.Generator:
        return rng.generator()

    @property
    def dtype(self):
        raise NotImplementedError

    def log_prob(self, value) -> Tensor:
        """ln p(value), elementwise over the batch (and any leading sample axes)."""
        raise NotImplementedError

    def sample(self, shape=()) -> Tensor:
        """`shape + batch_shape` draws, without gradient."""
        raise NotImplementedError

    def rsample(self, shape=()) -> Tensor:
        """`shape + batch_shape` draws through which gradients reach the parameters."""
        raise NotImplementedError(
            f"{type(self).__name__}.rsample: this distribution has no reparameterized "
            "sampler; use sample() (no gradient) or a score-function estimator with "
            "log_prob")

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        """sqrt(variance)."""
        return self.variance.sqrt()

    def entropy(self) -> Tensor:
        """-E[ln p(X)], in nats."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name).tolist()}" for name in self._params)
        return f"{type(self).__name__}({args})"

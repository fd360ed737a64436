"""The layers: Linear, Sequential, the activations, Dropout, Flatten, Identity.

Each one is a small Module whose `forward` calls a function from `functional.py`; the
module only keeps the parameters and options.
"""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x @ weight.T + bias: every output is a weighted sum of every input.

    weight has shape (out_features, in_features) and bias (out_features,), as in PyTorch,
    and both start as PyTorch's do: U(-1/sqrt(in_features), 1/sqrt(in_features)) (that
    is kaiming_uniform_ with a = sqrt(5)), drawn from `tg.generator()`. x may have any
    number of leading axes: (batch, in) or (batch, seq, in).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        for label, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"Linear: {label} must be a positive int, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            bound = 1 / math.sqrt(in_features)
            self.bias = init.uniform_(Parameter(np.empty(out_features, dtype=dtype)),
                                      -bound, bound)
        else:
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Sequential(Module):
    """Modules applied one after another: Sequential(a, b, c)(x) = c(b(a(x))).

    The layers are named "0", "1", ... (so the first Linear's weight is "0.weight", as in
    PyTorch); index, slice, iterate and `append` like a list.
    """

    def __init__(self, *modules: Module):
        super().__init__()
        self._names: list[str] = []  # the layers' attribute names, in order (kept so that
        for module in modules:       # forward need not walk the attributes every call)
            self.append(module)

    def _add(self, name: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: every layer must be a Module, got "
                            f"{type(module).__name__} (wrap functions in a Module, or use "
                            "tg.nn.ReLU() rather than tg.relu)")
        setattr(self, name, module)
        if name not in self._names:
            self._names.append(name)

    def append(self, module: Module) -> Sequential:
        """Add a layer at the end, named one more than the last number used."""
        numbers = [int(name) for name in self._names if name.isdigit()]
        self._add(str(max(numbers) + 1 if numbers else 0), module)
        return self

    def _layers(self) -> list[Module]:
        return [getattr(self, name) for name in self._names]

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self):
        return iter(self._layers())

    def __getitem__(self, index):
        if isinstance(index, slice):  # a new Sequential that keeps the layers' names
            part = Sequential()
            for name in self._names[index]:
                part._add(name, getattr(self, name))
            return part
        return getattr(self, self._names[index])

    def __setitem__(self, index: int, module: Module) -> None:
        """Replace a layer: `model[2] = nn.Linear(16, 4)`."""
        self._add(self._names[index], module)

    def forward(self, x):
        for name in self._names:
            x = getattr(self, name)(x)
        return x


class Identity(Module):
    """Returns its input unchanged (a placeholder where a layer is optional)."""

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge axes start_dim..end_dim: (batch, 8, 8) -> (batch, 64) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """While training, zero each element with probability p and scale the rest by
    1/(1-p); in eval mode, pass the input through unchanged."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p is a probability in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# --- activations: each the module form of a Tensor method -------------------------------

class ReLU(Module):
    """max(0, x)"""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise"""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return x.leaky_relu(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + e^-x)"""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class GELU(Module):
    """x * Phi(x); approximate="tanh" for the tanh approximation."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return x.gelu(self.approximate)

    def extra_repr(self) -> str:
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"


class Softmax(Module):
    """e^x / sum(e^x) along `axis` (PyTorch's `dim` is accepted too)."""

    def __init__(self, axis: int = -1, *, dim: int | None = None):
        super().__init__()
        self.axis = axis if dim is None else dim

    def forward(self, x: Tensor) -> Tensor:
        return x.softmax(self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """x - logsumexp(x) along `axis`."""

    def forward(self, x: Tensor) -> Tensor:
        return x.log_softmax(self.axis)

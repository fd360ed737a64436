"""The Tensor: a NumPy array, plus what it takes to go backward through it.

A Tensor holds `data` (an ndarray), `requires_grad`, `grad` (filled in by backward) and
`grad_fn`: the op (a `Function` node, see `engine.py`) that produced it, or None for a
tensor you made yourself (a *leaf*). Following `grad_fn` and its `inputs` from any
result walks the whole computation back to the leaves: that is the graph.

Every method is spelled out here and calls its op from `ops.py` (or `fused.py`)
explicitly, so that searching for `def relu` finds it. Composite ops (mean, var, softmax,
logsumexp, ...) are written right here out of primitive ones; their gradients follow
from the primitives'.

Floors: this file sits on the engine and the ops (it imports them, they never import
it), and hands the Tensor class to the engine right after defining it
(`engine.register_tensor_class`), so that ops and backward make Tensors.
"""

from __future__ import annotations

import operator
import weakref

import numpy as np

from . import debug, engine, fused, ops
from .dtypes import get_default_dtype


def _to_array(data, dtype) -> np.ndarray:
    """The ndarray for `Tensor(data)`: Python floats become the default dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return np.array(data, dtype=dtype)  # a copy, as torch.tensor(array) makes
    array = np.array(data, dtype=dtype)
    if dtype is None and array.dtype == np.float64 and not isinstance(data, np.floating):
        array = array.astype(get_default_dtype())  # Python floats -> float32 by default
    if array.dtype == object:
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} data "
                        f"({data!r:.60}): use numbers, nested lists of equal length, or arrays")
    return array


def _shape_args(shape: tuple, op: str) -> tuple:
    """Accept both `f(2, 3)` and `f((2, 3))`, as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        return tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: a shape is a sequence of ints, got {shape!r}") from None


def _axis_args(op: str, axis, keepdims, dim, keepdim):
    """NumPy's `axis`/`keepdims`, with PyTorch's `dim`/`keepdim` accepted as aliases."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: give axis or dim, not both")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return axis, bool(keepdims)


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Args:
        data: a number, a (nested) list, an ndarray or a Tensor. The data is copied.
            Python floats become `tg.get_default_dtype()` (float32); an ndarray keeps its
            dtype; integers stay integers.
        requires_grad: record ops on this tensor so that `backward` can fill its `.grad`.
            Only floating tensors can require grad.
        dtype: convert to this NumPy dtype.
        name: a label for graphs and error messages.
    """

    # Defaults for every tensor; an op's output sets only what differs (see _make).
    requires_grad = False
    grad_fn = None   # the Function node that computed this tensor (None: a leaf)
    _grad = None     # d(whatever .backward() was called on)/d(this tensor): see `grad`
    name = None
    _hooks = None    # hooks on a leaf (a non-leaf's hooks live on its grad_fn)
    # How many times the data was written in place through the library (an optimizer
    # step, nn.init, load_state_dict, ...), as PyTorch's `t._version`; and when the last
    # write happened, on the engine's clock (engine.tick), so that a node can tell
    # whether a tensor it saved was changed after it was recorded.
    _version = 0
    _written_at = -1

    # NumPy would otherwise treat a Tensor as an array-like in `ndarray + tensor` and drop
    # the graph; with this, NumPy hands the operation to Tensor.__radd__ and friends.
    __array_ufunc__ = None
    # == returns a boolean Tensor (as in NumPy), so hashing must go by identity.
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data = _to_array(data, dtype)
        if name is not None:
            self.name = name
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool, grad_fn) -> Tensor:
        """Wrap an array an op produced, without checks or copies (the fast path)."""
        t = object.__new__(Tensor)
        t.data = data
        if requires_grad:
            t.requires_grad = True
            t.grad_fn = grad_fn
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set `requires_grad` on a leaf, in place; returns the tensor."""
        if self.grad_fn is not None:
            raise RuntimeError("requires_grad_: only a leaf tensor's requires_grad can be set; "
                               "this one was computed by " + self.grad_fn.name +
                               ". Use .detach().requires_grad_() for a new leaf")
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating point tensors can require gradients, and this one is "
                f"{self.data.dtype}: create it with floats (e.g. tg.Tensor([1.0, 2.0])) or "
                "convert it with .float() first")
        self.requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self) -> Tensor | None:
        """d(whatever `.backward()` was called on)/d(this tensor), once backward has run.

        Kept for leaves. A non-leaf (a result of an op) keeps its gradient only after
        `.retain_grad()`; reading it otherwise gives None and, once, a warning that says so
        (as PyTorch does).
        """
        if self._grad is None and self.grad_fn is not None:
            retained = self.grad_fn._retained
            if retained is None or retained() is not self:
                debug.warn_once(
                    "non_leaf_grad",
                    f"reading .grad of a tensor computed by {self.grad_fn.name}: only leaves "
                    "(tensors you created) keep their gradient, so this is None. Call "
                    ".retain_grad() on it before backward() to keep it, or read the .grad of "
                    "the leaves")
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        self._grad = value

    def _bump_version(self) -> None:
        """Note an in-place write to the data (the library calls it for each one)."""
        self._version += 1
        self._written_at = engine.tick()

    # --- plain values -----------------------------------------------------------------

    # The array's own shape, ndim and dtype. (attrgetter reads them in C, without a Python
    # call: backward formulas ask for shapes all the time.)
    shape = property(operator.attrgetter("data.shape"), doc="The shape, as NumPy's.")
    ndim = property(operator.attrgetter("data.ndim"), doc="The number of axes.")
    dtype = property(operator.attrgetter("data.dtype"), doc="The NumPy dtype.")

    @property
    def is_leaf(self) -> bool:
        """True for a tensor you made (no `grad_fn`); only leaves keep `.grad` by default."""
        return self.grad_fn is None

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no first axis")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shared, not copied)."""
        return self.data

    def item(self):
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python number; "
                             f"this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """The data as (nested) Python lists."""
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        # np.array(t) asks for copy=True: its caller may write into the result
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous: "
                             "use (t).any() / .all() on .data, or compare one element")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extras = [f"dtype={self.data.dtype}"] if self.data.dtype != get_default_dtype() else []
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "Tensor(" + ", ".join([body] + extras) + ")"

    # --- autograd ---------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        Gradients are *added* to each leaf's `.grad` (zero them between steps).
        `gradient` is dL/d(this tensor); it may be omitted for a one-element tensor.
        Without `retain_graph=True` the graph's saved values are freed, and a second
        backward through it raises. With `create_graph=True` the backward pass is itself
        recorded, so the gradients can be differentiated again.
        """
        engine.backward(self, gradient, retain_graph, create_graph)

    def detach(self) -> Tensor:
        """The same data (shared) as a new leaf, cut off from the graph."""
        return Tensor._make(self.data, False, None)

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor too (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so it will "
                               "never get one")
        if self.grad_fn is not None:
            self.grad_fn._retained = weakref.ref(self)

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; it may return a
        replacement gradient. Returns a handle with `.remove()`."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does "
                               "not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self.grad_fn._hooks is None:
                self.grad_fn._hooks = []
            hooks = self.grad_fn._hooks
        hooks.append(hook)
        return engine.RemovableHandle(hooks, hook)

    # --- dtype ------------------------------------------------------------------------

    def astype(self, dtype) -> Tensor:
        """Convert to `dtype`; differentiable between floating dtypes."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if dtype.kind == "f" and self.data.dtype.kind == "f":
            return ops.Cast.apply(self, dtype=dtype)
        return Tensor._make(self.data.astype(dtype), False, None)  # not differentiable

    def float(self) -> Tensor:
        """As float32."""
        return self.astype(np.float32)

    def double(self) -> Tensor:
        """As float64."""
        return self.astype(np.float64)

    # --- operators --------------------------------------------------------------------

    def __add__(self, other):
        return ops.Add.apply(self, other)

    def __radd__(self, other):
        return ops.Add.apply(other, self)

    def __sub__(self, other):
        return ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return ops.Sub.apply(other, self)

    def __mul__(self, other):
        return ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return ops.Mul.apply(other, self)

    def __truediv__(self, other):
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return ops.Div.apply(other, self)

    def __pow__(self, other):
        return ops.Pow.apply(self, other)

    def __rpow__(self, other):
        return ops.Pow.apply(other, self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return ops.MatMul.apply(other, self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __abs__(self):
        return ops.Abs.apply(self)

    def abs(self) -> Tensor:
        """|x|, elementwise."""
        return ops.Abs.apply(self)

    # comparisons give boolean tensors and no gradient (a step function's derivative is 0)

    def _compare(self, other, fn) -> Tensor:
        return Tensor._make(np.asarray(ops.broadcasting(fn.__name__, fn, self, other)),
                            False, None)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=_normalize_index(index))

    def __setitem__(self, index, value):
        raise TypeError(
            "Tensor does not support item assignment: ops build new tensors so that the graph "
            "stays correct. Build the result with tg.where(mask, new, old) or tg.cat, or, "
            "outside of autograd, write into the array: t.data[index] = value")

    # --- elementwise math -------------------------------------------------------------

    def exp(self) -> Tensor:
        """e^x."""
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        """Natural logarithm."""
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        """Square root."""
        return ops.Sqrt.apply(self)

    def sin(self) -> Tensor:
        """Sine."""
        return ops.Sin.apply(self)

    def cos(self) -> Tensor:
        """Cosine."""
        return ops.Cos.apply(self)

    def tanh(self) -> Tensor:
        """Hyperbolic tangent."""
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-x), computed without overflow."""
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        """max(x, 0); its derivative at 0 is taken as 0, as in PyTorch."""
        return ops.Relu.apply(self)

    def leaky_relu(self, slope: float = 0.01) -> Tensor:
        """x for x > 0, slope * x otherwise (PyTorch's default slope 0.01)."""
        return ops.LeakyRelu.apply(self, slope=slope)

    def gelu(self, approximate: str = "none") -> Tensor:
        """x * Phi(x), Phi the standard normal CDF: exact with erf (PyTorch's default), or
        the tanh approximation with `approximate="tanh"`."""
        if approximate == "tanh":
            inner = (self + 0.044715 * self ** 3) * float(np.sqrt(2 / np.pi))
            return 0.5 * self * (1 + inner.tanh())
        if approximate != "none":
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return 0.5 * self * (1 + ops.Erf.apply(self * float(1 / np.sqrt(2))))

    def softplus(self) -> Tensor:
        """ln(1 + e^x), computed without overflow; its derivative is sigmoid(x)."""
        return ops.Softplus.apply(self)

    def clip(self, lo=None, hi=None) -> Tensor:
        """Limit values to [lo, hi] (either may be None); the gradient is 0 where clipped."""
        if lo is None and hi is None:
            raise ValueError("clip: give lo, hi or both")
        return ops.Clip.apply(self, lo=ops._data(lo), hi=ops._data(hi))

    def maximum(self, other) -> Tensor:
        """Elementwise max(x, other); on a tie each side gets half the gradient."""
        return ops.Maximum.apply(self, other)

    def minimum(self, other) -> Tensor:
        """Elementwise min(x, other); on a tie each side gets half the gradient."""
        return ops.Minimum.apply(self, other)

    # --- reductions -------------------------------------------------------------------

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """Sum over `axis` (all axes by default)."""
        axis, keepdims = _axis_args("sum", axis, keepdims, dim, keepdim)
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """Largest value over `axis` (values only, as NumPy; ties share the gradient)."""
        axis, keepdims = _axis_args("max", axis, keepdims, dim, keepdim)
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """Smallest value over `axis` (values only, as NumPy; ties share the gradient)."""
        axis, keepdims = _axis_args("min", axis, keepdims, dim, keepdim)
        return ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """Average over `axis`: sum / count."""
        axis, keepdims = _axis_args("mean", axis, keepdims, dim, keepdim)
        count = _count(self.shape, axis, "mean")
        return self.sum(axis=axis, keepdims=keepdims) / count

    def var(self, axis=None, keepdims=False, ddof: int = 0, *, dim=None,
            keepdim=None) -> Tensor:
        """Variance: mean squared distance from the mean, divided by (n - ddof).

        ddof=0 (NumPy's default) is the population variance; ddof=1 the unbiased
        estimate (PyTorch's default, which it calls correction=1).
        """
        axis, keepdims = _axis_args("var", axis, keepdims, dim, keepdim)
        count = _count(self.shape, axis, "var")
        if count - ddof <= 0:
            raise ValueError(f"var: {count} element(s) with ddof={ddof} leave no degrees of "
                             "freedom (n - ddof must be positive)")
        centered = self - self.mean(axis=axis, keepdims=True)
        return (centered * centered).sum(axis=axis, keepdims=keepdims) / (count - ddof)

    def std(self, axis=None, keepdims=False, ddof: int = 0, *, dim=None,
            keepdim=None) -> Tensor:
        """Standard deviation: sqrt(var)."""
        return self.var(axis, keepdims, ddof, dim=dim, keepdim=keepdim).sqrt()

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """log(sum(exp(x))) over `axis`, without overflow.

        e^1000 overflows, so the max m is taken out first: log(sum(e^x)) =
        m + log(sum(e^(x - m))), where every e^(x - m) <= 1. m is detached: the two
        places it appears cancel in the derivative, which is softmax(x) either way.
        """
        axis, keepdims = _axis_args("logsumexp", axis, keepdims, dim, keepdim)
        axes = ops._normalize_axes(axis, self.ndim, "logsumexp")
        shift = self.data.max(axis=axes, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0)  # a row of all -inf stays -inf
        out = (self - shift).exp().sum(axis=axes, keepdims=True).log() + shift
        return out if keepdims else out.squeeze(axes)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """Index of the largest value (an integer tensor, no gradient)."""
        axis, keepdims = _axis_args("argmax", axis, keepdims, dim, keepdim)
        return Tensor._make(np.asarray(np.argmax(self.data, axis=axis, keepdims=keepdims)),
                            False, None)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """Index of the smallest value (an integer tensor, no gradient)."""
        axis, keepdims = _axis_args("argmin", axis, keepdims, dim, keepdim)
        return Tensor._make(np.asarray(np.argmin(self.data, axis=axis, keepdims=keepdims)),
                            False, None)

    def softmax(self, axis: int = -1, *, dim=None) -> Tensor:
        """e^x / sum(e^x) along `axis`; the max is subtracted first so e^x cannot overflow
        (softmax(x - c) = softmax(x) for any constant c)."""
        if dim is not None and axis == -1:
            axis = None  # -1 is only the default: PyTorch's `dim` replaces it
        axis, _ = _axis_args("softmax", axis, False, dim, None)
        shift = self.data.max(axis=axis, keepdims=True)
        e = (self - np.where(np.isfinite(shift), shift, 0)).exp()
        return e / e.sum(axis=axis, keepdims=True)

    def log_softmax(self, axis: int = -1, *, dim=None) -> Tensor:
        """x - logsumexp(x) along `axis`: the log of softmax, without computing log(0)."""
        if dim is not None and axis == -1:
            axis = None  # -1 is only the default: PyTorch's `dim` replaces it
        axis, _ = _axis_args("log_softmax", axis, False, dim, None)
        if self.ndim == 0:
            raise ValueError("log_softmax: needs at least one axis, got a 0-d tensor")
        if axis is not None:  # None: over all the elements, as logsumexp
            (axis,) = ops._normalize_axes(axis, self.ndim, "log_softmax")
        return fused.LogSoftmax.apply(self, axis=axis)

    # --- shape ------------------------------------------------------------------------

    def reshape(self, *shape) -> Tensor:
        """The same elements in a new shape; one size may be -1 (inferred)."""
        shape = _shape_args(shape, "reshape")
        if shape == self.data.shape:
            return self
        return ops.Reshape.apply(self, shape=shape)

    def transpose(self, *axes) -> Tensor:
        """Permute the axes, as `np.transpose`: no arguments reverses them.

        Note for PyTorch users: `torch.transpose(x, 0, 1)` swaps two axes; here, as in
        NumPy, `transpose` takes a full permutation. Use `swapaxes(0, 1)` to swap two.
        """
        axes = _shape_args(axes, "transpose") if axes else tuple(reversed(range(self.ndim)))
        in_range = all(-self.ndim <= a < self.ndim for a in axes)
        if not in_range or sorted(a % self.ndim for a in axes) != list(range(self.ndim)):
            hint = (f"; to swap two axes use swapaxes{axes}" if len(axes) == 2 else "")
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{self.ndim} axes of a tensor of shape {self.shape}{hint}")
        axes = tuple(a % self.ndim for a in axes)
        return ops.Transpose.apply(self, axes=axes)

    def permute(self, *axes) -> Tensor:
        """Permute the axes (PyTorch's name for `transpose(*axes)`)."""
        return self.transpose(*axes)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Swap two axes (PyTorch's `transpose(dim0, dim1)`)."""
        axis1, axis2 = (ops._normalize_axes(a, self.ndim, "swapaxes")[0] for a in (axis1, axis2))
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return self.transpose(*axes)

    @property
    def T(self) -> Tensor:
        """The axes reversed (the matrix transpose for 2-D)."""
        return self.transpose()

    def expand(self, *shape) -> Tensor:
        """Broadcast to a larger shape without copying; -1 keeps a size."""
        shape = _shape_args(shape, "expand")
        lead = len(shape) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}: "
                             "the new shape has fewer axes")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                      for i, n in enumerate(shape))
        if shape == self.data.shape:
            return self
        return ops.Expand.apply(self, shape=shape)

    def squeeze(self, axis=None) -> Tensor:
        """Remove axes of size 1 (all of them, or the given ones: an error if not size 1)."""
        axes = ops._normalize_axes(axis, self.ndim, "squeeze")
        if axis is None:
            axes = tuple(i for i in axes if self.shape[i] == 1)
        for i in axes:
            if self.shape[i] != 1:
                raise ValueError(f"squeeze: axis {i} has size {self.shape[i]}, not 1 "
                                 f"(tensor of shape {self.shape})")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert an axis of size 1 at position `axis`."""
        ndim = self.ndim + 1
        if not -ndim <= axis < ndim:
            raise ValueError(f"unsqueeze: axis {axis} is out of range for a result with "
                             f"{ndim} dimensions")
        axis %= ndim
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def flatten(self, start: int = 0, end: int = -1) -> Tensor:
        """Merge axes `start` to `end` (inclusive) into one, as `torch.flatten`."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start % self.ndim, end % self.ndim
        if start > end:
            raise ValueError(f"flatten: start axis {start} comes after end axis {end}")
        merged = int(np.prod(self.shape[start:end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

    def pad(self, widths, value=0) -> Tensor:
        """Pad with a constant; `widths` as `np.pad`: one (before, after) pair per axis."""
        try:
            pairs = np.broadcast_to(np.asarray(widths, dtype=int), (self.ndim, 2))
        except ValueError:
            raise ValueError(f"pad: widths {widths!r} do not fit a tensor of shape {self.shape}: "
                             "give one (before, after) pair per axis") from None
        if (pairs < 0).any():
            raise ValueError(f"pad: widths must be >= 0, got {widths!r}")
        return ops.Pad.apply(self, widths=tuple(map(tuple, pairs.tolist())), value=value)

    # --- products ---------------------------------------------------------------------

    def matmul(self, other) -> Tensor:
        """Matrix product, as `np.matmul` (also `x @ y`)."""
        return ops.MatMul.apply(self, other)

    def dot(self, other) -> Tensor:
        """Dot product of two 1-D tensors (or `np.dot` for matrices: the matrix product)."""
        if self.ndim > 2 or np.ndim(ops._data(other)) > 2:
            raise ValueError(f"dot: for tensors with more than 2 axes (shapes {self.shape} and "
                             f"{np.shape(ops._data(other))}) use matmul or einsum")
        return ops.MatMul.apply(self, other)


# The engine makes the outputs of ops and the gradients of backward with this class.
engine.register_tensor_class(Tensor)


def _count(shape: tuple, axis, op: str) -> int:
    """How many elements a reduction over `axis` combines."""
    return int(np.prod([shape[a] for a in ops._normalize_axes(axis, len(shape), op)]))


def _normalize_index(index):
    """Tensors in an index become their arrays, lists become arrays (as NumPy reads them)."""
    if isinstance(index, tuple):
        return tuple(_normalize_index(i) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, list):
        index = np.asarray(index)
    if isinstance(index, np.ndarray) and index.dtype.kind not in "biu":
        raise IndexError(f"index: arrays used as indices must be integer or boolean, "
                         f"got {index.dtype}")
    return index



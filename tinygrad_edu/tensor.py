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
from collections import namedtuple

import numpy as np

from . import debug, engine, fused, ops
from .device import CPU, as_device
from .device import device as Device
from .dtypes import as_dtype, get_default_dtype
from .grad_mode import _grad_mode
from .rng import _rng


def _to_array(data, dtype) -> np.ndarray:
    """The ndarray for `Tensor(data)`: Python floats become the default dtype."""
    if dtype is not None:
        dtype = as_dtype(dtype, "Tensor")
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, range):
        data = np.arange(data.start, data.stop, data.step)
    try:
        array = np.array(data, dtype=dtype)  # a copy, as torch.tensor(array) makes
    except (TypeError, ValueError) as error:  # ragged lists, strings with a float dtype
        raise _not_numbers(data, f" ({error})") from None
    if (dtype is None and array.dtype == np.float64 and not isinstance(data, np.ndarray)
            and not isinstance(data, np.floating)):
        array = array.astype(get_default_dtype())  # Python floats -> float32 by default
    if array.dtype.kind == "f" and array.dtype.itemsize < 4:
        as_dtype(array.dtype, "Tensor")  # float16: a clear error
    if array.dtype.kind not in "biuf":  # strings, objects, dates, complex: not numbers
        raise _not_numbers(data, f" (NumPy made it {array.dtype})")
    return array


def _not_numbers(data, why: str) -> TypeError:
    return TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} data "
                     f"{data!r:.60}{why}: a tensor holds numbers; use numbers, bools, nested "
                     "lists of equal length, or numeric arrays")


def _shape_args(shape: tuple, op: str) -> tuple:
    """Accept both `f(2, 3)` and `f((2, 3))`, as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:  # (operator.index takes ints and NumPy ints, and refuses 2.5: no silent rounding)
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"{op}: a shape is a sequence of ints, got {shape!r}") from None


def _names_dtype(text: str) -> bool:
    """Is `text` a dtype's name ("float32", "int64"), as NumPy reads it?"""
    try:
        np.dtype(text)
    except TypeError:
        return False
    return True


def _sizes(shape: tuple, op: str) -> tuple:
    """A shape for a new tensor (zeros, randn, ...): ints, none of them negative."""
    shape = _shape_args(shape, op)
    if any(n < 0 for n in shape):
        raise ValueError(f"{op}: sizes must be >= 0, got {shape}")
    return shape


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

    # == returns a boolean Tensor (as in NumPy), so hashing must go by identity.
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None,
                 *, device=None):
        as_device(device, "Tensor")
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
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"grad: assign a Tensor or None, got {type(value).__name__}")
        if value is not None and value.shape != self.shape:
            raise RuntimeError(f"grad: assigned a gradient of shape {value.shape} to a tensor "
                               f"of shape {self.shape}; they must match")
        self._grad = value

    def _bump_version(self) -> None:
        """Note an in-place write to the data (the library calls it for each one)."""
        engine.note_write(self)

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

    def nelement(self) -> int:
        """The number of elements (PyTorch's other name for `numel`)."""
        return self.data.size

    def size(self, dim: int | None = None):
        """The shape (a tuple), or the size of axis `dim`, as PyTorch's `size()`."""
        if dim is None:
            return self.data.shape
        return self.data.shape[ops._one_axis(dim, self.ndim, "size")]

    def dim(self) -> int:
        """The number of axes (PyTorch's name for `ndim`)."""
        return self.data.ndim

    def stride(self, dim: int | None = None):
        """How many elements to step in memory to move one along each axis (PyTorch's
        `stride()`; NumPy's `strides` are in bytes)."""
        steps = tuple(s // self.data.itemsize for s in self.data.strides)
        return steps if dim is None else steps[ops._one_axis(dim, self.ndim, "stride")]

    def storage_offset(self) -> int:
        """Where this tensor's first element sits in the memory it shares with the tensor
        it is a view of (in elements; 0 for a tensor that owns its memory)."""
        base = self.data.base if isinstance(self.data.base, np.ndarray) else None
        if base is None:
            return 0
        start = self.data.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        return start // self.data.itemsize

    def element_size(self) -> int:
        """Bytes per element."""
        return self.data.itemsize

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

    def __format__(self, spec: str) -> str:
        # A 0-d tensor formats as its number (f"{loss:.4f}", f"{loss}"), as in PyTorch;
        # so does a one-element tensor given a format spec (PyTorch refuses that one)
        if self.data.ndim == 0 or (spec and self.data.size == 1):
            return format(self.data.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} for a tensor of shape "
                            f"{self.shape} (only one-element tensors format as a number)")
        return str(self)

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
        dtype = as_dtype(dtype, "astype")
        if dtype == self.data.dtype:
            return self
        if dtype.kind == "f" and self.data.dtype.kind == "f":
            return ops.Cast.apply(self, dtype=dtype)
        return Tensor._make(self.data.astype(dtype), False, None)  # not differentiable

    def float(self) -> Tensor:
        """As float32 (`tg.float`)."""
        return self.astype(np.float32)

    def double(self) -> Tensor:
        """As float64 (`tg.double`)."""
        return self.astype(np.float64)

    def long(self) -> Tensor:
        """As int64 (`tg.long`); floats are cut toward zero, as in PyTorch."""
        return self.astype(np.int64)

    def int(self) -> Tensor:
        """As int32 (`tg.int`)."""
        return self.astype(np.int32)

    def bool(self) -> Tensor:
        """As bool: True where nonzero."""
        return self.astype(np.bool_)

    def half(self) -> Tensor:
        """float16 is not supported here (an error that says what to use instead)."""
        return self.astype(np.float16)

    def type_as(self, other: Tensor) -> Tensor:
        """Convert to `other`'s dtype."""
        return self.astype(other.dtype)

    @property
    def device(self):
        """Where the data lives: always the CPU (`tg.device("cpu")`)."""
        return CPU

    is_cuda = False

    def cpu(self) -> Tensor:
        """The tensor itself: it already lives on the CPU."""
        return self

    def cuda(self, *args, **kwargs) -> Tensor:
        """There is no GPU here: a clear error."""
        as_device("cuda", "cuda()")

    def to(self, *args, dtype=None, device=None, copy: bool = False, **ignored) -> Tensor:
        """`to(dtype)`, `to(device)`, `to(device, dtype)` or `to(other_tensor)`, as PyTorch:
        the device must be the CPU; a new dtype converts (differentiably between floats)."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, Device) or isinstance(arg, str) and not _names_dtype(arg):
                device = arg
            else:
                dtype = arg
        if isinstance(device, str) and device.split(":")[0] not in ("cpu", "cuda", "mps"):
            raise RuntimeError(f"to: {device!r} is neither a device ('cpu') nor a dtype "
                               "(float32, float64, int64, ...)")
        as_device(device, "to")
        out = self if dtype is None else self.astype(dtype)
        return out.clone() if copy and out is self else out

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

    def __mod__(self, other):
        return self.remainder(other)

    def __rmod__(self, other):
        return engine.wrap(np.asarray(ops._data(other))).remainder(self)

    def __floordiv__(self, other):  # piecewise constant: no gradient
        return _without_grad(np.floor_divide, self, other)

    def __rfloordiv__(self, other):
        return _without_grad(np.floor_divide, other, self)

    def remainder(self, other) -> Tensor:
        """x - floor(x / other) * other: the remainder with the divisor's sign (Python's
        `%`, `np.remainder`). Its derivative is 1 for x, -floor(x / other) for other."""
        needs = _grad_mode.enabled and (self.requires_grad or getattr(other, "requires_grad",
                                                                      False))
        if not needs:
            return _without_grad(np.remainder, self, other)
        return self - (self / other).floor() * other

    def floor(self) -> Tensor:
        """Round down (its derivative is 0 wherever it exists: no gradient flows)."""
        return engine.wrap(np.floor(self.data))

    def ceil(self) -> Tensor:
        """Round up (no gradient, as floor)."""
        return engine.wrap(np.ceil(self.data))

    def round(self, decimals: int = 0) -> Tensor:
        """Round to the nearest (half to even, as PyTorch and NumPy); no gradient."""
        return engine.wrap(np.round(self.data, decimals))

    def sign(self) -> Tensor:
        """-1, 0 or 1 (no gradient)."""
        return engine.wrap(np.sign(self.data))

    def __neg__(self):
        return ops.Neg.apply(self)

    def __abs__(self):
        return ops.Abs.apply(self)

    def abs(self) -> Tensor:
        """|x|, elementwise."""
        return ops.Abs.apply(self)

    # comparisons give boolean tensors and no gradient (a step function's derivative is 0)

    def __lt__(self, other):
        return _without_grad(np.less, self, other)

    def __le__(self, other):
        return _without_grad(np.less_equal, self, other)

    def __gt__(self, other):
        return _without_grad(np.greater, self, other)

    def __ge__(self, other):
        return _without_grad(np.greater_equal, self, other)

    def __eq__(self, other):
        return _without_grad(np.equal, self, other)

    def __ne__(self, other):
        return _without_grad(np.not_equal, self, other)

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=_normalize_index(index))

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        """NumPy meets a Tensor: `array + t`, `np.exp(t)`, `W.data += -lr * W.grad`.

        Without this, NumPy would treat a Tensor as an array-like and drop the graph. An
        ndarray on the left (`array + t`) gives the Tensor op; a NumPy function gives the
        Tensor method of the same name; an in-place op on an array (`out=`: `a += t`, as
        in `W.data += -lr * W.grad`) computes on the arrays, into the array.
        """
        if out is not None:
            arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
            outs = tuple(o.data if isinstance(o, Tensor) else o for o in out)
            return ufunc(*arrays, out=outs, **kwargs)
        if method == "__call__" and not kwargs:
            if ufunc in _NUMPY_BINARY and len(inputs) == 2:
                return _NUMPY_BINARY[ufunc](*inputs)
            if ufunc in _NUMPY_COMPARE and len(inputs) == 2:
                return _without_grad(ufunc, *inputs)
            if ufunc.__name__ in _NUMPY_UNARY and len(inputs) == 1:
                return getattr(inputs[0], _NUMPY_UNARY[ufunc.__name__])()
        raise TypeError(
            f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method} on a Tensor: "
            "use the Tensor's own method or the tg function of that name (they record the "
            "graph), or call it on t.numpy() for a plain array without gradient")

    # --- in-place ops -------------------------------------------------------------------
    #
    # PyTorch's rules. An in-place op changes this same Python object. Under no_grad, or
    # when no gradient is involved, it simply writes into the array. On a leaf that
    # requires grad it is refused (its .grad would no longer match its value). On a tensor
    # in a graph it is recorded: the tensor's grad_fn becomes the in-place op, whose input
    # is the tensor's old value (ops that used it keep their path). Every write bumps the
    # tensor's `_version` (engine.note_write): backward refuses to use a saved value that
    # was changed after it was saved.

    def _write(self, op: str, recorded, direct, *operands) -> Tensor:
        """The one way in-place ops change a tensor.

        `recorded(old, *operands)` computes the new value with Tensor ops (when a gradient
        is involved); `direct(array, *operand_arrays)` writes it into the array in place.
        """
        if _grad_mode.enabled and (self.requires_grad or any(
                isinstance(x, Tensor) and x.requires_grad for x in operands)):
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    f"{op}: a leaf tensor that requires grad cannot be used in an in-place "
                    "operation (its .grad would no longer belong to its value). Change it "
                    "inside `with tg.no_grad():` (as an optimizer step does), or change "
                    ".data")
            old = Tensor._make(self.data, self.requires_grad, self.grad_fn)
            new = recorded(old, *operands)
            if new.shape != self.shape:
                raise _shape_error(op, f"the result has shape {new.shape}", self.shape)
            if new.dtype != self.dtype:
                if not np.can_cast(new.dtype, self.dtype, "same_kind"):
                    raise _dtype_error(op, new.dtype, self.dtype)
                new = new.astype(self.dtype)
            if self.grad_fn is not None:
                self.grad_fn._output_overwritten = True
            self.data, self.requires_grad, self.grad_fn = new.data, True, new.grad_fn
        else:
            if not self.data.flags.writeable:  # e.g. a gradient that is a broadcast view
                self.data = self.data.copy()
            try:
                direct(self.data, *(ops._data(x) for x in operands))
            except TypeError:  # NumPy's casting error: float into an integer tensor
                kind = np.result_type(self.data, *(ops._data(x) for x in operands))
                raise _dtype_error(op, kind, self.dtype) from None
            except ValueError as error:
                if "broadcast" in str(error) or "shape" in str(error):
                    raise _shape_error(op, str(error), self.shape) from None
                raise
        engine.note_write(self)
        return self

    def __iadd__(self, other):
        return self._write("+=", operator.add, _ufunc_into(np.add), other)

    def __isub__(self, other):
        return self._write("-=", operator.sub, _ufunc_into(np.subtract), other)

    def __imul__(self, other):
        return self._write("*=", operator.mul, _ufunc_into(np.multiply), other)

    def __itruediv__(self, other):
        return self._write("/=", operator.truediv, _ufunc_into(np.true_divide), other)

    def __ipow__(self, other):
        return self._write("**=", operator.pow, _ufunc_into(np.power), other)

    def add_(self, other, *, alpha=1) -> Tensor:
        """In place: self += alpha * other."""
        return self.__iadd__(other if alpha == 1 else other * alpha)

    def sub_(self, other, *, alpha=1) -> Tensor:
        """In place: self -= alpha * other."""
        return self.__isub__(other if alpha == 1 else other * alpha)

    def mul_(self, other) -> Tensor:
        """In place: self *= other."""
        return self.__imul__(other)

    def div_(self, other) -> Tensor:
        """In place: self /= other."""
        return self.__itruediv__(other)

    def pow_(self, exponent) -> Tensor:
        """In place: self **= exponent."""
        return self.__ipow__(exponent)

    def neg_(self) -> Tensor:
        """In place: self = -self."""
        return self.__imul__(-1)

    def __setitem__(self, index, value):
        """`t[index] = value`, in place (recorded when t is in a graph: SetItem)."""
        index = _normalize_index(index)
        return self._write("t[index] = value",
                           lambda old, v: ops.SetItem.apply(old, v, index=index),
                           lambda array, v: array.__setitem__(index, v), value)

    def fill_(self, value) -> Tensor:
        """In place: every element becomes `value`."""
        return self._write("fill_", lambda old, v: ops.SetItem.apply(old, v, index=...),
                           lambda array, v: array.__setitem__(..., v), value)

    def zero_(self) -> Tensor:
        """In place: every element becomes 0."""
        return self.fill_(0)

    def copy_(self, src) -> Tensor:
        """In place: take `src`'s values (broadcast to this shape, converted to this dtype);
        the gradient flows to `src`."""
        shape = np.shape(ops._data(src))
        if np.broadcast_shapes(shape, self.shape) != self.shape:
            raise _shape_error("copy_", f"the source has shape {shape}", self.shape)
        return self._write("copy_", lambda old, v: ops.SetItem.apply(old, v, index=...),
                           lambda array, v: np.copyto(array, v, casting="unsafe"), src)

    def clamp_(self, min=None, max=None) -> Tensor:  # noqa: A002
        """In place: `clamp(min, max)`."""
        return self._write("clamp_", lambda old: old.clamp(min, max),
                           lambda array: np.clip(array, min, max, out=array))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
        """In place: fill with draws from N(mean, std^2) (from `generator`, or the default)."""
        draws = _rng(generator, "normal_").normal(mean, std, self.shape)
        return self.copy_(draws.astype(self.dtype))

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
        """In place: fill with draws from U(a, b)."""
        draws = _rng(generator, "uniform_").uniform(a, b, self.shape)
        return self.copy_(draws.astype(self.dtype))

    def masked_fill_(self, mask, value) -> Tensor:
        """In place: `value` where `mask` is True (mask broadcasts to this shape)."""
        mask = np.broadcast_to(np.asarray(ops._data(mask), dtype=bool), self.shape)
        return self.__setitem__(mask, value)

    def masked_fill(self, mask, value) -> Tensor:
        """A copy with `value` where `mask` is True (mask broadcasts to this shape)."""
        mask = np.broadcast_to(np.asarray(ops._data(mask), dtype=bool), self.shape)
        return ops.SetItem.apply(self, value, index=mask)

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

    def clamp(self, min=None, max=None) -> Tensor:  # noqa: A002  (PyTorch's names)
        """Limit values to [min, max] (either may be None); the gradient is 0 where
        clamped (PyTorch's `clamp`; `clip` is the same)."""
        return self.clip(min, max)

    def clamp_min(self, min) -> Tensor:  # noqa: A002
        """`clamp(min=min)`."""
        return self.clip(min, None)

    def clamp_max(self, max) -> Tensor:  # noqa: A002
        """`clamp(max=max)`."""
        return self.clip(None, max)

    def pow(self, exponent) -> Tensor:
        """x ** exponent (a number or a tensor, broadcast)."""
        return ops.Pow.apply(self, exponent)

    def neg(self) -> Tensor:
        """-x."""
        return ops.Neg.apply(self)

    def reciprocal(self) -> Tensor:
        """1 / x."""
        return ops.Div.apply(1.0, self)

    def square(self) -> Tensor:
        """x * x."""
        return ops.Mul.apply(self, self)

    def log10(self) -> Tensor:
        """Base-10 logarithm: ln(x) / ln(10)."""
        return ops.Log.apply(self) * float(1 / np.log(10))

    def log2(self) -> Tensor:
        """Base-2 logarithm: ln(x) / ln(2)."""
        return ops.Log.apply(self) * float(1 / np.log(2))

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

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """As PyTorch: `x.max()` is the largest value (a 0-d tensor); `x.max(dim)` is a
        named tuple `(values, indices)` along `dim` (the gradient goes to the picked
        element); `x.max(other)` is the elementwise `maximum`. For values only over one
        or several axes, NumPy-style, use `amax`."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        dim, keepdim = _axis_args("max", dim, keepdim, axis, keepdims)
        if dim is None:
            return ops.Max.apply(self, axis=None, keepdims=False)
        return self._pick_along(dim, keepdim, np.argmax, _MaxResult, "max")

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """As `max`, for the smallest: `x.min()`, `x.min(dim)` -> (values, indices)."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        dim, keepdim = _axis_args("min", dim, keepdim, axis, keepdims)
        if dim is None:
            return ops.Min.apply(self, axis=None, keepdims=False)
        return self._pick_along(dim, keepdim, np.argmin, _MinResult, "min")

    def _pick_along(self, dim, keepdim: bool, arg, result, op: str):
        """(values, indices) of the element `arg` picks along `dim` (max(dim), min(dim))."""
        if not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{op}: dim must be one int, got {dim!r}; for the {op} over "
                            f"several axes (values only) use a{op}(dim=...)")
        if self.ndim == 0:  # dim 0 or -1 of one value: itself, at index 0 (as PyTorch)
            ops._normalize_axes(dim, 0, op)
            return result(self, engine.wrap(np.zeros((), np.int64)))
        d = ops._one_axis(dim, self.ndim, op)
        if self.shape[d] == 0:
            raise ValueError(f"{op}: axis {d} of a tensor of shape {self.shape} is empty")
        picked = arg(self.data, axis=d, keepdims=True)
        index = tuple(picked if i == d else
                      np.arange(n).reshape((n,) + (1,) * (self.ndim - 1 - i))
                      for i, n in enumerate(self.shape))
        values = ops.GetItem.apply(self, index=index)
        if not keepdim:
            values, picked = values.squeeze(d), picked.squeeze(d)
        return result(values, engine.wrap(picked.astype(np.int64)))

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
        """Largest values over `dim` (an int or a tuple; all by default), values only;
        tied elements share the gradient equally (as `torch.amax`, `np.max`)."""
        dim, keepdim = _axis_args("amax", dim, keepdim, axis, keepdims)
        return ops.Max.apply(self, axis=dim, keepdims=keepdim)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
        """Smallest values over `dim`, values only (as `torch.amin`, `np.min`)."""
        dim, keepdim = _axis_args("amin", dim, keepdim, axis, keepdims)
        return ops.Min.apply(self, axis=dim, keepdims=keepdim)

    def prod(self, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
        """Product over `dim` (all elements by default)."""
        dim, keepdim = _axis_args("prod", dim, keepdim, axis, keepdims)
        return ops.Prod.apply(self, axis=dim, keepdims=keepdim)

    def cumsum(self, dim=None, *, axis=None) -> Tensor:
        """Running sums along `dim`: out[i] = x[0] + ... + x[i]."""
        dim, _ = _axis_args("cumsum", dim, False, axis, None)
        if dim is None:
            raise TypeError("cumsum: give the dim to sum along, e.g. x.cumsum(0)")
        if self.ndim == 0:  # dim 0 or -1 of one value: the value itself (as PyTorch)
            ops._normalize_axes(dim, 0, "cumsum")
            return self.reshape(1).cumsum(0).reshape(())
        return ops.CumSum.apply(self, axis=ops._one_axis(dim, self.ndim, "cumsum"))

    def norm(self, p="fro", dim=None, keepdim=False) -> Tensor:
        """The p-norm over `dim` (all elements by default): p=2 ("fro") the Euclidean
        length sqrt(sum x^2), p=1 the sum of |x|, p=inf the largest |x|."""
        if p in ("fro", 2, 2.0):
            return ops.NormRoot.apply((self * self).sum(dim, keepdim))
        if p in (1, 1.0):
            return self.abs().sum(dim, keepdim)
        if p in (np.inf, float("inf")):
            return self.abs().amax(dim, keepdim)
        if p in (-np.inf, float("-inf")):
            return self.abs().amin(dim, keepdim)
        if isinstance(p, str) or p == 0:
            raise ValueError(f"norm: p={p!r} is not supported here: use 1, 2, 'fro', inf, "
                             "-inf or another positive number (tg.linalg.norm has more)")
        return ops.NormRoot.apply((self.abs() ** p).sum(dim, keepdim), p=p)

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
        """True where every element over `dim` is nonzero (a bool tensor, no gradient)."""
        dim, keepdim = _axis_args("all", dim, keepdim, axis, keepdims)
        return engine.wrap(np.asarray(np.all(self.data, axis=dim, keepdims=keepdim)))

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
        """True where some element over `dim` is nonzero (a bool tensor, no gradient)."""
        dim, keepdim = _axis_args("any", dim, keepdim, axis, keepdims)
        return engine.wrap(np.asarray(np.any(self.data, axis=dim, keepdims=keepdim)))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """Average over `axis`: sum / count."""
        axis, keepdims = _axis_args("mean", axis, keepdims, dim, keepdim)
        count = _count(self.shape, axis, "mean")
        if count == 0:  # the mean of nothing: NaN, as PyTorch (without NumPy's 0/0 warning)
            return self.sum(axis=axis, keepdims=keepdims) + np.nan
        return self.sum(axis=axis, keepdims=keepdims) / count

    def var(self, dim=None, unbiased: bool | None = None, keepdim=False, *,
            correction=None, axis=None, keepdims=None, ddof=None) -> Tensor:
        """Variance, as PyTorch: the squared distances from the mean, summed and divided
        by (n - correction).

        PyTorch's default is the unbiased estimate, correction=1 (`unbiased=True`): what
        a sample tells about the variance of the population it came from. correction=0
        (`unbiased=False`, NumPy's `ddof=0`, `np.var`'s default) is the variance of the
        numbers themselves; `tg.stats.var` follows NumPy.
        """
        dim, keepdim = _axis_args("var", dim, keepdim, axis, keepdims)
        if sum(v is not None for v in (unbiased, correction, ddof)) > 1:
            raise TypeError("var: give one of unbiased, correction and ddof")
        if unbiased is not None:
            correction = 1 if unbiased else 0
        elif ddof is not None:
            correction = ddof
        elif correction is None:
            correction = 1
        count = _count(self.shape, dim, "var")
        if count - correction <= 0:
            raise ValueError(f"var: {count} element(s) with correction={correction} leave no "
                             "degrees of freedom (n - correction must be positive; PyTorch "
                             "gives nan here). For one element use unbiased=False")
        centered = self - self.mean(dim, keepdims=True)
        return (centered * centered).sum(dim, keepdims=keepdim) / (count - correction)

    def std(self, dim=None, unbiased: bool | None = None, keepdim=False, *,
            correction=None, axis=None, keepdims=None, ddof=None) -> Tensor:
        """Standard deviation: sqrt(var), unbiased by default as PyTorch's (see `var`)."""
        return ops.NormRoot.apply(self.var(dim, unbiased, keepdim, correction=correction,
                                           axis=axis, keepdims=keepdims, ddof=ddof))

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """log(sum(exp(x))) over `axis`, without overflow.

        e^1000 overflows, so the max m is taken out first: log(sum(e^x)) =
        m + log(sum(e^(x - m))), where every e^(x - m) <= 1. m is detached: the two
        places it appears cancel in the derivative, which is softmax(x) either way.
        """
        axis, keepdims = _axis_args("logsumexp", axis, keepdims, dim, keepdim)
        axes = ops._normalize_axes(axis, self.ndim, "logsumexp")
        # (initial=-inf: an empty axis has no max; its logsumexp is log 0 = -inf)
        shift = self.data.max(axis=axes, keepdims=True, initial=-np.inf)
        shift = np.where(np.isfinite(shift), shift, 0)  # a row of all -inf stays -inf
        if any(self.shape[a] == 0 for a in axes):  # log of an empty sum: -inf, no warning
            out = self.sum(axis=axes, keepdims=True) - np.inf
            return out if keepdims else out.squeeze(axes)
        out = (self - shift).exp().sum(axis=axes, keepdims=True).log() + shift
        return out if keepdims else out.squeeze(axes)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """Index of the largest value (an integer tensor, no gradient)."""
        axis, keepdims = _axis_args("argmax", axis, keepdims, dim, keepdim)
        return self._arg(np.argmax, axis, keepdims, "argmax")

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """Index of the smallest value (an integer tensor, no gradient)."""
        axis, keepdims = _axis_args("argmin", axis, keepdims, dim, keepdim)
        return self._arg(np.argmin, axis, keepdims, "argmin")

    def _arg(self, arg, axis, keepdims: bool, op: str) -> Tensor:
        """argmax or argmin over one axis (or all the elements, flattened)."""
        if axis is not None:
            axis = ops._one_axis(axis, self.ndim, op) if self.ndim else None
        if self.shape[axis] == 0 if axis is not None else self.data.size == 0:
            raise ValueError(f"{op}: there is no {op[3:]} in an empty "
                             f"{'axis' if axis is not None else 'tensor'} (shape {self.shape})")
        return Tensor._make(np.asarray(arg(self.data, axis=axis, keepdims=keepdims)),
                            False, None)

    def softmax(self, axis: int = -1, *, dim=None) -> Tensor:
        """e^x / sum(e^x) along `axis`; the max is subtracted first so e^x cannot overflow
        (softmax(x - c) = softmax(x) for any constant c)."""
        if dim is not None and axis == -1:
            axis = None  # -1 is only the default: PyTorch's `dim` replaces it
        axis, _ = _axis_args("softmax", axis, False, dim, None)
        # (a 0-d tensor: no axes, so each value is its own softmax, 1, as PyTorch's)
        axes = ops._normalize_axes(axis, self.ndim, "softmax")
        # (initial=-inf: an empty axis has no max; its softmax is empty, as PyTorch's)
        shift = self.data.max(axis=axes, keepdims=True, initial=-np.inf)
        e = (self - np.where(np.isfinite(shift), shift, 0)).exp()
        return e / e.sum(axis=axes, keepdims=True)

    def log_softmax(self, axis: int = -1, *, dim=None) -> Tensor:
        """x - logsumexp(x) along `axis`: the log of softmax, without computing log(0)."""
        if dim is not None and axis == -1:
            axis = None  # -1 is only the default: PyTorch's `dim` replaces it
        axis, _ = _axis_args("log_softmax", axis, False, dim, None)
        if self.ndim == 0:  # one value: log 1 = 0 (as PyTorch, for dim 0 or -1)
            ops._normalize_axes(axis, 0, "log_softmax")
            return self.reshape(1).log_softmax(0).reshape(())
        if axis is not None:  # None: over all the elements, as logsumexp
            axis = ops._one_axis(axis, self.ndim, "log_softmax")
        return fused.LogSoftmax.apply(self, axis=axis)

    # --- shape ------------------------------------------------------------------------

    def reshape(self, *shape) -> Tensor:
        """The same elements in a new shape; one size may be -1 (inferred)."""
        shape = _shape_args(shape, "reshape")
        if shape == self.data.shape:
            return self
        return ops.Reshape.apply(self, shape=shape)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two axes, as `torch.transpose` (any rank: `k.transpose(-2, -1)` swaps the
        last two). For a full reordering of the axes use `permute` (NumPy's `transpose`
        takes a permutation: that is `permute` here, as in PyTorch)."""
        if self.ndim == 0:  # dims 0 and -1 of one value: nothing to swap (as PyTorch)
            for d in (dim0, dim1):
                ops._normalize_axes(d, 0, "transpose")
            return self
        dim0, dim1 = (ops._one_axis(d, self.ndim, "transpose") for d in (dim0, dim1))
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(*axes)

    def permute(self, *dims) -> Tensor:
        """Reorder the axes: output axis i is input axis dims[i] (`np.transpose(x, dims)`)."""
        dims = _shape_args(dims, "permute")
        in_range = all(-self.ndim <= a < max(self.ndim, 1) for a in dims)
        if not in_range or sorted(a % max(self.ndim, 1) for a in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of the "
                             f"{self.ndim} axes of a tensor of shape {self.shape}"
                             + ("; to swap two axes use transpose(d0, d1)"
                                if len(dims) == 2 else ""))
        dims = tuple(a % self.ndim for a in dims)
        if dims == tuple(range(self.ndim)):
            return self
        return ops.Transpose.apply(self, axes=dims)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Swap two axes (NumPy's name for `transpose(dim0, dim1)`)."""
        return self.transpose(axis1, axis2)

    def t(self) -> Tensor:
        """The matrix transpose of a 2-D tensor (0-d and 1-D tensors come back as they are)."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with at most 2 axes, got shape {self.shape}; "
                             "use transpose(d0, d1) or permute")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self) -> Tensor:
        """The axes reversed (the matrix transpose for 2-D)."""
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped: a batch of matrices, each transposed."""
        return self.transpose(-2, -1)

    def view(self, *shape) -> Tensor:
        """The same elements in a new shape (PyTorch's `view`; here the same as `reshape`)."""
        return self.reshape(*shape)

    def view_as(self, other: Tensor) -> Tensor:
        """`view(other.shape)`."""
        return self.reshape(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        """`reshape(other.shape)`."""
        return self.reshape(other.shape)

    def contiguous(self) -> Tensor:
        """The tensor itself (NumPy handles memory layouts; nothing to do)."""
        return self

    def clone(self) -> Tensor:
        """A copy of the data, still in the graph (the gradient flows through)."""
        return ops.Clone.apply(self)

    def repeat(self, *sizes) -> Tensor:
        """Tile: repeat the tensor `sizes[i]` times along axis i (`np.tile`; PyTorch's
        `repeat`). Extra leading sizes add axes."""
        sizes = _sizes(sizes, "repeat")
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: {len(sizes)} sizes for a tensor with {self.ndim} axes; "
                             "give at least one size per axis")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        x = self.reshape(shape)
        # (n0, n1) -> (1, n0, 1, n1) -> expand to (r0, n0, r1, n1) -> (r0*n0, r1*n1)
        spread = x.reshape(tuple(v for n in shape for v in (1, n)))
        tiled = spread.expand(*(v for r, n in zip(sizes, shape) for v in (r, n)))
        return tiled.reshape(tuple(r * n for r, n in zip(sizes, shape)))

    def flip(self, *dims) -> Tensor:
        """Reverse the order of elements along `dims`."""
        dims = ops._normalize_axes(_shape_args(dims, "flip"), self.ndim, "flip")
        return ops.GetItem.apply(self, index=tuple(
            slice(None, None, -1) if i in dims else slice(None) for i in range(self.ndim)))

    def split(self, split_size_or_sections, dim: int = 0) -> tuple:
        """Cut into pieces along `dim`, as `torch.split`: an int is each piece's size (the
        last may be smaller), a list gives each piece's size. (NumPy's `np.split` reads an
        int as the *number* of pieces: that is `chunk` here.)"""
        dim = ops._one_axis(dim, self.ndim, "split")
        n = self.shape[dim]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size <= 0:
                raise ValueError(f"split: the piece size must be positive, got {size}")
            sizes = [size] * (n // size) + ([n % size] if n % size else [])
        else:
            sizes = [int(k) for k in split_size_or_sections]
            if sum(sizes) != n:
                raise ValueError(f"split: sizes {sizes} add up to {sum(sizes)}, but axis "
                                 f"{dim} has size {n}")
        lead = (slice(None),) * dim
        pieces, start = [], 0
        for size in sizes:
            pieces.append(self[lead + (slice(start, start + size),)])
            start += size
        return tuple(pieces)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """Cut into `chunks` pieces along `dim` (each of size ceil(n / chunks), the last
        smaller), as `torch.chunk`."""
        if chunks <= 0:
            raise ValueError(f"chunk: the number of chunks must be positive, got {chunks}")
        dim = ops._one_axis(dim, self.ndim, "chunk")
        return self.split(max(1, -(-self.shape[dim] // chunks)), dim)

    def unbind(self, dim: int = 0) -> tuple:
        """The slices along `dim`, as a tuple."""
        dim = ops._one_axis(dim, self.ndim, "unbind")
        return tuple(self[(slice(None),) * dim + (i,)] for i in range(self.shape[dim]))

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
        """Remove axes of size 1: all of them, or those of `axis` that have size 1 (as in
        PyTorch, a given axis of another size stays; NumPy's squeeze would raise)."""
        axes = ops._normalize_axes(axis, self.ndim, "squeeze")
        axes = tuple(i for i in axes if self.shape[i] == 1)
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert an axis of size 1 at position `axis`."""
        ndim = self.ndim + 1
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"unsqueeze: dim must be an int, got {axis!r}")
        if not -ndim <= axis < ndim:
            raise ValueError(f"unsqueeze: axis {axis} is out of range for a result with "
                             f"{ndim} dimensions")
        axis %= ndim
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge axes `start_dim` to `end_dim` (inclusive) into one, as `torch.flatten`."""
        if self.ndim == 0:  # (dims 0 and -1 only, as PyTorch)
            for d in (start_dim, end_dim):
                ops._normalize_axes(d, 0, "flatten")
            return self.reshape(1)
        start = ops._one_axis(start_dim, self.ndim, "flatten")
        end = ops._one_axis(end_dim, self.ndim, "flatten")
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

    def mm(self, mat2) -> Tensor:
        """The product of two matrices (2-D only, as `torch.mm`)."""
        if self.ndim != 2 or np.ndim(ops._data(mat2)) != 2:
            raise ValueError(f"mm: expects two matrices (2-D), got shapes {self.shape} and "
                             f"{np.shape(ops._data(mat2))}; use matmul (@) for other shapes")
        return ops.MatMul.apply(self, mat2)

    def bmm(self, mat2) -> Tensor:
        """Batched matrix product of (b, n, m) and (b, m, p) tensors, as `torch.bmm`."""
        shape2 = np.shape(ops._data(mat2))
        if self.ndim != 3 or len(shape2) != 3 or shape2[0] != self.shape[0]:
            raise ValueError(f"bmm: expects (b, n, m) and (b, m, p) tensors with the same b, "
                             f"got shapes {self.shape} and {shape2}")
        return ops.MatMul.apply(self, mat2)

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
    """Tensors in an index become their arrays, lists and ranges become arrays (as NumPy
    reads them)."""
    if isinstance(index, tuple):
        return tuple(_normalize_index(i) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, range):
        index = np.arange(index.start, index.stop, index.step)
    elif isinstance(index, list):
        index = np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
        if index.size == 0:  # x[[]]: no element (NumPy would read [] as floats)
            index = index.astype(np.int64)
    if isinstance(index, np.ndarray) and index.dtype.kind not in "biu":
        raise IndexError(f"index: arrays used as indices must be integer or boolean, "
                         f"got {index.dtype}")
    return index


def _without_grad(fn, x, y) -> Tensor:
    """fn(x, y) on the inputs' arrays, broadcast, as a tensor outside the graph: the
    comparisons (boolean results), floor division and a remainder that needs no gradient
    (piecewise constant, their derivative is 0 wherever it exists)."""
    return engine.wrap(np.asarray(ops.broadcasting(fn.__name__, fn, x, y)))


# max(dim) and min(dim) return these, as torch.return_types.max / .min
_MaxResult = namedtuple("max", ["values", "indices"])
_MinResult = namedtuple("min", ["values", "indices"])

# NumPy functions called on a Tensor (`array + t`, `np.exp(t)`): the Tensor op instead
_NUMPY_BINARY = {np.add: ops.Add.apply, np.subtract: ops.Sub.apply,
                 np.multiply: ops.Mul.apply, np.true_divide: ops.Div.apply,
                 np.power: ops.Pow.apply, np.matmul: ops.MatMul.apply,
                 np.maximum: ops.Maximum.apply, np.minimum: ops.Minimum.apply}
_NUMPY_COMPARE = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal,
                  np.not_equal}
_NUMPY_UNARY = {"exp": "exp", "log": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos",
                "tanh": "tanh", "absolute": "abs", "negative": "neg", "log10": "log10",
                "log2": "log2", "square": "square", "reciprocal": "reciprocal"}


def _ufunc_into(ufunc):
    """`array op= value`, in place, refusing what would change the dtype's kind (a float
    result into an integer tensor), as PyTorch does."""
    def write(array, value):
        ufunc(array, value, out=array, casting="same_kind")
    return write


def _shape_error(op: str, detail: str, shape: tuple) -> RuntimeError:
    return RuntimeError(f"{op}: {detail}, which does not fit the tensor's shape {shape}: an "
                        "in-place op cannot change a tensor's shape (the other operand may "
                        "broadcast to it, not the other way round)")


def _dtype_error(op: str, result, dtype) -> RuntimeError:
    return RuntimeError(f"{op}: the result is {np.dtype(result)}, which cannot be written into "
                        f"this {dtype} tensor in place (PyTorch: \"result type can't be cast "
                        f"to the desired output type\"). Convert first (t = t.float()) or "
                        "write it out of place (t = t / 2)")

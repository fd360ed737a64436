"""Every primitive op: one small `Function` class each, forward and backward side by side.

Forward works on NumPy arrays (`x.data`); backward is written with Tensor ops, so that
`backward(create_graph=True)` records it and second derivatives come for free. Above
each backward, its derivative in one line of math.

Conventions:
- positional inputs are Tensors or constants (Python numbers, ndarrays); a constant
  never gets a gradient. Settings such as `axis` come as keyword options.
- a binary op broadcasts like NumPy, so its gradient for an input is summed back to that
  input's shape by `unbroadcast`, the one helper that handles every broadcasting case.
- ops that are compositions of these (mean, var, softmax, logsumexp, ...) are written as
  Tensor methods in `tensor.py`, built from the primitives here; ops that fuse several
  primitives into one node, for speed or stability, are in `fused.py`.

Floors: this file imports the engine and fused.py. The Tensor class is one floor up
(tensor.py calls these ops), so the ops reach it as `engine.Tensor`.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from . import engine
from .dtypes import get_default_dtype
from .engine import Function, SparseGrad, add_at, wrap
from .fused import sigmoid_backward, tanh_backward

# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _data(x):
    """The NumPy value of an input: a Tensor's array, or the constant itself.

    A NumPy scalar (`np.float64(2.0)`, from `np.sqrt(2)` say) is turned into a Python
    number, so that, as in PyTorch, multiplying a float32 tensor by it stays float32.
    """
    if isinstance(x, engine.Tensor):  # the common case first: it runs for every input
        return x.data
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (list, tuple)):
        return engine.Tensor(x).data
    return x


def broadcasting(op: str, fn, x, y) -> np.ndarray:
    """fn(x, y) on the inputs' arrays (`operator.mul`, `np.maximum`...), broadcasting as
    NumPy does; when the shapes do not fit, an error that names the op and both shapes.

    (The data of a Tensor input is read here directly rather than through _data: every
    binary op, forward and in every backward, goes through this line.)"""
    T = engine.Tensor
    try:
        xd = x.data if type(x) is T else _data(x)
        yd = y.data if type(y) is T else _data(y)
        out = fn(xd, yd)
        # NumPy's result dtype is PyTorch's when both inputs have it, or one has it and
        # the other is a Python number; otherwise (rare) see _as_pytorch_promotes
        dt = out.dtype
        if type(yd) is float or type(yd) is int:
            if dt is xd.dtype:
                return out
        elif dt is yd.dtype and (type(xd) is float or type(xd) is int or dt is xd.dtype):
            return out
        return _as_pytorch_promotes(out, xd, yd, fn)
    except AttributeError:  # two Python values (no dtype): NumPy's result
        return np.asarray(fn(xd, yd))
    except ValueError as error:
        shapes = np.shape(_data(x)), np.shape(_data(y))
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise ValueError(
                f"{op}: shapes {shapes[0]} and {shapes[1]} cannot be broadcast together: "
                "aligned from the right, each pair of sizes must be equal or one of them 1"
            ) from None
        raise error  # something else went wrong


def _as_pytorch_promotes(out, xd, yd, fn):
    """`out` = fn(xd, yd) in the dtype PyTorch gives, where it differs from NumPy's.

    The operands rank as tensors with axes, then 0-d values, then Python numbers: the
    highest rank whose kind (bool < integer < float) is the highest decides, so a float32
    tensor stays float32 with an int64 array, a 0-d float64 or a float (NumPy would give
    float64); a float number with integers gives the default float (float32); integers
    divided give the default float too.
    """
    if out.dtype.kind not in "biuf":
        return out
    result = None
    for group in ([d.dtype for d in (xd, yd) if np.ndim(d) > 0 and hasattr(d, "dtype")],
                  [d.dtype for d in (xd, yd) if np.ndim(d) == 0 and hasattr(d, "dtype")],
                  [_python_number_dtype(d) for d in (xd, yd) if not hasattr(d, "dtype")]):
        if group:  # the highest kind in the group, the largest dtype of that kind
            top = max(group, key=lambda d: _KINDS.index(d.kind)).kind
            found = np.result_type(*[d for d in group if d.kind == top])
            if result is None or _KINDS.index(found.kind) > _KINDS.index(result.kind):
                result = found
    if fn is operator.truediv and result.kind in "biu":
        result = get_default_dtype()
    return out if out.dtype == result or out.dtype.kind == "b" else out.astype(result)


_KINDS = "buif"


def _python_number_dtype(value) -> np.dtype:
    """The dtype a Python number gets on its own: bool, int64 or the default float."""
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    if isinstance(value, int):
        return np.dtype(np.int64)
    return get_default_dtype()


def unbroadcast(grad, shape: tuple):
    """Sum `grad` down to `shape`: the gradient of a broadcast.

    Broadcasting copies an input along new leading axes and along axes of size 1; each
    copy received its own gradient, and the chain rule adds them up. So: sum the extra
    leading axes away, then sum (keeping the axis) where the input had size 1.
    """
    if grad.data.shape == shape:  # the common case: no broadcasting happened
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes).reshape(shape)


def _normalize_axes(axis, ndim: int, op: str):
    """`axis` (None, an int or a tuple, negatives allowed) as a sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    if not isinstance(axes, (tuple, list)) or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {axis!r}")
    out = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            valid = f"{-ndim} to {ndim - 1}" if ndim else "0 or -1, for its one value"
            raise ValueError(f"{op}: dim {a} is out of range for a tensor with {ndim} "
                             f"dimension(s) (valid: {valid})")
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {axis} repeats an axis")
    # a 0-d tensor accepts dim 0 and -1, as PyTorch's does, and has no axis to reduce
    return tuple(sorted(out)) if ndim else ()


def _one_axis(dim, ndim: int, op: str) -> int:
    """`dim` (negatives allowed) as one axis of a tensor with at least one."""
    if ndim == 0:
        raise ValueError(f"{op}: a 0-d tensor has no dim {dim!r} (it has no axes); "
                         "reshape it to (1,) first")
    (axis,) = _normalize_axes(dim, ndim, op)
    return axis


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    """The shape of a reduction over `axes` with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# ---------------------------------------------------------------------------------------
# elementwise, two inputs
# ---------------------------------------------------------------------------------------


class Add(Function):
    """z = x + y"""

    @staticmethod
    def forward(ctx, x, y):
        return broadcasting("add", operator.add, x, y)

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = 1, dz/dy = 1
        x, y = ctx.inputs
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(grad_output, x.shape) if need_x else None,
                unbroadcast(grad_output, y.shape) if need_y else None)


class Sub(Function):
    """z = x - y"""

    @staticmethod
    def forward(ctx, x, y):
        return broadcasting("sub", operator.sub, x, y)

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = 1, dz/dy = -1
        x, y = ctx.inputs
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(grad_output, x.shape) if need_x else None,
                unbroadcast(-grad_output, y.shape) if need_y else None)


class Mul(Function):
    """z = x * y"""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return broadcasting("mul", operator.mul, x, y)

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = y, dz/dy = x  (the product rule, one factor at a time)
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(grad_output * y, x.shape) if need_x else None,
                unbroadcast(grad_output * x, y.shape) if need_y else None)


class Div(Function):
    """z = x / y"""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return broadcasting("div", operator.truediv, x, y)

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = 1/y, dz/dy = -x/y^2, computed as -(g/y) * x / y: y*y would underflow
        # to 0 (or overflow) where y is tiny (or huge) although the gradient is finite
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        g_over_y = grad_output / y
        return (unbroadcast(g_over_y, x.shape) if need_x else None,
                unbroadcast(-g_over_y * x / y, y.shape) if need_y else None)


class Pow(Function):
    """z = x ** y"""

    @staticmethod
    def forward(ctx, x, y):
        if isinstance(y, (list, tuple)):  # x ** [2., 3.]: backward computes with y
            y = np.asarray(y)
        ctx.save_for_backward(x, y)
        return ctx.save_output(broadcasting("pow", operator.pow, x, y))

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = y * x^(y-1);  dz/dy = x^y * log(x)  (taken as 0 where x == 0, as PyTorch)
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        grad_x = grad_y = None
        if need_x:
            y_is_zero = _data(y) == 0
            if np.any(y_is_zero):  # x^0 = 1 has slope 0, even at x = 0 (0 * 0^-1 is NaN)
                grad_x = unbroadcast(grad_output * y * x ** where(y_is_zero, 1.0, y - 1),
                                     x.shape)
            else:
                grad_x = unbroadcast(grad_output * y * x ** (y - 1), x.shape)
        if need_y:
            x_is_zero = _data(x) == 0
            log_x = where(x_is_zero, 1.0, x).log() if isinstance(x, engine.Tensor) else \
                np.log(np.where(x_is_zero, 1.0, x))
            grad_y = unbroadcast(grad_output * ctx.output * log_x, y.shape)
        return grad_x, grad_y


class _Extremum(Function):
    """z = the larger (Maximum) or the smaller (Minimum) of x and y, elementwise."""

    pick = None   # np.maximum or np.minimum
    beats = None  # np.greater or np.less: does the first argument win?

    @classmethod
    def forward(cls, ctx, x, y):
        ctx.save_for_backward(x, y)
        return broadcasting(cls.__name__.lower(), cls.pick, x, y)

    @classmethod
    def backward(cls, ctx, grad_output):
        # dz/dx = 1 where x wins, 0 where y wins, 1/2 each on a tie (as PyTorch); same for y
        x, y = ctx.saved_tensors
        xd, yd = _data(x), _data(y)
        tie = (xd == yd) * 0.5
        to_x = (cls.beats(xd, yd) + tie).astype(grad_output.dtype)
        to_y = (cls.beats(yd, xd) + tie).astype(grad_output.dtype)
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(grad_output * to_x, x.shape) if need_x else None,
                unbroadcast(grad_output * to_y, y.shape) if need_y else None)


class Maximum(_Extremum):
    """z = max(x, y), elementwise"""

    pick = staticmethod(np.maximum)
    beats = staticmethod(np.greater)


class Minimum(_Extremum):
    """z = min(x, y), elementwise"""

    pick = staticmethod(np.minimum)
    beats = staticmethod(np.less)


class Where(Function):
    """z = x where condition else y (the condition is a constant boolean array)"""

    @staticmethod
    def forward(ctx, x, y, *, condition):
        ctx.condition = condition
        return np.where(condition, _data(x), _data(y))

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = 1 where the condition holds, else 0; dz/dy the other way round
        x, y = ctx.inputs
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(where(ctx.condition, grad_output, 0.0), x.shape) if need_x else None,
                unbroadcast(where(ctx.condition, 0.0, grad_output), y.shape) if need_y else None)


def where(condition, x, y):
    """`x` where `condition` is true, else `y`, broadcasting like `np.where`."""
    cond = _data(condition)
    cond = np.array(cond, dtype=bool)  # a copy: backward needs it, the caller may change theirs
    try:
        np.broadcast_shapes(cond.shape, np.shape(_data(x)), np.shape(_data(y)))
    except ValueError:
        raise ValueError(f"where: condition {cond.shape}, x {np.shape(_data(x))} and y "
                         f"{np.shape(_data(y))} cannot be broadcast together") from None
    return Where.apply(x, y, condition=cond)


# ---------------------------------------------------------------------------------------
# elementwise, one input
# ---------------------------------------------------------------------------------------


class Neg(Function):
    """y = -x"""

    @staticmethod
    def forward(ctx, x):
        return np.negative(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = -1
        return -grad_output


class Abs(Function):
    """y = |x|"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = sign(x)  (0 at x = 0, as PyTorch)
        (x,) = ctx.saved_tensors
        return grad_output * np.sign(x.data)


class Exp(Function):
    """y = e^x"""

    @staticmethod
    def forward(ctx, x):
        return ctx.save_output(np.exp(x.data))

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = e^x = y
        return grad_output * ctx.output


class Log(Function):
    """y = ln(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1/x
        (x,) = ctx.saved_tensors
        return grad_output / x


class Sqrt(Function):
    """y = sqrt(x)"""

    @staticmethod
    def forward(ctx, x):
        return ctx.save_output(np.sqrt(x.data))

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1 / (2 sqrt(x)) = 1 / (2y)
        return grad_output / (2 * ctx.output)


class NormRoot(Function):
    """y = s^(1/p), for s a sum of |x|^p: a p-norm, or (p = 2) a standard deviation

    The root with slope 0 at s = 0. There each |x|^p has slope 0 while the root's is
    infinite, and inf * 0 would make the gradient NaN where the length is 0. PyTorch
    takes 0 there (the subgradient of |x| at 0), and so does this op.
    """

    @staticmethod
    def forward(ctx, s, *, p=2):
        ctx.p = p
        ctx.save_for_backward(s)
        return ctx.save_output(np.sqrt(s.data) if p == 2 else s.data ** (1.0 / p))

    @staticmethod
    def backward(ctx, grad_output):
        # dy/ds = s^(1/p - 1) / p = y / (p s), taken as 0 where s = 0
        (s,) = ctx.saved_tensors
        y, p = ctx.output, ctx.p
        at_zero = s.data == 0
        if not at_zero.any():
            return grad_output * y / (p * s)
        return where(at_zero, 0.0, grad_output * y / (p * where(at_zero, 1.0, s)))


class Sin(Function):
    """y = sin(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = cos(x)
        (x,) = ctx.saved_tensors
        return grad_output * x.cos()


class Cos(Function):
    """y = cos(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = -sin(x)
        (x,) = ctx.saved_tensors
        return -grad_output * x.sin()


class Tanh(Function):
    """y = tanh(x)"""

    @staticmethod
    def forward(ctx, x):
        return ctx.save_output(np.tanh(x.data))

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1 - tanh(x)^2 = 1 - y^2
        y = ctx.output
        return tanh_backward(grad_output, y)  # = grad_output * (1 - y * y), fused (fused.py)


def sigmoid_array(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + e^-x) on an array, into `out` if given (which may be x itself).

    For x << 0, e^-x overflows to inf, and 1 / (1 + inf) = 0 is the right answer (the
    true value is below the smallest float there): only NumPy's overflow warning is
    silenced. Four passes over one new array: measured faster, and no less accurate,
    than the overflow-free exp(-logaddexp(0, -x)) or e^-|x| forms.
    """
    if out is None:
        out = np.empty(np.shape(x), np.result_type(x, np.float32))
    y = np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(y, out=y)
    y += 1
    return np.reciprocal(y, out=y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x)"""

    @staticmethod
    def forward(ctx, x):
        return ctx.save_output(sigmoid_array(x.data))

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = y (1 - y)
        y = ctx.output
        return sigmoid_backward(grad_output, y)  # = grad_output * y * (1 - y), fused


class Relu(Function):
    """y = max(x, 0)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x.data, 0)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1 where x > 0, else 0  (0 at the kink x = 0, as PyTorch)
        (x,) = ctx.saved_tensors
        return grad_output * (x.data > 0)


class LeakyRelu(Function):
    """y = x where x > 0, slope * x elsewhere"""

    @staticmethod
    def forward(ctx, x, *, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return np.where(x.data > 0, x.data, x.data * slope)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1 where x > 0, slope elsewhere
        (x,) = ctx.saved_tensors
        return grad_output * np.where(x.data > 0, 1.0, ctx.slope).astype(x.dtype)


class Softplus(Function):
    """y = ln(1 + e^x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x.data)  # stable: no overflow of e^x for large x

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = e^x / (1 + e^x) = sigmoid(x)
        (x,) = ctx.saved_tensors
        return grad_output * x.sigmoid()


class Clip(Function):
    """y = min(max(x, lo), hi)"""

    @staticmethod
    def forward(ctx, x, *, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x.data, lo, hi)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1 where lo <= x <= hi, else 0 (a clipped value does not move)
        (x,) = ctx.saved_tensors
        inside = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            inside &= x.data >= ctx.lo
        if ctx.hi is not None:
            inside &= x.data <= ctx.hi
        return grad_output * inside


_erf = np.frompyfunc(math.erf, 1, 1)


class Erf(Function):
    """y = erf(x) = 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        # NumPy has no erf; math.erf is exact to double precision, applied per element
        return np.asarray(_erf(x.data), dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 2/sqrt(pi) * e^(-x^2)
        (x,) = ctx.saved_tensors
        return grad_output * (2 / math.sqrt(math.pi)) * (-(x * x)).exp()


class Cast(Function):
    """y = x as another floating dtype"""

    @staticmethod
    def forward(ctx, x, *, dtype):
        return x.data.astype(dtype)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1, the gradient goes back in the input's dtype
        (x,) = ctx.inputs
        return grad_output.astype(x.dtype)


# ---------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------


class Sum(Function):
    """y = sum of x over `axis`"""

    @staticmethod
    def forward(ctx, x, *, axis=None, keepdims=False):
        ctx.axes = _normalize_axes(axis, x.ndim, "sum")
        return np.sum(x.data, axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx_i = 1 for every summed element: copy the gradient back along the axes
        (x,) = ctx.inputs
        return grad_output.reshape(_kept_shape(x.shape, ctx.axes)).expand(*x.shape)


class _AxisExtreme(Function):
    """max or min over `axis`; the gradient goes to the extreme elements."""

    reduce = None  # np.max or np.min

    @classmethod
    def forward(cls, ctx, x, *, axis=None, keepdims=False):
        name = cls.__name__.lower()
        if x.data.size == 0:
            raise ValueError(f"{name}: cannot take the {name} of an empty tensor "
                             f"(shape {x.shape})")
        ctx.axes = _normalize_axes(axis, x.ndim, name)
        extreme = cls.reduce(x.data, axis=ctx.axes, keepdims=True)
        ctx.save_for_backward(x.data == extreme)
        return extreme if keepdims else extreme.reshape(
            tuple(n for i, n in enumerate(x.shape) if i not in ctx.axes))

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx_i = 1 for the extreme element, 0 elsewhere; ties share it equally
        (x,) = ctx.inputs
        (is_extreme,) = ctx.saved_tensors
        share = is_extreme / is_extreme.sum(axis=ctx.axes, keepdims=True)
        kept = grad_output.reshape(_kept_shape(x.shape, ctx.axes)).expand(*x.shape)
        return kept * share.astype(grad_output.dtype)


class Prod(Function):
    """y = the product of x over `axis`"""

    @staticmethod
    def forward(ctx, x, *, axis=None, keepdims=False):
        ctx.axes = _normalize_axes(axis, x.ndim, "prod")
        ctx.save_for_backward(x)
        return np.prod(x.data, axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx_i = the product of all the other elements (not y / x_i: x_i may be 0)
        (x,) = ctx.saved_tensors
        if ctx.create_graph:
            return Prod._recorded_backward(ctx, x, grad_output)
        moved = np.moveaxis(x.data, ctx.axes, tuple(range(-len(ctx.axes), 0)))
        flat = moved.reshape(moved.shape[:moved.ndim - len(ctx.axes)] + (-1,))
        ones = np.ones_like(flat[..., :1])
        before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)
        others = (before * after[..., ::-1]).reshape(moved.shape)
        others = np.moveaxis(others, tuple(range(-len(ctx.axes), 0)), ctx.axes)
        kept = grad_output.reshape(_kept_shape(x.shape, ctx.axes)).expand(*x.shape)
        return kept * others

    @staticmethod
    def _recorded_backward(ctx, x, grad_output):
        """The same products as Tensor ops, for create_graph: with the k reduced elements
        on the last axis, row i of a k x k matrix holds them all with 1 in place of x_i,
        and the product of row i is dy/dx_i (k^2 numbers: only for higher derivatives)."""
        kept_axes = [i for i in range(x.ndim) if i not in ctx.axes]
        order = kept_axes + list(ctx.axes)
        moved = x.permute(*order)
        k = int(np.prod([x.shape[i] for i in ctx.axes]))
        lead = moved.shape[:len(kept_axes)]
        rows = moved.reshape(lead + (1, k)).expand(*lead, k, k)
        others = where(np.eye(k, dtype=bool), 1.0, rows).prod(-1)
        others = others.reshape(moved.shape).permute(*np.argsort(order))
        kept = grad_output.reshape(_kept_shape(x.shape, ctx.axes)).expand(*x.shape)
        return kept * others


class CumSum(Function):
    """y[i] = x[0] + ... + x[i] along `axis`"""

    @staticmethod
    def forward(ctx, x, *, axis):
        ctx.axis = axis
        return np.cumsum(x.data, axis=axis)

    @staticmethod
    def backward(ctx, grad_output):
        # x[j] is in every y[i] with i >= j: dL/dx[j] = sum of dL/dy[i] for i >= j
        return grad_output.flip(ctx.axis).cumsum(ctx.axis).flip(ctx.axis)


class Max(_AxisExtreme):
    """y = max of x over `axis` (ties share the gradient equally)"""

    reduce = staticmethod(np.max)


class Min(_AxisExtreme):
    """y = min of x over `axis` (ties share the gradient equally)"""

    reduce = staticmethod(np.min)


# ---------------------------------------------------------------------------------------
# shape and movement
# ---------------------------------------------------------------------------------------


class Reshape(Function):
    """y = x with a new shape, same elements in the same (row-major) order"""

    @staticmethod
    def forward(ctx, x, *, shape):
        try:
            return x.data.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.data.size} elements) into shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad_output):
        # each element keeps its gradient: reshape it back
        (x,) = ctx.inputs
        return grad_output.reshape(x.shape)


class Transpose(Function):
    """y = x with its axes permuted"""

    @staticmethod
    def forward(ctx, x, *, axes):
        ctx.axes = axes
        return np.transpose(x.data, axes)

    @staticmethod
    def backward(ctx, grad_output):
        # permute back with the inverse permutation
        return grad_output.permute(*np.argsort(ctx.axes))


class Expand(Function):
    """y = x broadcast to a larger shape (a view: no copy)"""

    @staticmethod
    def forward(ctx, x, *, shape):
        try:
            return np.broadcast_to(x.data, shape)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {x.shape} to {tuple(shape)}: only "
                             "axes of size 1 can grow, and new axes go in front") from None

    @staticmethod
    def backward(ctx, grad_output):
        # every copy sends its gradient back to the one original: sum them
        (x,) = ctx.inputs
        return unbroadcast(grad_output, x.shape)


class Pad(Function):
    """y = x with `value` added around it, `widths[i] = (before, after)` on axis i"""

    @staticmethod
    def forward(ctx, x, *, widths, value=0):
        ctx.widths = widths
        return np.pad(x.data, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad_output):
        # the padding is constant: only the middle, where x sits, gets a gradient
        (x,) = ctx.inputs
        middle = tuple(slice(before, before + n) for (before, _), n in zip(ctx.widths, x.shape))
        return grad_output[middle]


def _own_index(index):
    """`index` with a copy of each array in it, so that the caller may change theirs."""
    if isinstance(index, tuple):
        return tuple(i.copy() if isinstance(i, np.ndarray) else i for i in index)
    return index.copy() if isinstance(index, np.ndarray) else index


class GetItem(Function):
    """y = x[index]"""

    @staticmethod
    def forward(ctx, x, *, index):
        ctx.index = index = _own_index(index)  # backward needs it: a copy, not the caller's
        try:
            return x.data[index]
        except IndexError as error:
            raise IndexError(f"index: {error} (tensor of shape {x.shape}, index {index!r})") \
                from None

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx is 1 at each picked position: the gradient goes back there (added up
        # where an element was picked more than once), and is 0 everywhere else
        (x,) = ctx.inputs
        if ctx.create_graph:
            return IndexAdd.apply(grad_output, index=ctx.index, shape=x.shape)
        # the same, not recorded: the walk adds it at `index` of x's gradient (SparseGrad)
        return SparseGrad(grad_output.data, ctx.index, x.shape)


class SetItem(Function):
    """y = a copy of x with y[index] = value (what `x[index] = value` records in a graph)"""

    @staticmethod
    def forward(ctx, x, value, *, index):
        ctx.index = _own_index(index)  # backward needs it: a copy, not the caller's
        out = x.data.copy()
        out[index] = _data(value)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1 where x was kept, 0 where value was written; dy/dvalue = 1 there
        x, value = ctx.inputs
        need_x, need_value = ctx.needs_input_grad
        grad_x = grad_value = None
        if need_x:
            kept = np.ones(x.shape, dtype=grad_output.dtype)
            kept[ctx.index] = 0
            grad_x = grad_output * kept
        if need_value:
            grad_value = unbroadcast(grad_output[ctx.index], np.shape(_data(value)))
        return grad_x, grad_value


class Clone(Function):
    """y = a copy of x"""

    @staticmethod
    def forward(ctx, x):
        return x.data.copy()

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1
        return grad_output


class IndexAdd(Function):
    """y = zeros(shape), then y[index] += g (adding, also where index repeats)"""

    @staticmethod
    def forward(ctx, g, *, index, shape):
        ctx.index = index
        out = np.zeros(shape, dtype=g.dtype)
        add_at(out, index, g.data)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        # each g element was added at its position: read the gradient back from there
        return grad_output[ctx.index]


class Cat(Function):
    """y = the inputs joined along `axis`"""

    @staticmethod
    def forward(ctx, *tensors, axis=0):
        datas = [_data(t) for t in tensors]
        ndim = np.ndim(datas[0])
        if ndim == 0:
            raise ValueError("cat: tensor 0 is 0-d (one value) and has no axis to join "
                             "along; tg.stack(tensors) makes a 1-D tensor of them")
        ctx.axis = _one_axis(axis, ndim, "cat")
        for i, d in enumerate(datas):
            if np.ndim(d) != ndim or any(a != b for k, (a, b) in
                                         enumerate(zip(np.shape(d), np.shape(datas[0])))
                                         if k != ctx.axis):
                raise ValueError(
                    f"cat: tensor {i} has shape {np.shape(d)} but tensor 0 has shape "
                    f"{np.shape(datas[0])}: all sizes but axis {ctx.axis} must match")
        ctx.sizes = [np.shape(d)[ctx.axis] for d in datas]
        return np.concatenate(datas, axis=ctx.axis)

    @staticmethod
    def backward(ctx, grad_output):
        # each input gets back its own slice of the gradient: a view of the array when
        # backward is not recorded (a slice op per input would cost more than the copy
        # it avoids: an RNN layer joins one output per time step)
        grads, start = [], 0
        lead = (slice(None),) * ctx.axis
        whole = grad_output if ctx.create_graph else grad_output.data
        for size, needs in zip(ctx.sizes, ctx.needs_input_grad):
            part = whole[lead + (slice(start, start + size),)] if needs else None
            grads.append(wrap(part) if needs and not ctx.create_graph else part)
            start += size
        return tuple(grads)


# ---------------------------------------------------------------------------------------
# products
# ---------------------------------------------------------------------------------------


class MatMul(Function):
    """z = x @ y, as np.matmul (1-D operands and broadcast batch axes included)"""

    @staticmethod
    def forward(ctx, x, y):
        xd, yd = _data(x), _data(y)
        xs, ys = np.shape(xd), np.shape(yd)
        if len(xs) == 0 or len(ys) == 0:
            raise ValueError(f"matmul: both operands need at least one dimension, got shapes "
                             f"{xs} and {ys} (use * to multiply by a scalar)")
        inner_x, inner_y = xs[-1], ys[-2] if len(ys) > 1 else ys[0]
        if inner_x != inner_y:
            raise ValueError(f"matmul: cannot multiply {xs} by {ys}: inner sizes {inner_x} and "
                             f"{inner_y} differ")
        ctx.save_for_backward(x, y)
        try:
            return np.matmul(xd, yd)
        except ValueError:
            raise ValueError(f"matmul: cannot multiply {xs} by {ys}: the batch axes "
                             f"{xs[:-2]} and {ys[:-2]} do not broadcast") from None

    @staticmethod
    def backward(ctx, grad_output):
        # for matrices, dL/dx = dL/dz @ y^T and dL/dy = x^T @ dL/dz.
        # A 1-D x acts as a (1, n) row and a 1-D y as an (n, 1) column: view them so, use
        # the matrix formulas, and reshape the gradients back.
        x, y = ctx.saved_tensors
        xs, ys = np.shape(_data(x)), np.shape(_data(y))
        x2 = (1,) + xs if len(xs) == 1 else xs
        y2 = ys + (1,) if len(ys) == 1 else ys
        z2 = np.broadcast_shapes(x2[:-2], y2[:-2]) + (x2[-2], y2[-1])
        g = grad_output.reshape(z2)
        need_x, need_y = ctx.needs_input_grad
        grad_x = grad_y = None
        if need_x:
            grad_x = unbroadcast(g @ _as(y).reshape(y2).swapaxes(-1, -2), x2).reshape(xs)
        if need_y:
            grad_y = unbroadcast(_as(x).reshape(x2).swapaxes(-1, -2) @ g, y2).reshape(ys)
        return grad_x, grad_y


def _as(x):
    """A constant as a Tensor (for backward formulas that call Tensor methods on it)."""
    return x if isinstance(x, engine.Tensor) else wrap(np.asarray(x))


_EINSUM_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _einsum_explicit(subscripts: str, shapes: list) -> tuple[list[str], str]:
    """Parse einsum subscripts into one letter string per operand and the output's.

    '...' becomes explicit letters (aligned from the right, as NumPy broadcasts them),
    and the implicit form ('ij,jk') gets NumPy's output (the letters seen once, sorted).
    """
    spec = subscripts.replace(" ", "")
    inputs_part, arrow, output = spec.partition("->")
    operands = inputs_part.split(",")
    if len(operands) != len(shapes):
        raise ValueError(f"einsum: '{subscripts}' names {len(operands)} operand(s) but "
                         f"{len(shapes)} were given")
    used = set(spec) - set(".,->")
    free = [c for c in _EINSUM_LETTERS if c not in used]
    n_ellipsis = 0
    for op, shape in zip(operands, shapes):
        if "..." in op:
            n_ellipsis = max(n_ellipsis, len(shape) - len(op.replace("...", "")))
    ellipsis_letters = "".join(free[:n_ellipsis])
    explicit = []
    for op, shape in zip(operands, shapes):
        if "..." in op:
            k = len(shape) - len(op.replace("...", ""))
            op = op.replace("...", ellipsis_letters[n_ellipsis - k:] if k else "")
        if len(op) != len(shape) or (op and not op.isalpha()):  # '' fits a 0-d operand
            raise ValueError(f"einsum: subscripts '{op}' do not fit an operand of shape {shape}")
        explicit.append(op)
    if arrow:
        output = output.replace("...", ellipsis_letters)
        unknown = sorted(set(output) - set("".join(explicit)))
        if unknown:
            raise ValueError(f"einsum: output subscript(s) {', '.join(map(repr, unknown))} of "
                             f"'{subscripts}' appear in no operand")
    else:
        letters = "".join(explicit)
        output = ellipsis_letters + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis_letters))
    return explicit, output


class Einsum(Function):
    """z = np.einsum(subscripts, *operands)"""

    @staticmethod
    def forward(ctx, *operands, subscripts):
        datas = [_data(t) for t in operands]
        ctx.subs, ctx.out = _einsum_explicit(subscripts, [np.shape(d) for d in datas])
        sizes: dict[str, tuple[int, int]] = {}  # letter -> (size, operand that set it)
        for i, (sub, d) in enumerate(zip(ctx.subs, datas)):
            for letter, size in zip(sub, np.shape(d)):
                seen_size, seen_in = sizes.setdefault(letter, (size, i))
                if size != seen_size and 1 not in (size, seen_size):
                    raise ValueError(
                        f"einsum: index '{letter}' of '{subscripts}' has size {seen_size} in "
                        f"operand {seen_in} but {size} in operand {i}: an index names one "
                        "axis, so its sizes must agree")
        ctx.save_for_backward(*operands)
        return np.einsum(",".join(ctx.subs) + "->" + ctx.out, *datas)

    @staticmethod
    def backward(ctx, grad_output):
        # z is linear in each operand: dL/dA is an einsum of dL/dz with all the other
        # operands, written to A's subscripts. A letter of A found in no other place was
        # summed over A alone: its gradient is the same along it, so it is expanded back.
        operands = ctx.saved_tensors
        grads = []
        for i, needs in enumerate(ctx.needs_input_grad):
            if not needs:
                grads.append(None)
                continue
            sub = ctx.subs[i]
            x = operands[i]
            unique = "".join(dict.fromkeys(sub))  # 'ii' (a diagonal) -> 'i'
            others = [ctx.subs[j] for j in range(len(operands)) if j != i]
            seen = set(ctx.out).union(*others) if others else set(ctx.out)
            kept = "".join(c for c in unique if c in seen)
            spec = ",".join([ctx.out] + others) + "->" + kept
            g = einsum(spec, grad_output, *[operands[j] for j in range(len(operands)) if j != i])
            shape = tuple(x.shape[sub.index(c)] for c in unique)
            size = dict(zip(kept, g.shape))
            g = g.reshape(tuple(size.get(c, 1) for c in unique))
            # an axis of size 1 in x that met a longer one ('...' broadcasting) is summed,
            # and a letter summed over x alone is expanded back to x's size
            g = unbroadcast(g, tuple(map(min, g.shape, shape)))
            g = g.expand(*shape) if g.shape != shape else g
            # a repeated letter read x's diagonal: the gradient goes back onto it
            grads.append(g if unique == sub else _onto_diagonal(g, unique, sub, x.shape))
        return tuple(grads)


def _onto_diagonal(g, unique: str, sub: str, shape: tuple):
    """g, indexed by `unique` letters, placed on the diagonal that `sub` (with repeated
    letters) read: each repeat gets a new letter tied to the first by an identity matrix,
    so that for 'ii' the gradient is g[i] * eye[i, j]."""
    fresh = (c for c in _EINSUM_LETTERS if c not in sub)
    target, specs, eyes, seen = [], [], [], set()
    for c, n in zip(sub, shape):
        if c in seen:
            new = next(fresh)
            specs.append(c + new)
            eyes.append(np.eye(n, dtype=g.dtype))
            target.append(new)
        else:
            seen.add(c)
            target.append(c)
    return einsum(",".join([unique] + specs) + "->" + "".join(target), g, *eyes)


def einsum(subscripts: str, *operands):
    """Einstein summation, as `np.einsum`, differentiable in every operand."""
    return Einsum.apply(*operands, subscripts=subscripts)


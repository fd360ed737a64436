"""Proving derivatives right: analytic gradients against finite differences.

The analytic Jacobian comes from backward, one output element at a time (a backward
with a one-hot `gradient` gives one row). The numeric Jacobian comes from nudging one
input element at a time by +-eps and watching the outputs move:

    central:      df/dx ~ (f(x + eps) - f(x - eps)) / (2 eps)          error O(eps^2)
    np.gradient:  f sampled at x + k eps for k = -2..2, then np.gradient, as a NumPy
                  tutorial would do it, read at the middle sample

Both run in float64: with float32's 7 digits, f(x + eps) - f(x - eps) for eps = 1e-6
cancels almost every digit, and what is left is round-off, not the derivative.

An element passes when |analytic - numeric| <= atol + rtol * |numeric|.

When an input fails, the two Jacobians are compared as a whole to name the usual
mistake (see `_hints`): the analytic one a constant times the numeric one (2x: added
twice; -1x: a sign; n: the 1/n of a mean), zero, only the diagonal of a full Jacobian,
off by a factor written with the input or the output (1 - y: sigmoid's missing factor;
1/x: a wrong power), transposed, right on one side of a kink only, a gradient of the
wrong shape (a broadcast not summed), or a forward that changed its input.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import engine
from .grad_mode import no_grad
from .tensor import Tensor

METHODS = ("central", "np.gradient")


class GradcheckError(RuntimeError):
    """Raised by `gradcheck(..., raise_exception=True)` when a gradient is wrong."""


@dataclass
class InputReport:
    """The comparison for one input: its Jacobians and where they disagree most."""

    index: int
    shape: tuple
    analytic: np.ndarray  # (output elements, input elements)
    numeric: np.ndarray
    passed: bool
    worst: list = field(default_factory=list)  # (out idx, in idx, analytic, numeric, abs, rel)
    name: str | None = None
    hints: list = field(default_factory=list)  # the likely mistake, in words (see _hints)


@dataclass
class GradcheckReport:
    """What `gradcheck` found. True (in an `if` or `assert`) when every gradient matched."""

    passed: bool
    method: str
    eps: float
    atol: float
    rtol: float
    inputs: list = field(default_factory=list)
    error: str | None = None  # an exception raised while computing gradients
    hints: list = field(default_factory=list)  # what the error probably means
    check: str = "gradcheck"  # or "gradgradcheck": which derivatives were checked

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"{self.check} {verdict} (method={self.method}, eps={self.eps:g}, "
                 f"atol={self.atol:g}, rtol={self.rtol:g})"]
        if self.error:
            lines.append(f"  error while computing gradients: {self.error}")
            lines += [f"  hint: {hint}" for hint in self.hints]
        for item in self.inputs:
            lines += self.input_lines(item)
        return "\n".join(lines)

    def input_lines(self, item: InputReport, indent: str = "  ") -> list[str]:
        """The lines about one input: "ok", or the worst elements and the hints."""
        label = f"input {item.index}" + (f" '{item.name}'" if item.name else "")
        if item.passed:
            return [f"{indent}{label} {item.shape}: ok"]
        failed = int((np.abs(item.analytic - item.numeric)
                      > self.atol + self.rtol * np.abs(item.numeric)).sum())
        if not failed:  # failed for another reason: forward changed the input
            lines = [f"{indent}{label} {item.shape}: the gradients agree, but see the hint"]
        else:
            lines = [f"{indent}{label} {item.shape}: analytic and numeric differ in "
                     f"{failed} of {item.numeric.size} Jacobian entries; the worst:",
                     f"{indent}  {'output':>10} {'input':>14} {'analytic':>14} {'numeric':>14} "
                     f"{'abs err':>10} {'rel err':>10}"]
        for out_idx, in_idx, a, n, abs_err, rel_err in item.worst:
            lines.append(f"{indent}  {str(out_idx):>10} {str(in_idx):>14} {a:>14.6g} {n:>14.6g} "
                         f"{abs_err:>10.3g} {rel_err:>10.3g}")
        lines += [textwrap.fill(f"hint: {hint}", 88, initial_indent=indent + "  ",
                                subsequent_indent=indent + "        ") for hint in item.hints]
        return lines

    __repr__ = __str__


def _outputs_as_list(out) -> list:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: the function must return a Tensor (or a tuple of them); "
                            f"output {i} is {type(o).__name__}")
    return outs


def _flat_outputs(f, args) -> np.ndarray:
    """f(*args) with every output flattened into one float64 vector.

    Grad mode stays on: gradgradcheck's f runs a backward inside, which needs the graph.
    """
    outs = _outputs_as_list(f(*args))
    return np.concatenate([o.data.astype(np.float64).ravel() for o in outs])


def _prepare_inputs(inputs) -> tuple[list, list[int]]:
    """float64 leaf copies of the inputs to check; constants pass through untouched."""
    if isinstance(inputs, (Tensor, np.ndarray)):
        inputs = (inputs,)
    args, checked = [], []
    for i, x in enumerate(inputs):
        if isinstance(x, np.ndarray) or (isinstance(x, Tensor) and x.requires_grad):
            data = x.data if isinstance(x, Tensor) else x
            if data.dtype != np.float64:
                if data.dtype.kind == "f":
                    warnings.warn(
                        f"gradcheck: input {i} is {data.dtype}; finite differences in "
                        f"{data.dtype} drown in round-off, so the check runs on a float64 "
                        "copy. Pass float64 inputs (x.double()) to silence this.", stacklevel=3)
                else:
                    raise TypeError(f"gradcheck: input {i} is {data.dtype}; only floating "
                                    "inputs have gradients")
            leaf = Tensor(data.astype(np.float64), requires_grad=True)
            leaf.name = getattr(x, "name", None)
            args.append(leaf)
            checked.append(i)
        else:
            args.append(x)
    if not checked:
        raise ValueError("gradcheck: no input to check: pass Tensors with requires_grad=True "
                         "(or ndarrays)")
    return args, checked


def _analytic_jacobians(outs, args, checked) -> list[np.ndarray]:
    """One backward per output element, each with a one-hot gradient: the Jacobian's rows."""
    leaves = [args[i] for i in checked]
    n_out = sum(o.data.size for o in outs)
    jacobians = [np.zeros((n_out, args[i].data.size)) for i in checked]
    row = 0
    for o in outs:
        for k in range(o.data.size):
            if o.requires_grad:
                onehot = np.zeros(o.shape, dtype=o.dtype)
                onehot.flat[k] = 1
                grads = engine.grad(o, leaves, grad_outputs=onehot, retain_graph=True)
                for j, g in enumerate(grads):
                    if g is not None:
                        jacobians[j][row] = g.data.ravel()
            row += 1
    return jacobians


def _numeric_jacobian(f, args, i, eps, method, restore=()) -> np.ndarray:
    """Column j: how every output moves when element j of input i is nudged.

    `restore` holds (tensor, original array) pairs to put back before every call of f:
    needed only when f changes its inputs in place, which would otherwise move the
    point the derivative is taken at.
    """

    def outputs_at(j, value):
        for tensor, original in restore:
            tensor.data = original.copy()
        if j is not None:
            args[i].data.reshape(-1)[j] = value  # a float64 copy (see _prepare_inputs)
        return _flat_outputs(f, args)

    for tensor, original in restore:
        tensor.data = original.copy()
    start = args[i].data.ravel().copy()
    base = outputs_at(None, None)
    jacobian = np.zeros((base.size, start.size))
    for j, original in enumerate(start):
        if method == "central":
            plus = outputs_at(j, original + eps)
            minus = outputs_at(j, original - eps)
            jacobian[:, j] = (plus - minus) / (2 * eps)
        else:
            samples = [base if k == 0 else outputs_at(j, original + k * eps)
                       for k in (-2, -1, 0, 1, 2)]
            jacobian[:, j] = np.gradient(np.stack(samples), eps, axis=0)[2]
        args[i].data.reshape(-1)[j] = original
    return jacobian


def _worst(analytic, numeric, failed, in_shape, out_count, limit=5) -> list:
    """The failing elements with the largest absolute errors, at most `limit` of them."""
    abs_err = np.abs(analytic - numeric)
    rel_err = abs_err / np.maximum(np.abs(numeric), 1e-12)
    order = np.argsort(np.where(failed, abs_err, -1.0), axis=None)[::-1][:min(limit, failed.sum())]
    rows = []
    for flat_index in order:
        r, c = np.unravel_index(flat_index, abs_err.shape)
        in_idx = np.unravel_index(c, in_shape) if in_shape else ()
        out_idx = int(r) if out_count > 1 else ()
        rows.append((out_idx, tuple(int(v) for v in in_idx), float(analytic[r, c]),
                     float(numeric[r, c]), float(abs_err[r, c]), float(rel_err[r, c])))
    return rows


# ---------------------------------------------------------------------------------------
# Hints: the usual mistakes, read off the two Jacobians
# ---------------------------------------------------------------------------------------

# A is "c times N" when the least-squares c leaves a residual below this fraction of |A|.
# Finite differences in float64 agree with a right gradient to about 1e-8, so a constant
# factor shows a residual far below 1e-3, and any other mistake one far above it.
SCALE_RESIDUAL = 1e-3
# c is read as a simple number (2, 1/2, -1, k) when within this relative distance of it.
SCALE_MATCH = 1e-3

HINT_TWICE = ("the analytic gradient is 2x the numeric one: is the gradient accumulated "
              "twice (added on two paths, or += where = was meant), or a factor of 2 added "
              "(a missing 1/2)?")
HINT_HALF = ("the analytic gradient is 0.5x the numeric one: is a factor of 2 missing "
             "(d/dx x^2 = 2x), or only one of two contributions added (an input used twice)?")
HINT_SIGN = ("the analytic gradient is the numeric one with the opposite sign: is a minus "
             "sign missing or extra (d/dx cos x = -sin x, d/dy (x - y) = -1, "
             "d/dx 1/x = -1/x^2)?")
HINT_ZERO = ("the analytic gradient is zero everywhere but the numeric one is not: the "
             "gradient is not propagated: did you return None/zeros, detach, or use .data "
             "in forward?")
HINT_ZERO_SECOND = ("the second derivative backward gives is zero everywhere but the "
                    "numeric one is not: was backward computed from arrays (.data, NumPy "
                    "functions)? create_graph records those as constants; write backward "
                    "with Tensor ops, or give the op its own backward Function")
HINT_TRANSPOSE = ("the analytic gradient is the numeric one transposed: did you forget to "
                  "transpose (use x.T / swap the matmul operands)?")
HINT_MUTATED = ("forward changed its input in place (x.data[...] = / +=): compute on a copy "
                "(y = x.data * 2, or x.data.copy()); the saved input and the caller's "
                "tensor are both wrong after it")
HINT_UNBROADCAST = "sum the gradient over the broadcast axes: ops.unbroadcast(grad, x.shape)"


def _near(value: float, target: float) -> bool:
    return abs(value - target) <= SCALE_MATCH * abs(target)


def _simple(c: float) -> bool:
    """-1, 2 or 1/2: the constants with a hint of their own."""
    return any(_near(c, k) for k in (-1.0, 2.0, 0.5))


def _scale_hints(c: float, out_size: int, in_size: int, shape: tuple = ()) -> list[str]:
    """Hints for A = c N, c a constant other than 1."""
    if _near(c, -1.0):
        return [HINT_SIGN]
    hints = _broadcast_hints(c, out_size, in_size)
    mean = None if hints else _mean_hint(c, shape)
    if mean:
        return [f"the analytic gradient is {c:.4g}x the numeric one everywhere: {mean}"]
    if _near(c, 2.0):
        hints.append(HINT_TWICE)
    elif _near(c, 0.5):
        hints.append(HINT_HALF)
    elif c < 0:
        hints.append(f"the analytic gradient is {c:.4g}x the numeric one: the sign is flipped "
                     "and the size is off by a constant factor")
    else:
        hints.append(f"the analytic gradient is {c:.4g}x the numeric one everywhere: a "
                     "constant factor in the derivative is wrong")
    return hints


def _broadcast_hints(c: float, out_size: int, in_size: int) -> list[str]:
    """A = k N or N / k where the output has k times the input's elements: a broadcast
    input whose k copies' gradients were scaled by k, or averaged instead of summed."""
    copies = out_size // in_size if in_size and out_size % in_size == 0 else 0
    if copies >= 2 and _near(c, copies):
        return [f"the output has {copies}x as many elements as this input and the gradient "
                f"is {copies}x too large: if the input is broadcast in forward, sum the "
                "gradient over the broadcast axes once (ops.unbroadcast), not times the "
                "number of copies"]
    if copies >= 2 and _near(c, 1 / copies):
        return [f"the output has {copies}x as many elements as this input and the gradient "
                f"is 1/{copies} of the right one: if the input is broadcast in forward, sum "
                "the gradient over the broadcast axes (ops.unbroadcast) rather than "
                "averaging it, or taking one copy"]
    return []


def _mean_hint(c: float, shape: tuple) -> str | None:
    """For A = n N or N / n, n the size of an axis of the input (or of all of it, n > 2):
    the 1/n of a mean forgotten, or a division by n where none belongs."""
    sizes = {n: f"the size of axis {axis}" for axis, n in reversed(list(enumerate(shape)))}
    if len(shape) > 1:
        sizes.setdefault(int(np.prod(shape)), "the number of elements")
    for n, what in sizes.items():
        if n > 2 and _near(c, n):
            return (f"{n} is {what} of this input: if the op averages over it, is the 1/{n} "
                    f"of the mean missing (a mean's derivative is 1/n for each element)? "
                    "Otherwise a constant factor in the derivative is wrong")
        if n > 2 and _near(c, 1 / n):
            return (f"{n} is {what} of this input: is the gradient divided by {n} where "
                    "nothing should be (a sum's derivative is 1 for each element, a mean's "
                    "1/n)? Otherwise a constant factor in the derivative is wrong")
    return None


def _diagonal_hint(analytic: np.ndarray, numeric: np.ndarray, atol: float,
                   rtol: float) -> str | None:
    """The analytic Jacobian is the numeric one's diagonal, and the numeric one has more:
    an output depends on other inputs too (softmax, a normalization), and those terms
    were left out."""
    diagonal = np.diag(np.diag(numeric))
    off = numeric - diagonal
    if np.abs(off).max() <= 10 * atol + rtol * np.abs(numeric).max():
        return None  # elementwise: there is nothing off the diagonal to miss
    if not np.all(np.abs(analytic - diagonal) <= atol + rtol * np.abs(diagonal)):
        return None
    return ("your gradient has only the diagonal of the Jacobian (dy_i/dx_i, each output "
            "from its own input), but each output also depends on the other inputs (the "
            "numeric dy_i/dx_j is not 0 for i != j): the terms through the other inputs are "
            "missing, such as a softmax's -y_i y_j or the mean and variance of a norm")


# Factors a derivative is often off by, elementwise: (name, f(x, y)), x the input and y
# the output. The hint says "your gradient equals the right one times <name>".
_FACTORS = [
    ("1/(1 - y)", "the factor (1 - y) is missing", lambda x, y: 1 / (1 - y)),
    ("1/y", "the factor y is missing", lambda x, y: 1 / y),
    ("y", "there is an extra factor y", lambda x, y: y),
    ("1 - y", "there is an extra factor (1 - y)", lambda x, y: 1 - y),
    ("1/(1 - y^2)", "the factor (1 - y^2) is missing", lambda x, y: 1 / (1 - y ** 2)),
    ("1/(1 + y)", "the factor (1 + y) is missing", lambda x, y: 1 / (1 + y)),
    ("1/x", "the power of x is one too high, or a factor x is missing",
     lambda x, y: 1 / x),
    ("x", "the power of x is one too low, or there is an extra factor x",
     lambda x, y: x),
    ("1/x^2", "the power of x is two too high", lambda x, y: 1 / x ** 2),
    ("x^2", "the power of x is two too low", lambda x, y: x ** 2),
]


def _factor_hint(analytic: np.ndarray, numeric: np.ndarray, x: np.ndarray,
                 y: np.ndarray | None, atol: float) -> str | None:
    """For an elementwise op (both Jacobians diagonal), the ratio of the two diagonals
    compared with factors written with the input x and the output y."""
    if np.abs(analytic - np.diag(np.diag(analytic))).max() > atol or np.abs(
            numeric - np.diag(np.diag(numeric))).max() > atol:
        return None  # not elementwise
    a, n = np.diag(analytic), np.diag(numeric)
    usable = np.abs(n) > 1e3 * atol
    if usable.sum() < 2 or not usable.all():  # (zero slopes somewhere: a kink, a mask)
        return None
    ratio = a[usable] / n[usable]
    if np.ptp(ratio) <= 1e-3 * np.abs(ratio).max():
        return None  # a constant: said by the constant-factor rule
    with np.errstate(all="ignore"):
        for name, meaning, factor in _FACTORS:
            if "y" in name and (y is None or y.size != x.size):
                continue
            expected = factor(x[usable], None if y is None else y.ravel()[usable])
            if np.all(np.isfinite(expected)) and np.allclose(ratio, expected, rtol=1e-3,
                                                             atol=1e-6):
                where = "y the output" if "y" in name else "x the input"
                return (f"your gradient equals the right one times {name} ({where}): "
                        f"{meaning}")
    return None


def _kink_hint(right_columns: np.ndarray, wrong_columns: np.ndarray, x: np.ndarray,
               eps: float) -> str | None:
    """A gradient right on one side of a point and wrong on the other: a kink's branch.

    right_columns: input elements whose gradient passed; wrong_columns: those clearly off
    (by more than round-off). The input elements are sorted by value; the hint is given
    when every element is one or the other and the wrong ones are exactly those below
    (or above) some point, with at least two on each side.
    """
    if x.size < 4 or not wrong_columns.any() or not np.all(right_columns | wrong_columns):
        return None
    if np.all(np.abs(x[wrong_columns]) <= eps):
        return ("wrong only where this input is 0 (within eps): at a kink finite differences "
                "give the average of the two one-sided slopes; keep test inputs off the "
                "kink, or check which side your backward gives the point itself")
    order = np.argsort(x, kind="stable")
    wrong_sorted, values = wrong_columns[order], x[order]
    m = int(wrong_sorted.sum())
    if m < 2 or x.size - m < 2:
        return None
    if wrong_sorted[:m].all():  # wrong below, right above
        low, high, right, wrong = values[m - 1], values[m], ">", "<"
    elif wrong_sorted[-m:].all():  # right below, wrong above
        low, high, right, wrong = values[-m - 1], values[-m], "<", ">"
    else:
        return None
    if low == high:
        return None
    point = "0" if low <= 0 <= high else f"{(low + high) / 2:.3g}"
    return (f"matches where x {right} {point} but not where x {wrong} {point}: check the "
            "branch for the other side of the kink (x is this input; check that side's "
            "derivative, and the mask or condition that selects it)")


def _hints(analytic: np.ndarray, numeric: np.ndarray, ok: np.ndarray, x: np.ndarray,
           eps: float, atol: float, rtol: float, y: np.ndarray | None = None) -> list[str]:
    """Name the likely mistake behind a failing input from its two Jacobians.

    analytic and numeric are (output elements, input elements); ok marks the entries that
    agree; x is the input's value, y the output's (None when there are several outputs).
    Tried in order, the first rule that fits wins: zero, a constant factor (least
    squares), only the Jacobian's diagonal, a factor that is a function of x or y
    (elementwise ops), a transpose (square 2-D inputs), a kink.
    """
    a_norm, n_norm = np.linalg.norm(analytic), np.linalg.norm(numeric)
    if ok.all() or not np.isfinite(a_norm) or not np.isfinite(n_norm):
        return []
    out_size, in_size = numeric.shape
    if a_norm <= 1e-9 * n_norm and np.abs(numeric).max() > atol:
        return [HINT_ZERO]
    if n_norm <= 1e-9 * a_norm and np.abs(analytic).max() > atol:
        return ["the output does not depend on this input (its numeric gradient is 0), yet "
                "backward returns a gradient for it: is a gradient sent to the wrong input, "
                "or the inputs' gradients returned in the wrong order?"]
    if n_norm > 0:
        c = float(np.vdot(analytic, numeric) / n_norm ** 2)  # least squares: A ~ c N
        residual = np.linalg.norm(analytic - c * numeric)
        if residual <= SCALE_RESIDUAL * a_norm and not _near(c, 1.0):
            if out_size == in_size == 1:  # one number: any two are a constant apart
                return _scale_hints(c, 1, 1) if _simple(c) else []
            return _scale_hints(c, out_size, in_size, x.shape)
    if out_size == in_size > 1:
        hint = _diagonal_hint(analytic, numeric, atol, rtol) or _factor_hint(
            analytic, numeric, x.ravel(), y, atol)
        if hint:
            return [hint]
    if x.ndim == 2 and x.shape[0] == x.shape[1] > 1:
        n = x.shape[0]
        transposed = analytic.reshape(out_size, n, n).transpose(0, 2, 1).reshape(out_size, -1)
        if np.all(np.abs(transposed - numeric) <= atol + rtol * np.abs(numeric)):
            return [HINT_TRANSPOSE]
    # "clearly wrong": off by more than round-off, whatever the tolerances asked for
    scale = np.abs(numeric).max()
    clearly = (np.abs(analytic - numeric)
               > max(atol, 1e-6 * scale) + max(rtol, 1e-4) * np.abs(numeric))
    kink = _kink_hint(ok.all(axis=0), clearly.any(axis=0), x.ravel(), eps)
    return [kink] if kink else []


_SHAPE_ERROR = re.compile(r"returned a gradient of shape (\([^)]*\)) for input (\d+), "
                          r"which has shape (\([^)]*\))")


def _error_hints(message: str) -> list[str]:
    """Hints for the engine's error about a gradient of the wrong shape."""
    found = _SHAPE_ERROR.search(message)
    if not found:
        return []
    got, want = ast.literal_eval(found.group(1)), ast.literal_eval(found.group(3))
    if len(got) == len(want) == 2 and got == want[::-1]:
        return [f"the gradient has the input's shape {want} transposed: did you forget to "
                "transpose (use x.T / swap the matmul operands)?"]
    try:
        broadcast = np.broadcast_shapes(want, got) == got
    except ValueError:
        broadcast = False
    if broadcast:
        return [f"the gradient for the op's input {found.group(2)} has the broadcast shape "
                f"{got}, not the input's {want}: " + HINT_UNBROADCAST]
    if sorted(got) == sorted(want):
        return [f"the gradient has the input's sizes {want} in another order, {got}: if "
                "forward permuted the axes (x.transpose(perm)), backward must permute them "
                "back, by the inverse permutation np.argsort(perm)"]
    return [f"return a gradient with exactly its input's shape {want}"]


def gradcheck(f, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              method: str = "central", raise_exception: bool = False,
              verbose: bool = True, _check: str = "gradcheck") -> GradcheckReport:
    """Compare the gradients backward computes with finite differences, in float64.

    Args:
        f: a function of the inputs returning a Tensor (or a tuple of Tensors).
        inputs: a Tensor or a sequence. Tensors with `requires_grad=True` and ndarrays are
            checked (on float64 copies); anything else is passed to `f` as it is.
        method: "central" or "np.gradient" (see the module docstring).
        raise_exception: raise `GradcheckError` with the report instead of returning it.
        verbose: print the report when the check fails.

    Returns:
        A `GradcheckReport`: truthy when every element passed; printing it shows, for each
        input, the worst elements with analytic and numeric values and their errors.
    """
    if method not in METHODS:
        raise ValueError(f"gradcheck: method must be one of {METHODS}, got {method!r}")
    args, checked = _prepare_inputs(inputs)
    report = GradcheckReport(True, method, eps, atol, rtol, check=_check)
    originals = [(args[i], args[i].data.copy()) for i in checked]
    outs = _outputs_as_list(f(*args))  # a function returning no Tensor is misuse: raise
    mutated = {i for i, (leaf, original) in zip(checked, originals)
               if not (leaf.data.shape == original.shape
                       and np.array_equal(leaf.data, original, equal_nan=True))}
    try:
        analytic = _analytic_jacobians(outs, args, checked)
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as error:
        report.passed = False
        report.error = f"{type(error).__name__}: {error}"
        report.hints = _error_hints(report.error)
        analytic = None
    if analytic is not None:
        # f changed an input: measure the numeric slopes at the inputs as they were given
        restore = originals if mutated else ()
        output = outs[0].data.astype(np.float64) if len(outs) == 1 else None
        for j, i in enumerate(checked):
            numeric = _numeric_jacobian(f, args, i, eps, method, restore)
            ok = np.abs(analytic[j] - numeric) <= atol + rtol * np.abs(numeric)
            passed = bool(ok.all()) and i not in mutated
            item = InputReport(i, args[i].shape, analytic[j], numeric, passed,
                               name=args[i].name)
            if i in mutated:
                item.hints.append(HINT_MUTATED)
            if not ok.all():
                item.worst = _worst(analytic[j], numeric, ~ok, args[i].shape, numeric.shape[0])
                if i not in mutated:  # (after a mutation the comparison says little)
                    item.hints += _hints(analytic[j], numeric, ok, args[i].data, eps, atol,
                                         rtol, output)
                    if _check == "gradgradcheck":  # f is a backward: say so in the hint
                        item.hints = [HINT_ZERO_SECOND if h is HINT_ZERO else h
                                      for h in item.hints]
            report.passed = report.passed and passed
            report.inputs.append(item)
    if not report.passed:
        if raise_exception:
            raise GradcheckError(str(report))
        if verbose:
            print(report)
    return report


def gradgradcheck(f, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, method: str = "central", raise_exception: bool = False,
                  verbose: bool = True) -> GradcheckReport:
    """Check second derivatives: gradcheck of the map x -> v^T J(x), the backward pass.

    The backward is run with `create_graph=True`, so its result is itself a function of
    the inputs that backward can differentiate; that function is then gradchecked.
    `grad_outputs` is v (random, from a fixed seed, when not given).
    """
    args, checked = _prepare_inputs(inputs)
    with no_grad():
        outs = _outputs_as_list(f(*args))
    if len(outs) != 1:
        raise ValueError("gradgradcheck: f must return a single Tensor")
    if grad_outputs is None:
        grad_outputs = np.random.default_rng(0).standard_normal(outs[0].shape)
    v = np.asarray(getattr(grad_outputs, "data", grad_outputs), dtype=np.float64)

    def first_derivatives(*xs):
        leaves = [xs[i] for i in checked]
        out = f(*xs)
        grads = engine.grad(out, leaves, grad_outputs=v, create_graph=True)
        return tuple(g if g is not None else Tensor(np.zeros(x.shape))
                     for g, x in zip(grads, leaves))

    return gradcheck(first_derivatives, args, eps=eps, atol=atol, rtol=rtol, method=method,
                     raise_exception=raise_exception, verbose=verbose, _check="gradgradcheck")

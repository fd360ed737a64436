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
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import autograd
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

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"gradcheck {verdict} (method={self.method}, eps={self.eps:g}, "
                 f"atol={self.atol:g}, rtol={self.rtol:g})"]
        if self.error:
            lines.append(f"  error while computing gradients: {self.error}")
        for item in self.inputs:
            label = f"input {item.index}" + (f" '{item.name}'" if item.name else "")
            if item.passed:
                lines.append(f"  {label} {item.shape}: ok")
                continue
            failed = int((np.abs(item.analytic - item.numeric)
                          > self.atol + self.rtol * np.abs(item.numeric)).sum())
            lines.append(f"  {label} {item.shape}: analytic and numeric gradients differ in "
                         f"{failed} of {item.numeric.size} Jacobian entries; the worst:")
            lines.append(f"    {'output':>10} {'input':>14} {'analytic':>14} {'numeric':>14} "
                         f"{'abs err':>10} {'rel err':>10}")
            for out_idx, in_idx, a, n, abs_err, rel_err in item.worst:
                lines.append(f"    {str(out_idx):>10} {str(in_idx):>14} {a:>14.6g} {n:>14.6g} "
                             f"{abs_err:>10.3g} {rel_err:>10.3g}")
        return "\n".join(lines)

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
                grads = autograd.grad(o, leaves, grad_outputs=onehot, retain_graph=True)
                for j, g in enumerate(grads):
                    if g is not None:
                        jacobians[j][row] = g.data.ravel()
            row += 1
    return jacobians


def _numeric_jacobian(f, args, i, eps, method) -> np.ndarray:
    """Column j: how every output moves when element j of input i is nudged."""
    x = args[i].data  # a float64 copy made by _prepare_inputs: safe to nudge in place
    base = _flat_outputs(f, args)
    jacobian = np.zeros((base.size, x.size))
    flat = x.reshape(-1)
    for j in range(x.size):
        original = flat[j]
        if method == "central":
            flat[j] = original + eps
            plus = _flat_outputs(f, args)
            flat[j] = original - eps
            minus = _flat_outputs(f, args)
            jacobian[:, j] = (plus - minus) / (2 * eps)
        else:
            samples = []
            for k in (-2, -1, 0, 1, 2):
                flat[j] = original + k * eps
                samples.append(base if k == 0 else _flat_outputs(f, args))
            jacobian[:, j] = np.gradient(np.stack(samples), eps, axis=0)[2]
        flat[j] = original
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


def gradcheck(f, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              method: str = "central", raise_exception: bool = False,
              verbose: bool = True) -> GradcheckReport:
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
    report = GradcheckReport(True, method, eps, atol, rtol)
    outs = _outputs_as_list(f(*args))  # a function returning no Tensor is misuse: raise
    try:
        analytic = _analytic_jacobians(outs, args, checked)
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as error:
        report.passed = False
        report.error = f"{type(error).__name__}: {error}"
        analytic = None
    if analytic is not None:
        for j, i in enumerate(checked):
            numeric = _numeric_jacobian(f, args, i, eps, method)
            ok = np.abs(analytic[j] - numeric) <= atol + rtol * np.abs(numeric)
            passed = bool(ok.all())
            item = InputReport(i, args[i].shape, analytic[j], numeric, passed,
                               name=args[i].name)
            if not passed:
                item.worst = _worst(analytic[j], numeric, ~ok, args[i].shape, numeric.shape[0])
                report.passed = False
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
    with autograd.no_grad():
        outs = _outputs_as_list(f(*args))
    if len(outs) != 1:
        raise ValueError("gradgradcheck: f must return a single Tensor")
    if grad_outputs is None:
        grad_outputs = np.random.default_rng(0).standard_normal(outs[0].shape)
    v = np.asarray(getattr(grad_outputs, "data", grad_outputs), dtype=np.float64)

    def first_derivatives(*xs):
        leaves = [xs[i] for i in checked]
        out = f(*xs)
        grads = autograd.grad(out, leaves, grad_outputs=v, create_graph=True)
        return tuple(g if g is not None else Tensor(np.zeros(x.shape))
                     for g, x in zip(grads, leaves))

    return gradcheck(first_derivatives, args, eps=eps, atol=atol, rtol=rtol, method=method,
                     raise_exception=raise_exception, verbose=verbose)

"""`minimize`: find x that makes a scalar function f(x) small, like `scipy.optimize.minimize`.

    import tinygrad_edu as tg

    def rosenbrock(x):                      # x is a Tensor; f returns a scalar Tensor
        return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()

    result = tg.optim.minimize(rosenbrock, [-1.2, 1.0])        # method="lbfgs"
    result.x, result.fun, result.nit, result.success, result.message

Every evaluation hands f a fresh float64 leaf Tensor holding the current x, and the
engine's backward pass gives the gradient df/dx. Three methods:

- "lbfgs" (the default): limited-memory BFGS. It remembers the last few steps s and the
  gradient changes y they caused, and from them builds, without ever storing a matrix,
  an approximation of the inverse Hessian to turn the gradient into a good direction.
  A line search then picks how far to go. On smooth problems it needs far fewer steps
  than gradient descent: read `_lbfgs` below, it is written to be followed.
- "adam" and "sgd": the training optimizers `Adam` and `SGD`, stepping one parameter
  with a fixed learning rate. No line search: simple, and what training a network does,
  but slow to reach a tight tolerance.

Every method stops when the gradient norm |df/dx| falls below `tol` (success=True), or
after `max_iter` iterations, or when it cannot make progress (success=False; `message`
says which).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from ..engine import grad
from ..grad_mode import enable_grad
from ..tensor import Tensor
from .adam import Adam
from .sgd import SGD

METHODS = ("lbfgs", "adam", "sgd")

# Default learning rates and iteration budgets. L-BFGS needs no learning rate: its line
# search chooses every step length. Adam moves each coordinate by about lr per step at
# first, whatever the gradient's size, so 0.1 crosses a distance of 10 in ~100 steps.
# Plain SGD moves by lr * gradient: 0.01 is stable as long as the curvature of f stays
# below 2 / 0.01 = 200 (on f = a x^2 the step multiplies x by 1 - 2 a lr).
DEFAULT_LR = {"adam": 0.1, "sgd": 0.01}
DEFAULT_MAX_ITER = {"lbfgs": 1000, "adam": 10000, "sgd": 10000}

# L-BFGS options that can be passed through **options, with their defaults.
LBFGS_OPTIONS = {
    "memory": 10,          # how many (s, y) pairs to remember
    "c1": 1e-4,            # Armijo constant: accept a step that achieves this fraction
                           # of the decrease the slope promises
    "shrink": 0.5,         # backtracking: multiply the step by this until it is accepted
    "max_backtracks": 60,  # 0.5^60 ~ 1e-18: no step length left to try after that
}


class MinimizeResult:
    """What `minimize` found, with the attribute names of scipy's `OptimizeResult`.

    Attributes:
        x: the best point found, an ndarray (float64) with the shape of x0.
        fun: f(x), a float.
        jac: the gradient df/dx at x, an ndarray with x's shape.
        nit: the number of iterations (steps) taken.
        nfev: the number of times f (and its gradient) was evaluated.
        success: True only when the gradient norm fell below `tol`.
        message: why it stopped.
        history: f at x0 and after every iteration (len(history) == nit + 1).
    """

    def __init__(self, x, fun, jac, nit, nfev, success, message, history):
        self.x, self.fun, self.jac = x, fun, jac
        self.nit, self.nfev = nit, nfev
        self.success, self.message = success, message
        self.history = history

    def __repr__(self) -> str:
        fields = ("message", "success", "fun", "x", "nit", "nfev", "jac")
        width = max(len(name) for name in fields)
        return "\n".join(f"{name.rjust(width)}: {getattr(self, name)!r}" for name in fields)


# ---------------------------------------------------------------------------------------
# Evaluating f and its gradient.
# ---------------------------------------------------------------------------------------


class _Objective:
    """f(x) and df/dx at a point, by one forward and one backward pass; counts the calls."""

    def __init__(self, f, shape: tuple):
        self.f, self.shape, self.count = f, shape, 0

    def __call__(self, x_flat: np.ndarray) -> tuple[float, np.ndarray]:
        self.count += 1
        # A fresh leaf each time: no graph or .grad is carried from one evaluation to the
        # next, and f can never change the optimizer's own copy of x.
        leaf = Tensor(x_flat.reshape(self.shape), dtype=np.float64, requires_grad=True)
        with enable_grad():  # record the graph even inside the caller's no_grad
            out = self.f(leaf)
            _check_output(out)
            gradient = grad(out, leaf) if out.requires_grad else None
        value = float(out.data.reshape(()))
        if gradient is None:  # f does not depend on x: its gradient is zero
            flat_gradient = np.zeros_like(x_flat)
        else:
            flat_gradient = np.asarray(gradient.data, dtype=np.float64).ravel()
        return value, flat_gradient


def _check_output(out) -> None:
    if not isinstance(out, Tensor):
        hint = (" (compute with tinygrad_edu ops, not NumPy or math, so that the engine "
                "can record the graph and find the gradient)")
        raise TypeError(f"minimize: f must return a scalar Tensor, got "
                        f"{type(out).__name__}{hint}")
    if out.data.size != 1:
        raise ValueError(f"minimize: f must return a scalar Tensor (one element), but it "
                         f"returned shape {out.shape}: reduce it first, e.g. with .sum()")


def _require_finite(value: float, gradient: np.ndarray, where: str, advice: str) -> None:
    if not (math.isfinite(value) and np.all(np.isfinite(gradient))):
        what = f"f = {value}" if not math.isfinite(value) else "the gradient has inf or nan"
        raise ValueError(f"minimize: {what} {where}. {advice}")


def _as_start(x0) -> np.ndarray:
    data = x0.data if isinstance(x0, Tensor) else x0
    try:
        x = np.array(data, dtype=np.float64)  # always a copy: x0 itself is never changed
    except (TypeError, ValueError) as error:
        raise TypeError(f"minimize: x0 must be numbers (an array, a list or a Tensor), got "
                        f"{type(x0).__name__}: {error}") from None
    if x.size == 0:
        raise ValueError(f"minimize: x0 is empty (shape {x.shape}): there is nothing to vary")
    if not np.all(np.isfinite(x)):
        raise ValueError("minimize: x0 contains inf or nan: start from a finite point")
    return x


# ---------------------------------------------------------------------------------------
# The public function.
# ---------------------------------------------------------------------------------------


def minimize(f, x0, method: str = "lbfgs", lr: float | None = None,
             max_iter: int | None = None, tol: float = 1e-9, callback=None,
             **options) -> MinimizeResult:
    """Minimize a scalar function f over x, starting from x0.

    Args:
        f: a function taking a Tensor (with x0's shape) and returning a one-element
            Tensor, computed with tinygrad_edu ops so that its gradient can be found.
        x0: the starting point: an ndarray, a list or a Tensor (used as float64, copied).
        method: "lbfgs" (default), "adam" or "sgd".
        lr: the learning rate of "adam" (default 0.1) or "sgd" (default 0.01). L-BFGS
            chooses its step lengths itself and refuses an lr.
        max_iter: the most iterations to take (default 1000 for "lbfgs", 10000 for
            "adam" and "sgd").
        tol: stop, successfully, when the gradient norm |df/dx| is below this.
        callback: called as callback(x) after every iteration, with a copy of the
            current x (in x0's shape). If it returns True, minimize stops there.
        **options: for "lbfgs": memory (10), c1 (1e-4), shrink (0.5) and
            max_backtracks (60), see `_lbfgs`; for "adam" and "sgd": passed on to
            `Adam` or `SGD` (e.g. momentum=0.9, betas=(0.9, 0.999)).

    Returns:
        A `MinimizeResult` with x, fun, jac, nit, nfev, success, message and history.
    """
    if method not in METHODS:
        raise ValueError(f"minimize: unknown method {method!r}; the methods are "
                         + ", ".join(repr(m) for m in METHODS))
    if max_iter is None:
        max_iter = DEFAULT_MAX_ITER[method]
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"minimize: max_iter must be a whole number >= 0, got {max_iter!r}")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"minimize: tol must be a number >= 0, got {tol!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"minimize: callback must be a function of x, got "
                        f"{type(callback).__name__}")

    x = _as_start(x0)
    objective = _Objective(f, x.shape)
    if method == "lbfgs":
        if lr is not None:
            raise ValueError("minimize: method 'lbfgs' chooses its own step lengths by a "
                             "line search and takes no lr; leave lr out (or use 'adam'/'sgd')")
        unknown = sorted(set(options) - set(LBFGS_OPTIONS))
        if unknown:
            raise TypeError(f"minimize: unknown option(s) {', '.join(unknown)} for 'lbfgs'; "
                            f"its options are {', '.join(LBFGS_OPTIONS)}")
        settings = {**LBFGS_OPTIONS, **options}
        found = _lbfgs(objective, x.ravel(), int(max_iter), tol, callback, **settings)
    else:
        lr = DEFAULT_LR[method] if lr is None else lr
        found = _first_order(objective, x.ravel(), method, lr, int(max_iter), tol, callback,
                             options)
    x_flat, value, gradient, nit, success, message, history = found
    return MinimizeResult(x=x_flat.reshape(x.shape), fun=value,
                          jac=gradient.reshape(x.shape), nit=nit, nfev=objective.count,
                          success=success, message=message, history=history)


def _report(callback, x_flat: np.ndarray, shape: tuple) -> bool:
    """Call the callback (if any) with a copy of x; True means "stop now"."""
    return callback is not None and callback(x_flat.reshape(shape).copy()) is True


def _converged(gradient: np.ndarray, tol: float) -> tuple[bool, str]:
    norm = float(np.linalg.norm(gradient))
    if norm == 0:  # exactly stationary: nothing more to do, even with tol = 0
        return True, "converged: the gradient is exactly zero"
    return norm < tol, f"converged: the gradient norm {norm:.3g} is below tol = {tol:g}"


# ---------------------------------------------------------------------------------------
# L-BFGS.
# ---------------------------------------------------------------------------------------


def _lbfgs(objective: _Objective, x: np.ndarray, max_iter: int, tol: float, callback,
           memory: int, c1: float, shrink: float, max_backtracks: int):
    """Limited-memory BFGS with a backtracking (Armijo) line search. x is flat (n,).

    Newton's method steps to the minimum of the local quadratic model, d = -H^-1 g, with
    H the Hessian. BFGS never computes H: every step s = x_new - x and the change it
    caused in the gradient, y = g_new - g, tell how the gradient bends along s
    (y ~ H s, the "secant equation"), and from these pairs it builds an approximation of
    H^-1. L-BFGS keeps only the last `memory` pairs, so it costs O(memory * n) per step
    instead of BFGS's n x n matrix.
    """
    value, gradient = objective(x)
    _require_finite(value, gradient, "at x0", "Start from a point where f is defined.")
    history = [value]
    pairs: deque = deque(maxlen=memory)  # (s, y, rho = 1 / y.s), oldest first; old drop out

    nit = 0
    while True:
        done, message = _converged(gradient, tol)
        if done:
            return x, value, gradient, nit, True, message, history
        if nit >= max_iter:
            return (x, value, gradient, nit, False,
                    f"stopped: reached max_iter = {max_iter} iterations before the gradient "
                    f"norm {np.linalg.norm(gradient):.3g} fell below tol = {tol:g}", history)

        direction = -_two_loop(gradient, pairs)
        slope = float(gradient @ direction)  # d/dt f(x + t d) at t = 0
        if not slope < 0:
            # Not a descent direction (round-off in the pairs): forget them and fall back
            # to steepest descent, which always goes downhill.
            pairs.clear()
            direction, slope = -gradient, -float(gradient @ gradient)

        # The first step has no pairs, so the direction is -g with the size of g, which
        # can be anything: start the search at a step of length 1 instead. After that,
        # t = 1 is the step the quadratic model predicts, and usually accepted at once.
        step = 1.0 if pairs else min(1.0, 1.0 / math.sqrt(-slope))
        accepted = _backtrack(objective, x, value, direction, slope, step,
                              c1, shrink, max_backtracks)
        if accepted is None:
            return (x, value, gradient, nit, False,
                    "stopped: the line search could not decrease f along the search "
                    f"direction (the gradient norm is {np.linalg.norm(gradient):.3g}, tol = "
                    f"{tol:g}); f may be as small as float64 round-off lets it get", history)
        x_new, value_new, gradient_new = accepted

        # Remember the pair only if y.s > 0: the curvature along s must be positive for
        # the approximation of H^-1 to stay positive definite (so that -H^-1 g is always a
        # descent direction). A Wolfe line search would guarantee it; Armijo alone does
        # not, so the check is needed. The threshold is relative, to ignore round-off.
        s, y = x_new - x, gradient_new - gradient
        curvature = float(y @ s)
        if curvature > 1e-10 * float(np.linalg.norm(y) * np.linalg.norm(s)):
            pairs.append((s, y, 1.0 / curvature))

        x, value, gradient = x_new, value_new, gradient_new
        nit += 1
        history.append(value)
        if _report(callback, x, objective.shape):
            return (x, value, gradient, nit, False, "stopped: the callback returned True",
                    history)


def _two_loop(gradient: np.ndarray, pairs) -> np.ndarray:
    """H^-1 g, with H^-1 approximated from the (s, y) pairs: the two-loop recursion.

    BFGS updates the inverse Hessian approximation, pair by pair, as
    H^-1 <- (I - rho s y^T) H^-1 (I - rho y s^T) + rho s s^T, with rho = 1 / (y.s).
    Applying those updates to the vector g, instead of forming the matrices, unrolls
    into two loops: the first peels the pairs off newest to oldest, the second puts
    them back oldest to newest.
    """
    q = gradient.copy()
    alphas = []
    for s, y, rho in reversed(pairs):  # newest first
        alpha = rho * float(s @ q)
        q -= alpha * y
        alphas.append(alpha)

    # The starting approximation H0^-1 = gamma I, with gamma = s.y / y.y from the newest
    # pair: the inverse of the curvature along the last step (for f = a x^2 / 2, gamma =
    # 1/a exactly). This scaling is what lets the step t = 1 be accepted most of the time.
    if pairs:
        s, y, _ = pairs[-1]
        gamma = float(s @ y) / float(y @ y)
    else:
        gamma = 1.0
    r = gamma * q

    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):  # oldest first
        beta = rho * float(y @ r)
        r += (alpha - beta) * s
    return r


def _backtrack(objective: _Objective, x: np.ndarray, value: float, direction: np.ndarray,
               slope: float, step: float, c1: float, shrink: float, max_backtracks: int):
    """Shrink the step until it decreases f enough: the Armijo (sufficient decrease) rule.

    Accept t when f(x + t d) <= f(x) + c1 * t * slope, with slope = g.d < 0: the decrease
    must be at least a fraction c1 of what the tangent line promises. Any decrease would
    not do: steps could shrink faster than f falls, and the iterates stall short of the
    minimum. Returns (x_new, f(x_new), g(x_new)), or None when no step is accepted.

    Near a minimum where f is not 0, the decrease a good step makes (about |g|^2 / curvature)
    drops below the round-off in f itself (about 1e-16 |f|): f can no longer tell a good
    step from a bad one, but the gradient still can. There the "approximate Wolfe" test of
    Hager and Zhang (2005) is used instead, which reads only slopes: along the line,
    phi(t) = f(x + t d) has phi'(t) = g(x + t d).d, and for a quadratic phi the Armijo
    rule is exactly phi'(t) <= (2 c1 - 1) phi'(0). Together with phi'(t) >= 0.9 phi'(0)
    (the slope has flattened: the step was not too short) it accepts the steps the Armijo
    rule would, computed without subtracting two nearly equal values of f.
    """
    roundoff = _ROUNDOFF * abs(value)  # how much of f's last digits to distrust
    for _ in range(max_backtracks):
        x_new = x + step * direction
        value_new, gradient_new = objective(x_new)
        # inf or nan means the step left the region where f is defined (log of a negative,
        # overflow): treat it as too long and shrink it.
        if math.isfinite(value_new) and np.all(np.isfinite(gradient_new)):
            # (value_new < value as well: when c1 * step * slope is below float64's
            # spacing around f, the right side rounds to f and "<=" would accept no progress)
            if value_new < value and value_new <= value + c1 * step * slope:
                return x_new, value_new, gradient_new
            if -step * slope <= roundoff and value_new <= value + roundoff:
                slope_new = float(gradient_new @ direction)
                if 0.9 * slope <= slope_new <= (2 * c1 - 1) * slope:
                    return x_new, value_new, gradient_new
        step *= shrink
    return None


# The relative size of the round-off allowed in f when the line search compares values of f
# that differ only in their last digits (float64 keeps about 16): generous, since f is
# usually a sum of many rounded terms.
_ROUNDOFF = 1e-10


# ---------------------------------------------------------------------------------------
# Adam and SGD: the training optimizers, with a fixed learning rate.
# ---------------------------------------------------------------------------------------


def _first_order(objective: _Objective, x: np.ndarray, method: str, lr: float,
                 max_iter: int, tol: float, callback, options: dict):
    """Step x with `Adam` or `SGD`, one evaluation of f and its gradient per iteration."""
    param = Tensor(x, dtype=np.float64, requires_grad=True)  # the optimizer steps this, flat
    optimizer_class = Adam if method == "adam" else SGD
    try:
        optimizer = optimizer_class([param], lr=lr, **options)
    except TypeError as error:
        raise TypeError(f"minimize: method {method!r} passes its options to "
                        f"{optimizer_class.__name__}, which refused them: {error}") from None
    advice = (f"The iterates diverged: try a smaller lr (it was {lr:g})"
              if method == "sgd" else f"Try a smaller lr (it was {lr:g}).")

    value, gradient = objective(param.data)
    _require_finite(value, gradient, "at x0", "Start from a point where f is defined.")
    history = [value]
    nit = 0
    while True:
        done, message = _converged(gradient, tol)
        if done:
            return param.data.copy(), value, gradient, nit, True, message, history
        if nit >= max_iter:
            return (param.data.copy(), value, gradient, nit, False,
                    f"stopped: reached max_iter = {max_iter} iterations before the gradient "
                    f"norm {np.linalg.norm(gradient):.3g} fell below tol = {tol:g}", history)

        # The gradient was computed on a fresh leaf; hand it to the optimizer's parameter
        # as if backward had filled it, and let the update rule step param.data in place.
        param.grad = Tensor(gradient, dtype=np.float64)
        optimizer.step()
        value, gradient = objective(param.data)
        nit += 1
        _require_finite(value, gradient, f"after {nit} {method} step(s)", advice)
        history.append(value)
        if _report(callback, param.data, objective.shape):
            return (param.data.copy(), value, gradient, nit, False,
                    "stopped: the callback returned True", history)

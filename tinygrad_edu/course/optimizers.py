"""Stage 5: optimizers. One step of SGD with momentum, then of Adam, written with NumPy.

The check runs the library's optimizer (tg.optim.SGD, tg.optim.Adam) for STEPS steps on
small problems, records the gradient of every step, and gives the same gradients to the
student's step function, one parameter at a time, each with its own state (a velocity;
Adam's two moments). After every step, the student's parameters must equal the
library's to RTOL. The state itself is not compared: conventions differ there (the
velocity of "lr inside the velocity" is lr times PyTorch's) while the steps agree.

Where a case fails, known wrong variants of the step (written below as a student would)
are run on the same gradients: one whose parameters equal the student's, step for step,
is named in a hint.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from .. import optim
from ..tensor import Tensor
from .exercise import Exercise
from .grading import Row, attempt, compare, error_row

STAGE = "optimizers"

STEPS = 20                # steps per case: enough for momentum to build up
RTOL, ATOL = 1e-10, 1e-12  # the same arithmetic in another order differs by ~1e-16


# --- the problems the library's optimizers run on ---------------------------------------------


@dataclass
class Case:
    """One run: a loss of named parameters, their starting values, the options."""

    label: str
    names: tuple                # the parameters' names, for the report: ("W", "b")
    starts: list                # their starting values (float64 arrays)
    loss: object                # loss(*tensors) -> a 0-d Tensor
    options: dict = field(default_factory=dict)


def _linear_regression(rng, options, label):
    """The mean squared error of x @ W.T + b against targets, 8 rows, 3 in, 2 out."""
    x = Tensor(rng.standard_normal((8, 3)))
    targets = Tensor(rng.standard_normal((8, 2)))
    starts = [rng.standard_normal((2, 3)), rng.standard_normal(2)]

    def loss(w, b):
        return ((x @ w.T + b - targets) ** 2).mean()
    return Case(label, ("W", "b"), starts, loss, options)


def _quadratic(rng, shape, options, label):
    """sum(c * p^2) / 2: a bowl whose curvatures c run from 0.5 to 10 (a narrow valley,
    where plain gradient descent zigzags and momentum helps)."""
    curvature = Tensor(np.linspace(0.5, 10.0, int(np.prod(shape))).reshape(shape))
    starts = [rng.uniform(1.0, 3.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)]

    def loss(p):
        return (curvature * p * p).sum() / 2
    return Case(label, ("p",), starts, loss, options)


def _library_run(case: Case, make_optimizer):
    """Run the library's optimizer for STEPS steps: (the gradients of each step, the
    parameters after each step), each a list with one array per parameter."""
    tensors = [Tensor(start.copy(), requires_grad=True) for start in case.starts]
    optimizer = make_optimizer(tensors, **case.options)
    grads, params = [], []
    for _ in range(STEPS):
        optimizer.zero_grad()
        case.loss(*tensors).backward()
        grads.append([t.grad.data.copy() for t in tensors])
        optimizer.step()
        params.append([np.array(t.data, dtype=np.float64) for t in tensors])
    return grads, params


# --- running a step function, the student's or a variant -------------------------------------


@dataclass(frozen=True)
class Stepper:
    """What the check of one optimizer exercise needs to know."""

    function: str            # the student's function
    returns: tuple           # the names of what it returns: the parameter, then the state
    call: object             # call(function, param, grad, state, t, options) -> its result
    library: object          # library(tensors, **options) -> the library's optimizer
    cases: object            # cases(rng) -> [Case]
    variants: tuple = ()     # (hint, a wrong step function with the student's signature)
    error_hints: object = lambda error, steps_done: []
    value_hints: object = lambda got, t: []


class BadReturn(Exception):
    """The student's step returned something else than the tuple of arrays asked for."""


def _unpack(result, function_name: str, returns: tuple, shape: tuple) -> list:
    """The arrays a step returned, as float64 copies, or BadReturn saying what is wrong."""
    wanted = f"({', '.join(returns)})"
    if not isinstance(result, (tuple, list)):
        what = "None" if result is None else f"a {type(result).__name__}"
        raise BadReturn(f"{function_name} returned {what}; it should return {wanted}")
    if len(result) != len(returns):
        raise BadReturn(f"{function_name} returned {len(result)} values; it should return "
                        f"{len(returns)}, {wanted}")
    arrays = []
    for name, value in zip(returns, result):
        try:
            array = np.array(getattr(value, "data", value), dtype=np.float64)
        except (TypeError, ValueError):
            raise BadReturn(f"{function_name} returned a {type(value).__name__} as {name}; "
                            "it should be an array of numbers") from None
        if array.shape != shape:
            raise BadReturn(f"{function_name} returned {name} of shape {array.shape}; it "
                            f"should have the parameter's shape {shape}")
        arrays.append(array)
    return arrays


def _trajectory(stepper, function, case: Case, grads):
    """Run `function` on the recorded gradients: yields (t, the parameters after step t).

    Each parameter has its own state (zeros at the start); the function gets copies, so
    that what it changes in place is only its own."""
    params = [start.copy() for start in case.starts]
    states = [[np.zeros_like(p) for _ in stepper.returns[1:]] for p in params]
    for t, step_grads in enumerate(grads, start=1):
        for i, grad in enumerate(step_grads):
            with np.errstate(all="ignore"):  # a nan is reported as a wrong value, not warned
                result = stepper.call(function, params[i].copy(), grad.copy(),
                                      [s.copy() for s in states[i]], t, case.options)
            params[i], *states[i] = _unpack(result, stepper.function, stepper.returns,
                                            params[i].shape)
        yield t, [p.copy() for p in params]


def _same(history_a, history_b) -> bool:
    return len(history_a) == len(history_b) and all(
        np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
        for step_a, step_b in zip(history_a, history_b) for a, b in zip(step_a, step_b))


def _variant_hints(stepper, case: Case, grads, history) -> list:
    """The hints of the wrong variants whose parameters equal `history`, step for step."""
    hints = []
    for hint, variant in stepper.variants:
        try:
            steps = _trajectory(stepper, variant, case, grads)
            theirs = [params for _, params in itertools.islice(steps, len(history))]
        except (ArithmeticError, ValueError):  # (a variant that cannot run on this case)
            continue
        if _same(history, theirs):
            hints.append(hint)
    return hints


def _steps_text(t: int) -> str:
    if t == 1:
        return "already after the first step (the state was zeros)"
    return f"after step {t} of {STEPS}; steps 1 to {t - 1} were right"


def _small_difference(got, right) -> list:
    """A line for a difference too small to see in 6 digits: it is still another formula."""
    with np.errstate(all="ignore"):
        relative = np.max(np.abs(got - right) / np.maximum(np.abs(right), ATOL))
    if not np.isfinite(relative) or relative > 1e-4:
        return []
    return [f"the largest relative difference is {relative:.2g}, and the check allows "
            f"{RTOL:g}: the same formula, computed in another order, differs by ~1e-15"]


def _run_case(stepper, function, case: Case, grads, want, path) -> Row:
    """The student's steps on one case's gradients, compared with the library's after
    each step; at the first difference, the variants that explain it."""
    history = []  # the student's parameters after each step so far
    try:
        for t, params in _trajectory(stepper, function, case, grads):
            history.append(params)
            for name, got, right in zip(case.names, params, want[t - 1]):
                row = compare(case.label, got, right, rtol=RTOL, atol=ATOL,
                              name=f"{name} after step {t}")
                if not row.passed:
                    row.details.insert(0, f"{name} first differs {_steps_text(t)}")
                    row.details += _small_difference(got, right)
                    row.hints += (_variant_hints(stepper, case, grads, history)
                                  or stepper.value_hints(got, t))
                    return row
    except BadReturn as problem:
        return Row(case.label, False, "returned the wrong thing", [str(problem)],
                   [f"return {', '.join(stepper.returns)}: new arrays of the parameter's "
                    "shape (or the ones you updated in place)"])
    except Exception as error:  # the student's code raised: say at which step
        row = error_row(case.label, error, path, stepper.error_hints(error, len(history)))
        if not isinstance(error, NotImplementedError):
            row.details.insert(0, f"at step {len(history) + 1} of {STEPS}")
        return row
    return Row(case.label, True)


def check_steps(stepper, module, path, seed):
    """Each case: the library's run, then the student's step on the same gradients."""
    rng = np.random.default_rng(seed)
    function = getattr(module, stepper.function)
    rows = []
    for case in stepper.cases(rng):
        grads, want = _library_run(case, stepper.library)
        rows.append(attempt(case.label, path, lambda case=case, grads=grads, want=want:
                            _run_case(stepper, function, case, grads, want, path)))
    return rows


# --- SGD with momentum -------------------------------------------------------------------------


def _sgd_cases(rng):
    return [
        _linear_regression(rng, {"lr": 0.05, "momentum": 0.9},
                           "regression, lr 0.05, momentum 0.9"),
        _quadratic(rng, (4,), {"lr": 0.1, "momentum": 0.5},
                   "quadratic (4,), lr 0.1, momentum 0.5"),
        _quadratic(rng, (), {"lr": 0.02, "momentum": 0.8},
                   "quadratic (), lr 0.02, momentum 0.8"),
        # momentum 0 is plain gradient descent: the velocity is each step's gradient
        _quadratic(rng, (2, 2), {"lr": 0.1, "momentum": 0.0},
                   "quadratic (2, 2), lr 0.1, momentum 0"),
    ]


def _sgd_call(function, param, grad, state, t, options):
    (velocity,) = state
    return function(param, grad, velocity, options["lr"], options["momentum"])


# The wrong steps, written as a student would (each is named by the hint beside it).
def _sgd_old_velocity(param, grad, velocity, lr, momentum):
    return param - lr * velocity, momentum * velocity + grad


def _sgd_sign(param, grad, velocity, lr, momentum):
    velocity = momentum * velocity + grad
    return param + lr * velocity, velocity


def _sgd_plain(param, grad, velocity, lr, momentum):
    return param - lr * grad, velocity


def _sgd_damped(param, grad, velocity, lr, momentum):
    velocity = momentum * velocity + (1 - momentum) * grad
    return param - lr * velocity, velocity


SGD_VARIANTS = (
    ("your step used the velocity from before this step: p - lr * v, then v = momentum * "
     "v + grad. Update v first, then step with the new v (at the first step, p moves by "
     "lr * grad; yours did not move)", _sgd_old_velocity),
    ("your parameter moves along the velocity, p + lr * v: uphill. The velocity sums "
     "gradients, which point uphill, so step against it: p - lr * v", _sgd_sign),
    ("your steps are plain gradient descent, p - lr * grad: the velocity is not used. "
     "Make v = momentum * v + grad, step with p - lr * v, and return the new v",
     _sgd_plain),
    ("your velocity is an average, v = momentum * v + (1 - momentum) * grad (PyTorch's "
     "dampening = momentum): its steps are (1 - momentum) times smaller. Here v sums the "
     "gradients: v = momentum * v + grad", _sgd_damped),
)

SGD_MOMENTUM = Stepper(
    function="sgd_momentum_step", returns=("new_param", "new_velocity"), call=_sgd_call,
    library=lambda tensors, lr, momentum: optim.SGD(tensors, lr=lr, momentum=momentum),
    cases=_sgd_cases, variants=SGD_VARIANTS)


def check_sgd_momentum(module, path, seed):
    """SGD with momentum against tg.optim.SGD (see check_steps)."""
    return check_steps(SGD_MOMENTUM, module, path, seed)


# --- Adam -----------------------------------------------------------------------------------


def _adam_cases(rng):
    return [
        _linear_regression(rng, {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8},
                           "regression, lr 0.01, betas 0.9 0.999, eps 1e-8"),
        # a large eps: where it goes changes the steps far beyond the tolerance
        _quadratic(rng, (4,), {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3},
                   "quadratic (4,), lr 0.05, betas 0.8 0.99, eps 1e-3"),
        _quadratic(rng, (), {"lr": 0.1, "betas": (0.5, 0.9), "eps": 1e-6},
                   "quadratic (), lr 0.1, betas 0.5 0.9, eps 1e-6"),
    ]


def _adam_call(function, param, grad, state, t, options):
    m, v = state
    beta1, beta2 = options["betas"]
    return function(param, grad, m, v, t, options["lr"], beta1, beta2, options["eps"])


def _adam_moments(grad, m, v, beta1, beta2):
    return beta1 * m + (1 - beta1) * grad, beta2 * v + (1 - beta2) * grad ** 2


def _adam_uncorrected(param, grad, m, v, t, lr, beta1, beta2, eps):
    m, v = _adam_moments(grad, m, v, beta1, beta2)
    return param - lr * m / (np.sqrt(v) + eps), m, v


def _adam_eps_inside(param, grad, m, v, t, lr, beta1, beta2, eps):
    m, v = _adam_moments(grad, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return param - lr * m_hat / np.sqrt(v_hat + eps), m, v


def _adam_eps_before_correction(param, grad, m, v, t, lr, beta1, beta2, eps):
    m, v = _adam_moments(grad, m, v, beta1, beta2)
    step_size = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    return param - step_size * m / (np.sqrt(v) + eps), m, v


def _adam_gradient_not_squared(param, grad, m, v, t, lr, beta1, beta2, eps):
    m, v = beta1 * m + (1 - beta1) * grad, beta2 * v + (1 - beta2) * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_only_m_corrected(param, grad, m, v, t, lr, beta1, beta2, eps):
    m, v = _adam_moments(grad, m, v, beta1, beta2)
    return param - lr * m / (1 - beta1 ** t) / (np.sqrt(v) + eps), m, v


def _adam_only_v_corrected(param, grad, m, v, t, lr, beta1, beta2, eps):
    m, v = _adam_moments(grad, m, v, beta1, beta2)
    return param - lr * m / (np.sqrt(v / (1 - beta2 ** t)) + eps), m, v


ADAM_VARIANTS = (
    ("your steps are Adam's without the bias correction, lr * m / (sqrt(v) + eps): m and "
     "v start at 0, so early on they are too small (after step 1, m = (1 - beta1) g). "
     "Divide them by 1 - beta1^t and 1 - beta2^t before the step", _adam_uncorrected),
    ("your eps is inside the square root, sqrt(v_hat + eps): Adam adds it outside, "
     "sqrt(v_hat) + eps (as PyTorch), a floor for the denominator", _adam_eps_inside),
    ("your eps is added to sqrt(v) before the bias correction: lr * sqrt(1 - beta2^t) / "
     "(1 - beta1^t) * m / (sqrt(v) + eps), the paper's faster form, whose eps means "
     "another number. Add eps after it: lr * m_hat / (sqrt(v_hat) + eps)",
     _adam_eps_before_correction),
    ("your v averages the gradient, not its square: v = beta2 * v + (1 - beta2) * grad^2 "
     "(the second moment; its square root is the gradient's typical size, whatever its "
     "sign)", _adam_gradient_not_squared),
    ("only m is bias-corrected: divide v by 1 - beta2^t too (v_hat), then step with "
     "m_hat / (sqrt(v_hat) + eps)", _adam_only_m_corrected),
    ("only v is bias-corrected: divide m by 1 - beta1^t too (m_hat), then step with "
     "m_hat / (sqrt(v_hat) + eps)", _adam_only_v_corrected),
)

HINT_ADAM_T = (
    "the bias corrections are 1 - beta1^t and 1 - beta2^t with t = 1 at the first step: "
    "use t as given, not t - 1 or a count that starts at 0 (1 - beta^0 = 0)")


def _adam_error_hints(error, steps_done):
    """A division by zero at the first step: the bias correction with t = 0."""
    if isinstance(error, ZeroDivisionError) and steps_done == 0:
        return [f"a division by zero at the first step: {HINT_ADAM_T}"]
    return []


def _adam_value_hints(got, t):
    """inf or nan after the first step: the bias correction with t = 0, in NumPy."""
    if t == 1 and not np.all(np.isfinite(got)):
        return [f"your parameter is inf or nan after the first step, as after a division "
                f"by zero: {HINT_ADAM_T}"]
    return []


ADAM = Stepper(
    function="adam_step", returns=("new_param", "new_m", "new_v"), call=_adam_call,
    library=lambda tensors, lr, betas, eps: optim.Adam(tensors, lr=lr, betas=betas, eps=eps),
    cases=_adam_cases, variants=ADAM_VARIANTS, error_hints=_adam_error_hints,
    value_hints=_adam_value_hints)


def check_adam(module, path, seed):
    """Adam against tg.optim.Adam (see check_steps)."""
    return check_steps(ADAM, module, path, seed)


EXERCISES = [
    Exercise("sgd_momentum", "sgd_momentum_step", "a velocity: a running sum of gradients",
             check=check_sgd_momentum),
    Exercise("adam", "adam_step", "two running moments, and their bias correction",
             check=check_adam),
]

"""Stage 1: derivatives by nudging. A central difference, then a gradient check by hand."""

from __future__ import annotations

import numpy as np

from .exercise import Exercise
from .grading import Row, attempt, compare

STAGE = "derivatives"

# f, f', x, a label: smooth functions at points where nothing is special
FUNCTIONS = [
    (np.sin, np.cos, 0.7, "sin x at x = 0.7"),
    (lambda x: x ** 3, lambda x: 3 * x ** 2, 2.0, "x^3 at x = 2"),
    (np.exp, np.exp, -1.0, "exp x at x = -1"),
    (np.log, lambda x: 1 / x, 3.0, "log x at x = 3"),
    (lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2, 0.5,
     "sigmoid at x = 0.5"),
]
H = 1e-4  # the step the grader passes: large enough that a one-sided difference shows


def check_central_difference(module, path, seed):
    """Compare the student's central difference with the exact derivative; recognise the
    one-sided difference and a step divided by h instead of 2h."""
    rows = []
    for f, df, x, label in FUNCTIONS:
        def run(f=f, df=df, x=x, label=label):
            got = module.central_difference(f, x, H)
            row = compare(label, got, df(x), rtol=1e-6, name="derivative")
            if not row.passed and isinstance(got, (int, float, np.floating)):
                forward = (f(x + H) - f(x)) / H
                backward = (f(x) - f(x - H)) / H
                central = (f(x + H) - f(x - H)) / (2 * H)
                if np.isclose(got, forward, rtol=1e-9) or np.isclose(got, backward, rtol=1e-9):
                    row.hints.append(
                        "your value equals the one-sided difference (f(x+h) - f(x)) / h: its "
                        "error shrinks like h (here about h f''(x)/2); the central "
                        "difference (f(x+h) - f(x-h)) / 2h is accurate to h^2")
                elif np.isclose(got, 2 * central, rtol=1e-9):
                    row.hints.append(
                        "your value is twice the central difference: x + h and x - h are "
                        "2h apart, so divide by 2h, not h")
                elif np.isclose(got, central / 2, rtol=1e-9):
                    row.hints.append("your value is half the central difference: divide by "
                                     "2h, the distance between x - h and x + h")
            return row
        rows.append(attempt(label, path, run))
    return rows


def _relative_error(a, n):
    return np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-300)


def check_gradient_check(module, path, seed):
    """numeric_gradient against exact gradients (and x left as it was given), then
    relative_error on right and wrong gradients."""
    rng = np.random.default_rng(seed)
    cases = [
        ("sum(x^3), x of shape (5,)", lambda x: np.sum(x ** 3), lambda x: 3 * x ** 2, (5,)),
        ("sum(sin(x) * x), x (3, 4)", lambda x: np.sum(np.sin(x) * x),
         lambda x: np.cos(x) * x + np.sin(x), (3, 4)),
        ("log(sum(exp(x))), x (2, 3)", lambda x: np.log(np.sum(np.exp(x))),
         lambda x: np.exp(x) / np.sum(np.exp(x)), (2, 3)),
    ]
    rows = []
    for label, f, grad_f, shape in cases:
        x = rng.standard_normal(shape)

        def run(label=label, f=f, grad_f=grad_f, x=x):
            given = x.copy()
            got = module.numeric_gradient(f, given)
            if not np.array_equal(given, x):
                return Row(label, False, "x was changed",
                           ["after numeric_gradient(f, x), x is not what was given"],
                           ["put each entry back after nudging it (x[i] = old), or nudge a "
                            "copy: the caller's x must come back unchanged"])
            row = compare(label, got, grad_f(x), rtol=1e-5, atol=1e-8, name="gradient")
            if (not row.passed and np.size(got) == x.size
                    and np.asarray(got).shape != x.shape):
                row.hints.append(f"return the gradient in x's shape {x.shape} "
                                 "(np.zeros_like(x), then fill it entry by entry)")
            return row
        rows.append(attempt(f"numeric_gradient: {label}", path, run))
    # relative_error: 0 for equal gradients, the CS231n formula otherwise
    a = rng.standard_normal((3, 4))
    for label, n in [("equal gradients", a.copy()), ("one 2x too large", 2 * a),
                     ("opposite signs", -a), ("slightly off", a + 1e-7)]:
        def run(label=label, n=n):
            got = module.relative_error(a, n)
            return compare(f"relative_error: {label}", got, _relative_error(a, n),
                           rtol=1e-6, atol=1e-12, name="relative error")
        rows.append(attempt(f"relative_error: {label}", path, run))
    return rows


EXERCISES = [
    Exercise("central_difference", "central_difference",
             "a derivative by nudging x both ways, and why both",
             check=check_central_difference),
    Exercise("gradient_check", "numeric_gradient",
             "a numeric gradient, and the relative error that grades it",
             check=check_gradient_check),
]

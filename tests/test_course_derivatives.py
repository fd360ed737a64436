"""Stage 1 of the course, derivatives: the central difference and a gradient check by
hand. Reference solutions, and a wrong solution for each hint."""

from __future__ import annotations

import numpy as np
import pytest
from course_helpers import grade, solve

# --- the reference solutions --------------------------------------------------------------


def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


def numeric_gradient(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        up = f(x)
        x[index] = old - h
        down = f(x)
        x[index] = old
        grad[index] = (up - down) / (2 * h)
    return grad


def relative_error(a, n):
    return np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-300)


SOLUTIONS = {
    "central_difference": {"central_difference": central_difference},
    "gradient_check": {"numeric_gradient": numeric_gradient, "relative_error": relative_error},
}

# --- wrong solutions ----------------------------------------------------------------------


def one_sided(f, x, h=1e-5):
    return (f(x + h) - f(x)) / h


def divided_by_h(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / h


def divided_by_4h(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (4 * h)


def gradient_not_restored(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        up = f(x)
        x[index] = old - h
        down = f(x)
        grad[index] = (up - down) / (2 * h)  # x[index] is left at old - h
    return grad


def gradient_flattened(f, x, h=1e-6):
    grad = []
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        up = f(x)
        x[index] = old - h
        down = f(x)
        x[index] = old
        grad.append((up - down) / (2 * h))
    return np.array(grad)  # a flat list of x.size numbers


def relative_error_without_sum(a, n):
    return np.linalg.norm(a - n) / max(np.linalg.norm(n), 1e-300)  # |a - n| / |n|


WRONG = [
    ("central_difference", {"central_difference": one_sided}, "one-sided difference"),
    ("central_difference", {"central_difference": divided_by_h},
     "twice the central difference: x + h and x - h are 2h apart"),
    ("central_difference", {"central_difference": divided_by_4h},
     "half the central difference"),
    ("gradient_check", {"numeric_gradient": gradient_not_restored,
                        "relative_error": relative_error},
     "put each entry back after nudging it"),
    ("gradient_check", {"numeric_gradient": gradient_flattened,
                        "relative_error": relative_error}, "return the gradient in x's shape"),
    ("gradient_check", {"numeric_gradient": numeric_gradient,
                        "relative_error": relative_error_without_sum}, None),
]


@pytest.mark.parametrize("name", SOLUTIONS)
def test_the_unsolved_template_is_not_written_yet(name, tmp_path):
    solve(name, tmp_path, {})
    text, passed = grade(name, tmp_path)
    assert not passed and "not written yet" in text


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", SOLUTIONS)
def test_the_reference_solution_passes_without_a_hint(name, seed, tmp_path):
    solve(name, tmp_path, SOLUTIONS[name])
    text, passed = grade(name, tmp_path, seed=seed)
    assert passed, text
    assert "hint:" not in text and "All " in text


@pytest.mark.parametrize("name, solution, hint", WRONG,
                         ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_a_wrong_solution_fails_with_its_hint(name, solution, hint, tmp_path):
    solve(name, tmp_path, solution)
    text, passed = grade(name, tmp_path)
    assert not passed, text
    if hint is None:
        assert "FAIL" in text
    else:
        assert hint in " ".join(text.split()), text


def test_the_one_sided_difference_is_close_yet_fails():
    # the grader's step h = 1e-4 makes the one-sided error (h f''/2) show, and the central
    # one (h^2 f'''/6) not: the tolerance sits between the two
    from tinygrad_edu.course.derivatives import FUNCTIONS, H
    for f, df, x, _ in FUNCTIONS:
        exact = df(x)
        assert abs(central_difference(f, x, H) - exact) <= 1e-6 * abs(exact)
        assert abs(one_sided(f, x, H) - exact) > 1e-6 * abs(exact)

"""tg.optim.minimize: L-BFGS, Adam and SGD on functions whose minimum is known in closed form."""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.optim import MinimizeResult, minimize


def sum_of_squares(x):
    return (x * x).sum()


def rosenbrock(x):
    """sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2: a curved valley, minimum 0 at all ones."""
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def quadratic_problem(n=6, seed=0):
    """f(x) = 1/2 x^T A x - b^T x with A symmetric positive definite: minimum at A^-1 b."""
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, n))
    a = m @ m.T + n * np.eye(n)
    b = rng.standard_normal(n)
    a_t, b_t = tg.Tensor(a), tg.Tensor(b)

    def f(x):
        return 0.5 * (x * (a_t @ x)).sum() - (b_t * x).sum()

    return f, np.linalg.solve(a, b)


# --- L-BFGS finds known minima ------------------------------------------------------------


def test_lbfgs_sum_of_squares_reaches_zero():
    result = minimize(sum_of_squares, [1.0, 22.0, 30.0])
    assert result.success, result.message
    np.testing.assert_allclose(result.x, 0.0, atol=1e-6)
    assert result.fun < 1e-12


@pytest.mark.parametrize("x0, max_nit", [
    ([-1.2, 1.0], 200),                          # the classic start, across the valley
    ([-1.2, 1.0, -1.2, 1.0, -1.2], 400),         # 5-D
])
def test_lbfgs_rosenbrock_reaches_all_ones(x0, max_nit):
    result = minimize(rosenbrock, x0, method="lbfgs")
    assert result.success, result.message
    assert np.max(np.abs(result.x - 1.0)) < 1e-6
    assert result.nit < max_nit
    assert np.linalg.norm(result.jac) < 1e-9


def test_lbfgs_quadratic_matches_the_linear_solve():
    f, x_star = quadratic_problem()
    result = minimize(f, np.zeros_like(x_star))
    assert result.success, result.message
    np.testing.assert_allclose(result.x, x_star, atol=1e-8)
    # With exact curvature pairs L-BFGS needs no more steps than a few times n.
    assert result.nit <= 3 * x_star.size


def test_lbfgs_backtracks_out_of_the_region_where_f_is_undefined():
    # f = sum(x - log x), minimum at x = 1; a long first step lands on x < 0, where log
    # gives nan: the line search must shrink the step instead of failing.
    def f(x):
        return (x - x.log()).sum()

    with np.errstate(invalid="ignore", divide="ignore"):
        result = minimize(f, [0.1, 3.0, 10.0])
    assert result.success, result.message
    np.testing.assert_allclose(result.x, 1.0, atol=1e-8)


def test_lbfgs_memory_option_still_converges_with_one_pair():
    result = minimize(rosenbrock, [-1.2, 1.0], memory=1, max_iter=5000)
    assert result.success, result.message
    assert np.max(np.abs(result.x - 1.0)) < 1e-6


# --- Adam and SGD reach the minimum, more loosely ------------------------------------------


@pytest.mark.parametrize("method", ["adam", "sgd"])
def test_first_order_methods_reach_the_sum_of_squares_minimum(method):
    result = minimize(sum_of_squares, [1.0, 22.0, 30.0], method=method, tol=1e-6)
    assert result.success, result.message
    np.testing.assert_allclose(result.x, 0.0, atol=1e-5)
    assert result.nit > 10  # a fixed learning rate cannot do it in a couple of steps


def test_sgd_step_is_x_minus_lr_times_gradient():
    # f = sum x^2: one SGD step with lr multiplies x by 1 - 2 lr.
    x0 = np.array([1.0, -2.0, 4.0])
    result = minimize(sum_of_squares, x0, method="sgd", lr=0.1, max_iter=1)
    np.testing.assert_allclose(result.x, 0.8 * x0, rtol=1e-15)
    np.testing.assert_allclose(result.jac, 2 * 0.8 * x0, rtol=1e-15)


def test_first_order_options_are_passed_to_the_optimizer():
    plain = minimize(sum_of_squares, [1.0, 22.0, 30.0], method="sgd", lr=0.01, tol=1e-6)
    heavy = minimize(sum_of_squares, [1.0, 22.0, 30.0], method="sgd", lr=0.01, tol=1e-6,
                     momentum=0.9)
    assert heavy.success and plain.success
    assert heavy.nit < plain.nit / 2


# --- The result -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["lbfgs", "adam", "sgd"])
def test_result_fields_have_scipy_types(method):
    x0 = np.array([[1.0, 2.0], [3.0, -4.0]])  # a 2-D x0: x and jac keep its shape
    result = minimize(sum_of_squares, x0, method=method, tol=1e-6)
    assert isinstance(result, MinimizeResult)
    assert isinstance(result.x, np.ndarray) and result.x.dtype == np.float64
    assert result.x.shape == x0.shape and result.jac.shape == x0.shape
    assert type(result.fun) is float and type(result.success) is bool
    assert type(result.nit) is int and isinstance(result.message, str)
    assert isinstance(result.history, list) and len(result.history) == result.nit + 1
    assert result.history[0] == pytest.approx(30.0)
    assert result.history[-1] == result.fun
    np.testing.assert_allclose(result.jac, 2 * result.x, atol=1e-12)  # d/dx sum x^2 = 2x
    assert result.nfev >= result.nit + 1
    assert "fun" in repr(result) and "message" in repr(result)


def test_lbfgs_history_decreases():
    # The Armijo rule accepts a step only when f decreases (and the round-off fallback of
    # the line search allows at most 1e-10 |f| of increase).
    result = minimize(rosenbrock, [-1.2, 1.0])
    history = np.array(result.history)
    assert result.nit > 10
    increase = np.diff(history) - 1e-10 * np.abs(history[:-1])
    assert np.all(increase <= 0), increase[increase > 0]
    assert history[-1] < 1e-15 * history[0]


@pytest.mark.parametrize("x0", [
    [1, 22, 30],                                  # ints become float64
    np.array([1.0, 22.0, 30.0], dtype=np.float32),
    tg.Tensor([1.0, 22.0, 30.0]),
])
def test_x0_forms_are_used_as_float64_and_not_changed(x0):
    before = np.array(x0.data if isinstance(x0, tg.Tensor) else x0)
    seen = []

    def f(x):
        seen.append(x.dtype)
        return sum_of_squares(x)

    result = minimize(f, x0)
    assert result.success and result.x.dtype == np.float64
    assert all(dtype == np.float64 for dtype in seen)
    np.testing.assert_array_equal(np.array(x0.data if isinstance(x0, tg.Tensor) else x0), before)


def test_f_gets_a_fresh_leaf_each_evaluation():
    leaves = []

    def f(x):
        assert x.requires_grad and x.is_leaf and x.grad is None
        leaves.append(x)
        return sum_of_squares(x)

    result = minimize(f, [3.0, 4.0])
    assert len(leaves) == result.nfev
    assert len({id(leaf) for leaf in leaves}) == len(leaves)


def test_works_inside_no_grad():
    with tg.no_grad():
        result = minimize(sum_of_squares, [3.0, 4.0])
    assert result.success, result.message


def test_constant_f_converges_at_once():
    result = minimize(lambda x: tg.Tensor(5.0), [1.0, 2.0])
    assert result.success and result.nit == 0 and result.fun == 5.0
    np.testing.assert_array_equal(result.jac, 0.0)


# --- Callback and stopping ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["lbfgs", "adam", "sgd"])
def test_callback_is_called_once_per_iteration_with_x(method):
    points = []
    result = minimize(sum_of_squares, [[1.0, 2.0, 3.0]], method=method, tol=1e-4,
                      callback=points.append)
    assert len(points) == result.nit > 0
    assert all(p.shape == (1, 3) for p in points)
    np.testing.assert_array_equal(points[-1], result.x)
    points[-1][...] = 99.0  # a copy: changing it does not change the result
    assert not np.any(result.x == 99.0)


@pytest.mark.parametrize("method", ["lbfgs", "adam", "sgd"])
def test_callback_returning_true_stops(method):
    result = minimize(rosenbrock, [-1.2, 1.0], method=method, lr=None,
                      callback=lambda x: True)
    assert result.nit == 1 and not result.success
    assert "callback" in result.message


@pytest.mark.parametrize("method", ["lbfgs", "adam", "sgd"])
def test_max_iter_reached_is_not_success(method):
    result = minimize(rosenbrock, [-1.2, 1.0], method=method, max_iter=5)
    assert result.nit == 5 and not result.success
    assert "max_iter = 5" in result.message
    assert len(result.history) == 6


def test_max_iter_zero_evaluates_x0_only():
    result = minimize(sum_of_squares, [3.0, 4.0], max_iter=0)
    assert result.nit == 0 and not result.success and result.fun == 25.0
    np.testing.assert_array_equal(result.x, [3.0, 4.0])


def test_lbfgs_converges_when_f_is_large_compared_with_its_decrease():
    # f = 1e6 + (the quadratic): float64 spaces numbers near 1e6 about 1e-10 apart, so
    # long before the gradient norm reaches 1e-9 no two values of f near the minimum
    # differ. The line search must then judge steps by the gradient, not by f.
    quadratic, x_star = quadratic_problem(seed=1)
    result = minimize(lambda x: 1e6 + quadratic(x), np.zeros_like(x_star))
    assert result.success, result.message
    np.testing.assert_allclose(result.x, x_star, atol=1e-9)


class SquareWithWrongSign(tg.Function):
    """y = x^2, with a backward that returns -2x instead of 2x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data ** 2

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * -2 * x  # wrong: d/dx x^2 = 2x


def test_line_search_failure_is_reported_not_raised():
    # With the wrong sign, -gradient points uphill: no step length decreases f. L-BFGS
    # must stop and say so, not loop or raise.
    result = minimize(lambda x: SquareWithWrongSign.apply(x).sum(), [3.0, -4.0])
    assert not result.success and result.nit == 0
    assert "line search" in result.message
    np.testing.assert_array_equal(result.x, [3.0, -4.0])


# --- Errors ------------------------------------------------------------------------------


def test_unknown_method_names_the_valid_ones():
    with pytest.raises(ValueError, match="'lbfgs', 'adam', 'sgd'"):
        minimize(sum_of_squares, [1.0], method="newton")


@pytest.mark.parametrize("bad_f, error, match", [
    (lambda x: float(np.sum(x.data ** 2)), TypeError, "scalar Tensor, got float"),
    (lambda x: np.sum(x.data ** 2), TypeError, "scalar Tensor, got float64"),
    (lambda x: x * x, ValueError, r"returned shape \(3,\)"),
])
def test_f_must_return_a_scalar_tensor(bad_f, error, match):
    with pytest.raises(error, match=match):
        minimize(bad_f, [1.0, 2.0, 3.0])


def test_non_finite_at_x0_raises():
    with np.errstate(invalid="ignore"):
        with pytest.raises(ValueError, match="at x0"):
            minimize(lambda x: x.log().sum(), [-1.0, 2.0])
    with pytest.raises(ValueError, match="inf or nan"):
        minimize(sum_of_squares, [np.nan, 1.0])


def test_diverging_sgd_raises_and_suggests_a_smaller_lr():
    # lr = 10 on sum x^2 multiplies x by 1 - 20 = -19 each step, until it overflows.
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match="smaller lr"):
            minimize(sum_of_squares, [1.0, 2.0], method="sgd", lr=10.0)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lr": 0.1}, ValueError, "takes no lr"),
    ({"momentum": 0.9}, TypeError, "memory, c1, shrink, max_backtracks"),
    ({"method": "adam", "nesterov": True}, TypeError, "Adam"),
    ({"max_iter": -1}, ValueError, "max_iter"),
    ({"max_iter": 2.5}, ValueError, "max_iter"),
    ({"tol": -1.0}, ValueError, "tol"),
    ({"callback": 3}, TypeError, "callback"),
])
def test_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        minimize(sum_of_squares, [1.0, 2.0], **kwargs)


def test_x0_must_be_numbers():
    with pytest.raises(TypeError, match="x0"):
        minimize(sum_of_squares, "abc")
    with pytest.raises(ValueError, match="empty"):
        minimize(sum_of_squares, [])

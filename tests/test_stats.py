"""tg.stats (var, std, cov, corrcoef) and tg.trapezoid: values against NumPy, gradients
against float64 finite differences, and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import stats
from tinygrad_edu.integrate import trapezoid


def leaf(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# --- values against NumPy ----------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("ddof", [0, 1])
def test_var_and_std_match_numpy(rng, axis, ddof):
    x = rng.normal(size=(4, 5))
    np.testing.assert_allclose(stats.var(x, axis=axis, ddof=ddof).numpy(),
                               np.var(x, axis=axis, ddof=ddof), rtol=1e-12)
    np.testing.assert_allclose(stats.std(x, axis=axis, ddof=ddof).numpy(),
                               np.std(x, axis=axis, ddof=ddof), rtol=1e-12)


@pytest.mark.parametrize("shape", [(3, 6), (1, 6), (6,), (2, 2)])
@pytest.mark.parametrize("rowvar", [True, False])
@pytest.mark.parametrize("options", [{}, {"bias": True}, {"ddof": 2}, {"bias": True, "ddof": 1}])
def test_cov_matches_numpy(rng, shape, rowvar, options):
    x = rng.normal(size=shape)
    n = shape[-1] if (rowvar or len(shape) == 1) else shape[0]
    if n - options.get("ddof", 0 if options.get("bias") else 1) <= 0:
        # NumPy warns and returns inf or nan; a silent nan would poison every gradient
        with pytest.raises(ValueError, match="leave no degrees of freedom"):
            stats.cov(x, rowvar=rowvar, **options)
        return
    got = stats.cov(x, rowvar=rowvar, **options).numpy()
    expected = np.cov(x, rowvar=rowvar, **options)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", [(3, 6), (6,), (2, 4)])
@pytest.mark.parametrize("rowvar", [True, False])
def test_corrcoef_matches_numpy(rng, shape, rowvar):
    x = rng.normal(size=shape)
    got = stats.corrcoef(x, rowvar=rowvar).numpy()
    expected = np.corrcoef(x, rowvar=rowvar)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_corrcoef_of_exactly_related_variables_is_plus_or_minus_one(rng):
    a = rng.normal(size=8)
    r = stats.corrcoef(np.stack([a, 3 * a + 1, -2 * a])).numpy()
    np.testing.assert_allclose(np.abs(r), np.ones((3, 3)), rtol=1e-12)
    assert r[0, 2] < 0 and r[0, 1] > 0


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_trapezoid_matches_numpy(rng, axis):
    y = rng.normal(size=(4, 5))
    np.testing.assert_allclose(trapezoid(y, axis=axis).numpy(),
                               np.trapezoid(y, axis=axis), rtol=1e-12)
    np.testing.assert_allclose(trapezoid(y, dx=0.3, axis=axis).numpy(),
                               np.trapezoid(y, dx=0.3, axis=axis), rtol=1e-12)
    points_1d = np.sort(rng.uniform(0, 3, size=y.shape[axis]))
    np.testing.assert_allclose(trapezoid(y, points_1d, axis=axis).numpy(),
                               np.trapezoid(y, points_1d, axis=axis), rtol=1e-12)
    points_full = np.sort(rng.uniform(0, 3, size=y.shape), axis=axis)
    np.testing.assert_allclose(trapezoid(y, points_full, axis=axis).numpy(),
                               np.trapezoid(y, points_full, axis=axis), rtol=1e-12)


# --- closed forms ------------------------------------------------------------------------


def test_trapezoid_of_x_squared_on_unit_interval_is_a_third():
    x = np.linspace(0.0, 1.0, 2001)
    area = trapezoid(tg.Tensor(x) ** 2, x).item()
    # the trapezoid rule's error for x^2 is exactly h^2 / 6 on [0, 1]
    assert area == pytest.approx(1 / 3 + (1 / 2000) ** 2 / 6, rel=1e-10)
    assert area == pytest.approx(1 / 3, abs=1e-7)


def test_trapezoid_gradient_with_respect_to_y_is_the_quadrature_weights():
    y = leaf(np.ones(5))
    x = np.array([0.0, 1.0, 3.0, 3.5, 5.0])
    trapezoid(y, x).backward()
    widths = np.diff(x)
    weights = np.concatenate([[0], widths / 2]) + np.concatenate([widths / 2, [0]])
    np.testing.assert_allclose(y.grad.numpy(), weights, rtol=1e-12)


def test_gradient_of_the_mean_is_one_over_n():
    x = leaf(np.arange(7.0))
    x.mean().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(7, 1 / 7), rtol=1e-12)


def test_gradient_of_the_variance_is_two_centered_over_n():
    values = np.array([1.0, 4.0, -2.0, 0.5])
    x = leaf(values)
    stats.var(x, ddof=1).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (values - values.mean()) / 3, rtol=1e-12)


# --- gradients against finite differences ------------------------------------------------


@pytest.mark.parametrize("rowvar", [True, False])
@pytest.mark.parametrize("ddof", [0, 1])
def test_cov_gradcheck(rng, rowvar, ddof):
    x = leaf(rng.normal(size=(3, 5)))
    assert tg.gradcheck(lambda t: stats.cov(t, rowvar=rowvar, ddof=ddof), [x])


@pytest.mark.parametrize("rowvar", [True, False])
def test_corrcoef_gradcheck(rng, rowvar):
    x = leaf(rng.normal(size=(3, 5)))
    assert tg.gradcheck(lambda t: stats.corrcoef(t, rowvar=rowvar), [x])


def test_std_gradcheck(rng):
    x = leaf(rng.normal(size=(3, 4)))
    assert tg.gradcheck(lambda t: stats.std(t, axis=1, ddof=1), [x])


@pytest.mark.parametrize("axis", [0, 1])
def test_trapezoid_gradcheck_in_y_and_x(rng, axis):
    y = leaf(rng.normal(size=(3, 4)))
    x_full = leaf(np.sort(rng.uniform(0, 2, size=(3, 4)), axis=axis))
    assert tg.gradcheck(lambda a, b: trapezoid(a, b, axis=axis), [y, x_full])
    x_1d = leaf(np.sort(rng.uniform(0, 2, size=y.shape[axis])))
    assert tg.gradcheck(lambda a, b: trapezoid(a, b, axis=axis), [y, x_1d])


# --- errors ------------------------------------------------------------------------------


def test_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="cov: x must be 1-D or 2-D"):
        stats.cov(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="degrees of freedom"):
        stats.cov(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="x has 3 points but y has 4"):
        trapezoid(np.zeros(4), np.arange(3.0))
    with pytest.raises(ValueError, match="0-d"):
        trapezoid(1.0)

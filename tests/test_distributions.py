"""tg.distributions: log-densities against closed forms written here with math/NumPy,
gradients against float64 finite differences, sample moments against the `mean` and
`variance` properties, reparameterized gradients, seeding, entropies and errors.
(SciPy is not a dependency, so every reference value is computed in this file.)"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import distributions as D
from tinygrad_edu.distributions.special import digamma, lgamma, trigamma

EULER_GAMMA = 0.5772156649015329
lgamma_np = np.vectorize(math.lgamma)


def leaf(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# --- special functions -------------------------------------------------------------------


def test_lgamma_matches_math():
    x = np.array([0.1, 0.5, 1.0, 2.5, 7.0, 30.0, -0.5, -2.5])
    np.testing.assert_allclose(lgamma(x).numpy(), lgamma_np(x), rtol=1e-13)


def test_digamma_and_trigamma_known_values():
    np.testing.assert_allclose(digamma(np.array([1.0, 0.5, 2.0])).numpy(),
                               [-EULER_GAMMA, -EULER_GAMMA - 2 * math.log(2), 1 - EULER_GAMMA],
                               rtol=1e-12)
    np.testing.assert_allclose(trigamma(np.array([1.0, 0.5])).numpy(),
                               [math.pi ** 2 / 6, math.pi ** 2 / 2], rtol=1e-12)


def test_digamma_is_the_derivative_of_lgamma_everywhere():
    # both sides of the reflection point 1/2 and of the series threshold 6, and x < 0
    x = np.array([0.05, 0.3, 0.7, 1.5, 5.9, 6.1, 40.0, -0.3, -1.7])
    h = 1e-6
    numeric = (lgamma_np(x + h) - lgamma_np(x - h)) / (2 * h)
    np.testing.assert_allclose(digamma(x).numpy(), numeric, rtol=1e-7, atol=1e-6)


def test_lgamma_gradcheck_and_gradgradcheck():
    x = leaf([0.3, 0.8, 1.5, 4.0, 9.0, -0.4])
    assert tg.gradcheck(lgamma, [x])
    assert tg.gradgradcheck(lgamma, [x])


# --- log_prob against closed forms -------------------------------------------------------


def test_normal_log_prob():
    loc, scale = np.array([0.0, 1.5, -2.0]), np.array([1.0, 0.5, 3.0])
    x = np.array([0.3, 1.0, 4.0])
    expected = -((x - loc) ** 2) / (2 * scale ** 2) - np.log(scale * math.sqrt(2 * math.pi))
    np.testing.assert_allclose(D.Normal(loc, scale).log_prob(x).numpy(), expected, rtol=1e-12)


def test_uniform_log_prob_is_minus_log_width_inside_and_minus_inf_outside():
    dist = D.Uniform(np.float64(-1.0), np.float64(3.0))
    got = dist.log_prob(np.array([-1.0, 0.0, 2.9, 3.0, -5.0]))
    np.testing.assert_allclose(got.numpy(), [-math.log(4)] * 3 + [-np.inf] * 2)


def test_bernoulli_log_prob_with_probs_and_with_logits():
    p = np.array([0.2, 0.7, 0.5])
    y = np.array([1.0, 0.0, 1.0])
    expected = y * np.log(p) + (1 - y) * np.log(1 - p)
    np.testing.assert_allclose(D.Bernoulli(probs=p).log_prob(y).numpy(), expected, rtol=1e-12)
    logits = np.log(p / (1 - p))
    np.testing.assert_allclose(D.Bernoulli(logits=logits).log_prob(y).numpy(), expected,
                               rtol=1e-12)


def test_bernoulli_log_prob_with_extreme_logits_stays_finite():
    got = D.Bernoulli(logits=np.array([-800.0, 800.0])).log_prob(np.array([1.0, 0.0])).numpy()
    np.testing.assert_allclose(got, [-800.0, -800.0])  # ln(sigmoid(-800)) = -800


def test_categorical_log_prob_with_probs_and_with_logits():
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])
    k = np.array([1, 2])
    expected = np.log(probs[np.arange(2), k])
    np.testing.assert_allclose(D.Categorical(probs=probs).log_prob(k).numpy(), expected,
                               rtol=1e-12)
    logits = np.log(probs) + 7.0  # an additive shift does not change the distribution
    np.testing.assert_allclose(D.Categorical(logits=logits).log_prob(k).numpy(), expected,
                               rtol=1e-12)
    unnormalised = D.Categorical(probs=probs * 4)
    np.testing.assert_allclose(unnormalised.log_prob(k).numpy(), expected, rtol=1e-12)


def test_categorical_log_prob_broadcasts_over_sample_axes():
    dist = D.Categorical(logits=np.array([0.0, 1.0, 2.0]))
    k = np.array([[0, 2], [1, 1]])
    logp = np.array([0.0, 1.0, 2.0]) - np.log(np.exp([0.0, 1.0, 2.0]).sum())
    np.testing.assert_allclose(dist.log_prob(k).numpy(), logp[k], rtol=1e-12)


def test_poisson_log_prob():
    rate = np.array([0.5, 3.0, 10.0])
    k = np.array([0.0, 2.0, 13.0])
    expected = [kk * math.log(r) - r - math.log(math.factorial(int(kk))) for kk, r in zip(k, rate)]
    np.testing.assert_allclose(D.Poisson(rate).log_prob(k).numpy(), expected, rtol=1e-12)


def test_gamma_log_prob():
    alpha, beta = np.array([0.5, 2.0, 7.5]), np.array([1.0, 3.0, 0.5])
    x = np.array([0.2, 1.0, 12.0])
    expected = (alpha * np.log(beta) + (alpha - 1) * np.log(x) - beta * x - lgamma_np(alpha))
    np.testing.assert_allclose(D.Gamma(alpha, beta).log_prob(x).numpy(), expected, rtol=1e-12)


def test_densities_integrate_or_sum_to_one():
    x = np.linspace(-19, 21, 40001)  # 10 standard deviations either side
    density = np.exp(D.Normal(np.float64(1.0), np.float64(2.0)).log_prob(x).numpy())
    assert np.trapezoid(density, x) == pytest.approx(1, abs=1e-9)
    x = np.linspace(1e-9, 60, 200001)
    density = np.exp(D.Gamma(np.float64(3.0), np.float64(0.7)).log_prob(x).numpy())
    assert np.trapezoid(density, x) == pytest.approx(1, abs=1e-6)
    k = np.arange(80.0)
    mass = np.exp(D.Poisson(np.float64(6.0)).log_prob(k).numpy())
    assert mass.sum() == pytest.approx(1, abs=1e-12)


# --- gradients of log_prob against finite differences ------------------------------------


def test_normal_log_prob_gradcheck():
    x = np.array([0.3, -1.0, 2.0])
    assert tg.gradcheck(lambda loc, scale: D.Normal(loc, scale).log_prob(x),
                        [leaf([0.1, 0.5, -1.0]), leaf([1.0, 0.7, 2.0])])
    # broadcast: one scalar scale for three locations
    assert tg.gradcheck(lambda loc, scale: D.Normal(loc, scale).log_prob(x),
                        [leaf([0.1, 0.5, -1.0]), leaf(0.8)])


def test_uniform_log_prob_gradcheck():
    x = np.array([0.0, 0.5])
    assert tg.gradcheck(lambda low, high: D.Uniform(low, high).log_prob(x),
                        [leaf([-1.0, -0.5]), leaf([2.0, 1.0])])


@pytest.mark.parametrize("parameter", ["probs", "logits"])
def test_bernoulli_log_prob_gradcheck(parameter):
    y = np.array([1.0, 0.0, 1.0])
    values = [0.2, 0.6, 0.9] if parameter == "probs" else [-1.5, 0.3, 2.0]
    assert tg.gradcheck(lambda p: D.Bernoulli(**{parameter: p}).log_prob(y), [leaf(values)])


@pytest.mark.parametrize("parameter", ["probs", "logits"])
def test_categorical_log_prob_gradcheck(parameter):
    k = np.array([0, 2])
    values = [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]
    if parameter == "logits":
        values = np.log(values) + 1.0
    assert tg.gradcheck(lambda p: D.Categorical(**{parameter: p}).log_prob(k), [leaf(values)])


def test_poisson_log_prob_gradcheck():
    k = np.array([0.0, 3.0, 7.0])
    assert tg.gradcheck(lambda rate: D.Poisson(rate).log_prob(k), [leaf([0.5, 2.0, 6.0])])


def test_gamma_log_prob_gradcheck_in_both_parameters():
    x = np.array([0.4, 1.3, 5.0])
    assert tg.gradcheck(lambda a, b: D.Gamma(a, b).log_prob(x),
                        [leaf([0.7, 2.0, 5.5]), leaf([1.5, 0.8, 1.1])])


def test_entropy_gradchecks():
    assert tg.gradcheck(lambda s: D.Normal(0.0, s).entropy(), [leaf([0.5, 2.0])])
    assert tg.gradcheck(lambda a, b: D.Gamma(a, b).entropy(), [leaf([0.7, 3.0]), leaf([2.0, 0.5])])
    assert tg.gradcheck(lambda l: D.Bernoulli(logits=l).entropy(), [leaf([-1.0, 0.4])])
    assert tg.gradcheck(lambda l: D.Categorical(logits=l).entropy(), [leaf([0.1, -1.0, 2.0])])
    assert tg.gradcheck(lambda r: D.Poisson(r).entropy(), [leaf([0.7, 4.0])])


# --- sampling ----------------------------------------------------------------------------

N = 200_000


def moment_check(dist, mean, variance, n=N):
    """Sample mean within 5 standard errors of `mean`; sample variance within 5% (the
    distributions tested have modest kurtosis, so 5% is many standard errors)."""
    draws = dist.sample((n,)).numpy().astype(np.float64)
    assert draws.shape == (n,) + tuple(dist.batch_shape)
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mean), 5 * np.sqrt(variance / n))
    np.testing.assert_allclose(draws.var(axis=0), variance, rtol=0.05)


@pytest.mark.parametrize("make", [
    lambda: D.Normal(np.array([0.0, 3.0]), np.array([1.0, 0.25])),
    lambda: D.Uniform(np.array([-1.0, 2.0]), np.array([1.0, 7.0])),
    lambda: D.Bernoulli(probs=np.array([0.1, 0.5, 0.8])),
    lambda: D.Bernoulli(logits=np.array([-2.0, 1.0])),
    lambda: D.Categorical(probs=np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])),
    lambda: D.Poisson(np.array([0.5, 4.0, 20.0])),
    lambda: D.Gamma(np.array([0.5, 2.0, 9.0]), np.array([1.0, 3.0, 0.5])),
], ids=["normal", "uniform", "bernoulli-probs", "bernoulli-logits", "categorical",
        "poisson", "gamma"])
def test_sample_moments_match_mean_and_variance(make):
    tg.manual_seed(7)
    dist = make()
    moment_check(dist, dist.mean.numpy(), dist.variance.numpy())


def test_mean_and_variance_closed_forms():
    np.testing.assert_allclose(D.Gamma(np.float64(3.0), np.float64(2.0)).mean.item(), 1.5)
    np.testing.assert_allclose(D.Gamma(np.float64(3.0), np.float64(2.0)).variance.item(), 0.75)
    np.testing.assert_allclose(D.Uniform(np.float64(1.0), np.float64(4.0)).variance.item(), 0.75)
    categorical = D.Categorical(probs=np.array([0.5, 0.0, 0.5]))
    assert (categorical.mean.item(), categorical.variance.item()) == (1.0, 1.0)


def test_sample_shape_and_seeding():
    dist = D.Normal(np.zeros(3), 1.0)
    tg.manual_seed(123)
    first = dist.sample((4, 2)).numpy()
    tg.manual_seed(123)
    again = dist.sample((4, 2)).numpy()
    assert first.shape == (4, 2, 3)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, dist.sample((4, 2)).numpy())
    for make in (lambda: D.Poisson(2.0), lambda: D.Gamma(2.0, 1.0),
                 lambda: D.Categorical(logits=[0.0, 1.0]), lambda: D.Bernoulli(0.4),
                 lambda: D.Uniform(0.0, 1.0)):
        tg.manual_seed(5)
        a = make().sample(10).numpy()
        tg.manual_seed(5)
        np.testing.assert_array_equal(a, make().sample(10).numpy())


def test_sample_carries_no_gradient():
    loc = leaf([0.0, 1.0])
    assert not D.Normal(loc, 1.0).sample((3,)).requires_grad
    assert D.Normal(loc, 1.0).rsample((3,)).requires_grad


def test_rsample_gradients_reach_the_parameters():
    tg.manual_seed(0)
    loc, scale = leaf([0.5, -1.0]), leaf([2.0, 0.3])
    draws = D.Normal(loc, scale).rsample((1000,))            # (1000, 2)
    draws.mean().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [0.5, 0.5], rtol=1e-12)  # d E[x]/d loc = 1
    eps = (draws.numpy() - loc.numpy()) / scale.numpy()
    np.testing.assert_allclose(scale.grad.numpy(), eps.mean(axis=0) / 2, rtol=1e-10)

    low, high = leaf(1.0), leaf(3.0)
    tg.manual_seed(0)
    u_draws = D.Uniform(low, high).rsample((50_000,))
    u_draws.mean().backward()
    u = (u_draws.numpy() - 1.0) / 2.0
    np.testing.assert_allclose(low.grad.item(), 1 - u.mean(), rtol=1e-10)
    np.testing.assert_allclose(high.grad.item(), u.mean(), rtol=1e-10)
    assert high.grad.item() == pytest.approx(0.5, abs=0.01)   # d E[x]/d high = 1/2


def test_rsample_is_missing_where_there_is_no_reparameterization():
    with pytest.raises(NotImplementedError, match="Poisson.rsample"):
        D.Poisson(1.0).rsample()


# --- entropy -----------------------------------------------------------------------------


def test_entropy_closed_forms():
    sigma = np.array([0.3, 1.0, 4.0])
    np.testing.assert_allclose(D.Normal(0.0, sigma).entropy().numpy(),
                               0.5 * np.log(2 * np.pi * np.e * sigma ** 2), rtol=1e-12)
    np.testing.assert_allclose(D.Uniform(np.float64(-1.0), np.float64(2.5)).entropy().item(),
                               math.log(3.5), rtol=1e-12)
    p = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(D.Bernoulli(probs=p).entropy().numpy(),
                               -p * np.log(p) - (1 - p) * np.log(1 - p), rtol=1e-12)
    probs = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(D.Categorical(probs=probs).entropy().item(),
                               -(probs * np.log(probs)).sum(), rtol=1e-12)
    np.testing.assert_allclose(D.Categorical(probs=[0.5, 0.0, 0.5]).entropy().item(),
                               math.log(2), rtol=1e-6)   # 0 ln 0 counts as 0, not nan


def test_poisson_entropy_is_the_sum_over_its_support():
    for rate in (0.3, 5.0, 40.0):
        k = np.arange(400)
        log_p = k * math.log(rate) - rate - lgamma_np(k + 1)
        expected = -(np.exp(log_p) * log_p).sum()
        assert D.Poisson(np.float64(rate)).entropy().item() == pytest.approx(expected, rel=1e-10)


def test_gamma_entropy_matches_numerical_integration():
    for alpha, beta in ((0.8, 2.0), (3.0, 0.5), (12.0, 4.0)):
        dist = D.Gamma(np.float64(alpha), np.float64(beta))
        # x = e^t: the density's peak (or pole, for alpha < 1) at 0 is resolved in t,
        # and the integral of f(x) dx becomes the integral of f(e^t) e^t dt
        t = np.linspace(math.log(1e-12), math.log(200 / beta), 200_001)
        log_p = dist.log_prob(np.exp(t)).numpy()
        integral = -np.trapezoid(np.exp(log_p) * log_p * np.exp(t), t)
        assert dist.entropy().item() == pytest.approx(integral, abs=1e-7)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: D.Normal(0.0, -1.0), r"Normal: scale must be positive, got \[-1.0\]"),
    (lambda: D.Normal(0.0, [1.0, 0.0]), r"Normal: scale must be positive, got \[0.0\]"),
    (lambda: D.Uniform(2.0, 1.0), "Uniform: low must be below high"),
    (lambda: D.Bernoulli(probs=1.5), r"Bernoulli: probs must lie in \[0, 1\]"),
    (lambda: D.Bernoulli(), "Bernoulli: give exactly one of probs and logits"),
    (lambda: D.Bernoulli(probs=0.5, logits=0.0), "exactly one"),
    (lambda: D.Categorical(probs=[0.5, -0.1]), "Categorical: probs must be non-negative"),
    (lambda: D.Categorical(probs=[0.0, 0.0]), "positive sum"),
    (lambda: D.Categorical(logits=1.0), "last axis of categories"),
    (lambda: D.Poisson(0.0), "Poisson: rate must be positive"),
    (lambda: D.Gamma(-1.0, 1.0), "Gamma: concentration must be positive"),
    (lambda: D.Gamma(1.0, -2.0), "Gamma: rate must be positive"),
    (lambda: D.Normal(np.zeros(2), np.ones(3)), "Normal: the parameter shapes"),
    (lambda: D.Normal("a", 1.0), "Normal: loc must be a number"),
    (lambda: D.Bernoulli(0.5).log_prob(0.5), "Bernoulli.log_prob: values must be 0 or 1"),
    (lambda: D.Categorical(probs=[0.5, 0.5]).log_prob(2), r"values must lie in 0..1"),
    (lambda: D.Categorical(probs=[0.5, 0.5]).log_prob(0.5), "integer category indices"),
    (lambda: D.Poisson(1.0).log_prob(-1.0), "non-negative integers"),
    (lambda: D.Gamma(1.0, 1.0).log_prob(0.0), "Gamma.log_prob: values must be positive"),
])
def test_invalid_arguments_raise_clear_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_a_wrong_digamma_makes_gradcheck_fail(monkeypatch):
    # the lgamma gradient check above can fail: break digamma and it does
    from tinygrad_edu.distributions import special
    monkeypatch.setattr(special, "_digamma", lambda x: np.log(x))
    assert not tg.gradcheck(lgamma, [leaf([1.5, 3.0])], verbose=False)


# --- edge cases: poles, masked categories, non-finite data --------------------------------


def test_digamma_keeps_its_accuracy_next_to_zero():
    # psi(x) ~ -1/x - euler_gamma for tiny x; 1 - (1 - x) would round a tiny x away
    x = np.array([1e-17, 1e-10, 1e-5])
    np.testing.assert_allclose(digamma(x).numpy(), -1 / x - np.euler_gamma, rtol=1e-9)


def test_digamma_and_lgamma_at_the_poles_follow_pytorch():
    psi = digamma(np.array([0.0, -1.0, -3.0])).numpy()
    assert psi[0] == -np.inf and np.isnan(psi[1:]).all()
    np.testing.assert_array_equal(lgamma(np.array([0.0, -2.0, 1e306])).numpy(), np.inf)


def test_categorical_with_a_masked_category():
    logits = tg.Tensor(np.array([0.0, -np.inf, 1.0]), requires_grad=True)
    dist = D.Categorical(logits=logits)
    p = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()
    np.testing.assert_allclose(dist.log_prob(0).item(), np.log(p[0]))
    np.testing.assert_allclose(dist.entropy().item(), -(p * np.log(p)).sum())
    (dist.log_prob(2) + dist.entropy()).backward()
    assert np.isfinite(logits.grad.numpy()).all() and logits.grad.numpy()[1] == 0


def test_poisson_refuses_an_infinite_count():
    with pytest.raises(ValueError, match="finite non-negative integers"):
        D.Poisson(2.0).log_prob(np.inf)

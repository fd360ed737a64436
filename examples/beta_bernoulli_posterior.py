"""Bayes' theorem for a coin: a Beta prior, Bernoulli flips, and the Beta posterior.

The coin shows heads with unknown probability p. Before any flip we believe
p ~ Beta(a, b), whose density is

    Beta(p; a, b) = p^(a-1) (1-p)^(b-1) / B(a, b),   ln B(a, b) = lgamma(a) + lgamma(b)
                                                                  - lgamma(a + b).

After n flips with h heads and t = n - h tails, Bayes' theorem gives

    post(p) = prior(p) * L(p) / Z,   L(p) = prod_i p^y_i (1-p)^(1-y_i) = p^h (1-p)^t,
    Z = integral_0^1 prior(p) L(p) dp,

and since p^(a-1) (1-p)^(b-1) * p^h (1-p)^t has the Beta form, the posterior is
Beta(a + h, b + t) in closed form, with

    mean = (a + h) / (a + b + n),     mode (MAP) = (a + h - 1) / (a + b + n - 2).

This script does it the numerical way instead, as one must when no closed form exists:
ln prior + ln L on a grid of p, exponentiate, normalise by the trapezoidal rule. It then
checks the density, the posterior mean and the MAP against the formulas above, and
differentiates the numerically integrated posterior mean with respect to a.

Run: python examples/beta_bernoulli_posterior.py
"""

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import distributions
from tinygrad_edu.distributions import lgamma


def beta_log_pdf(p, a, b):
    """ln Beta(p; a, b), written with tg ops so that gradients reach p, a and b."""
    # Python floats would become float32 Tensors (the default dtype): lgamma(22) in float32
    # is off by ~5e-7, an error of ~5e-7 relative in the density, far more than this
    # script's numerical error. So numbers are made float64 here.
    a, b = (x if isinstance(x, tg.Tensor) else tg.Tensor(x, dtype=np.float64) for x in (a, b))
    log_norm = lgamma(a) + lgamma(b) - lgamma(a + b)
    return (a - 1) * p.log() + (b - 1) * (1 - p).log() - log_norm


def log_likelihood(p, flips):
    """sum_i ln p(y_i | p) for every p on a grid: (G,) from p (G,) and flips (n,)."""
    coin = distributions.Bernoulli(probs=p.reshape(-1, 1))        # G coins, batch (G, 1)
    return coin.log_prob(flips).sum(axis=-1)                      # (G, n) -> (G,)


tg.manual_seed(0)
a, b = 2.0, 2.0
flips = distributions.Bernoulli(probs=np.float64(0.7)).sample((30,))   # (30,) of 0 / 1
n = flips.numel()
heads = int(flips.numpy().sum())
tails = n - heads
print(f"prior Beta({a:g}, {b:g}); {n} flips of a coin with p = 0.7: {heads} heads, "
      f"{tails} tails")
print(f"closed-form posterior: Beta({a + heads:g}, {b + tails:g})")

# The grid: the interior points of 200 equal steps over [0, 1]. The two end strips of
# width dp = 0.005 are left out, where ln p or ln(1 - p) would be -inf; the posterior mass
# in them is below dp^(b + t) / B(a + h, b + t) ~ 1e-18, so nothing measurable is lost.
grid = tg.linspace(0.0, 1.0, 201, dtype=np.float64)[1:-1]                     # (199,)

prior_a = tg.Tensor(a, dtype=np.float64, requires_grad=True)  # a leaf: d/da comes later
log_unnormalised = beta_log_pdf(grid, prior_a, b) + log_likelihood(grid, flips)
# exp of ln L for n flips can underflow for large n; subtracting the largest value first
# keeps the peak at e^0 = 1. The shift cancels in the normalisation (so detach it).
unnormalised = (log_unnormalised - log_unnormalised.max().detach()).exp()
posterior = unnormalised / tg.trapezoid(unnormalised, grid)

exact = beta_log_pdf(grid, a + heads, b + tails).exp()
error = (posterior - exact).abs().max().item()
# What limits the agreement: the numerical side is exact at each grid point up to
# round-off, except for its normalising constant Z, which the trapezoidal rule only
# approximates. By the Euler-Maclaurin formula the rule's error is a series in dp^2 whose
# terms are set by the derivatives of the integrand at the two ends, here all almost 0
# (the posterior is flat there). So once dp is well below the posterior's width (its
# standard deviation is ~0.08) the error falls faster than any power of dp, far below the
# generic bound dp^2 max|f''| / 12 ~ 1e-3 for dp = 0.005: the table below shows it, from
# ~1e-3 at dp = 0.1 to float64 round-off (~1e-13 on densities ~4) by dp = 0.01.
print(f"\nposterior density on {grid.numel()} grid points, numerical vs Beta pdf:")
for p in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9):
    i = int(np.argmin(np.abs(grid.numpy() - p)))
    print(f"  p = {p:.1f}:  numerical {posterior.numpy()[i]:.10f}   "
          f"closed form {exact.numpy()[i]:.10f}")
print(f"  max |difference| over the grid = {error:.2e}")
assert error < 1e-10, error

print("\nthe same check on coarser grids (the trapezoidal rule is the only error):")
for steps in (10, 20, 50, 100):
    coarse = tg.linspace(0.0, 1.0, steps + 1, dtype=np.float64)[1:-1]
    log_u = beta_log_pdf(coarse, a, b) + log_likelihood(coarse, flips)
    u = (log_u - log_u.max()).exp()
    coarse_error = (u / tg.trapezoid(u, coarse)
                    - beta_log_pdf(coarse, a + heads, b + tails).exp()).abs().max().item()
    print(f"  {steps:4d} steps (dp = {1 / steps:.3f}): max |difference| = {coarse_error:.2e}")

# The posterior mean, integral of p * post(p) dp, by the trapezoidal rule.
mean_numerical = tg.trapezoid(grid * posterior, grid)
mean_exact = (a + heads) / (a + b + n)
print(f"\nposterior mean: numerical {mean_numerical.item():.10f}   "
      f"closed form (a + h) / (a + b + n) = {mean_exact:.10f}")
assert abs(mean_numerical.item() - mean_exact) < 1e-8, (mean_numerical.item(), mean_exact)

# Its gradient with respect to the prior's a, by backward through the integral (both
# trapezoid sums, the exp and lgamma), vs d/da (a + h) / (a + b + n) = (b + t) / (a+b+n)^2.
mean_numerical.backward()
dmean_da_exact = (b + tails) / (a + b + n) ** 2
print(f"d mean / d a:   numerical {prior_a.grad.item():.10f}   "
      f"closed form (b + t) / (a + b + n)^2 = {dmean_da_exact:.10f}")
assert abs(prior_a.grad.item() - dmean_da_exact) < 1e-8, (prior_a.grad.item(), dmean_da_exact)


# The MAP: the p that maximises post(p), found by minimising -ln prior(p) - ln L(p) (Z is a
# constant, so it is not needed) over z = logit(p), p = sigmoid(z): every z is a valid p.
# This moves the argument of the density only, so the minimiser is still the mode over p
# (no Jacobian term: that would give the mode of the density of z instead).
def negative_log_posterior(z):
    coin = distributions.Bernoulli(logits=z)
    return -(beta_log_pdf(z.sigmoid(), a, b) + coin.log_prob(flips).sum()).sum()


result = tg.optim.minimize(negative_log_posterior, [0.0])
map_numerical = float(1 / (1 + np.exp(-result.x[0])))
map_exact = (a + heads - 1) / (a + b + n - 2)
grid_map = grid.numpy()[int(np.argmax(posterior.numpy()))]
print(f"\nMAP (mode):     L-BFGS    {map_numerical:.10f}   "
      f"closed form (a + h - 1) / (a + b + n - 2) = {map_exact:.10f}")
print(f"                ({result.nit} iterations, {result.message}; "
      f"the grid's argmax is {grid_map:.3f})")
assert result.success, result.message
assert abs(map_numerical - map_exact) < 1e-8, (map_numerical, map_exact)

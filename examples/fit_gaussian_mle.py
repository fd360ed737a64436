"""Maximum likelihood for a Gaussian, by gradient descent on the negative log-likelihood.

For data x_1..x_n, the negative log-likelihood of N(mu, sigma^2) is

    NLL(mu, sigma) = -(1/n) sum_i ln p(x_i) = (1/n) sum_i (x_i - mu)^2 / (2 sigma^2)
                     + ln sigma + ln(2 pi) / 2

and setting its derivatives to zero gives the answer in closed form: mu = the sample
mean, sigma = the sample standard deviation with n (not n - 1) in the denominator.
Here Adam finds it from the gradients alone. sigma is written as exp(log_sigma) so that
every step keeps it positive, whatever the step size.

Run: python examples/fit_gaussian_mle.py
"""

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import distributions

tg.manual_seed(0)
true = distributions.Normal(np.float64(-1.5), np.float64(0.8))
data = true.sample((2000,))                      # (2000,) seeded draws
print(f"{data.numel()} draws from N(mu = -1.5, sigma = 0.8)")

loc = tg.Tensor(0.0, dtype=np.float64, requires_grad=True)
log_scale = tg.Tensor(0.0, dtype=np.float64, requires_grad=True)   # sigma = e^0 = 1
optimizer = tg.optim.Adam([loc, log_scale], lr=0.05)
for step in range(1, 801):
    model = distributions.Normal(loc, log_scale.exp())
    nll = -model.log_prob(data).mean()
    if step in (1, 10, 50, 100, 200, 400, 800):
        print(f"step {step:3d}: mu = {loc.item():+.4f}   sigma = "
              f"{np.exp(log_scale.item()):.4f}   NLL = {nll.item():.6f}")
    optimizer.zero_grad()
    nll.backward()
    optimizer.step()

sample_mean = data.numpy().mean()
sample_std = data.numpy().std()                  # ddof=0: the maximum-likelihood estimate
fitted_scale = float(np.exp(log_scale.item()))
print(f"fitted      mu = {loc.item():+.5f}   sigma = {fitted_scale:.5f}")
print(f"closed form mu = {sample_mean:+.5f}   sigma = {sample_std:.5f}  (sample mean, std)")
assert abs(loc.item() - sample_mean) < 1e-4, (loc.item(), sample_mean)
assert abs(fitted_scale - sample_std) < 1e-4, (fitted_scale, sample_std)

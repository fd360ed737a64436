"""Maximum likelihood for a Poisson rate, by gradient descent on the negative log-likelihood.

For counts k_1..k_n, the negative log-likelihood of Poisson(lambda), averaged over the
data, is

    NLL(lambda) = -(1/n) sum_i ln p(k_i) = lambda - kbar ln lambda + (1/n) sum_i ln(k_i!)

with kbar the sample mean. Its derivative

    d NLL / d lambda = 1 - kbar / lambda

is zero at lambda = kbar: the maximum-likelihood rate is the sample mean. Here plain
gradient descent finds it from the gradients alone. lambda is written as exp(theta), so
that every step keeps it positive; by the chain rule the gradient in theta is

    d NLL / d theta = lambda * (1 - kbar / lambda) = lambda - kbar,

so one SGD step maps the error lambda - kbar to about (1 - lr * lambda) times itself
near the answer: with lr = 0.2 and lambda ~ 3.5 each step shrinks it about 3-fold.

Run: python examples/fit_poisson_rate.py
"""

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import distributions

tg.manual_seed(0)
true_rate = 3.5
data = distributions.Poisson(np.float64(true_rate)).sample((1000,))   # (1000,) counts
sample_mean = float(data.numpy().mean())
print(f"{data.numel()} draws from Poisson(rate = {true_rate}); sample mean = {sample_mean:.6f}")

# The derivative first: backward through log_prob, against 1 - kbar / lambda.
print("\nd NLL / d rate, by backward and by the formula 1 - kbar / rate:")
for value in (1.0, 2.0, sample_mean, 6.0):
    rate = tg.Tensor(value, dtype=np.float64, requires_grad=True)
    nll = -distributions.Poisson(rate).log_prob(data).mean()
    nll.backward()
    formula = 1 - sample_mean / value
    print(f"  rate = {value:.4f}:  backward {rate.grad.item():+.12f}   "
          f"formula {formula:+.12f}")
    assert abs(rate.grad.item() - formula) < 1e-12, (rate.grad.item(), formula)

# The fit: gradient descent on theta = ln(rate), from rate = e^0 = 1.
print("\nSGD on theta = ln(rate):")
log_rate = tg.Tensor(0.0, dtype=np.float64, requires_grad=True)
optimizer = tg.optim.SGD([log_rate], lr=0.2)
for step in range(1, 61):
    nll = -distributions.Poisson(log_rate.exp()).log_prob(data).mean()
    optimizer.zero_grad()
    nll.backward()
    if step in (1, 2, 5, 10, 20, 40, 60):
        print(f"  step {step:2d}: rate = {np.exp(log_rate.item()):.8f}   "
              f"NLL = {nll.item():.10f}   d NLL / d theta = {log_rate.grad.item():+.2e}")
    optimizer.step()

fitted_rate = float(np.exp(log_rate.item()))
relative_error = abs(fitted_rate - sample_mean) / sample_mean
print(f"\nfitted      rate = {fitted_rate:.10f}")
print(f"closed form rate = {sample_mean:.10f}  (the sample mean)")
print(f"relative difference {relative_error:.1e}")
assert relative_error < 1e-6, (fitted_rate, sample_mean)

"""Exercise: the backward of batch normalization (training mode).

Batch norm normalizes each feature (column) over the batch (axis 0), then scales and
shifts it by learned gamma and beta. For x (N, D), gamma (D,), beta (D,), per column:

    mu = mean(x)                 the batch's mean             (D,)
    var = mean((x - mu)^2)       its variance, biased: 1/N    (D,)
    sigma = sqrt(var + eps)
    x_hat = (x - mu) / sigma     each column now has mean 0, variance ~1
    y = gamma * x_hat + beta     (N, D)

(In training, PyTorch normalizes with this biased variance, a sum divided by N. The
running variance it keeps for evaluation is the unbiased one, divided by N - 1: not
the one to differentiate here.)

With g = dL/dy, gamma and beta are used by every row, so their gradients add up rows:

    dL/dbeta = sum over n of g              dL/dgamma = sum over n of g * x_hat

For x, first dL/dx_hat = g * gamma; call it g_hat. Then mind that mu and sigma are
computed from every row of x, so each x_m moves every x_hat_n of its column:

    dmu/dx_m = 1/N         dvar/dx_m = 2 (x_m - mu) / N      (the 1/N of var's mean)
    dsigma/dx_m = (x_m - mu) / (N sigma) = x_hat_m / N
    dx_hat_n/dx_m = ([n == m] - 1/N - x_hat_n x_hat_m / N) / sigma

and summing g_hat_n times that over n (means over the batch, axis 0):

    dL/dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / sigma      (N, D)

Read it: shifting a whole column changes nothing after normalization (hence
- mean(g_hat), from mu), and neither does scaling it (hence - x_hat * mean(g_hat x_hat),
from sigma). Layer norm (stage 2) is the same formula over the other axis.

What backward gets: grad_output (a Tensor (N, D)) and ctx.saved_tensors == (x_hat,
sigma, gamma): ndarrays (N, D) and (D,), and the input Tensor gamma (D,).
`t.mean(axis=0)` and `t.sum(axis=0)` reduce over the batch; (D,) broadcasts over rows.
Return (dL/dx, dL/dgamma, dL/dbeta).

Write BatchNorm.backward, then check it (in your course folder):

    tinygrad-edu exercises check batchnorm
"""

import numpy as np

import tinygrad_edu as tg

EPS = 1e-5  # keeps sigma away from 0 for a column whose values are all equal


class BatchNorm(tg.Function):
    @staticmethod
    def forward(ctx, x, gamma, beta):
        mu = x.data.mean(axis=0)                                  # (D,)
        variance = ((x.data - mu) ** 2).mean(axis=0)              # (D,), biased: 1/N
        sigma = np.sqrt(variance + EPS)                           # (D,)
        x_hat = (x.data - mu) / sigma                             # (N, D)
        ctx.save_for_backward(x_hat, sigma, gamma)
        return gamma.data * x_hat + beta.data

    @staticmethod
    def backward(ctx, grad_output):
        # g_hat = g * gamma
        # dL/dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / sigma
        raise NotImplementedError(
            "BatchNorm.backward: write the backward. Take (x_hat, sigma, gamma) from "
            "ctx.saved_tensors; return (dL/dx, dL/dgamma, dL/dbeta), with means and "
            "sums over axis 0, the batch")


# (N, D), (D,), (D,): batches of 3 rows or more (with 2 rows, x_hat is only +-1)
SHAPES = [((4, 3), (3,), (3,)), ((6, 2), (2,), (2,)), ((5, 5), (5,), (5,)),
          ((3, 4), (4,), (4,))]

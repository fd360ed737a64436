"""Exercise: the backward of layer normalization over the last axis (no scale or shift).

For each row x of n numbers (the last axis):

    mu = mean(x)                     sigma = sqrt(mean((x - mu)^2) + eps)
    y = (x - mu) / sigma

Every y_i depends on every x_j of the row, through mu and sigma. Working it out (or
trusting the chain rule through the three steps) gives, for g = dL/dy,

    dL/dx = (g - mean(g) - y * mean(g * y)) / sigma

with the means taken over the last axis (keepdims=True, so they broadcast back).
Read it: a shift of every x by the same amount changes nothing (hence - mean(g)), and
neither does a scaling of the row (hence - y * mean(g * y)).

What backward gets: grad_output (a Tensor, the shape of x) and
ctx.saved_tensors == (y, sigma): ndarrays, sigma of shape (..., 1).

Write LayerNorm.backward, then check it (in your course folder):

    tinygrad-edu exercises check layernorm
"""

import numpy as np

import tinygrad_edu as tg

EPS = 1e-5  # keeps sigma away from 0 for a constant row


class LayerNorm(tg.Function):
    @staticmethod
    def forward(ctx, x):
        mu = x.data.mean(axis=-1, keepdims=True)
        sigma = np.sqrt(((x.data - mu) ** 2).mean(axis=-1, keepdims=True) + EPS)
        y = (x.data - mu) / sigma
        ctx.save_for_backward(y, sigma)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dx = (g - mean(g) - y mean(g y)) / sigma
        raise NotImplementedError(
            "LayerNorm.backward: write the backward. Take (y, sigma) from "
            "ctx.saved_tensors; Tensor.mean(axis=-1, keepdims=True) takes a row's mean")


SHAPES = [((5,),), ((3, 4),), ((2, 3, 6),)]

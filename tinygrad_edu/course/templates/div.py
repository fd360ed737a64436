"""Exercise: the backward of the quotient x / y.

    z = x / y            elementwise, x and y of the same shape
    dz/dx = 1 / y
    dz/dy = -x / y^2     (x / y = x * y^(-1), and d/dy y^(-1) = -1 * y^(-2))

So, for g = grad_output:

    dL/dx = g / y        dL/dy = -g * x / y^2

Both derivatives grow without bound as y nears 0 (the graph of 1/y has a pole there),
so the checked inputs keep y away from 0: |y| in [0.5, 2] (INPUTS, below).

What backward gets: grad_output (a Tensor, the shape of z) and
ctx.saved_tensors == (x, y), the input Tensors. Return (dL/dx, dL/dy).

Write Div.backward, then check it (in your course folder):

    tinygrad-edu exercises check div
"""

import numpy as np

import tinygrad_edu as tg


class Div(tg.Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x.data / y.data

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = 1 / y,  dz/dy = -x / y^2
        raise NotImplementedError(
            "Div.backward: write the backward. Take (x, y) from ctx.saved_tensors and "
            "return (dL/dx, dL/dy): write x / y as x * y^(-1) to find dz/dy")


def make_inputs(rng, shapes):
    """x anywhere; y of either sign with 0.5 <= |y| <= 2: far from the pole at y = 0."""
    x_shape, y_shape = shapes
    x = rng.standard_normal(x_shape)
    y = rng.uniform(0.5, 2.0, size=y_shape) * rng.choice([-1.0, 1.0], size=y_shape)
    return [x, y]


SHAPES = [((5,), (5,)), ((3, 4), (3, 4)), ((2, 3, 2), (2, 3, 2)), ((), ())]
INPUTS = make_inputs

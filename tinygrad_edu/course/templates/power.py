"""Exercise: the backward of x ** p, for a constant exponent p.

    y = x^p              elementwise; p is a number fixed for the op (P = 3 here)
    dy/dx = p * x^(p - 1)

The power rule: the exponent comes down as a factor, and the power drops by one
(x^3 -> 3 x^2). By the chain rule, dL/dx = grad_output * p * x^(p - 1).

p is a setting of the op, not an input: nothing flows back to it, so backward returns
one gradient, for x. Forward takes it as a keyword (Power.apply(x, p=2) would square)
and keeps it on ctx for backward. The checked inputs are positive, in [0.5, 2]
(INPUTS, below), so that x^p is defined for any p you may try (a negative x to the
power 0.5 is nan).

What backward gets: grad_output (a Tensor, the shape of y), ctx.p the exponent, and
ctx.saved_tensors == (x,), the input Tensor. Return dL/dx, the shape of x.

Write Power.backward, then check it (in your course folder):

    tinygrad-edu exercises check power
"""

import numpy as np

import tinygrad_edu as tg

P = 3  # the exponent the check uses


class Power(tg.Function):
    @staticmethod
    def forward(ctx, x, p=P):
        ctx.p = p  # a setting of the op: kept on ctx, no gradient
        ctx.save_for_backward(x)
        return x.data ** p

    @staticmethod
    def backward(ctx, grad_output):
        # d/dx x^p = p x^(p - 1)
        raise NotImplementedError(
            "Power.backward: write the backward. Take x from ctx.saved_tensors and "
            "p from ctx.p; the power rule gives dy/dx")


def make_inputs(rng, shapes):
    """Positive values: x^p is defined for every p there."""
    return [rng.uniform(0.5, 2.0, size=shape) for shape in shapes]


SHAPES = [((5,),), ((3, 4),), ((2, 3, 2),), ((),)]
INPUTS = make_inputs

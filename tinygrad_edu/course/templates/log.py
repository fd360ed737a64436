"""Exercise: the backward of the natural logarithm.

    y = log(x)           elementwise, for x > 0
    dy/dx = 1 / x

(log is the inverse of exp: if y = log x then x = exp(y), dx/dy = exp(y) = x, and so
dy/dx = 1 / x.) By the chain rule, dL/dx = grad_output / x.

log is defined for x > 0 only, and 1 / x blows up near 0: the checked inputs are
drawn from [0.2, 3] (INPUTS, below).

What backward gets: grad_output (a Tensor, the shape of y) and
ctx.saved_tensors == (x,), the input Tensor. Return dL/dx, the shape of x.

Write Log.backward, then check it (in your course folder):

    tinygrad-edu exercises check log
"""

import numpy as np

import tinygrad_edu as tg


class Log(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        # d/dx log(x) = 1 / x
        raise NotImplementedError(
            "Log.backward: write the backward. Take x from ctx.saved_tensors and "
            "return grad_output times d/dx log(x)")


def make_inputs(rng, shapes):
    """Positive values, away from 0 where log and 1/x blow up."""
    return [rng.uniform(0.2, 3.0, size=shape) for shape in shapes]


SHAPES = [((5,),), ((3, 4),), ((2, 3, 2),), ((),)]
INPUTS = make_inputs

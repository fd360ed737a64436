"""Exercise: the backward of tanh.

    y = tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))        elementwise
    dy/dx = 1 - tanh(x)^2 = 1 - y^2

(The quotient rule on the definition gives 1 - tanh^2 after a few lines: try it.)
Like exp and sigmoid, the derivative is written with the output y, which forward
saved: nothing is recomputed. By the chain rule, dL/dx = grad_output * (1 - y^2).
The derivative is 1 at x = 0 and falls towards 0 as |x| grows, where y nears +-1:
a saturated tanh passes almost no gradient back.

What backward gets: grad_output (a Tensor, the shape of y) and
ctx.saved_tensors == (y,), the output as an ndarray. Return dL/dx, the shape of x.

Write Tanh.backward, then check it (in your course folder):

    tinygrad-edu exercises check tanh
"""

import numpy as np

import tinygrad_edu as tg


class Tanh(tg.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        # d/dx tanh(x) = 1 - tanh(x)^2 = 1 - y^2
        raise NotImplementedError(
            "Tanh.backward: write the backward. Take y from ctx.saved_tensors and "
            "return grad_output times dy/dx, written with y")


SHAPES = [((5,),), ((3, 4),), ((2, 3, 2),), ((),)]

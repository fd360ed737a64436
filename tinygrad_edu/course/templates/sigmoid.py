"""Exercise: the backward of the sigmoid.

    s = sigmoid(x) = 1 / (1 + exp(-x))        elementwise
    ds/dx = s * (1 - s)

By the chain rule, dL/dx = dL/ds * ds/dx, elementwise: grad_output * s * (1 - s).
Forward saved s, its own output, because the derivative is written with it: nothing
has to be recomputed (and exp(-x) is never taken twice).

What backward gets: grad_output, a Tensor of the output's shape (dL/ds), and
ctx.saved_tensors == (s,), an ndarray. Tensors and ndarrays mix in + - * /.
What it returns: dL/dx, with the shape of x.

Write Sigmoid.backward, then check it (in your course folder):

    tinygrad-edu exercises check sigmoid
"""

import numpy as np

import tinygrad_edu as tg


class Sigmoid(tg.Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x.data))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad_output):
        # d/dx sigmoid(x) = s (1 - s)
        raise NotImplementedError(
            "Sigmoid.backward: write the backward. Take s from ctx.saved_tensors and "
            "return grad_output times ds/dx = s * (1 - s)")


SHAPES = [((5,),), ((3, 4),), ((2, 3, 4),), ((),)]

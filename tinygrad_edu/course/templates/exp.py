"""Exercise: the backward of the exponential.

    y = exp(x)           elementwise
    dy/dx = exp(x) = y   the one function that is its own derivative

By the chain rule, dL/dx = grad_output * exp(x) = grad_output * y. Forward already
computed y, so it saved it: backward reuses the output instead of calling exp again.
(The same trick serves sigmoid and tanh, whose derivatives are written with their
outputs too.)

What backward gets: grad_output (a Tensor, the shape of y) and
ctx.saved_tensors == (y,), the output as an ndarray. Return dL/dx, the shape of x.

Write Exp.backward, then check it (in your course folder):

    tinygrad-edu exercises check exp
"""

import numpy as np

import tinygrad_edu as tg


class Exp(tg.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x.data)
        ctx.save_for_backward(y)  # the output: it is also the derivative
        return y

    @staticmethod
    def backward(ctx, grad_output):
        # d/dx exp(x) = exp(x) = y
        raise NotImplementedError(
            "Exp.backward: write the backward. Take y from ctx.saved_tensors: what is "
            "the derivative of exp, written with y?")


SHAPES = [((5,),), ((3, 4),), ((2, 3, 2),), ((),)]

"""Exercise: the backward of the product x * y.

    z = x * y            elementwise, x and y of the same shape
    dz/dx = y            (hold y still: z moves with x at the rate y)
    dz/dy = x            (hold x still: z moves with y at the rate x)

The product rule, one input at a time: each input's derivative is the OTHER input.
By the chain rule, elementwise:

    dL/dx = grad_output * y        dL/dy = grad_output * x

This is the first op with two inputs: backward returns one gradient per input, in the
order forward took them, each with the shape of its input.

What backward gets: grad_output (a Tensor, the shape of z) and
ctx.saved_tensors == (x, y), the input Tensors. Return (dL/dx, dL/dy).

Write Mul.backward, then check it (in your course folder):

    tinygrad-edu exercises check mul
"""

import tinygrad_edu as tg


class Mul(tg.Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x.data * y.data

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = y,  dz/dy = x
        raise NotImplementedError(
            "Mul.backward: write the backward. Take (x, y) from ctx.saved_tensors "
            "and return two gradients, (dL/dx, dL/dy): which input multiplies "
            "grad_output in each?")


SHAPES = [((5,), (5,)), ((3, 4), (3, 4)), ((2, 3, 2), (2, 3, 2)), ((), ())]

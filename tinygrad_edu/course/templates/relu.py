"""Exercise: the backward of ReLU.

    y = relu(x) = max(x, 0)          elementwise
    dy/dx = 1 where x > 0            (y = x there)
            0 where x < 0            (y = 0 there, whatever x is)

So dL/dx = grad_output where the input was positive, and 0 where it was negative: the
derivative is a 0/1 mask that lets the gradient through where ReLU let the input
through. Since y > 0 exactly where x > 0, the saved output gives the mask: (y > 0).

At x = 0 there is a kink: the slope is 0 on the left, 1 on the right, and there is no
derivative. Any value in [0, 1] may be used there (PyTorch and tinygrad_edu use 0); a
finite difference across the kink would measure about 1/2, so the checked inputs stay
away from 0 (|x| >= 0.05, both signs, INPUTS below).

What backward gets: grad_output (a Tensor, the shape of y) and
ctx.saved_tensors == (y,), the output as an ndarray. Return dL/dx, the shape of x.

Write ReLU.backward, then check it (in your course folder):

    tinygrad-edu exercises check relu
"""

import numpy as np

import tinygrad_edu as tg


class ReLU(tg.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.maximum(x.data, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        # d/dx max(x, 0) = 1 where x > 0, 0 where x < 0
        raise NotImplementedError(
            "ReLU.backward: write the backward. Take y from ctx.saved_tensors: the "
            "gradient passes where the input did, and is 0 elsewhere")


def make_inputs(rng, shapes):
    """Half the values positive, half negative (in a random order), all with
    0.05 <= |x| <= 2: both sides of the kink, and never on it."""
    (shape,) = shapes
    size = int(np.prod(shape))
    signs = rng.permutation(np.resize([1.0, -1.0], size))
    return [(signs * rng.uniform(0.05, 2.0, size=size)).reshape(shape)]


SHAPES = [((6,),), ((3, 4),), ((2, 3, 2),), ((2,),)]
INPUTS = make_inputs

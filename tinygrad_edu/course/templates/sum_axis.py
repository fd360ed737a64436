"""Exercise: the backward of a sum over one axis.

    y = x.sum(axis=1)          x (a, n, ...) -> y (a, ...): axis 1 disappears
    y_i = sum_j x_ij           (for a 2-D x)
    dy_i/dx_ij = 1             every element of the sum counts once, with weight 1

So each x_ij gets the gradient of the one output it went into: dL/dx_ij = g_i, where
g = dL/dy. The gradient is grad_output COPIED along the summed axis: the backward of
a sum is a broadcast (and the other way round, as broadcast_add will show: the
backward of a broadcast is a sum).

The catch is where the copies go. grad_output has lost axis 1: put it back with size
1 (grad_output.unsqueeze(1): (a, ...) -> (a, 1, ...)), then expand it to x's shape
(.expand(*shape)). Broadcasting grad_output as it is would line its axes up from the
right, against the wrong axes of x.

What backward gets: grad_output (a Tensor, the shape of y); ctx.axis, the summed axis;
ctx.x_shape, the shape of x. Return dL/dx, the shape of x.

Write SumAxis.backward, then check it (in your course folder):

    tinygrad-edu exercises check sum_axis
"""

import tinygrad_edu as tg

AXIS = 1  # the axis the check sums over


class SumAxis(tg.Function):
    @staticmethod
    def forward(ctx, x, axis=AXIS):
        ctx.axis, ctx.x_shape = axis, x.shape  # all that backward needs
        return x.data.sum(axis=axis)

    @staticmethod
    def backward(ctx, grad_output):
        # dy_i/dx_ij = 1: copy grad_output along the summed axis
        raise NotImplementedError(
            "SumAxis.backward: write the backward. Every element summed gets the "
            "gradient of its sum: put the axis back (unsqueeze) and expand to "
            "ctx.x_shape")


# a square case too: there grad_output broadcast without its axis put back has the
# right shape, and the wrong numbers
SHAPES = [((3, 4),), ((2, 3, 4),), ((4, 4),), ((2, 5, 1),)]

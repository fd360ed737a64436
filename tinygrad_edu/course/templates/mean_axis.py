"""Exercise: the backward of a mean over one axis.

    y = x.mean(axis=1)         x (a, n, ...) -> y (a, ...): axis 1 disappears
    y_i = (1/n) sum_j x_ij     (for a 2-D x; n = x.shape[1], the size of the axis)
    dy_i/dx_ij = 1/n

A mean is a sum times 1/n, so its backward is the sum's (grad_output copied along the
axis: unsqueeze(1), then expand to x's shape) times 1/n. Each of the n elements moves
the mean by 1/n of its own change.

n is the size of the axis averaged, not the number of elements of x: for x of shape
(2, 3, 4), the mean over axis 1 averages n = 3 numbers at a time.

What backward gets: grad_output (a Tensor, the shape of y); ctx.axis, the averaged
axis; ctx.x_shape, the shape of x. Return dL/dx, the shape of x.

Write MeanAxis.backward, then check it (in your course folder):

    tinygrad-edu exercises check mean_axis
"""

import tinygrad_edu as tg

AXIS = 1  # the axis the check averages over


class MeanAxis(tg.Function):
    @staticmethod
    def forward(ctx, x, axis=AXIS):
        ctx.axis, ctx.x_shape = axis, x.shape
        return x.data.mean(axis=axis)

    @staticmethod
    def backward(ctx, grad_output):
        # dy_i/dx_ij = 1/n, n = the size of the averaged axis
        raise NotImplementedError(
            "MeanAxis.backward: write the backward. As a sum's backward (unsqueeze, "
            "expand to ctx.x_shape), times dy/dx = 1/n")


SHAPES = [((3, 4),), ((2, 3, 4),), ((4, 4),), ((2, 5, 2),)]

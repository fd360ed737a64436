"""Exercise: the backward of softmax over the last axis.

    y_i = exp(x_i) / sum_j exp(x_j)             along the last axis
    dy_i/dx_j = y_i * (delta_ij - y_j)

Every output depends on every input of its row, so the Jacobian of one row is a full
matrix, diag(y) - y y^T. Backward never builds it: multiplied by the incoming gradient
g = dL/dy it collapses to

    dL/dx_j = sum_i g_i y_i (delta_ij - y_j) = y_j * (g_j - sum_i g_i y_i)

The sum runs over the last axis, one number per row: keep that axis (keepdims=True)
so that it broadcasts back against y.

What backward gets: grad_output (a Tensor, the shape of y) and
ctx.saved_tensors == (y,), an ndarray. Tensor.sum(axis=-1, keepdims=True) sums a row.

Write Softmax.backward, then check it (in your course folder):

    tinygrad-edu exercises check softmax
"""

import numpy as np

import tinygrad_edu as tg


class Softmax(tg.Function):
    @staticmethod
    def forward(ctx, x):
        # subtracting the row's max changes nothing mathematically (it cancels in the
        # fraction) but keeps exp from overflowing for large x
        e = np.exp(x.data - x.data.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dx = y * (g - sum(g * y, last axis))
        raise NotImplementedError(
            "Softmax.backward: write the backward. With y from ctx.saved_tensors, return "
            "y * (grad_output - (grad_output * y).sum(axis=-1, keepdims=True)) -- but work "
            "it out first")


SHAPES = [((5,),), ((3, 4),), ((2, 3, 4),), ((1, 1),)]

"""Exercise: the backward of logsumexp over the last axis.

    y = log(sum_j exp(x_j))                     along the last axis, which disappears:
                                                x (..., n) -> y (...)
    dy/dx_j = exp(x_j) / sum_k exp(x_k) = softmax(x)_j

So dL/dx_j = g * softmax(x)_j, where g = dL/dy is one number per row. g has one axis
fewer than x: put the axis back (grad_output.unsqueeze(-1), shape (..., 1)) so that it
broadcasts along the row.

What backward gets: grad_output (a Tensor, the shape of y) and
ctx.saved_tensors == (p,), where p = softmax(x) (an ndarray of x's shape).

Write LogSumExp.backward, then check it (in your course folder):

    tinygrad-edu exercises check logsumexp
"""

import numpy as np

import tinygrad_edu as tg


class LogSumExp(tg.Function):
    @staticmethod
    def forward(ctx, x):
        # log(sum exp(x)) = m + log(sum exp(x - m)) for the row's max m: the same value,
        # without overflow when x is large
        m = x.data.max(axis=-1, keepdims=True)
        e = np.exp(x.data - m)
        total = e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(e / total)  # softmax(x): the derivative
        return (m + np.log(total)).squeeze(-1)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = softmax(x)
        raise NotImplementedError(
            "LogSumExp.backward: write the backward. The derivative is p = softmax(x) "
            "(saved); grad_output has lost the last axis: grad_output.unsqueeze(-1) puts it "
            "back")


SHAPES = [((5,),), ((3, 4),), ((2, 3, 4),), ((2, 1),)]

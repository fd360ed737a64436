"""Exercise: the backward of x + y when the shapes differ (broadcasting).

    z = x + y            e.g. x (2, 3) + y (3,) -> z (2, 3): y is added to every row
    dz/dx = 1, dz/dy = 1 elementwise

The catch: in forward, NumPy broadcast y, using each of its elements several times
(once per row here). An element used several times collects the gradient of every
use: dL/dy is grad_output SUMMED over the axes along which y was broadcast.

NumPy's rules, and so what to sum (for an input of shape `shape`):
  1. the output may have more axes: y was given the missing ones in front; sum
     grad_output over those leading axes (axis=0, as many times as needed);
  2. where the input has size 1 and the output does not, it was stretched: sum over
     that axis, keeping it (keepdims=True).
The result has the input's shape. The same rule works for x, and for scalars (shape ()).

What backward gets: grad_output (a Tensor, the shape of z); ctx.x_shape and
ctx.y_shape, the input shapes. Return (dL/dx, dL/dy).

Write BroadcastAdd.backward, then check it (in your course folder):

    tinygrad-edu exercises check broadcast_add
"""

import tinygrad_edu as tg


class BroadcastAdd(tg.Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.x_shape, ctx.y_shape = x.shape, y.shape  # all that backward needs
        return x.data + y.data

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = dz/dy = 1; then sum over the broadcast axes
        raise NotImplementedError(
            "BroadcastAdd.backward: write the backward. Both derivatives are 1, so "
            "grad_output goes to x and to y -- but first sum it back to ctx.x_shape and to "
            "ctx.y_shape (see the docstring's two rules)")


SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (2, 1)), ((2, 1, 4), (3, 1)),
          ((3, 4), ()), ((), (2, 3))]

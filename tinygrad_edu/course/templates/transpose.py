"""Exercise: the backward of a permutation of the axes.

    y = np.transpose(x, perm)  with perm = (2, 0, 1) here: y's axis i is x's axis
                               perm[i], so x (a, b, c) -> y (c, a, b) and
                               y[k, i, j] = x[i, j, k]

No number changes: each element of x is moved to one place of y. So the gradient of
x_ijk is the gradient of the place it moved to, g[k, i, j] (g = dL/dy): backward moves
every element of grad_output back where it came from. That is the INVERSE
permutation: the one that undoes perm, np.argsort(perm) = (1, 2, 0) here (check it:
output axis i of the inverse takes the axis where perm put x's axis i).

Permuting by perm again is right only for a permutation that is its own inverse (a
swap of two axes, as a matrix's .T); and reshaping grad_output to x's shape gives the
right shape with the elements in the wrong places: a reshape keeps the memory order,
a transpose changes it.

What backward gets: grad_output (a Tensor, the shape of y) and ctx.perm, a tuple.
grad_output.permute(*dims) reorders the axes as np.transpose does. Return dL/dx, the
shape of x.

Write Transpose.backward, then check it (in your course folder):

    tinygrad-edu exercises check transpose
"""

import numpy as np

import tinygrad_edu as tg

PERM = (2, 0, 1)  # the permutation the check uses


class Transpose(tg.Function):
    @staticmethod
    def forward(ctx, x, perm=PERM):
        ctx.perm = perm
        return np.transpose(x.data, perm)

    @staticmethod
    def backward(ctx, grad_output):
        # y = x permuted by perm; x = y permuted by the inverse, np.argsort(perm)
        raise NotImplementedError(
            "Transpose.backward: write the backward. Move each element of grad_output "
            "back where it came from: permute by the permutation that undoes ctx.perm")


# cubes too: there a wrong permutation keeps the right shape, and only the numbers tell
SHAPES = [((2, 3, 4),), ((2, 2, 2),), ((1, 3, 2),), ((3, 3, 3),)]

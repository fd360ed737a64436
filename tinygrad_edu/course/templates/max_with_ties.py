"""Exercise: the backward of the max of all elements, when the max is tied.

    y = max_i x_i        over all elements: one number
    dy/dx_i = 1 for the element that is the max, 0 for the others

With a tie -- two elements equal to the max -- the max has no derivative: raising
either one raises y, lowering one leaves y where it was. The convention (PyTorch's, and
tinygrad_edu's own x.max()) is to share the gradient equally between the tied
elements: each of k tied elements gets grad_output / k.

A finite difference agrees: for two tied elements, (y(x + eps) - y(x - eps)) / 2eps
moves by eps on one side only, so it measures 1/2 for each. That is why this exercise
makes inputs with exactly two tied maxima (INPUTS, below).

What backward gets: grad_output (a 0-d Tensor) and ctx.saved_tensors == (is_max,),
a boolean ndarray of x's shape: True where x equals the max. Return dL/dx.

Write MaxWithTies.backward, then check it (in your course folder):

    tinygrad-edu exercises check max_with_ties
"""

import numpy as np

import tinygrad_edu as tg


class MaxWithTies(tg.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.max(x.data)
        ctx.save_for_backward(x.data == y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx_i = 1/k for each of the k elements equal to the max, 0 elsewhere
        raise NotImplementedError(
            "MaxWithTies.backward: write the backward. is_max (saved) marks the maxima; "
            "each of them gets an equal share of grad_output, the others get 0")


def make_inputs(rng, shapes):
    """Values in [-1, 1], then two elements set to the same, larger max: a two-way tie,
    with every other element far below it (a nudge never changes which are the max)."""
    (shape,) = shapes
    x = rng.uniform(-1.0, 1.0, size=shape)
    first, second = rng.choice(x.size, size=2, replace=False)
    x.flat[first] = x.flat[second] = 1.5
    return [x]


SHAPES = [((5,),), ((3, 4),), ((2, 3, 2),), ((2,),)]
INPUTS = make_inputs

"""Exercise: the backward of picking rows by index, with repeats.

    y = x[INDEX]        INDEX = [0, 2, 2, 1, 2]: x (n, ...) -> y (5, ...)
    y_k = x_{INDEX[k]}  row INDEX[k] of x, copied to row k of y

This is how an embedding layer reads its table: x holds one row per word, and a
sentence picks rows, the same word as often as it occurs. A row of x picked k times
is used k times, and an input used several times collects the gradient of every use:

    dL/dx_r = sum of g_k over every k with INDEX[k] = r       (g = dL/dy)

So row 2 gets g_1 + g_2 + g_4, rows 0 and 1 one gradient each, and a row never picked
(row 3 when n = 4) gets 0.

The trap is NumPy's indexing. grad = np.zeros(x_shape); grad[INDEX] += g does NOT add
the repeats: it reads grad[INDEX], adds g, and writes each row back; a row named three
times is written three times, and the last write wins. np.add.at(grad, INDEX, g) adds
every one (that is why it exists). (With Tensor ops, a one-hot matrix does the same:
onehot[k, r] = 1 where INDEX[k] = r, and dL/dx = onehot.T @ g.)

What backward gets: grad_output (a Tensor (5, ...)), ctx.index and ctx.x_shape.
Return dL/dx, of shape ctx.x_shape (an ndarray will do: the engine wraps it).

Write Gather.backward, then check it (in your course folder):

    tinygrad-edu exercises check gather
"""

import numpy as np

import tinygrad_edu as tg

INDEX = np.array([0, 2, 2, 1, 2])  # row 2 is picked three times


class Gather(tg.Function):
    @staticmethod
    def forward(ctx, x, index=INDEX):
        ctx.index, ctx.x_shape = index, x.shape
        return x.data[index]

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dx_r = the sum of grad_output's rows k with index[k] = r
        raise NotImplementedError(
            "Gather.backward: write the backward. Start from zeros of ctx.x_shape "
            "and add each row of grad_output to the row of x it was picked from -- "
            "all of them, repeats too")


SHAPES = [((3,),), ((4,),), ((3, 2),), ((4, 3),)]

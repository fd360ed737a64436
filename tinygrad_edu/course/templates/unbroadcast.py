"""Exercise: unbroadcast, the gradient of a broadcast (every op's backward calls it).

NumPy combines arrays of different shapes by broadcasting. Its rules:

  1. line the shapes up at the RIGHT end; the shorter one gets size-1 axes in front
         (3, 1) with (2, 3, 4)    ->   (1, 3, 1) with (2, 3, 4)
  2. on each axis the sizes must be equal, or one of them 1: a size 1 is stretched, its
     one value copied, to the other's size
         (1, 3, 1) with (2, 3, 4)  ->   both (2, 3, 4)

So x + y, with x of shape (3, 1) and y of shape (2, 3, 4), used each value of x 2 * 4 =
8 times. Backward goes the other way. Each copy got its own share of the gradient, and a
value used several times collects the gradient of every use (as x in x + x): the
gradient of x is grad, of the broadcast shape, SUMMED back to x's shape (a sum, not a
mean: every copy's share counts in full).

  1. sum over the leading axes that the input lacks, the first grad.ndim - len(shape)
  2. then, on each axis where the input has size 1 and grad does not, sum with
     keepdims=True: the axis stays, with size 1

    grad (2, 3, 4), shape (3, 1):       axis 0 -> (3, 4);  axis 1, kept -> (3, 1)
    grad (5, 2, 3, 4), shape (2, 1, 4): axis 0 -> (2, 3, 4);  axis 1, kept -> (2, 1, 4)
    grad (2, 3), shape (3,):            axis 0 -> (3,)
    grad (2, 3), shape ():              axes 0 and 1 -> (), a single number

(In broadcast_add you summed by hand, for the two inputs of one op. This is the one
helper that the backward of every op whose inputs may broadcast calls: x + y, x * y,
x / y, x ** y, and a @ b over its batch axes.)

What to write: unbroadcast(grad, shape), where grad is an ndarray and shape a tuple, the
shape of an input that broadcasts to grad.shape. Return an ndarray of exactly `shape`.

Write it, then check it (in your course folder):

    tinygrad-edu exercises check unbroadcast
"""

import numpy as np


def unbroadcast(grad, shape):
    """grad, of a broadcast shape, summed back to `shape`."""
    raise NotImplementedError(
        "unbroadcast: write it: sum grad over its first grad.ndim - len(shape) axes, "
        "then over each axis where shape has a 1, with keepdims=True")

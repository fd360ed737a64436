"""Exercise: a gradient check by hand.

For a function f of an array x that returns one number (a loss), the gradient is the
array of partial derivatives df/dx_i, of x's shape. Each one is a central difference in
one entry, with the others held still:

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)        e_i: 1 at entry i, 0 elsewhere

That is 2n evaluations of f for n entries: too slow to train with, and just right to
check a gradient that backward computed. To compare the two, use a relative error
(a difference of 1e-3 is small for gradients near 1000, and large near 0.001):

    relative_error(a, n) = |a - n| / (|a| + |n|)      |.|: the norm, np.linalg.norm

It is 0 for equal gradients, 1/3 when one is twice the other, 1 when they have opposite
signs. In float64, a right gradient gives about 1e-8 or less; (if both are all zeros,
return 0: divide by max(|a| + |n|, 1e-300)).

What to write:

- numeric_gradient(f, x, h): an array of x's shape. Nudge x in place, one entry at a
  time (np.ndindex(x.shape) lists the indices), call f, and put the entry back:
  x must be unchanged when you return.
- relative_error(a, n): the number above.

Write them, then check them (in your course folder):

    tinygrad-edu exercises check gradient_check
"""

import numpy as np


def numeric_gradient(f, x, h=1e-6):
    """df/dx for f(x) -> float, by central differences, entry by entry."""
    raise NotImplementedError(
        "numeric_gradient: write it: for each index i of x, set x[i] = old + h and old - h, "
        "call f, restore x[i] = old, and store the central difference at grad[i]")


def relative_error(a, n):
    """|a - n| / (|a| + |n|), with Euclidean norms."""
    raise NotImplementedError(
        "relative_error: write it with np.linalg.norm, dividing by at least 1e-300")

"""Exercise: a derivative by nudging the input.

The derivative is the limit of a slope: f'(x) = lim_{h -> 0} (f(x + h) - f(x)) / h.
A computer cannot take the limit, but it can take a small h. Which slope to measure
matters. The one-sided difference (f(x + h) - f(x)) / h is off by about h f''(x) / 2
(Taylor: f(x + h) = f(x) + h f'(x) + h^2 f''(x) / 2 + ...). Nudge both ways and the
h^2 terms cancel:

    f(x + h) - f(x - h) = 2h f'(x) + h^3 f'''(x) / 3 + ...

    central difference:  f'(x) ~ (f(x + h) - f(x - h)) / (2h)    error ~ h^2 f'''(x)/6

With h = 1e-4 the one-sided difference is right to about 4 digits, the central one to
about 8. (A smaller h is not always better: f(x + h) - f(x - h) subtracts two nearly
equal numbers, and float64 keeps only 16 digits.)

What to write: central_difference(f, x, h) for a function f of one float x; return the
central difference, a float.

Write it, then check it (in your course folder):

    tinygrad-edu exercises check central_difference
"""


def central_difference(f, x, h=1e-5):
    """The slope of f at x, measured from x - h to x + h."""
    raise NotImplementedError(
        "central_difference: write it: return (f(x + h) - f(x - h)) / (2 * h)")

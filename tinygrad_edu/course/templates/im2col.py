"""Exercise: im2col, every window of an image as one column, and col2im, which adds
the columns back into an image.

A convolution slides a kernel over an image and takes, at every position, the dot
product of the kernel with the window under it. Copy every window into one column of
a matrix, and the whole convolution becomes one matrix product ("image to columns").

    x (N, C, H, W), a kernel of kh x kw, stride s (windows start every s pixels)
    out_h = (H - kh) // s + 1      window positions down (the last starts at H - kh)
    out_w = (W - kw) // s + 1      and across

    cols = im2col(x, kh, kw, s)    (N, C*kh*kw, out_h*out_w)

    cols[n, c*kh*kw + i*kw + j, oh*out_w + ow] = x[n, c, oh*s + i, ow*s + j]

Column oh*out_w + ow holds window (oh, ow), the windows taken row by row. Within a
column, the rows go channel c first, then kernel row i, then kernel column j: the
order in which w.reshape(F, -1) flattens a weight w of shape (F, C, kh, kw). So for
each image n,

    w.reshape(F, -1) @ cols[n]     (F, C*kh*kw) @ (C*kh*kw, out_h*out_w)

is the convolution, (F, out_h*out_w), to reshape to (F, out_h, out_w).

col2im(cols, x_shape, kh, kw, s) goes the other way: an image of x_shape in which each
pixel gets every entry of cols that im2col copied it into, ADDED. Where windows
overlap (a kernel larger than the stride), im2col copied a pixel into several columns,
and backward needs the sum: if the loss depends on k copies of x_t, then dL/dx_t is
the sum of the k gradients of the copies (the chain rule, summed over every path from
x_t to the loss). So dL/dx = col2im(dL/dcols). In matrix words, col2im is im2col's
adjoint, its transpose: for every x and every c of the right shapes,

    sum(im2col(x) * c) == sum(x * col2im(c))      (the check tests this)

How to write them: loop over the kh*kw kernel offsets (i, j), not over the pixels.
Offset (i, j) of every window at once is one strided slice of the image,

    x[:, :, i : i + s*out_h : s, j : j + s*out_w : s]      (N, C, out_h, out_w)

so im2col can fill an array (N, C, kh, kw, out_h, out_w) one slice per offset, then
reshape it; col2im starts from zeros and adds each slice back in place with +=
(one offset's slice never holds a pixel twice, but different offsets do: an = there
would keep only the last window's value). A loop over the windows (oh, ow) is right
too, only slower.

Write im2col and col2im, then check them (in your course folder):

    tinygrad-edu exercises check im2col
"""

import numpy as np


def im2col(x, kh, kw, stride=1):
    """x (N, C, H, W) -> cols (N, C*kh*kw, out_h*out_w): each column one window,
    laid out as the docstring above says."""
    raise NotImplementedError(
        "im2col: write it: work out out_h and out_w, fill an array (N, C, kh, kw, "
        "out_h, out_w) with one strided slice of x per kernel offset (i, j), then "
        "reshape it")


def col2im(cols, x_shape, kh, kw, stride=1):
    """cols (N, C*kh*kw, out_h*out_w) -> an image of x_shape, every entry added back
    into the pixel im2col took it from."""
    raise NotImplementedError(
        "col2im: write it: reshape cols to (N, C, kh, kw, out_h, out_w), start from "
        "np.zeros(x_shape) and, for each kernel offset (i, j), add (+=) its slice back")

"""Exercise: the backward of a 2-D convolution, as two matrix products and a col2im.

    y[n, f, oh, ow] = sum over c, i, j of  w[f, c, i, j] * x[n, c, oh*s + i, ow*s + j]

    x (N, C, H, W), w (F, C, kh, kw) -> y (N, F, out_h, out_w)   (stride s, no padding)

(Deep learning's "convolution" does not flip the kernel: it is a cross-correlation.)
Forward, given below, is im2col and one matrix product per image (exercise im2col):

    cols = im2col(x, kh, kw, s)      (N, K, P)     K = C*kh*kw, P = out_h*out_w
    W = w.reshape(F, K)              (F, K)
    Y[n] = W @ cols[n]               (F, P), reshaped to (F, out_h, out_w)

So backward is the backward of a matrix product (exercise matmul), image by image.
With G[n] = dL/dY[n], that is grad_output[n] reshaped to (F, P):

    dL/dW       = sum over n of G[n] @ cols[n]^T    (F, P) @ (P, K) -> (F, K)
    dL/dcols[n] = W^T @ G[n]                        (K, F) @ (F, P) -> (K, P)
    dL/dx       = col2im(dL/dcols)                  (N, C, H, W)

and dL/dW reshaped to w's shape (F, C, kh, kw) is dL/dw. Three things to see in it:

- dL/dW is a sum over the batch: every image used the same w. (Every window used it
  too: the product over the P windows adds those up already.)
- dL/dx goes back through col2im, which adds: a pixel seen by several windows gets
  the gradient from each of them.
- nothing is flipped: each product sends the gradient back along the very tap it came
  through. (The textbooks' "full convolution of G with the flipped kernel" is this
  same dL/dx, written pixel by pixel.)

NumPy's @ multiplies stacks of matrices: (N, F, P) @ (N, P, K) -> (N, F, K), matrix n
with matrix n, and (K, F) @ (N, F, P) -> (N, K, P), one matrix with each of the N.
cols.transpose(0, 2, 1) transposes every cols[n].

What backward gets: grad_output (a Tensor (N, F, out_h, out_w); grad_output.data is
its array), ctx.saved_tensors == (x, w, cols): the input Tensors and forward's cols
array, and ctx.stride. Compute on arrays (x.data, w.data) and return two arrays,
(dL/dx, dL/dw), each of its input's shape. (im2col and col2im are NumPy functions, so
this backward cannot be differentiated again; tg.nn.Conv2d's has a second path, of
Tensor ops, for that.)

im2col and col2im below are the library's own, the ones tg.nn.Conv2d uses, with the
layout of exercise im2col. To run on yours instead, delete the two functions and
import them from your file in this folder: `from im2col import col2im, im2col`.

The grader checks conv2d(x, w), at the bottom: Conv2d with the stride of each case.

Write Conv2d.backward, then check it (in your course folder):

    tinygrad-edu exercises check conv2d
"""

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.nn.conv import _col2im, _geometry, _im2col


def _windows(image_hw, kh, kw, stride):
    """The library's description of the windows: no padding, no dilation."""
    return _geometry("conv2d", image_hw, (kh, kw), stride, 0, 1)


def im2col(x, kh, kw, stride=1):
    """x (N, C, H, W) -> cols (N, C*kh*kw, out_h*out_w), one window per column."""
    return _im2col(x, _windows(x.shape[2:], kh, kw, stride))


def col2im(cols, x_shape, kh, kw, stride=1):
    """cols (N, C*kh*kw, out_h*out_w) -> an image of x_shape, overlaps added up."""
    return _col2im(cols, x_shape, _windows(x_shape[2:], kh, kw, stride))


class Conv2d(tg.Function):
    @staticmethod
    def forward(ctx, x, w, *, stride=1):
        if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
            raise ValueError(f"conv2d: needs x (N, C, H, W) and w (F, C, kh, kw) with "
                             f"the same C, got {x.shape} and {w.shape}")
        n, f, (kh, kw) = x.shape[0], w.shape[0], w.shape[2:]
        out_h, out_w = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
        cols = im2col(x.data, kh, kw, stride)  # (N, K, P)
        y = w.data.reshape(f, -1) @ cols       # (F, K) @ (N, K, P) -> (N, F, P)
        ctx.save_for_backward(x, w, cols)
        ctx.stride = stride
        return y.reshape(n, f, out_h, out_w)

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dW = sum over n of G[n] @ cols[n]^T,  dL/dx = col2im(W^T @ G)
        raise NotImplementedError(
            "Conv2d.backward: write the backward. Reshape grad_output to G (N, F, P); "
            "dL/dw = (G @ cols^T) summed over the batch, reshaped to w's shape; "
            "dL/dx = col2im(W^T @ G, x's shape, kh, kw, ctx.stride). Return (dL/dx, "
            "dL/dw)")


# The cases the grader checks: (x's shape, w's shape, stride). Two images and two or
# three filters each; every kernel larger than its stride, so that windows overlap.
CASES = [
    ((2, 1, 5, 5), (2, 1, 3, 3), 1),
    ((2, 2, 4, 5), (3, 2, 2, 3), 1),
    ((2, 2, 7, 7), (2, 2, 3, 3), 2),
    ((2, 1, 8, 7), (2, 1, 3, 2), 2),
]
SHAPES = [(x_shape, w_shape) for x_shape, w_shape, _ in CASES]
STRIDES = {(x_shape, w_shape): stride for x_shape, w_shape, stride in CASES}


def conv2d(x, w):
    """What the grader checks: Conv2d with the stride of the case (else 1)."""
    return Conv2d.apply(x, w, stride=STRIDES.get((tuple(x.shape), tuple(w.shape)), 1))

"""Convolutions and pooling: im2col and one matrix product.

Why a convolution is a matrix product. Output pixel (oh, ow) of output channel o is

    y[n, o, oh, ow] = b[o] + sum over c, i, j of  w[o, c, i, j] * xp[n, c, oh*s + i*d, ow*s + j*d]

(xp the zero-padded input, s the stride, d the dilation). Copy, for every output pixel
p = (oh, ow), the C_in * kH * kW input values its window sees into one column of a
matrix `cols` of shape (K, P), K = C_in*kH*kW rows and P = OH*OW columns: that copy is
"im2col". Flatten the weight to W of shape (C_out, K). Then the sum above is exactly
the matrix product

    y[n] = W @ cols[n]            (C_out, K) @ (K, P) -> (C_out, P)

and all the work of a convolution goes into one BLAS call. The copy costs memory
(each input pixel appears in up to kH*kW columns) but no arithmetic.

Backward follows from the matrix product, dL/dY = G[n] of shape (C_out, P):

    dL/dW    = sum over n of G[n] @ cols[n]^T          (the cols saved from forward)
    dL/dcols = W^T @ G[n]                              (K, P)
    dL/dx    = col2im(dL/dcols)

col2im is the backward of im2col. im2col copied each input pixel into every column
whose window covers it; the chain rule adds up the gradients of all those copies. So
col2im sends every entry of dL/dcols back to the pixel it was copied from and *adds*
where windows overlap. Row (c, i, j) of cols, over all P columns, is the input slice
xp[:, c, i*d : ... : s, j*d : ... : s] (the kernel offset (i, j) seen by every window
at once), so col2im is a loop over the kH*kW kernel offsets only, each adding a whole
slice, never a loop over pixels.

Pooling uses the same slices: max pooling keeps the largest of the kH*kW values each
window sees, average pooling their mean.

Layout notes, for speed: `cols` is (N, K, P), each sample's (K, P) block contiguous, so
that the product with W is one batched BLAS call reading memory in order, and the
output comes out directly as (N, C_out, OH, OW) with no transpose copy. Grouped
convolutions are not supported.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import ops
from ..dtypes import get_default_dtype
from ..engine import Function
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

# ---------------------------------------------------------------------------------------
# geometry (`geo` below; `g` is a gradient elsewhere): sizes, checks, slices, windows
# ---------------------------------------------------------------------------------------

# kernel (kh, kw), stride, padding, dilation (each a pair), the output size (oh, ow)
Geometry = namedtuple("Geometry", "kh kw sh sw ph pw dh dw oh ow")


def _tuple(value, n: int, name: str, op: str) -> tuple:
    """An int, or n ints, as a tuple of n Python ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    if (isinstance(value, (tuple, list)) and len(value) == n
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                    for v in value)):
        return tuple(int(v) for v in value)
    raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")


def _resolve_padding(op: str, padding, kernel, stride, dilation, n: int):
    """padding='valid' (none) or 'same' (the output as large as the input) as numbers.

    'same' pads d*(k - 1) / 2 zeros on each side, for stride 1 only, as PyTorch; an odd
    total d*(k - 1) would need one more zero on one side than on the other, which is not
    supported here (PyTorch pads the extra zero on the right).
    """
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return 0
    if padding != "same":
        raise ValueError(f"{op}: padding must be an int, a tuple of ints, 'valid' or 'same', "
                         f"got {padding!r}")
    if _tuple(stride, n, "stride", op) != (1,) * n:
        raise ValueError(f"{op}: padding='same' needs stride 1 (with stride {stride} the "
                         "output is smaller than the input whatever the padding); give the "
                         "padding as a number")
    totals = [d * (k - 1) for k, d in zip(_tuple(kernel, n, "kernel_size", op),
                                          _tuple(dilation, n, "dilation", op))]
    if any(total % 2 for total in totals):
        raise ValueError(f"{op}: padding='same' with kernel_size {kernel} and dilation "
                         f"{dilation} needs {totals} zeros in all along each axis, which "
                         "cannot be split evenly between the two sides: use an odd "
                         "kernel_size, or explicit padding")
    return tuple(total // 2 for total in totals)


def _geometry(op: str, in_hw, kernel, stride, padding, dilation) -> Geometry:
    """Check the options against the (padded) input size and work out the output size.

    Along each axis: out = floor((in + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1,
    the number of window positions that fit, the window spanning dilation*(kernel-1) + 1.
    """
    n = len(in_hw)
    kernel = _tuple(kernel, n, "kernel_size", op)
    stride = _tuple(stride, n, "stride", op)
    padding = _tuple(padding, n, "padding", op)
    dilation = _tuple(dilation, n, "dilation", op)
    for name, values, low in (("kernel_size", kernel, 1), ("stride", stride, 1),
                              ("dilation", dilation, 1), ("padding", padding, 0)):
        if min(values) < low:
            raise ValueError(f"{op}: {name} must be {'positive' if low else 'non-negative'}, "
                             f"got {values if n > 1 else values[0]}")
    out = []
    for size, k, s, p, d in zip(in_hw, kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        if size + 2 * p < span:
            spans = [di * (ki - 1) + 1 for ki, di in zip(kernel, dilation)]
            raise ValueError(
                f"{op}: the kernel {_fmt(kernel)} (spanning {_fmt(spans)} with dilation "
                f"{_fmt(dilation)}) is larger than the padded input "
                f"{_fmt(hw + 2 * pi for hw, pi in zip(in_hw, padding))} (input "
                f"{_fmt(in_hw)}, padding {_fmt(padding)} on each side): use a smaller "
                "kernel, more padding or a larger input")
        out.append((size + 2 * p - span) // s + 1)
    if n == 1:  # conv1d: a 2-D problem of height 1
        return Geometry(1, kernel[0], 1, stride[0], 0, padding[0], 1, dilation[0], 1, out[0])
    return Geometry(*kernel, *stride, *padding, *dilation, *out)


def _fmt(values) -> str:
    """(3, 3) -> "3x3"."""
    return "x".join(map(str, values))


def _pad(x: np.ndarray, geo: Geometry, value=0) -> np.ndarray:
    """x (N, C, H, W) with `value` around its last two axes (no copy when no padding)."""
    if not (geo.ph or geo.pw):
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * geo.ph, w + 2 * geo.pw), value, dtype=x.dtype)
    xp[:, :, geo.ph:geo.ph + h, geo.pw:geo.pw + w] = x
    return xp


def _unpad(xp: np.ndarray, geo: Geometry) -> np.ndarray:
    if not (geo.ph or geo.pw):
        return xp
    return xp[:, :, geo.ph:xp.shape[2] - geo.ph, geo.pw:xp.shape[3] - geo.pw]


def _offset(geo: Geometry, i: int, j: int) -> tuple:
    """The slice of the padded input that kernel offset (i, j) sees, over every window:
    rows i*d, i*d + s, ..., one per output row (and the same for columns)."""
    top, left = i * geo.dh, j * geo.dw
    return (slice(None), slice(None), slice(top, top + geo.sh * (geo.oh - 1) + 1, geo.sh),
            slice(left, left + geo.sw * (geo.ow - 1) + 1, geo.sw))


def _offsets(geo: Geometry):
    """Every kernel offset (i, j), row by row: the scan order of a window."""
    return [(i, j) for i in range(geo.kh) for j in range(geo.kw)]


def _im2col(x: np.ndarray, geo: Geometry) -> np.ndarray:
    """cols (N, C*kh*kw, OH*OW): column p of sample n holds the window of output pixel p.

    A strided view does the gathering without a loop: element (n, c, i, j, oh, ow) of the
    view sits at xp[n, c, oh*s + i*d, ow*s + j*d], so its strides are the input's strides
    times d (for i, j) and times s (for oh, ow). One copy then makes it contiguous.
    """
    xp = _pad(x, geo)
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.strides
    windows = as_strided(xp, (n, c, geo.kh, geo.kw, geo.oh, geo.ow),
                         (sn, sc, sh * geo.dh, sw * geo.dw, sh * geo.sh, sw * geo.sw),
                         writeable=False)
    return np.ascontiguousarray(windows).reshape(n, c * geo.kh * geo.kw, geo.oh * geo.ow)


def _col2im(dcols: np.ndarray, x_shape: tuple, geo: Geometry) -> np.ndarray:
    """The backward of im2col: each column entry added back to the pixel it came from.

    dcols (N, C*kh*kw, OH*OW) -> (N, C, H, W). Overlapping windows copied a pixel more
    than once, so its gradient is the sum over those copies: one `+=` of a whole slice
    per kernel offset (a plain `+=`, not np.add.at: within one offset's slice no pixel
    repeats, so nothing is lost).
    """
    n, c, h, w = x_shape
    dcols = dcols.reshape(n, c, geo.kh, geo.kw, geo.oh, geo.ow)
    dxp = np.zeros((n, c, h + 2 * geo.ph, w + 2 * geo.pw), dtype=dcols.dtype)
    for i, j in _offsets(geo):
        dxp[_offset(geo, i, j)] += dcols[:, :, i, j]
    return _unpad(dxp, geo)


def _check_conv(op: str, x_shape: tuple, w_shape: tuple, bias_shape, stride, padding,
                dilation) -> Geometry:
    """The errors a convolution can meet, in the words of `op` (conv1d or conv2d)."""
    dims = "(N, C_in, L)" if op == "conv1d" else "(N, C_in, H, W)"
    wdims = "(C_out, C_in, k)" if op == "conv1d" else "(C_out, C_in, kH, kW)"
    rank = 3 if op == "conv1d" else 4
    if len(x_shape) != rank:
        raise ValueError(f"{op}: the input must have {rank} axes {dims}, got shape {x_shape}"
                         + (": add a batch axis with x.reshape(1, *x.shape)"
                            if len(x_shape) == rank - 1 else ""))
    if len(w_shape) != rank:
        raise ValueError(f"{op}: the weight must have {rank} axes {wdims}, got shape "
                         f"{w_shape}")
    if x_shape[1] != w_shape[1]:
        raise ValueError(f"{op}: the input of shape {x_shape} has {x_shape[1]} channels (axis "
                         f"1) but the weight of shape {w_shape} expects {w_shape[1]} (its "
                         "axis 1, in_channels): they must be equal")
    if bias_shape is not None and tuple(bias_shape) != (w_shape[0],):
        raise ValueError(f"{op}: bias of shape {tuple(bias_shape)} does not fit a weight of "
                         f"shape {w_shape}: it needs shape ({w_shape[0]},), one per output "
                         "channel")
    return _geometry(op, x_shape[2:], w_shape[2:], stride, padding, dilation)


# ---------------------------------------------------------------------------------------
# convolution: three ops, each one's backward made of the others
#
# conv(x, w) is linear in x and linear in w. Writing <a, b> for sum(a * b):
#   <G, conv(x, w)> = <input_grad(G, w), x> = <weight_grad(x, G), w>
# which is what "input_grad is the gradient with respect to x" means. Every derivative
# of the three ops is then again one of the three, so backward(create_graph=True) can go
# on to any order.
# ---------------------------------------------------------------------------------------


class Convolution2d(Function):
    """y[n, o] = b[o] + sum over c, i, j of w[o, c, i, j] * xp[n, c, s*oh + d*i, s*ow + d*j]

    x (N, C_in, H, W), w (C_out, C_in, kH, kW), b (C_out,) -> y (N, C_out, OH, OW);
    computed as y[n] = W @ cols[n] (see the module docstring).
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride=1, padding=0, dilation=1):
        xd, wd = x.data, weight.data
        geo = _check_conv("conv2d", xd.shape, wd.shape, None if bias is None else bias.shape,
                        stride, padding, dilation)
        ctx.geometry = geo
        cols = _im2col(xd, geo)                                   # (N, K, P)
        out = np.matmul(wd.reshape(wd.shape[0], -1), cols)      # (C_out, K) @ -> (N, C_out, P)
        if bias is not None:
            out += bias.data[:, None]
        # keep cols for dL/dW (unless the weight needs no gradient): rebuilding it in
        # backward would cost a second im2col copy
        ctx.save_for_backward(x, weight, cols if ctx.needs_input_grad[1] else None)
        return out.reshape(xd.shape[0], wd.shape[0], geo.oh, geo.ow)

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dx = input_grad(G, w) (col2im of W^T G), dL/dw = sum_n G[n] cols[n]^T,
        # dL/db = sum of G over the batch and the pixels
        x, weight, cols = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        need_b = len(ctx.needs_input_grad) == 3 and ctx.needs_input_grad[2]  # bias given?
        geo = ctx.geometry
        if not ctx.create_graph:  # the usual backward: on arrays, reusing cols
            gd = grad_output.data
            n, c_out = gd.shape[:2]
            g2 = gd.reshape(n, c_out, -1)                              # (N, C_out, P)
            grad_x = grad_w = grad_b = None
            if need_x:  # skipped for the first layer: its input is data
                grad_x = Tensor._make(_input_grad_arrays(g2, weight.data, x.shape, geo),
                                      False, None)
            if need_w:
                grad_w = Tensor._make(_weight_grad_arrays(cols, g2, weight.shape), False, None)
            if need_b:
                grad_b = Tensor._make(g2.sum(axis=(0, 2)), False, None)
            return (grad_x, grad_w, grad_b)[:len(ctx.inputs)]  # one per input, bias or not
        # create_graph=True: the same, as recorded ops
        options = _conv_options(geo)
        grad_x = (Conv2dInputGrad.apply(grad_output, weight, x_shape=x.shape, **options)
                  if need_x else None)
        grad_w = (Conv2dWeightGrad.apply(x, grad_output, kernel_size=weight.shape[2:], **options)
                  if need_w else None)
        grad_b = grad_output.sum(axis=(0, 2, 3)) if need_b else None
        return (grad_x, grad_w, grad_b)[:len(ctx.inputs)]


def _conv_options(geo: Geometry) -> dict:
    """stride, padding and dilation of `geo` as the keyword options of the conv ops."""
    return dict(stride=(geo.sh, geo.sw), padding=(geo.ph, geo.pw), dilation=(geo.dh, geo.dw))


def _input_grad_arrays(g2: np.ndarray, wd: np.ndarray, x_shape: tuple, geo: Geometry):
    """dL/dx = col2im(W^T @ G[n]): g2 (N, C_out, P), wd (C_out, C_in, kH, kW)."""
    dcols = np.matmul(wd.reshape(wd.shape[0], -1).T, g2)        # (N, K, P)
    return np.ascontiguousarray(_col2im(dcols, x_shape, geo))   # (a copy only if padded)


def _weight_grad_arrays(cols: np.ndarray, g2: np.ndarray, w_shape: tuple):
    """dL/dW = sum over n of G[n] @ cols[n]^T: g2 (N, C_out, P), cols (N, K, P).

    One batched product (cols[n]^T is a transposed view: BLAS reads it in place), then
    the sum over the batch of N small (C_out, K) matrices.
    """
    return np.matmul(g2, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w_shape)


class Conv2dInputGrad(Function):
    """dx = col2im(W^T @ G): the gradient of a convolution with respect to its input
    (a transposed convolution), as an op of its own so that it can be differentiated.

    G (N, C_out, OH, OW), w (C_out, C_in, kH, kW) -> dx of shape `x_shape`.
    """

    @staticmethod
    def forward(ctx, grad, weight, *, x_shape, stride, padding, dilation):
        geo = _geometry("conv2d", x_shape[2:], weight.shape[2:], stride, padding, dilation)
        ctx.geometry = geo
        ctx.save_for_backward(grad, weight)
        gd = grad.data
        return _input_grad_arrays(gd.reshape(gd.shape[0], gd.shape[1], -1), weight.data,
                                  tuple(x_shape), geo)

    @staticmethod
    def backward(ctx, grad_output):
        # dx is linear in G and in w: <U, input_grad(G, w)> = <G, conv(U, w)>
        #                                                   = <weight_grad(U, G), w>
        grad, weight = ctx.saved_tensors
        need_g, need_w = ctx.needs_input_grad
        options = _conv_options(ctx.geometry)
        return (Convolution2d.apply(grad_output, weight, **options) if need_g else None,
                Conv2dWeightGrad.apply(grad_output, grad, kernel_size=weight.shape[2:],
                                       **options) if need_w else None)


class Conv2dWeightGrad(Function):
    """dW = sum over n of G[n] @ cols(x)[n]^T: the gradient of a convolution with respect
    to its weight, as an op of its own so that it can be differentiated.

    x (N, C_in, H, W), G (N, C_out, OH, OW) -> dW (C_out, C_in, kH, kW).
    """

    @staticmethod
    def forward(ctx, x, grad, *, kernel_size, stride, padding, dilation):
        geo = _geometry("conv2d", x.shape[2:], kernel_size, stride, padding, dilation)
        ctx.geometry = geo
        ctx.save_for_backward(x, grad)
        gd = grad.data
        n, c_out = gd.shape[:2]
        return _weight_grad_arrays(_im2col(x.data, geo), gd.reshape(n, c_out, -1),
                                   (c_out, x.shape[1], geo.kh, geo.kw))

    @staticmethod
    def backward(ctx, grad_output):
        # dW is linear in x and in G: <V, weight_grad(x, G)> = <G, conv(x, V)>
        #                                                    = <input_grad(G, V), x>
        x, grad = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad
        options = _conv_options(ctx.geometry)
        return (Conv2dInputGrad.apply(grad, grad_output, x_shape=x.shape, **options)
                if need_x else None,
                Convolution2d.apply(x, grad_output, **options) if need_g else None)


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch), one im2col and one matrix product.

    y[n, o, oh, ow] = b[o] + sum_{c, i, j} w[o, c, i, j] * xp[n, c, oh*sH + i*dH, ow*sW + j*dW]

    with xp the input zero-padded by `padding` on each side.

    Args:
        input: (N, C_in, H, W), or (C_in, H, W) for one image.
        weight: (C_out, C_in, kH, kW).
        bias: (C_out,) or None.
        stride: an int or an (along H, along W) pair.
        padding: zeros added on each side: an int or a pair; or 'valid' (none) or
            'same' (the output as large as the input; stride 1, odd kernels).
        dilation: the spacing of the kernel's taps: an int or a pair.

    Returns:
        (N, C_out, OH, OW) with OH = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1
        (likewise OW); (C_out, OH, OW) for an unbatched input.
    """
    x = _as_tensor(input)
    if x.ndim == 3:  # one image, as PyTorch allows: add the batch axis and take it off again
        if weight.ndim == 4 and x.shape[0] != weight.shape[1]:
            raise ValueError(
                f"conv2d: the unbatched input of shape {x.shape} (C_in, H, W) has "
                f"{x.shape[0]} channels (axis 0) but the weight of shape {weight.shape} "
                f"expects {weight.shape[1]} (its axis 1, in_channels); a batch of images "
                "has 4 axes (N, C_in, H, W)")
        return conv2d(x.reshape(1, *x.shape), weight, bias, stride, padding,
                      dilation).reshape(weight.shape[0], *_out_hw(x, weight, stride, padding,
                                                                  dilation))
    padding = _resolve_padding("conv2d", padding, tuple(weight.shape[2:]), stride, dilation,
                               2)
    return Convolution2d.apply(x, weight, bias, stride=stride, padding=padding,
                               dilation=dilation)


def _out_hw(x, weight, stride, padding, dilation) -> tuple:
    geo = _geometry("conv2d", x.shape[1:], weight.shape[2:], stride, padding, dilation)
    return geo.oh, geo.ow


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1) -> Tensor:
    """1-D convolution: conv2d on images of height 1.

    y[n, o, l] = b[o] + sum_{c, j} w[o, c, j] * xp[n, c, l*s + j*d]

    Args:
        input: (N, C_in, L), or (C_in, L) for one signal.
        weight: (C_out, C_in, k).
        bias: (C_out,) or None.
        stride: an int (or a 1-tuple).
        padding: zeros added at each end: an int (or a 1-tuple), 'valid' or 'same'.
        dilation: the spacing of the kernel's taps: an int (or a 1-tuple).

    Returns:
        (N, C_out, L_out), L_out = floor((L + 2p - d (k - 1) - 1) / s) + 1.
    """
    x = _as_tensor(input)
    if x.ndim == 2:  # one signal (C_in, L), as PyTorch allows
        out = conv1d(x.reshape(1, *x.shape), weight, bias, stride, padding, dilation)
        return out.reshape(out.shape[1:])
    padding = _resolve_padding("conv1d", padding, tuple(weight.shape[2:]), stride, dilation,
                               1)
    geo = _check_conv("conv1d", x.shape, weight.shape, None if bias is None else bias.shape,
                      stride, padding, dilation)
    n, c, length = x.shape
    out = Convolution2d.apply(x.reshape(n, c, 1, length), weight.reshape(*weight.shape[:2], 1,
                                                                          weight.shape[2]),
                              bias, stride=(1, geo.sw), padding=(0, geo.pw),
                              dilation=(1, geo.dw))
    return out.reshape(n, weight.shape[0], geo.ow)


# ---------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------


def _check_pool(op: str, x_shape: tuple, kernel_size, stride, padding) -> Geometry:
    if len(x_shape) != 4:
        raise ValueError(f"{op}: the input must have 4 axes (N, C, H, W), or 3 for one image "
                         f"(C, H, W), got shape {x_shape}")
    stride = kernel_size if stride is None else stride
    geo = _geometry(op, x_shape[2:], kernel_size, stride, padding, 1)
    if 2 * geo.ph > geo.kh or 2 * geo.pw > geo.kw:
        raise ValueError(f"{op}: padding {(geo.ph, geo.pw)} is more than half the kernel "
                         f"{(geo.kh, geo.kw)}: a window could then see only padding (PyTorch "
                         "refuses this too); use padding <= kernel_size // 2")
    return geo


class MaxPooling2d(Function):
    """y[n, c, oh, ow] = max over the window of xp[n, c, oh*s + i, ow*s + j]
    (xp padded with -inf; a real element beats padding even when it is -inf itself)

    The gradient goes to one element per window, the one whose value was taken. Ties:
    the window is scanned row by row (i, then j) and an element replaces the running
    maximum only if it is strictly larger, so the *first* maximum in scan order gets the
    gradient, as in PyTorch. A NaN always replaces the running maximum (so the output is
    NaN and the last NaN in the window gets the gradient, again as PyTorch's CPU code).
    Where windows overlap (stride < kernel), an element that is the maximum of several
    windows receives the sum of their gradients.
    """

    @staticmethod
    def forward(ctx, x, *, kernel_size, stride=None, padding=0):
        xd = x.data
        geo = _check_pool("max_pool2d", xd.shape, kernel_size, stride, padding)
        xp = _pad(xd, geo, -np.inf)
        best = xp[_offset(geo, 0, 0)].copy()
        where = np.zeros(best.shape, dtype=np.int32)  # which offset (i*kW + j) won
        if geo.ph or geo.pw:  # which positions are real: any of them beats padding, even -inf
            real = _pad(np.ones(xd.shape, dtype=bool), geo, False)
            best_is_real = real[_offset(geo, 0, 0)].copy()
        for k, (i, j) in enumerate(_offsets(geo)[1:], start=1):
            candidate = xp[_offset(geo, i, j)]
            better = candidate > best
            better |= np.isnan(candidate)
            if geo.ph or geo.pw:
                candidate_is_real = real[_offset(geo, i, j)]
                better |= candidate_is_real & ~best_is_real
                best_is_real |= better & candidate_is_real
            np.copyto(best, candidate, where=better)
            where[better] = k
        ctx.geometry, ctx.where = geo, where
        return best

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1 at the element each window took, 0 elsewhere: route each gradient there
        (x,) = ctx.inputs
        geo, where = ctx.geometry, ctx.where
        if not ctx.create_graph:  # the usual backward: on arrays
            gd = grad_output.data
            n, c, h, w = x.shape
            dxp = np.zeros((n, c, h + 2 * geo.ph, w + 2 * geo.pw), dtype=gd.dtype)
            for k, (i, j) in enumerate(_offsets(geo)):
                # one += per offset: overlapping windows add up, one statement at a time
                dxp[_offset(geo, i, j)] += gd * (where == k)
            return Tensor._make(np.ascontiguousarray(_unpad(dxp, geo)), False, None)
        # create_graph=True: the same routing as recorded ops, through the flat position
        # in the padded input of each window's winner (IndexAdd's backward gathers)
        n, c, h, w = x.shape
        hp, wp = h + 2 * geo.ph, w + 2 * geo.pw
        rows = np.arange(geo.oh)[:, None] * geo.sh + where // geo.kw
        cols = np.arange(geo.ow)[None, :] * geo.sw + where % geo.kw
        planes = np.arange(n * c).reshape(n, c, 1, 1)
        flat = ((planes * hp + rows) * wp + cols).ravel()
        dxp = ops.IndexAdd.apply(grad_output.reshape(-1), index=(flat,), shape=(n * c * hp * wp,))
        dxp = dxp.reshape(n, c, hp, wp)
        return dxp[:, :, geo.ph:geo.ph + h, geo.pw:geo.pw + w] if (geo.ph or geo.pw) else dxp


class AvgPooling2d(Function):
    """y[n, c, oh, ow] = (1 / count) * sum over the window of xp[n, c, oh*s + i, ow*s + j]

    xp zero-padded. count = kH*kW when the padding counts (count_include_pad=True,
    PyTorch's default), else the number of real elements in the window.
    """

    @staticmethod
    def forward(ctx, x, *, kernel_size, stride=None, padding=0, count_include_pad=True):
        geo = _check_pool("avg_pool2d", x.shape, kernel_size, stride, padding)
        ctx.geometry, ctx.count_include_pad = geo, count_include_pad
        return _avg_pool_arrays(x.data, geo, count_include_pad)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1/count for every element of the window: spread the gradient evenly
        (x,) = ctx.inputs
        geo = ctx.geometry
        return AvgPooling2dGrad.apply(grad_output, x_shape=x.shape,
                                      kernel_size=(geo.kh, geo.kw), stride=(geo.sh, geo.sw),
                                      padding=(geo.ph, geo.pw),
                                      count_include_pad=ctx.count_include_pad)


def _window_shares(geo: Geometry, count_include_pad: bool, dtype, in_hw: tuple) -> np.ndarray:
    """1 / count for each window, (OH, OW): the weight of each element in its mean."""
    if count_include_pad or not (geo.ph or geo.pw):
        return np.asarray(1 / (geo.kh * geo.kw), dtype=dtype)
    real = _pad(np.ones((1, 1, *in_hw), dtype=dtype), geo)  # 1 on the input, 0 on padding
    counts = sum(real[_offset(geo, i, j)] for i, j in _offsets(geo))[0, 0]
    return (1 / counts).astype(dtype)


def _avg_pool_arrays(x: np.ndarray, geo: Geometry, count_include_pad: bool = True) -> np.ndarray:
    xp = _pad(x, geo)
    total = xp[_offset(geo, 0, 0)].copy()
    for i, j in _offsets(geo)[1:]:
        total += xp[_offset(geo, i, j)]
    total *= _window_shares(geo, count_include_pad, total.dtype, x.shape[2:])
    return total


class AvgPooling2dGrad(Function):
    """dx = each gradient spread evenly, 1/count each, over its window (the backward of
    average pooling, as an op so that it can be differentiated: it is linear, and its own
    backward is average pooling again)."""

    @staticmethod
    def forward(ctx, grad, *, x_shape, kernel_size, stride, padding, count_include_pad=True):
        geo = _check_pool("avg_pool2d", tuple(x_shape), kernel_size, stride, padding)
        ctx.geometry, ctx.count_include_pad = geo, count_include_pad
        n, c, h, w = x_shape
        share = grad.data * _window_shares(geo, count_include_pad, grad.dtype, (h, w))
        dxp = np.zeros((n, c, h + 2 * geo.ph, w + 2 * geo.pw), dtype=share.dtype)
        for i, j in _offsets(geo):
            dxp[_offset(geo, i, j)] += share
        return np.ascontiguousarray(_unpad(dxp, geo))

    @staticmethod
    def backward(ctx, grad_output):
        # <U, spread(G)> = <avg_pool(U), G>
        geo = ctx.geometry
        return AvgPooling2d.apply(grad_output, kernel_size=(geo.kh, geo.kw),
                                  stride=(geo.sh, geo.sw), padding=(geo.ph, geo.pw),
                                  count_include_pad=ctx.count_include_pad)


def _unbatched(pool, x: Tensor, *args) -> Tensor:
    """Pool one (C, H, W) image, as PyTorch allows: add the batch axis and take it off."""
    out = pool(x.reshape(1, *x.shape), *args)
    return out.reshape(out.shape[1:])


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Largest value of each kH x kW window: y = max_{i, j} xp[n, c, oh*sH + i, ow*sW + j].

    Args:
        input: (N, C, H, W), or (C, H, W) for one image.
        kernel_size: an int or a pair.
        stride: an int or a pair; None (the default) means kernel_size, windows that
            tile the input without overlapping.
        padding: -inf added on each side (at most half the kernel).

    The gradient of each window goes to the first maximum in the window's row-by-row
    scan order (see `MaxPooling2d`).
    """
    x = _as_tensor(input)
    if x.ndim == 3:
        return _unbatched(max_pool2d, x, kernel_size, stride, padding)
    return MaxPooling2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0,
               count_include_pad: bool = True) -> Tensor:
    """Mean of each kH x kW window: y = (1 / count) sum_{i, j} xp[n, c, oh*sH + i, ow*sW + j].

    Args:
        input: (N, C, H, W), or (C, H, W) for one image.
        kernel_size: an int or a pair.
        stride: an int or a pair; None (the default) means kernel_size.
        padding: zeros added on each side.
        count_include_pad: count = kH*kW, padding included (True, the default, as
            PyTorch), or only the real elements of the window (False).
    """
    x = _as_tensor(input)
    if x.ndim == 3:
        return _unbatched(avg_pool2d, x, kernel_size, stride, padding, count_include_pad)
    return AvgPooling2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                              count_include_pad=bool(count_include_pad))


# ---------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------


class _ConvNd(Module):
    """What Conv1d and Conv2d share: checks, parameters, PyTorch's initialisation, repr."""

    _dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, bias=True, dtype=None):
        super().__init__()
        name = type(self).__name__
        for label, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"{name}: {label} must be a positive int, got {n!r}")
        op = name.lower()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _tuple(kernel_size, self._dims, "kernel_size", op)
        self.stride = _tuple(stride, self._dims, "stride", op)
        self.dilation = _tuple(dilation, self._dims, "dilation", op)
        # 'valid' or 'same' are kept as given (as PyTorch) and checked now
        self.padding = padding if isinstance(padding, str) else _tuple(padding, self._dims,
                                                                       "padding", op)
        numbers = _tuple(_resolve_padding(op, padding, self.kernel_size, self.stride,
                                          self.dilation, self._dims), self._dims, "padding", op)
        for label, values, low in (("kernel_size", self.kernel_size, 1),
                                   ("stride", self.stride, 1),
                                   ("dilation", self.dilation, 1),
                                   ("padding", numbers, 0)):
            if min(values) < low:
                raise ValueError(f"{name}: {label} must be "
                                 f"{'positive' if low else 'non-negative'}, got {values}")
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        # PyTorch's default: kaiming_uniform_ with a = sqrt(5), which is
        # U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels * kernel area
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            self.bias = init.uniform_(Parameter(np.empty(self.out_channels, dtype=dtype)),
                                      -bound, bound)
        else:
            self.bias = None

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            text += f", padding={self.padding}"  # (a string unquoted, as PyTorch prints it)
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution layer: y = conv2d(x, weight, bias) (see `conv2d`).

    weight has shape (out_channels, in_channels, kH, kW) and bias (out_channels,), as in
    PyTorch, initialised as PyTorch does: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    fan_in = in_channels * kH * kW (kaiming_uniform_ with a = sqrt(5)), drawn from
    `tg.generator()`. x is (N, in_channels, H, W).
    """

    _dims = 2

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class Conv1d(_ConvNd):
    """1-D convolution layer: y = conv1d(x, weight, bias) (see `conv1d`).

    weight (out_channels, in_channels, k), bias (out_channels,), initialised as Conv2d's
    with fan_in = in_channels * k. x is (N, in_channels, L).
    """

    _dims = 1

    def forward(self, x: Tensor) -> Tensor:
        return conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        # the options are checked now, not at the first call
        _geometry(type(self).__name__, (1 << 30, 1 << 30), kernel_size, self.stride,
                  padding, 1)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling layer: y = max_pool2d(x, kernel_size, stride, padding); stride
    defaults to kernel_size. The gradient goes to the first maximum of each window."""

    def extra_repr(self) -> str:  # (PyTorch's, whose dilation and ceil_mode are fixed here)
        return super().extra_repr() + ", dilation=1, ceil_mode=False"

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Average pooling layer: y = avg_pool2d(x, kernel_size, stride, padding,
    count_include_pad); stride defaults to kernel_size; by default zero padding counts in
    the mean."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.count_include_pad else
                                       ", count_include_pad=False")

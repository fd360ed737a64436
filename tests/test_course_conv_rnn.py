"""The course's stages 6 and 7: im2col and col2im, the backward of conv2d, and
backpropagation through time.

Each exercise is solved here as a student would (course_helpers.solve writes the
template with the `raise NotImplementedError(...)` replaced by a body below), then
graded. The reference solutions must pass with no hint; each classic mistake must fail
and be named by its hint, and by no other; the untouched template must fail as "not
written yet". The reference solutions live here only, never in the package.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from course_helpers import grade, solve

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import course, grader
from tinygrad_edu.course import convolution, recurrence
from tinygrad_edu.course.catalog import template
from tinygrad_edu.data import load_digits

# --- reference solutions (bodies for the templates: np and tg are in scope there) --------


def im2col(x, kh, kw, stride=1):
    n, c, h, w = x.shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.empty((n, c, kh, kw, out_h, out_w))
    for i in range(kh):  # kernel offset (i, j) of every window: one strided slice
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
    return cols.reshape(n, c * kh * kw, out_h * out_w)


def col2im(cols, x_shape, kh, kw, stride=1):
    n, c, h, w = x_shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    blocks = cols.reshape(n, c, kh, kw, out_h, out_w)
    x = np.zeros(x_shape)
    for i in range(kh):
        for j in range(kw):
            x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride] += blocks[:, :, i, j]
    return x


def conv2d_backward(ctx, grad_output):
    x, w, cols = ctx.saved_tensors
    n, f, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    g = grad_output.data.reshape(n, f, -1)                                  # (N, F, P)
    grad_w = (g @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)    # sum_n G[n] cols[n]^T
    grad_cols = w.data.reshape(f, -1).T @ g                                 # (N, K, P)
    return col2im(grad_cols, x.shape, kh, kw, ctx.stride), grad_w


def rnn_backward(ctx, grad_output):
    x, h0, w_x, w_h, hs = ctx.saved_tensors
    g = grad_output.data
    grad_x = np.zeros_like(x)
    grad_w_x, grad_w_h = np.zeros_like(w_x), np.zeros_like(w_h)
    grad_b = np.zeros(w_h.shape[0])
    grad_h_next = np.zeros_like(h0)  # what step t + 1 hands back to h[t]
    for t in reversed(range(x.shape[0])):
        grad_a = (g[t] + grad_h_next) * (1 - hs[t] ** 2)
        h_prev = hs[t - 1] if t > 0 else h0
        grad_x[t] = grad_a @ w_x.T
        grad_w_x += x[t].T @ grad_a
        grad_w_h += h_prev.T @ grad_a
        grad_b += grad_a.sum(axis=0)
        grad_h_next = grad_a @ w_h.T
    return grad_x, grad_h_next, grad_w_x, grad_w_h, grad_b


SOLUTIONS = {
    "im2col": {"im2col": im2col, "col2im": col2im},
    "conv2d": {"Conv2d.backward": conv2d_backward},
    "rnn_bptt": {"RNNSequence.backward": rnn_backward},
}


# --- classic mistakes: im2col and col2im ---------------------------------------------------


def col2im_assigned_per_offset(cols, x_shape, kh, kw, stride=1):
    n, c, h, w = x_shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    blocks = cols.reshape(n, c, kh, kw, out_h, out_w)
    x = np.zeros(x_shape)
    for i in range(kh):
        for j in range(kw):  # = where += was meant
            x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride] = blocks[:, :, i, j]
    return x


def col2im_assigned_per_window(cols, x_shape, kh, kw, stride=1):
    n, c, h, w = x_shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    blocks = cols.reshape(n, c, kh, kw, out_h, out_w)
    x = np.zeros(x_shape)
    for oh in range(out_h):
        for ow in range(out_w):
            top, left = oh * stride, ow * stride
            x[:, :, top:top + kh, left:left + kw] = blocks[..., oh, ow]
    return x


def col2im_fancy_index(cols, x_shape, kh, kw, stride=1):
    n, c, h, w = x_shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    rows = (np.arange(kh)[:, None, None, None] + stride * np.arange(out_h)[None, None, :, None])
    columns = (np.arange(kw)[None, :, None, None] + stride * np.arange(out_w)[None, None, None, :])
    rows, columns = np.broadcast_arrays(rows, columns)  # (kh, kw, out_h, out_w)
    x = np.zeros(x_shape)
    blocks = cols.reshape(n, c, kh, kw, out_h, out_w)
    x[:, :, rows, columns] += blocks  # repeated indices: added once, not once each
    return x


def im2col_rows_kh_kw_c(x, kh, kw, stride=1):
    n, c, h, w = x.shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.empty((n, kh, kw, c, out_h, out_w))  # channel last among the rows
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
    return cols.reshape(n, c * kh * kw, out_h * out_w)


def im2col_kernel_transposed(x, kh, kw, stride=1):
    n, c, h, w = x.shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.empty((n, c, kw, kh, out_h, out_w))  # (j, i): kernel columns first
    for i in range(kh):
        for j in range(kw):
            cols[:, :, j, i] = x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
    return cols.reshape(n, c * kh * kw, out_h * out_w)


def im2col_windows_by_columns(x, kh, kw, stride=1):
    n, c, h, w = x.shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.empty((n, c, kh, kw, out_w, out_h))
    for i in range(kh):
        for j in range(kw):
            window = x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
            cols[:, :, i, j] = window.transpose(0, 1, 3, 2)
    return cols.reshape(n, c * kh * kw, out_h * out_w)


def im2col_one_window_per_row(x, kh, kw, stride=1):
    n, c, h, w = x.shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.empty((n, c, kh, kw, out_h, out_w))
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
    return cols.reshape(n, c * kh * kw, out_h * out_w).transpose(0, 2, 1)


def im2col_one_window_short(x, kh, kw, stride=1):
    n, c, h, w = x.shape
    out_h, out_w = (h - kh) // stride, (w - kw) // stride  # the + 1 forgotten
    cols = np.empty((n, c, kh, kw, out_h, out_w))
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
    return cols.reshape(n, c * kh * kw, out_h * out_w)


def im2col_stride_ignored(x, kh, kw, stride=1):
    n, c, h, w = x.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    cols = np.empty((n, c, kh, kw, out_h, out_w))
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i:i + out_h, j:j + out_w]
    return cols.reshape(n, c * kh * kw, out_h * out_w)


def col2im_rows_kh_kw_c(cols, x_shape, kh, kw, stride=1):
    n, c, h, w = x_shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    blocks = cols.reshape(n, kh, kw, c, out_h, out_w)  # the rows read in (kh, kw, C) order
    x = np.zeros(x_shape)
    for i in range(kh):
        for j in range(kw):
            x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride] += blocks[:, i, j]
    return x


HINT_OVERLAP = "got one window's value only"
HINT_ADJOINT = "col2im is im2col's adjoint"
IM2COL_MISTAKES = [
    ("col2im =, per offset", {"col2im": col2im_assigned_per_offset},
     [HINT_OVERLAP, HINT_ADJOINT]),
    ("col2im =, per window", {"col2im": col2im_assigned_per_window},
     [HINT_OVERLAP, HINT_ADJOINT]),
    ("col2im x[index] +=", {"col2im": col2im_fancy_index}, [HINT_OVERLAP, HINT_ADJOINT]),
    ("col2im (kh, kw, C)", {"col2im": col2im_rows_kh_kw_c}, ["(kh, kw, C)", HINT_ADJOINT]),
    ("im2col (kh, kw, C)", {"im2col": im2col_rows_kh_kw_c}, ["(kh, kw, C)", HINT_ADJOINT]),
    ("im2col (C, kw, kh)", {"im2col": im2col_kernel_transposed},
     ["rows and columns are swapped", HINT_ADJOINT]),
    ("im2col windows by columns", {"im2col": im2col_windows_by_columns},
     ["down each column first", HINT_ADJOINT]),
    ("im2col transposed", {"im2col": im2col_one_window_per_row}, ["the transpose"]),
    ("im2col without + 1", {"im2col": im2col_one_window_short}, ["the + 1 is missing"]),
    ("im2col stride ignored", {"im2col": im2col_stride_ignored},
     ["the count for stride 1"]),
]

# Every hint the im2col check can give, by words of its own: a wrong solution must get
# the hints it expects and no other.
IM2COL_HINTS = [HINT_OVERLAP, HINT_ADJOINT, "(kh, kw, C)", "rows and columns are swapped",
                "down each column first", "the transpose", "the + 1 is missing",
                "the count for stride 1"]


# --- classic mistakes: conv2d ----------------------------------------------------------


def conv2d_dx_assigned(ctx, grad_output):
    x, w, cols = ctx.saved_tensors
    n, f, kh, kw, s = x.shape[0], w.shape[0], w.shape[2], w.shape[3], ctx.stride
    g = grad_output.data.reshape(n, f, -1)
    grad_w = (g @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    blocks = (w.data.reshape(f, -1).T @ g).reshape(n, x.shape[1], kh, kw, *grad_output.shape[2:])
    grad_x = np.zeros(x.shape)
    for oh in range(grad_output.shape[2]):  # each window written over its neighbour
        for ow in range(grad_output.shape[3]):
            grad_x[:, :, oh * s:oh * s + kh, ow * s:ow * s + kw] = blocks[..., oh, ow]
    return grad_x, grad_w


def conv2d_dx_assigned_per_offset(ctx, grad_output):
    x, w, cols = ctx.saved_tensors
    n, f, kh, kw, s = x.shape[0], w.shape[0], w.shape[2], w.shape[3], ctx.stride
    out_h, out_w = grad_output.shape[2:]
    g = grad_output.data.reshape(n, f, -1)
    grad_w = (g @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    blocks = (w.data.reshape(f, -1).T @ g).reshape(n, x.shape[1], kh, kw, out_h, out_w)
    grad_x = np.zeros(x.shape)
    for i in range(kh):
        for j in range(kw):
            grad_x[:, :, i:i + s * out_h:s, j:j + s * out_w:s] = blocks[:, :, i, j]
    return grad_x, grad_w


def conv2d_dx_flipped(ctx, grad_output):
    x, w, cols = ctx.saved_tensors
    n, f, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    g = grad_output.data.reshape(n, f, -1)
    grad_w = (g @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    flipped = w.data[:, :, ::-1, ::-1]  # the "convolution theorem" flip, once too often
    return col2im(flipped.reshape(f, -1).T @ g, x.shape, kh, kw, ctx.stride), grad_w


def conv2d_dw_flipped(ctx, grad_output):
    x, w, cols = ctx.saved_tensors
    n, f, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    g = grad_output.data.reshape(n, f, -1)
    grad_w = (g @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)[:, :, ::-1, ::-1]
    return col2im(w.data.reshape(f, -1).T @ g, x.shape, kh, kw, ctx.stride), grad_w


def conv2d_dw_reshaped_transpose(ctx, grad_output):
    x, w, cols = ctx.saved_tensors
    n, f, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    g = grad_output.data.reshape(n, f, -1)
    grad_w = (cols @ g.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)  # (K, F) reshaped
    return col2im(w.data.reshape(f, -1).T @ g, x.shape, kh, kw, ctx.stride), grad_w


def conv2d_dw_first_image(ctx, grad_output):
    x, w, cols = ctx.saved_tensors
    n, f, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    g = grad_output.data.reshape(n, f, -1)
    grad_w = (g[0] @ cols[0].T).reshape(w.shape)  # the batch sum forgotten
    return col2im(w.data.reshape(f, -1).T @ g, x.shape, kh, kw, ctx.stride), grad_w


def conv2d_dw_batch_mean(ctx, grad_output):
    x, w, cols = ctx.saved_tensors
    n, f, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    g = grad_output.data.reshape(n, f, -1)
    grad_w = (g @ cols.transpose(0, 2, 1)).mean(axis=0).reshape(w.shape)
    return col2im(w.data.reshape(f, -1).T @ g, x.shape, kh, kw, ctx.stride), grad_w


CONV2D_MISTAKES = [
    ("dx =, per window", conv2d_dx_assigned, "got the gradient of one window only"),
    ("dx =, per offset", conv2d_dx_assigned_per_offset, "got the gradient of one window only"),
    ("dx flipped kernel", conv2d_dx_flipped, "your dL/dx uses the kernel flipped"),
    ("dw flipped kernel", conv2d_dw_flipped, "rotated by 180"),
    ("dw (cols @ G^T) reshaped", conv2d_dw_reshaped_transpose, "reshape does not transpose"),
    ("dw first image", conv2d_dw_first_image, "the first image of the batch only"),
    ("dw batch mean", conv2d_dw_batch_mean, "the mean over the batch"),
]


# --- classic mistakes: backprop through time -------------------------------------------


def rnn_truncated(ctx, grad_output):
    x, h0, w_x, w_h, hs = ctx.saved_tensors
    g = grad_output.data
    grad_x = np.zeros_like(x)
    grad_w_x, grad_w_h, grad_b = np.zeros_like(w_x), np.zeros_like(w_h), np.zeros(w_h.shape[0])
    for t in reversed(range(x.shape[0])):
        grad_a = g[t] * (1 - hs[t] ** 2)  # only the loss's own gradient at step t
        h_prev = hs[t - 1] if t > 0 else h0
        grad_x[t] = grad_a @ w_x.T
        grad_w_x += x[t].T @ grad_a
        grad_w_h += h_prev.T @ grad_a
        grad_b += grad_a.sum(axis=0)
    return grad_x, grad_a @ w_h.T, grad_w_x, grad_w_h, grad_b


def rnn_derivative_of_preactivation(ctx, grad_output):
    x, h0, w_x, w_h, hs = ctx.saved_tensors
    g = grad_output.data
    grad_x = np.zeros_like(x)
    grad_w_x, grad_w_h, grad_b = np.zeros_like(w_x), np.zeros_like(w_h), np.zeros(w_h.shape[0])
    grad_h_next = np.zeros_like(h0)
    for t in reversed(range(x.shape[0])):
        a = np.arctanh(hs[t])  # the pre-activation, got back from h[t]
        grad_a = (g[t] + grad_h_next) * (1 - a ** 2)  # 1 - a^2 where 1 - h^2 was meant
        h_prev = hs[t - 1] if t > 0 else h0
        grad_x[t] = grad_a @ w_x.T
        grad_w_x += x[t].T @ grad_a
        grad_w_h += h_prev.T @ grad_a
        grad_b += grad_a.sum(axis=0)
        grad_h_next = grad_a @ w_h.T
    return grad_x, grad_h_next, grad_w_x, grad_w_h, grad_b


def rnn_derivative_one_minus_h(ctx, grad_output):
    x, h0, w_x, w_h, hs = ctx.saved_tensors
    g = grad_output.data
    grad_x = np.zeros_like(x)
    grad_w_x, grad_w_h, grad_b = np.zeros_like(w_x), np.zeros_like(w_h), np.zeros(w_h.shape[0])
    grad_h_next = np.zeros_like(h0)
    for t in reversed(range(x.shape[0])):
        grad_a = (g[t] + grad_h_next) * (1 - hs[t])  # the square forgotten
        h_prev = hs[t - 1] if t > 0 else h0
        grad_x[t] = grad_a @ w_x.T
        grad_w_x += x[t].T @ grad_a
        grad_w_h += h_prev.T @ grad_a
        grad_b += grad_a.sum(axis=0)
        grad_h_next = grad_a @ w_h.T
    return grad_x, grad_h_next, grad_w_x, grad_w_h, grad_b


def rnn_derivative_tanh_twice(ctx, grad_output):
    x, h0, w_x, w_h, hs = ctx.saved_tensors
    g = grad_output.data
    grad_x = np.zeros_like(x)
    grad_w_x, grad_w_h, grad_b = np.zeros_like(w_x), np.zeros_like(w_h), np.zeros(w_h.shape[0])
    grad_h_next = np.zeros_like(h0)
    for t in reversed(range(x.shape[0])):
        grad_a = (g[t] + grad_h_next) * (1 - np.tanh(hs[t]) ** 2)  # tanh of the output
        h_prev = hs[t - 1] if t > 0 else h0
        grad_x[t] = grad_a @ w_x.T
        grad_w_x += x[t].T @ grad_a
        grad_w_h += h_prev.T @ grad_a
        grad_b += grad_a.sum(axis=0)
        grad_h_next = grad_a @ w_h.T
    return grad_x, grad_h_next, grad_w_x, grad_w_h, grad_b


def rnn_dwh_with_current_state(ctx, grad_output):
    x, h0, w_x, w_h, hs = ctx.saved_tensors
    g = grad_output.data
    grad_x = np.zeros_like(x)
    grad_w_x, grad_w_h, grad_b = np.zeros_like(w_x), np.zeros_like(w_h), np.zeros(w_h.shape[0])
    grad_h_next = np.zeros_like(h0)
    for t in reversed(range(x.shape[0])):
        grad_a = (g[t] + grad_h_next) * (1 - hs[t] ** 2)
        grad_x[t] = grad_a @ w_x.T
        grad_w_x += x[t].T @ grad_a
        grad_w_h += hs[t].T @ grad_a  # h[t], where step t used h[t-1]
        grad_b += grad_a.sum(axis=0)
        grad_h_next = grad_a @ w_h.T
    return grad_x, grad_h_next, grad_w_x, grad_w_h, grad_b


def rnn_no_h0_gradient(ctx, grad_output):
    x, h0, w_x, w_h, hs = ctx.saved_tensors
    g = grad_output.data
    grad_x = np.zeros_like(x)
    grad_w_x, grad_w_h, grad_b = np.zeros_like(w_x), np.zeros_like(w_h), np.zeros(w_h.shape[0])
    grad_h_next = np.zeros_like(h0)
    for t in reversed(range(x.shape[0])):
        grad_a = (g[t] + grad_h_next) * (1 - hs[t] ** 2)
        h_prev = hs[t - 1] if t > 0 else h0
        grad_x[t] = grad_a @ w_x.T
        grad_w_x += x[t].T @ grad_a
        grad_w_h += h_prev.T @ grad_a
        grad_b += grad_a.sum(axis=0)
        grad_h_next = grad_a @ w_h.T
    return grad_x, np.zeros_like(h0), grad_w_x, grad_w_h, grad_b  # "h0 is no weight"


def rnn_carry_skips_tanh(ctx, grad_output):
    x, h0, w_x, w_h, hs = ctx.saved_tensors
    g = grad_output.data
    grad_x = np.zeros_like(x)
    grad_w_x, grad_w_h, grad_b = np.zeros_like(w_x), np.zeros_like(w_h), np.zeros(w_h.shape[0])
    grad_h_next = np.zeros_like(h0)
    for t in reversed(range(x.shape[0])):
        grad_h = g[t] + grad_h_next
        grad_a = grad_h * (1 - hs[t] ** 2)
        h_prev = hs[t - 1] if t > 0 else h0
        grad_x[t] = grad_a @ w_x.T
        grad_w_x += x[t].T @ grad_a
        grad_w_h += h_prev.T @ grad_a
        grad_b += grad_a.sum(axis=0)
        grad_h_next = grad_h @ w_h.T  # dL/dh[t], where dL/da[t] was meant
    return grad_x, grad_h_next, grad_w_x, grad_w_h, grad_b


RNN_MISTAKES = [
    ("truncated", rnn_truncated, "backprop through one step only"),
    ("1 - a^2", rnn_derivative_of_preactivation, "1 - a^2, with a the pre-activation"),
    ("1 - h", rnn_derivative_one_minus_h, "your tanh derivative is 1 - h[t]:"),
    ("1 - tanh(h)^2", rnn_derivative_tanh_twice, "tanh taken twice"),
    ("dWh with h[t]", rnn_dwh_with_current_state, "your dL/dWh uses h[t]"),
    ("dh0 zero", rnn_no_h0_gradient, "your dL/dh0 is zero"),
    ("carry skips tanh", rnn_carry_skips_tanh, "skipped the tanh"),
]


def _catalog_hints(exercise_mistakes) -> list[str]:
    return sorted({mistake.hint for mistake in exercise_mistakes})


def _assert_only_hint(text: str, expected: str, mistakes) -> None:
    """The report names the mistake whose hint holds `expected`, and no other."""
    flat = _hints_in(text)
    named = [hint for hint in _catalog_hints(mistakes) if _hints_in(hint) in flat]
    assert named and all(expected in hint for hint in named), (expected, named, text)


def _hints_in(text: str) -> str:
    """The report's hint lines joined into one line (the report wraps them at 88)."""
    return re.sub(r"\s+", " ", text)


# --- the tests -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SOLUTIONS))
def test_the_untouched_template_fails_as_not_written_yet(name, tmp_path):
    (tmp_path / f"{name}.py").write_text(template(course.find(name)).read_text())
    text, passed = grade(name, tmp_path)
    assert passed is False
    assert "not written yet" in text


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(SOLUTIONS))
def test_the_reference_solution_passes_with_no_hint(name, seed, tmp_path):
    solve(name, tmp_path, SOLUTIONS[name])
    text, passed = grade(name, tmp_path, seed=seed)
    assert passed is True, text
    assert "hint:" not in text and "FAIL" not in text


@pytest.mark.parametrize("label, wrong, expected", IM2COL_MISTAKES,
                         ids=[m[0] for m in IM2COL_MISTAKES])
def test_each_im2col_mistake_fails_with_its_hint_and_no_other(label, wrong, expected,
                                                              tmp_path):
    solve("im2col", tmp_path, {**SOLUTIONS["im2col"], **wrong})
    text, passed = grade("im2col", tmp_path)
    assert passed is False
    flat = _hints_in(text)
    for words in IM2COL_HINTS:
        assert (words in flat) == (words in expected), (words, text)


@pytest.mark.parametrize("label, wrong, expected", CONV2D_MISTAKES,
                         ids=[m[0] for m in CONV2D_MISTAKES])
def test_each_conv2d_mistake_fails_with_its_hint_and_no_other(label, wrong, expected,
                                                              tmp_path):
    solve("conv2d", tmp_path, {"Conv2d.backward": wrong})
    text, passed = grade("conv2d", tmp_path)
    assert passed is False
    _assert_only_hint(text, expected, convolution.CONV2D)


@pytest.mark.parametrize("label, wrong, expected", RNN_MISTAKES,
                         ids=[m[0] for m in RNN_MISTAKES])
def test_each_rnn_mistake_fails_with_its_hint_and_no_other(label, wrong, expected, tmp_path):
    solve("rnn_bptt", tmp_path, {"RNNSequence.backward": wrong})
    text, passed = grade("rnn_bptt", tmp_path)
    assert passed is False
    _assert_only_hint(text, expected, recurrence.RNN_BPTT)


def test_every_hint_of_the_op_catalogs_has_a_wrong_solution_that_gets_it():
    for mistakes, wrongs in ((convolution.CONV2D, CONV2D_MISTAKES),
                             (recurrence.RNN_BPTT, RNN_MISTAKES)):
        for hint in _catalog_hints(mistakes):
            assert any(expected in hint for _, _, expected in wrongs), hint


def _graded_gradients(name: str, folder, seed: int):
    """For each case the grader draws: (inputs, g, out, the reference's gradients)."""
    path = solve(name, folder, SOLUTIONS[name])
    exercise = course.find(name)
    spec = grader.load_target(f"{path}::{exercise.target}")
    for case in grader.make_cases(spec, None, seed):
        tensors = [tg.Tensor(a.copy(), requires_grad=True, dtype=np.float64)
                   for a in case.inputs]
        out = spec.function(*tensors)
        g = np.random.default_rng(seed).standard_normal(out.shape)
        out.backward(tg.Tensor(g))
        yield case.inputs, g, out.data, [t.grad.data for t in tensors]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name, mistakes", [("conv2d", convolution.CONV2D),
                                            ("rnn_bptt", recurrence.RNN_BPTT)])
def test_no_mistake_gives_the_right_gradient_on_a_graded_case(name, mistakes, seed,
                                                              tmp_path):
    # a mistake's gradient that equals the right one would name a mistake on a right
    # backward; and one of the wrong shape would break the grader: neither may happen
    for inputs, g, out, right in _graded_gradients(name, tmp_path, seed):
        for mistake in mistakes:
            wrong = mistake.vjp(g, out, *[a.copy() for a in inputs])
            assert len(wrong) == len(inputs)
            for mine, theirs in zip(right, wrong):
                if theirs is None:
                    continue
                assert np.shape(theirs) == mine.shape
                assert not np.allclose(mine, theirs, rtol=1e-6, atol=1e-9), mistake.hint


def test_the_im2col_mistakes_differ_from_the_right_answer_on_every_case():
    # else a case could not show the mistake its hint names
    rng = np.random.default_rng(0)
    for x_shape, kh, kw, stride in convolution.IM2COL_CASES:
        x = rng.standard_normal(x_shape)
        right = convolution.im2col_reference(x, kh, kw, stride)
        np.testing.assert_allclose(right, im2col(x, kh, kw, stride))
        cols = rng.standard_normal(right.shape)
        back = convolution.col2im_reference(cols, x_shape, kh, kw, stride)
        np.testing.assert_allclose(back, col2im(cols, x_shape, kh, kw, stride))
        for overlap in ("last window", "last offset"):
            assigned = convolution.col2im_reference(cols, x_shape, kh, kw, stride,
                                                    overlap=overlap)
            assert not np.allclose(assigned, back)
        for layout in convolution.LAYOUTS:
            if layout != "right" and not (layout == "(kh, kw, C) rows" and x_shape[1] == 1):
                assert not np.allclose(
                    convolution.im2col_reference(x, kh, kw, stride, layout), right), layout


def test_the_conv2d_template_forward_is_the_library_convolution(tmp_path):
    path = solve("conv2d", tmp_path, SOLUTIONS["conv2d"])
    module = grader.load_module(path)
    rng = np.random.default_rng(0)
    for x_shape, w_shape, stride in module.CASES:
        x, w = tg.Tensor(rng.standard_normal(x_shape)), tg.Tensor(rng.standard_normal(w_shape))
        np.testing.assert_allclose(module.Conv2d.apply(x, w, stride=stride).data,
                                   F.conv2d(x, w, stride=stride).data, rtol=1e-12)


def test_a_tiny_cnn_trains_the_same_with_the_solved_conv2d(tmp_path):
    # 30 SGD steps on 32 digits: one network with the exercise's Conv2d, one with the
    # library's conv2d, from the same weights: the losses agree to 1e-8 at every step
    module = grader.load_module(solve("conv2d", tmp_path, SOLUTIONS["conv2d"]))
    images, labels = load_digits(as_images=True)
    x = tg.Tensor(images[:32, None].astype(np.float64) / 16)
    y = tg.Tensor(labels[:32])
    rng = np.random.default_rng(0)
    start = [0.3 * rng.standard_normal((4, 1, 3, 3)), 0.1 * rng.standard_normal((4 * 36, 10))]
    losses = {}
    for label, conv in (("exercise", lambda x, w: module.Conv2d.apply(x, w)),
                        ("library", F.conv2d)):
        w_conv, w_out = (tg.Tensor(a.copy(), requires_grad=True) for a in start)
        losses[label] = []
        for _ in range(30):
            hidden = conv(x, w_conv).relu().reshape(32, -1)  # (32, 4*6*6)
            loss = F.cross_entropy(hidden @ w_out, y)
            w_conv.grad = w_out.grad = None
            loss.backward()
            for p in (w_conv, w_out):
                p.data -= 0.5 * p.grad.data
            losses[label].append(float(loss.data))
    np.testing.assert_allclose(losses["exercise"], losses["library"], rtol=0, atol=1e-8)
    assert losses["exercise"][-1] < 0.5 * losses["exercise"][0]  # it did learn


@pytest.mark.parametrize("name", list(SOLUTIONS))
def test_grading_one_exercise_takes_well_under_ten_seconds(name, tmp_path):
    # the budget of a check a student waits for (a wrong solution costs the mistakes too)
    wrong = {"im2col": {**SOLUTIONS["im2col"], "col2im": col2im_assigned_per_window},
             "conv2d": {"Conv2d.backward": conv2d_dx_assigned},
             "rnn_bptt": {"RNNSequence.backward": rnn_truncated}}[name]
    for solutions in (SOLUTIONS[name], wrong):
        solve(name, tmp_path, solutions)
        start = time.perf_counter()
        grade(name, tmp_path)
        assert time.perf_counter() - start < 4.0


# --- after gradcheck: a network trained with the student's op ---------------------------


def conv2d_two_images(ctx, grad_output):
    x, w, cols = ctx.saved_tensors
    n, f, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    g = grad_output.data.reshape(n, f, -1)
    # wrong for any batch but 2 (the size of every graded case): the sum written out
    grad_w = (g[0] @ cols[0].T + g[1] @ cols[1].T).reshape(w.shape)
    grad_cols = w.data.reshape(f, -1).T @ g
    return col2im(grad_cols, x.shape, kh, kw, ctx.stride), grad_w


def rnn_truncated_to_five_steps(ctx, grad_output):
    x, h0, w_x, w_h, hs = ctx.saved_tensors
    g = grad_output.data
    grad_x = np.zeros_like(x)
    grad_w_x, grad_w_h = np.zeros_like(w_x), np.zeros_like(w_h)
    grad_b = np.zeros(w_h.shape[0])
    grad_h_next = np.zeros_like(h0)
    steps = x.shape[0]
    for t in reversed(range(max(0, steps - 5), steps)):  # wrong: only the last 5 steps
        grad_a = (g[t] + grad_h_next) * (1 - hs[t] ** 2)
        h_prev = hs[t - 1] if t > 0 else h0
        grad_x[t] = grad_a @ w_x.T
        grad_w_x += x[t].T @ grad_a
        grad_w_h += h_prev.T @ grad_a
        grad_b += grad_a.sum(axis=0)
        grad_h_next = grad_a @ w_h.T
    return grad_x, grad_h_next, grad_w_x, grad_w_h, grad_b


@pytest.mark.parametrize("name, title", [("conv2d", "A CNN trained with your Conv2d"),
                                         ("rnn_bptt", "An RNN trained with your RNNSequence")])
def test_a_right_op_then_trains_a_network_that_learns(name, title, tmp_path):
    solve(name, tmp_path, SOLUTIONS[name])
    text, passed = grade(name, tmp_path)
    assert passed and title in text
    assert re.search(r"the loss fell from [\d.]+ to [\d.]+ +pass", text), text


@pytest.mark.parametrize("name, backward", [
    ("conv2d", {"Conv2d.backward": conv2d_two_images}),
    ("rnn_bptt", {"RNNSequence.backward": rnn_truncated_to_five_steps})])
def test_a_backward_right_only_on_the_graded_shapes_fails_in_training(name, backward,
                                                                      tmp_path):
    # gradcheck's cases are small (a batch of 2, at most 5 steps); the network is not
    solve(name, tmp_path, backward)
    text, passed = grade(name, tmp_path)
    assert not passed
    assert "All 8 checks passed" in text or "All 6 checks passed" in text  # gradcheck
    assert "FAIL  wrong losses" in text


def test_no_training_before_gradcheck_passes(tmp_path):
    solve("conv2d", tmp_path, {"Conv2d.backward": conv2d_dx_assigned})
    text, passed = grade("conv2d", tmp_path)
    assert not passed and "trained with" not in text

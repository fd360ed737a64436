"""Fused ops: several primitives' worth of arithmetic in one node, for speed or stability.

Every op in ops.py is one primitive with one derivative. The ops here could each be
written as a few of those, and give the same numbers; they are one node each because:

- the graph bookkeeping of a node (a Tensor, a node, an entry in backward's walk) costs
  more than the arithmetic on the small arrays of a scalar network or an RNN step, so
  the most common small computations get one node (`TanhBackward`, `SigmoidBackward`,
  `LogSoftmaxBackward`: each the backward of a primitive, written as one op, and run on
  plain arrays when the backward is not being recorded);
- a training step spends most of its time in a few ops, whose backward can then work
  on arrays, skipping the recording of Tensor ops it does not need (`Linear`, the loss
  ops: their backward runs on NumPy arrays unless `create_graph` asks for a graph);
- computed whole, a loss can stay finite where its pieces would not (`LogSoftmax`,
  `CrossEntropy`, `BinaryCrossEntropy`).

Each op's docstring says which primitives it replaces, and each backward is still
differentiable (with create_graph=True it is written in Tensor ops, or in other ops of
this file). The layers' own fused ops live beside their layers: convolutions in
nn/conv.py, batch and layer normalization in nn/normalization.py, the LSTM step in
nn/rnn.py.

Floors: this file imports only the engine; ops.py (Tanh, Sigmoid) imports it.
"""

from __future__ import annotations

import numpy as np

from .engine import Function, wrap
from .grad_mode import is_grad_enabled

# ---------------------------------------------------------------------------------------
# tanh's and sigmoid's backward as one op each; log-softmax and its backward
# ---------------------------------------------------------------------------------------


def tanh_backward(grad_output, y):
    """grad_output * (1 - y^2): the backward of Tanh (y = tanh(x)), as one op.

    Written out, it is three ops (y * y, 1 - that, grad_output * that), each with its own
    node and Tensor; for the small tensors of a scalar network or an RNN step, that
    bookkeeping costs more than the arithmetic, and tanh is the most common activation.
    So when the backward is recorded (create_graph) it is one op, TanhBackward, whose
    own backward gives second derivatives; when not, it is NumPy on the arrays.
    """
    if is_grad_enabled():
        return TanhBackward.apply(grad_output, y)
    return wrap(_tanh_backward(grad_output.data, y.data))


def _tanh_backward(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(g * (1 - y * y))  # (an array even for 0-d: NumPy gives a scalar)


class TanhBackward(Function):
    """z = g * (1 - y^2): Tanh's backward as one op (see tanh_backward for why)."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(g, y)
        return _tanh_backward(g.data, y.data)

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dg = 1 - y^2, dz/dy = -2 g y
        g, y = ctx.saved_tensors
        need_g, need_y = ctx.needs_input_grad
        return (grad_output * (1 - y * y) if need_g else None,
                grad_output * -2 * g * y if need_y else None)


def sigmoid_backward(grad_output, y):
    """grad_output * y * (1 - y): the backward of Sigmoid (y = sigmoid(x)), as one op:
    SigmoidBackward when the backward is recorded, NumPy on the arrays when not (see
    tanh_backward for why)."""
    if is_grad_enabled():
        return SigmoidBackward.apply(grad_output, y)
    return wrap(_sigmoid_backward(grad_output.data, y.data))


def _sigmoid_backward(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(g * y * (1 - y))  # (an array even for 0-d, as _tanh_backward)


class SigmoidBackward(Function):
    """z = g * y * (1 - y): Sigmoid's backward as one op (see tanh_backward for why)."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(g, y)
        return _sigmoid_backward(g.data, y.data)

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dg = y (1 - y), dz/dy = g (1 - 2y)
        g, y = ctx.saved_tensors
        need_g, need_y = ctx.needs_input_grad
        return (grad_output * y * (1 - y) if need_g else None,
                grad_output * g * (1 - 2 * y) if need_y else None)


class LogSoftmax(Function):
    """y = x - log(sum(e^x)) along `axis`

    One op rather than the six of x - logsumexp(x): the log-probabilities behind every
    classification loss, computed stably. The max m of each row is taken out first,
    log(sum(e^x)) = m + log(sum(e^(x - m))), so that no e^x can overflow.
    """

    @staticmethod
    def forward(ctx, x, *, axis=-1):
        ctx.axis = axis
        # (a row of all -inf gives NaN, as in PyTorch: log-probabilities of nothing)
        out = x.data - np.max(x.data, axis=axis, keepdims=True, initial=-np.inf)
        if out.size:  # (an empty axis: an empty result, with no log(0) to warn about)
            out -= np.log(np.exp(out).sum(axis=axis, keepdims=True))
        return ctx.save_output(out)

    @staticmethod
    def backward(ctx, grad_output):
        # dy_i/dx_j = [i = j] - softmax_j, and softmax = e^y, so
        # dL/dx = g - e^y * sum(g): one op when recorded, NumPy when not (as tanh_backward)
        if ctx.create_graph:
            return LogSoftmaxBackward.apply(grad_output, ctx.output, axis=ctx.axis)
        return wrap(_log_softmax_backward(grad_output.data, ctx._output_data, ctx.axis))


def _log_softmax_backward(g: np.ndarray, y: np.ndarray, axis) -> np.ndarray:
    return g - np.exp(y) * g.sum(axis=axis, keepdims=True)


class LogSoftmaxBackward(Function):
    """z = g - e^y * sum(g) along `axis`: LogSoftmax's backward as one op."""

    @staticmethod
    def forward(ctx, g, y, *, axis):
        ctx.axis = axis
        ctx.save_for_backward(g, y)
        return _log_softmax_backward(g.data, y.data, axis)

    @staticmethod
    def backward(ctx, grad_output):
        # with u = grad_output and S = sum(g):
        # dL/dg_j = u_j - sum_i u_i e^(y_i),   dL/dy_i = -u_i e^(y_i) S
        g, y = ctx.saved_tensors
        u, p = grad_output, y.exp()
        need_g, need_y = ctx.needs_input_grad
        return (u - (u * p).sum(axis=ctx.axis, keepdims=True) if need_g else None,
                -u * p * g.sum(axis=ctx.axis, keepdims=True) if need_y else None)


# ---------------------------------------------------------------------------------------
# the affine map of nn.Linear
# ---------------------------------------------------------------------------------------


class Linear(Function):
    """y = x @ W^T + b, the affine map of nn.Linear (x: (..., in), W: (out, in), b: (out,))

    One op instead of three (transpose, matmul, add): the same arithmetic, a third of the
    graph nodes, which is what a small network's training step spends its time on.
    PyTorch does the same (its graphs show `AddmmBackward`).
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        xd, wd = x.data, weight.data
        if wd.ndim != 2 or xd.ndim == 0 or xd.shape[-1] != wd.shape[1]:
            raise ValueError(
                f"linear: input of shape {xd.shape} does not fit a weight of shape {wd.shape}: "
                f"the input's last axis must have in_features = "
                f"{wd.shape[1] if wd.ndim == 2 else '?'} elements")
        if bias is not None and bias.shape != (wd.shape[0],):
            raise ValueError(f"linear: bias of shape {bias.shape} does not fit a weight of shape "
                             f"{wd.shape}: it needs shape ({wd.shape[0]},)")
        ctx.save_for_backward(x, weight)
        out = xd @ wd.T  # a transposed view: BLAS reads it in place, nothing is copied
        if bias is not None:
            out += bias.data
        return out

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dx = g @ W,  dL/dW = g^T @ x (summed over every leading axis),  dL/db = sum of g
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        if not ctx.create_graph:
            return _linear_backward_arrays(grad_output.data, x.data, weight.data,
                                           need_x, need_w, need_b)
        g = grad_output  # create_graph=True: the same formulas as recorded Tensor ops
        grad_x = g @ weight if need_x else None
        if g.ndim != 2:  # one sample, or a batch of sequences: make it a (rows, out) matrix
            g, x = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        grad_w = g.T @ x if need_w else None
        grad_b = g.sum(axis=0) if need_b else None
        return grad_x, grad_w, grad_b


def _linear_backward_arrays(g, x, w, need_x, need_w, need_b):
    """Linear's backward on plain arrays, for the usual backward without create_graph.

    The same three formulas as Linear.backward; in a training step of a small MLP the
    bookkeeping of four recorded Tensor ops per layer costs as much as the arithmetic,
    so the common case skips it. (Nothing here needs recording: grad mode is off.)
    """
    grad_x = wrap(g @ w) if need_x else None
    if g.ndim != 2:
        g, x = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
    grad_w = wrap(g.T @ x) if need_w else None
    grad_b = wrap(g.sum(axis=0)) if need_b else None
    return grad_x, grad_w, grad_b


# ---------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------


class NLLLoss(Function):
    """l_i = -w_i * x[i, t_i] for rows x (R, C) and target classes t; summed, averaged
    (divided by sum(w)) or kept per row by `reduction`

    One op, because picking one entry per row with x[range, t] would scatter its
    gradient back with np.add.at; here the gradient is a constant matrix, nonzero only
    at the picked entries, so backward is a single multiplication.
    """

    @staticmethod
    def forward(ctx, x, *, target, sample_weight=None, reduction="mean"):
        rows = np.arange(x.shape[0])
        losses = -x.data[rows, target]
        if sample_weight is not None:
            losses *= sample_weight
        scale = 1.0
        if reduction == "mean":
            scale = float(sample_weight.sum()) if sample_weight is not None else x.shape[0]
        # dl/dx: -w_i / scale at (i, t_i), zero elsewhere. With nothing to average (an
        # empty batch, every target ignored) the mean is 0/0, NaN as in PyTorch, and the
        # gradient stays 0: no row had a say in it.
        coefficient = np.zeros(x.shape, dtype=x.dtype)
        if scale:
            coefficient[rows, target] = (
                (-1.0 if sample_weight is None else -sample_weight) / scale)
        ctx.save_for_backward(coefficient)
        if reduction == "none":
            return losses
        return np.asarray(losses.sum() / scale if scale else np.nan, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        # dl/dx[i, t_i] = -w_i / scale, and 0 at every other entry: the saved coefficient
        (coefficient,) = ctx.saved_tensors
        if grad_output.ndim == 1:  # reduction="none": one upstream gradient per row
            grad_output = grad_output.reshape(-1, 1)
        return grad_output * coefficient


class CrossEntropy(Function):
    """l = sum_i (log(sum_c e^(x_ic)) - x_i,t_i), divided by N for the mean, for logits
    x (N, C) and class indices t (N,): LogSoftmax and NLLLoss in one op

    The classic result: dl/dx = softmax(x) - onehot(t) (over N for the mean). Written as
    two ops, the softmax would be computed twice and the one-hot built as a separate
    gradient; this is the common case of every classifier's training step, so it gets
    one op (cross_entropy uses it for integer targets with no weights, smoothing or
    ignored rows). The max of each row is subtracted before exponentiating, as in
    LogSoftmax.
    """

    @staticmethod
    def forward(ctx, x, *, target, mean=True):
        shifted = x.data - np.max(x.data, axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        rows = np.arange(x.shape[0])
        loss = (np.log(total[:, 0]) - shifted[rows, target]).sum()
        scale = x.shape[0] if mean else 1
        e /= total  # now the softmax probabilities
        ctx.save_for_backward(x, e, target, scale)
        return np.asarray(loss / scale, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        # dl/dx = (softmax(x) - onehot(t)) / scale
        x, probs, target, scale = ctx.saved_tensors
        rows = np.arange(x.shape[0])
        if ctx.create_graph:  # softmax as Tensor ops, to differentiate again
            onehot = np.zeros(x.shape, dtype=x.dtype)
            onehot[rows, target] = 1
            return grad_output * (x.softmax(axis=1) - onehot) / scale
        coefficient = probs.copy()  # (a copy: with retain_graph, backward may run again)
        coefficient[rows, target] -= 1
        coefficient *= grad_output.data / scale
        return wrap(coefficient)


class BinaryCrossEntropy(Function):
    """l = -(y log p + (1 - y) log(1 - p)), each log clamped at -100, elementwise

    One op, as in PyTorch, for the sake of p = 0 and p = 1: built from Log and Maximum,
    the clamp would give a finite loss but a NaN gradient (0 * 1/0); here the gradient
    (p - y) / (p (1 - p)) has its denominator kept above 1e-12 instead.
    """

    @staticmethod
    def forward(ctx, p, y):
        with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped to -100
            log_p = np.maximum(np.log(p.data), -100)
            log_1mp = np.maximum(np.log1p(-p.data), -100)
        ctx.save_for_backward(p, y)
        return -(y.data * log_p + (1 - y.data) * log_1mp)

    @staticmethod
    def backward(ctx, grad_output):
        # dl/dp = (p - y) / (p (1 - p)),  dl/dy = log(1 - p) - log(p)
        p, y = ctx.saved_tensors
        grad_p = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_p = grad_output * (p - y) / (p * (1 - p)).maximum(1e-12)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):  # log(0) = -inf, clamped as in forward
                grad_y = grad_output * ((1 - p).log().maximum(-100.0)
                                        - p.log().maximum(-100.0))
        return grad_p, grad_y

"""Recurrent layers: RNN, LSTM, GRU and their cells, with PyTorch's equations and layouts.

A cell computes one time step: from the input x_t and the state of the previous step it
makes the next state. A layer (`RNN`, `LSTM`, `GRU`) runs its cell over a whole sequence
in a plain Python loop, and stacks layers on top of each other (`num_layers`): the
outputs of one layer are the inputs of the next.

The cells are built from existing ops (`F.linear`, `sigmoid`, `tanh`, slicing, `*`,
`+`), so their graphs show every gate. The layers run the same equations as one op per
step (`RNNStep`, `LSTMStep`, `GRUStep`, their backwards written out here), because a
long sequence of primitive steps costs more in bookkeeping than in arithmetic. Either
way the sequence is an unrolled loop of ops, and backpropagation through time is the
engine's walk back through it, like through any other graph: the walk is iterative, so
thousands of steps backpropagate without hitting Python's recursion limit.

The parameters have PyTorch's names, shapes and gate order, so a PyTorch state dict
loads as it is:

- the gates of a cell are stacked along the first axis of `weight_ih` (gates * H, I) and
  `weight_hh` (gates * H, H): LSTM in the order i, f, g, o; GRU in the order r, z, n;
- a layer names its parameters `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`,
  `bias_hh_l{k}` for layer k = 0, 1, ...;
- every parameter starts as U(-1/sqrt(H), 1/sqrt(H)), drawn from `tg.generator()`.
"""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import get_default_dtype
from ..engine import Function, SparseGrad
from ..functions import cat
from ..grad_mode import is_grad_enabled
from ..ops import sigmoid_array
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter

# ---------------------------------------------------------------------------------------
# one time step, written as the equations; x_proj = x W_ih^T + b_ih, the input part of
# every gate, is computed by the caller (see _Recurrent._run_direction)
# ---------------------------------------------------------------------------------------


def _rnn_step(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh, nonlinearity: str) -> Tensor:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)  (or relu)."""
    pre = x_proj + F.linear(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def _lstm_step(x_proj: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh) -> tuple:
    """One LSTM step; the four gates come stacked in PyTorch's order i, f, g, o:

        i = sigmoid(.)  input gate: how much of the candidate g to write
        f = sigmoid(.)  forget gate: how much of the old cell c to keep
        g = tanh(.)     the candidate values
        o = sigmoid(.)  output gate: how much of the cell to show as h
        c' = f * c + i * g,   h' = o * tanh(c')
    """
    size = h.shape[-1]
    gates = x_proj + F.linear(h, w_hh, b_hh)  # (batch, 4H): [i | f | g | o]
    # Slice first, then activate: sigmoid is the costliest op of the step, so it runs on
    # the i, f block and the o block only (3H columns), not on the g block too.
    i_f = gates[..., :2 * size].sigmoid()
    i, f = i_f[..., :size], i_f[..., size:]
    g = gates[..., 2 * size:3 * size].tanh()
    o = gates[..., 3 * size:].sigmoid()
    c_next = f * c + i * g
    return o * c_next.tanh(), c_next


def _gru_step(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh) -> Tensor:
    """One GRU step; the gates come stacked in PyTorch's order r, z, n:

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)        reset gate
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)        update gate
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))    the candidate
        h' = (1 - z) * n + z * h

    r multiplies (W_hn h + b_hn) including its bias, as in PyTorch (and cuDNN), which
    is why the two products are kept apart rather than added before the gates.
    """
    size = h.shape[-1]
    h_proj = F.linear(h, w_hh, b_hh)  # (batch, 3H): [r | z | n] parts from h
    rz = (x_proj[..., :2 * size] + h_proj[..., :2 * size]).sigmoid()
    r, z = rz[..., :size], rz[..., size:]
    n = (x_proj[..., 2 * size:] + r * h_proj[..., 2 * size:]).tanh()
    return n + z * (h - n)  # = (1 - z) * n + z * h, one op fewer


# ---------------------------------------------------------------------------------------
# the layers' steps, fused: one op per time step
# ---------------------------------------------------------------------------------------
#
# Written with primitives, a step is a dozen ops or more (a matrix product, slices,
# activations, products, sums), and a sequence of 50 steps makes a graph of hundreds of
# nodes whose bookkeeping costs more than their arithmetic. So nn.RNN, nn.LSTM and
# nn.GRU run each step as ONE op, with its backward written out; PyTorch fuses its
# steps too. The cells (nn.RNNCell, nn.LSTMCell, nn.GRUCell) keep the primitives, so
# their graphs show every gate, and the tests check that both give the same numbers.
#
# Each step op reads its own row t of x_proj, the input's part of every gate for the
# whole sequence (T, batch, gates * H): one node per step, not a slice and a step.


class _Sequence:
    """What the steps of one pass over a sequence share: the states, and buffers that
    backward fills, so that the gradients of the weights are each ONE product over all
    the steps.

    Forward: step t writes its output, the next state, into row t + 1 of `states`
    (row 0 is the initial state): the layer's output is those rows, copied once, and
    h_{t-1} for every t is there too. (The layer hands out copies only, the output and
    the final state, so nothing a caller does to them can change what backward reads.)

    Backward: dL/dW_hh = sum over t of dz_t^T h_{t-1} (dz_t: the gradient of step t's
    gates before their activations). Each step could return its own term, but that is T
    small matrix products and T additions into the running sum. Instead each step writes
    dz_t into row t of a (T, batch, .) buffer, and step 0 makes the sum in one product,
    as a hand-written BPTT does. This works because backward visits the steps newest
    first and step 0 last: a gradient that reaches step t reaches every step before it,
    through the state. `top` is the newest step that backward reached in the current
    walk (a loss on the early outputs only never reaches the later steps, whose rows are
    then left out). The gradients of x_proj (the rows of dz themselves) and of b_hh go
    the same way.
    """

    def __init__(self, x_proj: np.ndarray, state: np.ndarray, w_hh: np.ndarray, size: int,
                 hidden_width: int | None = None):
        steps, batch, width = x_proj.shape
        self.size = size
        # W_hh^T laid out in memory as it is read: h @ W_hh^T through the transposed view
        # takes BLAS about twice as long as through this copy, made once for all steps
        self.w_hh_t = np.ascontiguousarray(w_hh.T)
        self.states = np.empty((steps + 1,) + state.shape, state.dtype)
        self.states[0] = state
        self.filling = True  # while the layer's loop runs: steps write into `states`
        self.written = 0     # how many steps did
        self.dz = np.empty((steps, batch, width), x_proj.dtype)  # backward fills row t
        # the GRU's gradient of h W_hh^T + b_hh differs from dz (r multiplies its n part)
        self.d_hidden = (self.dz if hidden_width is None
                         else np.empty((steps, batch, hidden_width), x_proj.dtype))
        self.top = None

    def output_row(self, ctx, t: int):
        """Where step t writes its output: row t + 1 while the layer's loop runs (and the
        step then belongs to this sequence, and may read w_hh_t), else None: a new
        array. (tg.check_graph re-runs a step later, on nudged inputs: that run must not
        write here, nor read the weights copied before.)"""
        if not self.filling:
            return None
        ctx.shared = self
        self.written += 1
        return self.states[t + 1]

    def finish(self) -> None:
        """The loop is over: later runs of a step (tg.check_graph's) leave `states` be."""
        self.filling = False


class _StepOutputs(Function):
    """The outputs of all the steps as one (T, batch, width) tensor: a copy of the rows of
    the sequence's `states`, where the steps wrote them (one contiguous copy, where
    joining the T outputs would be T). Backward hands each step the row of the gradient
    that belongs to it (as Cat's backward does)."""

    @staticmethod
    def forward(ctx, *outputs, shared):
        if all(out.data.base is shared.states for out in outputs):
            return shared.states[1:].copy()
        return np.stack([out.data for out in outputs])  # (re-run on other inputs)

    @staticmethod
    def backward(ctx, grad_output):
        rows = grad_output if ctx.create_graph else grad_output.data
        return tuple((rows[t] if ctx.create_graph else _array(rows[t])) if needs else None
                     for t, needs in enumerate(ctx.needs_input_grad))


class _FusedStep(Function):
    """What the three step ops share: where the gradients of x_proj, W_hh and b_hh go.

    A step belongs to a sequence when it wrote its output into the sequence's states
    (`_Sequence.output_row` sets `ctx.shared`): then only step 0 returns those
    gradients, for all the steps at once. Alone (as in a gradcheck, or tg.check_graph
    re-running it), a step returns its own.
    """

    shared = None  # the _Sequence whose states this step wrote its output into, if any

    @staticmethod
    def _rows(ctx, like: np.ndarray) -> tuple:
        """Where backward writes dz and the hidden part's gradient: the sequence's rows t,
        or new arrays for a step alone."""
        seq = ctx.shared
        if seq is None:
            return np.empty_like(like), None
        if seq.top is None:  # the first step this walk reaches: the newest
            seq.top = ctx.t
        return seq.dz[ctx.t], seq.d_hidden[ctx.t] if seq.d_hidden is not seq.dz else None

    @staticmethod
    def _shared_grads(ctx, dz, d_hidden, h_prev, with_bias: bool) -> tuple:
        """(dL/dx_proj, dL/dW_hh, dL/db_hh) from this step: its own, or (step 0 of a
        sequence) those of every step the walk reached, or (a later step) nothing."""
        seq = ctx.shared
        if seq is not None and ctx.t > 0:  # step 0 returns them for this one
            return None, None, None
        need_x, _, need_w = ctx.needs_input_grad[:3]
        need_b = with_bias and ctx.needs_input_grad[3]
        if seq is None:  # a step alone: x_proj's gradient is its row t, as a slice's
            rows, h_rows = d_hidden.reshape(-1, d_hidden.shape[-1]), h_prev
            return (SparseGrad(dz, (ctx.t,), ctx.x_shape) if need_x else None,
                    _array(rows.T @ h_rows) if need_w else None,
                    _array(rows.sum(axis=0)) if need_b else None)
        top, seq.top = seq.top, None  # step 0 ends the walk over this sequence
        reached = slice(0, top + 1)
        width = seq.d_hidden.shape[-1]
        rows = seq.d_hidden[reached].reshape(-1, width)
        h_rows = seq.states[reached, :, :seq.size].reshape(-1, seq.size)  # every h_{t-1}
        if not need_x:
            grad_x = None
        elif top + 1 == len(seq.dz):  # every step: the buffer is the gradient
            grad_x = _array(seq.dz)
        else:
            grad_x = SparseGrad(seq.dz[reached], (reached,), ctx.x_shape)
        return (grad_x, _array(rows.T @ h_rows) if need_w else None,
                _array(rows.sum(axis=0)) if need_b else None)


def _array(value: np.ndarray) -> Tensor:
    return Tensor._make(value, False, None)


def _row_gradient(dz: Tensor, t: int, shape: tuple) -> Tensor:
    """A gradient of x_proj's shape that is dz at row t and 0 elsewhere, as Tensor ops
    (for create_graph: the recorded form of SparseGrad)."""
    zeros = [Tensor(np.zeros((n,) + tuple(shape[1:]), dtype=dz.dtype))
             for n in (t, shape[0] - t - 1)]
    return cat([zeros[0], dz.unsqueeze(0), zeros[1]], axis=0)


class RNNStep(_FusedStep):
    """h' = tanh(x_proj[t] + h W_hh^T)  (or relu): one step of nn.RNN as one op.

    (nn.RNN adds b_hh into x_proj once, for all steps: x W_ih^T + b_ih + b_hh.)
    Backward, with a = the pre-activation and dh' the upstream gradient:

        da = dh' * (1 - h'^2)   (relu: dh' where h' > 0)
        d x_proj[t] = da,  d h = da W_hh,  d W_hh = da^T h
    """

    @staticmethod
    def forward(ctx, x_proj, h, w_hh, *, t, nonlinearity="tanh", shared=None):
        out = None if shared is None else shared.output_row(ctx, t)
        w_t = w_hh.data.T if out is None else shared.w_hh_t
        out = np.matmul(h.data, w_t, out=out)  # (batch, H): the output, in place
        out += x_proj.data[t]
        if nonlinearity == "tanh":
            np.tanh(out, out=out)
        else:
            np.maximum(out, 0, out=out)
        ctx.t, ctx.x_shape, ctx.nonlinearity = t, x_proj.shape, nonlinearity
        ctx.save_for_backward(h, w_hh)
        return ctx.save_output(out)

    @staticmethod
    def backward(ctx, grad_output):
        h, w_hh = ctx.saved_tensors
        if ctx.create_graph:
            return _rnn_step_backward_recorded(ctx, grad_output, h, w_hh)
        y = ctx._output_data
        da, _ = _FusedStep._rows(ctx, y)
        if ctx.nonlinearity == "tanh":  # da = g (1 - y^2), in three passes
            np.multiply(y, y, out=da)
            np.subtract(1, da, out=da)
            da *= grad_output.data
        else:
            np.multiply(grad_output.data, y > 0, out=da)
        grad_h = _array(da @ w_hh.data) if ctx.needs_input_grad[1] else None
        grad_x, grad_w, _ = _FusedStep._shared_grads(ctx, da, da, h.data, False)
        return grad_x, grad_h, grad_w


def _rnn_step_backward_recorded(ctx, grad_output, h, w_hh) -> tuple:
    """RNNStep's backward as Tensor ops (create_graph): the output recomputed from the
    inputs, so that the gradient depends on them and can be differentiated again."""
    x_proj = ctx.inputs[0]
    a = x_proj[ctx.t] + h @ w_hh.T
    slope = 1 - a.tanh() ** 2 if ctx.nonlinearity == "tanh" else (a.data > 0) * 1.0
    da = grad_output * slope
    return _row_gradient(da, ctx.t, x_proj.shape), da @ w_hh, da.T @ h


class LSTMStep(_FusedStep):
    """[h' | c'] = one LSTM step as ONE op (the equations of `_lstm_step`), for nn.LSTM.

    The state is h and c joined along the last axis, (batch, 2H), as the step's input
    and as its output (an op has one output): the next step takes it as it is, and the
    layer slices h from all the steps at once. (nn.LSTM adds b_hh into x_proj, once.)
    Backward, with dh', dc' the two halves of the upstream gradient:

        dc  = dc' + dh' * o * (1 - tanh(c')^2)        (all of c's gradient, c' = f c + i g)
        dz  = [dc*g * i(1-i) | dc*c * f(1-f) | dc*i * (1-g^2) | dh'*tanh(c') * o(1-o)]
        d x_proj[t] = dz,  d [h | c] = [dz W_hh | dc * f],  d W_hh = dz^T h

    where z = x_proj[t] + h W_hh^T are the gates before their activations.
    """

    @staticmethod
    def forward(ctx, x_proj, state, w_hh, *, t, shared=None):
        size = w_hh.shape[1]
        h, c = state.data[:, :size], state.data[:, size:]
        out = None if shared is None else shared.output_row(ctx, t)  # [h' | c']
        acts = h @ (w_hh.data.T if out is None else shared.w_hh_t)  # (batch, 4H), new:
        acts += x_proj.data[t]                                      # [i | f | g | o]
        # the activations, in place: sigmoid on i, f and o, tanh on g
        sigmoid_array(acts[:, :2 * size], out=acts[:, :2 * size])
        np.tanh(acts[:, 2 * size:3 * size], out=acts[:, 2 * size:3 * size])
        sigmoid_array(acts[:, 3 * size:], out=acts[:, 3 * size:])
        i, f, g, o = (acts[:, k * size:(k + 1) * size] for k in range(4))
        if out is None:
            out = np.empty(state.shape, dtype=acts.dtype)
        c_next = out[:, size:]
        np.multiply(f, c, out=c_next)
        c_next += i * g
        tanh_c = np.tanh(c_next)
        np.multiply(o, tanh_c, out=out[:, :size])
        ctx.t, ctx.x_shape = t, x_proj.shape
        ctx.save_for_backward(state, w_hh, acts, tanh_c)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        state, w_hh, acts, tanh_c = ctx.saved_tensors
        if ctx.create_graph:
            return _lstm_step_backward_recorded(ctx, grad_output, state, w_hh)
        size = w_hh.shape[1]
        grad = grad_output.data
        dh, dc_next = grad[:, :size], grad[:, size:]
        h, c = state.data[:, :size], state.data[:, size:]
        i, f, g, o = (acts[:, k * size:(k + 1) * size] for k in range(4))
        # (each block computed whole, then written into its columns of dz: a chain of
        # in-place ops on a strided column block is slower than on a fresh array)
        dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
        dz, _ = _FusedStep._rows(ctx, acts)
        dz[:, :size] = dc * g * i * (1 - i)
        dz[:, size:2 * size] = dc * c * f * (1 - f)
        dz[:, 2 * size:3 * size] = dc * i * (1 - g * g)
        dz[:, 3 * size:] = dh * tanh_c * o * (1 - o)
        grad_state = None
        if ctx.needs_input_grad[1]:
            grad_state = np.empty_like(state.data)  # [dz W_hh | dc f]
            np.matmul(dz, w_hh.data, out=grad_state[:, :size])
            np.multiply(dc, f, out=grad_state[:, size:])
            grad_state = _array(grad_state)
        grad_x, grad_w, _ = _FusedStep._shared_grads(ctx, dz, dz, h, False)
        return grad_x, grad_state, grad_w


def _lstm_step_backward_recorded(ctx, grad_output, state, w_hh) -> tuple:
    """LSTMStep's backward as Tensor ops, for create_graph=True: the gates are recomputed
    from the inputs (not taken from forward's arrays), so that this gradient depends on
    the inputs the way it should, and can be differentiated again."""
    x_proj, size = ctx.inputs[0], w_hh.shape[1]
    h, c = state[:, :size], state[:, size:]
    z = x_proj[ctx.t] + h @ w_hh.T
    i, f = z[:, :size].sigmoid(), z[:, size:2 * size].sigmoid()
    g, o = z[:, 2 * size:3 * size].tanh(), z[:, 3 * size:].sigmoid()
    tanh_c = (f * c + i * g).tanh()
    grad_h, grad_c = grad_output[:, :size], grad_output[:, size:]
    dc = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
    dz = cat([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
              grad_h * tanh_c * o * (1 - o)], axis=-1)
    return (_row_gradient(dz, ctx.t, x_proj.shape), cat([dz @ w_hh, dc * f], axis=-1),
            dz.T @ h)


class GRUStep(_FusedStep):
    """h' = one GRU step as ONE op (the equations of `_gru_step`), for nn.GRU.

    With hp = h W_hh^T + b_hh (the hidden part of every gate, [r | z | n] blocks) and
    x_proj[t] = x W_ih^T + b_ih:

        r, z = sigmoid(x_proj[t][r, z] + hp[r, z]),   n = tanh(x_proj[t][n] + r * hp[n])
        h' = n + z * (h - n)

    Backward, with dh' upstream and a_n = n's pre-activation:

        da_n = dh' (1 - z)(1 - n^2),  dz = dh' (h - n) z(1 - z),  dr = da_n hp[n] r(1 - r)
        d x_proj[t] = [dr | dz | da_n],   d hp = [dr | dz | da_n * r]
        d h = dh' * z + d hp W_hh,   d W_hh = d hp^T h,   d b_hh = sum of d hp
    """

    @staticmethod
    def forward(ctx, x_proj, h, w_hh, b_hh=None, *, t, shared=None):
        size = h.shape[-1]
        out = None if shared is None else shared.output_row(ctx, t)
        hp = h.data @ (w_hh.data.T if out is None else shared.w_hh_t)  # (batch, 3H)
        if b_hh is not None:
            hp += b_hh.data
        xp = x_proj.data[t]
        rz = xp[:, :2 * size] + hp[:, :2 * size]
        sigmoid_array(rz, out=rz)
        r, z = rz[:, :size], rz[:, size:]
        n = hp[:, 2 * size:] * r
        n += xp[:, 2 * size:]
        np.tanh(n, out=n)
        out = np.subtract(h.data, n, out=out)  # h' = n + z (h - n)
        out *= z
        out += n
        ctx.t, ctx.x_shape = t, x_proj.shape
        ctx.save_for_backward(h, w_hh, rz, n, hp[:, 2 * size:])
        return out

    @staticmethod
    def backward(ctx, grad_output):
        h, w_hh, rz, n, hp_n = ctx.saved_tensors
        with_bias = len(ctx.needs_input_grad) > 3
        if ctx.create_graph:
            return _gru_step_backward_recorded(ctx, grad_output, h, w_hh)[
                :len(ctx.needs_input_grad)]
        size = h.shape[-1]
        dh = grad_output.data
        r, z = rz[:, :size], rz[:, size:]
        dx, d_hidden = _FusedStep._rows(ctx, np.empty((dh.shape[0], 3 * size), dh.dtype))
        if d_hidden is None:
            d_hidden = np.empty_like(dx)
        da_n = dh * (1 - z) * (1 - n * n)  # each block whole, then into its columns
        dx[:, :size] = da_n * hp_n * r * (1 - r)
        dx[:, size:2 * size] = dh * (h.data - n) * z * (1 - z)
        dx[:, 2 * size:] = da_n
        d_hidden[:, :2 * size] = dx[:, :2 * size]
        np.multiply(da_n, r, out=d_hidden[:, 2 * size:])
        grad_h = None
        if ctx.needs_input_grad[1]:
            grad_h = d_hidden @ w_hh.data
            grad_h += dh * z
            grad_h = _array(grad_h)
        grad_x, grad_w, grad_b = _FusedStep._shared_grads(ctx, dx, d_hidden, h.data,
                                                          with_bias)
        return (grad_x, grad_h, grad_w, grad_b)[:len(ctx.needs_input_grad)]


def _gru_step_backward_recorded(ctx, grad_output, h, w_hh) -> tuple:
    """GRUStep's backward as Tensor ops (create_graph), the gates recomputed from the
    inputs as in _lstm_step_backward_recorded."""
    x_proj, size = ctx.inputs[0], h.shape[-1]
    b_hh = ctx.inputs[3] if len(ctx.inputs) > 3 else None
    hp = F.linear(h, w_hh, b_hh)
    xp = x_proj[ctx.t]
    r = (xp[:, :size] + hp[:, :size]).sigmoid()
    z = (xp[:, size:2 * size] + hp[:, size:2 * size]).sigmoid()
    n = (xp[:, 2 * size:] + r * hp[:, 2 * size:]).tanh()
    dh = grad_output
    da_n = dh * (1 - z) * (1 - n * n)
    dz = dh * (h - n) * z * (1 - z)
    dr = da_n * hp[:, 2 * size:] * r * (1 - r)
    d_hidden = cat([dr, dz, da_n * r], axis=-1)
    return (_row_gradient(cat([dr, dz, da_n], axis=-1), ctx.t, x_proj.shape),
            dh * z + d_hidden @ w_hh, d_hidden.T @ h,
            d_hidden.sum(axis=0) if b_hh is not None else None)


# ---------------------------------------------------------------------------------------
# shared checks and set-up
# ---------------------------------------------------------------------------------------


def _check_size(layer: str, label: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: {label} must be a positive int, got {value!r}")
    return int(value)


def _check_nonlinearity(layer: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{layer}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


def _as_input(x, dtype) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=dtype))


def _reset_parameters(module: Module, hidden_size: int) -> None:
    """Every parameter from U(-1/sqrt(H), 1/sqrt(H)), in the order they were created
    (the order PyTorch draws them in)."""
    bound = 1 / math.sqrt(hidden_size)
    for param in module.parameters():
        init.uniform_(param, -bound, bound)


def _new_weights(module: Module, suffix: str, gates: int, input_size: int, hidden_size: int,
                 bias: bool, dtype) -> None:
    """Create weight_ih{suffix}, weight_hh{suffix} and, with bias, bias_ih/bias_hh{suffix}
    (empty: _reset_parameters fills them), in PyTorch's order."""
    rows = gates * hidden_size
    setattr(module, "weight_ih" + suffix, Parameter(np.empty((rows, input_size), dtype=dtype)))
    setattr(module, "weight_hh" + suffix, Parameter(np.empty((rows, hidden_size), dtype=dtype)))
    if bias:
        setattr(module, "bias_ih" + suffix, Parameter(np.empty(rows, dtype=dtype)))
        setattr(module, "bias_hh" + suffix, Parameter(np.empty(rows, dtype=dtype)))
    else:
        setattr(module, "bias_ih" + suffix, None)
        setattr(module, "bias_hh" + suffix, None)


# ---------------------------------------------------------------------------------------
# cells: one time step
# ---------------------------------------------------------------------------------------


class _Cell(Module):
    """What the three cells share: the parameters, the checks on x and on the state."""

    gates = 1  # how many blocks of H rows weight_ih and weight_hh stack

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        _new_weights(self, "", self.gates, self.input_size, self.hidden_size, self.bias, dtype)
        _reset_parameters(self, self.hidden_size)

    def _check_input(self, x) -> tuple[Tensor, bool]:
        """x as a (batch, input_size) Tensor, and whether it came with a batch axis."""
        x = _as_input(x, self.weight_ih.dtype)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: expected an input of shape (batch, {self.input_size}) "
                f"or ({self.input_size},), got {x.shape}")
        return (x, True) if x.ndim == 2 else (x.reshape(1, -1), False)

    def _check_state(self, state, batch: int, batched: bool, label: str = "hx") -> Tensor:
        """The state as a (batch, hidden_size) Tensor; zeros when not given."""
        if state is None:
            return Tensor(np.zeros((batch, self.hidden_size), dtype=self.weight_hh.dtype))
        state = _as_input(state, self.weight_hh.dtype)
        expected = (batch, self.hidden_size) if batched else (self.hidden_size,)
        if state.shape != expected:
            raise ValueError(f"{type(self).__name__}: {label} must have shape {expected} for "
                             f"this input, got {state.shape}")
        return state if batched else state.reshape(1, -1)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}"
                + ("" if self.bias else ", bias=False"))


def _unbatch(t: Tensor, batched: bool) -> Tensor:
    return t if batched else t.reshape(-1)


class RNNCell(_Cell):
    """An Elman RNN cell: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh).

    Args:
        input_size: features of x.
        hidden_size: features of h (H).
        bias: with b_ih and b_hh (default True).
        nonlinearity: "tanh" (default) or "relu".
        dtype: of the parameters (default: `tg.get_default_dtype()`).

    Parameters (PyTorch's names and shapes): weight_ih (H, input_size), weight_hh (H, H),
    bias_ih (H,), bias_hh (H,), all from U(-1/sqrt(H), 1/sqrt(H)).

    `cell(x, h=None)`: x of shape (batch, input_size) or (input_size,), h of shape
    (batch, H) or (H,) (zeros when omitted); returns h'.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype=None):
        self.nonlinearity = _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, x, hx=None) -> Tensor:
        x, batched = self._check_input(x)
        h = self._check_state(hx, x.shape[0], batched)
        x_proj = F.linear(x, self.weight_ih, self.bias_ih)
        return _unbatch(_rnn_step(x_proj, h, self.weight_hh, self.bias_hh, self.nonlinearity),
                        batched)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + (", nonlinearity=relu" if self.nonlinearity == "relu" else "")


class LSTMCell(_Cell):
    """A long short-term memory cell, PyTorch's equations and gate order (i, f, g, o):

        [i, f, g, o] = x W_ih^T + b_ih + h W_hh^T + b_hh   (split into four blocks of H)
        i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);   g = tanh(g)
        c' = f * c + i * g,   h' = o * tanh(c')

    Args:
        input_size: features of x.
        hidden_size: features of h and c (H).
        bias: with b_ih and b_hh (default True).
        dtype: of the parameters (default: `tg.get_default_dtype()`).

    Parameters: weight_ih (4H, input_size), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,).

    `cell(x, (h, c)=None)` returns (h', c'); the state defaults to zeros.
    """

    gates = 4

    def forward(self, x, hx=None) -> tuple[Tensor, Tensor]:
        x, batched = self._check_input(x)
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise ValueError("LSTMCell: the state must be a pair (h, c), got "
                             f"{type(hx).__name__}")
        h = self._check_state(hx[0], x.shape[0], batched, "h")
        c = self._check_state(hx[1], x.shape[0], batched, "c")
        x_proj = F.linear(x, self.weight_ih, self.bias_ih)
        h, c = _lstm_step(x_proj, h, c, self.weight_hh, self.bias_hh)
        return _unbatch(h, batched), _unbatch(c, batched)


class GRUCell(_Cell):
    """A gated recurrent unit, PyTorch's equations and gate order (r, z, n):

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    Args:
        input_size: features of x.
        hidden_size: features of h (H).
        bias: with b_ih and b_hh (default True).
        dtype: of the parameters (default: `tg.get_default_dtype()`).

    Parameters: weight_ih (3H, input_size), weight_hh (3H, H), bias_ih (3H,), bias_hh (3H,).

    `cell(x, h=None)` returns h'; h defaults to zeros.
    """

    gates = 3

    def forward(self, x, hx=None) -> Tensor:
        x, batched = self._check_input(x)
        h = self._check_state(hx, x.shape[0], batched)
        x_proj = F.linear(x, self.weight_ih, self.bias_ih)
        return _unbatch(_gru_step(x_proj, h, self.weight_hh, self.bias_hh), batched)


# ---------------------------------------------------------------------------------------
# layers: whole sequences, stacked
# ---------------------------------------------------------------------------------------


class _Recurrent(Module):
    """What RNN, LSTM and GRU share: parameters per layer, input layouts, the time loop."""

    gates = 1
    has_cell_state = False  # LSTM: the state is (h, c)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.num_layers = _check_size(name, "num_layers", num_layers)
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout is a probability in [0, 1], got {dropout!r}")
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        # PyTorch's order: layer by layer; in each, the forward direction's weights then
        # the reverse direction's ("_reverse"); ih before hh, weights before biases
        for k in range(self.num_layers):
            size_in = self.input_size if k == 0 else self.hidden_size * self._directions
            for suffix in self._suffixes(k):
                _new_weights(self, suffix, self.gates, size_in, self.hidden_size, self.bias,
                             dtype)
        _reset_parameters(self, self.hidden_size)

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self, k: int) -> tuple:
        """The parameter name endings of layer k: "_l{k}" (and "_l{k}_reverse")."""
        return (f"_l{k}", f"_l{k}_reverse") if self.bidirectional else (f"_l{k}",)

    def _weights(self, suffix: str) -> tuple:
        return (getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix),
                getattr(self, "bias_ih" + suffix), getattr(self, "bias_hh" + suffix))

    def _check_input(self, x) -> tuple[Tensor, bool]:
        """x as a time-major (seq, batch, input_size) Tensor, and whether it had a batch."""
        name = type(self).__name__
        x = _as_input(x, self.weight_ih_l0.dtype)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(batch, seq, " if self.batch_first else "(seq, batch, "
            raise ValueError(f"{name}: expected an input of shape {layout}{self.input_size}) "
                             f"or unbatched (seq, {self.input_size}), got {x.shape}")
        seq_axis = 1 if x.ndim == 3 and self.batch_first else 0
        if x.shape[seq_axis] == 0:
            raise ValueError(f"{name}: the sequence is empty (input shape {x.shape})")
        if x.ndim == 2:
            return x.unsqueeze(1), False
        return (x.swapaxes(0, 1) if self.batch_first else x), True

    def _check_state(self, state, batch: int, batched: bool, label: str) -> list:
        """The initial state of each layer and direction, as (batch, H) Tensors, in
        PyTorch's order l0, (l0 reverse,) l1, ... (zeros when not given)."""
        dtype = self.weight_hh_l0.dtype
        count = self.num_layers * self._directions
        if state is None:
            return [Tensor(np.zeros((batch, self.hidden_size), dtype=dtype))] * count
        state = _as_input(state, dtype)
        expected = (count, batch, self.hidden_size) if batched else (count, self.hidden_size)
        if state.shape != expected:
            first = "num_layers * 2" if self.bidirectional else "num_layers"
            raise ValueError(f"{type(self).__name__}: {label} must have shape ({first}, "
                             f"{'batch, ' if batched else ''}hidden_size) = {expected}, got "
                             f"{state.shape}")
        if not batched:
            state = state.unsqueeze(1)
        return [state[k] for k in range(count)]

    def _run_direction(self, suffix: str, sequence: Tensor, state: tuple,
                       reverse: bool = False) -> tuple[Tensor, tuple]:
        """One layer in one direction over a (seq, batch, in) sequence: its outputs,
        (seq, batch, H) in time order, and its final state. `suffix` names the weights:
        "_l0", "_l0_reverse", ..."""
        w_ih, w_hh, b_ih, b_hh = self._weights(suffix)
        # The input's part of every gate, x_t W_ih^T + b_ih, does not depend on the state:
        # it is computed for all the steps in ONE matrix product, (seq, batch, in) to
        # (seq, batch, gates * H), and each step reads its row t.
        x_proj = self._project(sequence, w_ih, b_ih, b_hh)
        if reverse:  # the same steps over the reversed sequence; the outputs turned back
            x_proj = x_proj.flip(0)
        steps, size = x_proj.shape[0], self.hidden_size
        state = self._joined(state)
        record = None  # what the steps share (see _Sequence)
        if is_grad_enabled() and any(t is not None and t.requires_grad
                                     for t in (x_proj, state, w_hh, b_hh)):
            record = self._new_sequence(x_proj.data, state.data, w_hh.data)
        outputs = []
        for t in range(steps):
            state = self._step(x_proj, state, w_hh, b_hh, t, record)
            outputs.append(state)
        if record is not None:
            record.finish()
        if record is not None and record.written == steps:  # the rows, as they are
            output = _StepOutputs.apply(*outputs, shared=record)
        else:  # (seq * batch, width) joined in one op, viewed as (seq, batch, width)
            output = cat(outputs, axis=0).reshape(steps, *outputs[0].shape)
        if self.has_cell_state:  # the states are [h | c]: the outputs are the h
            output = output[..., :size]
        if reverse:
            output = output.flip(0)
        return output, self._split(state)

    def _project(self, sequence: Tensor, w_ih: Tensor, b_ih, b_hh) -> Tensor:
        """x W_ih^T + b_ih (+ b_hh: an RNN's and an LSTM's steps add it to x's part,
        so it is added once here, for every step)."""
        if b_ih is not None:
            b_ih = b_ih + b_hh
        return F.linear(sequence, w_ih, b_ih)

    def _joined(self, state: tuple) -> Tensor:
        """The state as the steps take it: h (an LSTM: [h | c], joined)."""
        return state[0]

    def _split(self, state: Tensor) -> tuple:
        return (state,)

    def _new_sequence(self, x_proj: np.ndarray, state: np.ndarray,
                      w_hh: np.ndarray) -> _Sequence:
        return _Sequence(x_proj, state, w_hh, self.hidden_size)

    def _step(self, x_proj: Tensor, state: Tensor, w_hh: Tensor, b_hh, t: int,
              shared) -> Tensor:
        raise NotImplementedError

    def forward(self, x, hx=None):
        x, batched = self._check_input(x)
        batch = x.shape[1]
        if self.has_cell_state:
            if hx is None:
                hx = (None, None)
            elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise ValueError(f"{type(self).__name__}: the initial state must be a pair "
                                 f"(h_0, c_0), got {type(hx).__name__}")
            states = list(zip(self._check_state(hx[0], batch, batched, "h_0"),
                              self._check_state(hx[1], batch, batched, "c_0")))
        else:
            states = [(h,) for h in self._check_state(hx, batch, batched, "h_0")]
        sequence = x  # (seq, batch, features): the input of layer 0, then each layer's output
        finals = []
        for k in range(self.num_layers):
            if k > 0 and self.dropout > 0:  # between layers, never after the last one
                sequence = F.dropout(sequence, self.dropout, self.training)
            forward_suffix, *reverse = self._suffixes(k)
            output, final = self._run_direction(forward_suffix, sequence,
                                                states[k * self._directions])
            finals.append(final)
            if reverse:  # the same over the reversed sequence: [forward h_t | reverse h_t]
                backward_output, final = self._run_direction(reverse[0], sequence,
                                                             states[2 * k + 1], reverse=True)
                finals.append(final)
                output = cat([output, backward_output], axis=-1)  # (seq, batch, 2H)
            sequence = output
        if not batched:
            output = output.reshape(output.shape[0], output.shape[2])
        if batched and self.batch_first:
            output = output.swapaxes(0, 1)
        # the final states of all layers (and directions), (num_layers * directions,
        # batch, H), or (num_layers * directions, H) unbatched
        # (joined even when there is one: a copy, never a view of the steps' states)
        count = len(finals)
        shape = (count, batch, self.hidden_size) if batched else (count, self.hidden_size)
        parts = [cat([f[i] for f in finals], axis=0).reshape(shape)
                 for i in range(len(finals[0]))]
        return output, (tuple(parts) if self.has_cell_state else parts[0])

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(_Recurrent):
    """A multi-layer Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    Args:
        input_size: features of x.
        hidden_size: features of h (H).
        num_layers: stacked layers; layer k > 0 reads the outputs of layer k - 1.
        nonlinearity: "tanh" (default) or "relu".
        bias: with b_ih and b_hh (default True).
        batch_first: the input and output are (batch, seq, feature) instead of
            (seq, batch, feature). The state is (D * num_layers, batch, H) either way.
        dropout: dropout on the outputs of every layer but the last, in training mode.
        bidirectional: also run each layer over the reversed sequence (weights
            `*_reverse`) and join the two outputs feature-wise: 2H features out, and
            D = 2 directions in the states (D = 1 otherwise).
        dtype: of the parameters (default: `tg.get_default_dtype()`).

    Parameters, for k = 0 .. num_layers - 1, as in PyTorch: weight_ih_l{k} (H, input_size
    for k = 0, else D * H), weight_hh_l{k} (H, H), bias_ih_l{k} (H,), bias_hh_l{k} (H,)
    (and the same with the suffix `_reverse` after each layer's, when bidirectional).

    `rnn(x, h_0=None)` returns (output, h_n): output (seq, batch, D * H), the last layer's
    h_t for every t; h_n (D * num_layers, batch, H), every layer's (and direction's) last
    h, in the order l0, l0 reverse, l1, ... . Unbatched input (seq, input_size) gives
    output (seq, D * H) and h_n (D * num_layers, H).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype=None):
        self.nonlinearity = _check_nonlinearity("RNN", nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)

    def _step(self, x_proj, state, w_hh, b_hh, t, shared):
        return RNNStep.apply(x_proj, state, w_hh, t=t, nonlinearity=self.nonlinearity,
                             shared=shared)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + (", nonlinearity=relu" if self.nonlinearity == "relu" else "")


class LSTM(_Recurrent):
    """A multi-layer LSTM, each step as `LSTMCell` (gates i, f, g, o).

    Args:
        input_size: features of x.
        hidden_size: features of h and c (H).
        num_layers: stacked layers; layer k > 0 reads the outputs of layer k - 1.
        bias: with b_ih and b_hh (default True).
        batch_first: the input and output are (batch, seq, feature) instead of
            (seq, batch, feature). The states are (D * num_layers, batch, H) either way.
        dropout: dropout on the outputs of every layer but the last, in training mode.
        bidirectional: also run each layer over the reversed sequence (weights
            `*_reverse`) and join the two outputs feature-wise: 2H features out, and
            D = 2 directions in the states (D = 1 otherwise).
        dtype: of the parameters (default: `tg.get_default_dtype()`).

    Parameters, for k = 0 .. num_layers - 1: weight_ih_l{k} (4H, input_size for k = 0,
    else D * H), weight_hh_l{k} (4H, H), bias_ih_l{k} (4H,), bias_hh_l{k} (4H,) (and the
    `_reverse` ones when bidirectional).

    `lstm(x, (h_0, c_0)=None)` returns (output, (h_n, c_n)): output (seq, batch, D * H),
    the last layer's h_t for every t; h_n and c_n (D * num_layers, batch, H).
    """

    gates = 4
    has_cell_state = True

    def _joined(self, state):
        return cat([state[0], state[1]], axis=-1)  # [h | c]

    def _split(self, state):
        size = self.hidden_size
        return state[:, :size], state[:, size:]

    def _step(self, x_proj, state, w_hh, b_hh, t, shared):
        return LSTMStep.apply(x_proj, state, w_hh, t=t, shared=shared)


class GRU(_Recurrent):
    """A multi-layer GRU, each step as `GRUCell` (gates r, z, n).

    Args:
        input_size: features of x.
        hidden_size: features of h (H).
        num_layers: stacked layers; layer k > 0 reads the outputs of layer k - 1.
        bias: with b_ih and b_hh (default True).
        batch_first: the input and output are (batch, seq, feature) instead of
            (seq, batch, feature). The state is (D * num_layers, batch, H) either way.
        dropout: dropout on the outputs of every layer but the last, in training mode.
        bidirectional: also run each layer over the reversed sequence (weights
            `*_reverse`) and join the two outputs feature-wise: 2H features out, and
            D = 2 directions in the states (D = 1 otherwise).
        dtype: of the parameters (default: `tg.get_default_dtype()`).

    Parameters, for k = 0 .. num_layers - 1: weight_ih_l{k} (3H, input_size for k = 0,
    else D * H), weight_hh_l{k} (3H, H), bias_ih_l{k} (3H,), bias_hh_l{k} (3H,) (and the
    `_reverse` ones when bidirectional).

    `gru(x, h_0=None)` returns (output, h_n), shaped as for `RNN`.
    """

    gates = 3

    def _project(self, sequence, w_ih, b_ih, b_hh):
        return F.linear(sequence, w_ih, b_ih)  # (b_hh stays in the step: r multiplies it)

    def _new_sequence(self, x_proj, state, w_hh):
        return _Sequence(x_proj, state, w_hh, self.hidden_size,
                         hidden_width=3 * self.hidden_size)

    def _step(self, x_proj, state, w_hh, b_hh, t, shared):
        if b_hh is None:
            return GRUStep.apply(x_proj, state, w_hh, t=t, shared=shared)
        return GRUStep.apply(x_proj, state, w_hh, b_hh, t=t, shared=shared)

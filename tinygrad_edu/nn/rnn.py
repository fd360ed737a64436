"""Recurrent layers: RNN, LSTM, GRU and their cells, with PyTorch's equations and layouts.

A cell computes one time step: from the input x_t and the state of the previous step it
makes the next state. A layer (`RNN`, `LSTM`, `GRU`) runs its cell over a whole sequence
in a plain Python loop, and stacks layers on top of each other (`num_layers`): the
outputs of one layer are the inputs of the next.

The cells are built from existing ops (`F.linear`, `sigmoid`, `tanh`, slicing, `*`,
`+`), so their graphs show every gate. `nn.LSTM` runs the same equations as one op per
step (`LSTMStep`, its backward written out here), because a long sequence of primitive
steps costs more in bookkeeping than in arithmetic; `nn.RNN` and `nn.GRU` run their cells.
Either way the sequence is an unrolled loop of ordinary ops, and backpropagation through
time is the engine's walk back through it, like through any other graph: the walk is
iterative, so thousands of steps backpropagate without hitting Python's recursion limit.

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
from ..engine import Function
from ..functions import cat
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


class LSTMStep(Function):
    """[h' | c'] = one LSTM step (the equations of `_lstm_step`) as ONE op, for nn.LSTM.

    Why one op: written with primitives, a step is about 16 ops (a matrix product, four
    slices, three activations, products and sums), and a sequence of 50 steps makes a
    graph of 800 nodes whose bookkeeping costs more than their arithmetic. PyTorch fuses
    the step too. `nn.LSTMCell` keeps the primitives, so its graph shows every gate.

    The output joins h' and c' along the last axis (an op has one output); the caller
    slices them apart. Backward, with dh', dc' the two halves of the upstream gradient:

        dc  = dc' + dh' * o * (1 - tanh(c')^2)        (all of c's gradient, c' = f c + i g)
        dz  = [dc*g * i(1-i) | dc*c * f(1-f) | dc*i * (1-g^2) | dh'*tanh(c') * o(1-o)]
        d x_proj = dz,  d h = dz W_hh,  d c_prev = dc * f,  d W_hh = dz^T h,  d b_hh = sum dz

    where z = x_proj + h W_hh^T + b_hh are the gates before their activations.
    """

    @staticmethod
    def forward(ctx, x_proj, h, c, w_hh, b_hh=None):
        size = h.shape[-1]
        z = x_proj.data + h.data @ w_hh.data.T  # (batch, 4H): [i | f | g | o]
        if b_hh is not None:
            z += b_hh.data
        i_f = sigmoid_array(z[..., :2 * size])
        i, f = i_f[..., :size], i_f[..., size:]
        g = np.tanh(z[..., 2 * size:3 * size])
        o = sigmoid_array(z[..., 3 * size:])
        c_next = f * c.data + i * g
        tanh_c = np.tanh(c_next)
        ctx.save_for_backward(x_proj, h, c, w_hh, b_hh, i, f, g, o, tanh_c)
        return np.concatenate([o * tanh_c, c_next], axis=-1)

    @staticmethod
    def backward(ctx, grad_output):
        x_proj, h, c, w_hh, b_hh, i, f, g, o, tanh_c = ctx.saved_tensors
        inputs = len(ctx.needs_input_grad)  # 4 without b_hh
        if ctx.create_graph:  # the same formulas, recorded (see below)
            return _lstm_step_backward_recorded(grad_output, x_proj, h, c, w_hh,
                                                b_hh)[:inputs]
        size = h.shape[-1]
        grad_h, grad_c = grad_output.data[..., :size], grad_output.data[..., size:]
        dc = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
        dz = np.concatenate([dc * g * i * (1 - i), dc * c.data * f * (1 - f),
                             dc * i * (1 - g * g), grad_h * tanh_c * o * (1 - o)], axis=-1)
        need_x, need_h, need_c, need_w, need_b = ctx.needs_input_grad + (False,) * (5 - inputs)
        rows = dz.reshape(-1, dz.shape[-1])
        return (_array(dz) if need_x else None,
                _array(dz @ w_hh.data) if need_h else None,
                _array(dc * f) if need_c else None,
                _array(rows.T @ h.data.reshape(-1, size)) if need_w else None,
                _array(rows.sum(axis=0)) if need_b else None)[:inputs]


def _array(value: np.ndarray) -> Tensor:
    return Tensor._make(value, False, None)


def _lstm_step_backward_recorded(grad_output, x_proj, h, c, w_hh, b_hh) -> tuple:
    """LSTMStep's backward as Tensor ops, for create_graph=True: the gates are recomputed
    from the inputs (not taken from forward's arrays), so that this gradient depends on
    the inputs the way it should, and can be differentiated again."""
    size = h.shape[-1]
    z = x_proj + F.linear(h, w_hh, b_hh)
    i, f = z[..., :size].sigmoid(), z[..., size:2 * size].sigmoid()
    g, o = z[..., 2 * size:3 * size].tanh(), z[..., 3 * size:].sigmoid()
    tanh_c = (f * c + i * g).tanh()
    grad_h, grad_c = grad_output[..., :size], grad_output[..., size:]
    dc = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
    dz = cat([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
              grad_h * tanh_c * o * (1 - o)], axis=-1)
    rows = dz.reshape(-1, dz.shape[-1])
    return (dz, dz @ w_hh, dc * f, rows.T @ h.reshape(-1, size),
            rows.sum(axis=0) if b_hh is not None else None)


def _lstm_step_fused(x_proj: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh) -> tuple:
    """(h', c') of one LSTM step, by the fused op."""
    size = h.shape[-1]
    both = LSTMStep.apply(x_proj, h, c, w_hh, b_hh) if b_hh is not None else \
        LSTMStep.apply(x_proj, h, c, w_hh)
    return both[..., :size], both[..., size:]


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
        # (seq, batch, gates * H), and the loop reads one step of it at a time. Only
        # h W_hh^T must wait for the previous step. (Backward adds each step's slice of
        # the gradient in place, so reading x_proj[t] step by step costs no more.)
        x_proj = F.linear(sequence, w_ih, b_ih)
        seq = sequence.shape[0]
        outputs = []
        for t in (range(seq - 1, -1, -1) if reverse else range(seq)):
            state = self._step(x_proj[t], state, w_hh, b_hh)
            outputs.append(state[0])
        if reverse:
            outputs.reverse()
        # (seq * batch, H) joined in one op, then viewed as (seq, batch, H): as
        # tg.stack(outputs), which would add one unsqueeze op per step
        return cat(outputs, axis=0).reshape(seq, *outputs[0].shape), state

    def _step(self, x_proj: Tensor, state: tuple, w_hh: Tensor, b_hh) -> tuple:
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
        count = len(finals)
        parts = [cat([f[i] for f in finals], axis=0)
                 .reshape((count, batch, self.hidden_size) if batched
                          else (count, self.hidden_size))
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

    def _step(self, x_proj, state, w_hh, b_hh):
        return (_rnn_step(x_proj, state[0], w_hh, b_hh, self.nonlinearity),)

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

    def _step(self, x_proj, state, w_hh, b_hh):
        return _lstm_step_fused(x_proj, state[0], state[1], w_hh, b_hh)


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

    def _step(self, x_proj, state, w_hh, b_hh):
        return (_gru_step(x_proj, state[0], w_hh, b_hh),)

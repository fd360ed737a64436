"""Stage 7: recurrence. Backpropagation through time for a vanilla RNN over a whole
sequence: the student writes the backward loop, from the last step to the first.

The mistakes are recognised by running the same loop with one thing done wrong
(`_bptt`'s switches), on the grader's inputs, and comparing with the student's gradients.
"""

from __future__ import annotations

import numpy as np

from .exercise import Exercise
from .grading import Mistake

STAGE = "recurrence"


def _states(x, h0, w_x, w_h, b):
    """The pre-activations a and the states h of every step, both (T, N, H)."""
    a, h = [], []
    state = h0
    for x_t in x:
        a.append(x_t @ w_x + state @ w_h + b)
        state = np.tanh(a[-1])
        h.append(state)
    return np.array(a), np.array(h)


# d tanh(a)/da, the right way (1 - h^2) and the classic wrong ones
DERIVATIVES = {
    "1 - h^2": lambda a, h: 1 - h ** 2,
    "1 - a^2": lambda a, h: 1 - a ** 2,
    "1 - h": lambda a, h: 1 - h,
    "1 - tanh(h)^2": lambda a, h: 1 - np.tanh(h) ** 2,
}


def _bptt(g, x, h0, w_x, w_h, b, *, carry=True, derivative="1 - h^2", previous_state=True,
          carry_through_tanh=True):
    """(dx, dh0, dWx, dWh, db) for upstream g (T, N, H); the switches make one mistake:
    carry=False drops what flows back from step t + 1, derivative names the tanh
    derivative used, previous_state=False puts h[t] into dWh instead of h[t-1], and
    carry_through_tanh=False carries dL/dh[t] @ Wh^T instead of dL/da[t] @ Wh^T."""
    a, h = _states(x, h0, w_x, w_h, b)
    grad_x = np.zeros_like(x)
    grad_w_x, grad_w_h, grad_b = np.zeros_like(w_x), np.zeros_like(w_h), np.zeros_like(b)
    grad_h_next = np.zeros_like(h0)  # dL/dh[t] through step t + 1 (none after the last)
    for t in reversed(range(len(x))):
        grad_h = g[t] + grad_h_next if carry else g[t]
        grad_a = grad_h * DERIVATIVES[derivative](a[t], h[t])
        h_prev = h[t - 1] if t > 0 else h0
        grad_x[t] = grad_a @ w_x.T
        grad_w_x += x[t].T @ grad_a
        grad_w_h += (h_prev if previous_state else h[t]).T @ grad_a
        grad_b += grad_a.sum(axis=0)
        grad_h_next = (grad_a if carry_through_tanh else grad_h) @ w_h.T
    return grad_x, grad_h_next, grad_w_x, grad_w_h, grad_b


def _mistake(keep=(0, 1, 2, 3, 4), **switches):
    """A Mistake's vjp: _bptt with `switches`, saying something only about the inputs in
    `keep` (0 x, 1 h0, 2 Wx, 3 Wh, 4 b)."""
    def vjp(g, out, *inputs):
        grads = _bptt(g, *inputs, **switches)
        return tuple(grad if i in keep else None for i, grad in enumerate(grads))
    return vjp


def _no_h0_gradient(g, out, x, h0, w_x, w_h, b):
    return None, np.zeros_like(h0), None, None, None


RNN_BPTT = (
    Mistake("your gradients equal backprop through one step only: dL/dh_t must add what "
            "flows back from h_{t+1} through Wh. dL/dh[t] = grad_output[t] + "
            "dL/da[t+1] @ Wh^T: carry it from step t + 1 down to step t",
            _mistake(keep=(0, 2, 3, 4), carry=False)),
    Mistake("your tanh derivative is 1 - a^2, with a the pre-activation: d tanh(a)/da = "
            "1 - tanh(a)^2 = 1 - h[t]^2, written with the output h[t] that forward saved",
            _mistake(derivative="1 - a^2")),
    Mistake("your tanh derivative is 1 - h[t]: it is 1 - h[t]^2 (d tanh(a)/da = "
            "1 - tanh(a)^2, and h[t] = tanh(a[t]))",
            _mistake(derivative="1 - h")),
    Mistake("your tanh derivative is 1 - tanh(h[t])^2, tanh taken twice: h[t] is "
            "tanh(a[t]) already, so the derivative is 1 - h[t]^2",
            _mistake(derivative="1 - tanh(h)^2")),
    Mistake("your dL/dWh uses h[t], the state that step t made: step t multiplied Wh with "
            "the state it was given, h[t-1] (h0 at t = 0), so dL/dWh adds "
            "h[t-1]^T @ dL/da[t]",
            _mistake(keep=(3,), previous_state=False)),
    Mistake("your dL/dh0 is zero: h0 is an input like the others, and step 0 used it "
            "through Wh, so dL/dh0 is what the loop carries out of step 0, "
            "dL/da[0] @ Wh^T",
            _no_h0_gradient),
    Mistake("what you carry to the step before skipped the tanh: h[t-1] reaches the loss "
            "through a[t] = ... + h[t-1] @ Wh, so carry dL/da[t] @ Wh^T (after the factor "
            "1 - h[t]^2), not dL/dh[t] @ Wh^T",
            _mistake(carry_through_tanh=False)),
)

EXERCISES = [
    Exercise("rnn_bptt", "RNNSequence",
             "backprop through time, shared weights summed",
             mistakes=RNN_BPTT),
]

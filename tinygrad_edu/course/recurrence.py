"""Stage 7: recurrence. Backpropagation through time for a vanilla RNN over a whole
sequence: the student writes the backward loop, from the last step to the first.

The mistakes are recognised by running the same loop with one thing done wrong
(`_bptt`'s switches), on the grader's inputs, and comparing with the student's gradients.
"""

from __future__ import annotations

import numpy as np

from .exercise import Exercise
from .grading import Mistake, Row, attempt, compare

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

def train_an_rnn(module, path, seed):
    """An RNN that reads a sine wave and predicts its next value, trained twice from the
    same weights: with the student's RNNSequence, and with the same recurrence written
    with Tensor ops (each op's own backward). The losses must agree at every step, and
    fall."""
    import tinygrad_edu as tg  # (the Tensor floors above the course's own modules)

    rng = np.random.default_rng(seed)
    steps, batch, size = 12, 8, 6
    phase = rng.uniform(0, 2 * np.pi, batch)
    wave = np.sin(phase[None, :] + 0.4 * np.arange(steps + 1)[:, None])  # (T + 1, N)
    x, target = tg.Tensor(wave[:-1, :, None]), tg.Tensor(wave[1:, :, None])
    start = [rng.standard_normal((1, size)), rng.standard_normal((size, size)) / 3,
             np.zeros(size), rng.standard_normal((size, 1)) / 3]

    def by_ops(x, h, w_x, w_h, b):
        states = []
        for t in range(x.shape[0]):
            h = (x[t] @ w_x + h @ w_h + b).tanh()
            states.append(h)
        return tg.stack(states)

    def run(rnn):
        params = [tg.Tensor(a.copy(), requires_grad=True) for a in start]
        w_x, w_h, b, w_out = params
        h0 = tg.Tensor(np.zeros((batch, size)))
        losses = []
        for _ in range(40):  # 40 SGD steps, lr 0.1, on the mean squared error
            loss = ((rnn(x, h0, w_x, w_h, b) @ w_out - target) ** 2).mean()
            for p in params:
                p.grad = None
            loss.backward()
            for p in params:
                p.data -= 0.1 * p.grad.data
            losses.append(float(loss.data))
        return np.array(losses)

    reference = run(by_ops)
    case = "40 SGD steps on a sine wave: losses as with Tensor ops"
    rows = [attempt(case, path, lambda: compare(
        case, run(module.RNNSequence.apply), reference, rtol=1e-8, atol=1e-10,
        name="losses"))]
    if rows[0].passed:
        rows.append(Row(f"the loss fell from {reference[0]:.3f} to {reference[-1]:.3f}",
                        bool(reference[-1] < 0.5 * reference[0])))
    return rows


EXERCISES = [
    Exercise("rnn_bptt", "RNNSequence",
             "backprop through time, shared weights summed",
             mistakes=RNN_BPTT, then=("an RNN trained with your RNNSequence", train_an_rnn)),
]

"""Exercise: backpropagation through time, the backward of a recurrent network run
over a whole sequence.

A vanilla RNN reads a sequence x[0], ..., x[T-1] one step at a time and carries a
state from each step to the next, with the same weights at every step:

    a[t] = x[t] @ Wx + h_prev @ Wh + b     (N, H): the pre-activation of step t
    h[t] = tanh(a[t])                      (N, H): the state it makes
    h_prev = h[t-1] for t > 0, and h0 (an input) for t = 0

    x (T, N, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,) -> hs (T, N, H), every h[t]

Unrolled over time, this is an ordinary graph, T steps deep, and its backward is the
chain rule from the last step back to the first. What makes it "through time":

1. dL/dh[t] has two sources. The loss sees h[t] directly: grad_output[t], the
   gradient of the output at step t. And h[t] feeds step t + 1, through
   a[t+1] = ... + h[t] @ Wh, so it also gets what flows back from there:

       dL/dh[t] = grad_output[t] + dL/da[t+1] @ Wh^T      (no second term at t = T-1)

   So backward walks t = T-1, T-2, ..., 0, and each step hands dL/da[t] @ Wh^T to
   the step before it. What step 0 hands back is dL/dh0.

2. Through the tanh of each step, elementwise. With h = tanh(a), d tanh(a)/da =
   1 - tanh(a)^2 = 1 - h^2, written with the output that forward saved:

       dL/da[t] = dL/dh[t] * (1 - h[t]^2)

3. The weights are shared: Wx, Wh and b are used at every step, so their gradients
   are sums over the steps of each step's share (the share of a linear layer):

       dL/dWx   = sum over t of  x[t]^T @ dL/da[t]        (D, N) @ (N, H)
       dL/dWh   = sum over t of  h_prev^T @ dL/da[t]      (H, N) @ (N, H)
       dL/db    = sum over t of  dL/da[t] summed over the batch axis
       dL/dx[t] = dL/da[t] @ Wx^T                         (N, D), one for each step

   h_prev is the state step t was given (h[t-1], or h0), not the one it made.

What backward gets: grad_output (a Tensor (T, N, H); grad_output.data is its array)
and ctx.saved_tensors == (x, h0, w_x, w_h, hs), arrays: the inputs and the states
h[0], ..., h[T-1] of forward. Return five arrays (dL/dx, dL/dh0, dL/dWx, dL/dWh,
dL/db), each of its input's shape: start the sums at np.zeros_like(...) and add each
step's share in the loop.

Write RNNSequence.backward, then check it (in your course folder):

    tinygrad-edu exercises check rnn_bptt
"""

import numpy as np

import tinygrad_edu as tg


class RNNSequence(tg.Function):
    @staticmethod
    def forward(ctx, x, h0, w_x, w_h, b):
        steps, batch, _ = x.shape
        size = w_h.shape[0]  # H
        if (h0.shape != (batch, size) or w_h.shape != (size, size)
                or w_x.shape != (x.shape[2], size) or b.shape != (size,)):
            raise ValueError(f"rnn: shapes do not fit: x {x.shape}, h0 {h0.shape}, "
                             f"Wx {w_x.shape}, Wh {w_h.shape}, b {b.shape}")
        hs = np.empty((steps, batch, size))
        h = h0.data
        for t in range(steps):
            h = np.tanh(x.data[t] @ w_x.data + h @ w_h.data + b.data)
            hs[t] = h
        ctx.save_for_backward(x.data, h0.data, w_x.data, w_h.data, hs)
        return hs

    @staticmethod
    def backward(ctx, grad_output):
        # t = T-1, ..., 0:  dL/dh[t] = g[t] + dL/da[t+1] @ Wh^T
        #                   dL/da[t] = dL/dh[t] * (1 - h[t]^2)
        raise NotImplementedError(
            "RNNSequence.backward: write the loop, t from T-1 down to 0. Add "
            "grad_output[t] and what step t + 1 handed back, go through tanh "
            "(1 - h[t]^2), add this step's shares to dWx, dWh, db, set dx[t], and hand "
            "dL/da[t] @ Wh^T back")


def make_inputs(rng, shapes):
    """Weights scaled by 1/sqrt(fan-in), as an RNN is initialised: the pre-activations
    stay small enough that tanh is not saturated. (Where it is, 1 - h^2 is nearly 0,
    every gradient fades, and a backward that drops a term could pass unseen.)"""
    x_shape, h0_shape, w_x_shape, w_h_shape, b_shape = shapes
    return [rng.standard_normal(x_shape), 0.5 * rng.standard_normal(h0_shape),
            rng.standard_normal(w_x_shape) / np.sqrt(w_x_shape[0]),
            rng.standard_normal(w_h_shape) / np.sqrt(w_h_shape[0]),
            0.1 * rng.standard_normal(b_shape)]


# (x, h0, Wx, Wh, b): T steps of a batch of N, D inputs, H states; D != H in two cases,
# so that a transpose put in the wrong place shows as a wrong shape
SHAPES = [
    ((4, 2, 3), (2, 3), (3, 3), (3, 3), (3,)),
    ((3, 2, 2), (2, 4), (2, 4), (4, 4), (4,)),
    ((5, 1, 4), (1, 2), (4, 2), (2, 2), (2,)),
]
INPUTS = make_inputs

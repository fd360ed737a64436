"""The workloads, written once per backend: hand-written NumPy, tinygrad_edu, PyTorch.

Each `make_*` function builds its inputs once and returns `step()`, which runs one
forward + backward and returns the gradients as a tuple of NumPy arrays (so that the
backends can be compared before they are timed). Leaf gradients are cleared at the start
of every step (`.grad = None`), as an optimizer's zero_grad would.

All three backends run exactly the same sequence of ops, in the same Python loop shape.
"""

from __future__ import annotations

import numpy as np

MUL, ADD, TANH = 0, 1, 2


def op_kinds(n_ops: int) -> list[int]:
    """mul, add, tanh, mul, add, tanh, ... : `n_ops` ops in all."""
    return [i % 3 for i in range(n_ops)]


# ---------------------------------------------------------------------------------------
# W2: a chain of small elementwise ops on a (16,) float32 tensor
#
#   h = x;  repeat: h = h * a;  h = h + b;  h = tanh(h)   (200 ops)
#   loss = h.sum();  backward  ->  dloss/da, dloss/db
#
# The final sum is timed but not counted among the 200 ops.
# ---------------------------------------------------------------------------------------

W2_OPS = 200
W2_SIZE = 16


def w2_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(W2_SIZE).astype(np.float32)
    a = rng.uniform(0.5, 1.5, W2_SIZE).astype(np.float32)
    b = (0.1 * rng.standard_normal(W2_SIZE)).astype(np.float32)
    return x, a, b


def make_w2_numpy(n_ops: int = W2_OPS):
    x, a, b = w2_data()
    kinds = op_kinds(n_ops)

    def step():
        # forward, keeping what backward needs: the input of each mul, the output of tanh
        saved = []
        h = x
        for k in kinds:
            if k == MUL:
                saved.append(h)
                h = h * a
            elif k == ADD:
                h = h + b
            else:
                h = np.tanh(h)
                saved.append(h)
        h.sum()
        # backward, by hand: dloss/dh = 1 at the end, then the chain rule op by op
        g = np.ones_like(h)
        grad_a = np.zeros_like(a)
        grad_b = np.zeros_like(b)
        for k in reversed(kinds):
            if k == MUL:
                grad_a += g * saved.pop()
                g = g * a
            elif k == ADD:
                grad_b += g
            else:
                y = saved.pop()
                g = g * (1 - y * y)
        return grad_a, grad_b

    return step


def make_w2_tinygrad(tg, n_ops: int = W2_OPS):
    x0, a0, b0 = w2_data()
    x = tg.Tensor(x0)
    a = tg.Tensor(a0, requires_grad=True)
    b = tg.Tensor(b0, requires_grad=True)
    kinds = op_kinds(n_ops)

    def step():
        a.grad = None
        b.grad = None
        h = x
        for k in kinds:
            if k == MUL:
                h = h * a
            elif k == ADD:
                h = h + b
            else:
                h = h.tanh()
        h.sum().backward()
        return a.grad.data, b.grad.data

    return step


def make_w2_torch(torch, n_ops: int = W2_OPS):
    x0, a0, b0 = w2_data()
    x = torch.from_numpy(x0)
    a = torch.tensor(a0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    kinds = op_kinds(n_ops)
    tanh = torch.tanh

    def step():
        a.grad = None
        b.grad = None
        h = x
        for k in kinds:
            if k == MUL:
                h = h * a
            elif k == ADD:
                h = h + b
            else:
                h = tanh(h)
        h.sum().backward()
        return a.grad.numpy(), b.grad.numpy()

    return step


# ---------------------------------------------------------------------------------------
# W4: a long scalar chain, float64
#
#   h = x0;  repeat: h = h * w;  h = h + w;  h = tanh(h)   (n ops)
#   backward from h  ->  dh/dw
# ---------------------------------------------------------------------------------------

W4_OPS = 100_000
W4_X0 = 0.5
W4_W = 0.9


def make_w4_numpy(n_ops: int = W4_OPS):
    """A plain Python loop over NumPy float64 scalars, with a hand-written backward loop."""
    x0 = np.float64(W4_X0)
    w = np.float64(W4_W)
    kinds = op_kinds(n_ops)
    tanh = np.tanh

    def step():
        saved = []
        h = x0
        for k in kinds:
            if k == MUL:
                saved.append(h)
                h = h * w
            elif k == ADD:
                h = h + w
            else:
                h = tanh(h)
                saved.append(h)
        g = np.float64(1.0)
        grad_w = np.float64(0.0)
        for k in reversed(kinds):
            if k == MUL:
                grad_w += g * saved.pop()
                g = g * w
            elif k == ADD:
                grad_w += g
            else:
                y = saved.pop()
                g = g * (1 - y * y)
        return (np.asarray(grad_w),)

    return step


def make_w4_tinygrad(tg, n_ops: int = W4_OPS):
    x0 = tg.Tensor(W4_X0, dtype=np.float64)
    w = tg.Tensor(W4_W, dtype=np.float64, requires_grad=True)
    kinds = op_kinds(n_ops)

    def step():
        w.grad = None
        h = x0
        for k in kinds:
            if k == MUL:
                h = h * w
            elif k == ADD:
                h = h + w
            else:
                h = h.tanh()
        h.backward()
        return (w.grad.data,)

    return step


def make_w4_torch(torch, n_ops: int = W4_OPS):
    x0 = torch.tensor(W4_X0, dtype=torch.float64)
    w = torch.tensor(W4_W, dtype=torch.float64, requires_grad=True)
    kinds = op_kinds(n_ops)
    tanh = torch.tanh

    def step():
        w.grad = None
        h = x0
        for k in kinds:
            if k == MUL:
                h = h * w
            elif k == ADD:
                h = h + w
            else:
                h = tanh(h)
        h.backward()
        return (w.grad.numpy(),)

    return step


# ---------------------------------------------------------------------------------------
# The deep chain: y = y * 1.0000001, a million times, on a float64 scalar, then backward.
# dy/dx = 1.0000001 ** n.  Its forward, backward and freeing are timed separately.
# ---------------------------------------------------------------------------------------

DEEP_NODES = 1_000_000
DEEP_FACTOR = 1.0000001


def deep_expected(n_nodes: int) -> float:
    return DEEP_FACTOR ** n_nodes


def deep_build_tinygrad(tg, n_nodes: int):
    x = tg.Tensor(1.0, dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(n_nodes):
        y = y * DEEP_FACTOR
    return x, y


def deep_build_torch(torch, n_nodes: int):
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(n_nodes):
        y = y * DEEP_FACTOR
    return x, y

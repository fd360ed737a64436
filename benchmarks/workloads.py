"""The workloads, written once per backend: hand-written NumPy, tinygrad_edu, PyTorch.

W2 and W4 (op chains): each `make_*` function builds its inputs once and returns
`step()`, which runs one forward + backward and returns the gradients as a tuple of NumPy
arrays (so that the backends can be compared before they are timed). Leaf gradients are
cleared at the start of every step (`.grad = None`), as an optimizer's zero_grad would.
All three backends run exactly the same sequence of ops, in the same Python loop shape.

W1 and W3 (training steps, at the end of this file): each `make_*_train` function returns
`(step, state)`; see the comment there.
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
# SEQ: a sequence read one step at a time, as an RNN reads its input
#
#   x: (300, 32, 128) float32, requires grad
#   h = x[0];  for t = 1 .. 299: h = h * 0.5 + x[t]
#   loss = (h * h).sum();  backward  ->  dloss/dx
#
# Each x[t] sends back a gradient for one slice of x. Spread into an array of zeros the
# size of x, each would cost as much as x, and the 300 of them O(T^2); added at the slice
# into x's gradient, they cost one slice each.
# ---------------------------------------------------------------------------------------

SEQ_SHAPE = (300, 32, 128)
SEQ_DECAY = 0.5


def seq_data(seed: int = 5):
    return np.random.default_rng(seed).standard_normal(SEQ_SHAPE).astype(np.float32)


def make_seq_numpy():
    x = seq_data()

    def step():
        h = x[0]
        for t in range(1, len(x)):
            h = h * SEQ_DECAY + x[t]
        (h * h).sum()
        # backward: dloss/dh = 2h, and each step passes dh * 0.5 to the one before
        grad = np.empty_like(x)
        g = 2 * h
        for t in range(len(x) - 1, 0, -1):
            grad[t] = g
            g = g * SEQ_DECAY
        grad[0] = g
        return (grad,)

    return step


def make_seq_tinygrad(tg):
    x = tg.Tensor(seq_data(), requires_grad=True)

    def step():
        x.grad = None
        h = x[0]
        for t in range(1, SEQ_SHAPE[0]):
            h = h * SEQ_DECAY + x[t]
        (h * h).sum().backward()
        return (x.grad.data,)

    return step


def make_seq_torch(torch):
    x = torch.tensor(seq_data(), requires_grad=True)

    def step():
        x.grad = None
        h = x[0]
        for t in range(1, SEQ_SHAPE[0]):
            h = h * SEQ_DECAY + x[t]
        (h * h).sum().backward()
        return (x.grad.numpy(),)

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


# ---------------------------------------------------------------------------------------
# VIZ: graphs of 10,000 ops to draw (tinygrad_edu only: drawing is not a race between
# backends). Two shapes, float64 scalars:
#
#   chain  h = h * 1.0001, 10,000 times, from one leaf h0: deep and narrow
#   wide   5,000 leaves x_i, each times a constant (5,000 Muls), added up pairwise in a
#          balanced tree (4,999 Adds), then tanh: 10,000 ops, 13 levels deep, one leaf
#          per product as in a scalar network where every weight is its own tensor
# ---------------------------------------------------------------------------------------

VIZ_OPS = 10_000
VIZ_FACTOR = 1.0001


def viz_chain(tg, n_ops: int = VIZ_OPS):
    h = tg.Tensor(0.5, dtype=np.float64, requires_grad=True, name="h0")
    for _ in range(n_ops):
        h = h * VIZ_FACTOR
    return h


def viz_wide(tg, n_ops: int = VIZ_OPS):
    if n_ops < 4 or n_ops % 2:
        raise ValueError(f"viz_wide: n_ops must be an even number >= 4, got {n_ops}")
    terms = [tg.Tensor(0.5, dtype=np.float64, requires_grad=True, name=f"x{i}") * (i % 7 + 1.0)
             for i in range(n_ops // 2)]
    while len(terms) > 1:  # one level of the tree: neighbours added, an odd one carried up
        carried = terms[-1:] if len(terms) % 2 else []
        terms = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)] + carried
    return terms[0].tanh()


def count_ops(output) -> int:
    """The ops below `output`, counted by an explicit stack (the check before timing)."""
    seen = set()
    stack = [output.grad_fn]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(x.grad_fn for x in node.inputs
                     if getattr(x, "grad_fn", None) is not None)
    return len(seen)


# ---------------------------------------------------------------------------------------
# Training steps: W1 (MLP 784-256-256-10, cross-entropy) and W3 (MLP 2-16-16-1 on moons,
# BCE with logits).
#
# One step = forward, loss, backward, SGD update (lr 0.01, no momentum), with the
# gradients cleared at its start as zero_grad(set_to_none=True) does. The three backends
# start from the same weights (drawn here, in NumPy, from PyTorch's default Linear
# initialisation U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and train on the same data.
#
# A `make_*_train` function returns (step, state): `step()` runs one training step and
# returns nothing (nothing extra is timed); `state()` returns, as NumPy arrays, the
# gradients of the last step followed by the weights after it, in the order
# W1, b1, W2, b2, ... . The check compares state() after the first step.
# ---------------------------------------------------------------------------------------

LR = 0.01

W1_SIZES = (784, 256, 256, 10)
W1_BATCH = 128

W3_SIZES = (2, 16, 16, 1)
W3_POINTS = 100
W3_NOISE = 0.1


def mlp_init(sizes, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight (out, in), bias (out,)) per layer, float32, as torch.nn.Linear draws them."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        layers.append((w, b))
    return layers


def w1_data(seed: int = 1):
    """128 inputs of 784 standard-normal features, and integer class labels 0..9."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((W1_BATCH, W1_SIZES[0])).astype(np.float32)
    y = rng.integers(0, W1_SIZES[-1], W1_BATCH).astype(np.int64)
    return x, y


def make_moons(n: int = W3_POINTS, noise: float = W3_NOISE, seed: int = 3):
    """Two interleaving half circles (as sklearn's make_moons): float32 (n, 2), labels (n,)."""
    rng = np.random.default_rng(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    outer = np.linspace(0, np.pi, n_outer)
    inner = np.linspace(0, np.pi, n_inner)
    x = np.concatenate([np.stack([np.cos(outer), np.sin(outer)], axis=1),
                        np.stack([1 - np.cos(inner), 0.5 - np.sin(inner)], axis=1)])
    x += noise * rng.standard_normal(x.shape)
    y = np.repeat([0, 1], [n_outer, n_inner])
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order].astype(np.int64)


def w3_data():
    """The moons and their labels as a float32 column (n, 1), the shape the model outputs."""
    x, y = make_moons()
    return x, y.astype(np.float32).reshape(-1, 1)


# --- hand-written NumPy ----------------------------------------------------------------


def _numpy_state(params, grads):
    return tuple(grads) + tuple(p.copy() for p in params)


def make_w1_numpy_train(lr: float = LR):
    """The MLP written out: x @ W.T + b, ReLU, softmax - onehot, in-place SGD."""
    x, y = w1_data()
    (w1, b1), (w2, b2), (w3, b3) = [(w.copy(), b.copy()) for w, b in mlp_init(W1_SIZES, 0)]
    params = (w1, b1, w2, b2, w3, b3)
    rows = np.arange(W1_BATCH)
    last = {}

    def step():
        # forward
        a1 = np.maximum(x @ w1.T + b1, 0)
        a2 = np.maximum(a1 @ w2.T + b2, 0)
        z = a2 @ w3.T + b3
        # cross-entropy (mean over the batch), through a stable softmax
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = np.log(s[:, 0]).sum() - z[rows, y].sum()
        loss /= W1_BATCH
        # backward: dloss/dz = (softmax - onehot) / batch
        g = e / s
        g[rows, y] -= 1
        g /= W1_BATCH
        gw3 = g.T @ a2
        gb3 = g.sum(axis=0)
        g = g @ w3
        g *= a2 > 0
        gw2 = g.T @ a1
        gb2 = g.sum(axis=0)
        g = g @ w2
        g *= a1 > 0
        gw1 = g.T @ x
        gb1 = g.sum(axis=0)
        # SGD, in place
        grads = (gw1, gb1, gw2, gb2, gw3, gb3)
        for p, gp in zip(params, grads):
            p -= lr * gp
        last["grads"] = grads
        last["loss"] = loss

    return step, lambda: _numpy_state(params, last["grads"])


def make_w3_numpy_train(lr: float = LR):
    """The small MLP written out, with BCE-with-logits: mean(softplus(z) - y z)."""
    x, y = w3_data()
    (w1, b1), (w2, b2), (w3, b3) = [(w.copy(), b.copy()) for w, b in mlp_init(W3_SIZES, 2)]
    params = (w1, b1, w2, b2, w3, b3)
    n = x.shape[0]
    last = {}

    def step():
        a1 = np.maximum(x @ w1.T + b1, 0)
        a2 = np.maximum(a1 @ w2.T + b2, 0)
        z = a2 @ w3.T + b3
        # softplus(z) = max(z, 0) + log(1 + e^-|z|), without overflow
        loss = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z).mean()
        # dloss/dz = (sigmoid(z) - y) / n
        g = (1 / (1 + np.exp(-z)) - y) / n
        gw3 = g.T @ a2
        gb3 = g.sum(axis=0)
        g = (g @ w3) * (a2 > 0)
        gw2 = g.T @ a1
        gb2 = g.sum(axis=0)
        g = (g @ w2) * (a1 > 0)
        gw1 = g.T @ x
        gb1 = g.sum(axis=0)
        grads = (gw1, gb1, gw2, gb2, gw3, gb3)
        for p, gp in zip(params, grads):
            p -= lr * gp
        last["grads"] = grads
        last["loss"] = loss

    return step, lambda: _numpy_state(params, last["grads"])


# --- tinygrad_edu ------------------------------------------------------------------------


def _tinygrad_mlp(tg, sizes, seed):
    nn = tg.nn
    layers = []
    for i, (w, b) in enumerate(mlp_init(sizes, seed)):
        if i:
            layers.append(nn.ReLU())
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.weight.data[...] = w
        linear.bias.data[...] = b
        layers.append(linear)
    return nn.Sequential(*layers)


def _tinygrad_train(tg, model, loss_fn, x, y, lr):
    params = list(model.parameters())
    opt = tg.optim.SGD(params, lr=lr)

    def step():
        opt.zero_grad()  # set_to_none=True, the default
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    def state():
        return (tuple(p.grad.data for p in params) + tuple(p.data.copy() for p in params))

    return step, state


def make_w1_tinygrad_train(tg, lr: float = LR):
    x0, y = w1_data()
    model = _tinygrad_mlp(tg, W1_SIZES, 0)
    return _tinygrad_train(tg, model, tg.nn.functional.cross_entropy, tg.Tensor(x0), y, lr)


def make_w3_tinygrad_train(tg, lr: float = LR):
    x0, y0 = w3_data()
    model = _tinygrad_mlp(tg, W3_SIZES, 2)
    return _tinygrad_train(tg, model, tg.nn.functional.binary_cross_entropy_with_logits,
                           tg.Tensor(x0), tg.Tensor(y0), lr)


# --- PyTorch -------------------------------------------------------------------------------


def _torch_mlp(torch, sizes, seed):
    nn = torch.nn
    layers = []
    for i, (w, b) in enumerate(mlp_init(sizes, seed)):
        if i:
            layers.append(nn.ReLU())
        linear = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
    return nn.Sequential(*layers)


def _torch_train(torch, model, loss_fn, x, y, lr):
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=lr)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    def state():
        return (tuple(p.grad.numpy() for p in params)
                + tuple(p.detach().numpy().copy() for p in params))

    return step, state


def make_w1_torch_train(torch, lr: float = LR):
    x0, y0 = w1_data()
    model = _torch_mlp(torch, W1_SIZES, 0)
    return _torch_train(torch, model, torch.nn.functional.cross_entropy,
                        torch.from_numpy(x0), torch.from_numpy(y0), lr)


def make_w3_torch_train(torch, lr: float = LR):
    x0, y0 = w3_data()
    model = _torch_mlp(torch, W3_SIZES, 2)
    return _torch_train(torch, model, torch.nn.functional.binary_cross_entropy_with_logits,
                        torch.from_numpy(x0), torch.from_numpy(y0), lr)


TRAIN_MAKERS = {
    "W1": {"numpy": make_w1_numpy_train, "tinygrad_edu": make_w1_tinygrad_train,
           "torch": make_w1_torch_train},
    "W3": {"numpy": make_w3_numpy_train, "tinygrad_edu": make_w3_tinygrad_train,
           "torch": make_w3_torch_train},
}

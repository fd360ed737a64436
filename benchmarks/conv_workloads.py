"""W5: a small CNN training step, written once per backend: hand-written NumPy,
tinygrad_edu, PyTorch.

The step: a batch of 32 single-channel 28x28 images (standard normal, float32) through

    Conv2d(1, 8, 3) -> ReLU -> Conv2d(8, 16, 3) -> ReLU -> flatten -> Linear(16*24*24, 10)

then cross-entropy (mean, integer labels), backward, and an SGD update (lr 0.01, no
momentum), the gradients cleared at the start of each step. The three backends start
from the same weights, drawn once in NumPy from PyTorch's default initialisation
(U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels * kernel area for a
convolution), and train on the same batch, step after step.

Each `make_w5_*` function returns `(step, state)`, the contract of the W1/W3 makers in
`workloads.py`: `step()` runs one training step; `state()` returns, as NumPy arrays, the
gradients of the last step and then the weights after it, in the order

    conv1 weight, conv1 bias, conv2 weight, conv2 bias, linear weight, linear bias

so `run.check_training` can compare the backends before anything is timed.

`python benchmarks/run.py --only W5` checks and times it (add `--profile` for a
cProfile of the tinygrad_edu step).
"""

from __future__ import annotations

import numpy as np
import workloads as W
from numpy.lib.stride_tricks import as_strided

LR = 0.01
W5_BATCH, W5_SIDE, W5_CLASSES = 32, 28, 10
W5_CHANNELS = (1, 8, 16)
W5_KERNEL = 3
W5_FLAT = W5_CHANNELS[-1] * (W5_SIDE - 2 * (W5_KERNEL - 1)) ** 2  # 16 * 24 * 24


def w5_init(seed: int = 0) -> tuple[np.ndarray, ...]:
    """(conv1 weight, conv1 bias, conv2 weight, conv2 bias, linear weight, linear bias),
    float32, as PyTorch's default initialisation draws them."""
    rng = np.random.default_rng(seed)
    c0, c1, c2 = W5_CHANNELS
    k = W5_KERNEL
    params = []
    for w_shape in ((c1, c0, k, k), (c2, c1, k, k), (W5_CLASSES, W5_FLAT)):
        bound = 1 / np.sqrt(np.prod(w_shape[1:]))
        params.append(rng.uniform(-bound, bound, w_shape).astype(np.float32))
        params.append(rng.uniform(-bound, bound, w_shape[0]).astype(np.float32))
    return tuple(params)


def w5_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x (32, 1, 28, 28) standard normal float32, labels (32,) int64 in 0..9."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((W5_BATCH, W5_CHANNELS[0], W5_SIDE, W5_SIDE)).astype(np.float32)
    y = rng.integers(0, W5_CLASSES, W5_BATCH).astype(np.int64)
    return x, y


# --- hand-written NumPy: im2col, matrix products, col2im, SGD ---------------------------


def _im2col(x: np.ndarray, k: int) -> np.ndarray:
    """(N, C, H, W) -> cols (N, C*k*k, OH*OW), stride 1, no padding: a strided view of
    every window, copied once into a contiguous array."""
    n, c, h, w = x.shape
    oh, ow = h - k + 1, w - k + 1
    sn, sc, sh, sw = x.strides
    windows = as_strided(x, (n, c, k, k, oh, ow), (sn, sc, sh, sw, sh, sw), writeable=False)
    return np.ascontiguousarray(windows).reshape(n, c * k * k, oh * ow)


def _col2im(dcols: np.ndarray, x_shape: tuple, k: int) -> np.ndarray:
    """The backward of _im2col: add every column entry back to its pixel, one slice per
    kernel offset."""
    n, c, h, w = x_shape
    oh, ow = h - k + 1, w - k + 1
    dcols = dcols.reshape(n, c, k, k, oh, ow)
    dx = np.zeros(x_shape, dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + oh, j:j + ow] += dcols[:, :, i, j]
    return dx


def make_w5_numpy(lr: float = LR):
    """The CNN written out: two im2col convolutions, ReLU, a Linear, softmax - onehot."""
    x, y = w5_data()
    params = tuple(p.copy() for p in w5_init())
    w1, b1, w2, b2, w3, b3 = params
    k = W5_KERNEL
    n = W5_BATCH
    rows = np.arange(n)
    last = {}

    def step():
        # forward: conv = W (C_out, K) @ cols (N, K, P), one batched BLAS call
        cols1 = _im2col(x, k)                                          # (32, 9, 676)
        z1 = np.matmul(w1.reshape(w1.shape[0], -1), cols1)             # (32, 8, 676)
        z1 += b1[:, None]
        a1 = np.maximum(z1, 0).reshape(n, w1.shape[0], 26, 26)
        cols2 = _im2col(a1, k)                                         # (32, 72, 576)
        z2 = np.matmul(w2.reshape(w2.shape[0], -1), cols2)             # (32, 16, 576)
        z2 += b2[:, None]
        a2 = np.maximum(z2, 0)
        flat = a2.reshape(n, -1)                                       # (32, 9216), a view
        z = flat @ w3.T + b3
        # cross-entropy (mean over the batch), through a stable softmax
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = (np.log(s[:, 0]).sum() - z[rows, y].sum()) / n
        # backward: dloss/dz = (softmax - onehot) / batch
        g = e / s
        g[rows, y] -= 1
        g /= n
        gw3 = g.T @ flat
        gb3 = g.sum(axis=0)
        g2 = (g @ w3).reshape(z2.shape)                                # (32, 16, 576)
        g2 *= a2 > 0
        gw2 = np.matmul(g2, cols2.transpose(0, 2, 1)).sum(axis=0).reshape(w2.shape)
        gb2 = g2.sum(axis=(0, 2))
        g1 = _col2im(np.matmul(w2.reshape(w2.shape[0], -1).T, g2), a1.shape, k)
        g1 *= a1 > 0
        g1 = g1.reshape(n, w1.shape[0], -1)                            # (32, 8, 676)
        gw1 = np.matmul(g1, cols1.transpose(0, 2, 1)).sum(axis=0).reshape(w1.shape)
        gb1 = g1.sum(axis=(0, 2))
        # (the input's gradient is not needed: the images are data)
        grads = (gw1, gb1, gw2, gb2, gw3, gb3)
        for p, gp in zip(params, grads):
            p -= lr * gp
        last["grads"] = grads
        last["loss"] = loss

    def state():
        return tuple(last["grads"]) + tuple(p.copy() for p in params)

    return step, state


# --- tinygrad_edu ------------------------------------------------------------------------


def _w5_layers(nn):
    c0, c1, c2 = W5_CHANNELS
    return nn.Sequential(nn.Conv2d(c0, c1, W5_KERNEL), nn.ReLU(), nn.Conv2d(c1, c2, W5_KERNEL),
                         nn.ReLU(), nn.Flatten(), nn.Linear(W5_FLAT, W5_CLASSES))


def make_w5_tinygrad(tg, lr: float = LR):
    """tg.nn.Conv2d / ReLU / Flatten / Linear, F.cross_entropy, tg.optim.SGD."""
    x, y = w5_data()
    model = _w5_layers(tg.nn)
    params = list(model.parameters())
    for p, value in zip(params, w5_init()):
        p.data[...] = value
    return W._tinygrad_train(tg, model, tg.nn.functional.cross_entropy, tg.Tensor(x), y, lr)


# --- PyTorch -----------------------------------------------------------------------------


def make_w5_torch(torch, lr: float = LR):
    """torch.nn.Conv2d / ReLU / Flatten / Linear, F.cross_entropy, torch.optim.SGD."""
    x, y = w5_data()
    model = _w5_layers(torch.nn)
    params = list(model.parameters())
    with torch.no_grad():
        for p, value in zip(params, w5_init()):
            p.copy_(torch.from_numpy(value))
    return W._torch_train(torch, model, torch.nn.functional.cross_entropy,
                          torch.from_numpy(x), torch.from_numpy(y), lr)


W5_MAKERS = {"numpy": make_w5_numpy, "tinygrad_edu": make_w5_tinygrad, "torch": make_w5_torch}

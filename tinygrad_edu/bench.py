"""`tinygrad-edu bench`: how fast tinygrad_edu is on this machine, next to plain NumPy and
PyTorch.

Four workloads, each written three times, computing the same numbers from the same start:

- **NumPy, by hand**: the forward pass in NumPy and the backward pass written out with
  the chain rule, keeping only the arrays it needs. No framework at all: this is what the
  arithmetic itself costs, the baseline every ratio is taken against.
- **tinygrad_edu**: the same model with `tg.nn`, `tg.nn.functional` and `tg.optim`.
- **PyTorch** (when `import torch` works): the same with `torch.nn` and `torch.optim`.
  PyTorch is imported only by `load_torch`, so this module works without it.

The workloads (W1, W2, W5 and LSTM of the fuller suite in `benchmarks/` of a checkout):

    mlp    an MLP training step: 784-256-256-10, ReLU, cross-entropy, SGD, batch 128
    chain  200 small elementwise ops (*, +, tanh) on 16 numbers, forward + backward: what
           the framework costs per op, when the arithmetic is almost free
    cnn    a CNN training step: two 3x3 convolutions (1 -> 8 -> 16 channels), ReLU, a
           Linear, cross-entropy, SGD, a batch of 32 images of 28x28
    lstm   an LSTM training step: input 32, hidden 128, 50 time steps, batch 32, the MSE
           of a Linear head on the last hidden state, SGD

Each workload class builds one `Step` per backend: `run()` does one step (forward,
backward and, for the training steps, the SGD update); `grads()` returns that step's
gradients as NumPy arrays, in the same order for every backend.

How they are measured (`measure`), as in `benchmarks/harness.py`:

1. **Check first.** Every backend runs one step from the same start, and its gradients
   must equal NumPy's, to tolerance * max(1, largest |gradient|): otherwise the
   backends compute different things and their times cannot be compared.
2. **Warm up**: one more step each, untimed (first calls allocate and fill caches).
3. **Rounds**: in each, every backend runs one batch of steps in the same process, the
   order rotated from round to round, so that no backend always runs first or after the
   same neighbour. Before each batch, a 0.2 s pause: BLAS and OpenMP worker threads keep
   spinning for ~0.1 s after a call and would slow whoever runs next. Each batch ends
   with `gc.collect()`, inside the timing, so that each backend pays for its own garbage.
4. **Medians**: a backend's figure is its median over the rounds, and the comparison is
   a ratio of medians: one slow round (the machine busy elsewhere) does not move it.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

import tinygrad_edu as tg

LR = 0.01  # SGD's learning rate in every training step (plain SGD, no momentum)
SETTLE_SECONDS = 0.2  # the pause before each timed batch
ROUNDS, QUICK_ROUNDS = 15, 5
PRIME_BYTES = 30 * 1024 * 1024

BACKENDS = ("numpy", "tinygrad_edu", "torch")
LABELS = {"numpy": "NumPy", "tinygrad_edu": "tinygrad_edu", "torch": "PyTorch"}


class Step(NamedTuple):
    """One backend's version of a workload."""

    run: Callable[[], None]  # one step: forward, backward (and the SGD update)
    grads: Callable[[], tuple]  # the gradients of the last step, as NumPy arrays


def _uniform(rng, fan_in: int, shape) -> np.ndarray:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) in float32: PyTorch's default start for the
    weights and biases of Linear, Conv2d and LSTM (fan_in = inputs to one output)."""
    bound = 1 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def _sgd_in_place(params, grads) -> None:
    for p, g in zip(params, grads):
        p -= LR * g  # in place: the arrays the step reads are updated


def _softmax_cross_entropy(z: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean cross-entropy of logits z (batch, classes) and dloss/dz.

    The row maximum is subtracted before exp so that large logits cannot overflow (the
    softmax does not change); dloss/dz is (softmax - onehot) / batch."""
    rows = np.arange(len(labels))
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    total = e.sum(axis=1, keepdims=True)
    loss = (np.log(total[:, 0]) - z[rows, labels]).mean()
    grad = e / total
    grad[rows, labels] -= 1
    return loss, grad / len(labels)


def _tinygrad_training(params: list, loss_of: Callable) -> Step:
    """A tinygrad_edu training step: zero_grad, loss, backward, SGD."""
    optimizer = tg.optim.SGD(params, lr=LR)

    def run():
        optimizer.zero_grad()
        loss_of().backward()
        optimizer.step()

    return Step(run, lambda: tuple(p.grad.data for p in params))


def _torch_training(torch, params: list, loss_of: Callable) -> Step:
    """The same step in PyTorch."""
    optimizer = torch.optim.SGD(params, lr=LR)

    def run():
        optimizer.zero_grad(set_to_none=True)
        loss_of().backward()
        optimizer.step()

    return Step(run, lambda: tuple(p.grad.numpy() for p in params))


def _set_weights(params, values) -> None:
    for p, value in zip(params, values):
        p.data[...] = value


def _set_torch_weights(torch, params, values) -> None:
    with torch.no_grad():
        for p, value in zip(params, values):
            p.copy_(torch.from_numpy(value))


class Workload:
    """One computation, written for each backend. A subclass sets the class attributes
    and writes `numpy_step`, `tinygrad_step` and `torch_step`."""

    name = ""  # as --only names it
    label = ""  # as the table names it
    ops = 1  # the table shows a step's time divided by this (per op for the chain)
    steps = 1  # steps in one timed batch: some 20-50 ms of work
    tolerance = 1e-5  # gradients agree to tolerance * max(1, largest |NumPy gradient|)

    def __init__(self, seed: int = 0):
        self.seed = seed

    def rng(self) -> np.random.Generator:
        """The same numbers for every backend: each draws from a generator seeded alike."""
        return np.random.default_rng(self.seed)

    def numpy_step(self) -> Step:
        raise NotImplementedError

    def tinygrad_step(self) -> Step:
        raise NotImplementedError

    def torch_step(self, torch) -> Step:
        raise NotImplementedError

    def step(self, backend: str, torch=None) -> Step:
        if backend == "numpy":
            return self.numpy_step()
        if backend == "tinygrad_edu":
            return self.tinygrad_step()
        return self.torch_step(torch)


class _Classifier(Workload):
    """A classifier's training step (the MLP, the CNN): `data()` gives the inputs, the
    labels and the weights, `_layers(nn)` the model in torch.nn's terms (tinygrad_edu's
    nn has the same), trained with cross-entropy and SGD."""

    def data(self):
        raise NotImplementedError

    def _layers(self, nn):
        raise NotImplementedError

    def tinygrad_step(self) -> Step:
        x, labels, weights = self.data()
        model = self._layers(tg.nn)
        params = list(model.parameters())
        _set_weights(params, weights)
        x = tg.Tensor(x)
        return _tinygrad_training(
            params, lambda: tg.nn.functional.cross_entropy(model(x), labels))

    def torch_step(self, torch) -> Step:
        x, labels, weights = self.data()
        model = self._layers(torch.nn)
        params = list(model.parameters())
        _set_torch_weights(torch, params, weights)
        x, labels = torch.from_numpy(x), torch.from_numpy(labels)
        return _torch_training(
            torch, params, lambda: torch.nn.functional.cross_entropy(model(x), labels))


# ---------------------------------------------------------------------------------------
# mlp: Linear 784 -> 256, ReLU, Linear 256 -> 256, ReLU, Linear 256 -> 10, cross-entropy
# ---------------------------------------------------------------------------------------


class MLP(_Classifier):
    name, label, steps = "mlp", "MLP step", 10
    sizes, batch = (784, 256, 256, 10), 128

    def data(self):
        """(inputs (128, 784), labels (128,), [W1, b1, W2, b2, W3, b3])."""
        rng = self.rng()
        x = rng.standard_normal((self.batch, self.sizes[0])).astype(np.float32)
        labels = rng.integers(0, self.sizes[-1], self.batch)
        weights = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            weights += [_uniform(rng, fan_in, (fan_out, fan_in)), _uniform(rng, fan_in, fan_out)]
        return x, labels, weights

    def numpy_step(self) -> Step:
        x, labels, params = self.data()
        w1, b1, w2, b2, w3, b3 = params
        last = {}

        def run():
            # forward: keep the activations, which backward multiplies by
            a1 = np.maximum(x @ w1.T + b1, 0)  # (128, 256)
            a2 = np.maximum(a1 @ w2.T + b2, 0)  # (128, 256)
            _, g = _softmax_cross_entropy(a2 @ w3.T + b3, labels)  # g = dloss/dz (128, 10)
            # backward: for y = x @ W.T + b, dW = g.T @ x, db = sum of g, dx = g @ W;
            # ReLU passes the gradient where its output was positive
            gw3, gb3 = g.T @ a2, g.sum(axis=0)
            g = g @ w3
            g *= a2 > 0  # (in place: one temporary array fewer)
            gw2, gb2 = g.T @ a1, g.sum(axis=0)
            g = g @ w2
            g *= a1 > 0
            gw1, gb1 = g.T @ x, g.sum(axis=0)
            last["grads"] = (gw1, gb1, gw2, gb2, gw3, gb3)
            _sgd_in_place(params, last["grads"])

        return Step(run, lambda: last["grads"])

    def _layers(self, nn):
        layers = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        return nn.Sequential(*layers[:-1])  # (no ReLU on the logits)


# ---------------------------------------------------------------------------------------
# chain: h = x; then h = h * a, h = h + b, h = tanh(h), ... (200 ops); backward of sum(h)
# ---------------------------------------------------------------------------------------

MUL, ADD, TANH = 0, 1, 2


class OpChain(Workload):
    """Each op works on 16 numbers, which NumPy does in well under a microsecond: what is
    timed is the framework around the arithmetic (a Tensor, a graph node, a backward
    call per op). The table shows the time per op."""

    name, label, steps = "chain", "op chain, per op", 20
    size, n_ops = 16, 200
    ops = n_ops
    kinds = [i % 3 for i in range(n_ops)]  # mul, add, tanh, mul, add, tanh, ...

    def data(self):
        rng = self.rng()
        x = rng.standard_normal(self.size).astype(np.float32)
        a = rng.uniform(0.5, 1.5, self.size).astype(np.float32)
        b = (0.1 * rng.standard_normal(self.size)).astype(np.float32)
        return x, a, b

    def numpy_step(self) -> Step:
        x, a, b = self.data()
        last = {}

        def run():
            # forward, keeping what backward needs: each mul's input, each tanh's output
            saved = []
            h = x
            for kind in self.kinds:
                if kind == MUL:
                    saved.append(h)
                    h = h * a
                elif kind == ADD:
                    h = h + b
                else:
                    h = np.tanh(h)
                    saved.append(h)
            h.sum()  # the loss (backward does not need its value)
            # backward: dloss/dh = 1 at the end, then the chain rule op by op, newest first
            g = np.ones_like(h)
            grad_a, grad_b = np.zeros_like(a), np.zeros_like(b)
            for kind in reversed(self.kinds):
                if kind == MUL:  # h * a: d/da = h, d/dh = a
                    grad_a += g * saved.pop()
                    g = g * a
                elif kind == ADD:  # h + b: d/db = d/dh = 1
                    grad_b += g
                else:  # y = tanh(h): dy/dh = 1 - y^2
                    y = saved.pop()
                    g = g * (1 - y * y)
            last["grads"] = (grad_a, grad_b)

        return Step(run, lambda: last["grads"])

    def _chain(self, h, a, b, tanh):
        for kind in self.kinds:
            if kind == MUL:
                h = h * a
            elif kind == ADD:
                h = h + b
            else:
                h = tanh(h)
        return h

    def tinygrad_step(self) -> Step:
        x, a, b = self.data()
        x, a, b = tg.Tensor(x), tg.Tensor(a, requires_grad=True), tg.Tensor(b, requires_grad=True)

        def run():
            a.grad = b.grad = None  # as zero_grad does
            self._chain(x, a, b, tg.Tensor.tanh).sum().backward()

        return Step(run, lambda: (a.grad.data, b.grad.data))

    def torch_step(self, torch) -> Step:
        x, a, b = self.data()
        x = torch.from_numpy(x)
        a, b = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)

        def run():
            a.grad = b.grad = None
            self._chain(x, a, b, torch.tanh).sum().backward()

        return Step(run, lambda: (a.grad.numpy(), b.grad.numpy()))


# ---------------------------------------------------------------------------------------
# cnn: Conv2d(1, 8, 3), ReLU, Conv2d(8, 16, 3), ReLU, Flatten, Linear(16*24*24, 10)
# ---------------------------------------------------------------------------------------


def _im2col(x: np.ndarray, k: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C*k*k, OH*OW): every k x k window as a column (stride 1, no
    padding), so that a convolution is one matrix product. as_strided makes a view of
    the windows without copying; ascontiguousarray copies it once."""
    n, c, h, w = x.shape
    oh, ow = h - k + 1, w - k + 1
    sn, sc, sh, sw = x.strides
    windows = as_strided(x, (n, c, k, k, oh, ow), (sn, sc, sh, sw, sh, sw), writeable=False)
    return np.ascontiguousarray(windows).reshape(n, c * k * k, oh * ow)


def _col2im(d_cols: np.ndarray, x_shape: tuple, k: int) -> np.ndarray:
    """The backward of _im2col: each pixel was copied into every window that covers it,
    so its gradient is the sum of its copies' gradients (one slice added per offset)."""
    n, c, h, w = x_shape
    oh, ow = h - k + 1, w - k + 1
    d_cols = d_cols.reshape(n, c, k, k, oh, ow)
    dx = np.zeros(x_shape, dtype=d_cols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + oh, j:j + ow] += d_cols[:, :, i, j]
    return dx


class CNN(_Classifier):
    name, label, steps = "cnn", "CNN step", 3
    batch, side, channels, kernel, classes = 32, 28, (1, 8, 16), 3, 10

    @property
    def flat(self) -> int:  # 16 * 24 * 24: the second convolution's output, flattened
        return self.channels[-1] * (self.side - 2 * (self.kernel - 1)) ** 2

    def data(self):
        """(images (32, 1, 28, 28), labels (32,), [conv1 W, b, conv2 W, b, linear W, b])."""
        rng = self.rng()
        c0, c1, c2 = self.channels
        k = self.kernel
        x = rng.standard_normal((self.batch, c0, self.side, self.side)).astype(np.float32)
        labels = rng.integers(0, self.classes, self.batch)
        weights = []
        for shape in ((c1, c0, k, k), (c2, c1, k, k), (self.classes, self.flat)):
            fan_in = int(np.prod(shape[1:]))
            weights += [_uniform(rng, fan_in, shape), _uniform(rng, fan_in, shape[0])]
        return x, labels, weights

    def numpy_step(self) -> Step:
        x, labels, params = self.data()
        w1, b1, w2, b2, w3, b3 = params
        k, n = self.kernel, self.batch
        side1 = self.side - k + 1  # the first convolution's output: 26 x 26
        last = {}

        def conv(inputs, w, b):  # W (C_out, C_in*k*k) @ cols (N, C_in*k*k, P): one matmul
            cols = _im2col(inputs, k)
            return np.matmul(w.reshape(len(w), -1), cols) + b[:, None], cols

        def conv_weight_grads(g, cols, w):  # g: dloss/d(conv output) (N, C_out, P)
            return (np.matmul(g, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape),
                    g.sum(axis=(0, 2)))

        def run():
            # forward
            z1, cols1 = conv(x, w1, b1)  # (32, 8, 676): 26 x 26 positions
            a1 = np.maximum(z1, 0).reshape(n, len(w1), side1, side1)
            z2, cols2 = conv(a1, w2, b2)  # (32, 16, 576): 24 x 24 positions
            a2 = np.maximum(z2, 0)
            flat = a2.reshape(n, -1)  # (32, 9216)
            _, g = _softmax_cross_entropy(flat @ w3.T + b3, labels)
            # backward: the Linear, then each convolution as the matmul it is
            gw3, gb3 = g.T @ flat, g.sum(axis=0)
            g2 = (g @ w3).reshape(z2.shape) * (a2 > 0)  # through ReLU
            gw2, gb2 = conv_weight_grads(g2, cols2, w2)
            d_cols2 = np.matmul(w2.reshape(len(w2), -1).T, g2)  # dloss/dcols2
            g1 = _col2im(d_cols2, a1.shape, k) * (a1 > 0)  # back to pixels, then ReLU
            gw1, gb1 = conv_weight_grads(g1.reshape(z1.shape), cols1, w1)
            # (no gradient for the images: they are data)
            last["grads"] = (gw1, gb1, gw2, gb2, gw3, gb3)
            _sgd_in_place(params, last["grads"])

        return Step(run, lambda: last["grads"])

    def _layers(self, nn):
        c0, c1, c2 = self.channels
        return nn.Sequential(nn.Conv2d(c0, c1, self.kernel), nn.ReLU(),
                             nn.Conv2d(c1, c2, self.kernel), nn.ReLU(),
                             nn.Flatten(), nn.Linear(self.flat, self.classes))


# ---------------------------------------------------------------------------------------
# lstm: nn.LSTM(32, 128) over 50 steps, Linear(128, 1) on the last hidden state, MSE
# ---------------------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * z) + 1)  # = 1 / (1 + e^-z), and never overflows


class LSTM(Workload):
    name, label, steps = "lstm", "LSTM step", 2
    inputs, hidden, seq, batch = 32, 128, 50, 32

    def data(self):
        """(x (50, 32, 32) time-major, target (32, 1), [weight_ih (512, 32), weight_hh
        (512, 128), bias_ih, bias_hh, head weight (1, 128), head bias]): PyTorch's
        layouts, the four gates i, f, g, o stacked in blocks of 128 rows."""
        rng = self.rng()
        x = rng.standard_normal((self.seq, self.batch, self.inputs)).astype(np.float32)
        target = rng.standard_normal((self.batch, 1)).astype(np.float32)
        H = self.hidden
        shapes = [(4 * H, self.inputs), (4 * H, H), (4 * H,), (4 * H,), (1, H), (1,)]
        return x, target, [_uniform(rng, H, shape) for shape in shapes]

    def numpy_step(self) -> Step:
        x, target, params = self.data()
        w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
        T, B, H = self.seq, self.batch, self.hidden
        x_rows = x.reshape(T * B, self.inputs)
        last = {}

        def run():
            # forward: the inputs' share of every gate, for all steps in one product
            x_proj = (x_rows @ w_ih.T + (b_ih + b_hh)).reshape(T, B, 4 * H)
            acts = np.empty((T, B, 4 * H), dtype=np.float32)  # i, f, g, o, activated
            h_prev, c_prev = np.empty((T, B, H), np.float32), np.empty((T, B, H), np.float32)
            tanh_c = np.empty((T, B, H), dtype=np.float32)
            h, c = np.zeros((B, H), np.float32), np.zeros((B, H), np.float32)
            for t in range(T):
                h_prev[t], c_prev[t] = h, c
                gates = x_proj[t] + h @ w_hh.T
                a = acts[t]
                a[:, :2 * H] = _sigmoid(gates[:, :2 * H])  # input and forget gates
                a[:, 2 * H:3 * H] = np.tanh(gates[:, 2 * H:3 * H])  # the candidate g
                a[:, 3 * H:] = _sigmoid(gates[:, 3 * H:])  # output gate
                c = a[:, H:2 * H] * c + a[:, :H] * a[:, 2 * H:3 * H]  # c = f c + i g
                tanh_c[t] = np.tanh(c)
                h = a[:, 3 * H:] * tanh_c[t]  # h = o tanh(c)
            y = h @ w_out.T + b_out
            # backward through time: dloss/dy of the mean squared error, then newest first
            g_y = 2 * (y - target) / y.size
            g_w_out, g_b_out = g_y.T @ h, g_y.sum(axis=0)
            g_h, g_c = g_y @ w_out, np.zeros_like(c)
            g_gates = np.empty_like(acts)  # dloss/d(gate pre-activations), every step
            for t in reversed(range(T)):
                a = acts[t]
                i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
                g_c = g_c + g_h * o * (1 - tanh_c[t] ** 2)  # h = o tanh(c)
                gg = g_gates[t]  # sigmoid' = s (1 - s), tanh' = 1 - tanh^2
                gg[:, :H] = g_c * g * i * (1 - i)
                gg[:, H:2 * H] = g_c * c_prev[t] * f * (1 - f)
                gg[:, 2 * H:3 * H] = g_c * i * (1 - g * g)
                gg[:, 3 * H:] = g_h * tanh_c[t] * o * (1 - o)
                g_c = g_c * f  # to the previous cell state
                g_h = gg @ w_hh  # to the previous hidden state
            g_rows = g_gates.reshape(T * B, 4 * H)
            g_b = g_rows.sum(axis=0)  # the two biases are added: the same gradient
            last["grads"] = (g_rows.T @ x_rows, g_rows.T @ h_prev.reshape(T * B, H), g_b,
                             g_b.copy(), g_w_out, g_b_out)
            _sgd_in_place(params, last["grads"])

        return Step(run, lambda: last["grads"])

    def tinygrad_step(self) -> Step:
        x, target, weights = self.data()
        lstm, head = tg.nn.LSTM(self.inputs, self.hidden), tg.nn.Linear(self.hidden, 1)
        params = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0,
                  head.weight, head.bias]
        _set_weights(params, weights)
        x, target = tg.Tensor(x), tg.Tensor(target)

        def loss():
            _, (h_n, _) = lstm(x)
            return tg.nn.functional.mse_loss(head(h_n[-1]), target)

        return _tinygrad_training(params, loss)

    def torch_step(self, torch) -> Step:
        x, target, weights = self.data()
        lstm, head = torch.nn.LSTM(self.inputs, self.hidden), torch.nn.Linear(self.hidden, 1)
        params = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0,
                  head.weight, head.bias]
        _set_torch_weights(torch, params, weights)
        x, target = torch.from_numpy(x), torch.from_numpy(target)

        def loss():
            _, (h_n, _) = lstm(x)
            return torch.nn.functional.mse_loss(head(h_n[-1]), target)

        return _torch_training(torch, params, loss)


WORKLOADS = {w.name: w for w in (MLP, OpChain, CNN, LSTM)}


# ---------------------------------------------------------------------------------------
# the machine: PyTorch if there is one, and the thread counts
# ---------------------------------------------------------------------------------------


def load_torch(enabled: bool = True):
    """(torch or None, why there is none: what the PyTorch column then says, and why)."""
    if not enabled:
        return None, ("skipped", "skipped (--no-torch)")
    try:
        import torch
    except ImportError:
        return None, ("not installed", "not installed")
    except Exception as error:  # a broken install: say so, and go on without it
        return None, ("not usable", f"import torch failed ({type(error).__name__}: {error})")
    return torch, ("", "")


class Threads:
    """For the run, one BLAS thread (with threadpoolctl, when it is installed) and one
    PyTorch thread, as the project's own figures are measured: with two threads, BLAS on
    a small shared machine stalls for seconds at random. `restore()` puts back what was
    there. Without threadpoolctl, NumPy's BLAS runs as it is set up, and `describe()`
    says so."""

    def __init__(self, torch=None):
        self.torch, self.torch_before, self.limiter = torch, None, None
        if torch is not None:
            self.torch_before = torch.get_num_threads()
            torch.set_num_threads(1)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return
        self.limiter = threadpool_limits(1)  # every BLAS and OpenMP pool of the process

    def describe(self) -> str:
        """'BLAS 1 thread', or what NumPy's BLAS uses when it could not be limited."""
        if self.limiter is not None:
            from threadpoolctl import threadpool_info

            counts = {pool["num_threads"] for pool in threadpool_info()
                      if pool.get("user_api") == "blas"}
            if not counts:
                return "no BLAS library found"
            n = max(counts)
            return f"BLAS {n} thread{'' if n == 1 else 's'}"
        for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
            value = os.environ.get(variable, "").strip()
            if value:
                return f"BLAS {value} thread{'' if value == '1' else 's'} ({variable})"
        return "BLAS threads as NumPy sets them (not limited)"

    def note(self) -> str:
        """A line for the output when the thread count could not be set, else ''."""
        if self.limiter is not None:
            return ""
        return ("(threadpoolctl is not installed, so BLAS runs with NumPy's own thread "
                "count: pip install threadpoolctl to measure with one thread, as the "
                "project's figures are)")

    def restore(self) -> None:
        if self.limiter is not None:
            self.limiter.restore_original_limits()
        if self.torch is not None:
            self.torch.set_num_threads(self.torch_before)


# ---------------------------------------------------------------------------------------
# checking and timing
# ---------------------------------------------------------------------------------------


class Check(NamedTuple):
    """How far one backend's gradients are from NumPy's."""

    max_diff: float  # the largest |gradient - NumPy's gradient|
    limit: float  # tolerance * max(1, largest |NumPy gradient|)

    @property
    def ok(self) -> bool:
        return bool(self.max_diff <= self.limit)  # (False for a NaN difference)


def compare_gradients(reference: tuple, other: tuple, tolerance: float) -> Check:
    """Compare `other`'s gradients with the `reference` (NumPy's), array by array."""
    if len(reference) != len(other):
        return Check(float("inf"), 0.0)
    diffs, scales = [], [1.0]
    for ref, got in zip(reference, other):
        ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
        if ref.shape != got.shape:
            return Check(float("inf"), 0.0)
        diffs.append(np.max(np.abs(ref - got)))
        scales.append(np.max(np.abs(ref)))
    # (np.max, not Python's max, which would skip a NaN: max(0.0, nan) is 0.0)
    return Check(float(np.max(diffs)), tolerance * float(np.max(scales)))


def check_gradients(workload: Workload, steps: dict[str, Step]) -> dict[str, Check]:
    """One step of each backend, all from the same start; each backend's gradients
    against NumPy's. Returns {backend: Check} for every backend but NumPy."""
    for step in steps.values():
        step.run()
    reference = steps["numpy"].grads()
    return {name: compare_gradients(reference, step.grads(), workload.tolerance)
            for name, step in steps.items() if name != "numpy"}


def prime_allocator() -> None:
    """Allocate and free one ~30 MB block, once: glibc hands big blocks back to the
    system until a free raises its threshold, and a fresh process would otherwise pay
    page faults for its big temporaries on every step."""
    block = np.empty(PRIME_BYTES, dtype=np.uint8)
    del block


def _timed_batch(step: Step, n: int, settle: float) -> float:
    """Seconds for n steps, the garbage they leave collected inside the timing."""
    time.sleep(settle)
    start = time.perf_counter()
    for _ in range(n):
        step.run()
    gc.collect()
    return time.perf_counter() - start


def time_interleaved(steps: dict[str, Step], batch: int, rounds: int,
                     settle: float = SETTLE_SECONDS,
                     on_round: Callable[[], None] | None = None) -> dict[str, list[float]]:
    """Seconds per step of each backend, one figure per round: {backend: [...]}.

    Each round runs one batch of `batch` steps per backend, the order rotated by one
    every round."""
    names = list(steps)
    for name in names:  # warm-up, untimed
        steps[name].run()
    # gc.freeze() puts every object alive now out of the collector's sight, so that the
    # collection ending each batch costs what that batch's own garbage costs, not a walk
    # over all the objects of the imports (some 100 ms with PyTorch loaded).
    gc.collect()
    gc.freeze()
    times: dict[str, list[float]] = {name: [] for name in names}
    try:
        for r in range(rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                times[name].append(_timed_batch(steps[name], batch, settle) / batch)
            if on_round is not None:
                on_round()
    finally:
        gc.unfreeze()
    return times


@dataclass
class Result:
    """One workload's check, and its times if the check passed."""

    workload: Workload
    checks: dict[str, Check]
    times: dict[str, list[float]] = field(default_factory=dict)  # seconds per op

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def median(self, backend: str) -> float | None:
        values = self.times.get(backend)
        return statistics.median(values) if values else None


@dataclass
class Report:
    results: list[Result]
    rounds: int
    header: str  # the machine and PyTorch, a line each
    torch_note: str  # what the PyTorch column says when it is empty
    thread_note: str  # '' when the threads were set as intended
    seconds: float = 0.0  # the whole measurement

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)


def measure(names, *, quick: bool = False, use_torch: bool = True, seed: int = 0,
            on_round: Callable[[], None] | None = None) -> Report:
    """Check and time the workloads named (keys of WORKLOADS), in that order."""
    start = time.perf_counter()
    torch, (torch_note, torch_why) = load_torch(use_torch)
    threads = Threads(torch)
    rounds = QUICK_ROUNDS if quick else ROUNDS
    torch_line = (f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread"
                  if torch is not None else f"PyTorch: {torch_why}")
    machine = (f"tinygrad_edu {tg.__version__} on this machine: Python "
               f"{platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} "
               f"CPUs, {threads.describe()}")
    header = "\n".join(textwrap.wrap(machine, 88) + textwrap.wrap(torch_line, 88))
    report = Report([], rounds, header, torch_note, threads.note())
    try:
        prime_allocator()
        for name in names:
            workload = WORKLOADS[name](seed=seed)
            backends = [b for b in BACKENDS if b != "torch" or torch is not None]
            steps = {b: workload.step(b, torch) for b in backends}
            result = Result(workload, check_gradients(workload, steps))
            if result.ok:
                per_step = time_interleaved(steps, workload.steps, rounds, on_round=on_round)
                result.times = {b: [t / workload.ops for t in per_step[b]] for b in backends}
            elif on_round is not None:
                for _ in range(rounds):  # (the rounds it will not run, for a progress bar)
                    on_round()
            report.results.append(result)
    finally:
        threads.restore()
    report.seconds = time.perf_counter() - start
    return report


# ---------------------------------------------------------------------------------------
# the output
# ---------------------------------------------------------------------------------------


def format_time(seconds: float) -> str:
    """A duration with a unit that keeps three significant digits or so: 2.01 ms."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


COLUMNS = (("workload", 18), ("NumPy", 12), ("tinygrad_edu", 15), ("vs NumPy", 11),
           ("PyTorch", 15), ("vs PyTorch", 0))


def _row(cells) -> str:
    """The cells in their columns, at least two spaces apart."""
    return "".join(str(cell).ljust(width - 2) + "  "
                   for cell, (_, width) in zip(cells, COLUMNS)).rstrip()


def format_report(report: Report) -> str:
    """The text the command prints: the machine, the checks, the table, how to read it."""
    lines = report.header.splitlines() + textwrap.wrap(report.thread_note, 88)
    lines += ["", "Gradients after one step from the same start, max |difference| from "
              "NumPy's:"]
    for result in report.results:
        parts = [f"{LABELS[b]} {check.max_diff:.1e}" + ("" if check.ok else " (TOO LARGE)")
                 for b, check in result.checks.items()]
        limit = next(iter(result.checks.values())).limit
        lines.append(f"  {result.workload.label:<18}{', '.join(parts)}  (tolerance "
                     f"{limit:.1e}) {'OK' if result.ok else 'FAILED'}")
    lines += ["", _row(name for name, _ in COLUMNS)]
    for result in report.results:
        label = result.workload.label
        if not result.ok:
            lines.append(_row([label, "not timed: a gradient check failed (above)"]))
            continue
        numpy_s, tg_s = result.median("numpy"), result.median("tinygrad_edu")
        torch_s = result.median("torch")
        torch_cells = ([format_time(torch_s), f"{tg_s / torch_s:.2f}x"]
                       if torch_s is not None else [report.torch_note, "-"])
        lines.append(_row([label, format_time(numpy_s), format_time(tg_s),
                           f"{tg_s / numpy_s:.2f}x", *torch_cells]))
    how_to_read = (
        f"Each time is the median of {report.rounds} rounds, all backends in this process, "
        "the order rotated; per training step, per op for the chain. Lower is faster. "
        "vs NumPy and vs PyTorch are tinygrad_edu's time divided by theirs: 1.10x is 10% "
        "slower, 0.90x 10% faster. "
        "Compare the ratios: absolute times depend on the machine and its load. "
        f"Measured in {report.seconds:.0f} s. The full suite, in a checkout of "
        "tinygrad_edu: python benchmarks/run.py")
    lines += [""] + textwrap.wrap(how_to_read, 88)
    if not report.ok:
        lines += [""] + textwrap.wrap(
            "A gradient check failed: that backend does not compute what the hand-written "
            "NumPy version computes, so its workload was not timed.", 88)
    return "\n".join(lines)

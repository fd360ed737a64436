"""Recurrent training steps (LSTM, GRU, RNN), once per backend: NumPy by hand, tinygrad_edu,
PyTorch.

The step: an LSTM, a GRU or an Elman RNN (input 32, hidden 128, one layer, time-major
input) over 50 time steps
of a batch of 32 sequences; a Linear(128, 1) on the last hidden state; the MSE loss
against a target; backward (through time); an SGD update (lr 0.01, no momentum), the
gradients cleared at the start of each step. float32. The three backends start from the
same weights, drawn once in NumPy from PyTorch's default initialisation, and train on the
same batch, step after step.

Each maker in `MAKERS[kind]` returns `(step, state)`, the contract of the W1/W3 makers in
`workloads.py`: `step()` runs one training step and returns that step's gradients as
NumPy arrays (references, not copies: nothing extra is timed); `state()` returns, as
NumPy arrays, the gradients of the last step and then the weights after it. Both use the
order

    weight_ih, weight_hh, bias_ih, bias_hh, head weight, head bias

so `run.check_training` can compare the backends before anything is timed.

`python benchmarks/run.py --only LSTM,GRU,RNN` checks and times them (add `--profile` for a
cProfile of the tinygrad_edu step).
"""

from __future__ import annotations

import numpy as np

LR = 0.01
INPUT, HIDDEN, SEQ, BATCH = 32, 128, 50, 32


GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}  # blocks of H rows in weight_ih and weight_hh


def lstm_init(seed: int = 0, gates: int = 4) -> tuple[np.ndarray, ...]:
    """(weight_ih, weight_hh, bias_ih, bias_hh, head weight, head bias), float32, as
    PyTorch draws them: U(-1/sqrt(H), 1/sqrt(H)) for the recurrent layer (`gates` blocks
    of H rows: 4 for an LSTM, 3 for a GRU, 1 for an RNN), U(-1/sqrt(128), ..) for the
    head."""
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(HIDDEN)
    shapes = [(gates * HIDDEN, INPUT), (gates * HIDDEN, HIDDEN), (gates * HIDDEN,),
              (gates * HIDDEN,), (1, HIDDEN), (1,)]
    return tuple(rng.uniform(-bound, bound, shape).astype(np.float32) for shape in shapes)


def lstm_data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """x (seq, batch, input) standard normal, target (batch, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((SEQ, BATCH, INPUT)).astype(np.float32)
    target = rng.standard_normal((BATCH, 1)).astype(np.float32)
    return x, target


# --- hand-written NumPy: forward, backpropagation through time, SGD ---------------------


def _sigmoid(z):
    return 0.5 * (np.tanh(0.5 * z) + 1)  # = 1 / (1 + e^-z), without overflow


def make_lstm_numpy(lr: float = LR):
    """The LSTM written out, with backpropagation through time by hand."""
    x, target = lstm_data()
    params = tuple(p.copy() for p in lstm_init())
    w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
    H = HIDDEN
    x_rows = x.reshape(SEQ * BATCH, INPUT)
    last = {}

    def step():
        # forward: the input part of every gate for all steps in one product
        x_proj = (x_rows @ w_ih.T + (b_ih + b_hh)).reshape(SEQ, BATCH, 4 * H)
        acts = np.empty((SEQ, BATCH, 4 * H), dtype=np.float32)  # i, f, g, o after activation
        c_prev = np.empty((SEQ, BATCH, H), dtype=np.float32)
        h_prev = np.empty((SEQ, BATCH, H), dtype=np.float32)
        tanh_c = np.empty((SEQ, BATCH, H), dtype=np.float32)
        h = np.zeros((BATCH, H), dtype=np.float32)
        c = np.zeros((BATCH, H), dtype=np.float32)
        for t in range(SEQ):
            h_prev[t], c_prev[t] = h, c
            gates = x_proj[t] + h @ w_hh.T
            a = acts[t]
            a[:, :2 * H] = _sigmoid(gates[:, :2 * H])
            a[:, 2 * H:3 * H] = np.tanh(gates[:, 2 * H:3 * H])
            a[:, 3 * H:] = _sigmoid(gates[:, 3 * H:])
            c = a[:, H:2 * H] * c + a[:, :H] * a[:, 2 * H:3 * H]
            tanh_c[t] = np.tanh(c)
            h = a[:, 3 * H:] * tanh_c[t]
        y = h @ w_out.T + b_out
        loss = ((y - target) ** 2).mean()
        # backward
        g_y = 2 * (y - target) / y.size
        g_w_out = g_y.T @ h
        g_b_out = g_y.sum(axis=0)
        g_h = g_y @ w_out
        g_c = np.zeros_like(c)
        g_gates = np.empty_like(acts)  # d loss / d (gate pre-activations), every step
        for t in reversed(range(SEQ)):
            a = acts[t]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            g_c = g_c + g_h * o * (1 - tanh_c[t] ** 2)
            gg = g_gates[t]
            gg[:, :H] = g_c * g * i * (1 - i)
            gg[:, H:2 * H] = g_c * c_prev[t] * f * (1 - f)
            gg[:, 2 * H:3 * H] = g_c * i * (1 - g * g)
            gg[:, 3 * H:] = g_h * tanh_c[t] * o * (1 - o)
            g_c = g_c * f
            g_h = gg @ w_hh
        g_rows = g_gates.reshape(SEQ * BATCH, 4 * H)
        g_w_ih = g_rows.T @ x_rows
        g_w_hh = g_rows.T @ h_prev.reshape(SEQ * BATCH, H)
        g_b = g_rows.sum(axis=0)
        grads = (g_w_ih, g_w_hh, g_b, g_b.copy(), g_w_out, g_b_out)
        for p, gp in zip(params, grads):
            p -= lr * gp
        last["grads"], last["loss"] = grads, loss
        return grads

    return step, lambda: tuple(last["grads"]) + tuple(p.copy() for p in params)


# --- GRU and RNN by hand: the same step (50 steps, batch 32, input 32, hidden 128) -------


def make_gru_numpy(lr: float = LR):
    """The GRU written out (PyTorch's equations, gates r, z, n), with BPTT by hand:

        r, z = sigmoid(x W_ir + b_ir + h W_hr + b_hr), sigmoid(x W_iz + ... )
        n = tanh(x W_in + b_in + r * (h W_hn + b_hn)),   h' = (1 - z) n + z h
    """
    x, target = lstm_data()
    params = tuple(p.copy() for p in lstm_init(gates=3))
    w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
    H = HIDDEN
    x_rows = x.reshape(SEQ * BATCH, INPUT)
    last = {}

    def step():
        x_proj = (x_rows @ w_ih.T + b_ih).reshape(SEQ, BATCH, 3 * H)
        h_prev = np.empty((SEQ, BATCH, H), dtype=np.float32)
        rz = np.empty((SEQ, BATCH, 2 * H), dtype=np.float32)
        n_all = np.empty((SEQ, BATCH, H), dtype=np.float32)
        hn_all = np.empty((SEQ, BATCH, H), dtype=np.float32)  # h W_hn + b_hn
        h = np.zeros((BATCH, H), dtype=np.float32)
        for t in range(SEQ):
            h_prev[t] = h
            hp = h @ w_hh.T + b_hh
            rz[t] = _sigmoid(x_proj[t, :, :2 * H] + hp[:, :2 * H])
            hn_all[t] = hp[:, 2 * H:]
            n = n_all[t] = np.tanh(x_proj[t, :, 2 * H:] + rz[t, :, :H] * hp[:, 2 * H:])
            h = n + rz[t, :, H:] * (h - n)
        y = h @ w_out.T + b_out
        loss = ((y - target) ** 2).mean()
        g_y = 2 * (y - target) / y.size
        g_w_out, g_b_out, g_h = g_y.T @ h, g_y.sum(axis=0), g_y @ w_out
        g_x = np.empty((SEQ, BATCH, 3 * H), dtype=np.float32)  # d loss / d x_proj
        g_hp = np.empty((SEQ, BATCH, 3 * H), dtype=np.float32)  # d loss / d (h W_hh^T + b_hh)
        for t in reversed(range(SEQ)):
            r, z, n = rz[t, :, :H], rz[t, :, H:], n_all[t]
            g_a = g_h * (1 - z) * (1 - n * n)  # through n's tanh
            g_z = g_h * (h_prev[t] - n) * z * (1 - z)
            g_r = g_a * hn_all[t] * r * (1 - r)
            g_x[t, :, :H], g_x[t, :, H:2 * H], g_x[t, :, 2 * H:] = g_r, g_z, g_a
            g_hp[t, :, :H], g_hp[t, :, H:2 * H], g_hp[t, :, 2 * H:] = g_r, g_z, g_a * r
            g_h = g_h * z + g_hp[t] @ w_hh
        g_x_rows, g_hp_rows = g_x.reshape(-1, 3 * H), g_hp.reshape(-1, 3 * H)
        grads = (g_x_rows.T @ x_rows, g_hp_rows.T @ h_prev.reshape(-1, H),
                 g_x_rows.sum(axis=0), g_hp_rows.sum(axis=0), g_w_out, g_b_out)
        for p, gp in zip(params, grads):
            p -= lr * gp
        last["grads"], last["loss"] = grads, loss
        return grads

    return step, lambda: tuple(last["grads"]) + tuple(p.copy() for p in params)


def make_rnn_numpy(lr: float = LR):
    """The Elman RNN written out, h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), with BPTT
    by hand."""
    x, target = lstm_data()
    params = tuple(p.copy() for p in lstm_init(gates=1))
    w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
    H = HIDDEN
    x_rows = x.reshape(SEQ * BATCH, INPUT)
    last = {}

    def step():
        x_proj = (x_rows @ w_ih.T + (b_ih + b_hh)).reshape(SEQ, BATCH, H)
        hs = np.empty((SEQ + 1, BATCH, H), dtype=np.float32)  # h_0 = 0, then each step's
        hs[0] = 0
        for t in range(SEQ):
            hs[t + 1] = np.tanh(x_proj[t] + hs[t] @ w_hh.T)
        h = hs[SEQ]
        y = h @ w_out.T + b_out
        loss = ((y - target) ** 2).mean()
        g_y = 2 * (y - target) / y.size
        g_w_out, g_b_out, g_h = g_y.T @ h, g_y.sum(axis=0), g_y @ w_out
        g_a = np.empty((SEQ, BATCH, H), dtype=np.float32)  # d loss / d pre-activation
        for t in reversed(range(SEQ)):
            g_a[t] = g_h * (1 - hs[t + 1] * hs[t + 1])
            g_h = g_a[t] @ w_hh
        g_rows = g_a.reshape(-1, H)
        g_b = g_rows.sum(axis=0)
        grads = (g_rows.T @ x_rows, g_rows.T @ hs[:SEQ].reshape(-1, H), g_b, g_b.copy(),
                 g_w_out, g_b_out)
        for p, gp in zip(params, grads):
            p -= lr * gp
        last["grads"], last["loss"] = grads, loss
        return grads

    return step, lambda: tuple(last["grads"]) + tuple(p.copy() for p in params)


# --- tinygrad_edu and PyTorch: the same code for the three layers ------------------------


def make_recurrent_tinygrad(tg, kind: str, lr: float = LR):
    """nn.LSTM, nn.GRU or nn.RNN + nn.Linear, F.mse_loss, tg.optim.SGD."""
    x, target = lstm_data()
    layer, head = getattr(tg.nn, kind)(INPUT, HIDDEN), tg.nn.Linear(HIDDEN, 1)
    params = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0,
              head.weight, head.bias]
    for p, value in zip(params, lstm_init(gates=GATES[kind])):
        p.data[...] = value
    opt = tg.optim.SGD(params, lr=lr)
    x, target = tg.Tensor(x), tg.Tensor(target)

    def step():
        opt.zero_grad()
        _, state = layer(x)
        h_n = state[0] if kind == "LSTM" else state
        loss = tg.nn.functional.mse_loss(head(h_n[-1]), target)
        loss.backward()
        opt.step()
        return tuple(p.grad.data for p in params)

    def state():
        return tuple(p.grad.data for p in params) + tuple(p.data.copy() for p in params)

    return step, state


def make_recurrent_torch(torch, kind: str, lr: float = LR):
    """torch.nn.LSTM, GRU or RNN + torch.nn.Linear, F.mse_loss, torch.optim.SGD."""
    x, target = lstm_data()
    layer, head = getattr(torch.nn, kind)(INPUT, HIDDEN), torch.nn.Linear(HIDDEN, 1)
    params = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0,
              head.weight, head.bias]
    with torch.no_grad():
        for p, value in zip(params, lstm_init(gates=GATES[kind])):
            p.copy_(torch.from_numpy(value))
    opt = torch.optim.SGD(params, lr=lr)
    x, target = torch.from_numpy(x), torch.from_numpy(target)

    def step():
        opt.zero_grad(set_to_none=True)
        _, state = layer(x)
        h_n = state[0] if kind == "LSTM" else state
        loss = torch.nn.functional.mse_loss(head(h_n[-1]), target)
        loss.backward()
        opt.step()
        return tuple(p.grad.numpy() for p in params)

    def state():
        return (tuple(p.grad.numpy() for p in params)
                + tuple(p.detach().numpy().copy() for p in params))

    return step, state


MAKERS = {kind: {"numpy": make_numpy,
                 "tinygrad_edu": lambda tg, kind=kind: make_recurrent_tinygrad(tg, kind),
                 "torch": lambda torch, kind=kind: make_recurrent_torch(torch, kind)}
          for kind, make_numpy in (("LSTM", make_lstm_numpy), ("GRU", make_gru_numpy),
                                   ("RNN", make_rnn_numpy))}

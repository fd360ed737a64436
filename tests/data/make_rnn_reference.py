"""Write rnn_torch_reference.npz: PyTorch's recurrent layers, for tests/test_rnn.py.

Run with a Python that has torch (the test suite itself never imports it)::

    python3 tests/data/make_rnn_reference.py

For five float64 models, seeded,

- "lstm": nn.LSTM(3, 4, num_layers=2, batch_first=True), input (2, 5, 3), given (h_0, c_0);
- "gru":  nn.GRU(3, 4), input (5, 2, 3), zero initial state;
- "rnn":  nn.RNN(3, 4, nonlinearity="tanh"), input (5, 2, 3), given h_0;
- "bilstm": nn.LSTM(3, 4, num_layers=2, bidirectional=True), input (5, 2, 3), given
  (h_0, c_0);
- "bigru": nn.GRU(3, 4, bidirectional=True, batch_first=True), input (2, 5, 3);

it stores, under "<model>.<name>": the state dict (PyTorch's keys), the input `x`, the
initial states, the outputs (`output`, `h_n`, and `c_n` for the LSTM), random weights
`r_<output>` of the loss  sum over the outputs of (r_<output> * output).sum(), and the
gradients of that loss (`grad.x`, `grad.<parameter>`).
"""

from __future__ import annotations

import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def record(name: str, model, x, state, out: dict) -> None:
    x = x.clone().requires_grad_(True)
    output, final = model(x, state) if state is not None else model(x)
    outputs = {"output": output}
    if isinstance(final, tuple):
        outputs["h_n"], outputs["c_n"] = final
    else:
        outputs["h_n"] = final
    loss = 0
    for key, value in outputs.items():
        weights = torch.randn(value.shape, dtype=torch.float64)
        out[f"{name}.r_{key}"] = weights.numpy()
        out[f"{name}.{key}"] = value.detach().numpy()
        loss = loss + (weights * value).sum()
    loss.backward()
    for key, value in model.state_dict().items():
        out[f"{name}.{key}"] = value.numpy()
    for key, param in model.named_parameters():
        out[f"{name}.grad.{key}"] = param.grad.numpy()
    out[f"{name}.x"] = x.detach().numpy()
    out[f"{name}.grad.x"] = x.grad.numpy()
    states = state if isinstance(state, tuple) else (state,)
    for label, value in zip(("h_0", "c_0"), states):
        if value is not None:
            out[f"{name}.{label}"] = value.numpy()


def main() -> None:
    torch.set_default_dtype(torch.float64)
    out: dict[str, np.ndarray] = {}

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
    x = torch.randn(2, 5, 3)
    state = (torch.randn(2, 2, 4), torch.randn(2, 2, 4))  # (num_layers, batch, H)
    record("lstm", lstm, x, state, out)

    torch.manual_seed(1)
    gru = torch.nn.GRU(3, 4)
    record("gru", gru, torch.randn(5, 2, 3), None, out)

    torch.manual_seed(2)
    rnn = torch.nn.RNN(3, 4, nonlinearity="tanh")
    record("rnn", rnn, torch.randn(5, 2, 3), torch.randn(1, 2, 4), out)

    torch.manual_seed(3)
    bilstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    state = (torch.randn(4, 2, 4), torch.randn(4, 2, 4))  # (2 * num_layers, batch, H)
    record("bilstm", bilstm, torch.randn(5, 2, 3), state, out)

    torch.manual_seed(4)
    bigru = torch.nn.GRU(3, 4, bidirectional=True, batch_first=True)
    record("bigru", bigru, torch.randn(2, 5, 3), None, out)

    path = os.path.join(HERE, "rnn_torch_reference.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path}: {len(out)} arrays, {os.path.getsize(path)} bytes, torch "
          f"{torch.__version__}")


if __name__ == "__main__":
    main()

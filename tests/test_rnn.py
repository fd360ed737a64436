"""tg.nn recurrent layers: RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU.

Expectations come from the equations written out in NumPy below (PyTorch's definitions,
gate orders i, f, g, o for the LSTM and r, z, n for the GRU), from PyTorch itself through
a small fixture (tests/data/rnn_torch_reference.npz, made by make_rnn_reference.py: the
state dicts, an input, the outputs and the gradients of a loss, in float64, for stacked,
batch-first and bidirectional layers), and from
the uniform distribution for the initialisation. Gradients are checked in float64 with
`tg.gradcheck` for every input, state and parameter of each cell, and the fixture
comparison is shown to fail for an LSTM that reads its gates in the wrong order and for
a GRU that applies r to W_hn h without its bias.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn.rnn import GRUStep, LSTMStep, RNNStep, _gru_step, _lstm_step, _rnn_step

FIXTURE = os.path.join(os.path.dirname(__file__), "data", "rnn_torch_reference.npz")


def leaf(array) -> tg.Tensor:
    """A float64 leaf that requires grad (what gradcheck wants)."""
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# ---------------------------------------------------------------------------------------
# the equations in NumPy
# ---------------------------------------------------------------------------------------


def np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def np_rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    pre = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    return np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)


def np_lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    i, f, g, o = np.split(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=-1)
    c_next = np_sigmoid(f) * c + np_sigmoid(i) * np.tanh(g)
    return np_sigmoid(o) * np.tanh(c_next), c_next


def np_gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    x_r, x_z, x_n = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    h_r, h_z, h_n = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = np_sigmoid(x_r + h_r), np_sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def cell_params(cell) -> list[np.ndarray]:
    """weight_ih, weight_hh, bias_ih, bias_hh as arrays (zeros for a cell without bias)."""
    rows = cell.weight_ih.shape[0]
    biases = ([cell.bias_ih.data, cell.bias_hh.data] if cell.bias
              else [np.zeros(rows), np.zeros(rows)])
    return [cell.weight_ih.data, cell.weight_hh.data] + biases


def np_layers(kind: str, model, x, h0=None, c0=None):
    """The whole stacked layer in NumPy, time-major x (seq, batch, in)."""
    layers, hidden = model.num_layers, model.hidden_size
    batch = x.shape[1]
    h0 = np.zeros((layers, batch, hidden)) if h0 is None else h0
    c0 = np.zeros((layers, batch, hidden)) if c0 is None else c0
    h_n, c_n = [], []
    for k in range(layers):
        p = [getattr(model, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih",
                                                     "bias_hh")]
        p = [t.data if t is not None else 0.0 for t in p]
        h, c, out = h0[k], c0[k], []
        for x_t in x:
            if kind == "lstm":
                h, c = np_lstm_cell(x_t, h, c, *p)
            elif kind == "gru":
                h = np_gru_cell(x_t, h, *p)
            else:
                h = np_rnn_cell(x_t, h, *p, model.nonlinearity)
            out.append(h)
        x = np.stack(out)
        h_n.append(h)
        c_n.append(c)
    return x, np.stack(h_n), np.stack(c_n)


# ---------------------------------------------------------------------------------------
# cells: forward against NumPy, gradcheck of every input, state and parameter
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_cell_forward_matches_numpy(kind, batched, bias):
    rng = np.random.default_rng(1)
    shape = (4, 3) if batched else (3,)
    hshape = (4, 5) if batched else (5,)
    x, h, c = rng.standard_normal(shape), rng.standard_normal(hshape), rng.standard_normal(hshape)
    if kind == "lstm":
        cell = nn.LSTMCell(3, 5, bias=bias, dtype=np.float64)
        got_h, got_c = cell(tg.Tensor(x), (tg.Tensor(h), tg.Tensor(c)))
        want_h, want_c = np_lstm_cell(x, h, c, *cell_params(cell))
        np.testing.assert_allclose(got_c.data, want_c, rtol=1e-12, atol=1e-14)
        assert got_c.shape == hshape
    elif kind == "gru":
        cell = nn.GRUCell(3, 5, bias=bias, dtype=np.float64)
        got_h = cell(tg.Tensor(x), tg.Tensor(h))
        want_h = np_gru_cell(x, h, *cell_params(cell))
    else:
        nonlinearity = kind.split("_")[1]
        cell = nn.RNNCell(3, 5, bias=bias, nonlinearity=nonlinearity, dtype=np.float64)
        got_h = cell(tg.Tensor(x), tg.Tensor(h))
        want_h = np_rnn_cell(x, h, *cell_params(cell), nonlinearity)
    assert got_h.shape == hshape
    np.testing.assert_allclose(got_h.data, want_h, rtol=1e-12, atol=1e-14)


def test_cell_state_defaults_to_zeros():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3))
    zeros = np.zeros((2, 4))
    lstm = nn.LSTMCell(3, 4, dtype=np.float64)
    h, c = lstm(tg.Tensor(x))
    want_h, want_c = np_lstm_cell(x, zeros, zeros, *cell_params(lstm))
    np.testing.assert_allclose(h.data, want_h, rtol=1e-12)
    np.testing.assert_allclose(c.data, want_c, rtol=1e-12)
    gru = nn.GRUCell(3, 4, dtype=np.float64)
    np.testing.assert_allclose(gru(tg.Tensor(x)).data, np_gru_cell(x, zeros, *cell_params(gru)),
                               rtol=1e-12)


def _with_params(cell, params):
    cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh = params


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_cell_gradcheck_every_input_state_and_parameter(kind):
    rng = np.random.default_rng(3)
    x, h, c = (leaf(rng.standard_normal((2, 3))) for _ in range(3))
    h.data = h.data[:, :2].copy()  # hidden size 2
    c.data = c.data[:, :2].copy()
    if kind == "lstm":
        cell = nn.LSTMCell(3, 2, dtype=np.float64)
    elif kind == "gru":
        cell = nn.GRUCell(3, 2, dtype=np.float64)
    else:
        cell = nn.RNNCell(3, 2, dtype=np.float64)
    params = [leaf(p.data) for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]

    if kind == "lstm":
        def f(x, h, c, *params):
            _with_params(cell, params)
            return cell(x, (h, c))  # both outputs, h' and c', are checked
        inputs = [x, h, c, *params]
    else:
        def f(x, h, *params):
            _with_params(cell, params)
            return cell(x, h)
        inputs = [x, h, *params]
    assert tg.gradcheck(f, inputs, atol=1e-7, rtol=1e-5)


def test_relu_rnn_cell_gradcheck_away_from_the_kink():
    rng = np.random.default_rng(4)
    cell = nn.RNNCell(3, 2, nonlinearity="relu", dtype=np.float64)
    x, h = leaf(rng.standard_normal((4, 3))), leaf(rng.standard_normal((4, 2)))
    pre = x.data @ cell.weight_ih.data.T + cell.bias_ih.data + h.data @ cell.weight_hh.data.T \
        + cell.bias_hh.data
    assert np.abs(pre).min() > 1e-3  # no pre-activation sits on the kink at 0
    assert (pre > 0).any() and (pre < 0).any()  # both branches of relu are exercised
    assert tg.gradcheck(lambda x, h: cell(x, h), [x, h], atol=1e-7, rtol=1e-5)


# ---------------------------------------------------------------------------------------
# layers: shapes, NumPy, PyTorch's keys and layouts
# ---------------------------------------------------------------------------------------

TORCH_KEYS_2_LAYERS = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                       "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]


@pytest.mark.parametrize("cls, gates", [(nn.RNN, 1), (nn.LSTM, 4), (nn.GRU, 3)])
def test_state_dict_keys_and_shapes_are_pytorchs(cls, gates):
    model = cls(3, 5, num_layers=2)
    state = model.state_dict()
    assert list(state) == TORCH_KEYS_2_LAYERS  # PyTorch's names, in PyTorch's order
    shapes = [(gates * 5, 3), (gates * 5, 5), (gates * 5,), (gates * 5,),
              (gates * 5, 5), (gates * 5, 5), (gates * 5,), (gates * 5,)]
    assert [tuple(t.shape) for t in state.values()] == shapes
    assert list(cls(3, 5, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]


def test_bidirectional_keys_shapes_and_outputs_are_pytorchs():
    model = nn.GRU(3, 5, num_layers=2, bidirectional=True)
    state = model.state_dict()
    assert list(state) == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
        "bias_hh_l0_reverse",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
        "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse",
        "bias_hh_l1_reverse"]
    assert state["weight_ih_l0_reverse"].shape == (15, 3)
    assert state["weight_ih_l1"].shape == (15, 10)  # reads both directions of layer 0
    out, h_n = model(np.zeros((7, 2, 3)))
    assert out.shape == (7, 2, 10) and h_n.shape == (4, 2, 5)
    out, h_n = model(np.zeros((7, 3)))  # unbatched
    assert out.shape == (7, 10) and h_n.shape == (4, 5)
    # the reverse direction's last state is its output at the first time step
    np.testing.assert_array_equal(h_n.data[3], out.data[0, 5:])
    np.testing.assert_array_equal(h_n.data[2], out.data[-1, :5])


@pytest.mark.parametrize("cls, gates", [(nn.RNNCell, 1), (nn.LSTMCell, 4), (nn.GRUCell, 3)])
def test_cell_state_dict_keys_and_shapes(cls, gates):
    state = cls(3, 5).state_dict()
    assert list(state) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert [tuple(t.shape) for t in state.values()] == [(gates * 5, 3), (gates * 5, 5),
                                                       (gates * 5,), (gates * 5,)]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layers_match_numpy_with_initial_state(kind, batch_first):
    rng = np.random.default_rng(5)
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    model = cls(3, 4, num_layers=3, batch_first=batch_first, dtype=np.float64)
    x = rng.standard_normal((6, 2, 3))  # time-major here; transposed for batch_first
    h0, c0 = rng.standard_normal((3, 2, 4)), rng.standard_normal((3, 2, 4))
    x_in = x.swapaxes(0, 1) if batch_first else x
    want_out, want_h, want_c = np_layers(kind, model, x, h0, c0 if kind == "lstm" else None)
    if kind == "lstm":
        out, (h_n, c_n) = model(tg.Tensor(x_in), (tg.Tensor(h0), tg.Tensor(c0)))
        np.testing.assert_allclose(c_n.data, want_c, rtol=1e-12, atol=1e-14)
    else:
        out, h_n = model(tg.Tensor(x_in), tg.Tensor(h0))
    assert out.shape == ((2, 6, 4) if batch_first else (6, 2, 4))
    assert h_n.shape == (3, 2, 4)
    want_out = want_out.swapaxes(0, 1) if batch_first else want_out
    np.testing.assert_allclose(out.data, want_out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_n.data, want_h, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_unbatched_input_matches_a_batch_of_one(kind):
    rng = np.random.default_rng(6)
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    model = cls(3, 4, num_layers=2, batch_first=True, dtype=np.float64)
    x = rng.standard_normal((5, 3))  # (seq, feature): batch_first does not apply
    out, final = model(tg.Tensor(x))
    want_out, want_h, want_c = np_layers(kind, model, x[:, None, :])
    assert out.shape == (5, 4)
    np.testing.assert_allclose(out.data, want_out[:, 0], rtol=1e-12, atol=1e-14)
    h_n = final[0] if kind == "lstm" else final
    assert h_n.shape == (2, 4)
    np.testing.assert_allclose(h_n.data, want_h[:, 0], rtol=1e-12, atol=1e-14)
    if kind == "lstm":
        assert final[1].shape == (2, 4)
        np.testing.assert_allclose(final[1].data, want_c[:, 0], rtol=1e-12, atol=1e-14)


def test_one_step_layer_equals_its_cell():
    rng = np.random.default_rng(7)
    layer = nn.GRU(3, 4, dtype=np.float64)
    cell = nn.GRUCell(3, 4, dtype=np.float64)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = rng.standard_normal((1, 2, 3))
    out, h_n = layer(tg.Tensor(x))
    np.testing.assert_allclose(out.data[0], cell(tg.Tensor(x[0])).data, rtol=1e-14)
    np.testing.assert_allclose(h_n.data[0], out.data[0], rtol=0)


def test_layer_gradcheck_two_layers_batch_first():
    rng = np.random.default_rng(8)
    model = nn.LSTM(2, 2, num_layers=2, batch_first=True, dtype=np.float64)
    x = leaf(rng.standard_normal((2, 3, 2)))
    h0, c0 = leaf(rng.standard_normal((2, 2, 2))), leaf(rng.standard_normal((2, 2, 2)))
    names = [name for name, _ in model.named_parameters()]
    params = [leaf(p.data) for p in model.parameters()]

    def f(x, h0, c0, *params):
        for name, p in zip(names, params):
            setattr(model, name, p)
        out, (h_n, c_n) = model(x, (h0, c0))
        return out, h_n, c_n

    assert tg.gradcheck(f, [x, h0, c0, *params], atol=1e-7, rtol=1e-5)


# ---------------------------------------------------------------------------------------
# real PyTorch: load its state dicts, compare outputs and gradients
# ---------------------------------------------------------------------------------------


class LSTMWrongGateOrder(nn.LSTM):
    """Reads the gates as i, f, o, g: the mistake the fixture comparison must catch."""

    def _step(self, x_proj, state, w_hh, b_hh, t, shared=None):
        size = self.hidden_size
        h, c = state[:, :size], state[:, size:]  # the layer's state is [h | c]
        gates = x_proj[t] + h @ w_hh.T  # (b_hh is in x_proj already)
        i, f = gates[:, :size].sigmoid(), gates[:, size:2 * size].sigmoid()
        o, g = gates[:, 2 * size:3 * size].sigmoid(), gates[:, 3 * size:].tanh()  # wrong
        c = f * c + i * g
        return tg.cat([o * c.tanh(), c], axis=-1)


class GRUBiasOutsideReset(nn.GRU):
    """n = tanh(W_in x + b_in + r * (W_hn h) + b_hn): b_hn outside r, another common slip."""

    def _step(self, x_proj, h, w_hh, b_hh, t, shared=None):
        size = h.shape[-1]
        h_proj = tg.nn.functional.linear(h, w_hh)
        x_t = x_proj[t]
        rz = (x_t[:, :2 * size] + h_proj[:, :2 * size] + b_hh[:2 * size]).sigmoid()
        r, z = rz[:, :size], rz[:, size:]
        n = (x_t[:, 2 * size:] + r * h_proj[:, 2 * size:] + b_hh[2 * size:]).tanh()  # wrong
        return n + z * (h - n)


MODELS = {
    "lstm": lambda cls=nn.LSTM: cls(3, 4, num_layers=2, batch_first=True, dtype=np.float64),
    "gru": lambda cls=nn.GRU: cls(3, 4, dtype=np.float64),
    "rnn": lambda cls=nn.RNN: cls(3, 4, nonlinearity="tanh", dtype=np.float64),
    "bilstm": lambda cls=nn.LSTM: cls(3, 4, num_layers=2, bidirectional=True,
                                      dtype=np.float64),
    "bigru": lambda cls=nn.GRU: cls(3, 4, bidirectional=True, batch_first=True,
                                    dtype=np.float64),
}
# how many tensors each comparison covers: outputs, the input's gradient, and one
# gradient per parameter
COMPARED = {"lstm": 3 + 1 + 8, "gru": 2 + 1 + 4, "rnn": 2 + 1 + 4, "bilstm": 3 + 1 + 16,
            "bigru": 2 + 1 + 8}


def torch_errors(name: str, model) -> dict:
    """Load PyTorch's state dict into `model`, run the fixture's input and loss through
    it, and return the largest |difference| from PyTorch for each output and gradient."""
    ref = np.load(FIXTURE)
    prefix = name + "."
    state = {k[len(prefix):]: ref[k] for k in ref.files
             if k.startswith(prefix) and k[len(prefix):].startswith(("weight_", "bias_"))}
    model.load_state_dict(state)  # strict: the keys must be exactly PyTorch's
    x = leaf(ref[prefix + "x"])
    states = [tg.Tensor(ref[prefix + s]) for s in ("h_0", "c_0") if prefix + s in ref.files]
    hx = None if not states else (tuple(states) if "lstm" in name else states[0])
    output, final = model(x, hx)
    outputs = {"output": output}
    if "lstm" in name:
        outputs["h_n"], outputs["c_n"] = final
    else:
        outputs["h_n"] = final
    loss = sum((tg.Tensor(ref[prefix + "r_" + k]) * v).sum() for k, v in outputs.items())
    loss.backward()
    errors = {k: np.abs(v.data - ref[prefix + k]).max() for k, v in outputs.items()}
    errors["grad.x"] = np.abs(x.grad.data - ref[prefix + "grad.x"]).max()
    for key, param in model.named_parameters():
        errors["grad." + key] = np.abs(param.grad.data - ref[prefix + "grad." + key]).max()
    return errors


@pytest.mark.parametrize("name", list(MODELS))
def test_matches_pytorch_outputs_and_gradients(name):
    errors = torch_errors(name, MODELS[name]())
    assert len(errors) == COMPARED[name]  # every output, the input, every parameter
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-10, (worst, errors[worst])


@pytest.mark.parametrize("name, wrong", [("lstm", LSTMWrongGateOrder),
                                         ("bilstm", LSTMWrongGateOrder),
                                         ("gru", GRUBiasOutsideReset)])
def test_pytorch_comparison_catches_a_wrong_variant(name, wrong):
    errors = torch_errors(name, MODELS[name](wrong))
    assert max(errors.values()) > 1e-3


# ---------------------------------------------------------------------------------------
# long sequences: backpropagation through 1,000 steps
# ---------------------------------------------------------------------------------------


def test_lstm_backward_through_1000_steps():
    rng = np.random.default_rng(9)
    model = nn.LSTM(2, 3, dtype=np.float64)
    x = leaf(rng.standard_normal((1000, 1, 2)))
    weights = rng.standard_normal((1000, 1, 3))

    def loss_of(model, x):
        out, (h_n, c_n) = model(x)
        return (out * weights).sum() + c_n.sum()

    loss_of(model, x).backward()  # ~15,000 nodes deep: an iterative walk is needed
    grad_w = model.weight_hh_l0.grad.data
    assert np.isfinite(grad_w).all() and np.isfinite(x.grad.data).all()
    assert np.abs(x.grad.data[0]).max() > 0  # the gradient reaches the first step
    # the directional derivative along a random direction, by central differences
    direction = rng.standard_normal(grad_w.shape)
    base = model.weight_hh_l0.data.copy()
    eps = 1e-6
    with tg.no_grad():
        values = []
        for sign in (1, -1):
            model.weight_hh_l0.data[...] = base + sign * eps * direction
            values.append(loss_of(model, tg.Tensor(x.data)).item())
    model.weight_hh_l0.data[...] = base
    numeric = (values[0] - values[1]) / (2 * eps)
    analytic = float((grad_w * direction).sum())
    assert abs(numeric - analytic) <= 1e-7 * max(1.0, abs(analytic)), (numeric, analytic)


# ---------------------------------------------------------------------------------------
# dropout between layers, initialisation, errors
# ---------------------------------------------------------------------------------------


def test_dropout_between_layers_only_in_training():
    rng = np.random.default_rng(10)
    x = tg.Tensor(rng.standard_normal((4, 2, 3)))
    model = nn.GRU(3, 4, num_layers=2, dropout=1.0, dtype=np.float64)
    # p = 1 zeroes everything layer 0 hands on: layer 1 then runs on zeros
    out, h_n = model(x)
    zeros = np.zeros((4, 2, 4))
    layer1 = nn.GRU(4, 4, dtype=np.float64)
    layer1.load_state_dict({k[:-1] + "0": v for k, v in model.state_dict().items()
                            if k.endswith("l1")})
    want, _, _ = np_layers("gru", layer1, zeros)
    np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-14)
    model.eval()
    out_eval, h_eval = model(x)
    want_eval, want_h, _ = np_layers("gru", model, x.data)
    np.testing.assert_allclose(out_eval.data, want_eval, rtol=1e-12, atol=1e-14)
    # the first layer's final state is untouched by the dropout after it
    np.testing.assert_allclose(h_n.data[0], want_h[0], rtol=1e-12, atol=1e-14)


def test_dropout_is_seeded_by_tg_manual_seed():
    x = tg.Tensor(np.random.default_rng(11).standard_normal((4, 2, 3)))
    model = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    runs = []
    for _ in range(2):
        tg.manual_seed(5)
        runs.append(model(x)[0].data)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], model.eval()(x)[0].data)


def test_init_is_uniform_within_one_over_sqrt_hidden_from_tg_generator():
    hidden = 100
    bound = 1 / math.sqrt(hidden)
    tg.manual_seed(3)
    cell = nn.LSTMCell(50, hidden, dtype=np.float64)
    tg.manual_seed(3)
    first = tg.generator().uniform(-bound, bound, (4 * hidden, 50))
    np.testing.assert_array_equal(cell.weight_ih.data, first)  # drawn first, as in PyTorch
    for name, p in cell.named_parameters():
        assert np.abs(p.data).max() <= bound, name
    w = cell.weight_hh.data  # 40,000 draws: the variance of U(-b, b) is b^2 / 3
    assert abs(w.var() / (bound ** 2 / 3) - 1) < 0.03
    layer = nn.GRU(7, hidden, num_layers=2)
    assert all(np.abs(p.data).max() <= bound for p in layer.parameters())
    assert layer.weight_ih_l0.dtype == np.float32  # the default dtype


@pytest.mark.parametrize("make, x, match", [
    (lambda: nn.LSTM(3, 4), np.zeros((5, 2, 2)), r"LSTM: expected an input of shape "
                                                 r"\(seq, batch, 3\)"),
    (lambda: nn.GRU(3, 4, batch_first=True), np.zeros(3), r"GRU: .*\(batch, seq, 3\)"),
    (lambda: nn.RNN(3, 4), np.zeros((0, 2, 3)), "RNN: the sequence is empty"),
    (lambda: nn.LSTMCell(3, 4), np.zeros((2, 4)), r"LSTMCell: .*\(batch, 3\)"),
])
def test_bad_input_shapes_raise_value_errors(make, x, match):
    with pytest.raises(ValueError, match=match):
        make()(x)


def test_bad_state_and_options_raise():
    with pytest.raises(ValueError, match=r"h_0 must have shape .*\(2, 3, 4\)"):
        nn.GRU(2, 4, num_layers=2)(np.zeros((5, 3, 2)), np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match=r"pair \(h_0, c_0\)"):
        nn.LSTM(2, 4)(np.zeros((5, 3, 2)), np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match=r"RNNCell: hx must have shape \(3, 4\)"):
        nn.RNNCell(2, 4)(np.zeros((3, 2)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(2, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        nn.LSTM(2, 0)
    with pytest.raises(ValueError, match="dropout is a probability"):
        nn.GRU(2, 4, dropout=1.5)
    with pytest.raises(ValueError, match=r"h_0 must have shape \(num_layers \* 2, batch, "):
        nn.RNN(2, 4, bidirectional=True)(np.zeros((5, 3, 2)), np.zeros((1, 3, 4)))


def test_repr_shows_sizes_and_options():
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True)).startswith(
        "LSTM(3, 4, num_layers=2, batch_first=True)")
    assert repr(nn.GRU(3, 4, bidirectional=True)).startswith("GRU(3, 4, bidirectional=True)")
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")).startswith(
        "RNNCell(3, 4, nonlinearity=relu)")



# --- the fused steps of nn.RNN, nn.LSTM and nn.GRU ---------------------------------------

SIZE, BATCH, STEPS = 4, 3, 3


def _step_case(kind, seed=0, bias=True):
    """(the step op, its inputs, its option t, the same step by primitives). x_proj has
    STEPS rows; the step reads row 1."""
    rng = np.random.default_rng(seed)
    gates = {"rnn": 1, "relu": 1, "lstm": 4, "gru": 3}[kind]
    width = 2 * SIZE if kind == "lstm" else SIZE
    arrays = [rng.standard_normal((STEPS, BATCH, gates * SIZE)),
              rng.standard_normal((BATCH, width)),
              0.5 * rng.standard_normal((gates * SIZE, SIZE))]
    if kind == "gru" and bias:
        arrays.append(rng.standard_normal(gates * SIZE))
    inputs = [tg.Tensor(a, requires_grad=True) for a in arrays]

    def primitives(x_proj, state, w_hh, b_hh=None):
        if kind in ("rnn", "relu"):
            return _rnn_step(x_proj[1], state, w_hh, None, "tanh" if kind == "rnn" else "relu")
        if kind == "gru":
            return _gru_step(x_proj[1], state, w_hh, b_hh)
        h, c = _lstm_step(x_proj[1], state[:, :SIZE], state[:, SIZE:], w_hh, None)
        return tg.cat([h, c], axis=-1)

    options = {"t": 1}
    if kind in ("rnn", "relu"):
        options["nonlinearity"] = "tanh" if kind == "rnn" else "relu"
    op = {"rnn": RNNStep, "relu": RNNStep, "lstm": LSTMStep, "gru": GRUStep}[kind]
    return op, inputs, options, primitives


@pytest.mark.parametrize("kind", ["rnn", "relu", "lstm", "gru"])
def test_each_fused_step_is_the_equations_and_passes_gradcheck(kind):
    op, inputs, options, primitives = _step_case(kind)
    np.testing.assert_allclose(op.apply(*inputs, **options).numpy(),
                               primitives(*inputs).numpy(), rtol=1e-13)
    step = lambda *xs: op.apply(*xs, **options)
    assert tg.gradcheck(step, inputs, verbose=False)
    assert tg.gradcheck(step, inputs, method="np.gradient", verbose=False)
    assert tg.gradgradcheck(step, inputs, verbose=False)
    # the gradients equal those of the primitives, for every input
    g = np.random.default_rng(1).standard_normal(primitives(*inputs).shape)
    fused = tg.autograd.grad(step(*inputs), inputs, grad_outputs=g)
    plain = tg.autograd.grad(primitives(*inputs), inputs, grad_outputs=g)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)


def test_the_gru_step_without_bias():
    op, inputs, options, primitives = _step_case("gru", bias=False)
    np.testing.assert_allclose(op.apply(*inputs, **options).numpy(),
                               primitives(*inputs).numpy(), rtol=1e-13)
    assert tg.gradcheck(lambda *xs: op.apply(*xs, **options), inputs, verbose=False)


class ForgetsTheForgetGate(LSTMStep):
    @staticmethod
    def backward(ctx, grad_output):
        grads = list(LSTMStep.backward(ctx, grad_output))
        state = grads[1].numpy().copy()
        state[:, SIZE:] = grad_output.numpy()[:, SIZE:]  # dc_prev without the f factor
        grads[1] = tg.Tensor(state)
        return tuple(grads)


class GRUWithoutTheResetInDh(GRUStep):
    @staticmethod
    def backward(ctx, grad_output):
        grads = list(GRUStep.backward(ctx, grad_output))
        grads[1] = grads[1] - grad_output * ctx.saved_tensors[2][:, SIZE:]  # dh' z dropped
        return tuple(grads)


class RNNWithTheInputSlope(RNNStep):
    @staticmethod
    def backward(ctx, grad_output):
        grads = list(RNNStep.backward(ctx, grad_output))
        grads[1] = grads[1] * 2.0  # a stray factor in d h
        return tuple(grads)


@pytest.mark.parametrize("kind, wrong", [("lstm", ForgetsTheForgetGate),
                                         ("gru", GRUWithoutTheResetInDh),
                                         ("rnn", RNNWithTheInputSlope)])
def test_a_wrong_fused_backward_fails_gradcheck(kind, wrong):
    op, inputs, options, _ = _step_case(kind)
    assert not tg.gradcheck(lambda *xs: wrong.apply(*xs, **options), inputs, verbose=False)
    assert tg.gradcheck(lambda *xs: op.apply(*xs, **options), inputs, verbose=False)


def _layer_and_cell(kind, **options):
    tg.manual_seed(4)
    layer_cls, cell_cls = {"rnn": (nn.RNN, nn.RNNCell), "relu": (nn.RNN, nn.RNNCell),
                           "lstm": (nn.LSTM, nn.LSTMCell), "gru": (nn.GRU, nn.GRUCell)}[kind]
    extra = {"nonlinearity": "relu"} if kind == "relu" else {}
    layer = layer_cls(3, 5, dtype=np.float64, **extra, **options)
    cell = cell_cls(3, 5, dtype=np.float64, bias=options.get("bias", True), **extra)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        if getattr(cell, name) is not None:
            getattr(cell, name).data[...] = getattr(layer, name + "_l0").data
    return layer, cell


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", ["rnn", "relu", "lstm", "gru"])
def test_each_layer_equals_its_cell_unrolled_forward_and_backward(kind, bias):
    layer, cell = _layer_and_cell(kind, bias=bias)
    x0 = np.random.default_rng(5).standard_normal((7, 2, 3))
    x_layer, x_cell = tg.Tensor(x0, requires_grad=True), tg.Tensor(x0, requires_grad=True)
    h0 = np.random.default_rng(6).standard_normal((1, 2, 5))
    h0_layer, h0_cell = tg.Tensor(h0, requires_grad=True), tg.Tensor(h0[0], requires_grad=True)
    if kind == "lstm":
        output, (h_n, c_n) = layer(x_layer, (h0_layer, tg.zeros(1, 2, 5, dtype=np.float64)))
        state = (h0_cell, tg.zeros(2, 5, dtype=np.float64))
    else:
        output, h_n = layer(x_layer, h0_layer)
        state = h0_cell
    steps = []
    for t in range(7):
        state = cell(x_cell[t], state)
        steps.append(state[0] if kind == "lstm" else state)
    np.testing.assert_allclose(output.numpy(), tg.stack(steps).numpy(), rtol=1e-12)
    weights = np.random.default_rng(7).standard_normal(output.shape)
    ((output * tg.Tensor(weights)).sum() + h_n.sum()).backward()
    ((tg.stack(steps) * tg.Tensor(weights)).sum() + steps[-1].sum()).backward()
    np.testing.assert_allclose(x_layer.grad.numpy(), x_cell.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(h0_layer.grad.numpy()[0], h0_cell.grad.numpy(), rtol=1e-10)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        if getattr(cell, name) is not None:
            np.testing.assert_allclose(getattr(layer, name + "_l0").grad.numpy(),
                                       getattr(cell, name).grad.numpy(), rtol=1e-10,
                                       err_msg=name)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_a_loss_on_the_early_outputs_only_and_a_second_backward(kind):
    # the steps after the loss's last output are never reached: their rows of the shared
    # buffers must be left out (see _Sequence.top); retain_graph runs it twice
    layer, cell = _layer_and_cell(kind)
    x0 = np.random.default_rng(8).standard_normal((6, 2, 3))
    x = tg.Tensor(x0, requires_grad=True)
    output = layer(x)[0]
    loss = (output[:3] ** 2).sum()
    loss.backward(retain_graph=True)
    first = {name: p.grad.numpy().copy() for name, p in layer.named_parameters()}
    with warnings.catch_warnings():  # (adding into .grad is the point here)
        warnings.simplefilter("ignore", tg.autograd.LearnerWarning)
        loss.backward()  # the same again: every gradient doubles
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), 2 * first[name], rtol=1e-12)
    state, steps = None, []
    for t in range(3):
        state = cell(tg.Tensor(x0[t]), state)
        steps.append(state[0] if kind == "lstm" else state)
    (tg.stack(steps) ** 2).sum().backward()
    np.testing.assert_allclose(first["weight_hh_l0"], cell.weight_hh.grad.numpy(),
                               rtol=1e-10)
    np.testing.assert_allclose(first["weight_ih_l0"], cell.weight_ih.grad.numpy(),
                               rtol=1e-10)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_second_derivatives_through_a_whole_layer(kind):
    layer, _ = _layer_and_cell(kind)
    x = np.random.default_rng(9).standard_normal((4, 2, 3))

    def with_weight(x, w):  # the layer with gradgradcheck's copy of W_hh in place
        saved = layer.weight_hh_l0
        layer.weight_hh_l0 = w
        try:
            return layer(x)[0].tanh().sum()
        finally:
            layer.weight_hh_l0 = saved

    w = tg.Tensor(layer.weight_hh_l0.numpy().copy(), requires_grad=True)
    assert tg.gradgradcheck(with_weight, [tg.Tensor(x, requires_grad=True), w],
                            verbose=False)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_bidirectional_two_layer_layers_agree_with_the_primitive_steps(kind, monkeypatch):
    # the same layer, once with its fused steps and once with steps written in primitives
    # (the cells' equations): outputs and every gradient agree
    layer, _ = _layer_and_cell(kind, num_layers=2, bidirectional=True)
    x0 = np.random.default_rng(10).standard_normal((5, 2, 3))

    def run():
        for p in layer.parameters():
            p.grad = None
        x = tg.Tensor(x0, requires_grad=True)
        output = layer(x)[0]
        (output * output).sum().backward()
        return output.numpy(), x.grad.numpy(), {n: p.grad.numpy() for n, p in
                                                 layer.named_parameters()}

    fused = run()

    def primitive_step(self, x_proj, state, w_hh, b_hh, t, shared=None):
        size = self.hidden_size
        if kind == "rnn":
            return _rnn_step(x_proj[t], state, w_hh, None, "tanh")
        if kind == "gru":
            return _gru_step(x_proj[t], state, w_hh, b_hh)
        h, c = _lstm_step(x_proj[t], state[:, :size], state[:, size:], w_hh, None)
        return tg.cat([h, c], axis=-1)

    monkeypatch.setattr(type(layer), "_step", primitive_step)
    plain = run()
    np.testing.assert_allclose(fused[0], plain[0], rtol=1e-12)
    np.testing.assert_allclose(fused[1], plain[1], rtol=1e-10)
    for name in fused[2]:
        np.testing.assert_allclose(fused[2][name], plain[2][name], rtol=1e-10, err_msg=name)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_check_graph_rechecks_each_step_without_disturbing_the_layer(kind):
    # tg.check_graph re-runs every step on nudged float64 copies: those runs must neither
    # write into the states the layer's steps share nor change the gradients afterwards
    layer, _ = _layer_and_cell(kind)
    x = tg.Tensor(np.random.default_rng(11).standard_normal((4, 2, 3)), requires_grad=True)
    output = layer(x)[0]
    loss = (output * output).sum()
    before = output.numpy().copy()
    report = tg.check_graph(loss)
    assert report, report
    assert any(name in str(report) for name in ("RNNStep", "LSTMStep", "GRUStep"))
    np.testing.assert_array_equal(output.numpy(), before)
    loss.backward()
    reference_layer, _ = _layer_and_cell(kind)
    x2 = tg.Tensor(x.numpy(), requires_grad=True)
    out2 = reference_layer(x2)[0]
    (out2 * out2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight_hh_l0.grad.numpy(),
                               reference_layer.weight_hh_l0.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_changing_the_outputs_in_place_does_not_change_the_gradients(kind):
    # the steps write their states into one buffer that backward reads again; the layer
    # hands out copies (the output and the final state), writable as PyTorch's are
    layer, _ = _layer_and_cell(kind)
    x0 = np.random.default_rng(12).standard_normal((5, 2, 3))
    output, state = layer(tg.Tensor(x0))
    h_n = state[0] if kind == "lstm" else state
    loss = output.sum() * 1.0
    with tg.no_grad():
        output *= 0.0  # in place, under no_grad
    h_n.numpy()[...] = 0.0  # and straight into the array
    output.numpy()[0] = 1.0
    assert np.all(output.numpy()[1:] == 0) and np.all(h_n.numpy() == 0)
    loss.backward()
    reference, _ = _layer_and_cell(kind)
    reference(tg.Tensor(x0))[0].sum().backward()
    np.testing.assert_allclose(layer.weight_hh_l0.grad.numpy(),
                               reference.weight_hh_l0.grad.numpy(), rtol=1e-12)

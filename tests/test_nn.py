"""tg.nn: modules, state dicts, layers, initialisation, gradient clipping and the losses.

Every expectation comes from a closed form or from NumPy written out here: parameter
counts from the layer sizes, Linear from `x @ W.T + b`, the losses from their textbook
formulas (PyTorch's definitions), initialisation variances from the Xavier and Kaiming
formulas, dropout's zeroed fraction from the binomial distribution. Statistical checks
use samples large enough that a wrong factor of 2 lands many standard errors away.

Gradients are checked in float64 with `tg.gradcheck` (and `tg.gradgradcheck`), and a
deliberately wrong Linear backward shows that those checks can fail.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.gradcheck import METHODS
from tinygrad_edu.nn import init
from tinygrad_edu.nn.utils import clip_grad_norm_, clip_grad_value_

# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def leaf(array) -> tg.Tensor:
    """A float64 leaf that requires grad (what gradcheck wants)."""
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def snapshot(model: nn.Module) -> dict:
    """A copy of every parameter and buffer array, by name."""
    return {name: t.data.copy() for name, t in model.state_dict().items()}


def assert_same_arrays(model: nn.Module, before: dict) -> None:
    after = snapshot(model)
    assert list(after) == list(before)
    for name, array in before.items():
        np.testing.assert_array_equal(after[name], array, err_msg=name)


def mlp(seed: int) -> nn.Sequential:
    """Sequential(Linear(3, 4), ReLU(), Linear(4, 2)), initialised from `seed`."""
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


class Net(nn.Module):
    """A Parameter, a Sequential, a list and a dict of modules, in that order."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(tg.ones(3))
        self.body = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3))
        self.layers = [nn.Linear(3, 3), nn.Linear(3, 3)]
        self.heads = {"a": nn.Linear(3, 1), "b": nn.Linear(3, 2)}

    def forward(self, x):
        h = self.body(x) * self.scale
        for layer in self.layers:
            h = layer(h).tanh()
        return self.heads["a"](h).sum() + self.heads["b"](h).sum()


# PyTorch's names for the same architecture (with nn.ModuleList and nn.ModuleDict)
NET_PARAMETER_NAMES = [
    "scale",
    "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias",
    "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
    "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias",
]
# 3 + (2*3 + 3) + (3*3 + 3) + 2 * (3*3 + 3) + (3*1 + 1) + (3*2 + 2)
NET_PARAMETER_COUNT = 3 + 9 + 12 + 24 + 4 + 8


# ---------------------------------------------------------------------------------------
# Module: what it holds
# ---------------------------------------------------------------------------------------


def test_named_parameters_give_dotted_names_in_pytorch_order():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == NET_PARAMETER_NAMES
    shapes = dict((name, p.shape) for name, p in net.named_parameters())
    assert shapes["body.0.weight"] == (3, 2) and shapes["heads.b.bias"] == (2,)
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())


def test_parameter_count_is_the_sum_of_the_layer_sizes():
    net = Net()
    params = list(net.parameters())
    assert len(params) == len(NET_PARAMETER_NAMES)
    assert sum(p.numel() for p in params) == NET_PARAMETER_COUNT
    assert net.num_parameters() == NET_PARAMETER_COUNT
    assert len({id(p) for p in params}) == len(params)


def test_shared_parameter_and_shared_module_are_counted_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)
            self.b.weight = self.a.weight  # tied weights
            self.again = self.a  # the same module under a second name

        def forward(self, x):
            return self.b(self.a(x))

    model = Tied()
    assert [name for name, _ in model.named_parameters()] == ["a.weight", "a.bias", "b.bias"]
    assert model.num_parameters() == 16 + 4 + 4
    assert [name for name, _ in model.named_modules()] == ["", "a", "b"]
    # the tied weight W gets the gradient of both uses: L = sum((x W^T + a) W^T + b)
    # gives dL/dW = 1^T h (outer use, h = x W^T + a) + (1 W)^T x (inner use)
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    model(tg.Tensor(x)).sum().backward()
    w, a = model.a.weight.data.astype(np.float64), model.a.bias.data.astype(np.float64)
    h = x @ w.T + a
    ones = np.ones((2, 4))
    np.testing.assert_allclose(model.a.weight.grad.data, ones.T @ h + (ones @ w).T @ x,
                               rtol=1e-5, atol=1e-6)


def test_children_and_modules_with_their_names():
    net = Net()
    assert [name for name, _ in net.named_children()] == [
        "body", "layers.0", "layers.1", "heads.a", "heads.b"]
    assert list(net.children()) == [net.body, *net.layers, net.heads["a"], net.heads["b"]]
    assert [name for name, _ in net.named_modules()] == [
        "", "body", "body.0", "body.1", "body.2", "layers.0", "layers.1", "heads.a", "heads.b"]
    modules = list(net.modules())
    assert modules[0] is net and modules[2] is net.body[0] and len(modules) == 9


def test_train_and_eval_reach_every_submodule():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False)
    assert [m.training for m in net.modules()] == [False] * 9


def test_zero_grad_sets_to_none_or_to_zeros():
    net = Net()
    x = tg.Tensor(np.random.default_rng(1).normal(size=(5, 2)))
    net(x).backward()
    assert all(p.grad is not None and np.any(p.grad.data != 0) for p in net.parameters())
    net.zero_grad(set_to_none=False)
    for p in net.parameters():
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype
        assert not np.any(p.grad.data)
    net(x).backward()
    assert all(np.any(p.grad.data != 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_false_freezes_every_parameter():
    model = mlp(0)
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    assert model.num_parameters(trainable_only=True) == 0
    assert model.num_parameters() == 4 * 3 + 4 + 2 * 4 + 2
    x = leaf(np.random.default_rng(2).normal(size=(3, 3)))
    model(x).sum().backward()
    assert x.grad is not None
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


class WithBuffers(nn.Module):
    """A buffer, a parameter, a child and another buffer: PyTorch orders the state dict
    module by module, each module's parameters and then its buffers."""

    def __init__(self):
        super().__init__()
        self.register_buffer("running", tg.zeros(2))
        self.w = nn.Parameter(tg.ones(2))
        self.child = nn.Linear(2, 2)
        self.register_buffer("count", tg.Tensor(np.array(0, dtype=np.int64)))
        self.register_buffer("nothing", None)

    def forward(self, x):
        return self.child(x * self.w)


def test_buffers_are_in_the_state_dict_but_not_parameters():
    model = WithBuffers()
    assert [name for name, _ in model.named_parameters()] == ["w", "child.weight", "child.bias"]
    assert sorted(name for name, _ in model.named_buffers()) == ["count", "running"]
    state = model.state_dict()
    assert set(state) == {"w", "child.weight", "child.bias", "running", "count"}
    assert state["count"].dtype == np.int64
    assert not any(b.requires_grad for b in model.buffers())
    with pytest.raises(ValueError, match="not a usable attribute name"):
        model.register_buffer("running mean", tg.zeros(1))


def test_state_dict_key_order_follows_pytorch():
    # torch: ['w', 'running', 'count', 'child.weight', 'child.bias']
    assert list(WithBuffers().state_dict()) == [
        "w", "running", "count", "child.weight", "child.bias"]


def test_buffers_keep_their_registration_order():
    names = ["zeta", "alpha", "mu", "beta", "omega", "gamma", "kappa", "delta"]

    class ManyBuffers(nn.Module):
        def __init__(self):
            super().__init__()
            for i, name in enumerate(names):
                self.register_buffer(name, tg.full((1,), float(i)))

    assert [name for name, _ in ManyBuffers().named_buffers()] == names
    assert list(ManyBuffers().state_dict()) == names


def test_repr_shows_the_layers_and_the_real_parameter_count():
    net = Net()
    text = repr(net)
    assert text.startswith("Net(")
    assert "(body): Sequential(" in text
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in text
    assert "(1): ReLU()" in text
    assert "(heads.b): Linear(in_features=3, out_features=2, bias=True)" in text
    total = re.search(r"# ([\d,]+) parameters?$", text.splitlines()[-1])
    assert total is not None and int(total.group(1).replace(",", "")) == NET_PARAMETER_COUNT
    # each Linear line states that layer's own count, out * in + out
    linear_lines = re.findall(r"Linear\(in_features=(\d+), out_features=(\d+), bias=True\)"
                              r"  # (\d+) parameters?", text)
    assert len(linear_lines) == 6
    for n_in, n_out, count in linear_lines:
        assert int(count) == int(n_out) * int(n_in) + int(n_out)
    assert text.count(" parameters") == 8  # six Linears, the Sequential and the Net
    big = nn.Linear(100, 30)
    assert repr(big).endswith(f"# {100 * 30 + 30:,} parameters")


def test_module_without_super_init_still_finds_its_parameters():
    class Forgetful(nn.Module):
        def __init__(self):  # no super().__init__()
            self.lin = nn.Linear(2, 3)
            self.gain = nn.Parameter(tg.ones(3))

        def forward(self, x):
            return self.lin(x) * self.gain

    model = Forgetful()
    assert [name for name, _ in model.named_parameters()] == ["gain", "lin.weight", "lin.bias"]
    assert model.num_parameters() == 2 * 3 + 3 + 3
    assert model.training
    model.eval()
    assert not model.training and not model.lin.training
    assert list(model.state_dict()) == ["gain", "lin.weight", "lin.bias"]
    assert model(tg.ones(4, 2)).shape == (4, 3)


def test_forward_not_defined_raises_not_implemented():
    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match=r"NoForward has no forward.*forward\(self"):
        NoForward()(tg.ones(2))


def test_parameter_shares_a_tensors_array_and_copies_other_data():
    t = tg.Tensor(np.arange(3.0))
    p = nn.Parameter(t)
    assert p.data is t.data and p.requires_grad and p.is_leaf
    array = np.arange(3.0)
    q = nn.Parameter(array)
    assert not np.shares_memory(q.data, array)
    assert not nn.Parameter(array, requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:")


# ---------------------------------------------------------------------------------------
# state_dict / load_state_dict
# ---------------------------------------------------------------------------------------


def test_state_dict_keys_and_shapes_match_pytorch():
    state = mlp(0).state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [v.shape for v in state.values()] == [(4, 3), (4,), (2, 4), (2,)]


def test_state_dict_shares_memory_with_the_model():
    model = mlp(0)
    state = model.state_dict()
    for name, param in model.named_parameters():
        assert np.shares_memory(state[name].data, param.data)
        assert not state[name].requires_grad
    model[0].weight.data[0, 0] = 123.0
    assert state["0.weight"].data[0, 0] == 123.0


def test_state_dict_of_tied_weights_has_both_keys_as_pytorch():
    # torch keeps a shared parameter under every name in the state dict
    # (['a.weight', 'a.bias', 'b.weight', 'b.bias']), while named_parameters lists it once
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.Linear(2, 2)
            self.b.weight = self.a.weight

    model = Tied()
    assert list(model.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]


def test_round_trip_into_a_fresh_model_gives_identical_outputs():
    source, target = mlp(1), mlp(2)
    x = tg.Tensor(np.random.default_rng(3).normal(size=(6, 3)))
    assert not np.array_equal(source(x).data, target(x).data)
    arrays_before = [p.data for p in target.parameters()]
    assert target.load_state_dict(source.state_dict()) == ([], [])
    np.testing.assert_array_equal(target(x).data, source(x).data)
    # loaded in place (an optimizer holding the arrays sees the new values), as copies
    for before, param, src in zip(arrays_before, target.parameters(), source.parameters()):
        assert param.data is before
        assert not np.shares_memory(param.data, src.data)


def test_load_state_dict_accepts_ndarrays():
    source, target = mlp(1), mlp(2)
    arrays = {k: v.numpy().copy() for k, v in source.state_dict().items()}
    target.load_state_dict(arrays)
    for name, param in target.named_parameters():
        np.testing.assert_array_equal(param.data, arrays[name])
        assert param.dtype == np.float32


def _missing_last(state):
    del state["2.bias"]
    return "2.bias", KeyError


def _unexpected(state):
    state["3.weight"] = np.zeros((2, 2), dtype=np.float32)
    return "3.weight", KeyError


def _wrong_shape_after_good_keys(state):
    state["2.weight"] = np.zeros((3, 4), dtype=np.float32)
    return "2.weight", ValueError


def _strings_after_good_keys(state):
    state["2.bias"] = np.array(["a", "b"])
    return "2.bias", ValueError


def _object_values(state):
    state["2.bias"] = np.array([{"a": 1}, None], dtype=object)
    return "2.bias", ValueError


@pytest.mark.parametrize("fault", [_missing_last, _unexpected, _wrong_shape_after_good_keys,
                                   _strings_after_good_keys, _object_values],
                         ids=lambda f: f.__name__.strip("_"))
def test_bad_state_dict_raises_and_leaves_the_model_exactly_unchanged(fault):
    model = mlp(0)
    before = snapshot(model)
    state = {k: v.numpy().copy() for k, v in mlp(1).state_dict().items()}  # other values
    key, error = fault(state)
    with pytest.raises(error, match=re.escape(key)) as info:
        model.load_state_dict(state)
    if fault is _wrong_shape_after_good_keys:
        assert "(3, 4)" in str(info.value) and "(2, 4)" in str(info.value)
    assert_same_arrays(model, before)


def test_wrong_shape_raises_even_when_not_strict():
    model = mlp(0)
    before = snapshot(model)
    state = {k: v.numpy().copy() for k, v in mlp(1).state_dict().items()}
    state["0.bias"] = np.zeros(5, dtype=np.float32)
    with pytest.raises(ValueError, match=r"'0\.bias'.*\(5,\).*\(4,\)"):
        model.load_state_dict(state, strict=False)
    assert_same_arrays(model, before)


def test_non_strict_load_reports_keys_and_loads_the_rest():
    model, source = mlp(0), mlp(1)
    old_last_bias = model[2].bias.data.copy()
    state = {k: v.numpy().copy() for k, v in source.state_dict().items()}
    del state["2.bias"]
    state["extra.weight"] = np.ones((1, 1), dtype=np.float32)
    result = model.load_state_dict(state, strict=False)
    missing, unexpected = result
    assert missing == result.missing_keys == ["2.bias"]
    assert unexpected == result.unexpected_keys == ["extra.weight"]
    for name in ("0.weight", "0.bias", "2.weight"):
        np.testing.assert_array_equal(model.state_dict()[name].data, state[name])
    np.testing.assert_array_equal(model[2].bias.data, old_last_bias)


def test_load_state_dict_refuses_something_that_is_not_a_dict():
    with pytest.raises(TypeError, match="expected a dict"):
        mlp(0).load_state_dict([np.zeros((4, 3))])


def test_buffers_round_trip_through_the_state_dict():
    source, target = WithBuffers(), WithBuffers()
    source.running.data[...] = [1.5, -2.5]
    source.count.data[...] = 7
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target.running.data, [1.5, -2.5])
    assert int(target.count.data) == 7


# ---------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------


def test_linear_shapes_and_dtypes():
    layer = nn.Linear(5, 3)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert nn.Linear(5, 3, dtype=np.float64).weight.dtype == np.float64
    tg.set_default_dtype(np.float64)
    layer64 = nn.Linear(5, 3)
    assert layer64.weight.dtype == np.float64 and layer64.bias.dtype == np.float64
    assert layer64(tg.ones(2, 5)).dtype == np.float64


def test_linear_init_is_uniform_within_one_over_sqrt_fan_in():
    fan_in, fan_out = 400, 300
    layer = nn.Linear(fan_in, fan_out)
    bound = 1 / math.sqrt(fan_in)
    w = layer.weight.data.astype(np.float64).ravel()
    b = layer.bias.data.astype(np.float64)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.99 * bound  # the whole interval is used
    # U(-a, a): mean 0, variance a^2/3; with n = 120000 the standard error of the
    # variance is about 0.3% of it, so 3% leaves room for chance and none for a factor 2
    assert abs(w.mean()) < 5 * bound / math.sqrt(3 * w.size)
    np.testing.assert_allclose(w.var(), bound ** 2 / 3, rtol=0.03)
    # flat: each tenth of [-a, a] holds a tenth of the draws (binomial sd ~ 0.09%)
    counts, _ = np.histogram(w, bins=10, range=(-bound, bound))
    np.testing.assert_allclose(counts / w.size, 0.1, atol=0.005)
    assert np.abs(b).max() > 0.5 * bound and b.std() > 0.4 * bound


def test_linear_init_is_seeded_by_manual_seed():
    tg.manual_seed(7)
    first = nn.Linear(6, 4)
    tg.manual_seed(7)
    again = nn.Linear(6, 4)
    tg.manual_seed(8)
    other = nn.Linear(6, 4)
    np.testing.assert_array_equal(first.weight.data, again.weight.data)
    np.testing.assert_array_equal(first.bias.data, again.bias.data)
    assert not np.allclose(first.weight.data, other.weight.data)


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5)], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_equals_numpy(shape, bias):
    layer = nn.Linear(5, 3, bias=bias)
    x = np.random.default_rng(4).normal(size=shape).astype(np.float32)
    out = layer(tg.Tensor(x))
    w = layer.weight.data.astype(np.float64)
    expected = x.astype(np.float64) @ w.T
    if bias:
        expected = expected + layer.bias.data
    assert out.shape == shape[:-1] + (3,) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(F.linear(tg.Tensor(x), layer.weight, layer.bias).data,
                                  out.data)


def test_linear_without_bias():
    layer = nn.Linear(4, 2, bias=False)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert list(layer.state_dict()) == ["weight"]
    assert "bias=False" in repr(layer)
    x = leaf(np.random.default_rng(5).normal(size=(3, 4)))
    w = leaf(np.random.default_rng(6).normal(size=(2, 4)))
    assert tg.gradcheck(lambda x, w: F.linear(x, w), [x, w])


def linear_inputs(x_shape, seed=0, out_features=3):
    rng = np.random.default_rng(seed)
    in_features = x_shape[-1]
    return [leaf(rng.normal(size=x_shape)), leaf(rng.normal(size=(out_features, in_features))),
            leaf(rng.normal(size=(out_features,)))]


@pytest.mark.parametrize("x_shape", [(4,), (5, 4), (2, 3, 4)], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("method", METHODS)
def test_linear_gradcheck(x_shape, method):
    assert tg.gradcheck(lambda x, w, b: F.linear(x, w, b), linear_inputs(x_shape),
                        method=method)


@pytest.mark.parametrize("x_shape", [(4,), (5, 4), (2, 3, 4)], ids=["1d", "2d", "3d"])
def test_linear_gradgradcheck(x_shape):
    assert tg.gradgradcheck(lambda x, w, b: F.linear(x, w, b), linear_inputs(x_shape, seed=1))


def test_linear_module_gradients_equal_the_closed_forms():
    # L = sum(G * y): dL/dW = G^T x, dL/db = sum of G over the batch, dL/dx = G W
    layer = nn.Linear(4, 3)
    rng = np.random.default_rng(9)
    x = tg.Tensor(rng.normal(size=(6, 4)).astype(np.float32), requires_grad=True)
    upstream = rng.normal(size=(6, 3)).astype(np.float32)
    (layer(x) * upstream).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, upstream.T @ x.data, rtol=1e-5)
    np.testing.assert_allclose(layer.bias.grad.data, upstream.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(x.grad.data, upstream @ layer.weight.data, rtol=1e-5)


class LinearRight(tg.Function):
    """y = x @ W^T + b for a batch x (N, in); the subclasses get one gradient wrong."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x.data @ w.data.T + b.data

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output @ w, grad_output.T @ x, grad_output.sum(axis=0)


class LinearBiasMean(LinearRight):
    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output @ w, grad_output.T @ x, grad_output.mean(axis=0)  # wrong: 1/N


class LinearWeightTwice(LinearRight):
    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output @ w, 2 * (grad_output.T @ x), grad_output.sum(axis=0)  # wrong: 2x


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("wrong, bad_input", [(LinearBiasMean, 2), (LinearWeightTwice, 1)],
                         ids=["bias-mean", "weight-twice"])
def test_gradcheck_catches_a_wrong_linear_backward(wrong, bad_input, method):
    inputs = linear_inputs((5, 4), seed=2)
    assert tg.gradcheck(lambda x, w, b: LinearRight.apply(x, w, b), inputs, method=method)
    report = tg.gradcheck(lambda x, w, b: wrong.apply(x, w, b), inputs, method=method,
                          verbose=False)
    assert not report
    assert [item.passed for item in report.inputs] == [i != bad_input for i in range(3)]


def test_linear_shape_errors_name_both_shapes():
    layer = nn.Linear(3, 4)
    with pytest.raises(ValueError, match=r"\(5, 2\).*\(4, 3\).*3"):
        layer(tg.ones(5, 2))
    with pytest.raises(ValueError, match=r"bias of shape \(3,\).*\(4, 3\).*\(4,\)"):
        F.linear(tg.ones(5, 3), layer.weight, tg.ones(3))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="in_features must be a positive int"):
            nn.Linear(bad, 3)


# ---------------------------------------------------------------------------------------
# activations, Dropout, Flatten, Identity, Sequential
# ---------------------------------------------------------------------------------------


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


_erf = np.vectorize(math.erf)

# (module, the same through the Tensor method, NumPy reference)
ACTIVATIONS = {
    "relu": (nn.ReLU(), lambda t: t.relu(), lambda x: np.maximum(x, 0)),
    "leaky_relu": (nn.LeakyReLU(), lambda t: t.leaky_relu(),
                   lambda x: np.where(x > 0, x, 0.01 * x)),
    "leaky_relu_0.2": (nn.LeakyReLU(0.2), lambda t: t.leaky_relu(0.2),
                       lambda x: np.where(x > 0, x, 0.2 * x)),
    "sigmoid": (nn.Sigmoid(), lambda t: t.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (nn.Tanh(), lambda t: t.tanh(), np.tanh),
    "gelu": (nn.GELU(), lambda t: t.gelu(), lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    "gelu_tanh": (nn.GELU("tanh"), lambda t: t.gelu("tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                    * (x + 0.044715 * x ** 3)))),
    "softmax": (nn.Softmax(), lambda t: t.softmax(-1), lambda x: np_softmax(x, -1)),
    "softmax_axis0": (nn.Softmax(axis=0), lambda t: t.softmax(0), lambda x: np_softmax(x, 0)),
    "softmax_dim1": (nn.Softmax(dim=1), lambda t: t.softmax(1), lambda x: np_softmax(x, 1)),
    "log_softmax": (nn.LogSoftmax(), lambda t: t.log_softmax(-1),
                    lambda x: np_log_softmax(x, -1)),
    "log_softmax_axis0": (nn.LogSoftmax(0), lambda t: t.log_softmax(0),
                          lambda x: np_log_softmax(x, 0)),
    "functional_relu": (F.relu, lambda t: t.relu(), lambda x: np.maximum(x, 0)),
    "functional_gelu": (lambda t: F.gelu(t, "tanh"), lambda t: t.gelu("tanh"),
                        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                         * (x + 0.044715 * x ** 3)))),
    "functional_softmax": (lambda t: F.softmax(t, axis=0), lambda t: t.softmax(0),
                           lambda x: np_softmax(x, 0)),
    "functional_log_softmax": (lambda t: F.log_softmax(t, dim=0), lambda t: t.log_softmax(0),
                               lambda x: np_log_softmax(x, 0)),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_module_equals_tensor_method_and_numpy(name):
    module, method, reference = ACTIVATIONS[name]
    x = np.random.default_rng(10).uniform(-3, 3, size=(4, 5))
    out = module(tg.Tensor(x))
    np.testing.assert_array_equal(out.data, method(tg.Tensor(x)).data)
    np.testing.assert_allclose(out.data, reference(x), rtol=1e-12, atol=1e-12)
    assert module(tg.Tensor(x.astype(np.float32))).dtype == np.float32


def test_softmax_axis_normalises_that_axis():
    x = tg.Tensor(np.random.default_rng(11).normal(size=(3, 4, 5)))
    for axis in (0, 1, 2, -1):
        np.testing.assert_allclose(nn.Softmax(axis)(x).data.sum(axis=axis), 1.0, rtol=1e-12)
        np.testing.assert_allclose(np.exp(nn.LogSoftmax(axis)(x).data).sum(axis=axis), 1.0,
                                   rtol=1e-12)
    assert nn.Softmax(dim=0).axis == 0


def test_gelu_approximations_differ_and_bad_option_raises():
    x = tg.Tensor(np.linspace(-3, 3, 13))
    diff = np.abs(nn.GELU()(x).data - nn.GELU("tanh")(x).data)
    assert 1e-5 < diff.max() < 1e-2
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("sigmoid")


def test_leaky_relu_slope():
    out = nn.LeakyReLU(0.2)(tg.Tensor([-2.0, 3.0]))
    np.testing.assert_allclose(out.data, [-0.4, 3.0], rtol=1e-6)
    np.testing.assert_allclose(nn.LeakyReLU()(tg.Tensor([-2.0])).data, [-0.02], rtol=1e-6)


def test_dropout_in_eval_mode_is_the_identity():
    layer = nn.Dropout(0.5).eval()
    x = tg.Tensor(np.random.default_rng(12).normal(size=(50, 50)))
    np.testing.assert_array_equal(layer(x).data, x.data)
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).data, x.data)
    model = nn.Sequential(nn.Identity(), nn.Dropout(0.9))
    model.eval()
    np.testing.assert_array_equal(model(x).data, x.data)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest(p):
    n = 1_000_000
    out = nn.Dropout(p)(tg.ones(1000, 1000))
    assert out.dtype == np.float32 and out.shape == (1000, 1000)
    zeroed = out.data == 0
    sd = math.sqrt(p * (1 - p) / n)  # binomial standard deviation of the fraction
    assert abs(zeroed.mean() - p) < 5 * sd
    np.testing.assert_allclose(out.data[~zeroed], 1 / (1 - p), rtol=1e-6)
    # the mean is preserved: kept/(1-p) has mean 1 and sd sqrt(p/(1-p)/n)
    assert abs(out.data.mean(dtype=np.float64) - 1) < 5 * math.sqrt(p / (1 - p) / n)


def test_dropout_gradient_is_the_mask_over_one_minus_p():
    p = 0.3
    x = leaf(np.random.default_rng(13).uniform(0.5, 1.5, size=(200, 50)))
    upstream = np.random.default_rng(14).normal(size=(200, 50))
    out = F.dropout(x, p)
    (out * upstream).sum().backward()
    kept = out.data != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(out.data, x.data * kept / (1 - p), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, upstream * kept / (1 - p), rtol=1e-12)


def test_dropout_is_reproducible_with_manual_seed():
    x = tg.ones(100, 100)
    tg.manual_seed(5)
    first, second = F.dropout(x, 0.5).data, F.dropout(x, 0.5).data
    tg.manual_seed(5)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, first)
    assert not np.array_equal(first, second)


def test_dropout_edge_probabilities_and_invalid_p():
    x = leaf(np.random.default_rng(15).normal(size=(10, 10)))
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, x.data)
    zeros = nn.Dropout(1.0)(x)
    np.testing.assert_array_equal(zeros.data, np.zeros((10, 10)))
    zeros.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((10, 10)))
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="probability"):
            nn.Dropout(p)
        with pytest.raises(ValueError, match="probability"):
            F.dropout(x, p)


@pytest.mark.parametrize("args, shape", [((), (2, 60)), ((0,), (120,)), ((1, 2), (2, 12, 5)),
                                         ((2,), (2, 3, 20))])
def test_flatten_shapes(args, shape):
    x = np.arange(120.0).reshape(2, 3, 4, 5)
    out = nn.Flatten(*args)(tg.Tensor(x))
    assert out.shape == shape
    np.testing.assert_array_equal(out.data, x.reshape(shape))


def test_identity_returns_its_input():
    x = tg.Tensor([1.0, 2.0])
    assert nn.Identity()(x) is x
    assert nn.Identity().num_parameters() == 0


def test_sequential_behaves_like_a_list():
    a, relu, b = nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)
    seq = nn.Sequential(a, relu, b)
    assert len(seq) == 3
    assert seq[0] is a and seq[-1] is b and list(seq) == [a, relu, b]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, relu]
    assert list(seq[::2]) == [a, b]
    with pytest.raises(IndexError):
        seq[3]
    x = tg.Tensor(np.random.default_rng(16).normal(size=(5, 3)))
    np.testing.assert_array_equal(seq(x).data, b(relu(a(x))).data)
    np.testing.assert_array_equal(head(x).data, relu(a(x)).data)
    extra = nn.Sigmoid()
    assert seq.append(extra) is seq
    assert len(seq) == 4 and seq[3] is extra
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert nn.Sequential()(x) is x


def test_sequential_slice_keeps_pytorch_names():
    # torch: nn.Sequential(Linear, ReLU, Linear)[1:].state_dict() has '2.weight', '2.bias'
    seq = mlp(0)
    assert list(seq[1:].state_dict()) == ["2.weight", "2.bias"]


def test_sequential_rejects_what_is_not_a_module():
    with pytest.raises(TypeError, match="every layer must be a Module.*function"):
        nn.Sequential(nn.Linear(2, 2), tg.relu)
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential().append(np.eye(2))


# ---------------------------------------------------------------------------------------
# init
# ---------------------------------------------------------------------------------------

# (shape, fan_in, fan_out): a Linear weight and a convolution kernel (out, in, kh, kw)
INIT_SHAPES = {"2d": ((400, 600), 600, 400), "4d": ((64, 32, 3, 3), 32 * 9, 64 * 9)}


def _filled(fill, shape):
    tensor = tg.Tensor(np.zeros(shape, dtype=np.float32))
    array = tensor.data
    assert fill(tensor) is tensor
    assert tensor.data is array and tensor.dtype == np.float32  # in place
    return array.astype(np.float64).ravel()


def _check_variance(values, variance, bound=None):
    # the sample variance's relative standard error is about sqrt(2/n) (normal) and
    # sqrt(0.8/n) (uniform): <= 1.1% for the 18432 draws of the 4-D shape, so 6% is
    # over 5 standard errors and a factor 2 (or sqrt 2) is far outside it
    np.testing.assert_allclose(values.var(), variance, rtol=0.06)
    assert abs(values.mean()) < 5 * math.sqrt(variance / values.size)
    if bound is not None:
        assert np.abs(values).max() <= bound * (1 + 1e-6)
        assert np.abs(values).max() > 0.98 * bound


@pytest.mark.parametrize("shape_name", list(INIT_SHAPES))
def test_xavier_variances(shape_name):
    shape, fan_in, fan_out = INIT_SHAPES[shape_name]
    gain = init.calculate_gain("tanh")
    variance = gain ** 2 * 2 / (fan_in + fan_out)
    values = _filled(lambda t: init.xavier_uniform_(t, gain=gain), shape)
    _check_variance(values, variance, bound=math.sqrt(3 * variance))
    _check_variance(_filled(lambda t: init.xavier_normal_(t, gain=gain), shape), variance)
    _check_variance(_filled(init.xavier_uniform_, shape), 2 / (fan_in + fan_out))


@pytest.mark.parametrize("shape_name", list(INIT_SHAPES))
def test_kaiming_variances(shape_name):
    shape, fan_in, fan_out = INIT_SHAPES[shape_name]
    # the default (a = 0, leaky_relu) is plain ReLU: gain^2 = 2
    values = _filled(init.kaiming_uniform_, shape)
    _check_variance(values, 2 / fan_in, bound=math.sqrt(6 / fan_in))
    _check_variance(_filled(init.kaiming_normal_, shape), 2 / fan_in)
    _check_variance(_filled(lambda t: init.kaiming_normal_(t, mode="fan_out",
                                                          nonlinearity="relu"), shape),
                    2 / fan_out)
    _check_variance(_filled(lambda t: init.kaiming_uniform_(t, a=0.2), shape),
                    2 / (1 + 0.04) / fan_in)
    _check_variance(_filled(lambda t: init.kaiming_normal_(t, nonlinearity="tanh"), shape),
                    (5 / 3) ** 2 / fan_in)
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_normal_(tg.zeros(*shape), mode="fan_avg")


@pytest.mark.parametrize("nonlinearity, param, gain", [
    ("linear", None, 1.0), ("identity", None, 1.0), ("sigmoid", None, 1.0),
    ("conv2d", None, 1.0), ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / (1 + 0.2 ** 2))), ("leaky_relu", 0, math.sqrt(2)),
    ("selu", None, 0.75),
])
def test_calculate_gain(nonlinearity, param, gain):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-12)


def test_calculate_gain_unknown_raises():
    with pytest.raises(ValueError, match="'swish'"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape, fans", [((5, 3), (3, 5)), ((8, 4, 3, 3), (36, 72)),
                                         ((6, 2, 5), (10, 30))])
def test_fan_in_and_fan_out(shape, fans):
    assert init.fan_in_and_fan_out(tg.zeros(*shape)) == fans


def test_fan_needs_two_axes():
    with pytest.raises(ValueError, match=r"\(7,\)"):
        init.xavier_uniform_(tg.zeros(7))


def test_init_is_seeded_and_simple_fills_work():
    tg.manual_seed(3)
    first = init.normal_(tg.zeros(4, 4)).data.copy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(init.normal_(tg.zeros(4, 4)).data, first)
    values = _filled(lambda t: init.uniform_(t, -2.0, 3.0), (100, 100))
    assert values.min() >= -2 and values.max() <= 3
    np.testing.assert_allclose(values.mean(), 0.5, atol=0.05)
    np.testing.assert_array_equal(_filled(lambda t: init.constant_(t, 0.25), (3,)), 0.25)
    np.testing.assert_array_equal(_filled(init.ones_, (3,)), 1.0)
    assert not np.any(_filled(init.zeros_, (3,)))


# ---------------------------------------------------------------------------------------
# gradient clipping
# ---------------------------------------------------------------------------------------


def params_with_grads(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    params = [nn.Parameter(np.zeros(shape)) for shape in ((3, 4), (4,), (2, 2, 2))]
    for p in params:
        p.grad = tg.Tensor(scale * rng.normal(size=p.shape))
    return params


def joined(params):
    return np.concatenate([p.grad.data.ravel() for p in params])


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_scales_to_max_norm(norm_type):
    params = params_with_grads()
    before = joined(params)
    total = np.linalg.norm(before, ord=norm_type)
    max_norm = total / 4
    returned = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert float(returned) == pytest.approx(total, rel=1e-12)
    after = joined(params)
    assert np.linalg.norm(after, ord=norm_type) == pytest.approx(max_norm, rel=1e-5)
    np.testing.assert_allclose(after, before * (max_norm / total), rtol=1e-5)  # direction kept


def test_clip_grad_norm_leaves_small_gradients_alone():
    params = params_with_grads()
    before = joined(params)
    arrays = [p.grad.data for p in params]
    total = clip_grad_norm_(params, 10 * np.linalg.norm(before))
    assert float(total) == pytest.approx(np.linalg.norm(before), rel=1e-12)
    np.testing.assert_array_equal(joined(params), before)
    assert all(p.grad.data is a for p, a in zip(params, arrays))


def test_clip_grad_norm_skips_parameters_without_grads_and_takes_one_tensor():
    params = params_with_grads()
    norm = np.linalg.norm(joined(params))
    params.append(nn.Parameter(np.zeros(3)))  # no grad: not part of the norm
    assert float(clip_grad_norm_(iter(params), norm / 3)) == pytest.approx(norm, rel=1e-12)
    assert params[-1].grad is None
    assert np.linalg.norm(joined(params[:3])) == pytest.approx(norm / 3, rel=1e-5)
    single = params_with_grads(seed=1)[0]
    norm = np.linalg.norm(single.grad.data)
    assert float(clip_grad_norm_(single, norm / 2)) == pytest.approx(norm, rel=1e-12)
    assert np.linalg.norm(single.grad.data) == pytest.approx(norm / 2, rel=1e-5)
    assert float(clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0)) == 0.0


def test_clip_grad_norm_of_a_model_after_backward():
    model = mlp(0)
    x = tg.Tensor(np.random.default_rng(17).normal(size=(8, 3)))
    (model(x) ** 2).sum().backward()
    grads = joined(list(model.parameters()))
    total = clip_grad_norm_(model.parameters(), 0.1)
    assert float(total) == pytest.approx(np.linalg.norm(grads.astype(np.float64)), rel=1e-5)
    assert np.linalg.norm(joined(list(model.parameters()))) == pytest.approx(0.1, rel=1e-4)


def test_clip_grad_norm_error_if_nonfinite():
    params = params_with_grads()
    params[1].grad.data[2] = np.inf
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf * (1 / inf) is NaN, as in torch
        assert math.isinf(float(clip_grad_norm_(params, 1.0)))
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(params_with_grads(), -1.0)


def test_clip_grad_value_clips_each_element_in_place():
    params = params_with_grads(scale=2.0)
    before = joined(params)
    arrays = [p.grad.data for p in params]
    assert np.abs(before).max() > 1 and (np.abs(before) < 1).any()
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(joined(params), np.clip(before, -1.0, 1.0))
    assert all(p.grad.data is a for p, a in zip(params, arrays))


# ---------------------------------------------------------------------------------------
# losses: one table, NumPy references written from the definitions
# ---------------------------------------------------------------------------------------


def np_reduce(losses, reduction):
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def np_log_sigmoid(x):
    return -np.logaddexp(0, -x)  # log(1 / (1 + e^-x)), without overflow


def np_nll(log_p, target, reduction="mean", weight=None, ignore_index=-100):
    """-w[y] * log_p[n, y, ...]; the mean divides by the sum of the weights used."""
    if log_p.ndim == 1:  # (C,) with a 0-d target: one sample
        out = np_nll(log_p[None], np.asarray(target)[None], reduction, weight, ignore_index)
        return out[0] if reduction == "none" else out
    classes = log_p.shape[1]
    w = np.ones(classes) if weight is None else weight
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    picked = -np.take_along_axis(log_p, np.expand_dims(safe, 1), axis=1).squeeze(1)
    sample_weight = w[safe] * keep
    losses = picked * sample_weight
    if reduction == "mean":
        return losses.sum() / sample_weight.sum()
    return np_reduce(losses, reduction)


def np_cross_entropy(x, target, reduction="mean", weight=None, ignore_index=-100,
                     label_smoothing=0.0):
    axis = 1 if x.ndim > 1 else 0
    classes = x.shape[axis]
    log_p = np_log_softmax(x, axis)
    if target.dtype.kind == "f":  # probabilities: the mean is over samples
        q = (1 - label_smoothing) * target + label_smoothing / classes
        w = 1.0 if weight is None else weight.reshape((-1,) + (1,) * (x.ndim - axis - 1))
        return np_reduce(-(w * q * log_p).sum(axis=axis), reduction)
    nll = np_nll(log_p, target, reduction, weight, ignore_index)
    if not label_smoothing:
        return nll
    keep = target != ignore_index
    uniform = -log_p.mean(axis=axis) * keep  # cross-entropy against the uniform distribution
    smooth = uniform.sum() / keep.sum() if reduction == "mean" else np_reduce(uniform, reduction)
    return (1 - label_smoothing) * nll + label_smoothing * smooth


@dataclass
class LossCase:
    """One loss and its options, the inputs to try it on, and its NumPy reference."""

    name: str
    functional: object  # F.<loss>
    module: type  # nn.<Loss>
    reference: object  # (input, target, reduction, **options) -> ndarray
    make: object  # rng -> (input, target), float64 arrays (integer targets for classes)
    options: dict = field(default_factory=dict)  # keyword arguments besides reduction
    target_has_grad: bool = False

    def call(self, form, x, target, reduction, dtype=np.float64):
        options = {k: (np.asarray(v, dtype=dtype) if isinstance(v, np.ndarray) else v)
                   for k, v in self.options.items()}
        if form == "functional":
            return self.functional(x, target, reduction=reduction, **options)
        return self.module(reduction=reduction, **options)(x, target)


def _regression(rng):
    x = rng.normal(size=(4, 3))
    # keep |x - y| >= 0.2: l1's kink stays out of reach of the finite differences
    return x, x + rng.choice([-1, 1], size=x.shape) * rng.uniform(0.2, 1.5, size=x.shape)


def _probabilities(rng):
    return rng.uniform(0.05, 0.95, size=(5, 3)), rng.uniform(0.0, 1.0, size=(5, 3))


def _logits_and_soft_targets(rng):
    y = rng.uniform(0.0, 1.0, size=(5, 3))
    y[0] = [0.0, 1.0, 1.0]  # hard labels too
    return 3 * rng.normal(size=(5, 3)), y


def _classes(shape, classes=4, ignore=None):
    def make(rng):
        x = 2 * rng.normal(size=shape)
        target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
        target = rng.integers(0, classes, size=target_shape)
        if ignore is not None:
            target.flat[::3] = ignore
        return x, np.asarray(target, dtype=np.int64)
    return make


def _class_probabilities(shape):
    def make(rng):
        x = 2 * rng.normal(size=shape)
        return x, np_softmax(rng.normal(size=shape), 1)
    return make


CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])


def _ref_elementwise(per_element):
    def reference(x, y, reduction, weight=None, pos_weight=None):
        losses = per_element(x, y, pos_weight) if pos_weight is not None else per_element(x, y)
        return np_reduce(losses * (1.0 if weight is None else weight), reduction)
    return reference


def _bce(p, y):
    return -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))


def _bce_logits(x, y, pos_weight=1.0):
    return -(pos_weight * y * np_log_sigmoid(x) + (1 - y) * np_log_sigmoid(-x))


LOSS_CASES = [
    LossCase("mse", F.mse_loss, nn.MSELoss, _ref_elementwise(lambda x, y: (x - y) ** 2),
             _regression, target_has_grad=True),
    LossCase("l1", F.l1_loss, nn.L1Loss, _ref_elementwise(lambda x, y: np.abs(x - y)),
             _regression, target_has_grad=True),
    LossCase("bce", F.binary_cross_entropy, nn.BCELoss, _ref_elementwise(_bce),
             _probabilities, target_has_grad=True),
    LossCase("bce_weight", F.binary_cross_entropy, nn.BCELoss, _ref_elementwise(_bce),
             _probabilities, {"weight": np.array([0.5, 1.0, 2.0])}),
    LossCase("bce_logits", F.binary_cross_entropy_with_logits, nn.BCEWithLogitsLoss,
             _ref_elementwise(_bce_logits), _logits_and_soft_targets, target_has_grad=True),
    LossCase("bce_logits_pos_weight", F.binary_cross_entropy_with_logits,
             nn.BCEWithLogitsLoss, _ref_elementwise(_bce_logits), _logits_and_soft_targets,
             {"pos_weight": np.array([3.0, 1.0, 0.5])}, target_has_grad=True),
    LossCase("bce_logits_both_weights", F.binary_cross_entropy_with_logits,
             nn.BCEWithLogitsLoss, _ref_elementwise(_bce_logits), _logits_and_soft_targets,
             {"pos_weight": np.array([3.0, 1.0, 0.5]), "weight": np.array([0.5, 1.0, 2.0])}),
    LossCase("cross_entropy", F.cross_entropy, nn.CrossEntropyLoss, np_cross_entropy,
             _classes((6, 4))),
    LossCase("cross_entropy_one_sample", F.cross_entropy, nn.CrossEntropyLoss,
             np_cross_entropy, _classes((4,))),
    LossCase("cross_entropy_spatial", F.cross_entropy, nn.CrossEntropyLoss, np_cross_entropy,
             _classes((2, 4, 3, 2))),
    LossCase("cross_entropy_weight", F.cross_entropy, nn.CrossEntropyLoss, np_cross_entropy,
             _classes((6, 4)), {"weight": CLASS_WEIGHT}),
    LossCase("cross_entropy_weight_spatial", F.cross_entropy, nn.CrossEntropyLoss,
             np_cross_entropy, _classes((2, 4, 3, 2)), {"weight": CLASS_WEIGHT}),
    LossCase("cross_entropy_ignore", F.cross_entropy, nn.CrossEntropyLoss, np_cross_entropy,
             _classes((7, 4), ignore=-100)),
    LossCase("cross_entropy_ignore_a_class", F.cross_entropy, nn.CrossEntropyLoss,
             np_cross_entropy, _classes((7, 4), ignore=2), {"ignore_index": 2,
                                                            "weight": CLASS_WEIGHT}),
    LossCase("cross_entropy_smoothing", F.cross_entropy, nn.CrossEntropyLoss,
             np_cross_entropy, _classes((7, 4), ignore=-100), {"label_smoothing": 0.2}),
    LossCase("cross_entropy_smoothing_spatial", F.cross_entropy, nn.CrossEntropyLoss,
             np_cross_entropy, _classes((2, 4, 3, 2)), {"label_smoothing": 0.1}),
    LossCase("cross_entropy_probabilities", F.cross_entropy, nn.CrossEntropyLoss,
             np_cross_entropy, _class_probabilities((5, 4)), target_has_grad=True),
    LossCase("cross_entropy_probabilities_spatial", F.cross_entropy, nn.CrossEntropyLoss,
             np_cross_entropy, _class_probabilities((2, 4, 3)), target_has_grad=True),
    LossCase("cross_entropy_probabilities_smoothing", F.cross_entropy, nn.CrossEntropyLoss,
             np_cross_entropy, _class_probabilities((5, 4)), {"label_smoothing": 0.3},
             target_has_grad=True),
    LossCase("nll", F.nll_loss, nn.NLLLoss, np_nll, _classes((6, 4))),
    LossCase("nll_one_sample", F.nll_loss, nn.NLLLoss, np_nll, _classes((4,))),
    LossCase("nll_spatial", F.nll_loss, nn.NLLLoss, np_nll, _classes((2, 4, 3, 2))),
    LossCase("nll_weight_ignore", F.nll_loss, nn.NLLLoss, np_nll,
             _classes((7, 4), ignore=-100), {"weight": CLASS_WEIGHT}),
]
CASES = {case.name: case for case in LOSS_CASES}
REDUCTIONS = ["mean", "sum", "none"]


def case_arrays(case, seed=0):
    return case.make(np.random.default_rng(seed))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("form", ["functional", "module"])
@pytest.mark.parametrize("name", list(CASES))
def test_loss_values_match_numpy(name, form, reduction):
    case = CASES[name]
    x, y = case_arrays(case)
    loss = case.call(form, tg.Tensor(x), tg.Tensor(y), reduction)
    expected = case.reference(x, y, reduction, **case.options)
    assert loss.shape == np.shape(expected) and loss.dtype == np.float64
    np.testing.assert_allclose(loss.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_loss_gradcheck(name, reduction):
    case = CASES[name]
    x, y = case_arrays(case, seed=1)
    if case.target_has_grad:
        inputs = [leaf(x), leaf(y)]
        f = lambda x, y: case.call("functional", x, y, reduction)  # noqa: E731
    else:
        inputs = [leaf(x)]
        f = lambda x: case.call("functional", x, y, reduction)  # noqa: E731
    assert tg.gradcheck(f, inputs)


@pytest.mark.parametrize("name", list(CASES))
def test_loss_gradgradcheck(name):
    case = CASES[name]
    x, y = case_arrays(case, seed=2)
    if case.target_has_grad:
        inputs = [leaf(x), leaf(y)]
        f = lambda x, y: case.call("functional", x, y, "sum")  # noqa: E731
    else:
        inputs = [leaf(x)]
        f = lambda x: case.call("functional", x, y, "sum")  # noqa: E731
    assert tg.gradgradcheck(f, inputs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_float32_inputs_give_a_float32_loss(name, reduction):
    case = CASES[name]
    x, y = case_arrays(case)
    y = y.astype(np.float32) if y.dtype.kind == "f" else y
    x32 = tg.Tensor(x.astype(np.float32), requires_grad=True)
    loss = case.call("functional", x32, tg.Tensor(y), reduction, dtype=np.float32)
    assert loss.dtype == np.float32
    expected = case.reference(x, y.astype(np.float64) if y.dtype.kind == "f" else y, reduction,
                              **case.options)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-4, atol=1e-5)
    loss.sum().backward()
    assert x32.grad.dtype == np.float32


def test_cross_entropy_probability_targets_use_the_class_weights():
    # torch: -(w * q * log_softmax(x)).sum(1), mean over the samples
    x, q = _class_probabilities((5, 4))(np.random.default_rng(3))
    for reduction in REDUCTIONS:
        loss = F.cross_entropy(tg.Tensor(x), tg.Tensor(q), weight=CLASS_WEIGHT,
                               reduction=reduction)
        np.testing.assert_allclose(
            loss.data, np_cross_entropy(x, q, reduction, weight=CLASS_WEIGHT), rtol=1e-10)


def test_cross_entropy_equals_nll_of_log_softmax():
    x, y = _classes((6, 4))(np.random.default_rng(4))
    a = F.cross_entropy(tg.Tensor(x), y)
    b = F.nll_loss(nn.LogSoftmax(axis=1)(tg.Tensor(x)), y)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-12)


def test_bce_with_logits_is_exact_at_large_logits():
    for dtype in (np.float64, np.float32):
        x = tg.Tensor(np.array([1000.0, -1000.0, 1000.0, -1000.0], dtype=dtype),
                      requires_grad=True)
        y = np.array([0.0, 1.0, 1.0, 0.0], dtype=dtype)
        loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        assert loss.dtype == dtype
        np.testing.assert_array_equal(loss.data, [1000.0, 1000.0, 0.0, 0.0])
        loss.sum().backward()
        # d/dx = sigmoid(x) - y
        np.testing.assert_array_equal(x.grad.data, [1.0, -1.0, 0.0, 0.0])


def test_bce_with_logits_gradient_is_sigmoid_minus_target():
    x, y = _logits_and_soft_targets(np.random.default_rng(5))
    t = leaf(x)
    F.binary_cross_entropy_with_logits(t, y, reduction="sum").backward()
    np.testing.assert_allclose(t.grad.data, 1 / (1 + np.exp(-x)) - y, rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_finite_for_huge_logits():
    for dtype in (np.float64, np.float32):
        x = tg.Tensor(np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]], dtype=dtype),
                      requires_grad=True)
        loss = F.cross_entropy(x, np.array([2, 1]), reduction="none")
        np.testing.assert_allclose(loss.data, [2e4, 0.0], rtol=1e-7, atol=1e-6)
        loss.sum().backward()
        # d/dx = softmax(x) - onehot(y)
        np.testing.assert_allclose(x.grad.data, [[1, 0, -1], [0, 0, 0]], atol=1e-6)


def test_bce_at_zero_and_one_is_clamped_and_finite():
    p = leaf([0.0, 1.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_array_equal(loss.data, [0.0, 0.0, 100.0, 100.0])
    loss.sum().backward()
    # (p - y) / max(p (1 - p), 1e-12), as torch
    np.testing.assert_array_equal(p.grad.data, [0.0, 0.0, -1e12, 1e12])
    assert float(nn.BCELoss()(tg.Tensor([0.0, 1.0]), tg.Tensor([1.0, 0.0]))) == 100.0


def test_bce_refuses_values_that_are_not_probabilities():
    with pytest.raises(ValueError, match=r"-0\.5 to 1\.5.*sigmoid"):
        F.binary_cross_entropy(tg.Tensor([-0.5, 1.5]), tg.Tensor([0.0, 1.0]))


ELEMENTWISE_LOSSES = [F.mse_loss, F.l1_loss, F.binary_cross_entropy,
                      F.binary_cross_entropy_with_logits]


@pytest.mark.parametrize("loss_fn", ELEMENTWISE_LOSSES, ids=lambda f: f.__name__)
def test_column_against_flat_target_raises_with_a_hint(loss_fn):
    x = tg.Tensor(np.full((4, 1), 0.5))
    y = tg.Tensor(np.full(4, 0.5))
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\).*squeeze"):
        loss_fn(x, y)
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 1\).*squeeze"):
        loss_fn(y, x)


def test_cross_entropy_float_class_targets_raise_type_error():
    # the classic mistake: labels stored as floats (torch: "expected target dtype to be Long")
    x = tg.Tensor(np.random.default_rng(6).normal(size=(4, 3)))
    with pytest.raises(TypeError, match=r"astype\(np\.int64\)"):
        F.cross_entropy(x, np.array([0.0, 1.0, 2.0, 1.0]))


def test_nll_float_targets_raise_type_error():
    x = tg.Tensor(np.random.default_rng(6).normal(size=(4, 3)))
    with pytest.raises(TypeError, match=r"class indices.*float64.*astype\(np\.int64\)"):
        F.nll_loss(x, np.array([0.0, 1.0, 2.0, 1.0]))


@pytest.mark.parametrize("loss_fn", [F.cross_entropy, F.nll_loss], ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [3, 7, -1])
def test_out_of_range_class_raises_index_error(loss_fn, bad):
    x = tg.Tensor(np.random.default_rng(7).normal(size=(4, 3)))
    with pytest.raises(IndexError, match=rf"target {bad} is out of range for 3 classes"):
        loss_fn(x, np.array([0, 1, bad, 2]))


@pytest.mark.parametrize("loss_fn", [F.cross_entropy, F.nll_loss], ids=lambda f: f.__name__)
def test_class_target_of_the_wrong_shape_raises(loss_fn):
    x = tg.Tensor(np.random.default_rng(7).normal(size=(4, 3)))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4,\).*\(4, 1\)"):
        loss_fn(x, np.zeros((4, 1), dtype=np.int64))


@pytest.mark.parametrize("name", ["mse", "l1", "bce", "bce_logits", "cross_entropy",
                                  "cross_entropy_probabilities", "nll"])
def test_bad_reduction_raises_naming_it(name):
    case = CASES[name]
    x, y = case_arrays(case)
    with pytest.raises(ValueError, match="'average'"):
        case.call("functional", tg.Tensor(x), tg.Tensor(y), "average")
    with pytest.raises(ValueError, match="'average'"):
        case.module(reduction="average")


# ---------------------------------------------------------------------------------------
# end to end: a small MLP learns a linearly separable problem with hand-written SGD
# ---------------------------------------------------------------------------------------


def test_mlp_learns_a_separable_toy_problem():
    rng = np.random.default_rng(42)
    X = rng.normal(size=(200, 2))
    y = (X @ np.array([1.5, -2.0]) + 0.3 > 0).astype(np.float32)
    assert 0.2 < y.mean() < 0.8  # both classes present
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0))
    loss_fn = nn.BCEWithLogitsLoss()
    inputs, targets = tg.Tensor(X.astype(np.float32)), tg.Tensor(y)
    losses = []
    for _ in range(200):
        model.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        for p in model.parameters():
            p.data -= 0.5 * p.grad.data
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean(np.diff(losses[:20]) < 0) > 0.9  # steadily going down at first
    with tg.no_grad():
        predicted = model(inputs).data > 0
    assert (predicted == (y > 0.5)).mean() >= 0.95


def test_to_double_and_float_convert_parameters_buffers_and_grads_in_place():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    weight = model[0].weight
    model(tg.Tensor(np.ones((4, 2), dtype=np.float32))).sum().backward()
    assert model.double() is model and model[0].weight is weight   # the same Parameter
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    assert weight.grad.dtype == np.float64
    out = model(tg.Tensor(np.ones((4, 2))))
    assert out.dtype == np.float64
    model.float()
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    with pytest.raises(ValueError, match="floating dtype"):
        model.to(np.int64)

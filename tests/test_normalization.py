"""Batch norm and layer norm: F.batch_norm, F.layer_norm, BatchNorm1d/2d, LayerNorm.

Expectations come from NumPy written out here (the textbook formulas, the running
average recurrence), from PyTorch's state-dict contract (the key list, hard-coded), and
from a small fixture made by real PyTorch (tests/data/make_norm_reference.py). Gradients
are checked in float64 with tg.gradcheck and tg.gradgradcheck, and a Normalize with one
term of its backward dropped shows that the check can fail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.nn.normalization import Normalize

REFERENCE = Path(__file__).parent / "data" / "norm_torch_reference.npz"


def leaf(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def numpy_normalize(x, axes, weight_view=1.0, bias_view=0.0, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * w + b, mean and biased var over `axes`."""
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight_view + bias_view


# ---------------------------------------------------------------------------------------
# forward against NumPy
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (3, 2, 4, 5)])
def test_batch_norm_training_forward_equals_numpy(shape):
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 3.0, size=shape)
    w, b = rng.normal(size=shape[1]), rng.normal(size=shape[1])
    view = (1, shape[1]) + (1,) * (len(shape) - 2)
    axes = (0,) + tuple(range(2, len(shape)))
    got = F.batch_norm(tg.Tensor(x), None, None, tg.Tensor(w), tg.Tensor(b), training=True)
    expected = numpy_normalize(x, axes, w.reshape(view), b.reshape(view))
    np.testing.assert_allclose(got.data, expected, rtol=1e-12, atol=1e-12)
    # without affine parameters: each channel has mean 0 and variance var / (var + eps)
    plain = F.batch_norm(tg.Tensor(x), None, None, training=True).data
    np.testing.assert_allclose(plain.mean(axis=axes), 0, atol=1e-12)
    var = x.var(axis=axes)
    np.testing.assert_allclose(plain.var(axis=axes), var / (var + 1e-5), rtol=1e-12)


def test_batch_norm_eval_uses_the_running_statistics():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 3, 2, 2))
    mean, var = np.array([0.5, -1.0, 2.0]), np.array([0.25, 4.0, 1.5])
    w, b = np.array([2.0, -1.0, 0.5]), np.array([0.0, 1.0, -2.0])
    got = F.batch_norm(tg.Tensor(x), tg.Tensor(mean), tg.Tensor(var), tg.Tensor(w),
                       tg.Tensor(b), training=False, eps=1e-3)
    v = (1, 3, 1, 1)
    expected = (x - mean.reshape(v)) / np.sqrt(var.reshape(v) + 1e-3) * w.reshape(v) + \
        b.reshape(v)
    np.testing.assert_allclose(got.data, expected, rtol=1e-12)


@pytest.mark.parametrize("shape, normalized_shape", [((4, 6), 6), ((2, 3, 4), (3, 4)),
                                                      ((2, 3, 4), (4,)), ((5,), 5)])
def test_layer_norm_forward_equals_numpy(shape, normalized_shape):
    rng = np.random.default_rng(3)
    x = rng.normal(1.0, 2.0, size=shape)
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    w, b = rng.normal(size=ns), rng.normal(size=ns)
    axes = tuple(range(len(shape) - len(ns), len(shape)))
    got = F.layer_norm(tg.Tensor(x), normalized_shape, tg.Tensor(w), tg.Tensor(b))
    np.testing.assert_allclose(got.data, numpy_normalize(x, axes, w, b), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(F.layer_norm(tg.Tensor(x), normalized_shape).data,
                               numpy_normalize(x, axes), rtol=1e-12, atol=1e-12)


def test_float32_stays_float32():
    x = tg.randn(4, 3, 2, 2)
    assert nn.BatchNorm2d(3)(x).dtype == np.float32
    assert nn.LayerNorm(2)(x).dtype == np.float32
    assert nn.BatchNorm2d(3).eval()(x).dtype == np.float32


# ---------------------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------------------


def bn_inputs(shape, seed):
    rng = np.random.default_rng(seed)
    return (leaf(rng.normal(1.0, 2.0, size=shape)), leaf(rng.normal(size=shape[1])),
            leaf(rng.normal(size=shape[1])))


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 4), (3, 2, 2, 3)])
def test_batch_norm_training_gradcheck(shape):
    x, w, b = bn_inputs(shape, seed=4)
    assert tg.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                        [x, w, b])
    assert tg.gradcheck(lambda x: F.batch_norm(x, None, None, training=True), [x])


def test_batch_norm_gradcheck_with_running_buffers_and_in_eval():
    x, w, b = bn_inputs((4, 3, 2), seed=5)
    rm, rv = np.zeros(3), np.ones(3)
    assert tg.gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=True),
                        [x, w, b])
    assert tg.gradcheck(lambda x, w, b: F.batch_norm(x, np.array([0.5, 1.0, -1.0]),
                                                     np.array([1.0, 2.0, 0.5]), w, b),
                        [x, w, b])


def test_batch_norm_gradgradcheck():
    x, w, b = bn_inputs((4, 2, 3), seed=6)
    assert tg.gradgradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                            [x, w, b])


@pytest.mark.parametrize("shape, ns", [((4, 5), (5,)), ((2, 3, 4), (3, 4))])
def test_layer_norm_gradcheck_and_gradgradcheck(shape, ns):
    rng = np.random.default_rng(7)
    x, w, b = leaf(rng.normal(size=shape)), leaf(rng.normal(size=ns)), leaf(rng.normal(size=ns))
    f = lambda x, w, b: F.layer_norm(x, ns, w, b)  # noqa: E731
    assert tg.gradcheck(f, [x, w, b])
    assert tg.gradgradcheck(f, [x, w, b])


def test_normalize_gradient_equals_the_closed_form():
    # dL/dx = (1/N) s (N u - sum(u) - xhat sum(u xhat)), written out per channel
    rng = np.random.default_rng(8)
    x, g = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    w = np.array([1.5, -2.0])
    xt, wt = leaf(x), leaf(w)
    (F.batch_norm(xt, None, None, wt, training=True) * g).sum().backward()
    n = x.shape[0]
    s = 1 / np.sqrt(x.var(axis=0) + 1e-5)
    xhat = (x - x.mean(axis=0)) * s
    u = g * w
    expected = s / n * (n * u - u.sum(axis=0) - xhat * (u * xhat).sum(axis=0))
    np.testing.assert_allclose(xt.grad.data, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(wt.grad.data, (g * xhat).sum(axis=0), rtol=1e-12)


class NormalizeWithoutXhatTerm(Normalize):
    """Normalize with the term -xhat * mean(u * xhat) of dL/dx dropped (wrong)."""

    @staticmethod
    def backward(ctx, grad_output):
        x, weight, xhat, inv_std = ctx.saved_tensors
        view = (1, -1) + (1,) * (x.ndim - 2)
        u = grad_output.data * weight.data.reshape(view)
        grad_x = inv_std * (u - u.mean(axis=ctx.axes, keepdims=True))
        return (tg.Tensor(grad_x), tg.Tensor((grad_output.data * xhat).sum(axis=ctx.axes)),
                tg.Tensor(grad_output.data.sum(axis=ctx.axes)))


def test_gradcheck_catches_a_dropped_term():
    x, w, b = bn_inputs((4, 3, 2), seed=9)
    axes = (0, 2)

    def run(op):
        return lambda x, w, b: op.apply(x, w, b, axes=axes, param_axes=axes, eps=1e-5)

    assert tg.gradcheck(run(Normalize), [x, w, b])
    report = tg.gradcheck(run(NormalizeWithoutXhatTerm), [x, w, b], verbose=False)
    assert not report
    assert [item.passed for item in report.inputs] == [False, True, True]


def test_create_graph_backward_equals_the_array_backward():
    x, w, b = bn_inputs((4, 3, 2), seed=10)
    g = np.random.default_rng(11).normal(size=(4, 3, 2))
    fast = tg.autograd.grad(F.batch_norm(x, None, None, w, b, training=True), [x, w, b],
                   grad_outputs=g)
    graph = tg.autograd.grad(F.batch_norm(x, None, None, w, b, training=True), [x, w, b],
                    grad_outputs=g, create_graph=True)
    assert graph[0].requires_grad and not fast[0].requires_grad
    for a, c in zip(fast, graph):
        np.testing.assert_allclose(a.data, c.data, rtol=1e-12, atol=1e-14)


def test_check_graph_passes_through_batch_norm_and_layer_norm():
    # check_graph re-runs each op from its inputs and options: the batch statistics must
    # come from the input, not be handed in as a constant
    tg.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LayerNorm(4)).double()
    x = tg.Tensor(np.random.default_rng(17).normal(size=(5, 3)))
    report = tg.check_graph((model(x) ** 2).sum())
    assert report
    model.eval()
    assert tg.check_graph((model(x) ** 2).sum())


def test_batch_norm_is_one_graph_node():
    x, w, b = bn_inputs((4, 3, 2), seed=12)
    y = F.batch_norm(x, None, None, w, b, training=True)
    assert y.grad_fn.name == "Normalize" and y.grad_fn.inputs == (x, w, b)


# ---------------------------------------------------------------------------------------
# running statistics and modes
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_running_statistics_follow_the_recurrence(momentum):
    rng = np.random.default_rng(13)
    layer = nn.BatchNorm1d(3, momentum=momentum).double()
    mean, var = np.zeros(3), np.ones(3)
    batches = [rng.normal(k, 1.0 + k, size=(5, 3, 4)) for k in range(4)]
    for step, x in enumerate(batches, start=1):
        layer(tg.Tensor(x))
        factor = 1 / step if momentum is None else momentum
        n = x.shape[0] * x.shape[2]
        mean = (1 - factor) * mean + factor * x.mean(axis=(0, 2))
        var = (1 - factor) * var + factor * x.var(axis=(0, 2)) * n / (n - 1)  # unbiased
        np.testing.assert_allclose(layer.running_mean.data, mean, rtol=1e-12)
        np.testing.assert_allclose(layer.running_var.data, var, rtol=1e-12)
        assert layer.num_batches_tracked.data == step
    if momentum is None:  # the cumulative average is the plain mean of the batch means
        np.testing.assert_allclose(layer.running_mean.data,
                                   np.mean([x.mean(axis=(0, 2)) for x in batches], axis=0),
                                   rtol=1e-12)


def test_running_buffers_are_updated_in_place():
    layer = nn.BatchNorm1d(2)
    state = layer.state_dict()  # shares memory with the buffers, as in PyTorch
    layer(tg.Tensor(np.array([[1.0, 2.0], [3.0, 6.0]], dtype=np.float32)))
    np.testing.assert_allclose(state["running_mean"].data, [0.2, 0.4], rtol=1e-6)
    np.testing.assert_allclose(state["running_var"].data, [0.9 + 0.1 * 2, 0.9 + 0.1 * 8],
                               rtol=1e-6)  # unbiased: var of (1, 3) is 2, of (2, 6) is 8
    assert state["running_mean"].dtype == np.float32


def test_eval_mode_uses_running_stats_and_changes_nothing():
    rng = np.random.default_rng(14)
    layer = nn.BatchNorm2d(2).double()
    for _ in range(3):
        layer(tg.Tensor(rng.normal(3.0, 2.0, size=(4, 2, 3, 3))))
    layer.eval()
    before = {k: v.data.copy() for k, v in layer.state_dict().items()}
    x = rng.normal(size=(2, 2, 3, 3))
    got = layer(tg.Tensor(x)).data
    v = (1, 2, 1, 1)
    expected = (x - before["running_mean"].reshape(v)) / np.sqrt(
        before["running_var"].reshape(v) + 1e-5)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value.data, before[key], err_msg=key)
    # a single sample is fine in eval mode, and back in train mode the batch stats are used
    assert layer(tg.Tensor(x[:1])).shape == (1, 2, 3, 3)
    layer.train()
    np.testing.assert_allclose(layer(tg.Tensor(x)).data, numpy_normalize(x, (0, 2, 3)),
                               rtol=1e-10, atol=1e-12)


def test_without_running_stats_batch_statistics_are_used_in_eval_too():
    layer = nn.BatchNorm1d(3, track_running_stats=False, affine=False).double().eval()
    x = np.random.default_rng(15).normal(size=(6, 3))
    np.testing.assert_allclose(layer(tg.Tensor(x)).data, numpy_normalize(x, (0,)),
                               rtol=1e-12)
    assert list(layer.state_dict()) == []
    assert list(layer.parameters()) == []


# ---------------------------------------------------------------------------------------
# state dicts: PyTorch's keys, order and dtypes
# ---------------------------------------------------------------------------------------

# torch.nn.BatchNorm2d(4).state_dict() and torch.nn.LayerNorm((2, 3)).state_dict()
BN_KEYS = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
LN_KEYS = ["weight", "bias"]


@pytest.mark.parametrize("cls", [nn.BatchNorm1d, nn.BatchNorm2d])
def test_batch_norm_state_dict_matches_pytorch(cls):
    state = cls(4).state_dict()
    assert list(state) == BN_KEYS
    assert [state[k].dtype for k in BN_KEYS] == [np.float32] * 4 + [np.int64]
    assert [state[k].shape for k in BN_KEYS] == [(4,)] * 4 + [()]
    np.testing.assert_array_equal(state["weight"].data, 1)
    np.testing.assert_array_equal(state["running_var"].data, 1)
    np.testing.assert_array_equal(state["bias"].data, 0)
    np.testing.assert_array_equal(state["running_mean"].data, 0)
    assert [name for name, _ in cls(4).named_parameters()] == ["weight", "bias"]


def test_layer_norm_state_dict_and_parameters():
    layer = nn.LayerNorm((2, 3))
    assert list(layer.state_dict()) == LN_KEYS
    assert layer.weight.shape == layer.bias.shape == (2, 3)
    assert list(nn.LayerNorm(3, elementwise_affine=False).state_dict()) == []
    assert repr(nn.LayerNorm(3)).startswith("LayerNorm((3,), eps=1e-05, elementwise_affine=True)")


def test_nested_state_dict_keys_follow_pytorch():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
    # torch: the same Sequential's state_dict keys
    assert list(model.state_dict()) == ["0.weight", "0.bias"] + ["1." + k for k in BN_KEYS]


def test_load_state_dict_round_trip_restores_the_running_statistics():
    rng = np.random.default_rng(16)
    trained = nn.BatchNorm2d(3).double()
    trained.weight.data[:] = [1.0, 2.0, 3.0]
    for _ in range(2):
        trained(tg.Tensor(rng.normal(1.0, 2.0, size=(4, 3, 2, 2))))
    saved = {k: v.data.copy() for k, v in trained.state_dict().items()}
    fresh = nn.BatchNorm2d(3).double()
    fresh.load_state_dict(saved)
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.data, saved[key], err_msg=key)
    assert fresh.num_batches_tracked.data.dtype == np.int64
    x = tg.Tensor(rng.normal(size=(2, 3, 2, 2)))
    np.testing.assert_array_equal(fresh.eval()(x).data, trained.eval()(x).data)


# ---------------------------------------------------------------------------------------
# against real PyTorch (tests/data/make_norm_reference.py)
# ---------------------------------------------------------------------------------------


def test_batch_norm_2d_three_training_steps_match_pytorch():
    ref = np.load(REFERENCE)
    layer = nn.BatchNorm2d(3).double()
    layer.weight.data[...] = ref["bn_weight"]
    layer.bias.data[...] = ref["bn_bias"]
    grad_weight, grad_bias = 0, 0  # PyTorch's accumulated over the three steps
    for step in range(3):
        x = tg.Tensor(ref[f"bn_x{step}"], requires_grad=True)
        y = layer(x)
        layer.zero_grad()
        (y * ref[f"bn_upstream{step}"]).sum().backward()
        grad_weight, grad_bias = grad_weight + layer.weight.grad.data, \
            grad_bias + layer.bias.grad.data
        np.testing.assert_allclose(y.data, ref[f"bn_y{step}"], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(x.grad.data, ref[f"bn_grad_x{step}"], rtol=1e-6,
                                   atol=1e-12)
    np.testing.assert_allclose(grad_weight, ref["bn_grad_weight"], rtol=1e-6)
    np.testing.assert_allclose(grad_bias, ref["bn_grad_bias"], rtol=1e-6)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(layer, name).data, ref[f"bn_{name}"], rtol=1e-6,
                                   err_msg=name)
    layer.eval()
    np.testing.assert_allclose(layer(tg.Tensor(ref["bn_eval_x"])).data, ref["bn_eval_y"],
                               rtol=1e-6, atol=1e-12)


def test_layer_norm_matches_pytorch():
    ref = np.load(REFERENCE)
    layer = nn.LayerNorm((3, 4)).double()
    layer.weight.data[...] = ref["ln_weight"]
    layer.bias.data[...] = ref["ln_bias"]
    x = tg.Tensor(ref["ln_x"], requires_grad=True)
    y = layer(x)
    (y * ref["ln_upstream"]).sum().backward()
    np.testing.assert_allclose(y.data, ref["ln_y"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(x.grad.data, ref["ln_grad_x"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.data, ref["ln_grad_weight"], rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad.data, ref["ln_grad_bias"], rtol=1e-6)


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------


def test_one_value_per_channel_in_training_raises_and_changes_nothing():
    layer = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        layer(tg.randn(1, 3))
    assert layer.num_batches_tracked.data == 0
    np.testing.assert_array_equal(layer.running_mean.data, 0)
    with pytest.raises(ValueError, match=r"\(1, 3, 1, 1\)"):
        F.batch_norm(tg.randn(1, 3, 1, 1), None, None, training=True)


def test_input_rank_and_channel_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4-D \(N, C, H, W\).*\(3, 4, 4\)"
                       r".*unsqueeze"):
        nn.BatchNorm2d(3)(tg.randn(3, 4, 4))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2-D \(N, C\) or 3-D"):
        nn.BatchNorm1d(3)(tg.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"has 5 channels.*num_features=3"):
        nn.BatchNorm2d(3)(tg.randn(2, 5, 4, 4))
    with pytest.raises(ValueError, match=r"batch_norm: weight has shape \(4,\).*\(3,\)"):
        F.batch_norm(tg.randn(2, 3), None, None, tg.ones(4), training=True)
    with pytest.raises(ValueError, match="training=False\\) needs running_mean"):
        F.batch_norm(tg.randn(2, 3), None, None)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="num_features must be a positive int"):
            nn.BatchNorm1d(bad)
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNorm1d(3, momentum=1.5)


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 5\) does not end "
                                         r"with normalized_shape \(4,\)"):
        nn.LayerNorm(4)(tg.randn(2, 5))
    with pytest.raises(ValueError, match=r"layer_norm: weight has shape \(3,\).*\(4,\)"):
        F.layer_norm(tg.randn(2, 4), 4, tg.ones(3))
    with pytest.raises(ValueError, match="normalized_shape must be a positive int"):
        nn.LayerNorm(())
    with pytest.raises(ValueError, match="does not end with"):
        F.layer_norm(tg.randn(4), (2, 4))


def test_float32_input_with_float64_parameters_promotes_in_train_and_eval_alike():
    # NumPy's rule, as Linear and Conv2d follow it: the result has the wider dtype; each
    # gradient has the dtype of what it is the gradient of
    x = tg.Tensor(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32),
                  requires_grad=True)
    for layer in (nn.BatchNorm1d(3).double(), nn.LayerNorm(3).double()):
        out = layer(x)
        assert out.dtype == np.float64
        out.sum().backward()
        assert x.grad.dtype == np.float32 and layer.weight.grad.dtype == np.float64
        x.grad = None
        assert layer.eval()(x).dtype == np.float64

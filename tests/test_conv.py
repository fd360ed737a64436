"""Convolution and pooling: F.conv1d, F.conv2d, F.max_pool2d, F.avg_pool2d and their modules.

Forward values are compared with naive NumPy references written here with explicit loops
over the output positions (the definitions, at tiny sizes); gradients with float64
central differences (`tg.gradcheck`), second derivatives with `tg.gradgradcheck`, and a
deliberately wrong backward shows that the check can fail. Max pooling's tie rule is
checked against hand-worked windows, and everything once against a small fixture
written by PyTorch itself (tests/data/make_conv_reference.py).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.conv as conv_module
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

DATA = os.path.join(os.path.dirname(__file__), "data", "conv_torch_reference.npz")


def leaf(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# ---------------------------------------------------------------------------------------
# naive references: the definitions, one output element at a time
# ---------------------------------------------------------------------------------------


def conv2d_reference(x, w, b, stride, padding, dilation):
    """y[n, o, oh, ow] = b[o] + sum_{c,i,j} w[o,c,i,j] xp[n, c, oh*sh + i*dh, ow*sw + j*dw]"""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for r in range(oh):
        for s in range(ow):
            for i in range(kh):
                for j in range(kw):
                    patch = xp[:, :, r * sh + i * dh, s * sw + j * dw]         # (n, c)
                    y[:, :, r, s] += patch @ w[:, :, i, j].T                  # (n, o)
    if b is not None:
        y += b[None, :, None, None]
    return y


def pool_reference(x, kernel, stride, padding, kind):
    """Max (first maximum in row-by-row scan order wins the gradient) or mean of each
    window; returns the output and, for max, the gradient of sum(y * upstream) routed by
    hand."""
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel), pair(stride), pair(padding)
    n, c, h, w = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), fill)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, c, oh, ow))
    winner = np.zeros((n, c, oh, ow, 2), dtype=int)
    for a in range(n):
        for ch in range(c):
            for r in range(oh):
                for s in range(ow):
                    window = xp[a, ch, r * sh:r * sh + kh, s * sw:s * sw + kw]
                    if kind == "max":
                        k = int(np.argmax(window))  # the first maximum, row by row
                        y[a, ch, r, s] = window.flat[k]
                        winner[a, ch, r, s] = (r * sh + k // kw - ph, s * sw + k % kw - pw)
                    else:
                        y[a, ch, r, s] = window.mean()
    return y, winner


# ---------------------------------------------------------------------------------------
# conv2d: forward against the reference, gradients against finite differences
# ---------------------------------------------------------------------------------------

# (N, C_in, H, W, C_out, kernel, stride, padding, dilation, bias)
CONV_CASES = [
    (1, 1, 5, 5, 1, 3, 1, 0, 1, True),
    (2, 3, 7, 6, 4, (3, 2), 1, 0, 1, True),
    (2, 2, 8, 9, 3, 3, 2, 1, 1, False),
    (1, 3, 9, 8, 2, (2, 3), (2, 3), (1, 2), 1, True),
    (2, 2, 9, 9, 3, 3, 1, 2, 2, True),
    (3, 4, 6, 7, 5, 1, 1, 0, 1, True),
    (1, 2, 5, 6, 2, (5, 6), 1, 0, 1, True),
    (2, 1, 10, 7, 2, 2, 3, 1, (3, 1), True),
]
CONV_IDS = ["3x3", "rect-kernel", "stride2-pad1-nobias", "rect-stride-pad", "dilation2",
            "1x1", "kernel-equals-input", "stride>kernel"]


def conv_inputs(case, seed=0):
    n, c, h, w, o, kernel, *_ , bias = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((o, c, *pair(kernel)))
    b = rng.standard_normal(o) if bias else None
    return x, weight, b


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_forward_matches_the_definition(case):
    x, w, b = conv_inputs(case)
    stride, padding, dilation = case[6:9]
    y = F.conv2d(tg.Tensor(x), tg.Tensor(w), None if b is None else tg.Tensor(b),
                 stride, padding, dilation)
    expected = conv2d_reference(x, w, b, stride, padding, dilation)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_gradients_match_finite_differences(case):
    x, w, b = conv_inputs(case, seed=1)
    stride, padding, dilation = case[6:9]
    inputs = [leaf(x), leaf(w)] + ([leaf(b)] if b is not None else [])

    def f(x, w, b=None):
        return F.conv2d(x, w, b, stride, padding, dilation)

    report = tg.gradcheck(f, inputs)
    assert report
    assert len(report.inputs) == len(inputs)


def test_conv2d_second_derivatives():
    x, w, b = conv_inputs((1, 2, 5, 6, 2, (3, 2), (2, 1), 1, (1, 2), True), seed=2)
    report = tg.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, (2, 1), 1, (1, 2)),
                              [leaf(x), leaf(w), leaf(b)])
    assert report


def test_conv2d_third_derivatives_go_through_the_gradient_ops():
    # the first derivatives are Conv2dInputGrad and Conv2dWeightGrad; differentiating a
    # function of them twice more reaches every backward of the three ops
    x, w, _ = conv_inputs((1, 2, 5, 5, 2, 3, 2, 1, 1, False), seed=6)

    def squared_gradients(x, w):
        with tg.enable_grad():  # (gradgradcheck first calls f under no_grad)
            y = F.conv2d(x, w, None, 2, 1)
            grad_x, grad_w = tg.autograd.grad((y ** 3).sum(), [x, w], create_graph=True)
            return (grad_x ** 2).sum() + (grad_w ** 2).sum()

    assert tg.gradgradcheck(squared_gradients, [leaf(x), leaf(w)])


def test_the_op_applied_without_a_bias_input():
    x, w, _ = conv_inputs((2, 2, 5, 5, 3, 3, 1, 0, 1, False), seed=7)
    options = dict(stride=1, padding=0, dilation=1)
    assert tg.gradcheck(lambda x, w: conv_module.Convolution2d.apply(x, w, **options),
                        [leaf(x), leaf(w)])


def test_conv2d_backward_matches_the_reference_gradients():
    # dL/dx, dL/dw for L = sum(U * y), written out: each output element sends U times the
    # weight to the input pixel it read, and U times that pixel to the weight
    x, w, b = conv_inputs((2, 2, 6, 5, 3, 3, 2, 1, 1, True), seed=3)
    u = np.random.default_rng(4).standard_normal((2, 3, 3, 3))
    tx, tw, tb = leaf(x), leaf(w), leaf(b)
    (F.conv2d(tx, tw, tb, 2, 1) * u).sum().backward()
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    for r in range(3):
        for s in range(3):
            patch = xp[:, :, 2 * r:2 * r + 3, 2 * s:2 * s + 3]               # (n, c, 3, 3)
            gw += np.einsum("no,ncij->ocij", u[:, :, r, s], patch)
            gxp[:, :, 2 * r:2 * r + 3, 2 * s:2 * s + 3] += np.einsum("no,ocij->ncij",
                                                                       u[:, :, r, s], w)
    np.testing.assert_allclose(tx.grad.data, gxp[:, :, 1:-1, 1:-1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tw.grad.data, gw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tb.grad.data, u.sum(axis=(0, 2, 3)), rtol=1e-12)


class ConvWeightGradFlipped(conv_module.Convolution2d):
    """A wrong backward: dL/dW with its kernel flipped (a classic mix-up of convolution
    and cross-correlation)."""

    @staticmethod
    def backward(ctx, grad_output):
        grad_x, grad_w, grad_b = conv_module.Convolution2d.backward(ctx, grad_output)
        return grad_x, grad_w[:, :, ::-1, ::-1], grad_b


class ConvInputGradHalved(conv_module.Convolution2d):
    """A wrong backward: dL/dx missing a factor of 2."""

    @staticmethod
    def backward(ctx, grad_output):
        grad_x, grad_w, grad_b = conv_module.Convolution2d.backward(ctx, grad_output)
        return grad_x * 0.5, grad_w, grad_b


@pytest.mark.parametrize("wrong, bad_input", [(ConvWeightGradFlipped, 1),
                                              (ConvInputGradHalved, 0)],
                         ids=["weight-flipped", "input-halved"])
def test_gradcheck_catches_a_wrong_conv_backward(wrong, bad_input):
    x, w, b = conv_inputs((1, 2, 5, 5, 2, 3, 1, 1, 1, True), seed=5)
    inputs = [leaf(x), leaf(w), leaf(b)]
    options = dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1))
    assert tg.gradcheck(lambda x, w, b: conv_module.Convolution2d.apply(x, w, b, **options),
                        inputs)
    report = tg.gradcheck(lambda x, w, b: wrong.apply(x, w, b, **options), inputs,
                          verbose=False)
    assert not report
    assert [item.passed for item in report.inputs] == [i != bad_input for i in range(3)]


def test_data_input_gets_no_gradient_and_skips_col2im(monkeypatch):
    # the first layer of a network: its input is data, so backward must not pay for dL/dx
    def refuse(*args):
        raise AssertionError("col2im ran although the input needs no gradient")

    x, w, b = conv_inputs((2, 1, 6, 6, 3, 3, 1, 0, 1, True))
    tw, tb = leaf(w), leaf(b)
    data = tg.Tensor(x)
    monkeypatch.setattr(conv_module, "_col2im", refuse)
    F.conv2d(data, tw, tb).sum().backward()
    assert data.grad is None
    np.testing.assert_allclose(tb.grad.data, np.full(3, 2 * 4 * 4))


def test_unbatched_input_gives_an_unbatched_output():
    x, w, b = conv_inputs((1, 2, 6, 5, 3, 3, 1, 1, 1, True))
    y = F.conv2d(tg.Tensor(x[0]), tg.Tensor(w), tg.Tensor(b), padding=1)
    assert y.shape == (3, 6, 5)
    np.testing.assert_allclose(y.data, conv2d_reference(x, w, b, 1, 1, 1)[0], rtol=1e-12)


def test_float32_in_float32_out():
    x, w, b = (a.astype(np.float32) for a in conv_inputs((2, 2, 6, 6, 3, 3, 1, 1, 1, True)))
    tx, tw, tb = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(tx, tw, tb, padding=1)
    assert y.dtype == np.float32
    y.sum().backward()
    assert tx.grad.dtype == tw.grad.dtype == tb.grad.dtype == np.float32
    for pool in (F.max_pool2d, F.avg_pool2d):
        assert pool(tx, 2).dtype == np.float32


# ---------------------------------------------------------------------------------------
# conv1d
# ---------------------------------------------------------------------------------------


def conv1d_reference(x, w, b, stride, padding, dilation):
    n, c, length = x.shape
    o, _, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    out = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    y = np.zeros((n, o, out)) + b[None, :, None]
    for t in range(out):
        for j in range(k):
            y[:, :, t] += xp[:, :, t * stride + j * dilation] @ w[:, :, j].T
    return y


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 3),
                                                       (3, 0, 2)])
def test_conv1d_matches_the_definition_and_finite_differences(stride, padding, dilation):
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((2, 3, 11)), rng.standard_normal((4, 3, 3)), \
        rng.standard_normal(4)
    y = F.conv1d(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b), stride, padding, dilation)
    np.testing.assert_allclose(y.data, conv1d_reference(x, w, b, stride, padding, dilation),
                               rtol=1e-12, atol=1e-12)
    assert tg.gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation),
                        [leaf(x), leaf(w), leaf(b)])


# ---------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------

# (kernel, stride, padding): tiling, overlapping (stride < kernel), padded, rectangular
POOL_CASES = [(2, None, 0), (3, 1, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1)), (2, 3, 0)]
POOL_IDS = ["tiling", "overlap", "overlap-padded", "rect", "gaps"]


@pytest.mark.parametrize("kernel, stride, padding", POOL_CASES, ids=POOL_IDS)
def test_max_pool_forward_and_gradient_routing(kernel, stride, padding):
    # small integers: many windows hold their maximum twice, so the tie rule is exercised
    x = np.random.default_rng(7).integers(0, 4, (2, 3, 7, 8)).astype(np.float64)
    stride_ = kernel if stride is None else stride
    expected, winner = pool_reference(x, kernel, stride_, padding, "max")
    tx = leaf(x)
    y = F.max_pool2d(tx, kernel, stride, padding)
    np.testing.assert_array_equal(y.data, expected)
    u = np.random.default_rng(8).standard_normal(expected.shape)
    (y * u).sum().backward()
    grad = np.zeros_like(x)
    for index in np.ndindex(*expected.shape):  # each window's gradient to its first max
        r, s = winner[index]
        grad[index[0], index[1], r, s] += u[index]  # added: overlapping windows share
    np.testing.assert_allclose(tx.grad.data, grad, rtol=1e-12, atol=1e-15)


def test_max_pool_tie_goes_to_the_first_maximum_in_scan_order():
    # one 3x3 window, stride 1 over a 3x4 input: two windows, overlapping in 2 columns
    x = np.array([[0., 5., 1., 5.],
                  [5., 2., 5., 0.],
                  [1., 5., 0., 3.]])
    tx = leaf(x.reshape(1, 1, 3, 4))
    y = F.max_pool2d(tx, 3, stride=1)
    np.testing.assert_array_equal(y.data.ravel(), [5., 5.])
    y.sum().backward()
    # window 0 scans (0,0) (0,1) ... : its first 5 is at (0, 1); window 1 starts at
    # column 1, so its first 5 is also (0, 1): that element gets both gradients
    expected = np.zeros((3, 4))
    expected[0, 1] = 2
    np.testing.assert_array_equal(tx.grad.data.reshape(3, 4), expected)


def test_max_pool_all_equal_window_sends_the_gradient_to_its_top_left():
    tx = leaf(np.full((1, 1, 4, 4), 7.0))
    F.max_pool2d(tx, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(tx.grad.data[0, 0], expected)


def test_max_pool_nan_wins_and_the_last_nan_gets_the_gradient():
    # PyTorch's CPU rule, kept: a NaN always replaces the running maximum
    x = np.array([[1., np.nan, 3.],
                  [np.nan, 2., 0.],
                  [0., 7., 0.]])
    tx = leaf(x.reshape(1, 1, 3, 3))
    y = F.max_pool2d(tx, 3)
    assert np.isnan(y.item())
    y.sum().backward()
    expected = np.zeros((3, 3))
    expected[1, 0] = 1
    np.testing.assert_array_equal(tx.grad.data[0, 0], expected)


@pytest.mark.parametrize("kernel, stride, padding", POOL_CASES, ids=POOL_IDS)
def test_avg_pool_forward_and_gradients(kernel, stride, padding):
    x = np.random.default_rng(9).standard_normal((2, 2, 7, 8))
    stride_ = kernel if stride is None else stride
    expected, _ = pool_reference(x, kernel, stride_, padding, "avg")
    np.testing.assert_allclose(F.avg_pool2d(tg.Tensor(x), kernel, stride, padding).data,
                               expected, rtol=1e-12, atol=1e-15)
    assert tg.gradcheck(lambda a: F.avg_pool2d(a, kernel, stride, padding), [leaf(x)])


def test_pooling_gradients_match_finite_differences():
    # distinct values, far apart (no ties within 1e-6): max is differentiable there
    x = np.random.default_rng(10).permutation(2 * 2 * 6 * 7).reshape(2, 2, 6, 7) / 10.0
    assert tg.gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1), [leaf(x)])
    assert tg.gradcheck(lambda a: F.max_pool2d(a, (2, 3), 1), [leaf(x)])


def test_pooling_second_derivatives():
    x = np.random.default_rng(11).permutation(1 * 2 * 5 * 6).reshape(1, 2, 5, 6) / 10.0
    assert tg.gradgradcheck(lambda a: F.max_pool2d(a, 3, 2, 1) ** 2, [leaf(x)])
    assert tg.gradgradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1) ** 2, [leaf(x)])


# ---------------------------------------------------------------------------------------
# against PyTorch itself (a small fixture it wrote: tests/data/make_conv_reference.py)
# ---------------------------------------------------------------------------------------


def test_conv2d_and_max_pool_match_pytorch_fixture():
    ref = np.load(DATA)
    tx, tw, tb = leaf(ref["x"]), leaf(ref["weight"]), leaf(ref["bias"])
    y = F.conv2d(tx, tw, tb, tuple(ref["stride"]), tuple(ref["padding"]),
                 tuple(ref["dilation"]))
    np.testing.assert_allclose(y.data, ref["out"], rtol=1e-10, atol=1e-12)
    (y * y).sum().backward()
    for name, t in (("grad_x", tx), ("grad_weight", tw), ("grad_bias", tb)):
        np.testing.assert_allclose(t.grad.data, ref[name], rtol=1e-10, atol=1e-12,
                                   err_msg=name)
    kernel, stride, padding = (int(v) for v in ref["pool_options"])
    tp = leaf(ref["pool_x"])
    q = F.max_pool2d(tp, kernel, stride, padding)
    np.testing.assert_array_equal(q.data, ref["pool_out"])
    (q * q).sum().backward()
    np.testing.assert_array_equal(tp.grad.data, ref["pool_grad_x"])


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, w_shape, kwargs, message", [
    ((3, 8, 8), (4, 3, 3, 3, 1), {}, r"weight must have 4 axes.*\(4, 3, 3, 3, 1\)"),
    ((3, 8), (4, 3, 3, 3), {}, r"conv2d: the input must have 4 axes.*\(3, 8\)"),
    ((2, 3, 8), (4, 3, 3, 3), {},
     r"unbatched input of shape \(2, 3, 8\) \(C_in, H, W\) has 2 channels \(axis 0\)"),
    ((2, 3, 8, 8), (4, 5, 3, 3), {},
     r"\(2, 3, 8, 8\) has 3 channels \(axis 1\).*\(4, 5, 3, 3\) expects 5"),
    ((2, 3, 4, 4), (4, 3, 5, 3), {}, r"kernel 5x3.*larger than the padded input 4x4"),
    ((2, 3, 4, 4), (4, 3, 3, 3), {"dilation": 2},
     r"spanning 5x5 with dilation 2x2\) is larger than the padded input 4x4"),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 0}, r"conv2d: stride must be positive, got \(0, 0\)"),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": (1, -2)}, r"stride must be positive"),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"padding": -1}, r"padding must be non-negative"),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"padding": (1, 1, 1)}, r"padding must be an int or a tuple"),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"bias": np.zeros(3)},
     r"bias of shape \(3,\).*\(4, 3, 3, 3\).*\(4,\)"),
])
def test_conv2d_errors_name_the_shapes_and_the_fix(x_shape, w_shape, kwargs, message):
    kwargs = dict(kwargs)
    bias = kwargs.pop("bias", None)
    with pytest.raises(ValueError, match=message):
        F.conv2d(tg.zeros(*x_shape), tg.zeros(*w_shape),
                 None if bias is None else tg.Tensor(bias), **kwargs)


def test_conv1d_and_pooling_errors():
    with pytest.raises(ValueError, match=r"conv1d: the input must have 3 axes \(N, C_in, L\)"):
        F.conv1d(tg.zeros(2, 3, 4, 4), tg.zeros(2, 3, 3))
    with pytest.raises(ValueError, match=r"conv1d: .*3 channels \(axis 1\).*expects 2"):
        F.conv1d(tg.zeros(2, 3, 8), tg.zeros(4, 2, 3))
    with pytest.raises(ValueError, match="conv1d: the kernel 9 .*larger than the padded "
                                         "input 8"):
        F.conv1d(tg.zeros(2, 3, 6), tg.zeros(4, 3, 9), padding=1)
    with pytest.raises(ValueError, match=r"max_pool2d: the input must have 4 axes \(N, C, H, "
                                         r"W\), or 3 for one image"):
        F.max_pool2d(tg.zeros(2, 3, 4, 4, 4), 2)
    with pytest.raises(ValueError, match=r"padding \(2, 2\) is more than half the kernel"):
        F.max_pool2d(tg.zeros(1, 1, 6, 6), 3, padding=2)
    with pytest.raises(ValueError, match="avg_pool2d: stride must be positive"):
        F.avg_pool2d(tg.zeros(1, 1, 6, 6), 2, stride=0)
    with pytest.raises(ValueError, match="avg_pool2d: the kernel 7x7 .* larger"):
        F.avg_pool2d(tg.zeros(1, 1, 6, 6), 7)
    with pytest.raises(ValueError, match="kernel_size must be an int or a tuple of 2 ints"):
        nn.MaxPool2d(2.5)
    for bad in (0, -3, 1.5, True):
        with pytest.raises(ValueError, match="in_channels must be a positive int"):
            nn.Conv2d(bad, 3, 3)
    with pytest.raises(ValueError, match="Conv2d: stride must be positive"):
        nn.Conv2d(1, 3, 3, stride=0)


# ---------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------


def test_conv2d_module_parameters_state_dict_and_repr():
    layer = nn.Conv2d(3, 8, (3, 5), stride=2, padding=1)
    assert layer.weight.shape == (8, 3, 3, 5) and layer.bias.shape == (8,)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.num_parameters() == 8 * 3 * 15 + 8
    assert repr(layer).startswith(
        "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1))")
    no_bias = nn.Conv2d(2, 4, 3, dilation=2, bias=False)
    assert no_bias.bias is None and list(no_bias.state_dict()) == ["weight"]
    assert no_bias.extra_repr() == "2, 4, kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), " \
                                   "bias=False"
    x = np.random.default_rng(12).standard_normal((2, 3, 9, 9)).astype(np.float32)
    y = layer(tg.Tensor(x))
    expected = conv2d_reference(x.astype(np.float64), layer.weight.data.astype(np.float64),
                                layer.bias.data.astype(np.float64), 2, 1, 1)
    assert y.shape == (2, 8, 5, 4) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, expected, rtol=1e-4, atol=1e-5)


def test_conv1d_module_and_pool_modules():
    layer = nn.Conv1d(2, 5, 4, padding=1, bias=False)
    assert layer.weight.shape == (5, 2, 4) and list(layer.state_dict()) == ["weight"]
    assert layer.extra_repr() == "2, 5, kernel_size=(4,), stride=(1,), padding=(1,), bias=False"
    assert layer(tg.zeros(3, 2, 10)).shape == (3, 5, 9)
    assert repr(nn.MaxPool2d(2)) == ("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                                    "ceil_mode=False)")
    assert repr(nn.AvgPool2d(3, 1, 1)) == "AvgPool2d(kernel_size=3, stride=1, padding=1)"
    x = np.random.default_rng(13).standard_normal((1, 2, 6, 6))
    np.testing.assert_array_equal(nn.MaxPool2d(3, 1, 1)(tg.Tensor(x)).data,
                                  F.max_pool2d(tg.Tensor(x), 3, 1, 1).data)
    np.testing.assert_array_equal(nn.AvgPool2d(2)(tg.Tensor(x)).data,
                                  F.avg_pool2d(tg.Tensor(x), 2).data)


@pytest.mark.parametrize("make, fan_in", [(lambda: nn.Conv2d(16, 32, 5), 16 * 25),
                                          (lambda: nn.Conv1d(40, 64, 5), 40 * 5)])
def test_default_init_is_pytorchs(make, fan_in):
    # kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), variance bound^2/3;
    # with 12,800 draws the sample variance is within 5% (about 6 standard errors)
    tg.manual_seed(14)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    w = layer.weight.data.astype(np.float64)
    assert w.min() >= -bound and w.max() <= bound
    assert w.min() < -0.98 * bound and w.max() > 0.98 * bound
    assert abs(w.var() / (bound ** 2 / 3) - 1) < 0.05
    assert abs(w.mean()) < 4 * bound / math.sqrt(3 * w.size)
    b = layer.bias.data
    assert np.all(np.abs(b) <= bound) and np.unique(b).size == b.size
    tg.manual_seed(14)
    np.testing.assert_array_equal(make().weight.data, layer.weight.data)  # repeatable


def test_a_small_cnn_learns_and_its_gradients_reach_every_parameter():
    tg.manual_seed(15)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 4, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(4, 2))
    rng = np.random.default_rng(16)
    x = tg.Tensor(rng.standard_normal((8, 1, 8, 8)).astype(np.float32))
    y = rng.integers(0, 2, 8)
    opt = tg.optim.Adam(model.parameters(), lr=0.03)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        assert all(p.grad is not None and p.grad.shape == p.shape
                   for p in model.parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]  # 8 samples: it can fit them


# --- edge cases met in review --------------------------------------------------------------


def test_max_pool_with_padding_gives_the_gradient_to_a_real_minus_infinity():
    # a window whose real values are all -inf: its maximum is a real element (PyTorch),
    # never the -inf padding, so that element gets the gradient
    x = leaf([[[[-np.inf, 1.0], [2.0, 3.0]]]])
    F.max_pool2d(x, 2, 1, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [1.0, 2.0, 2.0, 4.0])
    # all -inf: each window's gradient goes to its first real element in scan order, as
    # in PyTorch (values checked against torch 2.13)
    for stride, expected in ((1, [4.0, 2.0, 2.0, 1.0]), (2, [1.0, 1.0, 1.0, 1.0])):
        y = leaf(np.full((1, 1, 2, 2), -np.inf))
        F.max_pool2d(y, 2, stride, 1).sum().backward()
        np.testing.assert_array_equal(y.grad.numpy().ravel(), expected)


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_pooling_accepts_one_unbatched_image(pool):
    x = np.random.default_rng(0).standard_normal((3, 6, 6))
    single = pool(tg.Tensor(x), 2)
    batched = pool(tg.Tensor(x[None]), 2)
    assert single.shape == (3, 3, 3)
    np.testing.assert_array_equal(single.numpy(), batched.numpy()[0])


def test_conv1d_accepts_one_unbatched_signal():
    tg.manual_seed(0)
    layer = nn.Conv1d(3, 4, 3).double()
    x = np.random.default_rng(0).standard_normal((3, 8))
    single = layer(tg.Tensor(x))
    assert single.shape == (4, 6)
    np.testing.assert_allclose(single.numpy(), layer(tg.Tensor(x[None])).numpy()[0])


@pytest.mark.parametrize("kernel, dilation", [(3, 1), (5, 2), ((3, 5), (1, 2)), (4, 2)])
def test_padding_same_keeps_the_size_and_valid_is_no_padding(kernel, dilation):
    rng = np.random.default_rng(21)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    x, w = leaf(rng.standard_normal((2, 3, 11, 12))), leaf(rng.standard_normal((4, 3, kh, kw)))
    same = F.conv2d(x, w, padding="same", dilation=dilation)
    assert same.shape == (2, 4, 11, 12)
    explicit = F.conv2d(x, w, padding=(dh * (kh - 1) // 2, dw * (kw - 1) // 2),
                        dilation=dilation)
    np.testing.assert_array_equal(same.numpy(), explicit.numpy())
    np.testing.assert_array_equal(F.conv2d(x, w, padding="valid", dilation=dilation).numpy(),
                                  F.conv2d(x, w, dilation=dilation).numpy())
    assert tg.gradcheck(lambda x, w: F.conv2d(x, w, padding="same", dilation=dilation), [x, w])


def test_padding_same_errors_and_repr():
    assert repr(nn.Conv2d(3, 4, 3, padding="same")).startswith(
        "Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=same)")
    assert nn.Conv1d(2, 2, 3, padding="same")(tg.zeros(1, 2, 9)).shape == (1, 2, 9)
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        nn.Conv2d(3, 4, 3, padding="same", stride=2)
    with pytest.raises(ValueError, match="cannot be split evenly"):
        nn.Conv2d(3, 4, 2, padding="same")
    with pytest.raises(ValueError, match="'valid' or 'same', got 'full'"):
        F.conv2d(tg.zeros(1, 3, 5, 5), tg.zeros(4, 3, 3, 3), padding="full")


def test_avg_pool_without_the_padding_in_the_count():
    # a 3x3 window at the corner of a padded 4x4 input holds 4 real elements: their mean
    x = leaf(np.arange(16.0).reshape(1, 1, 4, 4))
    out = F.avg_pool2d(x, 3, stride=3, padding=1, count_include_pad=False)
    np.testing.assert_allclose(out.numpy()[0, 0, 0, 0], np.mean([0.0, 1.0, 4.0, 5.0]))
    np.testing.assert_allclose(F.avg_pool2d(x, 3, stride=3, padding=1).numpy()[0, 0, 0, 0],
                               (0 + 1 + 4 + 5) / 9)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[0, 0, 0, 0], 1 / 4)
    pool = lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)  # noqa: E731
    y = leaf(np.random.default_rng(22).standard_normal((2, 2, 5, 6)))
    assert tg.gradcheck(pool, [y]) and tg.gradgradcheck(pool, [y])
    assert repr(nn.AvgPool2d(3, 1, 1, count_include_pad=False)).startswith(
        "AvgPool2d(kernel_size=3, stride=1, padding=1, count_include_pad=False)")

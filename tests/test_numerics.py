"""Numerical computing: stable formulas at extreme values, and why gradient checks use
float64."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

F = tg.nn.functional


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_softmax_and_log_softmax_are_exact_at_plus_minus_1e4(dtype):
    values = np.array([1e4, -1e4, 0.0, 1e4 - 1], dtype=dtype)
    top = np.log1p(np.exp(-1.0))  # logsumexp = 1e4 + log(1 + e^-1): the rest underflow
    p = np.array([1, 0, 0, np.exp(-1.0)]) / (1 + np.exp(-1.0))

    x = tg.Tensor(values, requires_grad=True)
    lse = x.logsumexp()
    lse.backward()
    assert np.isfinite(lse.item()) and lse.item() == pytest.approx(1e4 + top, rel=1e-7)
    np.testing.assert_allclose(x.grad.numpy(), p, atol=1e-6)  # d logsumexp = softmax

    x.grad = None
    np.testing.assert_allclose(x.softmax().numpy(), p, atol=1e-6)
    log_p = x.log_softmax()
    assert np.isfinite(log_p.numpy()[[0, 2, 3]]).all()
    assert log_p.numpy()[1] == pytest.approx(-2e4 - top, rel=1e-6)
    log_p[1].backward()
    expected = -p.copy()
    expected[1] += 1  # d log p_1 / dx = onehot_1 - softmax
    np.testing.assert_allclose(x.grad.numpy(), expected, atol=1e-6)


def test_losses_stay_finite_at_extreme_logits():
    logits = tg.Tensor(np.array([[1e4, -1e4, 0.0]]), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([1]))  # the true class has logit -1e4
    loss.backward()
    assert loss.item() == pytest.approx(2e4)
    np.testing.assert_allclose(logits.grad.numpy(), [[1.0, -1.0, 0.0]], atol=1e-12)

    z = tg.Tensor(np.array([1e4, -1e4]), requires_grad=True)
    bce = F.binary_cross_entropy_with_logits(z, np.array([0.0, 1.0]), reduction="sum")
    bce.backward()
    assert bce.item() == pytest.approx(2e4)
    np.testing.assert_allclose(z.grad.numpy(), [1.0, -1.0])


def test_the_naive_formulas_fail_where_the_stable_ones_do_not():
    # the reason for the max shift: e^1e4 is inf in float64, and inf / inf is NaN
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp([1e4, 0.0]) / np.exp([1e4, 0.0]).sum()
    assert np.isnan(naive).any()
    assert np.isfinite(tg.Tensor([1e4, 0.0], dtype=np.float64).softmax().numpy()).all()


def central_difference(f, x, h, dtype):
    x, h = np.asarray(x, dtype=dtype), np.asarray(h, dtype=dtype)
    return float((f(x + h) - f(x - h)) / (2 * h))


@pytest.mark.parametrize("h", [1e-3, 1e-4, 1e-5])
def test_float32_finite_differences_lose_digits_that_float64_keeps(h):
    # f(x + h) - f(x - h) cancels all but a few digits: about 7 - log10(1/h) are left
    # in float32, 16 - log10(1/h) in float64
    exact = np.cos(1.0)
    err32 = abs(central_difference(np.sin, 1.0, h, np.float32) - exact)
    err64 = abs(central_difference(np.sin, 1.0, h, np.float64) - exact)
    assert err32 > 1e-5          # float32: worse than gradcheck's tolerance allows
    assert err64 < 1e-6          # float64: far inside it
    assert err32 > 100 * err64


def test_gradcheck_converts_float32_inputs_to_float64_and_says_so():
    x = tg.Tensor(np.array([0.3, -1.2], dtype=np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        report = tg.gradcheck(lambda x: (x.sin() * x).sum(), [x])
    assert report


def test_the_gradient_of_a_quotient_of_tiny_numbers_is_finite():
    # d(a/b)/db = -a/b^2 = -1e170 here; b*b = 1e-340 would underflow to 0 and give -inf
    a = tg.Tensor(np.float64(1e-170), requires_grad=True)
    b = tg.Tensor(np.float64(1e-170), requires_grad=True)
    (a / b).backward()
    np.testing.assert_allclose([a.grad.item(), b.grad.item()], [1e170, -1e170])

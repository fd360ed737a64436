"""tg.detect_anomaly() over the math ops: linalg, stats, integrate, special functions and
the distributions' log_prob.

For each op there is a forward case (the op itself turns finite inputs into NaN/Inf, or,
where it cannot, passes on a NaN it was given) and, where one exists, a backward case
(finite forward values, a backward that returns NaN/Inf). Each asserts that the error
names the op and points at this file, and that the same computation without
detect_anomaly runs without raising (so that the checks can fail).

Most ops overflow only with extreme inputs (1e200, 1e-310): those are what the inputs
below are. Where a backward cannot overflow for finite inputs and a finite upstream
gradient (trace, nuclear and spectral norms, eigenvalues, cov, trapezoid: their
gradients are bounded by their inputs or are constants), there is no backward case.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import distributions as D
from tinygrad_edu import integrate, linalg, stats
from tinygrad_edu.distributions import special

THIS_FILE = "test_anomaly_math.py"
ALREADY = "inputs already held NaN/Inf"


def t(values, requires_grad=False):
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=requires_grad)


def created_here(message: str) -> bool:
    return THIS_FILE in message.split("created at", 1)[1]


def forward_message(compute) -> str:
    """The FloatingPointError message of `compute()` inside detect_anomaly; without it,
    `compute()` must run and give a non-finite result."""
    with np.errstate(all="ignore"):
        result = compute()
    assert not np.isfinite(result.data).all()
    with tg.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        compute()
    message = str(info.value)
    assert created_here(message), message
    return message


def backward_message(loss_fn, *leaves: tg.Tensor) -> str:
    """The FloatingPointError message of loss_fn(*leaves).backward() inside detect_anomaly,
    where the forward pass is finite; without it, backward runs and some gradient is not
    finite."""
    with np.errstate(all="ignore"):
        loss = loss_fn(*leaves)
        assert np.isfinite(loss.data).all()
        loss.backward()
    assert not all(np.isfinite(x.grad.data).all() for x in leaves)
    for x in leaves:
        x.grad = None
    with tg.detect_anomaly():
        loss = loss_fn(*leaves)  # the forward pass is finite: no error here
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    message = str(info.value)
    assert created_here(message), message
    return message


def assert_forward(message: str, op: str, already: bool = False) -> None:
    assert message.startswith(f"detect_anomaly: {op} produced NaN/Inf"), message
    assert (ALREADY in message) == already, message


def assert_backward(message: str, op: str) -> None:
    assert message.startswith(f"detect_anomaly: the backward of {op} returned NaN/Inf"), message


# ---------------------------------------------------------------------------------------
# linalg: Function subclasses
# ---------------------------------------------------------------------------------------


def test_trace_forward_overflow():
    a = t([[1e308, 0.0], [0.0, 1e308]])
    assert_forward(forward_message(lambda: linalg.trace(a)), "Trace")


def test_inv_forward_overflow():
    # the pivot 1e-310 is not 0, so LAPACK inverts it: 1 / 1e-310 overflows
    a = t([[1e-310, 0.0], [0.0, 1.0]])
    assert_forward(forward_message(lambda: linalg.inv(a)), "Inv")


def test_inv_backward_overflow():
    # A^-1 = diag(1e200, 1) is finite; dL/dA = -A^-T G A^-T holds 1e400
    a = t([[1e-200, 0.0], [0.0, 1.0]], requires_grad=True)
    assert_backward(backward_message(lambda x: linalg.inv(x).sum(), a), "Inv")


def test_inv_of_a_singular_matrix_raises_value_error_instead():
    with tg.detect_anomaly(), pytest.raises(ValueError, match=r"^inv: .* is singular"):
        linalg.inv(t([[1.0, 2.0], [2.0, 4.0]]))


def test_det_forward_overflow():
    a = t([[1e200, 0.0], [0.0, 1e200]])
    assert_forward(forward_message(lambda: linalg.det(a)), "Det")


def test_det_backward_of_a_nearly_singular_matrix_raises_value_error_instead():
    # det = 8.9e-16 is finite, but the condition number (~3e16) is above 1/eps: Det's
    # backward refuses (ValueError) rather than return an inaccurate or infinite gradient
    a = t([[1.0, 2.0], [2.0, 4.0 + 1e-15]], requires_grad=True)
    with tg.detect_anomaly():
        d = linalg.det(a)
        assert np.isfinite(d.item()) and d.item() != 0
        with pytest.raises(ValueError, match=r"^det \(backward\): .* is singular"):
            d.backward()


def test_logabsdet_forward_passes_on_a_nan():
    # slogdet of a finite matrix is finite (a singular one raises), so only a NaN in A
    # makes it NaN
    a = t([[np.nan, 0.0], [0.0, 1.0]])
    assert_forward(forward_message(lambda: linalg.slogdet(a)[1]), "LogAbsDet", already=True)


def test_logabsdet_backward_overflow():
    # log|det A| = log(1e-310) = -713.8 is finite; its gradient A^-T holds 1e310
    a = t([[1e-310, 0.0], [0.0, 1.0]], requires_grad=True)
    assert_backward(backward_message(lambda x: linalg.slogdet(x)[1], a), "LogAbsDet")


def test_slogdet_of_a_singular_matrix_raises_value_error_instead():
    with tg.detect_anomaly(), pytest.raises(ValueError, match=r"^slogdet: .* is singular"):
        linalg.slogdet(t([[1.0, 2.0], [2.0, 4.0]]))


def test_solve_forward_overflow():
    a, b = t([[1e-200, 0.0], [0.0, 1.0]]), t([1e200, 1.0])
    assert_forward(forward_message(lambda: linalg.solve(a, b)), "Solve")


def test_solve_backward_overflow():
    # x = (1e200, 1) is finite; dL/dA = -(A^-T G) x^T holds 1e400
    a = t([[1e-200, 0.0], [0.0, 1.0]], requires_grad=True)
    b = t([1.0, 1.0], requires_grad=True)
    assert_backward(backward_message(lambda x, y: linalg.solve(x, y).sum(), a, b), "Solve")


def test_nuclear_norm_forward_overflow():
    a = t([[1e308, 0.0], [0.0, 1e308]])
    assert_forward(forward_message(lambda: linalg.norm(a, "nuc")), "NuclearNorm")


def test_spectral_norm_forward_overflow():
    a = t(np.full((2, 2), 1e308))  # largest singular value 2e308
    assert_forward(forward_message(lambda: linalg.norm(a, 2)), "SpectralNorm")


def test_cholesky_of_a_nan_raises_value_error_naming_the_op():
    # L of a finite positive definite A is bounded by sqrt(max A_ii): only a NaN could make
    # NaN, and cholesky refuses a NaN input before it runs (its symmetry check would
    # otherwise let a NaN in the upper triangle through unseen)
    a = t([[4.0, np.nan], [0.0, 1.0]])
    for context in (tg.detect_anomaly(), contextlib.nullcontext()):
        with context, pytest.raises(ValueError, match=r"^cholesky: .* holds NaN or inf"):
            linalg.cholesky(a)


def test_cholesky_of_a_matrix_that_is_not_positive_definite_raises_value_error_instead():
    with tg.detect_anomaly(), pytest.raises(ValueError, match=r"not positive definite"):
        linalg.cholesky(t([[-1.0, 2.0], [2.0, -1.0]]))


def test_cholesky_backward_overflow():
    # L = diag(1e-10, 1); the loss is at most 1e300, but dL11/dA11 = 1 / (2 L11) = 5e9
    # times the upstream 1e300 overflows
    a = t([[1e-20, 0.0], [0.0, 1.0]], requires_grad=True)
    assert_backward(backward_message(lambda x: (linalg.cholesky(x) * 1e300).sum(), a),
                    "Cholesky")


def test_eigh_values_forward_overflow():
    a = t(np.full((2, 2), 1e308))  # eigenvalues 0 and 2e308
    assert_forward(forward_message(lambda: linalg.eigh(a)[0]), "EighValues")


def test_eigh_of_a_nan_raises_value_error_naming_the_op():
    # eigenvectors are unit vectors, finite for any finite A; a NaN in A gives NaN ones
    a = t([[np.nan, 1.0], [1.0, 1.0]])
    with tg.detect_anomaly(), pytest.raises(ValueError, match=r"^eigh: .* holds NaN or inf"):
        linalg.eigh(a)


def test_eigh_vectors_backward_at_a_repeated_eigenvalue():
    # A = I: the eigenvalue 1 is repeated, F_ij = 1 / (w_j - w_i) = 1 / 0
    a = t(np.eye(2), requires_grad=True)
    weights = t([[1.0, 2.0], [3.0, 4.0]])
    assert_backward(backward_message(lambda x: (linalg.eigh(x)[1] ** 2 * weights).sum(), a),
                    "EighVectors")


# ---------------------------------------------------------------------------------------
# linalg: norms built from Tensor ops (the op named is the Tensor op that failed)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ord, axis, values, op", [
    (None, None, [1e200, 1.0], "Mul"),             # x * x overflows
    (2, None, [1e200, 1.0], "Mul"),
    (1, None, [1e308, 1e308], "Sum"),              # sum |x| overflows
    (3, None, [1e150, 1.0], "Pow"),                # |x|^3 overflows
    ("fro", None, [[1e200, 0.0], [0.0, 1.0]], "Mul"),
    (1, None, [[1e308, 0.0], [1e308, 0.0]], "Sum"),       # a column's sum overflows
    (np.inf, None, [[1e308, 1e308], [0.0, 0.0]], "Sum"),  # a row's sum overflows
], ids=["default", "2", "1", "3", "fro", "matrix-1", "matrix-inf"])
def test_norm_forward_overflow(ord, axis, values, op):
    x = t(values)
    assert_forward(forward_message(lambda: linalg.norm(x, ord, axis)), op)


def test_max_norm_forward_passes_on_a_nan():
    # max |x| cannot overflow; a NaN goes through abs first
    x = t([np.nan, 1.0])
    assert_forward(forward_message(lambda: linalg.norm(x, np.inf)), "Abs", already=True)


@pytest.mark.parametrize("ord, shape", [(None, (3,)), (2, (3,)), ("fro", (2, 2)), (3, (3,))])
def test_norm_backward_at_zero_is_the_subgradient_zero(ord, shape):
    # x / |x| at x = 0 would be 0/0: the root's slope is taken as 0 there, as PyTorch's
    x = t(np.zeros(shape), requires_grad=True)
    with np.errstate(all="raise"), tg.detect_anomaly():
        linalg.norm(x, ord).backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(shape))


# ---------------------------------------------------------------------------------------
# stats, integrate
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [stats.var, stats.std], ids=["var", "std"])
def test_var_and_std_forward_overflow(fn):
    x = t([1e200, -1e200])  # the mean is 0; the squared deviations overflow
    assert_forward(forward_message(lambda: fn(x)), "Mul")


def test_std_backward_of_constant_data_is_zero():
    # std = sqrt(0) = 0, where 1 / (2 std) is 1 / 0: the slope is taken as 0, as PyTorch's
    x = t([2.0, 2.0, 2.0], requires_grad=True)
    with np.errstate(all="raise"), tg.detect_anomaly():
        stats.std(x).backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(3))


def test_cov_forward_overflow():
    x = t([[1e200, -1e200], [1.0, 2.0]])
    assert_forward(forward_message(lambda: stats.cov(x)), "MatMul")


def test_corrcoef_forward_of_a_constant_variable():
    # a constant row has standard deviation 0: its correlations are 0 / 0
    x = t([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])
    assert_forward(forward_message(lambda: stats.corrcoef(x)), "Div")


def test_corrcoef_backward_overflow():
    # the first variable varies by 1e-160: R is finite (|R| <= 1, so the loss is at most
    # 4e200), but dR01/dC01 = 1 / (s0 s1) ~ 1e160 times the upstream 1e200 overflows
    x = t([[0.0, 1e-160, 3e-160], [1.0, 2.0, 4.0]], requires_grad=True)
    assert_backward(backward_message(lambda v: (stats.corrcoef(v) * 1e200).sum(), x), "Div")


def test_trapezoid_forward_overflow():
    y = t([1e308, 1e308])  # (y[0] + y[1]) / 2 overflows in the sum
    assert_forward(forward_message(lambda: integrate.trapezoid(y)), "Add")


def test_trapezoid_forward_overflow_in_the_sample_points():
    y, x = t([1.0, 1.0]), t([-1e308, 1e308])  # the width x[1] - x[0] overflows
    assert_forward(forward_message(lambda: integrate.trapezoid(y, x)), "Sub")


# ---------------------------------------------------------------------------------------
# special functions
# ---------------------------------------------------------------------------------------


def test_lgamma_forward_passes_on_a_nan():
    # lgamma maps math.lgamma, which raises at its poles and on overflow rather than
    # returning inf: only a NaN (or inf) input gives a non-finite value
    x = t([np.nan, 2.0])
    assert_forward(forward_message(lambda: special.lgamma(x)), "Lgamma", already=True)


def test_lgamma_backward_overflow_next_to_the_pole():
    # lgamma(1e-310) = 713.8; its derivative digamma(1e-310) ~ -1e310
    x = t([1e-310], requires_grad=True)
    assert_backward(backward_message(lambda v: special.lgamma(v).sum(), x), "Lgamma")


def test_digamma_forward_at_the_pole():
    x = t([0.0, 1.0])
    assert_forward(forward_message(lambda: special.digamma(x)), "Digamma")


def test_digamma_backward_overflow():
    # digamma(1e-5) ~ -1e5, times 1e300 is finite; trigamma(1e-5) ~ 1e10 times 1e300 is not
    x = t([1e-5], requires_grad=True)
    assert_backward(backward_message(lambda v: (special.digamma(v) * 1e300).sum(), x),
                    "Digamma")


def test_trigamma_forward_at_the_pole():
    x = t([0.0, 1.0])
    assert_forward(forward_message(lambda: special.trigamma(x)), "Trigamma")


def test_trigamma_backward_is_not_implemented():
    # nothing to check for NaN: trigamma's backward raises
    x = t([1.5], requires_grad=True)
    with tg.detect_anomaly():
        y = special.trigamma(x).sum()
        with pytest.raises(NotImplementedError, match="trigamma"):
            y.backward()


# ---------------------------------------------------------------------------------------
# distributions: log_prob
# ---------------------------------------------------------------------------------------


def test_normal_log_prob_forward_overflow():
    dist = D.Normal(t(0.0), t(1.0))
    assert_forward(forward_message(lambda: dist.log_prob(t(1e200))), "Mul")  # z * z


def test_normal_log_prob_backward_overflow():
    # z = 1e50 / 1e-100 = 1e150, z^2 = 1e300 is finite; d/dscale = z^2 / scale = 1e400
    scale = t(1e-100, requires_grad=True)
    assert_backward(backward_message(lambda s: D.Normal(t(0.0), s).log_prob(t(1e50)), scale),
                    "Div")


def test_uniform_log_prob_forward_overflow():
    with np.errstate(over="ignore"):  # the constructor's check computes the width too
        dist = D.Uniform(t(-1e308), t(1e308))  # the width high - low overflows
    assert_forward(forward_message(lambda: dist.log_prob(t(0.0))), "Sub")


def test_uniform_log_prob_outside_the_support_is_flagged():
    # -inf is the right value outside [low, high), but it is an Inf: detect_anomaly names
    # the where() that picks it
    dist = D.Uniform(t(0.0), t(1.0))
    assert_forward(forward_message(lambda: dist.log_prob(t(2.0))), "Where")


def test_uniform_log_prob_backward_overflow():
    # -log(high - low) = 713.8; its derivative -1 / (high - low) = -1e310
    high = t(1e-310, requires_grad=True)
    assert_backward(backward_message(lambda h: D.Uniform(t(0.0), h).log_prob(t(0.0)), high),
                    "Log")


def test_gamma_log_prob_forward_overflow():
    dist = D.Gamma(t(2.0), t(1e200))
    assert_forward(forward_message(lambda: dist.log_prob(t(1e200))), "Mul")  # rate * x


def test_gamma_log_prob_backward_overflow():
    # lgamma(1e-310) is finite, its derivative digamma(1e-310) ~ -1e310 is not
    alpha = t(1e-310, requires_grad=True)
    assert_backward(backward_message(lambda a: D.Gamma(a, t(1.0)).log_prob(t(1.0)), alpha),
                    "Lgamma")


def test_bernoulli_log_prob_forward_passes_on_a_nan():
    # y l - softplus(l) is at most |l| in size, and its gradient is bounded: only a NaN
    # logit makes it non-finite (and no backward case exists)
    with np.errstate(all="ignore"):
        dist = D.Bernoulli(logits=t(np.nan))
    assert_forward(forward_message(lambda: dist.log_prob(t(1.0))), "Mul", already=True)


def test_categorical_log_prob_forward_passes_on_a_nan():
    # log_prob picks one log-probability (finite) out of log_softmax: only a NaN logit
    # makes it non-finite (and no backward case exists)
    with np.errstate(all="ignore"):
        dist = D.Categorical(logits=t([np.nan, 0.0]))
    assert_forward(forward_message(lambda: dist.log_prob(0)), "Where", already=True)


def test_poisson_log_prob_forward_overflow():
    # k ln(rate) = -1.38e308 and ln(k!) = 1.41e308 are finite; their difference is not
    dist = D.Poisson(t(1e-300))
    assert_forward(forward_message(lambda: dist.log_prob(t(2e305))), "Sub")


def test_poisson_log_prob_backward_overflow():
    # ln p(1) = ln(1e-310) - 1e-310 is finite; d/drate = 1 / rate - 1 = 1e310
    rate = t(1e-310, requires_grad=True)
    assert_backward(backward_message(lambda r: D.Poisson(r).log_prob(t(1.0)), rate), "Log")

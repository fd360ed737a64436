"""The checker checked: gradcheck must fail on wrong derivatives and pass on right ones.

A gradient checker that always says "passed" would make every op test worthless. So each
custom Function below comes in two versions, one with a deliberately wrong backward
(twice the derivative, the sign flipped, a missing broadcast reduction, a transposed
matmul gradient, zero) and one correct, and both finite-difference methods must tell
them apart. gradgradcheck gets the same treatment with a backward that is right but
cannot be differentiated again.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.gradcheck import METHODS, GradcheckError

# ---------------------------------------------------------------------------------------
# Functions with a correct and a wrong backward
# ---------------------------------------------------------------------------------------


class Cube(tg.Function):
    """y = x^3; the wrong backward returns twice the derivative."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data ** 3

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 3 x^2
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x * x


class CubeTimesTwo(Cube):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 6 * x * x  # wrong: 2 * 3x^2


class Sine(tg.Function):
    """y = sin(x); the wrong backward flips the sign of the derivative."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = cos(x)
        (x,) = ctx.saved_tensors
        return grad_output * x.cos()


class SineSignFlipped(Sine):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return -grad_output * x.cos()  # wrong: -cos(x)


class BroadcastAdd(tg.Function):
    """z = x + y, y broadcast along x's leading axis; the wrong backward returns y the
    unreduced gradient, one row per copy of y."""

    @staticmethod
    def forward(ctx, x, y):
        return x.data + y.data

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = 1; dz/dy = 1 for every copy of y, so the copies' gradients add up
        x, y = ctx.inputs
        return grad_output, tg.ops.unbroadcast(grad_output, y.shape)


class BroadcastAddUnreduced(BroadcastAdd):
    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output  # wrong: y's gradient is not summed to y's shape


class MatMul(tg.Function):
    """z = x @ y for square matrices; the wrong backward transposes x's gradient (square,
    so that the shape alone cannot give it away)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x.data @ y.data

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dx = dL/dz @ y^T, dL/dy = x^T @ dL/dz
        x, y = ctx.saved_tensors
        return grad_output @ y.T, x.T @ grad_output


class MatMulTransposed(MatMul):
    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return (grad_output @ y.T).T, x.T @ grad_output  # wrong: x's gradient transposed


class Exp(tg.Function):
    """y = e^x; the wrong backward returns a zero gradient."""

    @staticmethod
    def forward(ctx, x):
        return ctx.save_output(np.exp(x.data))

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = e^x = y
        return grad_output * ctx.output


class ExpZeroGradient(Exp):
    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * 0.0  # wrong: no gradient at all


RNG = np.random.default_rng(7)
X = RNG.uniform(0.5, 1.5, (2, 3))  # positive and away from 0: every wrong gradient shows
SQUARE = [RNG.uniform(-1.0, 1.0, (3, 3)), RNG.uniform(-1.0, 1.0, (3, 3))]


def leaves(*arrays):
    return [tg.Tensor(a, requires_grad=True) for a in arrays]


# (name, correct f, wrong f, inputs, closed-form analytic and numeric values of the wrong
# version at the first wrong element, or None where the error is not a number)
CASES = {
    "times two": (Cube.apply, CubeTimesTwo.apply, (X,), (6 * X ** 2, 3 * X ** 2)),
    "sign flipped": (Sine.apply, SineSignFlipped.apply, (X,), (-np.cos(X), np.cos(X))),
    "missing broadcast reduction": (BroadcastAdd.apply, BroadcastAddUnreduced.apply,
                                    (X, X[0]), None),
    "transposed matmul gradient": (MatMul.apply, MatMulTransposed.apply, SQUARE, "numbers"),
    "zero gradient": (Exp.apply, ExpZeroGradient.apply, (X,), (0 * X, np.exp(X))),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", METHODS)
def test_wrong_backward_fails(case, method):
    _, wrong, arrays, _ = CASES[case]
    report = tg.gradcheck(wrong, leaves(*arrays), method=method, verbose=False)
    assert not report
    assert report.passed is False
    assert "FAILED" in str(report)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", METHODS)
def test_correct_backward_passes(case, method):
    right, _, arrays, _ = CASES[case]
    report = tg.gradcheck(right, leaves(*arrays), method=method, verbose=False)
    assert report, str(report)
    assert all(item.passed for item in report.inputs)
    assert len(report.inputs) == len(arrays)


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][3] is not None])
@pytest.mark.parametrize("method", METHODS)
def test_raise_exception_shows_analytic_and_numeric_values(case, method):
    _, wrong, arrays, expected = CASES[case]
    report = tg.gradcheck(wrong, leaves(*arrays), method=method, verbose=False)
    with pytest.raises(GradcheckError) as caught:
        tg.gradcheck(wrong, leaves(*arrays), method=method, raise_exception=True)
    message = str(caught.value)
    bad = [item for item in report.inputs if not item.passed]
    assert bad
    for item in bad:
        for _, _, analytic, numeric, abs_err, _ in item.worst:
            assert f"{analytic:.6g}" in message and f"{numeric:.6g}" in message
            assert abs_err > 1e-3
    if not isinstance(expected, tuple):
        return
    # elementwise ops: the worst element's numbers are the closed forms at that element
    out_idx, in_idx, analytic, numeric, _, _ = bad[0].worst[0]
    want_analytic, want_numeric = (np.asarray(v)[in_idx] for v in expected)
    np.testing.assert_allclose(analytic, want_analytic, rtol=1e-12)
    np.testing.assert_allclose(numeric, want_numeric, rtol=1e-6)
    assert out_idx == int(np.ravel_multi_index(in_idx, X.shape))


@pytest.mark.parametrize("method", METHODS)
def test_missing_broadcast_reduction_reports_the_shape_error(method):
    """The engine refuses a gradient of the wrong shape; gradcheck reports that error."""
    x, y = leaves(X, X[0])
    report = tg.gradcheck(BroadcastAddUnreduced.apply, [x, y], method=method, verbose=False)
    assert not report
    assert "BroadcastAddUnreduced" in report.error and "(2, 3)" in report.error
    with pytest.raises(GradcheckError, match=r"shape \(2, 3\) for input 1.*shape \(3,\)"):
        tg.gradcheck(BroadcastAddUnreduced.apply, [x, y], method=method, raise_exception=True)


def test_transposed_gradient_fails_only_for_its_input():
    report = tg.gradcheck(MatMulTransposed.apply, leaves(*SQUARE), verbose=False)
    assert [item.passed for item in report.inputs] == [False, True]
    item = report.inputs[0]
    # the analytic Jacobian row for output (i, j) is the numeric one transposed
    np.testing.assert_allclose(item.numeric, item.analytic.reshape(3, 3, 3, 3)
                               .transpose(0, 1, 3, 2).reshape(9, 9), atol=1e-8)


def test_wrong_version_is_wrong_by_the_expected_factor():
    """Twice the derivative: the analytic Jacobian is 2x the numeric one, everywhere."""
    report = tg.gradcheck(CubeTimesTwo.apply, leaves(X), verbose=False)
    item = report.inputs[0]
    np.testing.assert_allclose(item.analytic, 2 * item.numeric, rtol=1e-6)
    np.testing.assert_allclose(np.diag(item.numeric), 3 * X.ravel() ** 2, rtol=1e-8)


def test_verbose_prints_the_report_on_failure(capsys):
    tg.gradcheck(CubeTimesTwo.apply, leaves(X))
    assert "gradcheck FAILED" in capsys.readouterr().out
    tg.gradcheck(Cube.apply, leaves(X))
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------


class OneWrongElement(tg.Function):
    """z = x * y, except that the gradient of x is off by 1 at element (1, 2)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x.data * y.data

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        bump = np.zeros(x.shape)
        bump[1, 2] = 1.0
        return grad_output * (y + bump), grad_output * x


def test_report_lists_the_worst_elements_per_input():
    x, y = leaves(X, X + 1)
    x.name = "weights"
    report = tg.gradcheck(OneWrongElement.apply, [x, y], verbose=False)
    assert not report
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("gradcheck FAILED (method=central")
    header = "  input 0 'weights' (2, 3): analytic and numeric"
    assert any(line.startswith(header) for line in lines)
    assert "  input 1 (2, 3): ok" in lines
    # the one wrong element: output 5 (= (1, 2) flattened) against input element (1, 2),
    # analytic y + 1 against numeric y
    worst = report.inputs[0].worst
    assert worst[0][:2] == (5, (1, 2))
    analytic, numeric = X[1, 2] + 2, X[1, 2] + 1
    np.testing.assert_allclose(worst[0][2:4], [analytic, numeric], rtol=1e-7)
    rows = [line.split() for line in lines if "(1, 2)" in line]
    assert len(rows) == 1
    assert rows[0][:5] == ["5", "(1,", "2)", f"{analytic:.6g}", f"{numeric:.6g}"]
    assert repr(report) == text


def test_report_of_a_pass_says_so_per_input():
    report = tg.gradcheck(lambda a, b: a * b, leaves(X, X), verbose=False)
    assert report
    assert str(report).splitlines() == [
        "gradcheck passed (method=central, eps=1e-06, atol=1e-05, rtol=0.001)",
        "  input 0 (2, 3): ok",
        "  input 1 (2, 3): ok",
    ]


# ---------------------------------------------------------------------------------------
# inputs and outputs gradcheck accepts
# ---------------------------------------------------------------------------------------


def test_float32_inputs_warn_and_still_work():
    x = tg.Tensor(X.astype(np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float32"):
        report = tg.gradcheck(lambda t: (t * t).sin(), [x], verbose=False)
    assert report, str(report)
    with pytest.warns(UserWarning, match="float32"):
        assert not tg.gradcheck(CubeTimesTwo.apply, [x], verbose=False)
    assert x.dtype == np.float32 and x.grad is None  # the input itself is left alone


def test_function_returning_a_tuple():
    def two_outputs(a, b):
        return a * b, (a + b).sin().sum(axis=0)

    x, y = leaves(X, X[::-1] + 0.1)
    for method in METHODS:
        report = tg.gradcheck(two_outputs, [x, y], method=method, verbose=False)
        assert report, str(report)
        # the Jacobian stacks both outputs' elements: 6 + 3 rows
        assert report.inputs[0].analytic.shape == (9, 6)
        assert not tg.gradcheck(lambda a, b: (a * b, CubeTimesTwo.apply(b)), [x, y],
                                method=method, verbose=False)


def test_constants_pass_through_unchecked():
    x = tg.Tensor(X, requires_grad=True)
    scale = tg.Tensor(np.full((2, 3), 3.0))  # no requires_grad: a constant
    report = tg.gradcheck(lambda t, s, k: t * s * k, [x, scale, 2.0], verbose=False)
    assert report and [item.index for item in report.inputs] == [0]
    np.testing.assert_allclose(report.inputs[0].analytic, 6.0 * np.eye(6))


def test_ndarray_inputs_are_checked():
    report = tg.gradcheck(lambda t: t.exp(), [X.copy()], verbose=False)
    assert report and report.inputs[0].shape == (2, 3)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="method"):
        tg.gradcheck(Cube.apply, leaves(X), method="forward")
    with pytest.raises(ValueError, match="no input to check"):
        tg.gradcheck(lambda t: t, [tg.Tensor(X)])
    with pytest.raises(TypeError, match="must return a Tensor"):
        tg.gradcheck(lambda t: t.data, leaves(X), verbose=False)


def test_both_methods_agree_on_a_smooth_function():
    def f(a, b):
        return ((0.3 * a.sin() * b.exp()).tanh() * a) @ b.T.sigmoid()  # (2, 2)

    a, b = leaves(X, X[::-1] - 0.3)
    central = tg.gradcheck(f, [a, b], method="central", verbose=False)
    gradient = tg.gradcheck(f, [a, b], method="np.gradient", verbose=False)
    assert central and gradient
    for c, g in zip(central.inputs, gradient.inputs):
        np.testing.assert_array_equal(c.analytic, g.analytic)
        np.testing.assert_allclose(c.numeric, g.numeric, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(c.numeric, c.analytic, rtol=1e-6, atol=1e-9)
        assert np.abs(c.numeric).max() > 0.1  # the comparison is not between zeros


def test_tolerances_are_used():
    """A 0.5% error passes a 1% rtol and fails the 0.1% default."""

    class Slightly(Cube):
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3.015 * x * x

    assert not tg.gradcheck(Slightly.apply, leaves(X), verbose=False)
    assert tg.gradcheck(Slightly.apply, leaves(X), rtol=1e-2, verbose=False)


# ---------------------------------------------------------------------------------------
# gradgradcheck
# ---------------------------------------------------------------------------------------


class Square(tg.Function):
    """y = x^2, with backward written in Tensor ops, so it can be differentiated again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data ** 2

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 2x
        (x,) = ctx.saved_tensors
        return grad_output * 2 * x


class SquareDetached(Square):
    """The first derivative is right, but x.detach() cuts it off from the graph: the second
    derivative through it comes out 0 instead of 2."""

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 2 * x.detach()


class SquareFromArrays(Square):
    """The same mistake made with NumPy: x.data is a plain array, a constant to the graph."""

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (2 * x.data)


@pytest.mark.parametrize("wrong", [SquareDetached, SquareFromArrays])
@pytest.mark.parametrize("method", METHODS)
def test_gradgradcheck_catches_a_backward_that_is_not_differentiable(wrong, method):
    assert tg.gradcheck(wrong.apply, leaves(X), method=method, verbose=False)  # 1st: right
    v = np.arange(1.0, 7.0).reshape(2, 3)
    report = tg.gradgradcheck(wrong.apply, leaves(X), grad_outputs=v, method=method,
                              verbose=False)
    assert not report
    item = report.inputs[0]
    # d/dx of v * 2x is 2v on the diagonal; the broken backward gives 0
    np.testing.assert_allclose(item.numeric, np.diag(2 * v.ravel()), atol=1e-8)
    np.testing.assert_array_equal(item.analytic, np.zeros((6, 6)))
    with pytest.raises(GradcheckError):
        tg.gradgradcheck(wrong.apply, leaves(X), method=method, raise_exception=True)


@pytest.mark.parametrize("method", METHODS)
def test_gradgradcheck_passes_the_correct_backward(method):
    v = np.arange(1.0, 7.0).reshape(2, 3)
    report = tg.gradgradcheck(Square.apply, leaves(X), grad_outputs=v, method=method,
                              verbose=False)
    assert report, str(report)
    np.testing.assert_allclose(report.inputs[0].analytic, np.diag(2 * v.ravel()))


def test_gradgradcheck_catches_a_wrong_second_derivative_of_a_right_first():
    """Sine's backward uses x.cos(), so its second derivative goes through Cos's backward;
    a Cos with the sign of its derivative flipped must be caught there, and only there."""

    class BadCos(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.cos(x.data)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * x.sin()  # wrong: d cos = -sin

    class SineWithBadCos(Sine):
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * BadCos.apply(x)

    assert tg.gradcheck(SineWithBadCos.apply, leaves(X), verbose=False)
    assert not tg.gradgradcheck(SineWithBadCos.apply, leaves(X), verbose=False)
    assert tg.gradgradcheck(Sine.apply, leaves(X), verbose=False)


def test_gradgradcheck_needs_a_single_output():
    with pytest.raises(ValueError, match="single Tensor"):
        tg.gradgradcheck(lambda a: (a, a), leaves(X))


# ---------------------------------------------------------------------------------------
# hints: the usual mistakes, named
# ---------------------------------------------------------------------------------------


class CubeHalf(Cube):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 1.5 * x * x  # wrong: half of 3x^2


class CubeTimesThree(Cube):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 9 * x * x  # wrong: 3 * 3x^2


class BroadcastAddAveraged(BroadcastAdd):
    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output.mean(axis=0)  # wrong: the copies are averaged


class MatMulTransposedShape(MatMul):
    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return (grad_output @ y.T).T, x.T @ grad_output  # wrong, and of the wrong shape


class Relu(tg.Function):
    """y = max(x, 0); the wrong backward forgets the mask (slope 1 on both sides)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x.data, 0)

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1 where x > 0, else 0
        (x,) = ctx.saved_tensors
        return grad_output * (x.data > 0)


class ReluNoMask(Relu):
    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * 1.0  # wrong where x < 0


class ReluValueAsSlope(Relu):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x * (x.data > 0)  # wrong where x > 0: the value, not slope 1


class SquareInPlace(tg.Function):
    """y = (x + 1)^2, computed by adding 1 to x itself: the caller's x changes."""

    @staticmethod
    def forward(ctx, x):
        x.data += 1.0  # wrong: changes the input
        ctx.save_for_backward(x)
        return x.data ** 2

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors  # already x + 1
        return grad_output * 2 * x


class Sigmoid(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return ctx.save_output(1 / (1 + np.exp(-x.data)))

    @staticmethod
    def backward(ctx, grad_output):  # ds/dx = s (1 - s)
        s = ctx.output
        return grad_output * s * (1 - s)


class SigmoidWithoutOneMinus(Sigmoid):
    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.output  # wrong: the factor (1 - s) is missing


class Log(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x.data)

    @staticmethod
    def backward(ctx, grad_output):  # d/dx log x = 1/x
        (x,) = ctx.saved_tensors
        return grad_output / x


class LogWrongPower(Log):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / x ** 2  # wrong: the power of x is one too high


class RowMean(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x.data.mean(axis=-1)

    @staticmethod
    def backward(ctx, grad_output):  # each of the n elements: 1/n
        return grad_output.unsqueeze(-1).expand(*ctx.shape) / ctx.shape[-1]


class RowMeanWithoutOneOverN(RowMean):
    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.unsqueeze(-1).expand(*ctx.shape)  # wrong: the 1/n is missing


class Softmax(tg.Function):
    @staticmethod
    def forward(ctx, x):
        e = np.exp(x.data - x.data.max(axis=-1, keepdims=True))
        return ctx.save_output(e / e.sum(axis=-1, keepdims=True))

    @staticmethod
    def backward(ctx, grad_output):  # dy_i/dx_j = y_i (delta_ij - y_j)
        y = ctx.output
        return y * (grad_output - (grad_output * y).sum(axis=-1, keepdims=True))


class SoftmaxDiagonalOnly(Softmax):
    @staticmethod
    def backward(ctx, grad_output):
        y = ctx.output
        return grad_output * y * (1 - y)  # wrong: only the diagonal of the Jacobian


MIXED = np.linspace(-1.9, 2.1, 12).reshape(3, 4)  # both signs, none at the kink
WIDE = RNG.uniform(0.5, 1.5, (3, 4))

# (wrong f, inputs, a phrase its hint must hold)
HINT_CASES = {
    "times two": (CubeTimesTwo.apply, (X,), "2x the numeric one: is the gradient accumulated "
                  "twice"),
    "half": (CubeHalf.apply, (X,), "0.5x the numeric one: is a factor of 2 missing"),
    "times three": (CubeTimesThree.apply, (X,), "is 3x the numeric one everywhere"),
    "sign flipped": (SineSignFlipped.apply, (X,), "opposite sign"),
    "zero": (ExpZeroGradient.apply, (X,), "the gradient is not propagated: did you return "
             "None/zeros, detach, or use .data in forward?"),
    "transposed": (MatMulTransposed.apply, SQUARE, "did you forget to transpose (use x.T / "
                   "swap the matmul operands)?"),
    "averaged broadcast": (BroadcastAddAveraged.apply, (WIDE, WIDE[0]),
                           "3x as many elements as this input and the gradient is 1/3 of the "
                           "right one: if the input is broadcast in forward, sum"),
    "kink": (ReluNoMask.apply, (MIXED,), "matches where x > 0 but not where x < 0: check the "
             "branch for the other side of the kink"),
    "kink, other side": (ReluValueAsSlope.apply, (MIXED,), "matches where x < 0 but not where "
                         "x > 0"),
    "a factor of the output missing": (SigmoidWithoutOneMinus.apply, (X,),
                                       "your gradient equals the right one times 1/(1 - y) "
                                       "(y the output): the factor (1 - y) is missing"),
    "wrong power": (LogWrongPower.apply, (WIDE,), "times 1/x (x the input): the power of x "
                    "is one too high"),
    "forgotten 1/n": (RowMeanWithoutOneOverN.apply, (RNG.standard_normal((2, 5)),),
                      "5 is the size of axis 1 of this input: if the op averages over it, "
                      "is the 1/5 of the mean missing"),
    "diagonal only": (SoftmaxDiagonalOnly.apply, (X,), "only the diagonal of the Jacobian"),
}


@pytest.mark.parametrize("right", [Sigmoid, Log, RowMean, Softmax])
def test_the_right_backwards_of_the_hint_cases_pass(right):
    # the hints above are about the mistake, not the op: its right backward passes
    assert tg.gradcheck(right.apply, leaves(WIDE), verbose=False)


@pytest.mark.parametrize("case", HINT_CASES)
@pytest.mark.parametrize("method", METHODS)
def test_each_mistake_gets_its_hint(case, method):
    wrong, arrays, phrase = HINT_CASES[case]
    report = tg.gradcheck(wrong, leaves(*arrays), method=method, verbose=False)
    assert not report
    failing = [item for item in report.inputs if not item.passed]
    assert len(failing) == 1 and len(failing[0].hints) >= 1
    assert phrase in failing[0].hints[0]
    assert all(not item.hints for item in report.inputs if item.passed)
    # shown in the text, under the failing input's table
    lines = str(report).splitlines()
    hint_line = next(i for i, line in enumerate(lines) if line.startswith("    hint: "))
    end = next((i for i in range(hint_line + 1, len(lines))
                if not lines[i].startswith(" " * 8)), len(lines))  # (wrapped at 88 columns)
    assert " ".join(" ".join(lines[hint_line:end]).split()) == " ".join(
        f"hint: {failing[0].hints[0]}".split())
    label = f"  input {failing[0].index} {failing[0].shape}: analytic and numeric"
    assert lines[hint_line - 2 - len(failing[0].worst)].startswith(label)


def test_one_mistake_gets_one_hint():
    """Hints are exclusive: a sign error is not also called a kink or a factor."""
    for case in ("times two", "sign flipped", "zero", "transposed", "kink"):
        wrong, arrays, _ = HINT_CASES[case]
        report = tg.gradcheck(wrong, leaves(*arrays), verbose=False)
        assert sum(len(item.hints) for item in report.inputs) == 1, case


def test_broadcast_factor_names_the_copies():
    """Summed once per copy: k copies make k times the gradient; both hints are given."""

    class BroadcastAddTwiceSummed(BroadcastAdd):
        @staticmethod
        def backward(ctx, grad_output):
            x, y = ctx.inputs
            return grad_output, tg.ops.unbroadcast(grad_output, y.shape) * 2

    report = tg.gradcheck(BroadcastAddTwiceSummed.apply, leaves(X, X[0]), verbose=False)
    hints = report.inputs[1].hints
    assert "2x as many elements as this input and the gradient is 2x too large" in hints[0]
    assert "2x the numeric one" in hints[1]


@pytest.mark.parametrize("method", METHODS)
def test_unsummed_broadcast_gets_the_unbroadcast_hint(method):
    report = tg.gradcheck(BroadcastAddUnreduced.apply, leaves(X, X[0]), method=method,
                          verbose=False)
    assert report.error and len(report.hints) == 1
    assert "sum the gradient over the broadcast axes: ops.unbroadcast" in report.hints[0]
    assert "broadcast shape (2, 3), not the input's (3,)" in report.hints[0]
    assert " ".join(f"hint: {report.hints[0]}".split()) in " ".join(str(report).split())


def test_a_gradient_of_the_transposed_shape_gets_the_transpose_hint():
    x, y = RNG.uniform(-1, 1, (2, 3)), RNG.uniform(-1, 1, (3, 3))
    report = tg.gradcheck(MatMulTransposedShape.apply, leaves(x, y), verbose=False)
    assert not report and "shape (3, 2) for input 0" in report.error
    assert report.hints == ["the gradient has the input's shape (2, 3) transposed: did you "
                            "forget to transpose (use x.T / swap the matmul operands)?"]


def test_other_shape_errors_get_a_plain_hint():

    class SumWrongShape(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data.sum(axis=1)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output  # wrong: (2,) for an input of shape (2, 3)

    report = tg.gradcheck(SumWrongShape.apply, leaves(X), verbose=False)
    assert report.hints == ["return a gradient with exactly its input's shape (2, 3)"]


def test_a_value_at_the_kink_itself_is_named():
    """Numeric slope of max(x, 0) at 0 is 1/2, PyTorch's convention says 0: not a bug in
    the backward, a test input on the kink."""
    at_kink = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    report = tg.gradcheck(Relu.apply, leaves(at_kink), verbose=False)
    assert not report
    (hint,) = report.inputs[0].hints
    assert hint.startswith("wrong only where this input is 0 (within eps)")


@pytest.mark.parametrize("method", METHODS)
def test_forward_that_changes_its_input_is_caught(method):
    x = tg.Tensor(X.copy(), requires_grad=True)
    report = tg.gradcheck(SquareInPlace.apply, [x], method=method, verbose=False)
    assert not report
    item = report.inputs[0]
    assert item.hints[0].startswith("forward changed its input in place (x.data[...] = / +=): "
                                    "compute on a copy")
    # the numeric slopes are taken at the input as given: d/dx (x + 1)^2 = 2 (x + 1)
    np.testing.assert_allclose(np.diag(item.numeric), 2 * (X.ravel() + 1), rtol=1e-6)
    assert " ".join(f"hint: {item.hints[0]}".split()) in " ".join(str(report).split())
    np.testing.assert_array_equal(x.data, X)  # gradcheck worked on a copy


def test_forward_that_changes_its_input_and_gets_it_wrong():
    """Saved after the change, x is x + 1 twice over: the gradient is wrong too; the
    mutation is the hint (a comparison of two broken Jacobians says little)."""

    class SquareInPlaceTwice(SquareInPlace):
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 2 * (x + 1)

    report = tg.gradcheck(SquareInPlaceTwice.apply, leaves(X), verbose=False)
    item = report.inputs[0]
    assert not item.passed and item.worst
    assert len(item.hints) == 1 and item.hints[0].startswith("forward changed its input")


RIGHT = {
    "cube": (Cube.apply, (X,)),
    "sine": (Sine.apply, (MIXED,)),
    "broadcast add": (BroadcastAdd.apply, (WIDE, WIDE[0])),
    "matmul": (MatMul.apply, SQUARE),
    "relu": (Relu.apply, (MIXED,)),
    "exp": (Exp.apply, (X,)),
    "sum over an axis": (lambda t: t.sum(axis=1), (MIXED,)),
    "log_softmax": (lambda t: t.log_softmax(axis=1), (MIXED,)),
    "matmul, transposed": (lambda a, b: a @ b.T, SQUARE),
}


@pytest.mark.parametrize("case", RIGHT)
@pytest.mark.parametrize("method", METHODS)
def test_right_gradients_get_no_hint(case, method):
    f, arrays = RIGHT[case]
    report = tg.gradcheck(f, leaves(*arrays), method=method, verbose=False)
    assert report, str(report)
    assert not report.hints and all(not item.hints for item in report.inputs)
    assert "hint" not in str(report)


@pytest.mark.parametrize("case", RIGHT)
def test_round_off_alone_gets_no_hint(case):
    """With zero tolerance a right gradient fails on round-off alone; the thresholds must
    not read that noise as a constant factor, a transpose or a kink."""
    f, arrays = RIGHT[case]
    report = tg.gradcheck(f, leaves(*arrays), atol=0.0, rtol=0.0, verbose=False)
    assert all(not item.hints for item in report.inputs), str(report)


def test_a_gradient_with_the_axes_permuted_gets_the_inverse_permutation_hint():

    class Permute(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return np.transpose(x.data, (2, 0, 1))

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.permute(2, 0, 1)  # wrong: the same permutation again

    report = tg.gradcheck(Permute.apply, leaves(RNG.standard_normal((2, 3, 4))),
                          verbose=False)
    assert not report and "shape (3, 4, 2) for input 0" in report.error
    assert "in another order, (3, 4, 2)" in report.hints[0]
    assert "np.argsort(perm)" in report.hints[0]

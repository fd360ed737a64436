"""Stage 2 of the course, op backwards: a reference solution for every op exercise, and
a wrong solution for every mistake its catalog names.

Each solution is written as a plain `backward(ctx, grad_output)`; `solve` puts its body
in place of the template's `raise NotImplementedError(...)`, as a student would, with
the template's imports (np, tg) in scope. The wrong solutions are the classic mistakes:
each must fail, and the report must name it (the words of its hint).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from course_helpers import grade, solve

import tinygrad_edu as tg
from tinygrad_edu import grader
from tinygrad_edu.course import op_backwards
from tinygrad_edu.course.catalog import template
from tinygrad_edu.course.grading import mistake_hints

OPS = {exercise.name: exercise for exercise in op_backwards.EXERCISES}
NEW = ["mul", "div", "exp", "log", "tanh", "power", "relu", "sum_axis", "mean_axis",
       "transpose", "gather"]  # the templates of this stage written after the first eight


# --- the reference solutions --------------------------------------------------------------


def mul_backward(ctx, grad_output):
    x, y = ctx.saved_tensors
    return grad_output * y, grad_output * x


def div_backward(ctx, grad_output):
    x, y = ctx.saved_tensors
    return grad_output / y, -grad_output * x / (y * y)


def exp_backward(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return grad_output * y


def log_backward(ctx, grad_output):
    (x,) = ctx.saved_tensors
    return grad_output / x


def tanh_backward(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return grad_output * (1 - y * y)


def power_backward(ctx, grad_output):
    (x,) = ctx.saved_tensors
    return grad_output * ctx.p * x ** (ctx.p - 1)


def relu_backward(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return grad_output * (y > 0)


def sigmoid_backward(ctx, grad_output):
    (s,) = ctx.saved_tensors
    return grad_output * s * (1 - s)


def sum_axis_backward(ctx, grad_output):
    return grad_output.unsqueeze(ctx.axis).expand(*ctx.x_shape)


def mean_axis_backward(ctx, grad_output):
    n = ctx.x_shape[ctx.axis]
    return grad_output.unsqueeze(ctx.axis).expand(*ctx.x_shape) / n


def broadcast_add_backward(ctx, grad_output):
    def sum_to(grad, shape):
        while grad.ndim > len(shape):  # rule 1: the leading axes forward added
            grad = grad.sum(axis=0)
        for axis, size in enumerate(shape):  # rule 2: the size-1 axes it stretched
            if size == 1 and grad.shape[axis] != 1:
                grad = grad.sum(axis=axis, keepdims=True)
        return grad

    return sum_to(grad_output, ctx.x_shape), sum_to(grad_output, ctx.y_shape)


def transpose_backward(ctx, grad_output):
    inverse = tuple(int(axis) for axis in np.argsort(ctx.perm))
    return grad_output.permute(*inverse)


def matmul_backward(ctx, grad_output):
    a, b = ctx.saved_tensors
    return grad_output @ b.T, a.T @ grad_output


def logsumexp_backward(ctx, grad_output):
    (p,) = ctx.saved_tensors
    return grad_output.unsqueeze(-1) * p


def softmax_backward(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return y * (grad_output - (grad_output * y).sum(axis=-1, keepdims=True))


def layernorm_backward(ctx, grad_output):
    y, sigma = ctx.saved_tensors
    mean_g = grad_output.mean(axis=-1, keepdims=True)
    mean_gy = (grad_output * y).mean(axis=-1, keepdims=True)
    return (grad_output - mean_g - y * mean_gy) / sigma


def gather_backward(ctx, grad_output):
    grad = np.zeros(ctx.x_shape)
    np.add.at(grad, ctx.index, grad_output.data)  # adds the repeats, which += would not
    return grad


def max_with_ties_backward(ctx, grad_output):
    (is_max,) = ctx.saved_tensors
    return grad_output * (is_max / is_max.sum())


def conv1d_backward(ctx, grad_output):
    x, w = ctx.saved_tensors
    k, m = w.shape[0], grad_output.shape[0]
    grad_w = tg.stack([(x[j:j + m] * grad_output).sum() for j in range(k)])
    grad_x = sum((grad_output * w[j]).pad([(j, k - 1 - j)]) for j in range(k))
    return grad_x, grad_w


def _backward(exercise, function):
    return {f"{OPS[exercise].target}.backward": function}


SOLUTIONS = {name: _backward(name, function) for name, function in [
    ("mul", mul_backward), ("div", div_backward), ("exp", exp_backward),
    ("log", log_backward), ("tanh", tanh_backward), ("power", power_backward),
    ("relu", relu_backward), ("sigmoid", sigmoid_backward),
    ("sum_axis", sum_axis_backward), ("mean_axis", mean_axis_backward),
    ("broadcast_add", broadcast_add_backward), ("transpose", transpose_backward),
    ("matmul", matmul_backward), ("logsumexp", logsumexp_backward),
    ("softmax", softmax_backward), ("layernorm", layernorm_backward),
    ("gather", gather_backward), ("max_with_ties", max_with_ties_backward),
    ("conv1d", conv1d_backward),
]}


# --- the classic mistakes -------------------------------------------------------------------
# Where a mistake needs the input that forward did not save, it reads ctx.inputs (the
# tensors the op was applied to), as a student who saved x too would.


def mul_own_value_for_x(ctx, grad_output):
    x, y = ctx.saved_tensors
    return grad_output * x, grad_output * x


def mul_own_value_for_y(ctx, grad_output):
    x, y = ctx.saved_tensors
    return grad_output * y, grad_output * y


def mul_as_a_sum(ctx, grad_output):
    return grad_output, grad_output


def div_sign_missing(ctx, grad_output):
    x, y = ctx.saved_tensors
    return grad_output / y, grad_output * x / (y * y)


def div_power_of_y_short(ctx, grad_output):
    x, y = ctx.saved_tensors
    return grad_output / y, -grad_output * x / y


def div_x_forgotten(ctx, grad_output):
    x, y = ctx.saved_tensors
    return grad_output / y, -grad_output / (y * y)


def div_multiplied(ctx, grad_output):
    x, y = ctx.saved_tensors
    return grad_output * y, -grad_output * x / (y * y)


def exp_input_for_output(ctx, grad_output):
    (x,) = ctx.inputs
    return grad_output * x


def exp_no_factor(ctx, grad_output):
    return grad_output * 1.0


def log_squared(ctx, grad_output):
    (x,) = ctx.saved_tensors
    return grad_output / (x * x)


def log_multiplied(ctx, grad_output):
    (x,) = ctx.saved_tensors
    return grad_output * x


def log_of_the_value(ctx, grad_output):
    (x,) = ctx.saved_tensors
    return grad_output * x.log()


def tanh_input_for_output(ctx, grad_output):
    (x,) = ctx.inputs
    return grad_output * (1 - x * x)


def tanh_square_missing(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return grad_output * (1 - y)


def tanh_wrong_sign(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return grad_output * (1 + y * y)


def power_factor_missing(ctx, grad_output):
    (x,) = ctx.saved_tensors
    return grad_output * x ** (ctx.p - 1)


def power_not_lowered(ctx, grad_output):
    (x,) = ctx.saved_tensors
    return grad_output * ctx.p * x ** ctx.p


def power_lowered_twice(ctx, grad_output):
    (x,) = ctx.saved_tensors
    return grad_output * ctx.p * x ** (ctx.p - 2)


def relu_mask_reversed(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return grad_output * (y <= 0)


def relu_no_mask(ctx, grad_output):
    return grad_output * 1.0


def relu_times_output(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return grad_output * y


def sigmoid_missing_one_minus_s(ctx, grad_output):
    (s,) = ctx.saved_tensors
    return grad_output * s


def sigmoid_missing_s(ctx, grad_output):
    (s,) = ctx.saved_tensors
    return grad_output * (1 - s)


def sigmoid_input_for_output(ctx, grad_output):
    (x,) = ctx.inputs
    return grad_output * x * (1 - x)


def sum_axis_divided(ctx, grad_output):
    return grad_output.unsqueeze(ctx.axis).expand(*ctx.x_shape) / ctx.x_shape[ctx.axis]


def sum_axis_summed_again(ctx, grad_output):
    return grad_output.sum().expand(*ctx.x_shape)


def sum_axis_broadcast_from_the_right(ctx, grad_output):
    return grad_output.expand(*ctx.x_shape)  # right-aligned: the square case's numbers


def mean_axis_without_one_over_n(ctx, grad_output):
    return grad_output.unsqueeze(ctx.axis).expand(*ctx.x_shape)


def mean_axis_divided_by_all(ctx, grad_output):
    copied = grad_output.unsqueeze(ctx.axis).expand(*ctx.x_shape)
    return copied / copied.numel()


def mean_axis_broadcast_from_the_right(ctx, grad_output):
    return grad_output.expand(*ctx.x_shape) / ctx.x_shape[ctx.axis]


def transpose_same_permutation(ctx, grad_output):
    return grad_output.permute(*ctx.perm)


def transpose_reshaped(ctx, grad_output):
    return grad_output.reshape(ctx.inputs[0].shape)


def matmul_a_no_transpose(ctx, grad_output):
    a, b = ctx.saved_tensors
    return grad_output @ b, a.T @ grad_output


def matmul_a_wrong_order(ctx, grad_output):
    a, b = ctx.saved_tensors
    return b @ grad_output, a.T @ grad_output


def matmul_a_transposed_wrong_order(ctx, grad_output):
    a, b = ctx.saved_tensors
    return b.T @ grad_output, a.T @ grad_output


def matmul_b_no_transpose(ctx, grad_output):
    a, b = ctx.saved_tensors
    return grad_output @ b.T, a @ grad_output


def matmul_b_wrong_order(ctx, grad_output):
    a, b = ctx.saved_tensors
    return grad_output @ b.T, grad_output @ a.T


def matmul_b_transposed(ctx, grad_output):
    a, b = ctx.saved_tensors
    return grad_output @ b.T, grad_output.T @ a


def logsumexp_as_a_sum(ctx, grad_output):
    (p,) = ctx.saved_tensors
    return grad_output.unsqueeze(-1) * np.ones_like(p)


def logsumexp_not_divided(ctx, grad_output):
    (x,) = ctx.inputs
    return grad_output.unsqueeze(-1) * x.exp()


def softmax_diagonal_only(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return grad_output * y * (1 - y)


def softmax_unweighted_sum(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return y * (grad_output - grad_output.sum(axis=-1, keepdims=True))


def softmax_factor_missing(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return grad_output - (grad_output * y).sum(axis=-1, keepdims=True)


def layernorm_constants(ctx, grad_output):
    y, sigma = ctx.saved_tensors
    return grad_output / sigma


def layernorm_mean_only(ctx, grad_output):
    y, sigma = ctx.saved_tensors
    return (grad_output - grad_output.mean(axis=-1, keepdims=True)) / sigma


def gather_plus_equals(ctx, grad_output):
    grad = np.zeros(ctx.x_shape)
    grad[ctx.index] += grad_output.data  # each repeated row is written once
    return grad


def max_with_ties_all_to_each(ctx, grad_output):
    (is_max,) = ctx.saved_tensors
    return grad_output * is_max


def max_with_ties_first_only(ctx, grad_output):
    (is_max,) = ctx.saved_tensors
    first = np.zeros(is_max.shape)
    first.flat[np.argmax(is_max)] = 1.0
    return grad_output * first


def conv1d_flipped_kernel(ctx, grad_output):
    x, w = ctx.saved_tensors
    k, m = w.shape[0], grad_output.shape[0]
    grad_w = tg.stack([(x[j:j + m] * grad_output).sum() for j in range(k)])
    grad_x = sum((grad_output * w[k - 1 - j]).pad([(j, k - 1 - j)]) for j in range(k))
    return grad_x, grad_w


def conv1d_weight_grad_reversed(ctx, grad_output):
    x, w = ctx.saved_tensors
    k, m = w.shape[0], grad_output.shape[0]
    grad_w = tg.stack([(x[k - 1 - j:k - 1 - j + m] * grad_output).sum() for j in range(k)])
    grad_x = sum((grad_output * w[j]).pad([(j, k - 1 - j)]) for j in range(k))
    return grad_x, grad_w


# (exercise, wrong backward, words of the hint it must get): one for every Mistake
WRONG = [
    ("mul", mul_own_value_for_x, "your dL/dx is grad_output * x, the input's own value"),
    ("mul", mul_own_value_for_y, "your dL/dy is grad_output * y, the input's own value"),
    ("mul", mul_as_a_sum, "as for a sum x + y"),
    ("div", div_sign_missing, "the minus sign is missing"),
    ("div", div_power_of_y_short, "the power of y is one short"),
    ("div", div_x_forgotten, "the derivative of 1/y alone"),
    ("div", div_multiplied, "your dL/dx is grad_output * y, multiplied where dividing"),
    ("exp", exp_input_for_output, "the input x where the output was meant"),
    ("exp", exp_no_factor, "the factor d/dx exp(x) = exp(x) = y is missing"),
    ("log", log_squared, "one power of x too many"),
    ("log", log_multiplied, "grad_output * x, multiplied where dividing was meant"),
    ("log", log_of_the_value, "log(x) is the forward's value, not its derivative"),
    ("tanh", tanh_input_for_output, "(1 - x^2): the input x where the output y"),
    ("tanh", tanh_square_missing, "(1 - y): the square is missing"),
    ("tanh", tanh_wrong_sign, "the sign before y^2 is wrong"),
    ("power", power_factor_missing, "the factor p is missing"),
    ("power", power_not_lowered, "the power was not lowered"),
    ("power", power_lowered_twice, "the power dropped by two"),
    ("relu", relu_mask_reversed, "the mask is the wrong way round"),
    ("relu", relu_no_mask, "grad_output everywhere, with no mask"),
    ("relu", relu_times_output, "multiplied by the output y, not by the 0/1 mask"),
    ("sigmoid", sigmoid_missing_one_minus_s, "the factor (1 - s) is missing"),
    ("sigmoid", sigmoid_missing_s, "the factor s is missing"),
    ("sigmoid", sigmoid_input_for_output, "the input x where the output s was meant"),
    ("sum_axis", sum_axis_divided, "that is a mean's derivative"),
    ("sum_axis", sum_axis_summed_again, "the backward of a sum is a copy, not a sum"),
    ("sum_axis", sum_axis_broadcast_from_the_right, "broadcasting lines the axes up from "
                                                    "the right"),
    ("mean_axis", mean_axis_without_one_over_n, "the 1/n of the mean is missing"),
    ("mean_axis", mean_axis_divided_by_all, "the count of ALL of x's elements"),
    ("mean_axis", mean_axis_broadcast_from_the_right, "broadcasting lines the axes up from "
                                                      "the right"),
    ("transpose", transpose_same_permutation, "permuted by perm = (2, 0, 1) again"),
    ("transpose", transpose_reshaped, "a reshape keeps the elements in their memory order"),
    ("matmul", matmul_a_no_transpose, "your dL/da equals grad_output @ b: the transpose"),
    ("matmul", matmul_a_wrong_order, "your dL/da equals b @ grad_output"),
    ("matmul", matmul_a_transposed_wrong_order, "your dL/da equals b.T @ grad_output"),
    ("matmul", matmul_b_no_transpose, "your dL/db equals a @ grad_output"),
    ("matmul", matmul_b_wrong_order, "your dL/db equals grad_output @ a.T"),
    ("matmul", matmul_b_transposed, "your dL/db equals grad_output.T @ a"),
    ("logsumexp", logsumexp_as_a_sum, "as if logsumexp were a sum"),
    ("logsumexp", logsumexp_not_divided, "your gradient is g * exp(x)"),
    ("softmax", softmax_diagonal_only, "only the diagonal of the softmax Jacobian"),
    ("softmax", softmax_unweighted_sum, "your gradient is y * (g - sum(g))"),
    ("softmax", softmax_factor_missing, "the factor y_j in front is missing"),
    ("layernorm", layernorm_constants, "as if the mean and sigma were constants"),
    ("layernorm", layernorm_mean_only, "the mean's part is there, sigma's is missing"),
    ("gather", gather_plus_equals, "rows picked k times got only one of their k gradients"),
    ("max_with_ties", max_with_ties_all_to_each, "each tied maximum got all of grad_output"),
    ("max_with_ties", max_with_ties_first_only, "only one of the tied maxima got"),
    ("conv1d", conv1d_flipped_kernel, "your dL/dx uses the kernel flipped"),
    ("conv1d", conv1d_weight_grad_reversed, "your dL/dw is the right one reversed"),
]


def _flat(text: str) -> str:
    """The text with its line breaks and indents undone, as one line of words."""
    return " ".join(text.split())


def _report_lines_fit(text: str) -> bool:
    """Every line of a report fits 88 columns (but the one naming the file's path,
    whose length is the folder's)."""
    return all(len(line) <= 88 for line in text.splitlines() if not line.startswith("Checking"))


# --- the exercises ----------------------------------------------------------------------------


def test_every_op_exercise_has_a_reference_solution_and_a_template():
    assert set(SOLUTIONS) == set(OPS)
    assert set(NEW) <= set(OPS)
    for name in OPS:
        assert template(OPS[name]).is_file(), name


@pytest.mark.parametrize("name", NEW)
def test_the_new_templates_fit_88_columns_and_name_their_check(name):
    text = template(OPS[name]).read_text()
    assert all(len(line) <= 88 for line in text.splitlines()), name
    docstring = text.split('"""')[1]
    assert docstring.rstrip().endswith(f"tinygrad-edu exercises check {name}")
    assert text.count("raise NotImplementedError(") == 1


def test_the_settings_of_the_templates_are_the_catalogs():
    # the mistakes compute with the exponent, axis, permutation and index of the files
    load = grader.load_module
    assert load(template(OPS["power"])).P == op_backwards.POWER_P
    assert load(template(OPS["sum_axis"])).AXIS == op_backwards.REDUCED_AXIS
    assert load(template(OPS["mean_axis"])).AXIS == op_backwards.REDUCED_AXIS
    assert load(template(OPS["transpose"])).PERM == op_backwards.PERM
    np.testing.assert_array_equal(load(template(OPS["gather"])).INDEX,
                                  op_backwards.GATHER_INDEX)
    assert op_backwards.INVERSE_PERM == (1, 2, 0)


@pytest.mark.parametrize("name", OPS)
def test_each_forward_is_what_its_docstring_says(name):
    target = grader.load_target(f"{template(OPS[name])}::{OPS[name].target}")
    for case in grader.make_cases(target):
        out = target.function(*[tg.Tensor(a, dtype=np.float64) for a in case.inputs])
        np.testing.assert_allclose(out.data, _numpy_forward(name, *case.inputs),
                                   rtol=1e-12, atol=1e-12)


def _numpy_forward(name, *inputs):
    x = inputs[0]
    forwards = {
        "mul": lambda: x * inputs[1],
        "div": lambda: x / inputs[1],
        "exp": lambda: np.exp(x),
        "log": lambda: np.log(x),
        "tanh": lambda: np.tanh(x),
        "power": lambda: x ** 3,
        "relu": lambda: np.where(x > 0, x, 0.0),
        "sigmoid": lambda: 1 / (1 + np.exp(-x)),
        "sum_axis": lambda: x.sum(axis=1),
        "mean_axis": lambda: x.mean(axis=1),
        "broadcast_add": lambda: x + inputs[1],
        "transpose": lambda: np.einsum("ijk->kij", x),
        "matmul": lambda: x @ inputs[1],
        "logsumexp": lambda: np.log(np.exp(x).sum(axis=-1)),
        "softmax": lambda: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True),
        "layernorm": lambda: (x - x.mean(-1, keepdims=True))
        / np.sqrt(x.var(-1, keepdims=True) + 1e-5),
        "gather": lambda: np.stack([x[0], x[2], x[2], x[1], x[2]]),
        "max_with_ties": lambda: x.max(),
        "conv1d": lambda: np.array([x[i:i + len(inputs[1])] @ inputs[1]
                                    for i in range(len(x) - len(inputs[1]) + 1)]),
    }
    return forwards[name]()


def test_the_inputs_keep_off_poles_kinks_and_the_domain_edge():
    for name, keep in [("div", lambda x, y: np.abs(y) >= 0.5),
                       ("log", lambda x: x >= 0.2),
                       ("power", lambda x: x > 0),
                       ("relu", lambda x: np.abs(x) >= 0.05)]:
        target = grader.load_target(f"{template(OPS[name])}::{OPS[name].target}")
        for seed in (0, 1):
            for case in grader.make_cases(target, seed=seed):
                assert keep(*case.inputs).all(), (name, case.shapes)
    # ReLU's inputs have both signs, so that a mask the wrong way round shows
    target = grader.load_target(f"{template(OPS['relu'])}::ReLU")
    for case in grader.make_cases(target):
        assert (case.inputs[0] > 0).any() and (case.inputs[0] < 0).any()


# --- unsolved, solved ---------------------------------------------------------------------


@pytest.mark.parametrize("name", OPS)
def test_an_unsolved_exercise_is_not_written_yet(name, tmp_path):
    (tmp_path / f"{name}.py").write_text(template(OPS[name]).read_text())
    text, passed = grade(name, tmp_path)
    assert passed is False
    assert "not written yet" in text, text
    assert f"{OPS[name].target}.backward" in text  # the template's own nudge is shown


@pytest.mark.parametrize("name", OPS)
def test_the_reference_solution_passes_without_a_hint(name, tmp_path):
    solve(name, tmp_path, SOLUTIONS[name])
    for seed in (0, 1):
        text, passed = grade(name, tmp_path, seed=seed)
        assert passed is True, text
        assert "hint:" not in text and "FAIL" not in text, text
        assert re.search(r"All \d+ checks passed", text)
        assert _report_lines_fit(text), text


@pytest.mark.parametrize("name", OPS)
def test_no_mistake_of_the_catalog_matches_the_reference_solution(name, tmp_path):
    # A mistake equal to the right gradient on some input would name a mistake in a
    # right answer: on every case, the reference's gradient matches none of them
    path = solve(name, tmp_path, SOLUTIONS[name])
    target = grader.load_target(f"{path}::{OPS[name].target}")
    for seed in (0, 1):
        for case in grader.make_cases(target, seed=seed):
            assert mistake_hints(target.function, case, OPS[name].mistakes, seed) == {}, \
                (name, seed, case.shapes)


def test_the_reference_solutions_that_save_tensors_give_second_derivatives(tmp_path):
    # written with Tensor ops on saved input Tensors: create_graph=True records them
    for name in ("mul", "div", "log", "power"):
        path = solve(name, tmp_path, SOLUTIONS[name])
        target = grader.load_target(f"{path}::{OPS[name].target}")
        case = grader.make_cases(target)[1]
        inputs = [tg.Tensor(a, requires_grad=True, dtype=np.float64) for a in case.inputs]
        assert tg.gradgradcheck(lambda *xs, f=target.function: f(*xs).sum(), inputs,
                                verbose=False), name


# --- wrong solutions: they fail, and the report names the mistake -------------------------


def test_every_hint_of_the_catalogs_has_a_wrong_solution_that_gets_it():
    for name, exercise in OPS.items():
        hints = [_flat(mistake.hint) for mistake in exercise.mistakes]
        for hint in hints:
            assert hints.count(hint) == 1, (name, hint)  # one hint, one mistake
        covered = set()
        for wrong_name, _, words in WRONG:
            if wrong_name == name:
                matching = [hint for hint in hints if _flat(words) in hint]
                assert len(matching) == 1, (name, words)  # the words pick out one hint
                covered.add(matching[0])
        assert covered == set(hints), (name, set(hints) - covered)


@pytest.mark.parametrize("name, backward, words", WRONG, ids=[w[1].__name__ for w in WRONG])
def test_a_wrong_solution_fails_with_its_hint(name, backward, words, tmp_path):
    solve(name, tmp_path, _backward(name, backward))
    text, passed = grade(name, tmp_path)
    assert passed is False, text
    assert "FAILED" in text and "hint:" in text, text
    assert _flat(words) in _flat(text), text


def test_the_reports_of_wrong_solutions_fit_88_columns(tmp_path):
    # hints, error messages and the labels of grouped failures are wrapped or short
    too_wide = {}
    for name, backward, _ in WRONG:
        solve(name, tmp_path, _backward(name, backward))
        text, _ = grade(name, tmp_path)
        if not _report_lines_fit(text):
            too_wide[backward.__name__] = [line for line in text.splitlines()
                                           if len(line) > 88 and not line.startswith("Checking")]
    assert not too_wide, too_wide


def test_a_hint_is_given_only_where_the_mistake_is_seen(tmp_path):
    # matmul's missing transpose gives the right shape only for square matrices: there
    # the hint; elsewhere the shape error says it
    solve("matmul", tmp_path, _backward("matmul", matmul_a_no_transpose))
    text, _ = grade("matmul", tmp_path)
    assert "case 1 central" in text and "a matmul shape error" in text
    hinted = [block for block in text.split("\n\n") if "your dL/da equals grad_output @ b" in
              _flat(block)]
    assert hinted and all("case 1 " not in block for block in hinted), text


def test_gather_with_plus_equals_is_right_where_no_row_repeats(tmp_path):
    # the trap only shows with repeats: its gradient is right for rows 0 and 1
    path = solve("gather", tmp_path, _backward("gather", gather_plus_equals))
    target = grader.load_target(f"{path}::Gather")
    x = tg.Tensor(np.zeros((4, 2)), requires_grad=True, dtype=np.float64)
    g = np.arange(10.0).reshape(5, 2)
    target.function(x).backward(tg.Tensor(g))
    np.testing.assert_array_equal(x.grad.data[:2], g[[0, 3]])
    np.testing.assert_array_equal(x.grad.data[2], g[4])  # only the last of rows 1, 2, 4
    assert not np.array_equal(x.grad.data[2], g[[1, 2, 4]].sum(axis=0))


def gather_backward_with_a_one_hot_matrix(ctx, grad_output):
    n = ctx.x_shape[0]
    onehot = (ctx.index[:, None] == np.arange(n)).astype(np.float64)  # (5, n)
    return tg.Tensor(onehot.T) @ grad_output  # (n, 5) @ (5, ...): row r sums its picks


def test_gather_written_with_a_one_hot_matrix_passes_too(tmp_path):
    # the template's docstring offers it as the Tensor-op way to add the repeats
    solve("gather", tmp_path, _backward("gather", gather_backward_with_a_one_hot_matrix))
    text, passed = grade("gather", tmp_path)
    assert passed is True, text
    assert "hint:" not in text

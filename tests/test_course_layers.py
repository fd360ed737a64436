"""Stage 4 (layers) and stage 5 (optimizers) of the course.

Each exercise is written into tmp_path as a student would solve it (course_helpers.solve)
and graded in this process. The reference solutions below must pass without a hint, with
seed 0 and seed 1; the template as it is must fail with "not written yet"; and for every
hint the stage can give, a wrong solution must fail and get that hint (and no other).
"""

from __future__ import annotations

import re
import shutil
import time

import numpy as np
import pytest
from course_helpers import grade, solve

from tinygrad_edu import course, grader
from tinygrad_edu.course import layers, optimizers
from tinygrad_edu.course.catalog import template
from tinygrad_edu.course.grading import mistake_hints

# --- the reference solutions --------------------------------------------------------------
# Each is the body of the function to write, with the template's imports (np, tg) in scope.


def linear_backward(ctx, grad_output):
    x, weight = ctx.saved_tensors
    return grad_output @ weight, grad_output.T @ x, grad_output.sum(axis=0)


def softmax_cross_entropy_backward(ctx, grad_output):
    log_probs, labels = ctx.saved_tensors
    n, classes = log_probs.shape
    return grad_output * (np.exp(log_probs) - np.eye(classes)[labels]) / n, None


def batchnorm_backward(ctx, grad_output):
    x_hat, sigma, gamma = ctx.saved_tensors
    g_hat = grad_output * gamma
    grad_x = (g_hat - g_hat.mean(axis=0) - x_hat * (g_hat * x_hat).mean(axis=0)) / sigma
    return grad_x, (grad_output * x_hat).sum(axis=0), grad_output.sum(axis=0)


def sgd_momentum_step(param, grad, velocity, lr, momentum):
    velocity = momentum * velocity + grad
    return param - lr * velocity, velocity


def adam_step(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


SOLUTIONS = {
    "linear": {"Linear.backward": linear_backward},
    "softmax_cross_entropy": {"SoftmaxCrossEntropy.backward": softmax_cross_entropy_backward},
    "batchnorm": {"BatchNorm.backward": batchnorm_backward},
    "sgd_momentum": {"sgd_momentum_step": sgd_momentum_step},
    "adam": {"adam_step": adam_step},
}
NAMES = list(SOLUTIONS)
REFERENCE_STEPS = {"sgd_momentum_step": sgd_momentum_step, "adam_step": adam_step}
FUNCTION = {name: next(iter(solution)) for name, solution in SOLUTIONS.items()}


def flat(text: str) -> str:
    """The text without its whitespace: a hint wrapped over lines still matches."""
    return re.sub(r"\s+", "", text)


def has(text: str, words: str) -> bool:
    return flat(words) in flat(text)


# --- the catalog -----------------------------------------------------------------------------


def test_the_stages_list_their_exercises_in_order():
    assert [e.name for e in layers.EXERCISES] == ["linear", "softmax_cross_entropy",
                                                  "batchnorm"]
    assert [e.name for e in optimizers.EXERCISES] == ["sgd_momentum", "adam"]
    stages = {e.name: e.stage for e in course.EXERCISES}
    assert [stages[name] for name in NAMES] == ["layers"] * 3 + ["optimizers"] * 2


@pytest.mark.parametrize("name", NAMES)
def test_each_template_has_one_raise_per_function_to_write(name):
    text = template(course.find(name)).read_text()
    assert text.count("raise NotImplementedError(") == 1
    docstring = text.split('"""')[1]
    assert docstring.rstrip().endswith(f"tinygrad-edu exercises check {name}")
    assert max(len(line) for line in text.splitlines()) <= 88


# --- the template as it is, and the reference solutions ---------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_the_template_as_it_is_is_not_written_yet(tmp_path, name):
    shutil.copy(template(course.find(name)), tmp_path / f"{name}.py")
    text, passed = grade(name, tmp_path)
    assert passed is False
    assert "not written yet" in text


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", NAMES)
def test_the_reference_solution_passes_without_a_hint(tmp_path, name, seed):
    solve(name, tmp_path, SOLUTIONS[name])
    text, passed = course.grade(name, tmp_path, seed=seed)
    assert passed is True, text
    assert "hint:" not in text
    assert "FAIL" not in text


@pytest.mark.parametrize("name", NAMES)
def test_grading_one_exercise_is_quick(tmp_path, name):
    # a wrong solution costs the most: its mistakes (or variants) are tried too
    solve(name, tmp_path, {FUNCTION[name]: WRONG_BY_NAME[name][0][0]})
    start = time.perf_counter()
    grade(name, tmp_path)
    wrong = time.perf_counter() - start
    solve(name, tmp_path, SOLUTIONS[name])
    start = time.perf_counter()
    grade(name, tmp_path)
    right = time.perf_counter() - start
    assert wrong < 3.0 and right < 3.0, (wrong, right)


# --- the classic mistakes of the layers ----------------------------------------------------------


def linear_dw_transposed(ctx, grad_output):
    x, weight = ctx.saved_tensors
    return grad_output @ weight, x.T @ grad_output, grad_output.sum(axis=0)


def linear_db_mean(ctx, grad_output):
    x, weight = ctx.saved_tensors
    return grad_output @ weight, grad_output.T @ x, grad_output.mean(axis=0)


def linear_db_not_summed(ctx, grad_output):
    x, weight = ctx.saved_tensors
    return grad_output @ weight, grad_output.T @ x, grad_output


def linear_dx_transposed(ctx, grad_output):
    x, weight = ctx.saved_tensors
    return grad_output @ weight.T, grad_output.T @ x, grad_output.sum(axis=0)


def cross_entropy_no_mean(ctx, grad_output):
    log_probs, labels = ctx.saved_tensors
    n, classes = log_probs.shape
    return grad_output * (np.exp(log_probs) - np.eye(classes)[labels]), None


def cross_entropy_no_one_hot(ctx, grad_output):
    log_probs, labels = ctx.saved_tensors
    n, classes = log_probs.shape
    return grad_output * np.exp(log_probs) / n, None


def cross_entropy_sign(ctx, grad_output):
    log_probs, labels = ctx.saved_tensors
    n, classes = log_probs.shape
    return grad_output * (np.eye(classes)[labels] - np.exp(log_probs)) / n, None


def cross_entropy_log_softmax(ctx, grad_output):
    log_probs, labels = ctx.saved_tensors
    n, classes = log_probs.shape
    return grad_output * (log_probs - np.eye(classes)[labels]) / n, None


def batchnorm_constants(ctx, grad_output):
    x_hat, sigma, gamma = ctx.saved_tensors
    grad_x = grad_output * gamma / sigma
    return grad_x, (grad_output * x_hat).sum(axis=0), grad_output.sum(axis=0)


def batchnorm_no_variance_term(ctx, grad_output):
    x_hat, sigma, gamma = ctx.saved_tensors
    g_hat = grad_output * gamma
    grad_x = (g_hat - g_hat.mean(axis=0)) / sigma
    return grad_x, (grad_output * x_hat).sum(axis=0), grad_output.sum(axis=0)


def batchnorm_unbiased(ctx, grad_output):
    x_hat, sigma, gamma = ctx.saved_tensors
    n = x_hat.shape[0]
    g_hat = grad_output * gamma
    variance_term = x_hat * (g_hat * x_hat).sum(axis=0) / (n - 1)
    grad_x = (g_hat - g_hat.mean(axis=0) - variance_term) / sigma
    return grad_x, (grad_output * x_hat).sum(axis=0), grad_output.sum(axis=0)


def batchnorm_parameters_averaged(ctx, grad_output):
    x_hat, sigma, gamma = ctx.saved_tensors
    g_hat = grad_output * gamma
    grad_x = (g_hat - g_hat.mean(axis=0) - x_hat * (g_hat * x_hat).mean(axis=0)) / sigma
    return grad_x, (grad_output * x_hat).mean(axis=0), grad_output.mean(axis=0)


# --- the classic mistakes of the optimizers ---------------------------------------------------


def sgd_old_velocity(param, grad, velocity, lr, momentum):
    new_param = param - lr * velocity  # the step before the velocity took this gradient
    return new_param, momentum * velocity + grad


def sgd_uphill(param, grad, velocity, lr, momentum):
    velocity = momentum * velocity + grad
    return param + lr * velocity, velocity


def sgd_plain(param, grad, velocity, lr, momentum):
    return param - lr * grad, velocity


def sgd_averaged(param, grad, velocity, lr, momentum):
    velocity = momentum * velocity + (1 - momentum) * grad
    return param - lr * velocity, velocity


def sgd_returns_nothing(param, grad, velocity, lr, momentum):
    velocity *= momentum
    velocity += grad
    param -= lr * velocity


def sgd_raises_at_step_two(param, grad, velocity, lr, momentum):
    if velocity.any():  # (a velocity that is not zeros: the second step)
        raise KeyError("velocity")
    velocity = momentum * velocity + grad
    return param - lr * velocity, velocity


def adam_uncorrected(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return param - lr * m / (np.sqrt(v) + eps), m, v


def adam_eps_inside(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return param - lr * m_hat / np.sqrt(v_hat + eps), m, v


def adam_eps_before_correction(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    step_size = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    return param - step_size * m / (np.sqrt(v) + eps), m, v


def adam_t_from_zero(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** (t - 1))  # arrays: inf and nan, no exception
    v_hat = v / (1 - beta2 ** (t - 1))
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_t_from_zero_in_floats(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    step_size = lr / (1 - beta1 ** (t - 1))  # Python floats: ZeroDivisionError
    return param - step_size * m / (np.sqrt(v / (1 - beta2 ** (t - 1))) + eps), m, v


def adam_gradient_not_squared(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_only_m_corrected(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    return param - lr * m_hat / (np.sqrt(v) + eps), m, v


def adam_only_v_corrected(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    v_hat = v / (1 - beta2 ** t)
    return param - lr * m / (np.sqrt(v_hat) + eps), m, v


# (wrong solution, words its report must have: first the hint's own words, then the
# details: the N a hint names, the error)
WRONG_BY_NAME = {
    "linear": [
        (linear_dw_transposed, ["x.T @ grad_output, the right one transposed"]),
        (linear_db_mean, ["dL/db is 1/N of the right one", "(N = 3, the batch size)",
                          "(N = 5, the batch size)"]),
        (linear_db_not_summed, ["sum the gradient over the broadcast axes"]),
        (linear_dx_transposed, ["your dL/dx equals grad_output @ W.T"]),
    ],
    "softmax_cross_entropy": [
        (cross_entropy_no_mean, ["so divide by N", "N times the right one (N = 4, the "
                                 "batch size)", "(N = 6, the batch size)"]),
        (cross_entropy_no_one_hot, ["the one-hot of the labels is not subtracted"]),
        (cross_entropy_sign, ["your gradient has the wrong sign"]),
        (cross_entropy_log_softmax, ["uses the log-softmax where the softmax belongs"]),
    ],
    "batchnorm": [
        (batchnorm_constants, ["as if the batch's mean and sigma were constants"]),
        (batchnorm_no_variance_term, ["the variance's is missing"]),
        (batchnorm_unbiased, ["variance term divides by N - 1"]),
        (batchnorm_parameters_averaged, ["gamma and beta are used by every row",
                                         "1/N of the right one (N = 4, the batch size)",
                                         "(N = 6, the batch size)"]),
    ],
    "sgd_momentum": [
        (sgd_old_velocity, ["used the velocity from before this step"]),
        (sgd_uphill, ["moves along the velocity, p + lr * v: uphill"]),
        (sgd_plain, ["your steps are plain gradient descent"]),
        (sgd_averaged, ["your velocity is an average"]),
        (sgd_returns_nothing, ["hint: return new_param, new_velocity",
                               "sgd_momentum_step returned None; it should return "
                               "(new_param, new_velocity)"]),
    ],
    "adam": [
        (adam_uncorrected, ["Adam's without the bias correction"]),
        (adam_eps_inside, ["your eps is inside the square root"]),
        (adam_eps_before_correction, ["your eps is added to sqrt(v) before the bias "
                                      "correction"]),
        (adam_t_from_zero, ["not t - 1 or a count that starts at 0",
                            "inf or nan after the first step"]),
        (adam_t_from_zero_in_floats, ["not t - 1 or a count that starts at 0",
                                      "a division by zero at the first step",
                                      "ZeroDivisionError"]),
        (adam_gradient_not_squared, ["your v averages the gradient, not its square"]),
        (adam_only_m_corrected, ["only m is bias-corrected"]),
        (adam_only_v_corrected, ["only v is bias-corrected"]),
    ],
}
WRONG = [(name, wrong, words) for name, cases in WRONG_BY_NAME.items()
         for wrong, words in cases]


@pytest.mark.parametrize(("name", "wrong", "words"), WRONG,
                         ids=[wrong.__name__ for _, wrong, _ in WRONG])
def test_a_classic_mistake_fails_and_gets_its_hint(tmp_path, name, wrong, words):
    solve(name, tmp_path, {FUNCTION[name]: wrong})
    text, passed = grade(name, tmp_path)
    assert passed is False
    for phrase in words:
        assert has(text, phrase), f"{phrase!r} not in the report:\n{text}"
    # ... and no hint of another mistake (each is told from the others)
    own = [hint for hint in _all_hints(name) if has(hint, words[0])]
    others = [hint for hint in _all_hints(name) if hint not in own]
    assert not [hint for hint in others if has(text, hint)], text
    # the report fits 88 columns (the "Checking ... from PATH" line names tmp_path)
    assert all(len(line) <= 88 for line in text.splitlines()
               if not line.startswith("Checking ")), text


def _all_hints(name) -> list[str]:
    exercise = course.find(name)
    if name in ("sgd_momentum", "adam"):
        stepper = optimizers.SGD_MOMENTUM if name == "sgd_momentum" else optimizers.ADAM
        return [hint for hint, _ in stepper.variants]
    return [mistake.hint for mistake in exercise.mistakes]


def test_the_lr_inside_the_velocity_convention_passes(tmp_path):
    # v = m v + lr g; p = p - v: the same steps as PyTorch's while lr is constant
    def sgd_lr_inside(param, grad, velocity, lr, momentum):
        velocity = momentum * velocity + lr * grad
        return param - velocity, velocity

    solve("sgd_momentum", tmp_path, {"sgd_momentum_step": sgd_lr_inside})
    text, passed = grade("sgd_momentum", tmp_path)
    assert passed is True, text
    assert "hint:" not in text


def test_a_step_that_raises_says_at_which_step(tmp_path):
    solve("sgd_momentum", tmp_path, {"sgd_momentum_step": sgd_raises_at_step_two})
    text, passed = grade("sgd_momentum", tmp_path)
    assert passed is False
    assert "at step 2 of 20" in text and "KeyError" in text
    assert "raise KeyError" in text  # the student's own line


# --- the mistakes never describe a right gradient --------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", ["linear", "softmax_cross_entropy", "batchnorm"])
def test_no_mistake_matches_the_reference_gradient(tmp_path, name, seed):
    exercise = course.find(name)
    path = solve(name, tmp_path, SOLUTIONS[name])
    spec = grader.load_target(f"{path}::{exercise.target}")
    cases = grader.make_cases(spec, None, seed)
    for case in cases:
        assert mistake_hints(spec.function, case, exercise.mistakes, seed) == {}
    # ... while the same check does see a wrong gradient (it can fail)
    (tmp_path / "wrong").mkdir()
    wrong = solve(name, tmp_path / "wrong", {FUNCTION[name]: WRONG_BY_NAME[name][-1][0]})
    spec = grader.load_target(f"{wrong}::{exercise.target}")
    assert any(mistake_hints(spec.function, case, exercise.mistakes, seed)
               for case in cases)


@pytest.mark.parametrize("name", ["linear", "softmax_cross_entropy", "batchnorm"])
def test_every_batch_size_of_the_cases_has_its_hints(name):
    # a hint that names N exists once per batch size: the cases' sizes must be among them
    spec = grader.load_target(f"{template(course.find(name))}::{course.find(name).target}")
    sizes = {shapes[0][0] for shapes in spec.shapes}
    assert sizes <= set(layers.BATCH_SIZES)
    assert sizes - {1}, "a batch of one row cannot tell a sum from a mean"


def test_the_labels_of_the_cross_entropy_are_the_templates():
    module = grader.load_module(template(course.find("softmax_cross_entropy")))
    for n in range(1, 9):
        for classes in range(2, 6):
            assert np.array_equal(module.labels_for(n, classes),
                                  layers.cross_entropy_labels(n, classes))


def test_each_optimizer_variant_differs_from_the_library_on_some_case():
    # a variant that equals the right steps everywhere could never be named
    for stepper in (optimizers.SGD_MOMENTUM, optimizers.ADAM):
        for case in stepper.cases(np.random.default_rng(0)):
            grads, want = optimizers._library_run(case, stepper.library)
            reference = REFERENCE_STEPS[stepper.function]
            right = [params for _, params in
                     optimizers._trajectory(stepper, reference, case, grads)]
            assert optimizers._same(right, want)
        for hint, variant in stepper.variants:
            differs = []
            for case in stepper.cases(np.random.default_rng(0)):
                grads, want = optimizers._library_run(case, stepper.library)
                steps = [params for _, params in
                         optimizers._trajectory(stepper, variant, case, grads)]
                differs.append(not optimizers._same(steps, want))
            assert any(differs), hint


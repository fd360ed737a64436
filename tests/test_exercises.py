"""The op exercises of the course (tinygrad_edu/course/templates/), graded by the
`tinygrad-edu gradcheck FILE::NAME` command, and that command itself.

The reference solutions are the course's own (tests/test_course_ops.py): each is a
backward written as a plain function. `solved_copy` writes the exercise file into
tmp_path with the `raise NotImplementedError(...)` of its backward replaced by that
function's body, as a student would edit it; the grader then checks the copy
(in-process for speed, and once per exercise through the real command line).

Wrong solutions are the classic mistakes: each must fail, and where the report can say
why (a hint of gradcheck's own, which knows nothing of the exercise), say the right
thing. The course's hints for each exercise are tested in test_course_ops.py.
"""

from __future__ import annotations

import inspect
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from course_helpers import solve
from test_course_ops import OPS
from test_course_ops import SOLUTIONS as COURSE_SOLUTIONS

import tinygrad_edu as tg
from tinygrad_edu import grader
from tinygrad_edu.course.catalog import TEMPLATES

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = TEMPLATES  # the op exercises' files, in the package: what `exercises start` copies

# exercise file: (the Function's name, its reference backward), for every op exercise
SOLUTIONS = {name: (OPS[name].target, solution[f"{OPS[name].target}.backward"])
             for name, solution in COURSE_SOLUTIONS.items()}
sigmoid_backward = SOLUTIONS["sigmoid"][1]
matmul_backward = SOLUTIONS["matmul"][1]


# --- the classic mistakes ---------------------------------------------------------------


def sigmoid_missing_factor(ctx, grad_output):
    (s,) = ctx.saved_tensors
    return grad_output * s  # the (1 - s) is forgotten


def sigmoid_twice(ctx, grad_output):
    (s,) = ctx.saved_tensors
    return 2 * grad_output * s * (1 - s)  # a factor 2 crept in


def sigmoid_wrong_sign(ctx, grad_output):
    (s,) = ctx.saved_tensors
    return -grad_output * s * (1 - s)


def sigmoid_zeros(ctx, grad_output):
    (s,) = ctx.saved_tensors
    return grad_output * 0 * s


def softmax_elementwise(ctx, grad_output):
    (y,) = ctx.saved_tensors
    return grad_output * y * (1 - y)  # only the diagonal of the Jacobian


def logsumexp_without_softmax(ctx, grad_output):
    (p,) = ctx.saved_tensors
    return grad_output.unsqueeze(-1) * np.ones_like(p)  # as if it were a sum


def matmul_no_transpose(ctx, grad_output):
    a, b = ctx.saved_tensors
    return grad_output @ b, a @ grad_output  # right only when b and a are symmetric


def layernorm_ignores_the_mean(ctx, grad_output):
    y, sigma = ctx.saved_tensors
    return grad_output / sigma  # as if mu and sigma did not depend on x


def broadcast_add_no_sum(ctx, grad_output):
    return grad_output, grad_output  # the shapes are wrong wherever forward broadcast


def max_full_gradient_to_each_tie(ctx, grad_output):
    (is_max,) = ctx.saved_tensors
    return grad_output * is_max  # both tied elements get all of it: twice too much


def max_first_only(ctx, grad_output):
    (is_max,) = ctx.saved_tensors
    first = np.zeros(is_max.shape)
    first.flat[np.argmax(is_max)] = 1.0  # argmax's one-hot: the other tie gets nothing
    return grad_output * first


def conv1d_flipped(ctx, grad_output):
    x, w = ctx.saved_tensors
    k, m = w.shape[0], grad_output.shape[0]
    grad_w = tg.stack([(x[j:j + m] * grad_output).sum() for j in range(k)])
    grad_x = sum((grad_output * w[k - 1 - j]).pad([(j, k - 1 - j)]) for j in range(k))
    return grad_x, grad_w  # the kernel is flipped in dL/dx


# (exercise, wrong backward, a pattern the hints or the error must match, or None when
#  only the failure itself is asserted)
CONSTANT = r"factor|constant|scale|times|twice|2x|2 x|half|0\.5"
WRONG = [
    ("sigmoid", sigmoid_missing_factor, None),
    ("sigmoid", sigmoid_twice, CONSTANT),
    ("sigmoid", sigmoid_wrong_sign, r"opposite sign|sign"),
    ("sigmoid", sigmoid_zeros, r"zero"),
    ("softmax", softmax_elementwise, None),
    ("logsumexp", logsumexp_without_softmax, None),
    ("matmul", matmul_no_transpose, r"transpose"),
    ("layernorm", layernorm_ignores_the_mean, None),
    ("broadcast_add", broadcast_add_no_sum, r"broadcast.*sum|sum.*broadcast"),
    ("max_with_ties", max_full_gradient_to_each_tie, CONSTANT),
    ("max_with_ties", max_first_only, None),
    ("conv1d", conv1d_flipped, None),
]


# --- helpers ------------------------------------------------------------------------------


def solved_copy(folder: Path, exercise: str, backward) -> Path:
    """A copy of the exercise whose backward's `raise NotImplementedError(...)` is replaced
    by the body of `backward`, written to folder/<exercise>.py."""
    folder.mkdir(parents=True, exist_ok=True)
    return solve(exercise, folder, {f"{SOLUTIONS[exercise][0]}.backward": backward})


def grade(path: Path, name: str, **options) -> tuple[int, list, str]:
    """Run the grader in-process: (exit status, results, the printed table)."""
    target = grader.load_target(f"{path}::{name}")
    results = grader.check(target, **options)
    table = grader.format_table(target, results)
    return (0 if all(r.passed for r in results) else 1), results, table


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m tinygrad_edu gradcheck *args`, for real."""
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", "gradcheck", *args],
                          cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)


def _hints(results) -> str:
    """Every hint and error message of the failed rows, as one text."""
    parts = []
    for r in results:
        parts += [r.error or ""] + r.hints
        for failure in r.failures:
            parts += failure.hints
    return "\n".join(parts)


# --- the exercises themselves ------------------------------------------------------------


def test_the_op_exercises_are_the_course_templates():
    # every op exercise of the course is a file here, graded by gradcheck (no check of
    # its own), and examples/ no longer holds copies of them
    files = {p.stem for p in EXERCISES.glob("*.py")}
    assert len(SOLUTIONS) >= 19 and set(SOLUTIONS) <= files
    assert all(OPS[name].check is None for name in SOLUTIONS)
    assert not (ROOT / "examples" / "exercises").exists()


@pytest.mark.parametrize("exercise", SOLUTIONS)
def test_each_exercise_has_a_docstring_a_given_forward_and_shapes(exercise):
    # (test_course_ops compares each given forward with NumPy's)
    path = EXERCISES / f"{exercise}.py"
    module = grader.load_module(path)
    name = SOLUTIONS[exercise][0]
    op = getattr(module, name)
    assert issubclass(op, tg.Function)
    assert module.__doc__ and f"tinygrad-edu exercises check {exercise}" in module.__doc__
    assert "raise NotImplementedError" in inspect.getsource(op.backward)
    assert "raise NotImplementedError" not in inspect.getsource(op.forward)
    assert module.SHAPES


# --- the reference solutions pass -----------------------------------------------------


@pytest.mark.parametrize("exercise", SOLUTIONS)
def test_the_reference_solution_passes(exercise, tmp_path):
    name, backward = SOLUTIONS[exercise]
    path = solved_copy(tmp_path, exercise, backward)
    status, results, table = grade(path, name)
    assert status == 0, table
    assert {r.method for r in results} == {"central", "np.gradient"}
    assert len(results) == 2 * len(grader.load_module(path).SHAPES)
    assert "All" in table and "FAIL" not in table


# A process each costs a second: the command line runs one exercise of each kind (the
# in-process tests above run them all, through the same grader)
THROUGH_THE_COMMAND_LINE = ["mul", "relu", "sigmoid", "sum_axis", "transpose", "softmax",
                            "gather", "max_with_ties", "conv1d"]


@pytest.mark.parametrize("exercise", THROUGH_THE_COMMAND_LINE)
def test_the_reference_solution_passes_through_the_command_line(exercise, tmp_path):
    name, backward = SOLUTIONS[exercise]
    path = solved_copy(tmp_path / "solved", exercise, backward)
    result = cli(f"solved/{exercise}.py::{name}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert re.search(r"All \d+ checks passed", result.stdout)
    assert path.is_file()


@pytest.mark.parametrize("exercise", ["sigmoid", "broadcast_add", "matmul"])
def test_a_solution_passes_with_other_seeds(exercise, tmp_path):
    name, backward = SOLUTIONS[exercise]
    path = solved_copy(tmp_path, exercise, backward)
    for seed in (1, 2, 3):
        status, _, table = grade(path, name, seed=seed)
        assert status == 0, table


def test_the_reference_solutions_also_give_second_derivatives(tmp_path):
    # written with Tensor ops, so create_graph=True records them
    # (the exercises that save their input Tensors; the others save ndarrays, constants
    # to the recorded backward)
    for exercise in ("matmul", "broadcast_add", "conv1d"):
        name, backward = SOLUTIONS[exercise]
        op = getattr(grader.load_module(solved_copy(tmp_path, exercise, backward)), name)
        shapes = grader.load_module(EXERCISES / f"{exercise}.py").SHAPES[1]
        rng = np.random.default_rng(0)
        inputs = [tg.Tensor(rng.standard_normal(s), requires_grad=True, dtype=np.float64)
                  for s in shapes]
        assert tg.gradgradcheck(lambda *xs, op=op: op.apply(*xs).sum(), inputs,
                                verbose=False), exercise


# --- wrong solutions fail, with the right hint ----------------------------------------


@pytest.mark.parametrize("exercise, backward, hint", WRONG,
                         ids=[w[1].__name__ for w in WRONG])
def test_a_wrong_solution_fails(exercise, backward, hint, tmp_path):
    name = SOLUTIONS[exercise][0]
    path = solved_copy(tmp_path, exercise, backward)
    status, results, table = grade(path, name)
    assert status == 1, table
    assert "FAILED" in table
    failed = [r for r in results if not r.passed]
    assert failed
    for r in failed:  # every failed row says where or why
        assert r.error or any(f.worst is not None for f in r.failures)


@pytest.mark.parametrize("exercise, backward, hint", [w for w in WRONG if w[2]],
                         ids=[w[1].__name__ for w in WRONG if w[2]])
def test_a_wrong_solution_gets_the_right_hint(exercise, backward, hint, tmp_path):
    path = solved_copy(tmp_path, exercise, backward)
    _, results, table = grade(path, SOLUTIONS[exercise][0])
    failed = [r for r in results if not r.passed]
    assert re.search(hint, _hints(failed), flags=re.IGNORECASE), table
    assert "hint:" in table


def test_a_wrong_solution_fails_through_the_command_line_and_shows_the_worst_element(tmp_path):
    solved_copy(tmp_path, "sigmoid", sigmoid_missing_factor)
    result = cli("sigmoid.py::Sigmoid", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"^\s+1\s+\(5,\)\s+central\s+FAIL", out, flags=re.MULTILINE), out
    assert "np.gradient" in out and "worst:" in out and "analytic" in out and "numeric" in out
    assert "8 of 8 checks FAILED" in out


def test_the_worst_element_is_the_largest_error(tmp_path):
    path = solved_copy(tmp_path, "sigmoid", sigmoid_missing_factor)
    _, results, _ = grade(path, "Sigmoid", shapes=[((3,),)])
    (failure,) = results[0].failures
    out_idx, in_idx, analytic, numeric, abs_err, _ = failure.worst
    x = results[0].case.inputs[0]
    s = 1 / (1 + np.exp(-x))
    # off by s - s(1 - s) = s^2 on the diagonal: the worst is the largest s^2
    assert in_idx == (int(np.argmax(s ** 2)),) and out_idx == in_idx[0]
    assert analytic == pytest.approx(s.max()) and numeric == pytest.approx(s.max() * (1 - s.max()))
    assert abs_err == pytest.approx(s.max() ** 2, rel=1e-4)


def test_a_backward_that_raises_something_else_is_a_failed_case(tmp_path):
    def attribute_error(ctx, grad_output):
        return ctx.no_such_thing

    path = solved_copy(tmp_path, "sigmoid", attribute_error)
    status, results, table = grade(path, "Sigmoid")
    assert status == 1
    assert all(r.error.startswith("AttributeError") for r in results), table


def test_a_gradient_of_the_wrong_shape_says_to_sum_over_the_broadcast_axes(tmp_path):
    path = solved_copy(tmp_path, "broadcast_add", broadcast_add_no_sum)
    _, results, table = grade(path, "BroadcastAdd")
    assert results[0].passed and results[1].passed  # (3,) + (3,): nothing was broadcast
    assert not any(r.passed for r in results[2:])
    assert "sum the gradient over the broadcast axes" in table


def test_max_sharing_with_ties_is_what_tinygrad_edu_does():
    x = tg.Tensor(np.array([0.2, 1.5, -0.3, 1.5]), requires_grad=True, dtype=np.float64)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0.5, 0, 0.5])


# --- unsolved exercises ------------------------------------------------------------------


@pytest.mark.parametrize("exercise", SOLUTIONS)
def test_an_unsolved_exercise_fails_with_a_readable_table(exercise):
    name = SOLUTIONS[exercise][0]
    status, results, table = grade(EXERCISES / f"{exercise}.py", name)
    assert status == 1
    assert all(r.error.startswith("NotImplementedError") for r in results), table
    assert "backward not written yet" in table and "NotImplementedError" in table
    assert f"{name}.backward" in table  # the exercise's own message is shown


def test_an_unsolved_exercise_through_the_command_line(tmp_path):
    result = cli(str(EXERCISES / "softmax.py") + "::Softmax", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for part in ("case", "inputs", "method", "result", "central", "np.gradient",
                 "backward not written yet", "NotImplementedError", "every check (8)"):
        assert part in result.stdout, part


def test_python_dash_m_and_the_installed_command_agree(tmp_path):
    solved_copy(tmp_path, "sigmoid", sigmoid_backward)
    script = Path(sys.executable).parent / "tinygrad-edu"
    assert script.is_file(), "pip install -e . installs the tinygrad-edu command here"
    result = subprocess.run([str(script), "gradcheck", "sigmoid.py::Sigmoid"], cwd=tmp_path,
                            env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == cli("sigmoid.py::Sigmoid", cwd=tmp_path).stdout


# --- plain functions, shapes, seeds, defaults ----------------------------------------


PLAIN = '''
import tinygrad_edu as tg


def softsign(x):
    return x / (1 + x.abs())


def weighted(x, y):
    return (x * y).tanh()


def wrong(x):
    return tg.Tensor(x.data * 2)  # cuts the graph: no gradient reaches x
'''


def test_a_plain_function_is_checked_on_default_shapes(tmp_path):
    (tmp_path / "ops.py").write_text(PLAIN)
    status, results, table = grade(tmp_path / "ops.py", "softsign")
    assert status == 0, table
    assert [r.case.shapes for r in results[::2]] == [s for s in grader.DEFAULT_SHAPES[1]]
    status, results, table = grade(tmp_path / "ops.py", "weighted")
    assert status == 0, table
    assert [r.case.shapes for r in results[::2]] == [s for s in grader.DEFAULT_SHAPES[2]]
    assert ((3, 4), (4,)) in [r.case.shapes for r in results]  # broadcasting is checked


def test_a_plain_function_through_the_command_line(tmp_path):
    (tmp_path / "ops.py").write_text(PLAIN)
    result = cli("ops.py::softsign", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    result = cli("ops.py::wrong", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_shapes_on_the_command_line_replace_the_files(tmp_path):
    solved_copy(tmp_path, "matmul", matmul_backward)
    result = cli("matmul.py::MatMul", "--shapes", "2x5,5x1", "3x3,3x3", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(2, 5), (5, 1)" in result.stdout and "(2, 3), (3, 4)" not in result.stdout
    assert "All 4 checks passed" in result.stdout
    result = cli("matmul.py::MatMul", "--shapes", "3x3", cwd=tmp_path)
    assert result.returncode == 2 and "takes 2 input(s)" in result.stderr


def test_parse_case():
    assert grader.parse_case("3x4,4") == ((3, 4), (4,))
    assert grader.parse_case("5") == ((5,),)
    assert grader.parse_case("(),2x3") == ((), (2, 3))
    for text in ("3x", "a", "3x-1", ""):
        with pytest.raises(ValueError):
            grader.parse_case(text)


def test_the_seed_changes_the_inputs_and_the_same_seed_repeats_them():
    target = grader.load_target(f"{EXERCISES / 'sigmoid.py'}::Sigmoid")
    first, again, other = (grader.make_cases(target, seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(a.inputs[0], b.inputs[0]) for a, b in zip(first, again))
    assert not np.array_equal(first[0].inputs[0], other[0].inputs[0])
    assert all(c.inputs[0].dtype == np.float64 for c in first)


def test_inputs_from_the_file_are_used(tmp_path):
    (tmp_path / "log.py").write_text(
        "import numpy as np\n\n\n"
        "def log(x):\n    return x.log()\n\n\n"
        "SHAPES = [((4,),), ((2, 3),)]\n\n\n"
        "def INPUTS(rng, shapes):\n"
        "    return [rng.uniform(0.5, 2.0, size=s) for s in shapes]\n")
    target = grader.load_target(f"{tmp_path / 'log.py'}::log")
    assert all((c.inputs[0] > 0).all() for c in grader.make_cases(target))
    status, _, table = grade(tmp_path / "log.py", "log")
    assert status == 0, table


def test_run_prints_the_table_and_returns_the_status(tmp_path):
    path = solved_copy(tmp_path, "sigmoid", sigmoid_backward)
    out = io.StringIO()
    assert grader.run(f"{path}::Sigmoid", out=out) == 0
    assert out.getvalue().startswith("Checking Sigmoid from")


def test_a_file_can_import_its_neighbours(tmp_path):
    (tmp_path / "helpers.py").write_text("def square(x):\n    return x * x\n")
    (tmp_path / "mine.py").write_text("from helpers import square\n\n\n"
                                      "def f(x):\n    return square(x).sin()\n")
    result = cli("mine.py::f", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(tmp_path) not in sys.path


# --- usage errors: a message and status 2, never a traceback ------------------------


USAGE = [  # (arguments, a part of the message)
    (["missing.py::Op"], "no such file: missing.py"),
    (["ops.py"], "FILE.py::NAME"),
    (["ops.py::"], "the name after '::' is missing"),
    (["ops.py::Nope"], "ops.py has no 'Nope'; it defines Good (a tg.Function)"),
    (["ops.py::NotAFunction"], "not a tg.Function subclass"),
    (["ops.py::NUMBER"], "NUMBER is a int, not a tg.Function subclass or a function"),
    (["ops.py::variadic"], "declare the shapes"),
    (["broken.py::Op"], "ZeroDivisionError: division by zero"),
    (["syntax.py::Op"], "SyntaxError"),
    (["exits.py::Op"], "SystemExit"),
    (["notes.txt::Op"], "not a Python file"),
    (["badshapes.py::f"], "SHAPES"),
    (["badinputs.py::f"], "INPUTS(rng, ((3,),)) raised"),
    (["ops.py::Good", "--shapes", "3y4"], "is not a case of input shapes"),
    (["ops.py::Good", "--seed", "x"], "invalid int value"),
]


@pytest.fixture
def usage_files(tmp_path):
    (tmp_path / "ops.py").write_text(
        "import tinygrad_edu as tg\n\n\n"
        "class Good(tg.Function):\n"
        "    @staticmethod\n    def forward(ctx, x):\n        return x.data * 2\n\n"
        "    @staticmethod\n    def backward(ctx, g):\n        return g * 2\n\n\n"
        "class NotAFunction:\n    pass\n\n\n"
        "def variadic(*xs):\n    return xs[0]\n\n\n"
        "NUMBER = 3\n")
    (tmp_path / "broken.py").write_text("x = 1\ny = x / 0\n")
    (tmp_path / "syntax.py").write_text("def f(:\n    pass\n")
    (tmp_path / "exits.py").write_text("import sys\nsys.exit('bye')\n")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "badshapes.py").write_text("def f(x):\n    return x\n\n\nSHAPES = [3, 4]\n")
    (tmp_path / "badinputs.py").write_text(
        "def f(x):\n    return x\n\n\nSHAPES = [((3,),)]\n\n\n"
        "def INPUTS(rng, shapes):\n    raise KeyError('oops')\n")
    return tmp_path


@pytest.mark.parametrize("args, part", USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_usage_errors_exit_2_with_a_message(args, part, usage_files):
    result = cli(*args, cwd=usage_files)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert part in result.stderr, result.stderr


def test_an_import_error_shows_the_line_of_the_file(usage_files):
    result = cli("broken.py::Op", cwd=usage_files)
    assert "line 2: y = x / 0" in result.stderr
    assert result.stderr.startswith("tinygrad-edu gradcheck: broken.py raised an error")


def test_grader_errors_in_process(usage_files):
    with pytest.raises(grader.GraderError, match="no such file"):
        grader.load_target(f"{usage_files / 'missing.py'}::Op")
    with pytest.raises(grader.GraderError, match="division by zero"):
        grader.load_target(f"{usage_files / 'broken.py'}::Op")
    assert not any(name.endswith("_broken") for name in sys.modules)


def test_help_lists_the_command():
    top = subprocess.run([sys.executable, "-m", "tinygrad_edu", "--help"], env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert "gradcheck" in top.stdout
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "gradcheck", "--help"],
                            env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for part in ("FILE.py::NAME", "--shapes", "--seed", "SHAPES", "INPUTS", "np.gradient"):
        assert part in result.stdout, part

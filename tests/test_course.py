"""The course as a student meets it: `tinygrad-edu exercises` lists, starts and checks.

Each stage's test file (test_course_*.py) holds its reference solutions in SOLUTIONS;
here every one of them goes through the real command line, in a folder made by
`exercises start`, and every template, unsolved, fails with "not written yet".
"""

from __future__ import annotations

import importlib
import json
import re
import time

import pytest
from course_helpers import ROOT, cli, solve

from tinygrad_edu import course
from tinygrad_edu.cli import main
from tinygrad_edu.course.catalog import TEMPLATES, template

STAGE_TESTS = ["test_course_derivatives", "test_course_ops", "test_course_engine",
               "test_course_layers", "test_course_conv_rnn"]
SOLUTIONS = {}
for _module in STAGE_TESTS:  # (a missing one fails the test that every exercise is solved)
    try:
        SOLUTIONS.update(importlib.import_module(_module).SOLUTIONS)
    except ModuleNotFoundError:
        pass


def test_there_are_at_least_twenty_exercises_in_seven_stages():
    assert len(course.EXERCISES) >= 20
    assert course.STAGES[0] == "derivatives" and course.STAGES[-1] == "recurrence"
    assert {e.stage for e in course.EXERCISES} == set(course.STAGES)
    # numbered in order, stage by stage
    assert [e.number for e in course.EXERCISES] == list(range(1, len(course.EXERCISES) + 1))
    order = [course.STAGES.index(e.stage) for e in course.EXERCISES]
    assert order == sorted(order)


def test_every_exercise_has_a_template_a_reference_solution_and_nothing_else():
    names = {e.name for e in course.EXERCISES}
    files = {p.stem for p in TEMPLATES.glob("*.py")} - {"__init__"}
    assert files == names
    assert set(SOLUTIONS) == names, f"without a solution: {sorted(names - set(SOLUTIONS))}"


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda e: e.name)
def test_each_template_teaches_and_ends_with_its_check_command(exercise):
    text = template(exercise).read_text()
    docstring = text.split('"""')[1]
    assert f"tinygrad-edu exercises check {exercise.name}" in docstring
    assert "NotImplementedError" in text
    assert all(len(line) <= 88 for line in docstring.splitlines()), exercise.name
    assert len(exercise.teaches) <= 70, exercise.teaches


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda e: e.name)
def test_each_unsolved_template_fails_with_not_written_yet(exercise, tmp_path):
    course.start(tmp_path)
    text, passed = course.grade(exercise.name, tmp_path)
    assert not passed
    assert "not written yet" in text, text


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """A course folder made by the real `exercises start`, every exercise then solved."""
    folder = tmp_path_factory.mktemp("course")
    done = cli("exercises", "start", str(folder), cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    for name, solution in SOLUTIONS.items():
        solve(name, folder, solution)
    return folder


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda e: e.name)
def test_each_reference_solution_passes_through_the_command_line(exercise, solved):
    started = time.perf_counter()
    done = cli("exercises", "check", exercise.name, cwd=solved)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout and "hint:" not in done.stdout
    assert done.stdout.startswith(f"Exercise {exercise.number} of {len(course.EXERCISES)}")
    assert all(len(line) <= 88 for line in done.stdout.splitlines()), done.stdout
    print(f"{exercise.name}: {seconds:.2f} s")  # (shown with -s: the grading times)


def test_the_list_shows_the_status_of_each_exercise(tmp_path):
    done = cli("exercises", cwd=tmp_path)
    assert done.returncode == 0
    assert "No exercises in this folder yet" in done.stdout
    rows = [line for line in done.stdout.splitlines() if re.match(r"\s*\d+  \w", line)]
    assert len(rows) == len(course.EXERCISES) >= 20

    assert cli("exercises", "start", "course", cwd=tmp_path).returncode == 0
    folder = tmp_path / "course"
    solve("central_difference", folder, SOLUTIONS["central_difference"])
    assert cli("exercises", "check", "central_difference", cwd=folder).returncode == 0
    solve("sigmoid", folder, {"Sigmoid.backward": _sigmoid_without_one_minus})
    assert cli("exercises", "check", "sigmoid", cwd=folder).returncode == 1
    solve("softmax", folder, SOLUTIONS["softmax"])  # solved, not checked yet
    assert course.statuses(folder)["softmax"] == "edited"
    # unchanged templates, even checked, are todo
    assert cli("exercises", "check", "matmul", "--dir", str(folder),
               cwd=tmp_path).returncode == 1

    listing = cli("exercises", "--dir", str(folder), cwd=tmp_path).stdout
    status = {m.group(1): m.group(2) for m in re.finditer(r"^\s*\d+  (\w+)\s+(\w+)", listing,
                                                          re.M)}
    assert status["central_difference"] == "done"
    assert status["sigmoid"] == "failing"
    assert status["softmax"] == "edited"
    assert status["matmul"] == "todo" and status["gradient_check"] == "todo"
    assert "1 done, 1 failing, 1 edited" in listing
    assert "Next: tinygrad-edu exercises check gradient_check" in listing
    assert all(len(line) <= 88 for line in listing.splitlines() if str(folder) not in line)
    # the same from inside the folder, and with `list`
    assert cli("exercises", "list", cwd=folder).stdout == listing.replace(
        f"In {folder}:", "In this folder:").replace(f" --dir {folder}", "")


def _sigmoid_without_one_minus(ctx, grad_output):
    (s,) = ctx.saved_tensors
    return grad_output * s


def test_start_never_overwrites_a_file(tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "sigmoid.py").write_text("# my work\n")
    done = cli("exercises", "start", "course", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (folder / "sigmoid.py").read_text() == "# my work\n"
    count = len(course.EXERCISES)
    assert f"Wrote {count - 1} exercise files into course; kept 1" in done.stdout
    again = cli("exercises", "start", "course", cwd=tmp_path)
    assert f"Wrote 0 exercise files into course; kept {count}" in again.stdout
    assert (folder / "sigmoid.py").read_text() == "# my work\n"
    # a check of the overwritten-by-the-student file: it has no Sigmoid, exit 2
    broken = cli("exercises", "check", "sigmoid", cwd=folder)
    assert broken.returncode == 2 and "Sigmoid" in broken.stderr


@pytest.mark.parametrize("args, words", [
    (["exercises", "check", "sigmod"], "did you mean sigmoid"),
    (["exercises", "check", "sigmoid"], "no sigmoid.py in this folder: start a course"),
    (["exercises", "check", "sigmoid", "--dir", "nowhere"], "no sigmoid.py in nowhere"),
    (["exercises", "start", "a_file"], "is a file, not a folder"),
])
def test_usage_errors_exit_2_with_what_to_do(args, words, tmp_path):
    (tmp_path / "a_file").write_text("")
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_file_that_raises_on_import_and_one_that_loops(tmp_path):
    course.start(tmp_path)
    (tmp_path / "sigmoid.py").write_text("import numpy as np\n1 / 0\n")
    done = cli("exercises", "check", "sigmoid", cwd=tmp_path)
    assert done.returncode == 2 and "ZeroDivisionError" in done.stderr
    assert "line 2: 1 / 0" in done.stderr
    text = template(course.find("central_difference")).read_text()
    (tmp_path / "central_difference.py").write_text(
        text.replace("raise NotImplementedError(", "while True:\n        pass\n    raise "
                     "NotImplementedError("))
    started = time.perf_counter()
    done = cli("exercises", "check", "central_difference", "--timeout", "2", cwd=tmp_path)
    assert done.returncode == 2 and "did not finish within 2 seconds" in done.stderr
    assert time.perf_counter() - started < 30


def test_the_check_in_process_and_the_gradcheck_command_agree(tmp_path):
    solve("sigmoid", tmp_path, SOLUTIONS["sigmoid"])
    assert main(["exercises", "check", "sigmoid", "--dir", str(tmp_path),
                 "--timeout", "0"]) == 0
    progress = json.loads((tmp_path / ".progress.json").read_text())
    assert progress["sigmoid"]["passed"] is True
    # the file is an ordinary gradcheck target too
    done = cli("gradcheck", f"{tmp_path / 'sigmoid.py'}::Sigmoid", cwd=tmp_path)
    assert done.returncode == 0, done.stdout


def test_help_lists_the_command():
    done = cli("--help", cwd=ROOT)
    assert "exercises" in done.stdout
    done = cli("exercises", "--help", cwd=ROOT)
    assert "start" in done.stdout and "check" in done.stdout and "--dir" in done.stdout


def test_the_templates_are_package_data():
    # an installed package (not only this checkout) must carry every template
    import configparser
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = config["options.package_data"]["tinygrad_edu"].replace("\n", " ").split(",")
    patterns = [p.strip() for p in patterns]
    package = ROOT / "tinygrad_edu"
    covered = {p for pattern in patterns for p in package.glob(pattern)}
    assert all(template(e) in covered for e in course.EXERCISES)
    assert (TEMPLATES / "__init__.py").is_file()  # a package: found by packages = find:

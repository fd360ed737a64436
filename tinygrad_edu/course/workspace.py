"""The student's course folder: the templates copied in, and what each check found.

`start(folder)` copies every template that is not there yet (a file that exists is
never overwritten). `grade(name, folder)` checks one exercise and remembers the result
in the folder's `.progress.json`, keyed by a hash of the file as it was checked, so that
`statuses(folder)` can tell each exercise's state without running anything:

    todo      the file is still the template (or missing)
    failing   the last check of this very file failed
    done      the last check of this very file passed
    edited    the file changed since its last check (or was never checked): check it
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from pathlib import Path

from .. import grader
from .catalog import EXERCISES, CourseError, find, template
from .grading import format_rows, grade_op

PROGRESS = ".progress.json"


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def start(folder) -> tuple[list[Path], list[Path]]:
    """Copy the templates into `folder` (made if needed): (files written, files kept)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CourseError(f"{folder} is a file, not a folder: name a new folder, such as "
                          "course")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as problem:
        raise CourseError(f"cannot make the folder {folder}: {problem.strerror or problem}") \
            from None
    written, kept = [], []
    for exercise in EXERCISES:
        target = folder / f"{exercise.name}.py"
        if target.exists():
            kept.append(target)
            continue
        try:
            with open(target, "x") as out:  # (x: never replace a file made meanwhile)
                out.write(template(exercise).read_text())
        except OSError as problem:
            raise CourseError(f"cannot write {target}: {problem.strerror or problem}") \
                from None
        written.append(target)
    return written, kept


def _read_progress(folder: Path) -> dict:
    try:
        progress = json.loads((folder / PROGRESS).read_text())
    except (OSError, ValueError):  # none yet, or damaged: start again
        return {}
    return progress if isinstance(progress, dict) else {}


def _record(folder: Path, name: str, digest: str, passed: bool) -> None:
    """Remember a check's result (written to a temporary file, then renamed in place)."""
    progress = _read_progress(folder)
    progress[name] = {"sha256": digest, "passed": passed}
    temporary = folder / f"{PROGRESS}.{os.getpid()}.tmp"
    try:
        temporary.write_text(json.dumps(progress, indent=1, sort_keys=True) + "\n")
        os.replace(temporary, folder / PROGRESS)
    except OSError:  # a read-only folder: the check still counts, it is just not kept
        temporary.unlink(missing_ok=True)


def statuses(folder) -> dict[str, str]:
    """{exercise name: todo / failing / done / edited}, read from the folder's files."""
    folder = Path(folder)
    progress = _read_progress(folder)
    states = {}
    for exercise in EXERCISES:
        digest = _digest(folder / f"{exercise.name}.py")
        seen = progress.get(exercise.name)
        if digest is None or digest == _digest(template(exercise)):
            states[exercise.name] = "todo"
        elif not isinstance(seen, dict) or seen.get("sha256") != digest:
            states[exercise.name] = "edited"
        else:
            states[exercise.name] = "done" if seen.get("passed") else "failing"
    return states


def exercise_file(name: str, folder) -> tuple:
    """(the exercise, its file in the folder), or a CourseError saying what to do."""
    exercise = find(name)
    path = Path(folder) / f"{exercise.name}.py"
    if not path.is_file():
        where = "this folder" if Path(folder) == Path(".") else str(folder)
        raise CourseError(f"no {exercise.name}.py in {where}: start a course folder with "
                          "`tinygrad-edu exercises start DIR` and run the check there (or "
                          "give --dir DIR)")
    return exercise, path


def grade(name: str, folder=".", seed: int = 0, record: bool = True) -> tuple[str, bool]:
    """Check one exercise in the folder: (the report, passed). The result is remembered
    for `statuses`. Raises CourseError (or grader.GraderError) when it cannot run."""
    exercise, path = exercise_file(name, folder)
    digest = _digest(path)
    header = textwrap.fill(f"Exercise {exercise.number} of {len(EXERCISES)} "
                           f"({exercise.stage}): {exercise.name}, {exercise.teaches}", 88,
                           subsequent_indent="  ", break_on_hyphens=False)
    if exercise.check is None:
        text, passed = grade_op(path, exercise.target, exercise.mistakes, seed)
        if passed and exercise.then is not None:  # right: now put it to work
            title, check = exercise.then
            rows = check(grader.load_module(path), path, seed)
            text += "\n\n" + format_rows(title, path, rows)
            passed = all(r.passed for r in rows)
    else:
        module = grader.load_module(path)
        if not hasattr(module, exercise.target):
            raise CourseError(f"{path.name} has no {exercise.target!r}: the check calls it "
                              "(copy it back from the template: rename your file and run "
                              "`tinygrad-edu exercises start` again)")
        rows = exercise.check(module, path, seed)
        text, passed = format_rows(exercise.name, path, rows), all(r.passed for r in rows)
    if record:
        _record(Path(folder), exercise.name, digest, passed)
    return f"{header}\n\n{text}", passed

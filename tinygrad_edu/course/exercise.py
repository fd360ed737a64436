"""What an exercise is: a template file to fill in, and how to grade it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    """One exercise of the course.

    name: the template's file name without .py, and the name `check` takes.
    target: what the grader calls in the student's file (a tg.Function subclass, or a
        function).
    teaches: one line for the list.
    check: for exercises that are not ops, `check(module, path, seed) -> list[Row]`
        (see grading.py); None for an op, graded with gradcheck.
    mistakes: for an op, known wrong backwards to name in hints (grading.Mistake).
    then: for an op, `(title, check)`: once gradcheck passes, `check(module, path, seed)
        -> list[Row]` puts the op to work (a network trained with it), titled `title`.
    stage, number: filled in by the catalog, from the stage the exercise is listed in.
    """

    name: str
    target: str
    teaches: str
    check: object = None
    mistakes: tuple = ()
    then: tuple | None = None
    stage: str = ""
    number: int = 0

"""Every exercise of the course, in order: the stages, and the exercises of each."""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path

from . import convolution, derivatives, engine_walk, layers, op_backwards, optimizers, recurrence

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The stages in the order they are taken: from a numeric derivative to an RNN.
STAGES = [module.STAGE for module in (derivatives, op_backwards, engine_walk, layers,
                                      optimizers, convolution, recurrence)]

EXERCISES = [replace(exercise, stage=module.STAGE, number=0)
             for module in (derivatives, op_backwards, engine_walk, layers, optimizers,
                            convolution, recurrence)
             for exercise in module.EXERCISES]
EXERCISES = [replace(exercise, number=number)
             for number, exercise in enumerate(EXERCISES, start=1)]
BY_NAME = {exercise.name: exercise for exercise in EXERCISES}


class CourseError(Exception):
    """A course command that cannot run: an unknown exercise, no workspace, no file."""


def find(name: str):
    """The exercise called `name` (its file name, with or without .py)."""
    name = name.removesuffix(".py")
    if name in BY_NAME:
        return BY_NAME[name]
    close = difflib.get_close_matches(name, BY_NAME, n=3)
    suggestion = (f"did you mean {' or '.join(close)}? " if close else "")
    raise CourseError(f"no exercise is called {name!r}: {suggestion}`tinygrad-edu exercises` "
                      "lists them all")


def template(exercise) -> Path:
    """The template file of an exercise, inside the package."""
    return TEMPLATES / f"{exercise.name}.py"

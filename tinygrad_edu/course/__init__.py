"""The course: build the framework yourself, exercise by exercise.

    tinygrad-edu exercises                 # the exercises, in order, with your status
    tinygrad-edu exercises start course    # copy the templates into ./course
    tinygrad-edu exercises check sigmoid   # grade one (in the course folder)

Seven stages take a learner from a numeric derivative to the backward walk of the
engine, layers, optimizers, a convolution and backprop through time. Each exercise is a
template file with the math in its docstring and a `raise NotImplementedError` to
replace; the grader runs it on cases and names the classic mistakes it recognises.

Files: catalog.py lists the exercises, one module per stage defines them (and how each
is checked), grading.py runs the checks and prints the report, workspace.py keeps the
student's folder.
"""

from .catalog import EXERCISES, STAGES, CourseError, find
from .exercise import Exercise
from .grading import Mistake, Row
from .workspace import grade, start, statuses

__all__ = ["EXERCISES", "STAGES", "CourseError", "Exercise", "Mistake", "Row", "find",
           "grade", "start", "statuses"]

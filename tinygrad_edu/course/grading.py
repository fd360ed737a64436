"""Grading one exercise: run the student's code on cases, and say what went wrong.

Two kinds of exercise are graded here:

- an op (a `tg.Function` whose backward the student writes) goes through the grader of
  `tinygrad-edu gradcheck` (grader.py): gradcheck on random float64 inputs, case by case.
  Where a backward fails, the exercise's known mistakes (`Mistake`) are tried on the same
  inputs: one whose gradient equals the student's is named in a hint.
- anything else (a numeric derivative, the backward walk, an optimizer step) has a
  check function of its own, `check(module, seed) -> list[Row]`, which runs the
  student's function on cases and compares it with the right answer. The helpers below
  (`attempt`, `compare`) turn what it finds into rows.

Either way the result is a table with one row per case, then each failure explained
once, with its hints, then one line that says how many checks passed.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import grader
from ..tensor import Tensor

WIDTH = 88  # the report's lines, like the docs', fit 88 columns


@dataclass
class Row:
    """One case of a custom check: what was tried, and what came of it."""

    case: str                                   # a few words: "sin at x = 0.7"
    passed: bool
    reason: str = ""                            # the table's few words when it failed
    details: list = field(default_factory=list)  # lines under the table
    hints: list = field(default_factory=list)


@dataclass(frozen=True)
class Mistake:
    """A known wrong backward of an op exercise, to recognise in a student's gradient.

    `vjp(g, out, *inputs)` computes, with NumPy, the gradients the mistaken backward
    gives: one array per input (None where the mistake says nothing about that input),
    for upstream gradient g, output out and the input arrays. `hint` says what the grader
    saw, and what to do.
    """

    hint: str
    vjp: object


class NotWritten(Exception):
    """Raised by a check when the student's function still raises NotImplementedError."""


# --- running the student's code ---------------------------------------------------------


def error_row(case: str, error: BaseException, path: Path, hints=()) -> Row:
    """The row of a case whose code raised: the exception, where, and why maybe."""
    if isinstance(error, NotImplementedError):
        return Row(case, False, "not written yet", [f"NotImplementedError: {error}".rstrip(": ")],
                   ["not written yet: replace the `raise NotImplementedError(...)` with your "
                    "code (the docstring at the top of the file gives the math)"])
    if isinstance(error, RecursionError):
        hints = [HINT_RECURSION, *hints]
    name = type(error).__name__
    message = str(error).strip().splitlines()
    details = [f"{name}: {message[0]}" if message else name]
    details += [f"  {line}" for line in grader.student_lines(error, path)]
    return Row(case, False, f"raised {name}", details, list(hints))


HINT_RECURSION = (
    "recursion too deep: a function that calls itself once per node stops near 1,000 "
    "levels (Python's recursion limit), and real graphs are deeper (an RNN over a long "
    "sequence, many training steps kept in one graph). Walk with a list as an explicit "
    "stack: push the start, then pop a node, handle it, push what it leads to")


def attempt(case: str, path: Path, run, *, hints=()) -> Row:
    """Run `run()`, which returns a Row (or raises): an exception in the student's code
    becomes a failed row with its message, never a crash of the grader."""
    try:
        return run()
    except Exception as error:  # the student's code raised: a failed case, shown
        return error_row(case, error, path, hints)


def compare(case: str, got, want, *, rtol: float = 1e-6, atol: float = 1e-9,
            name: str = "result", hints=()) -> Row:
    """A row saying whether `got` equals `want` (arrays or numbers) within tolerances,
    and, when not, where they differ most."""
    want = np.asarray(want, dtype=np.float64)
    try:
        got = np.asarray(getattr(got, "data", got), dtype=np.float64)
    except (TypeError, ValueError):
        return Row(case, False, f"{name} is not numbers",
                   [f"your {name} is a {type(got).__name__}, not a number or an array"],
                   list(hints))
    if got.shape != want.shape:
        return Row(case, False, f"{name} of the wrong shape",
                   [f"your {name} has shape {got.shape}; it should be {want.shape}"],
                   list(hints))
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol)
    if not bad.any():
        return Row(case, True)
    if got.size == 1:
        return Row(case, False, f"wrong {name}",
                   [f"yours {got.item():.10g}, right {want.item():.10g}"], list(hints))
    error = np.where(bad, np.abs(got - want), -1.0)
    worst = np.unravel_index(int(np.argmax(error)), got.shape) if got.shape else ()
    where = f" at {[int(i) for i in worst]}" if got.shape else ""
    details = [f"{int(bad.sum())} of {got.size} entries differ; worst{where}: yours "
               f"{got[worst]:.6g}, right {want[worst]:.6g}"]
    return Row(case, False, f"wrong {name}", details, list(hints))


# --- op exercises: the grader, and the mistakes it knows ---------------------------------


def mistake_hints(function, case: grader.Case, mistakes, seed: int = 0) -> dict:
    """For each input, the hints of the known mistakes whose gradient equals the
    student's on this case: {input index: [hint, ...]}."""
    if not mistakes:
        return {}
    try:
        tensors = [Tensor(a.copy(), requires_grad=True, dtype=np.float64)
                   for a in case.inputs]
        out = function(*tensors)
        g = np.random.default_rng(seed).standard_normal(out.shape)
        out.backward(Tensor(g))
        got = [None if t.grad is None else t.grad.data for t in tensors]
    except Exception:  # the student's backward raises: the error says more than a hint
        return {}
    found: dict = {}
    for mistake in mistakes:
        try:
            wrong = mistake.vjp(g, np.asarray(out.data), *[a.copy() for a in case.inputs])
        except Exception:  # a mistake that makes no sense for these shapes
            continue
        for i, (mine, theirs) in enumerate(zip(got, wrong)):
            if theirs is None or mine is None:
                continue
            theirs = np.asarray(theirs, dtype=np.float64)
            if theirs.shape != mine.shape:  # (a mistake for other shapes: not this one)
                continue
            if np.allclose(mine, theirs, rtol=1e-6, atol=1e-9):
                found.setdefault(i, []).append(mistake.hint)
    return found


def grade_op(path: Path, target: str, mistakes=(), seed: int = 0):
    """Check an op exercise with the grader; returns (report text, passed)."""
    spec = grader.load_target(f"{path}::{target}")
    cases = grader.make_cases(spec, None, seed)
    results = []
    for case in cases:
        rows = [grader.check_case(spec.function, case, method) for method in grader.METHODS]
        if any(r.failures for r in rows):
            known = mistake_hints(spec.function, case, mistakes, seed)
            for r in rows:
                for failure in r.failures:  # a mistake recognised says the most: it
                    if failure.input_index in known:  # replaces the general hints
                        failure.hints = known[failure.input_index]
        results += rows
    return grader.format_table(spec, results, seed), all(r.passed for r in results)


# --- the table of a custom check ----------------------------------------------------------


def _fill(text: str, indent: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False)


def format_rows(title: str, path: Path, rows: list[Row]) -> str:
    """A custom check's report: the table of cases, each failure explained, a total.
    `title` is the name checked, or a phrase (with a space) that says what is done."""
    width = max([len("case")] + [len(r.case) for r in rows])
    heading = title[0].upper() + title[1:] if " " in title else f"Checking {title}"
    lines = [f"{heading} from {path}", "", f"   #  {'case':<{width}}  result"]
    for number, r in enumerate(rows, start=1):
        verdict = "pass" if r.passed else f"FAIL  {r.reason}"
        lines.append(f"{number:>4}  {r.case:<{width}}  {verdict}")
    # Failures with the same text are said once; so are those with the same hints (the
    # same mistake, seen on other numbers), shown by the first of them.
    groups: dict = {}
    for number, r in enumerate(rows, start=1):
        if not r.passed:
            text = "\n".join([_fill(d, "  ") for d in r.details]
                             + [_fill(f"hint: {h}", "  ") for h in r.hints])
            key = (r.reason, tuple(r.hints)) if r.hints else text
            groups.setdefault(key, []).append((f"case {number}", text))
    lines += grader.grouped_failures(groups, len(rows), "case")
    passed = sum(r.passed for r in rows)
    lines.append("")
    if passed == len(rows):
        lines.append(f"All {len(rows)} checks passed: {title} is right." if " " not in title
                     else f"All {len(rows)} checks passed.")
    else:
        lines.append(f"{len(rows) - passed} of {len(rows)} checks FAILED.")
    return "\n".join(lines)

"""Grading a backward you wrote: `tinygrad-edu gradcheck path/to/file.py::MyOp`.

The course's op exercises (tinygrad_edu/course/templates/) each give an op's forward and
leave its backward to write. The grader imports such a file, finds the op (a
`tg.Function` subclass, checked through `MyOp.apply`, or a plain function of Tensors)
and runs `tg.gradcheck` on random float64 inputs, case by case, with both numeric
methods ("central" and "np.gradient"). It prints one row per case and method, then what
went wrong.

An exercise file may declare, at module level:

    SHAPES = [((3,),), ((2, 3), (3,))]   # one tuple of input shapes per case
    INPUTS = make_inputs                 # make_inputs(rng, shapes) -> list of arrays

INPUTS is for ops with a domain (log needs x > 0) or a special point to test (a max
with a tie). Without SHAPES, a one- or two-input op (the count is read from the
signature of forward) is checked on default shapes, with broadcasting for two inputs.

Problems with the command itself (no such file, no such name, a file that does not
import) raise `GraderError`; `main` turns them into a message and exit status 2.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import textwrap
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .engine import Function
from .gradcheck import METHODS, gradcheck
from .tensor import Tensor

# Without SHAPES in the file: elementwise-friendly shapes, and for two inputs the usual
# broadcasting patterns (a trailing vector, size-1 axes, a scalar).
DEFAULT_SHAPES = {
    1: [((5,),), ((3, 4),), ((2, 3, 4),)],
    2: [((4,), (4,)), ((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((3, 4), ())],
}


class GraderError(Exception):
    """The check could not start: a bad target, a file that does not import, bad shapes."""


@dataclass
class Target:
    """What to check: the op as a function of Tensors, and how to make its inputs."""

    name: str
    path: Path
    function: object            # called as function(*tensors)
    arity: int | None           # positional inputs, from the signature (None: unknown)
    shapes: list | None = None  # the file's SHAPES
    make_inputs: object = None  # the file's INPUTS


@dataclass
class Case:
    """One set of random inputs: `number` counts from 1, as the table shows it."""

    number: int
    shapes: tuple
    inputs: list  # float64 ndarrays


@dataclass
class Failure:
    """Where one input's analytic and numeric gradients disagree most, and why, maybe."""

    input_index: int
    shape: tuple
    worst: tuple | None  # (output index, input index, analytic, numeric, abs err, rel err)
    mismatches: int
    entries: int
    hints: list = field(default_factory=list)


@dataclass
class Result:
    """One row of the table: a case checked with one method."""

    case: Case
    method: str
    passed: bool
    error: str | None = None                      # raised by forward or backward
    hints: list = field(default_factory=list)     # about the error
    failures: list = field(default_factory=list)  # one Failure per wrong input


# --- finding the op ------------------------------------------------------------------


def _module_name(path: Path) -> str:
    """A module name for the file, unique enough not to replace an imported module."""
    stem = re.sub(r"\W", "_", path.stem) or "exercise"
    return f"tinygrad_edu_exercise_{stem}"


def student_lines(error: BaseException, path: Path, limit: int = 3) -> list[str]:
    """The lines of the student's file that an exception went through, the last ones:
    "line 12: return x / 0"."""
    path = Path(path).resolve()
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if Path(frame.filename).resolve() == path]
    return [f"line {frame.lineno}: {(frame.line or '').strip()}" for frame in frames[-limit:]]


def _import_summary(error: BaseException, path: Path) -> str:
    """A short account of an exception raised while importing the student's file:
    the lines of that file it went through, then the exception itself."""
    if isinstance(error, SyntaxError):
        return "".join(traceback.format_exception_only(type(error), error)).rstrip()
    lines = [f"  {line}" for line in student_lines(error, path)]
    lines.append(f"{type(error).__name__}: {error}")
    return "\n".join(lines)


def load_module(path: Path):
    """Import a Python file by its path, with its folder on sys.path meanwhile (so that
    it can import files next to it)."""
    if not path.is_file():
        raise GraderError(f"no such file: {path}")
    if path.suffix != ".py":
        raise GraderError(f"{path} is not a Python file (.py)")
    path = path.resolve()
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module  # (dataclasses and pickle look classes up there)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        sys.modules.pop(name, None)
        raise GraderError(f"{path.name} raised an error while being imported, before any "
                          f"check could run:\n{_import_summary(error, path)}") from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return module


def _candidates(module) -> str:
    """The Function subclasses and functions a file defines, to suggest one."""
    names = []
    for name, value in vars(module).items():
        if getattr(value, "__module__", None) != module.__name__:
            continue  # imported from elsewhere
        if isinstance(value, type) and issubclass(value, Function):
            names.append(f"{name} (a tg.Function)")
        elif inspect.isfunction(value) and not name.startswith("_"):
            names.append(f"{name} (a function)")
    return ", ".join(names) if names else "no tg.Function subclass and no function"


def _positional_count(function, skip: int) -> int | None:
    """How many positional inputs `function` takes (after `skip` leading ones, such as
    forward's ctx); None when it takes *args."""
    try:
        parameters = list(inspect.signature(function).parameters.values())[skip:]
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return None
    return sum(1 for p in parameters
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               and p.default is p.empty)


def _validate_shapes(shapes, where: str) -> list:
    """SHAPES as a list of cases, each a tuple of shapes, each a tuple of ints >= 0."""
    if not isinstance(shapes, (list, tuple)) or not shapes:
        raise GraderError(f"{where}: SHAPES must be a non-empty list of cases, such as "
                          "[((3,),), ((2, 3), (3,))]: one tuple of input shapes per case")
    cases = []
    for case in shapes:
        if not isinstance(case, (list, tuple)) or not all(
                isinstance(shape, (list, tuple))
                and all(isinstance(n, (int, np.integer)) and n >= 0 for n in shape)
                for shape in case):
            raise GraderError(f"{where}: the case {case!r} in SHAPES is not a tuple of shapes; "
                              "write ((3,),) for one input of shape (3,), ((2, 3), (3,)) for "
                              "two inputs, ((),) for one scalar")
        cases.append(tuple(tuple(int(n) for n in shape) for shape in case))
    return cases


def load_target(spec: str) -> Target:
    """`path/to/file.py::Name` -> the Target to check."""
    if "::" not in spec:
        raise GraderError(f"{spec!r}: name the op after the file, as FILE.py::NAME "
                          "(for example course/sigmoid.py::Sigmoid)")
    file_part, _, name = spec.rpartition("::")
    if not name:
        raise GraderError(f"{spec!r}: the name after '::' is missing")
    path = Path(file_part)
    module = load_module(path)
    target = module
    for part in name.split("."):
        if not hasattr(target, part):
            raise GraderError(f"{path.name} has no {name!r}; it defines {_candidates(module)}")
        target = getattr(target, part)

    if isinstance(target, type):
        if not issubclass(target, Function):
            raise GraderError(f"{name} is a class but not a tg.Function subclass: write "
                              f"class {name}(tg.Function) with forward and backward")
        if target is Function:
            raise GraderError(f"{name} is tg.Function itself: name your subclass of it")
        function, arity = target.apply, _positional_count(target.forward, skip=1)
    elif callable(target):
        function, arity = target, _positional_count(target, skip=0)
    else:
        raise GraderError(f"{name} is a {type(target).__name__}, not a tg.Function subclass "
                          "or a function of Tensors")

    shapes = getattr(module, "SHAPES", None)
    if shapes is not None:
        shapes = _validate_shapes(shapes, path.name)
    make_inputs = getattr(module, "INPUTS", None)
    if make_inputs is not None and not callable(make_inputs):
        raise GraderError(f"{path.name}: INPUTS must be a function (rng, shapes) -> list of "
                          f"arrays, not a {type(make_inputs).__name__}")
    return Target(name, path, function, arity, shapes, make_inputs)


# --- making the inputs -----------------------------------------------------------------


def parse_case(text: str) -> tuple:
    """One --shapes case: `3x4,4` -> ((3, 4), (4,)); `()` or `scalar` is a 0-d input."""
    shapes = []
    for part in text.split(","):
        part = part.strip()
        if part in ("()", "scalar"):
            shapes.append(())
            continue
        try:
            dims = tuple(int(n) for n in part.split("x"))
        except ValueError:
            raise ValueError(f"{text!r} is not a case of input shapes: write 3x4,4 for two "
                             "inputs of shapes (3, 4) and (4,), and () for a scalar") from None
        if any(n < 0 for n in dims):
            raise ValueError(f"{text!r}: sizes cannot be negative")
        shapes.append(dims)
    return tuple(shapes)


def make_cases(target: Target, shapes=None, seed: int = 0) -> list[Case]:
    """The random inputs of every case, drawn up front from one seeded generator."""
    if shapes is None:
        shapes = target.shapes
    if shapes is None:
        if target.arity not in DEFAULT_SHAPES:
            count = "an unknown number of" if target.arity is None else str(target.arity)
            raise GraderError(f"{target.name} takes {count} inputs: declare the shapes to "
                              "check in the file (SHAPES = [((2, 3), (3, 4)), ...]) or give "
                              "them with --shapes")
        shapes = DEFAULT_SHAPES[target.arity]
    shapes = _validate_shapes(shapes, target.path.name)
    rng = np.random.default_rng(seed)
    cases = []
    for number, case_shapes in enumerate(shapes, start=1):
        if target.arity is not None and len(case_shapes) != target.arity:
            raise GraderError(f"case {number} gives {len(case_shapes)} input shape(s), "
                              f"{_shapes_text(case_shapes)}, but {target.name} takes "
                              f"{target.arity} input(s)")
        if target.make_inputs is not None:
            try:
                arrays = list(target.make_inputs(rng, case_shapes))
            except Exception as error:  # the file's own helper is broken: not a grade
                raise GraderError(f"{target.path.name}: INPUTS(rng, {case_shapes}) raised "
                                  f"{type(error).__name__}: {error}") from None
        try:  # (INPUTS may return strings or ragged lists; SHAPES may be too large)
            if target.make_inputs is None:
                arrays = [rng.standard_normal(shape) for shape in case_shapes]
            arrays = [np.array(a, dtype=np.float64) for a in arrays]
        except (TypeError, ValueError, MemoryError) as error:
            raise GraderError(f"{target.path.name}: cannot make the inputs of case {number}, "
                              f"shapes {_shapes_text(case_shapes)} ({type(error).__name__}: "
                              f"{error}): SHAPES and INPUTS must give one array of numbers "
                              "per input, of the case's shape") from None
        got = tuple(a.shape for a in arrays)
        if got != case_shapes:
            raise GraderError(f"{target.path.name}: INPUTS(rng, {case_shapes}) returned "
                              f"arrays of shapes {got}")
        cases.append(Case(number, case_shapes, arrays))
    return cases


# --- checking ----------------------------------------------------------------------------


def _error_hints(error: str) -> list[str]:
    """What an exception raised in forward or backward usually means."""
    hints = []
    if error.startswith("NotImplementedError"):
        hints.append("backward not written yet: replace the `raise NotImplementedError` "
                     "with the derivative")
    elif "returned a gradient of shape" in error:
        hints.append("a gradient must have the shape of its input: where forward broadcast "
                     "an input, sum the gradient over the broadcast axes")
    elif "matmul" in error.lower():
        hints.append("a matmul shape error inside backward: for y = a @ b, dL/da = g @ b.T "
                     "and dL/db = a.T @ g (check for a missing transpose)")
    elif "gradient(s) but the op has" in error:
        hints.append("return one gradient per input of forward, as a tuple, in order")
    return hints


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def check_case(function, case: Case, method: str) -> Result:
    """gradcheck of `function` on one case with one method; never raises for the
    student's mistakes: an exception becomes a failed Result with its message."""
    try:
        tensors = [Tensor(a.copy(), requires_grad=True, dtype=np.float64) for a in case.inputs]
        function(*tensors)
    except Exception as error:
        message = f"forward raised {_short(error)}"
        return Result(case, method, False, message, _error_hints(message))
    try:
        report = gradcheck(function, [a.copy() for a in case.inputs], method=method,
                           verbose=False)
    except Exception as error:  # e.g. an AttributeError in backward: gradcheck lets it go
        message = _short(error)
        return Result(case, method, False, message, _error_hints(message))
    if report.error:
        hints = list(getattr(report, "hints", []) or []) or _error_hints(report.error)
        return Result(case, method, False, report.error, hints)
    result = Result(case, method, bool(report))
    for item in report.inputs:
        if item.passed:
            continue
        bad = np.abs(item.analytic - item.numeric) > report.atol + report.rtol * np.abs(
            item.numeric)
        result.failures.append(Failure(
            item.index, tuple(item.shape), item.worst[0] if item.worst else None,
            int(bad.sum()), int(item.numeric.size), list(getattr(item, "hints", []) or [])))
    return result


def check(target: Target, shapes=None, seed: int = 0) -> list[Result]:
    """Every case, with each method, in order: the rows of the table."""
    return [check_case(target.function, case, method)
            for case in make_cases(target, shapes, seed) for method in METHODS]


# --- the table ---------------------------------------------------------------------------


def _shapes_text(shapes) -> str:
    return ", ".join(str(tuple(shape)) for shape in shapes)


def _reason(result: Result) -> str:
    """The short verdict in the table's last column."""
    error = result.error
    if error is not None:
        if error.startswith("NotImplementedError"):
            return "backward not written yet"
        if error.startswith("forward raised"):
            return error.split(":")[0]
        if "returned a gradient of shape" in error:
            return "a gradient of the wrong shape"
        return f"backward raised {error.split(':')[0]}"
    inputs = ", ".join(f"input {f.input_index}" for f in result.failures)
    if not any(f.mismatches for f in result.failures):
        return f"see the hint for {inputs}"
    return f"wrong gradient for {inputs}"


def _details(result: Result) -> list[str]:
    """The lines below the table about one failed row."""
    if result.error is not None:
        lines = [textwrap.fill(line, 88, initial_indent="  ", subsequent_indent="    ")
                 for line in result.error.splitlines()]
        return lines + [textwrap.fill(f"hint: {hint}", 88, initial_indent="  ",
                                      subsequent_indent="    ") for hint in result.hints]
    lines = []
    for failure in result.failures:
        if failure.mismatches:
            lines.append(f"  input {failure.input_index} {failure.shape}: {failure.mismatches} "
                         f"of {failure.entries} Jacobian entries differ")
        else:  # gradcheck failed it for another reason, which its hint says
            lines.append(f"  input {failure.input_index} {failure.shape}: the gradients agree, "
                         "but see the hint")
        if failure.worst is not None:
            out_idx, in_idx, analytic, numeric, abs_err, _ = failure.worst
            output = "output" if out_idx == () else f"output {out_idx} (flat index)"
            element = list(in_idx) if in_idx else "(a scalar)"
            lines.append(textwrap.fill(
                f"worst: {output}, input element {element}: analytic {analytic:.6g}, "
                f"numeric {numeric:.6g} (off by {abs_err:.3g})", 88, initial_indent="    ",
                subsequent_indent="      "))
        lines += [textwrap.fill(f"hint: {hint}", 88, initial_indent="    ",
                                subsequent_indent="      ") for hint in failure.hints]
    return lines


def grouped_failures(groups: dict, total: int, noun: str) -> list[str]:
    """The lines below a table: each group of failed rows, [(label, text), ...], said
    once under a heading that names its rows; a group whose rows share the mistake but
    not the numbers shows its first row's text ("..., such as case 1 central")."""
    lines = []
    for members in groups.values():
        labels = [label for label, _ in members]
        if len(labels) == total > 1:
            where = f"every {noun} ({len(labels)})"
        else:
            where = ", ".join(labels)
            if len(labels) > 4 or len(where) > 60:
                where = f"{labels[0]} and {len(labels) - 1} more"
        if len({text for _, text in members}) > 1:  # the same hints, other numbers
            where += f", such as {labels[0]}"
        lines += ["", f"{where}:", members[0][1]]
    return lines


def _mistake(result: Result) -> tuple | None:
    """What a failed row's hints say, input by input: rows that agree on it show one
    mistake (their worst elements differ). None when some wrong input has no hint."""
    if result.error is not None or not all(f.hints for f in result.failures):
        return None
    return tuple((f.input_index, tuple(f.hints)) for f in result.failures)


def format_table(target: Target, results: list[Result], seed: int = 0) -> str:
    """The report the command prints: a row per case and method, then the failures."""
    shape_width = max([len("inputs")] + [len(_shapes_text(r.case.shapes)) for r in results])
    lines = [f"Checking {target.name} from {target.path} with tg.gradcheck (float64, "
             f"seed {seed})", ""]
    lines.append(f"{'case':>4}  {'inputs':<{shape_width}}  {'method':<11}  result")
    for r in results:
        verdict = "pass" if r.passed else f"FAIL  {_reason(r)}"
        lines.append(f"{r.case.number:>4}  {_shapes_text(r.case.shapes):<{shape_width}}  "
                     f"{r.method:<11}  {verdict}")

    # The failures, grouped: the same message for every case is said once, and so is
    # the same mistake (the same hints), shown by its first case.
    groups: dict = {}
    for r in results:
        if not r.passed:
            text = "\n".join(_details(r))
            groups.setdefault(_mistake(r) or text, []).append(
                (f"case {r.case.number} {r.method}", text))
    lines += grouped_failures(groups, len(results), "check")

    passed = sum(r.passed for r in results)
    lines.append("")
    if passed == len(results):
        lines.append(f"All {len(results)} checks passed: the backward of {target.name} "
                     "agrees with finite differences.")
    else:
        lines.append(f"{len(results) - passed} of {len(results)} checks FAILED.")
    return "\n".join(lines)


def run(spec: str, shapes=None, seed: int = 0, out=None) -> int:
    """Check `FILE.py::NAME` and print the table: 0 when every case passes, 1 otherwise.
    Raises GraderError when the check cannot start."""
    out = out if out is not None else sys.stdout
    target = load_target(spec)
    results = check(target, shapes, seed)
    print(format_table(target, results, seed), file=out)
    return 0 if all(r.passed for r in results) else 1

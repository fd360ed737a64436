"""Helpers of the course tests: write a template as a student would solve it, grade it.

`solve(name, folder, {"Sigmoid.backward": sigmoid_backward})` copies the exercise's
template into `folder` with the `raise NotImplementedError(...)` of each named function
(a qualified name: "Class.method" or "function") replaced by the body of the Python
function given for it (or by the text given, a body already). The bodies are written
with the template's own imports in scope (np, tg). A reference solution and a wrong
one are written the same way.
"""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tinygrad_edu import course
from tinygrad_edu.course.catalog import template

ROOT = Path(__file__).resolve().parent.parent


def body(function) -> str:
    """The source of a function's body, dedented (its `def` line and docstring dropped)."""
    source = textwrap.dedent(inspect.getsource(function))
    definition = ast.parse(source).body[0]
    statements = definition.body
    if (isinstance(statements[0], ast.Expr) and isinstance(statements[0].value, ast.Constant)
            and isinstance(statements[0].value.value, str) and len(statements) > 1):
        statements = statements[1:]  # (a docstring)
    lines = source.splitlines()
    return textwrap.dedent("\n".join(lines[statements[0].lineno - 1:]))


def _functions(tree) -> dict:
    """{qualified name: FunctionDef} of a module's functions and methods."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = item
    return found


def solved_text(text: str, solutions: dict) -> str:
    """The template's text with the raise in each named function replaced by a body."""
    tree = ast.parse(text)
    functions = _functions(tree)
    lines = text.splitlines()
    edits = []
    for name, solution in solutions.items():
        if name not in functions:
            raise KeyError(f"the template has no function {name!r}: {sorted(functions)}")
        function = functions[name]
        raises = [node for node in ast.walk(function) if isinstance(node, ast.Raise)
                  and "NotImplementedError" in ast.unparse(node)]
        if len(raises) > 1:
            raise ValueError(f"{name}: expected one raise NotImplementedError, found "
                             f"{len(raises)}")
        code = solution if isinstance(solution, str) else body(solution)
        if raises:  # the template's: replace the raise
            first, last, indent = raises[0].lineno, raises[0].end_lineno, raises[0].col_offset
        else:  # written already: replace the whole body (after a docstring)
            statements = function.body
            if (len(statements) > 1 and isinstance(statements[0], ast.Expr)
                    and isinstance(statements[0].value, ast.Constant)):
                statements = statements[1:]
            first, last = statements[0].lineno, function.end_lineno
            indent = statements[0].col_offset
        edits.append((first, last, textwrap.indent(code, " " * indent).splitlines()))
    for start, end, new in sorted(edits, reverse=True):
        lines[start - 1:end] = new
    return "\n".join(lines) + "\n"


def solve(name: str, folder: Path, solutions: dict) -> Path:
    """Write exercise `name` into folder, solved with `solutions`; returns its path."""
    exercise = course.find(name)
    path = Path(folder) / f"{exercise.name}.py"
    path.write_text(solved_text(template(exercise).read_text(), solutions))
    return path


def grade(name: str, folder: Path, seed: int = 0) -> tuple[str, bool]:
    """Grade the exercise in folder, in this process: (report, passed)."""
    return course.grade(name, folder, seed=seed)


def env() -> dict:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(ROOT) + os.pathsep + environment.get("PYTHONPATH", "")
    return environment


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m tinygrad_edu ARGS` in cwd: the real command line."""
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *args], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=timeout)

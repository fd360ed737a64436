"""The package's floors: imports point down, never in a circle, and the engine reads short.

The imports are read from the source with `ast` (every `import` and `from ... import`,
at the top of a file or inside a function), so a circle is found even where Python would
happen to cope with it. Then the engine is run on its own: its three files, copied into
an empty package beside a Tensor class written here, differentiate a small graph.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tinygrad_edu as tg
from tinygrad_edu import engine

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tinygrad_edu"
NAME = "tinygrad_edu"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(current: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of `from <level dots><target> import ...` inside `current`."""
    if level == 0:
        return target or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]  # a module's own package
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(name: str) -> set[str]:
    """The package's modules that `name` imports, explicitly (not its parent packages)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, path.name == "__init__.py", node.level, node.module)
            # `from pkg import mod` imports the module pkg.mod; `from mod import name`, mod
            candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                          for alias in node.names]
        else:
            continue
        found.update(c for c in candidates if c in MODULES and c != name)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A list of modules that import each other in a circle, or None (iterative DFS)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in graph:
        if state.get(start):
            continue
        path, stack = [], [(start, iter(sorted(graph[start])))]
        state[start] = 1
        path.append(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_the_finder_finds_a_circle_and_the_import_reader_sees_relative_imports():
    # the checks below can fail: a made-up circle is found, and real edges are read
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert f"{NAME}.engine" in GRAPH[f"{NAME}.ops"]
    assert f"{NAME}.ops" in GRAPH[f"{NAME}.tensor"]
    assert f"{NAME}.nn.functional" in GRAPH[f"{NAME}.nn.layers"]  # from . import functional


def test_no_module_imports_a_module_that_imports_it():
    assert find_cycle(GRAPH) is None, f"import circle: {' -> '.join(find_cycle(GRAPH))}"


# The floors, lowest first: each file may import only files of lower floors.
FLOORS = [
    {"grad_mode", "debug", "dtypes", "device", "rng"},
    {"engine"},
    {"fused"},
    {"ops"},
    {"tensor"},
]


@pytest.mark.parametrize("floor", range(len(FLOORS)))
def test_the_core_files_import_only_the_floors_below(floor):
    below = {f"{NAME}.{m}" for lower in FLOORS[:floor] for m in lower}
    for module in FLOORS[floor]:
        imported = GRAPH[f"{NAME}.{module}"]
        assert imported <= below, (f"{module}.py imports {sorted(imported - below)}, which "
                                   f"are not below it (allowed: {sorted(below)})")


def test_the_engine_imports_only_grad_mode_and_debug():
    assert GRAPH[f"{NAME}.engine"] == {f"{NAME}.grad_mode", f"{NAME}.debug"}
    assert GRAPH[f"{NAME}.grad_mode"] == set() and GRAPH[f"{NAME}.debug"] == set()


def test_every_module_level_import_is_at_the_top_of_its_file():
    # no import hides below the code that a reader meets first
    late = []
    for path in MODULES.values():
        body = ast.parse(path.read_text()).body
        first_code = next((i for i, stmt in enumerate(body)
                           if isinstance(stmt, (ast.FunctionDef, ast.ClassDef))), len(body))
        late += [f"{path.relative_to(ROOT)}:{stmt.lineno}" for stmt in body[first_code:]
                 if isinstance(stmt, (ast.Import, ast.ImportFrom))]
    assert not late, f"imports after the first def or class: {late}"


def test_the_lowest_floors_import_on_their_own():
    for module in ("grad_mode", "debug", "engine"):
        code = f"import {NAME}.{module} as m; print(m.__name__)"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=ROOT)
        assert done.returncode == 0 and done.stdout.strip() == f"{NAME}.{module}", done.stderr


STANDALONE = """
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # (-I leaves it out)
import numpy as np
from core import engine
from core.grad_mode import no_grad


class Tensor:  # all the engine asks of a tensor class: data, requires_grad, grad_fn, .grad
    requires_grad, grad_fn, _grad, _hooks = False, None, None, None
    _written_at = -1

    def __init__(self, data, requires_grad=False):
        self.data, self.requires_grad = np.asarray(data, dtype=float), requires_grad

    def __mul__(self, other):
        return Mul.apply(self, other)

    def __add__(self, other):
        return Add.apply(self, other)


engine.register_tensor_class(Tensor)


class Mul(engine.Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x.data * y.data

    @staticmethod
    def backward(ctx, grad_output):  # dz/dx = y, dz/dy = x
        x, y = ctx.saved_tensors
        return grad_output * y, grad_output * x


class Add(engine.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x.data + y.data

    @staticmethod
    def backward(ctx, grad_output):  # dz/dx = dz/dy = 1
        return grad_output, grad_output


a, b = Tensor(3.0, requires_grad=True), Tensor(4.0, requires_grad=True)
f = a * b + a * a          # df/da = b + 2a = 10, df/db = a = 3
engine.backward(f)
print(float(a._grad.data), float(b._grad.data))
print(sorted(m for m in sys.modules if m.startswith("tinygrad_edu")))
"""


def test_the_engine_runs_on_its_own_with_a_tensor_class_of_the_test(tmp_path):
    # grad_mode.py, debug.py and engine.py copied into an empty package: nothing else of
    # tinygrad_edu is importable there, and the walk still computes the chain rule
    core = tmp_path / "core"
    core.mkdir()
    (core / "__init__.py").write_text("")
    for module in ("grad_mode", "debug", "engine"):
        (core / f"{module}.py").write_text((PACKAGE / f"{module}.py").read_text())
    (tmp_path / "run.py").write_text(STANDALONE)
    done = subprocess.run([sys.executable, "-I", "run.py"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["10.0 3.0", "[]"]  # and tinygrad_edu never loaded


def _code_lines(function, start_marker: str | None = None) -> list[str]:
    """The function's lines of code (no blank lines, comments or docstring), from the
    line holding `start_marker` on."""
    source = textwrap.dedent(inspect.getsource(function))
    body = ast.parse(source).body[0].body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    lines = source.splitlines()[body[0].lineno - 1:]
    lines = [line for line in lines if line.strip() and not line.strip().startswith("#")]
    if start_marker is not None:
        lines = lines[next(i for i, line in enumerate(lines) if start_marker in line):]
    return lines


def test_the_essential_walk_and_apply_fit_on_one_screen():
    loop = _code_lines(engine._walk, "while waiting:")
    assert 10 < len(loop) <= 40, "\n".join(loop)
    apply = _code_lines(engine.Function.apply.__func__)
    assert 10 < len(apply) <= 40, "\n".join(apply)


def test_every_built_in_op_is_a_function_of_ops_fused_or_its_layer():
    # the reserved names of Function are not used by any op as its own ctx field
    reserved = {"save_for_backward", "saved_tensors", "save_output", "output",
                "needs_input_grad", "inputs", "create_graph", "parents", "sequence",
                "created_at", "freed", "name", "apply", "forward", "backward"}
    documented = inspect.getdoc(tg.Function)
    assert all(f"`{name}`" in documented for name in reserved)
    offenders = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name) and node.value.id == "ctx"
                    and (node.attr in reserved or node.attr.startswith("_"))):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} ctx.{node.attr}")
    assert not offenders, offenders

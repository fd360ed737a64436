"""Formulas read without eval (tinygrad_edu/viz/expression.py) and `tinygrad-edu graph`.

The reader is tested against NumPy (values) and central differences (gradients), then
against every construct it must refuse, arbitrary text (Hypothesis), and inputs built to
exhaust the parser. The command runs for real, as in test_cli.py: `python -m
tinygrad_edu graph ...` in a subprocess, from an empty folder.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.viz.expression import (
    FUNCTIONS,
    MAX_LENGTH,
    ExpressionError,
    parse_expression,
    variable_names,
)

ROOT = Path(__file__).resolve().parent.parent

VALUES = {  # away from the kinks of abs, relu, max and min, and from log's pole
    "x": [0.5, -1.2, 2.0],
    "y": [1.5, 0.3, -0.7],
    "a": 0.8,
    "b": -1.3,
    "M": [[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]],
}


def leaves(values: dict) -> dict[str, tg.Tensor]:
    return {name: tg.Tensor(value, dtype=np.float64, requires_grad=True, name=name)
            for name, value in values.items()}


def _erf(v):
    return np.vectorize(math.erf)(v)


def _softmax(v):
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# formula -> the same computation in NumPy, on a dict of float64 arrays
CASES = {
    "x * x + 3 * x": lambda v: v["x"] * v["x"] + 3 * v["x"],
    "x - y / 2": lambda v: v["x"] - v["y"] / 2,
    "-x + +y": lambda v: -v["x"] + v["y"],
    "a ** 3 - 2 ** a": lambda v: v["a"] ** 3 - 2 ** v["a"],
    "a ** 2 ** 0.5": lambda v: v["a"] ** (2 ** 0.5),  # ** groups to the right
    "(x + 1) * (x - 1) / (a * a)": lambda v: (v["x"] + 1) * (v["x"] - 1) / (v["a"] * v["a"]),
    "1e-3 * x + 2.5 - 7": lambda v: 1e-3 * v["x"] + 2.5 - 7,
    "exp(x) + log(abs(y)) + sqrt(abs(x))":
        lambda v: np.exp(v["x"]) + np.log(np.abs(v["y"])) + np.sqrt(np.abs(v["x"])),
    "sin(x) * cos(y)": lambda v: np.sin(v["x"]) * np.cos(v["y"]),
    "tanh(a * x + b)": lambda v: np.tanh(v["a"] * v["x"] + v["b"]),
    "sigmoid(x) + relu(y) + softplus(x)":
        lambda v: 1 / (1 + np.exp(-v["x"])) + np.maximum(v["y"], 0) + np.log1p(np.exp(v["x"])),
    "leaky_relu(x) + gelu(y)":
        lambda v: np.where(v["x"] > 0, v["x"], 0.01 * v["x"])
        + v["y"] * 0.5 * (1 + _erf(v["y"] / np.sqrt(2))),
    "sum(x * y) + mean(x) * max(y) - min(x)":
        lambda v: np.sum(v["x"] * v["y"]) + np.mean(v["x"]) * np.max(v["y"]) - np.min(v["x"]),
    "logsumexp(x)": lambda v: np.log(np.sum(np.exp(v["x"]))),
    "softmax(x) * y + log_softmax(M)":
        lambda v: _softmax(v["x"]) * v["y"] + np.log(_softmax(v["M"])),
    "maximum(x, y) + minimum(x, a)":
        lambda v: np.maximum(v["x"], v["y"]) + np.minimum(v["x"], v["a"]),
    "M @ x": lambda v: v["M"] @ v["x"],
    "x @ y * b": lambda v: (v["x"] @ v["y"]) * v["b"],
    "tanh(M @ x + b) @ (M @ y)": lambda v: np.tanh(v["M"] @ v["x"] + v["b"]) @ (v["M"] @ v["y"]),
}


def test_the_cases_call_every_function():
    called = set(re.findall(r"([a-z_]+)\(", " ".join(CASES)))
    assert set(FUNCTIONS) <= called, set(FUNCTIONS) - called


@pytest.mark.parametrize("formula", list(CASES))
def test_values_match_numpy_and_gradients_match_central_differences(formula):
    names = variable_names(formula)
    inputs = leaves({name: VALUES[name] for name in names})
    f = parse_expression(formula, inputs)
    arrays = {name: np.array(VALUES[name], dtype=np.float64) for name in names}
    expected = CASES[formula](arrays)
    assert f.dtype == np.float64
    assert f.shape == np.shape(expected)
    np.testing.assert_allclose(f.numpy(), expected, rtol=1e-12, atol=1e-12)

    f.sum().backward()
    h = 1e-6
    for name in names:
        numeric = np.zeros_like(arrays[name])
        for i in np.ndindex(arrays[name].shape):
            up, down = dict(arrays), dict(arrays)
            up[name] = arrays[name].copy()
            down[name] = arrays[name].copy()
            up[name][i] += h
            down[name][i] -= h
            numeric[i] = (np.sum(CASES[formula](up)) - np.sum(CASES[formula](down))) / (2 * h)
        np.testing.assert_allclose(inputs[name].grad.numpy(), numeric, rtol=1e-6, atol=1e-7,
                                   err_msg=f"d/d{name} of {formula}")


def test_closed_forms():
    x = leaves({"x": 2.0})
    f = parse_expression("x*x + 3*x", x)
    f.backward()
    assert f.item() == 10.0
    assert x["x"].grad.item() == 7.0  # d/dx (x^2 + 3x) = 2x + 3


def test_the_classic_neuron():
    inputs = leaves({"x1": 2.0, "w1": -3.0, "x2": 0.0, "w2": 1.0, "b": 6.8813735870195432})
    o = parse_expression("tanh(x1*w1 + x2*w2 + b)", inputs)
    o.backward()
    assert o.item() == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    # do/dv = (1 - o^2) * (what v is multiplied by), and 1 - o^2 = 0.5
    expected = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}
    for name, value in expected.items():
        assert inputs[name].grad.item() == pytest.approx(value, abs=1e-12), name


def test_the_graph_is_built_from_the_given_tensors():
    inputs = leaves({"x": 3.0})
    f = parse_expression("x", inputs)
    assert f is inputs["x"]
    f = parse_expression("tanh(x) * 2", inputs)
    assert f.grad_fn.name == "Mul" and f.grad_fn.inputs[0].grad_fn.name == "Tanh"


def test_numbers_are_float64_constants_and_overflow_to_inf_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning would fail the test
        six = parse_expression("2 * 3", {})
        assert six.dtype == np.float64 and six.item() == 6.0 and not six.requires_grad
        assert parse_expression("2 ** 3 ** 2", {}).item() == 512.0
        # as Python ints these would be exact: 9**9**9 has 370 million digits
        assert parse_expression("9**9**9", {}).item() == math.inf
        assert parse_expression("1" + "0" * 400, {}).item() == math.inf
        assert parse_expression("10.0 ** 400", {}).item() == math.inf
        assert parse_expression("1 / 0", {}).item() == math.inf
        assert math.isnan(parse_expression("log(0 - 1)", {}).item())


def test_variable_names_in_order_of_appearance():
    assert variable_names("tanh(x1*w1 + b) + x1 * exp(w1)") == ["x1", "w1", "b"]
    assert variable_names("2 + 3") == []
    assert variable_names("f(q) + r.s") == ["q", "r"]  # read only: refused later
    with pytest.raises(ExpressionError, match="cannot read"):
        variable_names("x +")


# --- what is refused -------------------------------------------------------------------

REFUSED = [  # (formula, a part the message must quote or name)
    ("__import__('os')", "__import__('os')"),
    ("__import__('os').system('ls')", "__import__('os').system"),
    ("x.__class__", "x.__class__"),
    ("x.tanh()", "x.tanh"),
    ("x[0]", "x[0]"),
    ("x[:2]", "x[:2]"),
    ("lambda: 1", "lambda: 1"),
    ("[x for x in y]", "[x for x in y]"),
    ("(q for q in x)", "q for q in x"),
    ("'a'", "'a'"),
    ("b'a'", "b'a'"),
    ("f'{x}'", "f'{x}'"),
    ("x if y else z", "x if y else z"),
    ("x < y", "x < y"),
    ("x == y", "x == y"),
    ("x and y", "x and y"),
    ("not x", "not x"),
    ("~x", "~x"),
    ("x % y", "x % y"),
    ("x // y", "x // y"),
    ("x ^ 2", "x ** 2"),  # says how to write a power
    ("x | y", "x | y"),
    ("(x, y)", "x, y"),
    ("[x, y]", "[x, y]"),
    ("{x: y}", "{x: y}"),
    ("{x}", "{x}"),
    ("tanh(*x)", "*x"),
    ("(z := 1)", "z := 1"),
    ("f(x)", "f(x)"),
    ("q + x", '"q"'),
    ("x(1)", "x is a variable"),
    ("tanh", "tanh(x)"),
    ("tanh(x)(y)", "tanh(x)(y)"),
    ("tanh(x=1)", "tanh(x=1)"),
    ("tanh(x, y)", "takes 1 argument"),
    ("maximum(x)", "takes 2 arguments"),
    ("max(x, y)", "maximum(a, b)"),
    ("open('f')", "open('f')"),
    ("exec('1')", "exec('1')"),
    ("eval('x')", "eval('x')"),
    ("True", "True"),
    ("None", "None"),
    ("...", "..."),
    ("1j", "1j"),
    ("x @ z", 'in "x @ z": matmul'),  # the math fails: @ of a vector and a scalar
    ("x + p", "cannot be broadcast"),  # shapes (3,) and (2,)
]
SYNTAX = [  # (text, a part of the message)
    ("x; y", "column 2"),
    ("x +", "cannot read the formula"),
    ("(x", "never closed"),
    ("x y", "cannot read the formula"),
    ("x = 1", "cannot read the formula"),
    ("import os", "cannot read the formula"),
    ("x\x00", "null"),
    ("", "empty"),
    (" \n\t", "empty"),
    ("x+" * 1000 + "x", "2,001 characters"),
]


@pytest.fixture
def xyz():
    return leaves({"x": [1.0, 2.0, 3.0], "y": [0.5, 0.5, 0.5], "z": 2.0, "p": [1.0, 2.0]})


@pytest.mark.parametrize("formula, part", REFUSED + SYNTAX)
def test_refused_formulas_raise_an_expression_error_that_names_the_problem(formula, part, xyz):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(formula, xyz)
    assert isinstance(caught.value, ValueError)
    assert part in str(caught.value)


@pytest.mark.parametrize("formula", ["x.__class__", "x[0]", "'a'", "f(x)", "x % y", "tanh"])
def test_a_refusal_says_what_is_allowed(formula, xyz):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(formula, xyz)
    message = str(caught.value)
    assert "is not allowed" in message
    assert "the variables x, y, z, p" in message and "+ - * / ** @" in message
    assert all(name in message for name in FUNCTIONS)


def test_an_unknown_name_lists_the_variables_and_the_functions(xyz):
    with pytest.raises(ExpressionError, match='unknown name "w"') as caught:
        parse_expression("x * w", xyz)
    assert "x, y, z, p" in str(caught.value) and "tanh" in str(caught.value)


def test_a_syntax_error_points_at_the_column():
    with pytest.raises(ExpressionError) as caught:
        parse_expression("x; y", leaves({"x": 1.0, "y": 2.0}))
    assert str(caught.value).splitlines()[1:] == ["    x; y", "     ^"]


def test_a_variable_named_as_a_function_or_not_a_tensor_is_refused():
    with pytest.raises(ExpressionError, match="exp"):
        parse_expression("exp(1)", leaves({"exp": 1.0}))
    with pytest.raises(TypeError, match="must be a Tensor"):
        parse_expression("x", {"x": 1.0})


# --- inputs built to break the parser ----------------------------------------------------

DEEP = ["(" * 10_000 + "x" + ")" * 10_000, "-" * 100_000 + "1", "tanh(" * 5_000 + "x" + ")" * 5_000]


@pytest.mark.parametrize("text", DEEP, ids=["parentheses", "minus signs", "calls"])
@pytest.mark.parametrize("max_length", [MAX_LENGTH, None], ids=["limited", "unlimited"])
def test_deep_nesting_is_an_expression_error_not_a_crash(text, max_length):
    with pytest.raises(ExpressionError):
        parse_expression(text, leaves({"x": 1.0}), max_length=max_length)


def test_a_formula_deeper_than_the_recursion_limit_is_computed():
    # x + x + ... reads as a tree as deep as it is long; the walk uses no recursion
    formula = "x" + "+x" * 999
    assert len(formula) <= MAX_LENGTH
    x = leaves({"x": 2.0})
    f = parse_expression(formula, x)
    f.backward()
    assert f.item() == 2000.0 and x["x"].grad.item() == 1000.0
    assert parse_expression("-" * 1999 + "1", {}).item() == -1.0  # depth 1999


# Arbitrary text: the reader returns a Tensor or raises ExpressionError, nothing else.
EXPRESSION_CHARACTERS = list("xyz0123456789+-*/@()., _abcdefghijklmnopqrstuvwxyz'[]:=<>!%^&|~"
                             "\\\"\n\t")
TOKENS = ["x", "y", "z", "1", "2.5", "9", "1e308", "(", ")", "+", "-", "*", "/", "**", "@",
          ",", "tanh(", "sum(", "max(", "maximum(", "log(", "softmax(", "exp(", " "]
TEXTS = st.one_of(
    st.text(alphabet=st.sampled_from(EXPRESSION_CHARACTERS), max_size=60),
    st.text(max_size=60),
    st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),  # often well-formed
)
FUZZ_VARIABLES = leaves({"x": [1.0, -2.0, 3.0], "y": 0.5, "z": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_any_text_gives_a_tensor_or_an_expression_error(text):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no NumPy warning escapes
        try:
            result = parse_expression(text, FUZZ_VARIABLES)
        except ExpressionError:
            result = None
        try:
            names = variable_names(text)
        except ExpressionError:
            names = None
    assert result is None or isinstance(result, tg.Tensor)
    assert names is None or set(names) <= set(FUZZ_VARIABLES) or result is None


def _formulas(children):
    """One level of a well-formed formula built from smaller ones."""
    unary = [name for name, (arity, _, _) in FUNCTIONS.items() if arity == 1]
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "@"]), children)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(unary), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["maximum", "minimum"]), children, children)
        .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        children.map(lambda c: f"-{c}"),
    )


FORMULAS = st.recursive(st.sampled_from(["x", "y", "z", "0", "2", "0.5", "1e308", "9**9**9"]),
                        _formulas, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(FORMULAS)
def test_well_formed_formulas_are_computed_or_fail_only_in_the_math(formula):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            result = parse_expression(formula, FUZZ_VARIABLES)
        except ExpressionError as error:
            assert str(error).startswith("in \""), error  # shapes that do not fit, say
            return
    assert isinstance(result, tg.Tensor) and result.dtype == np.float64
    assert set(variable_names(formula)) == {
        name for name in FUZZ_VARIABLES if re.search(rf"\b{name}\b", formula)}


# --- the command line, run for real ----------------------------------------------------

NEURON = ("tanh(x1*w1 + x2*w2 + b)", "--x1", "2", "--w1", "-3", "--x2", "0", "--w2", "1",
          "--b", "6.8813735870195432")


def _env(**changes) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(changes)
    return env


@pytest.fixture
def run(tmp_path):
    """Run `python -m tinygrad_edu graph *args` in tmp_path; return the CompletedProcess."""
    def run(*args: str, env=None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tinygrad_edu", "graph", *args],
                              cwd=tmp_path, env=env or _env(), capture_output=True, text=True,
                              timeout=120)
    return run


def _gradients(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^  d\w+/d(\w+) = (.+)$", stdout, flags=re.MULTILINE))


def _svg_texts(path: Path) -> str:
    root = ET.parse(path).getroot()
    return " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))


def test_the_neuron_prints_its_value_and_gradients_and_draws_an_svg(run, tmp_path):
    result = run(*NEURON)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert re.search(r"^  = 0\.707107$", result.stdout, flags=re.MULTILINE), result.stdout
    grads = _gradients(result.stdout)
    expected = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}
    assert grads.keys() == expected.keys(), result.stdout
    for name, value in expected.items():
        assert float(grads[name]) == pytest.approx(value, abs=1e-6), name
    assert "Wrote graph.svg" in result.stdout
    texts = _svg_texts(tmp_path / "graph.svg")
    for label in ("x1", "w1", "x2", "w2", "b", "Tanh", "Mul", "Add", "value 0.7071"):
        assert label in texts, label
    assert "grad -1.5" in texts.replace("\N{MINUS SIGN}", "-")  # x1's gradient, drawn
    assert "not run yet" not in texts


def test_dot_png_and_pdf_output(run, tmp_path):
    for name in ("g.dot", "g.png", "out/g.pdf"):
        result = run("sin(x) * y", "--x", "1", "--y", "2", "--out", name)
        assert result.returncode == 0, result.stderr
        assert f"Wrote {name}" in result.stdout
    dot = (tmp_path / "g.dot").read_text()
    assert dot.startswith("digraph") and "Sin" in dot and "Mul" in dot and "grad" in dot
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "out" / "g.pdf").read_bytes()[:5] == b"%PDF-"


def test_vector_variables(run):
    result = run("sum(x * x)", "--x", "1,2,3", "--out", "g.dot")
    assert result.returncode == 0, result.stderr
    assert "  = 14\n" in result.stdout
    assert _gradients(result.stdout) == {"x": "[2, 4, 6]"}


def test_a_result_that_is_not_a_scalar_runs_backward_on_its_sum(run, tmp_path):
    result = run("x * y", "--x", "1,2,3", "--y=-1,0,0.5", "--out", "g.dot")
    assert result.returncode == 0, result.stderr
    assert "[-1, 0, 1.5] (shape (3,))" in result.stdout
    assert "backward runs on L = sum(f)" in result.stdout
    assert _gradients(result.stdout) == {"x": "[-1, 0, 0.5]", "y": "[1, 2, 3]"}
    assert "Sum" in (tmp_path / "g.dot").read_text()


def test_negative_values_equals_signs_and_options_anywhere(run, tmp_path):
    result = run("--out", "first.dot", "x*y + z", "--x=2", "--y", "-3", "--z", "-.5")
    assert result.returncode == 0, result.stderr
    assert "  = -6.5\n" in result.stdout and (tmp_path / "first.dot").is_file()
    result = run("x*y", "--x", "-1e-3", "--out", "last.dot", "--y", "1000", "--no-grads")
    assert result.returncode == 0, result.stderr
    assert "  = -1\n" in result.stdout and (tmp_path / "last.dot").is_file()
    assert "Gradients" not in result.stdout
    assert "grad" not in (tmp_path / "last.dot").read_text()


def test_a_formula_that_starts_with_a_minus_sign(run):
    for args in (("-x * 2",), ("--", "-x")):
        result = run(*args, "--x", "3", "--out", "g.dot")
        assert result.returncode == 0, result.stderr
        assert _gradients(result.stdout)["x"] in ("-2", "-1")


def test_a_formula_without_variables(run):
    result = run("2 ** 10", "--out", "g.dot")
    assert result.returncode == 0, result.stderr
    assert "  = 1024\n" in result.stdout and "nothing to differentiate" in result.stdout


def test_an_unused_variable_is_a_warning(run):
    result = run("x * 2", "--x", "1", "--z", "5", "--out", "g.dot")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "tinygrad-edu graph: warning: --z is not used by the formula\n"


@pytest.mark.parametrize("args, part", [
    (("x.__class__", "--x", "1"), '"x.__class__" is not allowed'),
    (("__import__('os').system('echo hacked')",), "__import__"),
    (("x +", "--x", "1"), "cannot read the formula"),
    (("x @ x", "--x", "2"), "matmul"),
    (("x * y * w", "--x", "1"), "uses y, w, with no value given: add --y VALUE --w VALUE"),
    (("x", "--x", "abc"), "--x abc: a value is a number"),
    (("x", "--x", "1,,2"), "--x 1,,2"),
    (("x", "--x"), "--x needs a value"),
    (("x", "-x", "1"), "--NAME VALUE"),
    (("x", "--x", "1", "--x", "2"), "--x is given twice"),
    (("x", "--x-y", "1"), "identifier"),
    (("x", "--x", "1", "--lambda", "2"), "identifier"),
    (("exp(1)", "--exp", "1"), "exp is the name of a function"),
    (("x", "--x", "1", "--out", "graph.jpg"), ".svg, .png, .pdf or .dot"),
])
def test_errors_are_a_message_and_status_2_not_a_traceback(run, tmp_path, args, part):
    result = run(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("tinygrad-edu graph: ")
    assert part in result.stderr
    assert "Traceback" not in result.stderr
    assert "hacked" not in result.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_without_graphviz_the_dot_text_is_written_instead(run, tmp_path):
    (tmp_path / "bin").mkdir()  # a PATH with no `dot` program on it
    result = run("x * 2", "--x", "1", "--out", "g.svg", env=_env(PATH=str(tmp_path / "bin")))
    assert result.returncode == 0, result.stderr
    assert "not installed" in result.stdout and "Wrote g.dot" in result.stdout
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert not (tmp_path / "g.svg").exists()


def test_explain_prints_the_backward_table(run):
    result = run(*NEURON, "--explain", "--out", "g.dot")
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("Backward, step by step:")[1]
    assert "upstream" in table and "local derivative" in table and "Tanh" in table
    for name in ("x1", "w1", "x2", "w2", "b"):
        assert re.search(rf"\b{name}\b", table), name


def test_help(run):
    for args in (("--help",), ("x", "--x", "1", "--help")):
        result = run(*args)
        assert result.returncode == 0, result.stderr
        for part in ("usage:", "FORMULA", "--out", "--no-grads", "--explain", "tanh(x)",
                     "maximum(x, y)", "--NAME VALUE"):
            assert part in result.stdout, part
    top = subprocess.run([sys.executable, "-m", "tinygrad_edu", "--help"], env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert "graph" in top.stdout

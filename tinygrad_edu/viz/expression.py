"""Formulas written as text, computed on Tensors: `parse_expression("tanh(x*w + b)", ...)`.

    x = tg.Tensor(2.0, requires_grad=True, name="x")
    w = tg.Tensor(-3.0, requires_grad=True, name="w")
    f = parse_expression("tanh(x*w + 1)", {"x": x, "w": w})
    f.backward()          # x.grad == (1 - f^2) * w

This is what `tinygrad-edu graph "FORMULA" --x 2 --w -3` draws.

Why not simply `eval(text)`? Because `eval` runs *any* Python: `__import__('os')
.system(...)`, `open(...)`, or `x.__class__.__subclasses__()` that climbs from a
number up to every class in the interpreter. Removing the builtins does not help;
people have escaped every "safe eval" built that way. And `9**9**9` in `eval` is
exact integer arithmetic on a number with 370 million digits: it never finishes.

So the text is only *read*, never run:

1. `ast.parse(text, mode="eval")` turns it into a syntax tree. Parsing executes
   nothing; it only says "this is a call of tanh with one argument, a BinOp + ...".
2. A walk over that tree computes each node from its operands, and it knows only a
   handful of node types (a whitelist): numbers, variable names, + - * / ** @,
   unary + and -, and calls of the functions in `FUNCTIONS` by name. Any other node
   (attribute access, indexing, lambdas, strings, comparisons, ...) is an
   `ExpressionError` that quotes the offending part of the text.

Every number becomes a float64 Tensor before any arithmetic, so `9**9**9` is NumPy's
float64 power: inf, at once.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable

import numpy as np

from ..tensor import Tensor

MAX_LENGTH = 2_000  # characters; a formula for a graph is one line, not a program


class ExpressionError(ValueError):
    """The formula cannot be computed: a syntax error, a construct that is not part of
    the formula language, an unknown name, or math that fails (`@` between scalars)."""


# The functions a formula may call: name -> (number of arguments, what it computes, the
# Tensor method that computes it). Each is the same op that `x.tanh()` etc. records.
FUNCTIONS: dict[str, tuple[int, str, Callable[..., Tensor]]] = {
    # elementwise
    "exp": (1, "e^x", Tensor.exp),
    "log": (1, "natural logarithm", Tensor.log),
    "sqrt": (1, "square root", Tensor.sqrt),
    "sin": (1, "sine", Tensor.sin),
    "cos": (1, "cosine", Tensor.cos),
    "tanh": (1, "hyperbolic tangent", Tensor.tanh),
    "sigmoid": (1, "1 / (1 + e^-x)", Tensor.sigmoid),
    "relu": (1, "max(x, 0)", Tensor.relu),
    "leaky_relu": (1, "x if x > 0 else 0.01 x", Tensor.leaky_relu),
    "gelu": (1, "x * Phi(x), Phi the normal CDF", Tensor.gelu),
    "softplus": (1, "ln(1 + e^x)", Tensor.softplus),
    "abs": (1, "|x|", Tensor.abs),
    # reductions over all the elements, to a scalar
    "sum": (1, "sum of all elements", Tensor.sum),
    "mean": (1, "mean of all elements", Tensor.mean),
    "max": (1, "largest element", Tensor.max),
    "min": (1, "smallest element", Tensor.min),
    "logsumexp": (1, "ln(sum(e^x)), computed stably", Tensor.logsumexp),
    # along the last axis
    "softmax": (1, "e^x / sum(e^x) along the last axis", Tensor.softmax),
    "log_softmax": (1, "x - logsumexp(x) along the last axis", Tensor.log_softmax),
    # two tensors, elementwise (with broadcasting)
    "maximum": (2, "the larger of x and y, elementwise", Tensor.maximum),
    "minimum": (2, "the smaller of x and y, elementwise", Tensor.minimum),
}

# The operators: AST node type -> (how it is written, what computes it on Tensors).
BINARY_OPERATORS: dict[type, tuple[str, Callable[[Tensor, Tensor], Tensor]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Pow: ("**", operator.pow),
    ast.MatMult: ("@", operator.matmul),
}
UNARY_OPERATORS: dict[type, tuple[str, Callable[[Tensor], Tensor]]] = {
    ast.UAdd: ("+", lambda x: x),  # +x is x itself: no op, no node in the graph
    ast.USub: ("-", operator.neg),
}

# Why the other constructs are refused, for the error message.
_REFUSED = {
    ast.Attribute: "attribute access (a.b) is not part of a formula: it is how Python "
                   "code reaches any object",
    ast.Subscript: "indexing and slicing (a[i]) are not supported",
    ast.Lambda: "lambda functions are not part of a formula",
    ast.ListComp: "comprehensions are not part of a formula",
    ast.SetComp: "comprehensions are not part of a formula",
    ast.DictComp: "comprehensions are not part of a formula",
    ast.GeneratorExp: "generator expressions are not part of a formula",
    ast.Compare: "comparisons (<, ==, ...) give true/false, which has no gradient",
    ast.BoolOp: "and/or are not part of a formula",
    ast.IfExp: "conditional expressions (a if c else b) are not supported; for a choice "
               "that has a gradient, use maximum(a, b), minimum(a, b) or relu(a)",
    ast.Tuple: "tuples are not supported; a vector is given as a variable",
    ast.List: "lists are not supported; a vector is given as a variable",
    ast.Set: "sets are not part of a formula",
    ast.Dict: "dicts are not part of a formula",
    ast.JoinedStr: "strings are not part of a formula",
    ast.Starred: "unpacking (*a) is not supported: pass the arguments one by one",
    ast.NamedExpr: "assignment (:=) is not part of a formula",
    ast.Await: "await is not part of a formula",
    ast.Yield: "yield is not part of a formula",
    ast.YieldFrom: "yield is not part of a formula",
}
_REFUSED_OPERATORS = {
    ast.BitXor: "^ is bitwise xor in Python, not a power: write x ** 2",
    ast.FloorDiv: "// (floor division) has no useful gradient: use /",
    ast.Mod: "% (remainder) is not supported",
    ast.BitAnd: "& is not supported", ast.BitOr: "| is not supported",
    ast.LShift: "<< is not supported", ast.RShift: ">> is not supported",
    ast.Not: "not is not part of a formula", ast.Invert: "~ is not supported",
}


def describe_language(variables=()) -> str:
    """What a formula may contain, in two sentences (the end of every ExpressionError)."""
    names = ", ".join(variables) if variables else "(none given)"
    return ("A formula may use numbers (2, 0.5, 1e-3), the variables " + names + ", the "
            "operators + - * / ** @, unary + and -, parentheses, and the functions "
            + ", ".join(FUNCTIONS) + ".")


def _parse(text: str, max_length: int | None) -> tuple[str, ast.expr]:
    """Check the text's size and read it into a syntax tree (nothing is run)."""
    if not isinstance(text, str):
        raise TypeError(f"parse_expression: the formula is text, got {type(text).__name__}")
    source = text.strip()  # leading spaces would be an IndentationError
    if not source:
        raise ExpressionError("the formula is empty: give one such as tanh(x*w + b)")
    if max_length is not None and len(source) > max_length:
        raise ExpressionError(f"the formula is {len(source):,} characters long; the limit "
                              f"is {max_length:,}")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        raise ExpressionError(_syntax_message(source, error)) from None
    except ValueError as error:  # e.g. a NUL character, in some Python versions
        raise ExpressionError(f"cannot read the formula: {error}") from None
    except (RecursionError, MemoryError):
        # CPython's parser gives up on thousands of nested brackets or signs
        raise ExpressionError("the formula is nested too deeply to read") from None
    return source, tree.body


def _syntax_message(source: str, error: SyntaxError) -> str:
    """'cannot read the formula: invalid syntax at column 2', the line, a caret below."""
    message = f"cannot read the formula: {error.msg}"
    if error.offset is None:
        return message
    line_number = error.lineno or 1
    lines = source.splitlines() or [""]
    line = lines[min(line_number, len(lines)) - 1]
    column = max(1, min(error.offset, len(line) + 1))
    where = f"line {line_number}, column {column}" if len(lines) > 1 else f"column {column}"
    start = max(0, column - 40)  # a long line is shown around the error only
    shown = ("..." if start else "") + line[start:column + 40] + (
        "..." if column + 40 < len(line) else "")
    caret = " " * (column - 1 - start + (3 if start else 0)) + "^"
    return f"{message} at {where}\n    {shown}\n    {caret}"


def _quote(source: str, node: ast.AST) -> str:
    """The part of the formula that `node` was read from, in quotes."""
    segment = ast.get_source_segment(source, node) or type(node).__name__
    if len(segment) > 60:
        segment = segment[:57] + "..."
    return f'"{segment}"'


class _Reader:
    """Checks and computes the nodes of one formula's tree (see `parse_expression`)."""

    def __init__(self, source: str, variables: dict[str, Tensor]):
        self.source, self.variables = source, variables

    def refuse(self, node: ast.AST, why: str) -> ExpressionError:
        return ExpressionError(f"{_quote(self.source, node)} is not allowed: {why}.\n"
                               + describe_language(self.variables))

    def operands(self, node: ast.expr) -> list[ast.expr]:
        """The nodes that `node` is computed from; an ExpressionError if it is refused."""
        if isinstance(node, ast.Constant):
            # bool is a subclass of int, so the type is compared exactly
            if type(node.value) not in (int, float):
                kind = {bool: "True and False are not numbers here", str: "strings are not "
                        "part of a formula", bytes: "bytes are not part of a formula",
                        complex: "complex numbers are not supported"}.get(
                            type(node.value), f"{node.value!r} is not a number")
                raise self.refuse(node, kind)
            return []
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                return []
            if node.id in FUNCTIONS:
                raise self.refuse(node, f"{node.id} is a function: call it, as {node.id}(x)")
            known = ", ".join(self.variables) or "none"
            raise ExpressionError(
                f'unknown name "{node.id}": the variables are {known}; the functions are '
                + ", ".join(FUNCTIONS) + ".")
        if isinstance(node, ast.UnaryOp):
            if type(node.op) not in UNARY_OPERATORS:
                raise self.refuse(node, _REFUSED_OPERATORS.get(type(node.op), "unsupported"))
            return [node.operand]
        if isinstance(node, ast.BinOp):
            if type(node.op) not in BINARY_OPERATORS:
                raise self.refuse(node, _REFUSED_OPERATORS.get(type(node.op), "unsupported"))
            return [node.left, node.right]
        if isinstance(node, ast.Call):
            return self.call_operands(node)
        raise self.refuse(node, _REFUSED.get(type(node), f"{type(node).__name__} is not "
                                                         "part of a formula"))

    def call_operands(self, node: ast.Call) -> list[ast.expr]:
        if not isinstance(node.func, ast.Name):  # (x.f)(1), f(1)(2), ...
            raise self.refuse(node, "only the functions listed below can be called, by name")
        name = node.func.id
        if name not in FUNCTIONS:
            why = (f"{name} is a variable, not a function" if name in self.variables else
                   f"{name} is not one of the functions")
            raise self.refuse(node, why)
        if node.keywords:
            raise self.refuse(node, "keyword arguments (name=...) are not supported: pass "
                                    "the arguments by position")
        arity = FUNCTIONS[name][0]
        if len(node.args) != arity:
            why = (f"{name} takes {arity} argument{'s' if arity > 1 else ''}, "
                   f"got {len(node.args)}")
            if name in ("max", "min") and len(node.args) == 2:
                why += (f" ({name} reduces one tensor to its {name}imum element; the "
                        f"elementwise {name}imum of two is {name}imum(a, b))")
            raise self.refuse(node, why)
        return node.args

    def compute(self, node: ast.expr, operands: list[Tensor]) -> Tensor:
        """The value of `node`, given the values of its operands."""
        if isinstance(node, ast.Constant):
            try:
                number = float(node.value)
            except OverflowError:  # an int too large for float64 is inf, as the literal 1e400 is
                number = float("inf")
            return Tensor(number, dtype=np.float64)
        if isinstance(node, ast.Name):
            return self.variables[node.id]
        if isinstance(node, ast.UnaryOp):
            apply = UNARY_OPERATORS[type(node.op)][1]
        elif isinstance(node, ast.BinOp):
            apply = BINARY_OPERATORS[type(node.op)][1]
        else:  # a Call: operands() has checked the name and the number of arguments
            apply = FUNCTIONS[node.func.id][2]
        try:
            return apply(*operands)
        except (ValueError, TypeError, ArithmeticError) as error:
            # the math failed (shapes that do not fit, `@` between scalars, ...): say where
            raise ExpressionError(f"in {_quote(self.source, node)}: {error}") from None


def parse_expression(text: str, variables: dict[str, Tensor], *,
                     max_length: int | None = MAX_LENGTH) -> Tensor:
    """Compute the formula `text` on the Tensors in `variables`, recording the graph.

        parse_expression("tanh(x1*w1 + x2*w2 + b)", {"x1": x1, "w1": w1, ...})

    Numbers become float64 constants; names are looked up in `variables` (the
    functions in `FUNCTIONS` cannot be used as variable names). Anything but numbers,
    names, + - * / ** @, unary + -, and calls of `FUNCTIONS` raises ExpressionError, as
    do syntax errors, unknown names, and failing math. `max_length=None` lifts the
    length limit (the parser's own limits on nesting still hold).
    """
    for name, value in variables.items():
        if name in FUNCTIONS:
            raise ExpressionError(f'the variable name "{name}" is also the name of a '
                                  "function: choose another name for the variable")
        if not isinstance(value, Tensor):
            raise TypeError(f"parse_expression: variable {name!r} must be a Tensor, got "
                            f"{type(value).__name__}")
    source, tree = _parse(text, max_length)
    reader = _Reader(source, variables)

    # A post-order walk with an explicit stack: each node is computed after its operands,
    # as a calculator with a stack (reverse Polish notation) does. `todo` holds
    # (node, None) for a node not looked at yet, and (node, n) for a node whose n operands
    # are being computed; `results` holds the values computed so far, the last n of them
    # being the operands of the next node to finish.
    # Not recursion: 1 + 1 + ... + 1 is a tree as deep as the formula is long, and a
    # 2,000-character formula can be deeper than Python's recursion limit.
    todo: list[tuple[ast.expr, int | None]] = [(tree, None)]
    results: list[Tensor] = []
    try:
        # inf and nan are answers here (1/0, log(-1)), not reasons for NumPy to warn
        with np.errstate(all="ignore"):
            while todo:
                node, count = todo.pop()
                if count is None:
                    operands = reader.operands(node)  # refuses what is not allowed
                    todo.append((node, len(operands)))
                    todo.extend((child, None) for child in reversed(operands))
                else:
                    operands = results[len(results) - count:]
                    del results[len(results) - count:]
                    results.append(reader.compute(node, operands))
    except (RecursionError, MemoryError):
        raise ExpressionError("the formula is too large to compute") from None
    return results[0]


def variable_names(text: str, *, max_length: int | None = MAX_LENGTH) -> list[str]:
    """The names a formula uses as variables, in the order they first appear.

        variable_names("tanh(x1*w1 + b) + x1")   # ['x1', 'w1', 'b']

    Raises ExpressionError when the text cannot be read (nothing is computed: a formula
    with a forbidden construct still lists its names; `parse_expression` refuses it).
    """
    _, tree = _parse(text, max_length)
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    names = [node for node in ast.walk(tree)  # (ast.walk uses a queue, not recursion)
             if isinstance(node, ast.Name) and id(node) not in called
             and node.id not in FUNCTIONS]
    names.sort(key=lambda node: (node.lineno, node.col_offset))
    return list(dict.fromkeys(node.id for node in names))

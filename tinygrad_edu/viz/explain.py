"""The backward pass, step by step, as a table: `tg.viz.explain_backward(output)`.

Backward visits the graph from the output back to the leaves. At each op it takes the
gradient that has reached the op's result (the *upstream* gradient, dL/d(result)),
multiplies it by the op's *local derivative* d(result)/d(input) for each input, and adds
that *contribution* to what the input has gathered so far. This module replays exactly
that walk, on the same `backward` methods the engine calls, and writes down every step:

    step  result           input  upstream  local derivative           contribution  gathered
    1     o = tanh(t4)     t4     1         1 - tanh(t4)^2 = 0.5       0.5           0.5
    ...

Nothing is changed: no `.grad` is written, and the graph is not freed, so it can still
be drawn or used by a real `backward()` afterwards.
"""

from __future__ import annotations

import contextlib
import html
import sys

import numpy as np

from ..engine import Function, SparseGrad, topological_order
from ..grad_mode import no_grad
from ..tensor import Tensor
from .graph import SMALL, _display_once, _numbers

# How each op's result is written, from its inputs' names ({0}, {1}).
_EXPRESSIONS = {
    "Add": "{0} + {1}", "Sub": "{0} - {1}", "Mul": "{0} * {1}", "Div": "{0} / {1}",
    "Pow": "{0} ** {1}", "MatMul": "{0} @ {1}", "Neg": "-{0}",
}

# The local derivative d(result)/d(input i) of each op, as a formula in its inputs.
_DERIVATIVES = {
    "Add": ("1", "1"),
    "Sub": ("1", "-1"),
    "Mul": ("{1}", "{0}"),
    "Div": ("1 / {1}", "-{0} / {1}^2"),
    "Pow": ("{1} * {0}^({1} - 1)", "{0}^{1} * ln({0})"),
    "Neg": ("-1",),
    "Exp": ("exp({0})",),
    "Log": ("1 / {0}",),
    "Sqrt": ("1 / (2 sqrt({0}))",),
    "Sin": ("cos({0})",),
    "Cos": ("-sin({0})",),
    "Tanh": ("1 - tanh({0})^2",),
    "Sigmoid": ("sigmoid({0}) (1 - sigmoid({0}))",),
    "Relu": ("1 where {0} > 0, else 0",),
    "LeakyRelu": ("1 where {0} > 0, else the slope",),
    "Softplus": ("sigmoid({0})",),
    "Abs": ("sign({0})",),
    "Sum": ("1 for every element (the gradient is copied back)",),
    "MatMul": ("upstream @ {1}^T", "{0}^T @ upstream"),
    "Linear": ("upstream @ W", "upstream^T @ {0}", "upstream summed over rows"),
    "LogSoftmax": ("1 - softmax({0}) (on the diagonal)",),
    "CrossEntropy": ("(softmax({0}) - onehot) / N",),
    "Reshape": ("1 (the gradient is reshaped back)",),
    "Transpose": ("1 (the gradient is transposed back)",),
    "Expand": ("1 (the gradient is summed over the copies)",),
    "GetItem": ("1 at the picked elements, 0 elsewhere",),
    "Maximum": ("1 where {0} is the larger", "1 where {1} is the larger"),
    "Convolution2d": ("upstream convolved back through the kernel {1} (a transposed "
                      "convolution)", "upstream correlated with the input {0}, summed over "
                      "the batch", "upstream summed over the batch and positions"),
    "MaxPooling2d": ("1 at the largest element of each window, 0 elsewhere",),
    "AvgPooling2d": ("1 / (window size) for each element of its windows",),
    "Minimum": ("1 where {0} is the smaller", "1 where {1} is the smaller"),
}


# Ops whose result's element i depends only on element i of each input: for them, the
# backward of an upstream of ones is exactly the local derivative d(result_i)/d(input_i).
_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Pow", "Neg", "Exp", "Log", "Sqrt", "Sin", "Cos",
                "Tanh", "Sigmoid", "Relu", "LeakyRelu", "Softplus", "Abs", "Maximum",
                "Minimum", "Erf", "Clip", "Cast", "Where"}


class BackwardTable:
    """The rows of `explain_backward`: print it, or let Jupyter show it as a table.

    `rows` is a list of dicts with the keys `step`, `result`, `op`, `input`,
    `upstream`, `local`, `contribution` and `gathered` (text), `arrays`, the same
    numbers as arrays (`upstream`, `local` or None, `contribution`, `gathered`), and
    `result_key` and `input_key`, the names of the op and of the input in `draw_graph`'s
    DOT source (`n<id>` for an op, `t<id>` for a leaf), which `explore` uses.
    """

    columns = ("step", "result", "input", "upstream", "local derivative", "contribution",
               "gathered")

    def __init__(self, forward_lines: list[str], rows: list[dict], leaves: list[tuple]):
        self.forward_lines, self.rows, self.leaves = forward_lines, rows, leaves

    def _cells(self, row) -> list[str]:
        return [str(row["step"]), f"{row['result']} ({row['op']})", row["input"],
                row["upstream"], row["local"], row["contribution"], row["gathered"]]

    def __str__(self) -> str:
        lines = ["Forward (each result named for the table):"]
        lines += ["  " + line for line in self.forward_lines]
        lines.append("")
        lines.append("Backward, newest op first: contribution = upstream x local derivative;")
        lines.append("an input used by several ops gathers the sum of their contributions.")
        table = [list(self.columns)] + [self._cells(r).copy() for r in self.rows]
        table = [[cell.replace("\n", " ") for cell in row] for row in table]
        widths = [max(len(row[i]) for row in table) for i in range(len(self.columns))]
        for k, row in enumerate(table):
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines.append("")
        lines.append("Gradients of the leaves (what .grad would hold):")
        lines += [f"  d{self.rows[0]['result'] if self.rows else 'output'}/d{name} = {grad}"
                  for name, grad in self.leaves]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _ipython_display_(self) -> None:
        """How Jupyter shows the table: once per cell, whether explain_backward was the
        cell's last line (Jupyter displays the result) or not (it displayed itself)."""
        _display_once(self, lambda: {"text/html": self._repr_html_(),
                                     "text/markdown": self.to_markdown(),
                                     "text/plain": str(self)})

    def to_markdown(self) -> str:
        def row(cells):
            return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) \
                + " |"
        lines = ["```", *self.forward_lines, "```", "", row(self.columns),
                 row(["---"] * len(self.columns))]
        lines += [row(self._cells(r)) for r in self.rows]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in self._cells(r))
                       + "</tr>" for r in self.rows)
        forward = html.escape("\n".join(self.forward_lines))
        return (f"<pre>{forward}</pre><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>")


def _value_text(array) -> str:
    if array is None:
        return "-"
    return _numbers(np.asarray(array))


def explain_backward(output: Tensor, gradient=None, show: bool | None = None) -> BackwardTable:
    """The backward pass of `output`'s graph as a table, one row per (op, input) step.

    Each row: the op's result, the input, the upstream gradient dL/d(result), the local
    derivative d(result)/d(input) (its formula, and its value where result and input
    are small and of the same shape), the contribution upstream x local, and the
    gradient the input has gathered so far. It replays backward on what forward saved:
    call it before `backward()`, or after it on a graph built inside `tg.viz.trace()`
    (which keeps what backward frees), or after `backward(retain_graph=True)`. Prints
    the table unless `show=False` (in Jupyter the returned table displays itself).
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"explain_backward: expected a Tensor, got {type(output).__name__}")
    if output.grad_fn is None:
        raise ValueError("explain_backward: this tensor was not computed by any op (it is a "
                         "leaf, or was made without requires_grad inputs): there is no "
                         "backward pass to explain")
    if gradient is None:
        if output.data.size != 1:
            raise ValueError(f"explain_backward: the output has shape {output.shape}; give "
                             "`gradient` (dL/d(output)) or explain a scalar such as .sum()")
        gradient = np.ones_like(output.data)
    gradient = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient,
                          dtype=output.dtype)

    nodes = topological_order(output.grad_fn)  # newest first: the order backward runs in
    with _replayable(nodes):
        table = _explain(output, gradient, nodes)
    if show is None and "ipykernel" in sys.modules:  # in Jupyter: shown as a table, once
        from IPython.display import display

        display(table)
    elif show or show is None:
        print(table)
    return table


@contextlib.contextmanager
def _replayable(nodes):
    """Give back, for the replay, what a backward() freed in a graph built under
    tg.viz.trace() (which keeps it aside), and free it again after."""
    restored = [node for node in nodes if node.freed and node._freed_saved is not None]
    for node in restored:
        node._saved, node._output_data = node._freed_saved
    try:
        yield
    finally:
        for node in restored:
            node._saved, node._output_data = None, None


def _explain(output: Tensor, gradient: np.ndarray, nodes: list) -> BackwardTable:
    """The table itself (see explain_backward)."""
    # names: leaves by their own name, results t1, t2, ... in the order they were made
    names: dict[int, str] = {}
    leaf_count = 0
    for node in sorted(nodes, key=lambda n: n.sequence):
        for x, parent in zip(node.inputs, node.parents):
            if parent is x and id(x) not in names:  # a leaf that requires grad
                leaf_count += 1
                names[id(x)] = x.name or f"leaf{leaf_count}"
    for i, node in enumerate(sorted(nodes, key=lambda n: n.sequence), start=1):
        names[id(node)] = f"t{i}"
    names[id(output.grad_fn)] = output.name or names[id(output.grad_fn)]

    def name_of(node, i: int) -> str:
        """The name of input i of `node`: the result of the node that made it (as recorded:
        an in-place op may since have given the tensor a new grad_fn), a leaf, a constant."""
        x, parent = node.inputs[i], node.parents[i]
        if isinstance(parent, Function):
            return names[id(parent)]
        if isinstance(x, Tensor):
            if id(x) in names:
                return names[id(x)]
            x = x.data
        array = np.asarray(x)
        return f"{array.item():g}" if array.size == 1 else f"const{array.shape}"

    forward_lines = []
    for node in sorted(nodes, key=lambda n: n.sequence):
        args = [name_of(node, i) for i in range(len(node.inputs))]
        template = _EXPRESSIONS.get(node.name)
        text = template.format(*args) if template and len(args) >= template.count("{") \
            else f"{node.name.lower()}({', '.join(args)})"
        forward_lines.append(f"{names[id(node)]} = {text}")

    node_grads: dict[int, np.ndarray] = {id(output.grad_fn): gradient}
    leaf_grads: dict[int, np.ndarray] = {}
    leaf_order: list[Tensor] = []
    rows = []
    step = 0
    try:
        with no_grad():
            for node in nodes:
                upstream = node_grads.get(id(node))
                if upstream is None:
                    continue  # no gradient reaches it
                if node.freed:  # what the engine checks too
                    raise RuntimeError("freed")
                grads = type(node).backward(node, Tensor(upstream))
                grads = grads if isinstance(grads, tuple) else (grads,)
                ones = None
                formulas = _DERIVATIVES.get(node.name, ())
                step += 1
                for i, (x, needs, g) in enumerate(zip(node.inputs, node.needs_input_grad, grads)):
                    if g is None or not needs:
                        continue
                    if isinstance(g, SparseGrad):  # a slice's gradient, as a full array
                        g = g.dense()
                    g = np.asarray(g.data if isinstance(g, Tensor) else g)
                    # the local derivative's value, for small elementwise steps:
                    # backward with an upstream of ones gives d(result)/d(input) itself
                    local = None
                    if (node.name in _ELEMENTWISE and upstream.size <= SMALL
                            and g.shape == upstream.shape):
                        if ones is None:
                            ones = type(node).backward(node, Tensor(np.ones_like(upstream)))
                            ones = ones if isinstance(ones, tuple) else (ones,)
                        local = np.asarray(ones[i].data)
                    formula = formulas[i] if i < len(formulas) else f"see {node.name}.backward"
                    formula = formula.format(*[name_of(node, k)
                                               for k in range(len(node.inputs))])
                    if isinstance(node.parents[i], Function):
                        store, key = node_grads, id(node.parents[i])
                    else:
                        store, key = leaf_grads, id(x)
                        if key not in leaf_grads:
                            leaf_order.append(x)
                    store[key] = g if key not in store else store[key] + g
                    input_key = (f"n{id(node.parents[i])}" if isinstance(node.parents[i],
                                                                       Function)
                                 else f"t{id(x)}")
                    rows.append({
                        "step": step, "result": names[id(node)], "op": node.name,
                        "result_key": f"n{id(node)}", "input_key": input_key,
                        "input": name_of(node, i), "upstream": _value_text(upstream),
                        "local": formula + (f" = {_value_text(local)}" if local is not None
                                            and _value_text(local) != formula else ""),
                        "contribution": _value_text(g), "gathered": _value_text(store[key]),
                        "arrays": {"upstream": upstream, "local": local, "contribution": g,
                                   "gathered": store[key]},
                    })
    except RuntimeError as error:
        if "freed" not in str(error):
            raise
        raise RuntimeError("explain_backward: backward() has already run on this graph and "
                           "freed what its ops saved. Build the graph inside tg.viz.trace() "
                           "(which keeps it), or call explain_backward(output) before "
                           "output.backward(), or output.backward(retain_graph=True)") \
            from None
    order = list(names)  # leaves in the order the forward pass first used them
    leaf_order.sort(key=lambda t: order.index(id(t)))
    leaves = [(names[id(t)], _value_text(leaf_grads[id(t)])) for t in leaf_order]
    return BackwardTable(forward_lines, rows, leaves)

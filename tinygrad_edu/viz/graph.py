"""Drawing a computation graph with Graphviz.

The graph is read straight off the tensors: start at the output's `grad_fn`, follow each
node's `inputs`, and stop at the leaves. Ops are drawn as boxes, leaf tensors (weights,
inputs that require grad) as ellipses, each with its shape and, after backward, the
norm of its gradient; edges point the way the forward pass went.

`to_dot` only builds text, so it works without the Graphviz program; `render` runs
Graphviz's `dot` to make an SVG, PNG or PDF.
"""

from __future__ import annotations

import os

import numpy as np

from ..tensor import Tensor


def _shape(x) -> str:
    return "(" + ", ".join(str(n) for n in x.shape) + ")"


def _grad_text(t: Tensor) -> str:
    if t.grad is None:
        return "grad: not computed yet"
    g = t.grad.data
    return f"|grad| = {float(np.linalg.norm(g)):.3g}" if g.size > 1 else f"grad = {g.item():.4g}"


def draw_graph(output: Tensor, params: dict | None = None, show_grads: bool = False,
               show_shapes: bool = True, rankdir: str = "LR", max_nodes: int = 2000):
    """The graph that computed `output`, as a `graphviz.Digraph`.

    `params` maps names to tensors (pass `dict(model.named_parameters())`) so that
    weights are labelled `0.weight` rather than by shape alone; tensors created with
    `name=` are labelled by that name. `show_grads` adds the norm of each leaf's
    gradient (run backward first). Graphs larger than `max_nodes` are cut off there.
    """
    import graphviz

    if not isinstance(output, Tensor):
        raise TypeError(f"draw_graph: expected the Tensor whose graph to draw, got "
                        f"{type(output).__name__}")
    names = {id(t): name for name, t in (params or {}).items()}
    dot = graphviz.Digraph("computation_graph", graph_attr={"rankdir": rankdir},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"})

    def tensor_label(t: Tensor, title: str) -> str:
        lines = [title]
        if show_shapes:
            lines.append(_shape(t) + " " + str(t.dtype))
        if show_grads and t.requires_grad and (t.is_leaf or t.grad is not None):
            lines.append(_grad_text(t))  # (a non-leaf keeps no grad unless retain_grad())
        return "\n".join(lines)

    def leaf_title(t: Tensor) -> str:
        return names.get(id(t)) or t.name or "tensor"

    out_id = f"t{id(output)}"
    dot.node(out_id, tensor_label(output, output.name or "output"), shape="ellipse",
             style="filled", fillcolor="#c6dbef")
    if output.grad_fn is None:
        return dot
    seen = {id(output.grad_fn)}
    stack = [output.grad_fn]
    dot.edge(f"n{id(output.grad_fn)}", out_id)
    count = 0
    while stack:  # an explicit stack: graphs can be far deeper than Python's recursion limit
        node = stack.pop()
        count += 1
        if count > max_nodes:
            dot.node("truncated", f"... graph cut off after {max_nodes} ops", shape="note")
            break
        dot.node(f"n{id(node)}", node.name, shape="box", style="filled", fillcolor="#fdd0a2")
        for x in node.inputs:
            if not isinstance(x, Tensor) or not x.requires_grad:
                continue  # constants carry no gradient: left out, as in torchviz
            if x.grad_fn is not None:
                dot.edge(f"n{id(x.grad_fn)}", f"n{id(node)}")
                if id(x.grad_fn) not in seen:
                    seen.add(id(x.grad_fn))
                    stack.append(x.grad_fn)
            else:
                leaf_id = f"t{id(x)}"
                if id(x) not in seen:
                    seen.add(id(x))
                    dot.node(leaf_id, tensor_label(x, leaf_title(x)), shape="ellipse",
                             style="filled", fillcolor="#d9f0d3")
                dot.edge(leaf_id, f"n{id(node)}")
    return dot


def to_dot(output: Tensor, **options) -> str:
    """The graph as DOT text (Graphviz's language): needs no Graphviz program."""
    return draw_graph(output, **options).source


def render(output_or_graph, path, format: str = "svg", **options) -> str:
    """Draw the graph into `path` (svg, png or pdf) with Graphviz's `dot`; returns the path.

    Needs the Graphviz program (Debian/Ubuntu: `apt-get install graphviz`; macOS:
    `brew install graphviz`); without it, use `to_dot` and render the text elsewhere.
    """
    import graphviz

    if format not in ("svg", "png", "pdf"):
        raise ValueError(f"render: format must be 'svg', 'png' or 'pdf', got {format!r}")
    graph = output_or_graph
    if isinstance(output_or_graph, Tensor):
        graph = draw_graph(output_or_graph, **options)
    path = os.fspath(path)
    try:
        data = graph.pipe(format=format)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(
            "render: the Graphviz program `dot` was not found. Install Graphviz (Debian/Ubuntu: "
            "apt-get install graphviz; macOS: brew install graphviz; conda: conda install "
            "graphviz), or write the DOT text with tg.viz.to_dot(output)") from None
    with open(path, "wb") as file:
        file.write(data)
    return path

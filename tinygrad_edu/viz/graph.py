"""Drawing a computation graph with Graphviz, with its values and gradients.

The graph is read straight off the tensors: start at the output's `grad_fn`, follow each
node's `inputs`, and stop at the leaves. Ops are boxes, leaf tensors (weights, inputs
that require grad) are ellipses; edges point the way the forward pass went.

- Names: a tensor made with `name="x"` shows it; a module's parameters are named from
  the module calls recorded with each op (`0.weight`), as in `named_parameters()`.
- Values and gradients: leaves and the output always have theirs. An intermediate result
  is not kept by the graph (it would double the memory of training), so its value and
  gradient are shown when the graph was built inside `with tg.viz.trace():`.
- Colours: the stronger a node's orange, the larger |grad|; NaN or inf is red; grey
  means backward has not run yet.
- A tensor used by two ops gets bold edges marked "+": backward adds the two gradients
  there.
- Each module call (`0: Linear(2→16)`) is a box around its ops (`group_modules`).

`to_dot` only builds text, so it works without the Graphviz program; `render` runs
Graphviz's `dot` to make an SVG, PNG or PDF. In Jupyter the returned `graphviz.Digraph`
displays itself.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys

import numpy as np

from .. import debug, engine
from ..engine import Function
from ..tensor import Tensor

SMALL = 6  # tensors with at most this many elements print their numbers
NAN_COLOR, WAITING_COLOR, LEAF_COLOR, OUTPUT_COLOR = "#f4a3a3", "#eeeeee", "#d9f0d3", "#c6dbef"


@contextlib.contextmanager
def trace():
    """Keep every op's output value, and after backward its gradient, for drawing.

        with tg.viz.trace():
            o = (x * w + b).tanh()
        o.backward()
        tg.viz.draw_graph(o, show_values=True, show_grads=True)

    Outside `trace` the graph keeps only what backward needs, and an intermediate
    result's value is gone once the next op has used it.
    """
    observers = engine.push_observer(_keep_value)
    try:
        yield
    finally:
        engine.pop_observer(observers)


def _keep_value(node, output) -> None:
    """What trace() does to each op recorded inside it. (The engine keeps the gradient
    of a node that has a value, after backward: see engine._keep_for_drawing.)"""
    node._value = output
    node._created_at = debug.user_frame()  # where the op was made, for tg.check_graph


# --- text for the labels --------------------------------------------------------------


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


def _numbers(array: np.ndarray) -> str:
    """A few numbers as they are; more as min/mean/max and the norm."""
    array = np.asarray(array)
    if array.size <= SMALL:
        if array.ndim == 0:
            return f"{array.item():.4g}"
        return "[" + ", ".join(f"{v:.4g}" for v in array.ravel()) + "]"
    finite = array[np.isfinite(array)]
    text = (f"min {finite.min():.3g}  mean {finite.mean():.3g}  max {finite.max():.3g}\n"
            f"norm {np.linalg.norm(finite):.3g}" if finite.size else "no finite values")
    bad = array.size - finite.size
    return text + (f"  ({bad} NaN/inf)" if bad else "")


def _is_bad(array) -> bool:
    return array is not None and not np.all(np.isfinite(array))


class _Colors:
    """Fill colours by |grad|, on a log scale between the smallest and largest in the graph."""

    def __init__(self, grads):
        norms = [float(np.abs(g).max()) for g in grads
                 if g is not None and np.size(g) and np.all(np.isfinite(g))]
        norms = [n for n in norms if n > 0]
        self.lo = math.log10(min(norms)) if norms else 0.0
        self.hi = math.log10(max(norms)) if norms else 0.0

    def __call__(self, grad, base: str) -> str:
        if grad is None:
            return base
        if _is_bad(grad):
            return NAN_COLOR
        size = float(np.abs(grad).max()) if np.size(grad) else 0.0
        if size == 0 or self.hi == self.lo:
            t = 0.0 if size == 0 else 0.5
        else:
            t = (math.log10(size) - self.lo) / (self.hi - self.lo)
        # from pale yellow (small |grad|) to strong orange (large |grad|)
        r, g, b = 255, int(245 - 120 * t), int(204 - 170 * t)
        return f"#{r:02x}{g:02x}{b:02x}"


# --- module calls -----------------------------------------------------------------------


def _module_label(name: str, module) -> str:
    kind = type(module).__name__
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        kind += f"({module.in_features}→{module.out_features})"
    return f"{name}: {kind}" if name else kind


class _ModuleNames:
    """Dotted names of module calls and of the parameters they own, found by identity."""

    def __init__(self):
        self.call_names: dict[int, str] = {}

    def call_name(self, call) -> str:
        key = id(call)
        if key not in self.call_names:
            chain = []
            while call is not None:  # innermost first
                chain.append(call)
                call = call.parent
            names = []
            for parent, child in zip(reversed(chain), list(reversed(chain))[1:]):
                names.append(next((n for n, m in parent.module.named_children()
                                   if m is child.module), type(child.module).__name__))
            self.call_names[key] = ".".join(names)
        return self.call_names[key]

    def parameter_name(self, call, tensor) -> str | None:
        """The tensor's dotted name inside the called module (`weight`, `inner.weight`)."""
        for name, value in call.module._state_items():
            if value is tensor:
                prefix = self.call_name(call)
                return f"{prefix}.{name}" if prefix else name
        return None


# --- the graph --------------------------------------------------------------------------


def _edges(node):
    """(input, the node that made it, or None for a leaf) for each input of `node` that
    carries a gradient: the edges as they were recorded (`node.parents`), not as the input
    tensors are now (an in-place op may since have given one a new grad_fn)."""
    for x, parent in zip(node.inputs, node.parents):
        if parent is not None:
            yield x, (parent if isinstance(parent, Function) else None)


def _result_values(nodes, output: Tensor) -> dict:
    """{id(node): the value of its result}: kept by the node under tg.viz.trace(), else
    held by an op that used it (the value it had then: in place, it may have changed
    since), and the output's own for the last op."""
    values: dict[int, np.ndarray] = {}
    for node in nodes:
        for x, made_by in _edges(node):
            if made_by is not None:
                values.setdefault(id(made_by), x.data)
    if output.grad_fn is not None:
        values[id(output.grad_fn)] = output.data
    values.update((id(node), node._value) for node in nodes if node._value is not None)
    return values


def _collect(output: Tensor, max_nodes: int):
    """The op nodes below `output`, oldest first, and the leaves, by an explicit stack."""
    nodes, leaves, seen = [], [], set()
    stack = [output.grad_fn] if output.grad_fn is not None else []
    while stack:  # (not recursion: graphs can be far deeper than Python's limit)
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        for x, made_by in _edges(node):
            if made_by is not None:
                stack.append(made_by)
            elif id(x) not in seen:
                seen.add(id(x))
                leaves.append(x)
    nodes.sort(key=lambda n: n.sequence)
    hidden = []
    if len(nodes) > max_nodes:  # keep both ends of the graph; fold the middle into one box
        keep = max_nodes // 2
        hidden = nodes[keep:len(nodes) - (max_nodes - keep)]
        nodes = nodes[:keep] + nodes[len(nodes) - (max_nodes - keep):]
    return nodes, leaves, hidden


def draw_graph(output: Tensor, show_values: bool = False, show_grads: bool = False,
               show_shapes: bool = True, group_modules: bool = True, rankdir: str = "LR",
               max_nodes: int = 500, params: dict | None = None):
    """The graph that computed `output`, as a `graphviz.Digraph`.

    Args:
        output: the tensor whose history to draw (usually the loss).
        show_values: print each tensor's numbers (a few) or min/mean/max/norm (many).
        show_grads: the same for gradients, and colour nodes by |grad| (NaN/inf in red).
        show_shapes: print shapes and dtypes.
        group_modules: draw each module call as a box around its ops.
        rankdir: "LR" (left to right) or "TB" (top to bottom).
        max_nodes: draw at most this many ops: the first and last halves, with the
            ones in between folded into a single box, so a 10,000-op graph stays readable.
        params: optional names for tensors (`dict(model.named_parameters())`, as in
            torchviz); names from module calls and `Tensor(name=...)` are used otherwise.

    In Jupyter the drawing shows itself once, whether or not it is the cell's last line.
    """
    dot = _graph(output, show_values, show_grads, show_shapes, group_modules, rankdir,
                 max_nodes, params)
    if "ipykernel" in sys.modules:
        dot._ipython_display_ = lambda: _display_once(dot, lambda: _drawing(dot))
        _display_once(dot, lambda: _drawing(dot))
    return dot


def _display_once(shown, bundle) -> None:
    """Show `shown` in Jupyter as `bundle()` (a dict: MIME type -> data), unless this cell
    showed it already. Jupyter asks for a cell's last value, and the tables, drawings and
    figures of tg.viz also show themselves when made (a figure: when pyplot flushes it),
    so that they appear whether or not they are the last line; only the first one draws.
    """
    from IPython import get_ipython
    from IPython.display import display

    cell = getattr(get_ipython(), "execution_count", None)
    if cell is not None and getattr(shown, "_shown_in", None) == cell:
        return
    shown._shown_in = cell
    display(bundle(), raw=True)


def _drawing(dot) -> dict:
    """The drawing as Jupyter shows it: SVG, or the DOT text without Graphviz's program."""
    try:
        return dot._repr_mimebundle_()
    except Exception:  # no Graphviz program: its DOT text says it all
        return {"text/plain": dot.source}


def _graph(output: Tensor, show_values: bool = False, show_grads: bool = False,
           show_shapes: bool = True, group_modules: bool = True, rankdir: str = "LR",
           max_nodes: int = 500, params: dict | None = None):
    """The drawing itself, for `draw_graph`, `to_dot`, `render` and `explore`."""
    import graphviz

    if not isinstance(output, Tensor):
        raise TypeError(f"draw_graph: expected the Tensor whose graph to draw, got "
                        f"{type(output).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if not isinstance(max_nodes, int) or max_nodes < 2:
        raise ValueError(f"draw_graph: max_nodes must be an int >= 2, got {max_nodes!r}")
    nodes, leaves, hidden = _collect(output, max_nodes)
    given_names = {id(t): name for name, t in (params or {}).items()}
    module_names = _ModuleNames()
    backward_ran = any(t.grad is not None for t in leaves) or any(
        n._grad_value is not None for n in nodes)
    colors = _Colors([t.grad.data for t in leaves if t.grad is not None]
                     + [n._grad_value for n in nodes])

    # how many ops use each tensor: where it is more than one, gradients add up
    uses: dict[int, int] = {}
    for node in nodes:
        for x, made_by in _edges(node):
            key = id(made_by) if made_by is not None else id(x)
            uses[key] = uses.get(key, 0) + 1

    # each leaf's first module call, and each result's value
    first_call: dict[int, object] = {}
    values = _result_values(nodes, output)
    used_leaves: set[int] = set()  # the leaves a drawn op uses (only those are drawn)
    for node in nodes:
        for x, made_by in _edges(node):
            if made_by is None:
                used_leaves.add(id(x))
                if node._module_call is not None:
                    first_call.setdefault(id(x), node._module_call)
    folded_leaves = [t for t in leaves if id(t) not in used_leaves]
    leaves = [t for t in leaves if id(t) in used_leaves]

    def owner(t: Tensor):
        """(name, module call) of a parameter, from the call of the module that owns it."""
        call = first_call.get(id(t))
        name = module_names.parameter_name(call, t) if call is not None else None
        return (name, call) if name else (None, None)

    def lines_for(shape, dtype, value, grad, has_grad_slot: bool) -> list[str]:
        lines = []
        if show_shapes:
            lines.append(f"{_shape(shape)} {dtype}")
        if show_values:
            lines.append("value " + _numbers(value))
        if show_grads and has_grad_slot:
            if grad is not None:
                lines.append("grad " + _numbers(grad))
            else:
                lines.append("grad: backward has not run yet" if not backward_ran else
                             "grad: none (not on a path to the output)")
        return lines

    def fill(grad, value, base: str) -> str:
        if _is_bad(value) or _is_bad(grad):
            return NAN_COLOR
        if not show_grads:
            return base
        if grad is None:
            return WAITING_COLOR if not backward_ran else base
        return colors(grad, base)

    dot = graphviz.Digraph("computation_graph", graph_attr={"rankdir": rankdir},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "10"})

    # module calls as nested clusters: one subgraph per call, filled in at the end
    cluster_of: dict[int, list] = {}  # id(call) -> [call, [node statements], [child calls]]

    def body_for(call):
        if not group_modules or call is None:
            return dot
        if id(call) not in cluster_of:
            cluster_of[id(call)] = [call, [], []]
            if call.parent is not None:
                body_for(call.parent)
                cluster_of[id(call.parent)][2].append(call)
        return cluster_of[id(call)][1]

    def add_node(body, *args, **kwargs):
        if body is dot:
            dot.node(*args, **kwargs)
        else:
            body.append((args, kwargs))

    for t in leaves:
        grad = t.grad.data if t.grad is not None else None
        name, call = owner(t)  # a parameter is drawn inside its module's box
        name = given_names.get(id(t)) or name or t.name or "tensor"
        label_lines = [name] + lines_for(t.shape, t.dtype, t.data, grad, True)
        if uses.get(id(t), 0) > 1:
            label_lines.append(f"used {uses[id(t)]} times: gradients add")
        add_node(body_for(call), f"t{id(t)}", "\n".join(label_lines), shape="ellipse",
                 style="filled", fillcolor=fill(grad, t.data, LEAF_COLOR))
    untraced = False
    for node in nodes:
        value = values.get(id(node))
        label_lines = [node.name]
        if value is not None:  # (an untraced result's gradient is gone after backward)
            label_lines += lines_for(value.shape, value.dtype, value, node._grad_value,
                                     node._grad_value is not None or not backward_ran)
        if node._grad_value is None and node._value is None:
            untraced = True
        if uses.get(id(node), 0) > 1:
            label_lines.append(f"used {uses[id(node)]} times: gradients add")
        add_node(body_for(node._module_call), f"n{id(node)}", "\n".join(label_lines),
                 shape="box", style="filled,rounded",
                 fillcolor=fill(node._grad_value, value, "#fdd0a2"))
    if untraced and show_grads and backward_ran:
        dot.attr(label="gradients of intermediate results are kept for graphs built inside "
                       "tg.viz.trace()", fontname="Helvetica", fontsize="10")
    if hidden:
        more = f" and {len(folded_leaves)} leaves" if folded_leaves else ""
        add_node(dot, "hidden", f"... {len(hidden)} more ops{more}, not drawn\n"
                 f"(draw_graph max_nodes={max_nodes})", shape="note")

    # the output tensor
    out_grad = output._grad.data if output._grad is not None else None  # (no warning)
    out_lines = [output.name or "output"] + lines_for(
        output.shape, output.dtype, output.data, out_grad, output.is_leaf or out_grad is not None)
    dot.node(f"t{id(output)}", "\n".join(out_lines), shape="ellipse", style="filled",
             fillcolor=NAN_COLOR if _is_bad(output.data) else OUTPUT_COLOR)

    # edges, the way the forward pass went
    drawn = {id(n) for n in nodes}
    hidden_ids = {id(n) for n in hidden}
    hidden_edges = set()  # edges into and out of the folded box, each drawn once
    for node in nodes:
        for x, made_by in _edges(node):  # (constants carry no gradient: left out)
            if made_by is not None:
                source_key = id(made_by)
                source = f"n{source_key}" if source_key in drawn else (
                    "hidden" if source_key in hidden_ids else None)
            else:
                source_key, source = id(x), f"t{id(x)}"
            if source is None or (source == "hidden" and ("hidden", id(node)) in hidden_edges):
                continue
            if source == "hidden":
                hidden_edges.add(("hidden", id(node)))
                dot.edge(source, f"n{id(node)}", style="dashed")
            elif uses.get(source_key, 0) > 1:
                dot.edge(source, f"n{id(node)}", label="+", penwidth="2.2", color="#d95f02")
            else:
                dot.edge(source, f"n{id(node)}")
    for node in hidden:
        for x, made_by in _edges(node):
            if made_by is not None:
                source = f"n{id(made_by)}" if id(made_by) in drawn else None
            else:
                source = f"t{id(x)}" if id(x) in used_leaves else None
            if source is not None and source not in hidden_edges:
                hidden_edges.add(source)
                dot.edge(source, "hidden", style="dashed")
    if output.grad_fn is not None:
        dot.edge(f"n{id(output.grad_fn)}", f"t{id(output)}")

    # the clusters, innermost inside outermost
    def emit(call, parent_graph):
        _, statements, children = cluster_of[id(call)]
        with parent_graph.subgraph(name=f"cluster_{id(call)}") as sub:
            sub.attr(label=_module_label(module_names.call_name(call), call.module),
                     style="rounded,dashed", color="#7f7f7f", fontname="Helvetica")
            for args, kwargs in statements:
                sub.node(*args, **kwargs)
            for child in children:
                emit(child, sub)

    for call, _, _ in list(cluster_of.values()):
        if call.parent is None or id(call.parent) not in cluster_of:
            emit(call, dot)
    return dot


def to_dot(output: Tensor, **options) -> str:
    """The graph as DOT text (Graphviz's language): needs no Graphviz program."""
    return _graph(output, **options).source


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
        graph = _graph(output_or_graph, **options)
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

"""Watch backward happen: `tg.viz.explore(output)`, the graph as a page to step through.

    with tg.viz.trace():                  # keep every value, for the page to show
        o = (x1 * w1 + x2 * w2 + b).tanh()
    tg.viz.explore(o).save("backward.html")   # open it in any browser

The page is one self-contained HTML file: the graph as `draw_graph` draws it (Graphviz's
SVG), the numbers as JSON, and a small script, all inline; no network, no server. Click a
node to see its op, shape, value and gradient, the local derivative's formula and the line
of your code that made it. Step through backward (next / previous / play, or the arrow keys
and space): each step lights up the op being processed and shows, for each of its inputs,
upstream gradient x local derivative = contribution, the same numbers as the matching row
of `explain_backward`, highlighted in the table under the graph; a tensor used by several ops
says how many of its contributions have arrived, and the leaves' gradients fill in as they
complete. Forward mode steps through the ops in the order they ran.

In Jupyter, an `Explorer` as a cell's value shows itself inline.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np

from ..tensor import Tensor
from .explain import explain_backward
from .graph import _collect, _graph, _result_values
from .graph import _numbers as _summary

_HERE = Path(__file__).parent
TABLE_MAX = 64  # tensors with at most this many elements show every number
HEAT_MAX = 32   # a larger one is shown as a heat map of at most HEAT_MAX x HEAT_MAX cells


class Explorer:
    """An interactive page for one graph: `.save(path)`, `.html`, or show it in Jupyter.

    `data` is what the page shows, as plain Python (the page holds it as JSON): `nodes`
    (by key, the node's name in the DOT source), `steps` (one per backward step: the node
    and its rows), `rows` (the rows of `explain_backward`), `forward` (the ops in the
    order they ran) and `leaves` (each leaf's gradient).
    """

    def __init__(self, svg: str, data: dict):
        self.svg, self.data = svg, data

    @property
    def html(self) -> str:
        """The whole page: markup, style, script and data inline."""
        payload = json.dumps(self.data, separators=(",", ":")).replace("</", "<\\/")
        page = (_HERE / "explore.html").read_text()
        return (page.replace("/*STYLE*/", (_HERE / "explore.css").read_text())
                .replace("<!--SVG-->", self.svg)
                .replace("/*DATA*/", payload)
                .replace("/*SCRIPT*/", (_HERE / "explore.js").read_text()))

    def save(self, path) -> str:
        """Write the page to `path` (an .html file); returns the path as a string."""
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return str(path)

    def _repr_html_(self) -> str:
        """In Jupyter: the page in an iframe (its script and style stay its own)."""
        return (f'<iframe srcdoc="{html.escape(self.html)}" style="width: 100%; '
                'height: 640px; border: 1px solid #ddd" title="graph explorer"></iframe>')

    def __repr__(self) -> str:
        return (f"<Explorer: {len(self.data['nodes'])} nodes, {len(self.data['steps'])} "
                "backward steps; .save('backward.html') writes the page>")


def explore(output: Tensor, gradient=None, max_nodes: int = 200,
            params: dict | None = None) -> Explorer:
    """An `Explorer` for the graph that computed `output` (build it under
    `tg.viz.trace()` so that every value is kept).

    Like `explain_backward` it replays backward on what forward saved, and changes no
    `.grad`: call it before `output.backward()`, or after it (a graph built under
    `tg.viz.trace()` keeps what backward frees).
    Graphs of more than `max_nodes` ops are folded as `draw_graph` folds them.
    """
    import graphviz

    try:  # (an inf or NaN is shown on the page, where it happened: no NumPy warnings)
        with np.errstate(all="ignore"):
            table = explain_backward(output, gradient, show=False)
    except RuntimeError as error:  # backward has freed the graph
        raise RuntimeError(str(error).replace("explain_backward", "explore")) from None
    dot = _graph(output, show_shapes=True, max_nodes=max_nodes, params=params).source
    # each op's box starts with the name the table gives its result: "t3 = Mul"
    names = {row["result_key"]: row["result"] for row in table.rows}
    dot = re.sub(r'(?m)^(\s*)(n\d+) \[label="',
                 lambda m: f'{m.group(1)}{m.group(2)} [label="'
                           + (f"{names[m.group(2)]} = " if m.group(2) in names else ""), dot)
    try:
        svg = graphviz.Source(dot).pipe(format="svg").decode("utf-8")
    except Exception as error:  # graphviz.ExecutableNotFound: no `dot` program
        raise RuntimeError(f"explore: Graphviz's dot program could not draw the graph "
                           f"({error}); install Graphviz (apt-get install graphviz, brew "
                           "install graphviz, conda install graphviz)") from None
    svg = _with_keys(svg[svg.index("<svg"):])
    data = _page_data(output, table, max_nodes)
    _name_leaves_as_drawn(data, svg)
    return Explorer(svg, data)


def _name_leaves_as_drawn(data: dict, svg: str) -> None:
    """Call each leaf what the drawing calls it ('0.weight', 'x1'), where the table had
    only a number for it ('leaf3')."""
    drawn = dict(re.findall(r'data-key="(t\d+)">.*?<text[^>]*>([^<]*)</text>', svg, re.S))
    renamed = {}
    for leaf in data["leaves"]:
        name = html.unescape(drawn.get(leaf["key"], leaf["name"]))
        renamed[leaf["key"]] = name
        leaf["name"] = data["nodes"][leaf["key"]]["label"] = name
    for row in data["rows"]:
        if row["input_key"] in renamed:
            row["input"] = renamed[row["input_key"]]


def _with_keys(svg: str) -> str:
    """Give each node's <g> a data-key attribute: its name in the DOT source."""
    return re.sub(r'<g id="(node\d+)" class="node">\s*<title>([^<]*)</title>',
                  lambda m: (f'<g id="{m.group(1)}" class="node" data-key="{m.group(2)}">'
                             f"<title>{m.group(2)}</title>"), svg)


def _page_data(output: Tensor, table, max_nodes: int) -> dict:
    nodes, leaves, hidden = _collect(output, max_nodes)
    drawn = {f"n{id(n)}" for n in nodes} | {f"t{id(t)}" for t in leaves}
    drawn.add(f"t{id(output)}")

    def shown(key: str) -> str:
        """The key a node is drawn under: its own, or the folded box's."""
        return key if key in drawn else "hidden"

    names, grads, grad_step, formulas = {}, {}, {}, {}
    for row in table.rows:
        names[row["result_key"]] = row["result"]
        names[row["input_key"]] = row["input"]
        grads[row["input_key"]] = row["arrays"]["gathered"]
        grad_step[row["input_key"]] = row["step"]
        formulas.setdefault(row["result_key"], []).append(
            f"d{row['result']}/d{row['input']} = {row['local']}")
    root = output.grad_fn
    upstream = table.rows[0]["arrays"]["upstream"] if table.rows else np.ones_like(output.data)
    grads[f"n{id(root)}"] = grads[f"t{id(output)}"] = upstream
    grad_step[f"n{id(root)}"] = grad_step[f"t{id(output)}"] = 0

    values = {f"n{key}": value for key, value in _result_values(nodes + hidden,
                                                                  output).items()}
    values |= {f"t{id(t)}": t.data for t in leaves}

    info = {}
    for t in leaves:
        key = f"t{id(t)}"
        info[key] = _node(names.get(key, t.name or "tensor"), "leaf", values[key],
                          grads.get(key), grad_step.get(key), None, [])
    for node in nodes:
        key = f"n{id(node)}"
        info[key] = _node(f"{names.get(key, '?')} = {node.name}", "op", values.get(key),
                          grads.get(key), grad_step.get(key), node.created_at,
                          formulas.get(key, []))
    info[f"t{id(output)}"] = _node(output.name or "output", "output", output.data,
                                   upstream, 0, None, [])
    if hidden:
        info["hidden"] = {"label": f"{len(hidden)} folded ops", "kind": "folded",
                          "shape": None, "dtype": None}

    rows, counts, seen = [], {}, {}
    for row in table.rows:
        counts[row["input_key"]] = counts.get(row["input_key"], 0) + 1
    for row in table.rows:
        seen[row["input_key"]] = seen.get(row["input_key"], 0) + 1
        rows.append({k: row[k] for k in ("step", "result", "op", "input", "upstream", "local",
                                         "contribution", "gathered")}
                    | {"result_key": shown(row["result_key"]),
                       "input_key": shown(row["input_key"]),
                       "received": seen[row["input_key"]], "of": counts[row["input_key"]]})
    steps = []
    for i, row in enumerate(rows):
        if not steps or steps[-1]["step"] != row["step"]:
            steps.append({"step": row["step"], "node": row["result_key"], "rows": []})
        steps[-1]["rows"].append(i)
    ordered = sorted(nodes + hidden, key=lambda n: n.sequence)
    forward = [{"node": shown(f"n{id(n)}"), "line": line}
               for n, line in zip(ordered, table.forward_lines)]
    leaf_list = [{"key": f"t{id(t)}", "name": names.get(f"t{id(t)}", t.name or "tensor"),
                  "grad": _text(grads.get(f"t{id(t)}")), "step": grad_step.get(f"t{id(t)}")}
                 for t in leaves]
    return {"nodes": info, "steps": steps, "rows": rows, "forward": forward,
            "leaves": leaf_list, "output": f"t{id(output)}"}


def _node(label, kind, value, grad, step, created_at, formulas) -> dict:
    out = {"label": label, "kind": kind, "created_at": created_at, "formulas": formulas,
           "grad_step": step}
    if value is not None:
        value = np.asarray(value)
        out |= {"shape": list(value.shape), "dtype": str(value.dtype),
                "value": _numbers(value)}
    out["grad"] = _numbers(np.asarray(grad)) if grad is not None else None
    return out


def _numbers(array: np.ndarray) -> dict:
    """Every number of a small tensor; statistics and a heat map of a large one."""
    array = np.asarray(array, dtype=np.float64)
    if array.size <= TABLE_MAX:
        rows = array.reshape(1, -1) if array.ndim < 2 else array.reshape(-1, array.shape[-1])
        return {"table": [[_float(v) for v in row] for row in rows]}
    finite = array[np.isfinite(array)]
    stats = {"min": _float(finite.min()), "mean": _float(finite.mean()),
             "max": _float(finite.max()), "norm": _float(np.linalg.norm(finite))} \
        if finite.size else {}
    grid = array.reshape(-1, array.shape[-1]) if array.ndim >= 2 else array.reshape(1, -1)
    return {"stats": stats, "heat": [[_float(v) for v in row] for row in _shrink(grid)],
            "size": int(array.size)}


def _shrink(grid: np.ndarray) -> np.ndarray:
    """Average blocks of `grid` down to at most HEAT_MAX x HEAT_MAX cells."""
    out = []
    for axis in (0, 1):
        n = grid.shape[axis]
        edges = np.linspace(0, n, min(n, HEAT_MAX) + 1).astype(int)
        grid = np.stack([np.take(grid, range(a, b), axis=axis).mean(axis=axis)
                         for a, b in zip(edges[:-1], edges[1:])], axis=axis)
        out.append(grid)
    return out[-1]


def _float(v) -> float | str:
    """A number for JSON, which has no inf and nan: those as the strings "inf", "nan"."""
    v = float(v)
    return v if np.isfinite(v) else str(v)


def _text(array) -> str:
    return _summary(np.asarray(array)) if array is not None else "-"

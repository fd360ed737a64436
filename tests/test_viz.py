"""Graphs (Graphviz, rendered for real), the backward table, and training plots.

The graphs are checked by their structure, not by their text: the DOT source is parsed
into nodes, edges and clusters, and the SVG that the real `dot` program makes is parsed
with xml.etree. Expected counts come from walking the tensors' own graph.
"""

from __future__ import annotations

import contextlib
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn

SVG = "{http://www.w3.org/2000/svg}"
NAN_RED, GREY = "#f4a3a3", "#eeeeee"
NEURON_BIAS = 6.8813735870195432  # makes x1*w1 + x2*w2 + b = atanh(1/sqrt(2)): o = 0.7071


# --- reading DOT text and SVG -------------------------------------------------------------

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(->)|([\[\]{}=;,])|([^\s\[\]{}=;,"]+)', re.S)


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens: kind is "str" (a quoted string, unescaped), "->", "punct", "id"."""
    out = []
    for quoted, arrow, punct, word in _TOKEN.findall(text):
        if arrow:
            out.append(("->", arrow))
        elif punct:
            out.append(("punct", punct))
        elif word:
            out.append(("id", word))
        else:
            out.append(("str", re.sub(r'\\(["\\])', r"\1", quoted)))
    return out


def parse_dot(text: str) -> dict:
    """The nodes, edges, clusters and graph attributes of DOT text written by graphviz.

    nodes: id -> {"attrs": {...}, "label": [lines], "clusters": (outermost, ..., innermost)}
    edges: [(tail, head, attrs)]; clusters: name -> {"attrs": {...}, "parent": name or None}
    """
    toks = _tokens(text)
    nodes, edges, clusters, graph_attrs = {}, [], {}, {}
    stack: list[str] = []
    i = 0

    def attr_list(i):
        attrs = {}
        assert toks[i][1] == "["
        i += 1
        while toks[i][1] != "]":
            if toks[i][1] in (",", ";"):
                i += 1
                continue
            key = toks[i][1]
            assert toks[i + 1][1] == "=", toks[i:i + 3]
            attrs[key] = toks[i + 2][1]
            i += 3
        return attrs, i + 1

    def current_attrs():
        return clusters[stack[-1]]["attrs"] if stack else graph_attrs

    assert toks[0][1] == "digraph" and toks[2][1] == "{"
    i = 3
    while i < len(toks):
        kind, word = toks[i]
        if kind == "punct" and word == "}":
            if not stack:
                break
            stack.pop()
            i += 1
        elif kind == "punct" and word == ";":
            i += 1
        elif kind == "id" and word == "subgraph":
            name = toks[i + 1][1]
            clusters[name] = {"attrs": {}, "parent": stack[-1] if stack else None}
            stack.append(name)
            assert toks[i + 2][1] == "{"
            i += 3
        elif kind == "id" and word in ("graph", "node", "edge") and toks[i + 1][1] == "[":
            attrs, i = attr_list(i + 1)
            if word == "graph":
                current_attrs().update(attrs)
        elif toks[i + 1][1] == "=":
            current_attrs()[word] = toks[i + 2][1]
            i += 3
        elif toks[i + 1][0] == "->":
            tail, head = word, toks[i + 2][1]
            i += 3
            attrs = {}
            if i < len(toks) and toks[i][1] == "[":
                attrs, i = attr_list(i)
            edges.append((tail, head, attrs))
        else:
            attrs = {}
            i += 1
            if toks[i][1] == "[":
                attrs, i = attr_list(i)
            nodes[word] = {"attrs": attrs, "label": attrs.get("label", word).split("\n"),
                           "clusters": tuple(stack)}
    return {"nodes": nodes, "edges": edges, "clusters": clusters, "graph": graph_attrs}


def dot_of(output, **options) -> dict:
    return parse_dot(tg.viz.to_dot(output, **options))


def by_name(graph: dict, name: str) -> list[str]:
    """The ids of the nodes whose label starts with the line `name`."""
    return [i for i, n in graph["nodes"].items() if n["label"][0] == name]


def one(graph: dict, name: str) -> str:
    ids = by_name(graph, name)
    assert len(ids) == 1, f"expected one node named {name!r}, found {len(ids)}"
    return ids[0]


def label_of(graph: dict, node_id: str) -> list[str]:
    return graph["nodes"][node_id]["label"]


def cluster_label(graph: dict, name: str | None) -> str | None:
    return None if name is None else graph["clusters"][name]["attrs"].get("label")


def svg_of(path) -> dict:
    """{"node": {title: [texts]}, "edge": [title], "cluster": {title: [texts]}} of an SVG."""
    root = ET.parse(path).getroot()
    found = {"node": {}, "edge": [], "cluster": {}}
    for g in root.iter(f"{SVG}g"):
        kind = g.get("class")
        if kind not in found:
            continue
        title = g.findtext(f"{SVG}title")
        texts = [t.text for t in g.iter(f"{SVG}text")]
        if kind == "edge":
            found["edge"].append(title)
        else:
            assert title not in found[kind]
            found[kind][title] = texts
    return found


def recorded_counts(output) -> tuple[int, int, int, int]:
    """(ops, leaves that require grad, edges, drawn nodes) of output's graph, walked here.

    Edges: one per tensor input that requires grad (a tensor used twice by one op gives
    two), and one from the last op to the output.
    """
    ops, leaves, edges = set(), set(), 0
    stack = [output.grad_fn]
    while stack:
        node = stack.pop()
        if id(node) in ops:
            continue
        ops.add(id(node))
        for x in node.inputs:
            if isinstance(x, tg.Tensor) and x.requires_grad:
                edges += 1
                if x.grad_fn is None:
                    leaves.add(id(x))
                else:
                    stack.append(x.grad_fn)
    edges += 1
    return len(ops), len(leaves), edges, len(ops) + len(leaves) + 1


def green(color: str) -> int:
    return int(color[3:5], 16)


# --- graphs used by several tests -----------------------------------------------------------


def leaf(value, name, dtype=np.float64):
    return tg.Tensor(value, requires_grad=True, dtype=dtype, name=name)


def neuron(traced: bool = True):
    """micrograd's neuron o = tanh(x1*w1 + x2*w2 + b), in float64; leaves by name."""
    leaves = {"x1": leaf(2.0, "x1"), "w1": leaf(-3.0, "w1"), "x2": leaf(0.0, "x2"),
              "w2": leaf(1.0, "w2"), "b": leaf(NEURON_BIAS, "b")}
    x1, w1, x2, w2, b = leaves.values()
    with tg.viz.trace() if traced else contextlib.nullcontext():
        o = (x1 * w1 + x2 * w2 + b).tanh()
    return o, leaves


NEURON_GRADS = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}


def small_graph():
    x = tg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    w = tg.Tensor([0.5, -1.0], requires_grad=True, name="w")
    loss = (x * w + x).tanh().sum()  # x is used twice
    return loss, (x, w)


def mlp_loss(traced: bool = False):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    x, target = tg.randn(3, 2), tg.randn(3, 1)
    with tg.viz.trace() if traced else contextlib.nullcontext():
        loss = nn.functional.mse_loss(model(x), target)
    return loss, model


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 3)
        self.out = nn.Linear(3, 1)

    def forward(self, x):
        return self.out(self.hidden(x).relu())


# --- the drawing: nodes, edges and labels ------------------------------------------------------


def test_to_dot_has_one_node_per_op_and_leaf_and_the_edges_between_them():
    loss, _ = small_graph()
    graph = dot_of(loss)
    ops = [n["label"][0] for i, n in graph["nodes"].items() if i.startswith("n")]
    assert sorted(ops) == ["Add", "Mul", "Sum", "Tanh"]
    assert label_of(graph, one(graph, "x")) == ["x", "(2) float32",
                                                "used 2 times: gradients add"]
    assert label_of(graph, one(graph, "w")) == ["w", "(2) float32"]
    # edges: x->Mul, w->Mul, x->Add, Mul->Add, Add->Tanh, Tanh->Sum, Sum->output
    assert len(graph["edges"]) == 7


def test_the_neuron_in_dot_is_wired_as_the_formula_says():
    o, _ = neuron()
    graph = dot_of(o)
    nodes = graph["nodes"]
    ops = {i: n["label"][0] for i, n in nodes.items() if i.startswith("n")}
    assert Counter(ops.values()) == Counter({"Mul": 2, "Add": 2, "Tanh": 1})
    inputs: dict[str, list[str]] = {}
    for tail, head, _ in graph["edges"]:
        inputs.setdefault(head, []).append(tail)
    names = {i: n["label"][0] for i, n in nodes.items()}
    out_of = Counter(t for t, _, _ in graph["edges"])
    feeds = {names[t]: h for t, h, _ in graph["edges"] if names[t] in NEURON_GRADS}
    assert sorted(feeds) == sorted(NEURON_GRADS)
    assert all(out_of[one(graph, name)] == 1 for name in NEURON_GRADS)  # each used once
    # x1 and w1 go into one Mul, x2 and w2 into the other
    assert feeds["x1"] == feeds["w1"]
    assert feeds["x2"] == feeds["w2"]
    assert feeds["x1"] != feeds["x2"]
    assert ops[feeds["x1"]] == ops[feeds["x2"]] == "Mul"
    # both Muls into the first Add; that Add and b into the second; then Tanh, then o
    first_add = [h for t, h, _ in graph["edges"] if t == feeds["x1"]]
    assert len(first_add) == 1 and ops[first_add[0]] == "Add"
    assert sorted(inputs[first_add[0]]) == sorted([feeds["x1"], feeds["x2"]])
    second_add = feeds["b"]
    assert ops[second_add] == "Add" and second_add != first_add[0]
    assert sorted(inputs[second_add]) == sorted([first_add[0], one(graph, "b")])
    (tanh,) = [i for i, name in ops.items() if name == "Tanh"]
    assert inputs[tanh] == [second_add]
    (output,) = [h for t, h, _ in graph["edges"] if t == tanh]
    assert names[output] == "output" and output.startswith("t")
    assert len(graph["edges"]) == 10


def test_the_neuron_shows_values_and_gradients_after_backward_in_trace():
    o, _ = neuron()
    o.backward()
    graph = dot_of(o, show_values=True, show_grads=True)
    assert "label" not in graph["graph"]  # everything was traced: no note about trace()
    assert label_of(graph, one(graph, "output")) == ["output", "() float64", "value 0.7071"]
    assert label_of(graph, one(graph, "Tanh")) == ["Tanh", "() float64", "value 0.7071",
                                                   "grad 1"]
    adds = sorted((label_of(graph, i) for i in by_name(graph, "Add")), key=lambda l: l[2])
    assert adds == [["Add", "() float64", "value -6", "grad 0.5"],
                    ["Add", "() float64", "value 0.8814", "grad 0.5"]]
    muls = sorted((label_of(graph, i) for i in by_name(graph, "Mul")), key=lambda l: l[2])
    assert muls == [["Mul", "() float64", "value -6", "grad 0.5"],
                    ["Mul", "() float64", "value 0", "grad 0.5"]]
    values = {"x1": "2", "w1": "-3", "x2": "0", "w2": "1", "b": "6.881"}
    for name, grad in NEURON_GRADS.items():
        assert label_of(graph, one(graph, name)) == [name, "() float64",
                                                     f"value {values[name]}", f"grad {grad:.4g}"]


@pytest.mark.parametrize("which", ["neuron", "mlp", "used twice"])
def test_the_svg_has_one_group_per_node_and_per_edge_of_the_graph(tmp_path, which):
    if which == "neuron":
        output, _ = neuron()
        expected = (5, 5, 10, 11)  # 5 ops, 5 leaves; 11 nodes with the output
    elif which == "mlp":
        # Linear, Relu, Linear, then mse: Sub, Mul (the Sub twice), Sum, Div; 4 parameters;
        # edges: 2 + 1 + 3 into the layers, 1 + 2 + 1 + 1 in the loss, 1 to the output
        output, _ = mlp_loss(traced=True)
        expected = (7, 4, 12, 12)
    else:
        output, _ = small_graph()
        expected = (4, 2, 7, 7)
    ops, leaves, edges, drawn = recorded_counts(output)
    assert (ops, leaves, edges, drawn) == expected
    path = tg.viz.render(output, tmp_path / "g.svg", show_values=True)
    assert path == str(tmp_path / "g.svg")
    svg = svg_of(path)
    assert len(svg["node"]) == drawn
    assert len(svg["edge"]) == edges
    ops_in_svg = [t for t in svg["node"] if t.startswith("n")]
    assert len(ops_in_svg) == ops
    # every edge joins two drawn nodes
    for title in svg["edge"]:
        tail, head = title.split("->")
        assert tail in svg["node"] and head in svg["node"]


def test_render_accepts_a_drawn_graph_too(tmp_path):
    o, _ = neuron()
    graph = tg.viz.draw_graph(o, rankdir="TB")
    svg = svg_of(tg.viz.render(graph, tmp_path / "g.svg"))
    assert len(svg["node"]) == 11 and len(svg["edge"]) == 10
    texts = [t for texts in svg["node"].values() for t in texts]
    assert Counter(t for t in texts if t in ("Mul", "Add", "Tanh")) == \
        Counter({"Mul": 2, "Add": 2, "Tanh": 1})


def test_labels_carry_shapes_dtypes_and_module_parameter_names(tmp_path):
    loss, model = mlp_loss(traced=True)
    graph = dot_of(loss)
    expected = {"0.weight": "(4, 2) float32", "0.bias": "(4) float32",
                "2.weight": "(1, 4) float32", "2.bias": "(1) float32"}
    for name, shape in expected.items():
        assert label_of(graph, one(graph, name))[:2] == [name, shape]
    linears = sorted(label_of(graph, i)[1] for i in by_name(graph, "Linear"))
    assert linears == ["(3, 1) float32", "(3, 4) float32"]
    assert label_of(graph, one(graph, "Relu"))[1] == "(3, 4) float32"
    assert label_of(graph, one(graph, "output"))[1] == "() float32"
    # the same names reach the SVG
    svg = svg_of(tg.viz.render(loss, tmp_path / "g.svg"))
    texts = [t for texts in svg["node"].values() for t in texts]
    for name, shape in expected.items():
        assert name in texts and shape in texts


def test_show_shapes_false_leaves_shapes_out():
    o, _ = neuron()
    graph = dot_of(o, show_shapes=False)
    assert label_of(graph, one(graph, "x1")) == ["x1"]
    assert label_of(graph, one(graph, "Tanh")) == ["Tanh"]


def test_names_given_with_params_win_over_module_names():
    loss, model = mlp_loss()
    params = {f"model.{name}": p for name, p in model.named_parameters()}
    graph = dot_of(loss, params=params)
    for name in ("model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"):
        one(graph, name)
    assert not by_name(graph, "0.weight")
    # and a tensor outside any module takes its name from params= too
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    graph = dot_of((x * 2).sum(), params={"my_input": x})
    assert label_of(graph, one(graph, "my_input"))[1] == "(2) float32"


def test_a_tensor_without_a_name_is_called_tensor_and_a_named_output_keeps_its_name():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    y.name = "loss"
    graph = dot_of(y)
    one(graph, "tensor")
    assert label_of(graph, one(graph, "loss")) == ["loss", "() float32"]


def test_parameter_names_come_from_the_module():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    out = model(tg.randn(2, 3)).sum()
    graph = dot_of(out)  # no params=: the names come from the recorded module calls
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        one(graph, name)


def test_a_submodules_parameter_used_directly_by_its_parent_gets_its_dotted_name():
    # weight tying and hand-written layers use a child's parameter without calling the
    # child: the name is still the one named_parameters() gives
    class Direct(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(3, 2)

        def forward(self, x):
            return x @ self.inner.weight.T + self.inner.bias

    model = Direct()
    graph = dot_of(model(tg.randn(1, 3)).sum())
    assert sorted(dict(model.named_parameters())) == ["inner.bias", "inner.weight"]
    one(graph, "inner.weight")
    one(graph, "inner.bias")


def test_draw_graph_checks_its_arguments():
    with pytest.raises(TypeError, match="Tensor"):
        tg.viz.draw_graph(np.ones(3))
    o, _ = neuron()
    with pytest.raises(ValueError, match="rankdir"):
        tg.viz.draw_graph(o, rankdir="XY")
    with pytest.raises(ValueError, match="max_nodes"):
        tg.viz.draw_graph(o, max_nodes=1)


def test_a_leaf_alone_is_drawn_as_one_node():
    x = leaf([1.0, 2.0], "x")
    graph = dot_of(x, show_values=True)
    assert list(graph["nodes"]) == [f"t{id(x)}"]
    assert label_of(graph, f"t{id(x)}") == ["x", "(2) float64", "value [1, 2]"]
    assert graph["edges"] == []


# --- colours ------------------------------------------------------------------------------------


def test_nan_and_inf_values_are_red_and_normal_ones_are_not():
    x = leaf(1.0, "x")
    with np.errstate(invalid="ignore", divide="ignore"), tg.viz.trace():
        log_of_negative = (x - 5.0).log()
        zero_over_zero = (x * 0.0) / (x * 0.0)
        one_over_zero = 1.0 / (x - 1.0)  # inf
    graph = dot_of(log_of_negative, show_values=True)
    fills = {label_of(graph, i)[0]: n["attrs"]["fillcolor"] for i, n in graph["nodes"].items()}
    assert fills["Log"] == NAN_RED
    assert fills["output"] == NAN_RED
    assert fills["Sub"] != NAN_RED and fills["x"] != NAN_RED
    assert "value nan" in label_of(graph, one(graph, "Log"))

    graph = dot_of(zero_over_zero)
    fills = {label_of(graph, i)[0]: n["attrs"]["fillcolor"] for i, n in graph["nodes"].items()
             if label_of(graph, i)[0] != "Mul"}
    assert fills["Div"] == fills["output"] == NAN_RED
    assert all(graph["nodes"][i]["attrs"]["fillcolor"] != NAN_RED for i in by_name(graph, "Mul"))

    graph = dot_of(one_over_zero, show_values=True)
    divide = f"n{id(one_over_zero.grad_fn)}"
    assert label_of(graph, divide)[0] == "Div"
    assert "value inf" in label_of(graph, divide)
    assert graph["nodes"][divide]["attrs"]["fillcolor"] == NAN_RED


def test_a_leaf_with_a_nan_gradient_is_red():
    x = leaf(0.0, "x")
    with np.errstate(invalid="ignore", divide="ignore"), tg.viz.trace():
        y = (x.sqrt() * 0.0).sum()  # d/dx sqrt(x) at 0 is inf; times 0 gives NaN
        y.backward()
    assert np.isnan(x.grad.item())
    graph = dot_of(y, show_grads=True)
    fill = {label_of(graph, i)[0]: n["attrs"]["fillcolor"] for i, n in graph["nodes"].items()}
    assert fill["x"] == NAN_RED
    assert "grad nan" in label_of(graph, one(graph, "x"))
    for name in ("Sqrt", "Mul", "Sum", "output"):
        assert fill[name] != NAN_RED, name

    z = leaf(0.0, "z")
    with np.errstate(divide="ignore"):
        z.sqrt().backward()  # an infinite gradient is red too
    assert np.isinf(z.grad.item())
    graph = dot_of(z.sqrt(), show_grads=True)
    assert graph["nodes"][one(graph, "z")]["attrs"]["fillcolor"] == NAN_RED


def test_grey_before_backward_then_orange_by_the_size_of_the_gradient():
    o, _ = neuron()
    before = dot_of(o, show_grads=True)
    for node in before["nodes"].values():
        if node["label"][0] != "output":
            assert node["attrs"]["fillcolor"] == GREY, node["label"]
    assert "grad: backward has not run yet" in label_of(before, one(before, "x1"))
    assert all(n["attrs"]["fillcolor"] != GREY for n in dot_of(o)["nodes"].values())

    o.backward()
    after = dot_of(o, show_grads=True)
    fill = {label_of(after, i)[0]: n["attrs"]["fillcolor"] for i, n in after["nodes"].items()
            if i.startswith("t")}
    fill["Tanh"] = after["nodes"][one(after, "Tanh")]["attrs"]["fillcolor"]
    assert GREY not in fill.values()
    for name, color in fill.items():
        if name != "output":
            assert re.fullmatch(r"#ff[0-9a-f]{4}", color), (name, color)
    # |grad|: x1 1.5 > w1 1 = Tanh 1 > b 0.5 >= w2 0: the larger, the stronger the orange
    assert green(fill["x1"]) < green(fill["w1"]) < green(fill["b"]) <= green(fill["w2"])
    assert fill["Tanh"] == fill["w1"]


# --- a tensor used twice ------------------------------------------------------------------------


def test_an_intermediate_used_twice_gets_plus_edges_and_says_so():
    x = leaf([1.0, 2.0], "x")
    y = x * 3.0
    z = (y * 2.0 + y).tanh().sum()  # y is used by the Mul and by the Add
    graph = dot_of(z)
    y_id = f"n{id(y.grad_fn)}"
    assert "used 2 times: gradients add" in label_of(graph, y_id)
    out_of_y = [attrs for tail, _, attrs in graph["edges"] if tail == y_id]
    assert len(out_of_y) == 2 and all(a.get("label") == "+" for a in out_of_y)
    for tail, _, attrs in graph["edges"]:
        if tail != y_id:  # everything else is used once: plain edges, no note
            assert "label" not in attrs
            assert not any("used" in line for line in label_of(graph, tail))


def test_a_tensor_used_twice_by_one_op_gets_two_plus_edges():
    x = leaf([1.0, 2.0], "x")
    y = x * 3.0
    graph = dot_of((y * y).sum())
    y_id = f"n{id(y.grad_fn)}"
    out_of_y = [attrs for tail, _, attrs in graph["edges"] if tail == y_id]
    assert [a.get("label") for a in out_of_y] == ["+", "+"]
    assert "used 2 times: gradients add" in label_of(graph, y_id)


def test_a_leaf_used_twice_gets_plus_edges_and_says_so():
    loss, (x, w) = small_graph()  # x * w + x
    graph = dot_of(loss)
    x_id, w_id = f"t{id(x)}", f"t{id(w)}"
    out_of_x = [attrs for tail, _, attrs in graph["edges"] if tail == x_id]
    assert len(out_of_x) == 2 and all(a.get("label") == "+" for a in out_of_x)
    assert [attrs.get("label") for tail, _, attrs in graph["edges"] if tail == w_id] == [None]
    assert not any("used" in line for line in label_of(graph, w_id))
    assert "used 2 times: gradients add" in label_of(graph, x_id)


# --- module calls: boxes around their ops ---------------------------------------------------


def test_sequential_layers_are_nested_boxes_with_their_parameters(tmp_path):
    loss, model = mlp_loss(traced=True)
    graph = dot_of(loss)
    labels = {name: c["attrs"].get("label") for name, c in graph["clusters"].items()}
    assert all(name.startswith("cluster_") for name in labels)
    assert sorted(labels.values()) == sorted(["Sequential", "0: Linear(2→4)", "1: ReLU",
                                              "2: Linear(4→1)"])
    outer = next(name for name, label in labels.items() if label == "Sequential")
    assert graph["clusters"][outer]["parent"] is None
    for name, c in graph["clusters"].items():
        if name != outer:
            assert c["parent"] == outer, labels[name]

    def box_of(node_id):
        return cluster_label(graph, (graph["nodes"][node_id]["clusters"] or (None,))[-1])

    for name in ("0.weight", "0.bias"):
        assert box_of(one(graph, name)) == "0: Linear(2→4)"
    for name in ("2.weight", "2.bias"):
        assert box_of(one(graph, name)) == "2: Linear(4→1)"
    assert sorted(box_of(i) for i in by_name(graph, "Linear")) == ["0: Linear(2→4)",
                                                                   "2: Linear(4→1)"]
    assert box_of(one(graph, "Relu")) == "1: ReLU"
    for op in ("Sub", "Sum", "output"):  # the loss is computed outside the model
        assert all(box_of(i) is None for i in by_name(graph, op))

    svg = svg_of(tg.viz.render(loss, tmp_path / "g.svg"))
    assert sorted(svg["cluster"]) == sorted(labels)
    assert sorted(texts[0] for texts in svg["cluster"].values()) == sorted(labels.values())


def test_group_modules_false_draws_no_boxes(tmp_path):
    loss, _ = mlp_loss()
    graph = dot_of(loss, group_modules=False)
    assert graph["clusters"] == {}
    assert all(n["clusters"] == () for n in graph["nodes"].values())
    one(graph, "0.weight")  # the names still come from the module calls
    assert svg_of(tg.viz.render(loss, tmp_path / "g.svg", group_modules=False))["cluster"] == {}


def test_a_custom_module_names_its_boxes_and_parameters_by_attribute():
    model = TwoLayers()
    graph = dot_of(model(tg.randn(4, 2)).sum())
    labels = {name: c["attrs"]["label"] for name, c in graph["clusters"].items()}
    assert sorted(labels.values()) == ["TwoLayers", "hidden: Linear(2→3)", "out: Linear(3→1)"]
    outer = next(name for name, label in labels.items() if label == "TwoLayers")
    for name in ("hidden.weight", "hidden.bias", "out.weight", "out.bias"):
        box = graph["nodes"][one(graph, name)]["clusters"]
        assert box[0] == outer and labels[box[-1]] == f"{name.split('.')[0]}: " + (
            "Linear(2→3)" if name.startswith("hidden") else "Linear(3→1)")
    # the relu is written in TwoLayers.forward itself: inside its box, in no layer's
    assert graph["nodes"][one(graph, "Relu")]["clusters"] == (outer,)


def test_a_module_called_twice_gets_two_boxes():
    layer = nn.Linear(2, 2)
    out = (layer(tg.randn(1, 2)) + layer(tg.randn(1, 2))).sum()
    graph = dot_of(out)
    assert sorted(c["attrs"]["label"] for c in graph["clusters"].values()) == \
        ["Linear(2→2)", "Linear(2→2)"]
    linear_boxes = {graph["nodes"][i]["clusters"] for i in by_name(graph, "Linear")}
    assert len(linear_boxes) == 2
    one(graph, "weight")  # drawn once, in one of the boxes, with edges to both calls
    assert len([t for t, _, _ in graph["edges"] if t == one(graph, "weight")]) == 2


def test_each_op_records_the_module_call_that_made_it():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    h = model(tg.randn(4, 2))
    loss = h.sum()
    relu_call = h.grad_fn._module_call
    assert relu_call.module is model[1]
    assert relu_call.parent.module is model and relu_call.parent.parent is None
    linear_call = h.grad_fn.inputs[0].grad_fn._module_call
    assert linear_call.module is model[0] and linear_call.parent is relu_call.parent
    assert loss.grad_fn._module_call is None  # made outside any module
    again = model(tg.randn(4, 2))
    assert again.grad_fn._module_call is not relu_call  # one record per call


def test_a_failing_forward_does_not_leave_its_module_call_behind():
    class Broken(nn.Module):
        def forward(self, x):
            raise ArithmeticError("broken")

    x = leaf(1.0, "x")
    with pytest.raises(ArithmeticError):
        Broken()(x)
    assert (x * 2).grad_fn._module_call is None


# --- big graphs -------------------------------------------------------------------------------


def chain(n: int):
    h = tg.Tensor(0.5, requires_grad=True, name="h0")
    for _ in range(n):
        h = h * 1.0001
    return h


def test_a_10000_op_chain_is_folded_at_max_nodes_and_renders(tmp_path):
    h = chain(10_000)
    graph = dot_of(h, max_nodes=100)
    ops = [i for i in graph["nodes"] if i.startswith("n")]
    assert len(ops) == 100 and all(label_of(graph, i)[0] == "Mul" for i in ops)
    in_order = []  # the chain's ops, oldest first (after the reverse)
    node = h.grad_fn
    while node is not None:
        in_order.append(node)
        node = node.inputs[0].grad_fn
    in_order.reverse()
    assert len(in_order) == 10_000
    assert set(ops) == {f"n{id(n)}" for n in in_order[:50] + in_order[-50:]}  # both ends
    assert label_of(graph, "hidden") == ["... 9900 more ops, not drawn",
                                         "(draw_graph max_nodes=100)"]
    # the fold is joined once on each side: last op before it -> fold -> first op after it
    pairs = [(t, head) for t, head, _ in graph["edges"]]
    assert len(pairs) == len(set(pairs))
    assert len([p for p in pairs if p[1] == "hidden"]) == 1
    assert len([p for p in pairs if p[0] == "hidden"]) == 1
    svg = svg_of(tg.viz.render(h, tmp_path / "g.svg", max_nodes=100))
    assert len(svg["node"]) == 100 + 3  # the ops, the leaf h0, the output and the fold
    # h0 -> 50 ops in a chain -> fold -> 50 ops in a chain -> output
    assert len(svg["edge"]) == 1 + 49 + 2 + 49 + 1
    texts = [t for texts in svg["node"].values() for t in texts]
    assert "... 9900 more ops, not drawn" in texts


def test_max_nodes_is_500_by_default_and_nothing_is_folded_below_it():
    h = chain(600)
    graph = dot_of(h)
    assert len([i for i in graph["nodes"] if i.startswith("n")]) == 500
    assert label_of(graph, "hidden")[0] == "... 100 more ops, not drawn"
    graph = dot_of(h, max_nodes=600)
    assert len([i for i in graph["nodes"] if i.startswith("n")]) == 600
    assert "hidden" not in graph["nodes"]


# --- trace() -----------------------------------------------------------------------------------


def test_outside_trace_values_are_shown_but_intermediate_gradients_are_not():
    o, _ = neuron(traced=False)
    graph = dot_of(o, show_values=True)
    # every result's value is held by the op that uses it, so it is shown without trace
    values = sorted(label_of(graph, n)[2] for n in graph["nodes"] if n.startswith("n"))
    assert values == sorted(["value -6", "value 0", "value -6", "value 0.8814", "value 0.7071"])
    assert "label" not in graph["graph"]  # nothing missing: no note
    o.backward()
    graph = dot_of(o, show_values=True, show_grads=True)
    assert "tg.viz.trace()" in graph["graph"]["label"]  # intermediate gradients were not kept
    for node_id in graph["nodes"]:
        if node_id.startswith("n"):
            assert not any(line.startswith("grad") for line in label_of(graph, node_id))
    assert "grad -1.5" in label_of(graph, one(graph, "x1"))  # leaves keep theirs
    assert "label" not in dot_of(o)["graph"]  # nothing asked for, nothing to explain


def test_inside_trace_every_op_keeps_its_value_and_then_its_gradient():
    o, leaves = neuron(traced=True)
    assert o.grad_fn._value is not None and float(o.grad_fn._value) == pytest.approx(2 ** -0.5)
    assert o.grad_fn._grad_value is None
    o.backward()
    assert float(o.grad_fn._grad_value) == 1.0
    graph = dot_of(o, show_values=True)
    for node_id in graph["nodes"]:
        if node_id.startswith("n"):
            lines = label_of(graph, node_id)
            assert len(lines) == 3 and lines[1] == "() float64", lines
            assert lines[2].startswith("value "), lines


def test_trace_is_restored_after_an_exception_and_can_be_nested():
    x = leaf(1.0, "x")
    with pytest.raises(KeyError):
        with tg.viz.trace():
            assert (x * 2).grad_fn._value is not None
            raise KeyError("inside")
    assert (x * 2).grad_fn._value is None
    with tg.viz.trace():
        with tg.viz.trace():
            inner = x * 3
        after_inner = x * 4  # the outer trace still holds
    after_outer = x * 5
    assert inner.grad_fn._value is not None
    assert after_inner.grad_fn._value is not None
    assert after_outer.grad_fn._value is None


# --- Jupyter ------------------------------------------------------------------------------------


def test_the_drawn_graph_shows_itself_in_jupyter_as_svg():
    o, _ = neuron()
    bundle = tg.viz.draw_graph(o)._repr_mimebundle_()
    svg_text = bundle["image/svg+xml"]
    root = ET.fromstring(svg_text.encode() if isinstance(svg_text, str) else svg_text)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert Counter(t for t in texts if t in ("Mul", "Add", "Tanh")) == \
        Counter({"Mul": 2, "Add": 2, "Tanh": 1})
    assert {"x1", "w1", "x2", "w2", "b"} <= set(texts)


# --- render -------------------------------------------------------------------------------------


def test_render_png_and_a_bad_format(tmp_path):
    loss, _ = small_graph()
    tg.viz.render(loss, tmp_path / "g.png", format="png")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="format"):
        tg.viz.render(loss, tmp_path / "g.gif", format="gif")


def test_without_the_dot_program_render_says_what_to_install(tmp_path, monkeypatch):
    loss, _ = small_graph()
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` on the PATH
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        tg.viz.render(loss, tmp_path / "g.svg")
    assert "digraph" in tg.viz.to_dot(loss)  # the text still works


# --- explain_backward ---------------------------------------------------------------------------


def test_explain_backward_of_the_neuron_row_by_row():
    o, _ = neuron()
    table = tg.viz.explain_backward(o, show=False)
    rows = table.rows
    assert [r["op"] for r in rows] == ["Tanh"] + ["Add"] * 4 + ["Mul"] * 4
    assert [r["step"] for r in rows] == [1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert table.forward_lines == ["t1 = x1 * w1", "t2 = x2 * w2", "t3 = t1 + t2",
                                   "t4 = t3 + b", "t5 = tanh(t4)"]
    assert [(r["result"], r["input"]) for r in rows] == [
        ("t5", "t4"), ("t4", "t3"), ("t4", "b"), ("t3", "t1"), ("t3", "t2"),
        ("t2", "x2"), ("t2", "w2"), ("t1", "x1"), ("t1", "w1")]
    local = {r["input"]: float(r["arrays"]["local"]) for r in rows}
    assert local["t4"] == pytest.approx(0.5)  # 1 - tanh^2 = 1 - 1/2
    assert local["x1"] == -3.0 and local["w1"] == 2.0  # a Mul swaps its inputs
    assert local["x2"] == 1.0 and local["w2"] == 0.0
    assert local["b"] == local["t3"] == local["t1"] == local["t2"] == 1.0
    assert rows[0]["local"] == "1 - tanh(t4)^2 = 0.5"
    assert rows[7]["local"] == "w1 = -3" and rows[8]["local"] == "x1 = 2"
    upstream = [float(r["arrays"]["upstream"]) for r in rows]
    assert upstream == pytest.approx([1.0] + [0.5] * 8)
    contribution = {r["input"]: float(r["arrays"]["contribution"]) for r in rows}
    for name, grad in NEURON_GRADS.items():
        assert contribution[name] == pytest.approx(grad)
        row = next(r for r in rows if r["input"] == name)
        assert float(row["arrays"]["gathered"]) == pytest.approx(grad)  # each used once
        assert row["contribution"] == row["gathered"] == f"{grad:.4g}"
    assert table.leaves == [(name, f"{grad:.4g}") for name, grad in NEURON_GRADS.items()]


def _fmt(array) -> str:
    """A small array as the table prints it."""
    array = np.asarray(array)
    if array.ndim == 0:
        return f"{array.item():.4g}"
    return "[" + ", ".join(f"{v:.4g}" for v in array.ravel()) + "]"


def _graph_times_three(rng):
    x = leaf(rng.uniform(0.5, 2.0, 3), "x")
    return (x * 2.0 + x * 3.0 + x * 4.0).sum(), {"x": x}


def _graph_square_plus(rng):
    x = leaf(rng.standard_normal(3), "x")
    return (x * x + x).sum(), {"x": x}


def _graph_broadcast(rng):
    x = leaf(rng.standard_normal((2, 3)), "x")
    w = leaf(rng.standard_normal(3), "w")
    b = leaf(rng.standard_normal(()), "b")
    return (x * w + b).tanh().sum(), {"x": x, "w": w, "b": b}


def _graph_sums(rng):
    x = leaf(rng.standard_normal((3, 2)), "x")
    y = leaf(rng.standard_normal(2), "y")
    s = x.sum(axis=0)
    return ((s * y).exp() - s / (y * y + 1.0)).sum() + x.sum() * 0.5, {"x": x, "y": y}


def _graph_mixed(rng):
    a = leaf(rng.uniform(0.5, 2.0, 4), "a")
    c = leaf(rng.standard_normal(4), "c")
    d = (a.log() * c).sigmoid() + (c - a).relu() * a.sqrt() - (c * 2.0).abs() ** 2.0
    return (d * d).mean(), {"a": a, "c": c}


def _graph_matmul(rng):
    A = leaf(rng.standard_normal((2, 3)), "A")
    B = leaf(rng.standard_normal((3, 2)), "B")
    return ((A @ B).tanh() * leaf_const(rng, (2, 2))).sum(), {"A": A, "B": B}


def _graph_square_matmul(rng):
    A = leaf(rng.standard_normal((2, 2)), "A")
    B = leaf(rng.standard_normal((2, 2)), "B")
    return ((A @ B) * leaf_const(rng, (2, 2))).sum(), {"A": A, "B": B}


def _graph_log_softmax(rng):
    x = leaf(rng.standard_normal(3), "x")
    return (x.log_softmax(axis=0) * leaf_const(rng, (3,))).sum(), {"x": x}


def _graph_mlp(rng):
    tg.manual_seed(int(rng.integers(1000)))
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.ReLU(),
                          nn.Linear(4, 2, dtype=np.float64))
    x = tg.Tensor(rng.standard_normal((5, 3)))
    loss = nn.functional.cross_entropy(model(x), rng.integers(0, 2, 5))
    return loss, dict(model.named_parameters())


def leaf_const(rng, shape):
    return tg.Tensor(rng.standard_normal(shape))


GRAPHS = {"x used three times": _graph_times_three, "x*x + x": _graph_square_plus,
          "broadcasting": _graph_broadcast, "sums": _graph_sums, "mixed": _graph_mixed,
          "matmul": _graph_matmul, "square matmul": _graph_square_matmul,
          "log_softmax": _graph_log_softmax, "mlp": _graph_mlp}


def explained_leaf_grads(table) -> dict[str, np.ndarray]:
    """Each leaf's gradient as the table gathers it: its last row's `gathered`."""
    grads = {}
    for row in table.rows:
        grads[row["input"]] = row["arrays"]["gathered"]
    return {name: grads[name] for name, _ in table.leaves}


def _named_leaves(leaves: dict) -> dict:
    for name, tensor in leaves.items():  # the table names leaves by their .name
        tensor.name = name
    return leaves


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("build", GRAPHS.values(), ids=GRAPHS.keys())
def test_explain_gives_the_leaf_gradients_that_backward_gives(build, seed):
    output, leaves = build(np.random.default_rng(seed))
    _named_leaves(leaves)
    table = tg.viz.explain_backward(output, show=False)
    assert all(t.grad is None for t in leaves.values())  # explain writes no .grad
    explained = explained_leaf_grads(table)
    assert sorted(explained) == sorted(leaves)

    fresh, fresh_leaves = build(np.random.default_rng(seed))  # the same graph, built again
    fresh.backward()
    for name, tensor in fresh_leaves.items():
        np.testing.assert_allclose(explained[name], tensor.grad.numpy(), rtol=1e-12,
                                   atol=1e-15, err_msg=name)
    # the graph was not freed: a real backward on it still works, and agrees
    output.backward()
    for name, tensor in leaves.items():
        np.testing.assert_allclose(tensor.grad.numpy(), fresh_leaves[name].grad.numpy(),
                                   rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("build", GRAPHS.values(), ids=GRAPHS.keys())
def test_each_rows_numbers_are_its_arrays_and_contribution_is_upstream_times_local(build):
    output, leaves = build(np.random.default_rng(3))
    _named_leaves(leaves)
    table = tg.viz.explain_backward(output, show=False)
    assert table.rows
    for row in table.rows:
        arrays = row["arrays"]
        for key in ("upstream", "contribution", "gathered"):
            if np.size(arrays[key]) <= 6:
                assert row[key] == _fmt(arrays[key]), (row, key)
            else:
                assert f"max {np.max(arrays[key]):.3g}" in row[key], (row, key)
        if arrays["local"] is not None:
            assert row["local"].endswith(" = " + _fmt(arrays["local"])) or \
                row["local"] == _fmt(arrays["local"])
            # the table's own rule: contribution = upstream x local derivative
            np.testing.assert_allclose(arrays["contribution"],
                                       arrays["upstream"] * arrays["local"],
                                       rtol=1e-12, atol=1e-15,
                                       err_msg=f"{row['op']} -> {row['input']}")


def test_a_tensor_used_three_times_gathers_step_by_step():
    x = leaf([1.0, -2.0], "x")
    y = (x * 2.0 + x * 3.0) + x * 4.0
    table = tg.viz.explain_backward(y.sum(), show=False)
    x_rows = [r for r in table.rows if r["input"] == "x"]
    assert [r["op"] for r in x_rows] == ["Mul"] * 3
    # newest op first: x*4, then x*3, then x*2
    assert [r["arrays"]["contribution"].tolist() for r in x_rows] == [[4, 4], [3, 3], [2, 2]]
    assert [r["arrays"]["gathered"].tolist() for r in x_rows] == [[4, 4], [7, 7], [9, 9]]
    assert [r["gathered"] for r in x_rows] == ["[4, 4]", "[7, 7]", "[9, 9]"]
    assert table.leaves == [("x", "[9, 9]")]


def test_explain_a_non_scalar_output_with_its_gradient():
    x = leaf([1.0, 2.0, 3.0], "x")
    y = x * x
    with pytest.raises(ValueError, match="gradient"):
        tg.viz.explain_backward(y, show=False)
    upstream = np.array([1.0, -1.0, 0.5])
    table = tg.viz.explain_backward(y, gradient=upstream, show=False)
    y.backward(upstream)
    np.testing.assert_allclose(explained_leaf_grads(table)["x"], x.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0, 3.0]) * upstream)


def test_explain_refuses_a_leaf_and_a_non_tensor():
    with pytest.raises(ValueError, match="leaf"):
        tg.viz.explain_backward(leaf(1.0, "x"), show=False)
    with pytest.raises(TypeError, match="Tensor"):
        tg.viz.explain_backward(np.ones(2), show=False)


def test_explain_after_backward_works_on_a_traced_graph_and_asks_otherwise():
    o, _ = neuron()  # (built inside tg.viz.trace(), which keeps what backward frees)
    o.backward()
    table = tg.viz.explain_backward(o, show=False)
    assert table.leaves == [(name, f"{grad:.4g}") for name, grad in NEURON_GRADS.items()]
    x = tg.Tensor(2.0, requires_grad=True)
    y = (x * 3).tanh()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        tg.viz.explain_backward(y, show=False)
    o2, leaves = neuron()
    o2.backward(retain_graph=True)
    table = tg.viz.explain_backward(o2, show=False)
    assert table.leaves == [(name, f"{grad:.4g}") for name, grad in NEURON_GRADS.items()]


def test_explain_after_backward_refuses_even_a_graph_whose_ops_saved_nothing():
    # Add and Sum save nothing for backward, but backward still frees the graph: a second
    # backward refuses it, and so must the explanation of one
    a, b = leaf([1.0, 2.0], "a"), leaf([3.0, 4.0], "b")
    s = (a + b).sum()
    s.backward()
    with pytest.raises(RuntimeError, match="second time"):
        s.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        tg.viz.explain_backward(s, show=False)


def test_the_table_as_text_markdown_and_html():
    o, _ = neuron()
    table = tg.viz.explain_backward(o, show=False)
    markdown = table.to_markdown()
    table_lines = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table_lines) == 2 + len(table.rows)  # header, rule, one line per row
    assert [c.strip() for c in table_lines[0].strip("|").split("|")] == list(table.columns)
    assert set(table_lines[1].replace("|", "").split()) == {"---"}
    assert "| 1 | t5 (Tanh) | t4 | 1 | 1 - tanh(t4)^2 = 0.5 | 0.5 | 0.5 |" in table_lines
    assert "t1 = x1 * w1" in markdown
    assert table._repr_markdown_() == markdown

    page = table._repr_html_()
    assert "<table>" in page and "</table>" in page
    assert page.count("<tr>") == 1 + len(table.rows)
    assert "<td>1 - tanh(t4)^2 = 0.5</td>" in page

    text = str(table)
    assert repr(table) == text
    assert "dt5/dx1 = -1.5" in text
    assert len([line for line in text.splitlines() if re.match(r"\d+\s+t\d \(", line)]) == 9


def test_explain_prints_unless_told_not_to(capsys, monkeypatch):
    o, _ = neuron()
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    tg.viz.explain_backward(o, show=False)
    assert capsys.readouterr().out == ""
    table = tg.viz.explain_backward(o)
    assert capsys.readouterr().out == str(table) + "\n"
    # (in Jupyter the table displays itself once: test_jupyter.py, in a real kernel)
    tg.viz.explain_backward(o, show=True)
    assert "t5 (Tanh)" in capsys.readouterr().out


# --- training plots -----------------------------------------------------------------------------


def test_plot_loss_and_decision_boundary_write_pngs(tmp_path):
    import matplotlib  # noqa: F401  (an optional extra of the library; a dev requirement)
    tg.viz.plot_loss({"train": [1.0, 0.5, 0.25], "test": [1.1, 0.7, 0.5]},
                     tmp_path / "loss.png")
    X, y = tg.data.make_moons(100, noise=0.1, seed=0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    tg.viz.plot_decision_boundary(model, X, y, tmp_path / "b.png", resolution=50)
    for name in ("loss.png", "b.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_predict_classes_handles_one_logit_and_many():
    X = np.array([[1.0, 0.0], [-1.0, 0.0]], dtype=np.float32)
    one_logit = nn.Linear(2, 1)
    one_logit.weight.data[...] = [[1.0, 0.0]]
    one_logit.bias.data[...] = 0.0
    assert tg.viz.predict_classes(one_logit, X).tolist() == [1, 0]
    many = nn.Linear(2, 2)
    many.weight.data[...] = [[1.0, 0.0], [-1.0, 0.0]]
    many.bias.data[...] = 0.0
    assert tg.viz.predict_classes(many, X).tolist() == [0, 1]


def test_decision_boundary_needs_2d_points():
    import matplotlib  # noqa: F401
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        tg.viz.plot_decision_boundary(nn.Linear(3, 2), np.ones((5, 3)), np.zeros(5))


def test_an_in_place_op_is_drawn_and_explained_as_recorded():
    # y += 1 gives y a new grad_fn; the Add that used y before used the old y
    x = tg.Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64, name="x")
    with tg.viz.trace():
        y = x * 2
        first = y + x          # uses y before the in-place add (Add saves nothing)
        y += 1
        z = (first + y * x).sum()
    table = str(tg.viz.explain_backward(z, show=False))
    assert "t2 = t1 + x" in table and "t3 = t1 + 1" in table and "t4 = t3 * x" in table
    z.backward()
    # d/dx sum(2x + x + (2x + 1) * x) = 3 + 4x + 1
    np.testing.assert_allclose(x.grad.data, 4 * x.data + 4)
    assert "[8, 12]" in table
    dot = tg.viz.to_dot(z)
    edges = [line for line in dot.splitlines() if "->" in line]
    # x -> Mul, t1 -> Add, x -> Add, t1 -> Add(+1), t3 -> Mul, x -> Mul, t2 -> Add,
    # t4 -> Add, t5 -> Sum, Sum -> output: ten edges, none from t3 into the first Add
    assert len(edges) == 10

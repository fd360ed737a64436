"""Graphs (Graphviz, rendered for real) and training plots (matplotlib, written to files)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn

SVG = "{http://www.w3.org/2000/svg}"


def small_graph():
    x = tg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    w = tg.Tensor([0.5, -1.0], requires_grad=True, name="w")
    loss = (x * w + x).tanh().sum()  # x is used twice
    return loss, (x, w)


def test_to_dot_has_one_node_per_op_and_leaf_and_the_edges_between_them():
    loss, _ = small_graph()
    dot = tg.viz.to_dot(loss)
    ops = re.findall(r'label="?(Mul|Add|Tanh|Sum)', dot)
    assert sorted(ops) == ["Add", "Mul", "Sum", "Tanh"]
    assert re.search(r'label="x\n\(2\) float32"', dot)
    assert re.search(r'label="w\n\(2\) float32"', dot)
    # edges: x->Mul, w->Mul, x->Add, Mul->Add, Add->Tanh, Tanh->Sum, Sum->output
    assert dot.count("->") == 7


def test_parameter_names_come_from_the_module():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    out = model(tg.randn(2, 3)).sum()
    dot = tg.viz.to_dot(out, params=dict(model.named_parameters()))
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert name in dot


def test_gradients_are_shown_after_backward_and_marked_missing_before():
    loss, (x, w) = small_graph()
    before = tg.viz.to_dot(loss, show_grads=True)
    assert before.count("backward has not run yet") == 2  # x and w
    assert before.count("#eeeeee") == 6  # 2 leaves and 4 ops are grey: no gradient yet
    loss.backward()
    after = tg.viz.to_dot(loss, show_grads=True)
    assert "not run yet" not in after
    assert "#eeeeee" not in after
    for leaf in (x, w):
        assert "grad [" + ", ".join(f"{v:.4g}" for v in leaf.grad.numpy()) + "]" in after


def test_render_makes_a_real_svg(tmp_path):
    loss, _ = small_graph()
    path = tg.viz.render(loss, tmp_path / "g.svg")
    root = ET.parse(path).getroot()
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") in ("node", "edge")]
    assert sum(g.get("class") == "node" for g in groups) == 7  # 4 ops, 2 leaves, output
    assert sum(g.get("class") == "edge" for g in groups) == 7


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


def test_a_deep_graph_is_cut_off_at_max_nodes():
    h = tg.Tensor(0.5, requires_grad=True)
    for _ in range(5000):
        h = h * 1.0001
    dot = tg.viz.to_dot(h, max_nodes=100)
    assert "4900 more ops, not drawn" in dot
    assert len(re.findall(r'label="?Mul', dot)) == 100  # the first 50 and the last 50


def test_draw_graph_refuses_a_non_tensor():
    with pytest.raises(TypeError, match="Tensor"):
        tg.viz.draw_graph(np.ones(3))


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
    one = nn.Linear(2, 1)
    one.weight.data[...] = [[1.0, 0.0]]
    one.bias.data[...] = 0.0
    assert tg.viz.predict_classes(one, X).tolist() == [1, 0]
    many = nn.Linear(2, 2)
    many.weight.data[...] = [[1.0, 0.0], [-1.0, 0.0]]
    many.bias.data[...] = 0.0
    assert tg.viz.predict_classes(many, X).tolist() == [0, 1]


def test_decision_boundary_needs_2d_points():
    import matplotlib  # noqa: F401
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        tg.viz.plot_decision_boundary(nn.Linear(3, 2), np.ones((5, 3)), np.zeros(5))

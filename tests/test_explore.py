"""tg.viz.explore: the page's data agrees with explain_backward and the graph, the page is
one self-contained file, and the command line writes it. (What the page does in a browser
is tested in test_explorer_browser.py.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_edu as tg


def neuron():
    x1, w1 = tg.Tensor(2.0, requires_grad=True, name="x1"), tg.Tensor(-3.0, requires_grad=True,
                                                                       name="w1")
    x2, w2 = tg.Tensor(0.0, requires_grad=True, name="x2"), tg.Tensor(1.0, requires_grad=True,
                                                                      name="w2")
    b = tg.Tensor(6.8814, requires_grad=True, name="b")
    with tg.viz.trace():
        n = x1 * w1 + x2 * w2 + b
        o = (n * n).tanh()  # n is used twice: two contributions add up
    return o, [x1, w1, x2, w2, b]


def test_the_steps_are_explain_backwards_rows():
    o, leaves = neuron()
    ex = tg.viz.explore(o)
    table = tg.viz.explain_backward(o, show=False)
    assert len(ex.data["rows"]) == len(table.rows)
    for mine, theirs in zip(ex.data["rows"], table.rows):
        for key in ("step", "upstream", "local", "contribution", "gathered"):
            assert mine[key] == theirs[key]
    assert [s["step"] for s in ex.data["steps"]] == list(range(1, table.rows[-1]["step"] + 1))
    for step in ex.data["steps"]:
        assert {table.rows[i]["result_key"] for i in step["rows"]} == {step["node"]}
    # n*n: the input n gets 2 contributions, and the page says which one each is
    twice = [r for r in ex.data["rows"] if r["of"] == 2]
    assert [r["received"] for r in twice] == [1, 2]


def test_every_drawn_node_has_its_data_and_the_leaves_their_gradients():
    o, leaves = neuron()
    ex = tg.viz.explore(o)
    keys = re.findall(r'<g id="node\d+" class="node" data-key="([^"]+)">', ex.svg)
    assert sorted(keys) == sorted(ex.data["nodes"])
    o.backward()
    by_name = {leaf["name"]: leaf for leaf in ex.data["leaves"]}
    for t in leaves:
        assert float(by_name[t.name]["grad"]) == pytest.approx(t.grad.item(), rel=1e-3)
        assert ex.data["nodes"][by_name[t.name]["key"]]["value"]["table"] == [[t.item()]]


def test_a_large_tensor_is_shown_as_statistics_and_a_heat_map():
    x = tg.randn(64, 96, requires_grad=True)  # blocks of 2 x 3 numbers
    with tg.viz.trace():
        y = (x * 2).tanh().sum()
    node = tg.viz.explore(y).data["nodes"][f"t{id(x)}"]
    assert node["value"]["stats"]["max"] == pytest.approx(float(x.data.max()), rel=1e-6)
    heat = np.array(node["value"]["heat"], dtype=float)
    assert heat.shape == (32, 32)
    assert heat.mean() == pytest.approx(float(x.data.mean()), abs=1e-5)


def test_the_page_is_one_file_with_everything_inline(tmp_path):
    o, _ = neuron()
    path = tg.viz.explore(o).save(tmp_path / "backward.html")
    page = open(path, encoding="utf-8").read()
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and "window.explorer" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from the network
    data = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>',
                     page, re.S).group(1)
    assert json.loads(data)["output"] == f"t{id(o)}"


def test_jupyter_shows_the_page_in_an_iframe():
    o, _ = neuron()
    shown = tg.viz.explore(o)._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "&lt;svg" in shown


def test_a_500_op_graph_is_folded_and_under_2_mb():
    x = tg.Tensor(np.linspace(-1, 1, 8), requires_grad=True, name="x")
    with tg.viz.trace():
        h = x
        for _ in range(250):
            h = (h * 0.9 + 0.1).tanh()
        loss = h.sum()
    ex = tg.viz.explore(loss, max_nodes=200)
    size = len(ex.html.encode())
    print(f"\n751-op graph: {size / 1e6:.2f} MB of HTML")
    assert size < 2_000_000
    assert ex.data["nodes"]["hidden"]["kind"] == "folded"
    assert len(ex.data["steps"]) == 751


def test_explore_refuses_a_leaf():
    with pytest.raises(ValueError, match="not computed by any op"):
        tg.viz.explore(tg.Tensor([1.0], requires_grad=True))


def test_the_graph_command_writes_the_page(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_edu", "graph", "tanh(x*w + b)", "--x", "2", "--w",
         "-3", "--b", "6.8814", "--html", "backward.html"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Wrote backward.html: open it in a browser" in result.stdout
    assert "window.explorer" in (tmp_path / "backward.html").read_text()
    bad = subprocess.run([sys.executable, "-m", "tinygrad_edu", "graph", "x*x", "--x", "2",
                          "--html", "page.txt"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "--html page.txt: the file name must end in .html" in \
        bad.stderr


def test_infinities_and_nans_reach_the_page_as_text():
    x = tg.Tensor([1.0, 0.0, -1.0], requires_grad=True, name="x")
    with tg.viz.trace(), np.errstate(all="ignore"):
        y = (x.log() * 1.0).sum()   # log 0 = -inf, log -1 = nan
    node = tg.viz.explore(y).data["nodes"]
    logs = [n for n in node.values() if n["label"].endswith("= Log")][0]
    assert logs["value"]["table"] == [[0.0, "-inf", "nan"]]


def test_explain_and_explore_work_after_backward_on_a_traced_graph():
    o, leaves = neuron()
    before = tg.viz.explain_backward(o, show=False)
    o.backward()
    after = tg.viz.explain_backward(o, show=False)
    assert [r["contribution"] for r in after.rows] == [r["contribution"] for r in before.rows]
    assert len(tg.viz.explore(o).data["steps"]) == before.rows[-1]["step"]
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        o.backward()  # the graph is still freed for backward itself, as in PyTorch


def test_explain_after_backward_outside_trace_says_how():
    x = tg.Tensor(2.0, requires_grad=True)
    y = (x * 3).exp()
    y.backward()
    with pytest.raises(RuntimeError, match=r"Build the graph inside tg.viz.trace\(\)"):
        tg.viz.explain_backward(y, show=False)

"""In a real Jupyter kernel (nbclient): the explain table, plots and the training progress
bar each show exactly once, whether or not they are a cell's last line."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

import tinygrad_edu as tg

# (the kernel's start-up notice about its local TCP ports is not the cell's output)
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]



@pytest.fixture(autouse=True)
def _kernels_draw_inline(monkeypatch):
    """A kernel started with MPLBACKEND=Agg (as .ci/test exports) would draw no plot."""
    monkeypatch.delenv("MPLBACKEND", raising=False)


def run_cells(tmp_path, *sources: str) -> list:
    """Execute the cells in a fresh kernel; each cell's outputs."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   extra_arguments=QUIET_KERNEL,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return [cell.outputs for cell in notebook.cells]


def kinds(outputs) -> list[str]:
    return [o.get("name") or next(k for k in ("text/html", "image/png", "text/plain")
                                  if k in o.get("data", {})) for o in outputs]


GRAPH = ("import tinygrad_edu as tg\n"
         "x = tg.Tensor(2.0, requires_grad=True, name='x')\n"
         "with tg.viz.trace():\n"
         "    y = (x * x).tanh()\n")


def test_the_explain_table_shows_once_as_last_line_or_not_and_after_backward(tmp_path):
    cells = run_cells(tmp_path,
                      GRAPH + "tg.viz.explain_backward(y)\nprint('more')",
                      "tg.viz.explain_backward(y)",
                      "table = tg.viz.explain_backward(y)\ntable",
                      "y.backward()\ntg.viz.explain_backward(y)")
    assert kinds(cells[0]) == ["text/html", "stdout"]
    for outputs in cells[1:]:
        assert kinds(outputs) == ["text/html"]
        assert "<table>" in outputs[0]["data"]["text/html"]


def test_a_plot_shows_once_as_last_line_or_not(tmp_path):
    cells = run_cells(tmp_path,
                      "import tinygrad_edu as tg\nfig = tg.viz.plot_loss([3, 2, 1])\nprint('x')",
                      "tg.viz.plot_loss([3, 2, 1])",
                      "fig")
    assert kinds(cells[0]) == ["stdout", "image/png"]
    assert kinds(cells[1]) == ["image/png"]
    assert kinds(cells[2]) == ["image/png"]  # a figure from an earlier cell, shown again


def test_training_progress_is_one_output_updated_in_place(tmp_path):
    (outputs,) = run_cells(tmp_path, "from tinygrad_edu.training import Config, Run\n"
                                     "Run(Config(epochs=17)).fit(17)")
    assert len(outputs) == 1, kinds(outputs)  # (tqdm's text bar: one per update)
    assert "17/17" in outputs[0]["data"]["text/plain"]
    assert not any(o.get("name") == "stderr" for o in outputs)


def test_plot_loss_puts_accuracy_on_an_axis_of_its_own():
    fig = tg.viz.plot_loss({"train loss": [0.9, 0.5], "test accuracy": [0.6, 0.8]})
    loss_axis, accuracy_axis = fig.axes
    assert loss_axis.get_ylabel() == "loss" and accuracy_axis.get_ylabel() == "accuracy"
    assert [line.get_label() for line in accuracy_axis.lines] == ["test accuracy"]
    only_accuracy = tg.viz.plot_loss({"test accuracy": [0.6, 0.8]})
    assert only_accuracy.axes[0].get_ylabel() == "accuracy"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def test_a_graph_drawing_shows_once_as_last_line_or_not(tmp_path):
    cells = run_cells(tmp_path,
                      GRAPH + "dot = tg.viz.draw_graph(y)\nprint('x')",
                      "tg.viz.draw_graph(y, show_values=True)",
                      "dot")
    assert [o.get("name") or sorted(o["data"]) for o in cells[0]] == [["image/svg+xml"],
                                                                         "stdout"]
    for outputs in cells[1:]:
        assert [sorted(o["data"]) for o in outputs] == [["image/svg+xml"]]


def test_a_cell_ending_in_explore_shows_the_page_inline(tmp_path):
    (outputs,) = run_cells(tmp_path, GRAPH + "tg.viz.explore(y)")
    (output,) = outputs
    shown = output["data"]["text/html"]
    assert shown.startswith("<iframe srcdoc=") and "window.explorer" in shown

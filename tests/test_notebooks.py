"""The lecture notebooks in notebooks/: each one runs from top to bottom, quickly and
cleanly (no error, no warning, no figure shown twice), and is stored without outputs.

Every notebooks/*.ipynb is picked up, so a new lesson is tested as soon as it is added.
"""

import time
from pathlib import Path

import nbclient  # (the dev extra installs nbclient, nbformat and ipykernel)
import nbformat
import pytest

# (the kernel's start-up notice about its local TCP ports is not the cell's output)
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
TIME_LIMIT = 60.0  # seconds per notebook, on a 2-core machine

STRIP_HINT = (
    "store notebooks without outputs; strip them with\n"
    "    jupyter nbconvert --clear-output --inplace notebooks/*.ipynb\n"
    "or, with nbformat alone:\n"
    "    python -c \"import sys, nbformat; [nbformat.write(nb, p) for p in sys.argv[1:] "
    "for nb in [nbformat.read(p, as_version=4)] "
    "for c in nb.cells if c.cell_type == 'code' "
    "for _ in [c.update(outputs=[], execution_count=None)]]\" notebooks/*.ipynb"
)


def test_there_are_at_least_three_lessons():
    assert len(NOTEBOOKS) >= 3, [path.name for path in NOTEBOOKS]


def _cell_problems(index: int, cell) -> list[str]:
    """What is wrong with one executed code cell's outputs."""
    problems = []
    images = []
    where = f"cell {index} ({cell.source.splitlines()[0][:50] if cell.source else ''!r})"
    for output in cell.outputs:
        if output.output_type == "error":
            problems.append(f"{where} raised {output.ename}: {output.evalue}")
        elif output.output_type == "stream" and output.name == "stderr":
            if "Traceback" in output.text or "Warning" in output.text:
                problems.append(f"{where} wrote to stderr:\n{output.text}")
        elif output.output_type in ("display_data", "execute_result"):
            images += [output.data[kind] for kind in ("image/png", "image/svg+xml")
                       if kind in output.data]
    if len(images) != len(set(images)):
        problems.append(f"{where} shows the same figure more than once")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs_cleanly_and_quickly(path, tmp_path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # (with Agg, a kernel draws no plot)
    notebook = nbformat.read(path, as_version=4)
    # run in a temporary folder: what the notebook writes lands there, not in the repo
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     extra_arguments=QUIET_KERNEL,
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError if a cell fails
    seconds = time.perf_counter() - start
    print(f"{path.name}: executed in {seconds:.1f} s")

    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            problems += _cell_problems(index, cell)
    assert not problems, f"{path.name}:\n" + "\n\n".join(problems)
    figures = sum(kind in output.get("data", {}) for cell in notebook.cells
                  if cell.cell_type == "code" for output in cell.outputs
                  for kind in ("image/png", "image/svg+xml"))
    assert figures >= 1, f"{path.name} showed no figure: every lesson draws"
    assert seconds < TIME_LIMIT, (f"{path.name} took {seconds:.1f} s to run, more than "
                                  f"{TIME_LIMIT:.0f} s: use less data or fewer epochs")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [index for index, cell in enumerate(notebook.cells)
             if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} hold outputs or execution counts; "
                       + STRIP_HINT)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_starts_with_a_title(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells, f"{path.name} has no cells"
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), (
        f"{path.name} should start with a markdown cell whose first line is a level-1 "
        f"title ('# The lesson'); it starts with a {first.cell_type} cell: "
        f"{first.source[:60]!r}")

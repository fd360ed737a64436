"""The code of the lecture notebooks reads without scrolling sideways.

The docs site shows each notebook's code cells in blocks 88 columns wide, so every line
of every code cell in notebooks/*.ipynb is at most 88 characters long.
"""

from pathlib import Path

import nbformat

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
MAX_WIDTH = 88


def test_notebook_code_lines_fit_in_88_columns():
    assert NOTEBOOKS, "no notebooks found in notebooks/"
    too_long = [
        f"{path.name}, cell {index}, line {number}: {len(line)} characters: {line!r}"
        for path in NOTEBOOKS
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells)
        if cell.cell_type == "code"
        for number, line in enumerate(cell.source.splitlines(), start=1)
        if len(line) > MAX_WIDTH
    ]
    assert not too_long, (
        f"code-cell lines longer than {MAX_WIDTH} characters (rewrap them):\n"
        + "\n".join(too_long)
    )

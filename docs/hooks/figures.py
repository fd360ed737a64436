"""mkdocs hook: make the pictures of "Seeing the graph" from the page's own code.

Before each build, the ```python blocks of the pages listed in PAGES run, in order, in
one namespace, with docs/generated/ as the working directory: the SVG files and tables
they write there are what the page shows. So every picture in the docs is produced by
the code printed beside it, and cannot drift from it (the test suite runs the same
blocks too).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent
PAGES = ["seeing-the-graph.md"]
GENERATED = DOCS / "generated"
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def on_pre_build(config, **kwargs):
    GENERATED.mkdir(exist_ok=True)
    here = Path.cwd()
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:  # (what the blocks print is for readers of the page, not for the build log)
        os.chdir(GENERATED)
        for page in PAGES:
            namespace = {"__name__": "__docs__"}
            for block in FENCE.findall((DOCS / page).read_text()):
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(block, f"{page} (docs figure)", "exec"), namespace)
    finally:
        os.chdir(here)

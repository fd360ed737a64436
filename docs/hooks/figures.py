"""mkdocs hooks: the docs show what their own code makes.

1. Pictures. Before each build, the ```python blocks of the pages listed in PAGES run,
   in order, in one namespace, with docs/generated/ as the working directory: the SVG
   files and tables they write there are what the page shows.
2. Printed output. On the pages listed in OUTPUT_PAGES (the math track, convolutions
   and backpropagation through time), every ```python block runs before the build, and
   what it prints is inserted right after it as an "Output" block. So every number
   those pages print is the number the code printed at build time, never one typed in
   by hand.

3. Lectures. Each notebook in notebooks/ runs in a Jupyter kernel and becomes the page
   docs/lectures/<name>.md, with its outputs and figures (the notebooks are stored
   without outputs; the site shows them run).

The pictures and outputs cannot drift from the code printed beside them, and the test
suite runs the same blocks too (tests/test_docs.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

# (the kernel's start-up notice about its local TCP ports is not the cell's output)
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]


DOCS = Path(__file__).resolve().parent.parent
PAGES = ["seeing-the-graph.md"]
OUTPUT_PAGES = ["math-linear-algebra.md", "math-calculus.md", "math-probability.md",
                "math-numerics.md", "math-neural-networks.md", "convolutions.md",
                "backprop-through-time.md", "how-backward-works.md",
                "coming-from-pytorch.md", "guarantees.md", "index.md", "getting-started.md",
                "train-your-first-network.md", "checking-gradients.md", "exercises.md",
                "seeing-the-graph.md", "api-data.md", "api-math.md", "api-nn.md",
                "api-optim.md", "api-viz.md"]
GENERATED = DOCS / "generated"
_with_outputs: dict[str, tuple[str, str]] = {}  # page -> (its markdown, with the outputs)
FENCE = re.compile(r"^```python\n(.*?)^```\n?", re.MULTILINE | re.DOTALL)


@contextlib.contextmanager
def _in_generated():
    """Run with docs/generated/ as the working directory and a non-interactive plotter."""
    GENERATED.mkdir(exist_ok=True)
    os.environ.setdefault("MPLBACKEND", "Agg")
    here = Path.cwd()
    try:
        os.chdir(GENERATED)
        yield
    finally:
        os.chdir(here)


def on_pre_build(config, **kwargs):
    with _in_generated():
        for page in PAGES:
            namespace = {"__name__": "__docs__"}
            for block in FENCE.findall((DOCS / page).read_text()):
                # (what the blocks print is for readers of the page, not the build log)
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(block, f"{page} (docs figure)", "exec"), namespace)
    _render_lectures()
    # the pages with outputs run here too, before mkdocs lists the files, so that the
    # pictures they draw into docs/generated/ are part of the site
    _with_outputs.clear()
    for page in OUTPUT_PAGES:
        source = (DOCS / page).read_text()
        _with_outputs[page] = (source, with_outputs(source, page))


def with_outputs(markdown: str, name: str) -> str:
    """`markdown` with each python block followed by what it printed when run.

    The blocks run in order in one namespace, as a reader typing them in would run them.
    A block that prints nothing gets no output block.
    """
    namespace = {"__name__": "__docs__"}

    def run(match: re.Match) -> str:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(match.group(1), f"{name} (docs output)", "exec"), namespace)
        text = printed.getvalue().rstrip()
        block = match.group(0) if match.group(0).endswith("\n") else match.group(0) + "\n"
        if not text:
            return block
        return block + f'\n```text title="Output"\n{text}\n```\n'

    with _in_generated():
        return FENCE.sub(run, markdown)


def on_page_markdown(markdown, page, config, files, **kwargs):
    if page.file.src_uri not in OUTPUT_PAGES:
        return markdown
    source, with_printed = _with_outputs.get(page.file.src_uri, (None, None))
    return with_printed if source == markdown else with_outputs(markdown, page.file.src_uri)


NOTEBOOKS = DOCS.parent / "notebooks"
LECTURES = DOCS / "lectures"


def _render_lectures() -> None:
    """Run each notebook and write it as a page, with its outputs, into docs/lectures/."""
    import tempfile

    import nbformat
    from nbclient import NotebookClient
    from nbconvert import MarkdownExporter

    LECTURES.mkdir(exist_ok=True)
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        # (a kernel started with MPLBACKEND=Agg, as the build sets it, would draw no plot)
        backend = os.environ.pop("MPLBACKEND", None)
        try:
            with tempfile.TemporaryDirectory() as folder:
                NotebookClient(notebook, timeout=300, kernel_name="python3",
                               extra_arguments=QUIET_KERNEL,
                               resources={"metadata": {"path": folder}}).execute()
        finally:
            if backend is not None:
                os.environ["MPLBACKEND"] = backend
        resources = {"output_files_dir": f"{path.stem}_files"}
        body, resources = MarkdownExporter().from_notebook_node(notebook, resources)
        source = f"notebooks/{path.name}"
        note = (f"*This page is the notebook `{source}`, run when the docs were built. "
                f"Open it in Jupyter to run it yourself: `jupyter lab {source}`.*\n\n")
        body = re.sub(r"\]\((\w+)\.ipynb\)", r"](\1.md)", body)  # a lecture's next one
        body = re.sub(r"!\[([^\]]*)\]\(([^)]+\.svg)\)", r"[![\1](\2)](\2)", body)  # full size
        title, _, rest = body.partition("\n")
        (LECTURES / f"{path.stem}.md").write_text(f"{title}\n\n{note}{rest}")
        for name, data in resources.get("outputs", {}).items():
            target = LECTURES / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

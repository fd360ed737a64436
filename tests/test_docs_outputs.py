"""The math track's pages show what their code printed when the docs were built.

docs/hooks/figures.py inserts, after each ```python block of those pages, an "Output"
block holding what the block printed. These tests run that hook on a small page and on
the real pages.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks" / "figures.py")
hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hooks)


def test_each_block_is_followed_by_what_it_printed():
    page = ("Intro\n\n```python\nx = 6 * 7\nprint('x is', x)\n```\n\n"
            "Quiet:\n\n```python\ny = x + 1\n```\n\n"
            "```python\nprint(y)\n```\n")
    out = hooks.with_outputs(page, "toy.md")
    assert out.count('```text title="Output"') == 2
    assert "print('x is', x)\n```\n\n```text title=\"Output\"\nx is 42\n```\n\nQuiet:" in out
    assert "```python\ny = x + 1\n```\n\n```python\nprint(y)\n```\n\n```text" in out
    assert out.endswith('```text title="Output"\n43\n```\n')


def test_a_failing_block_fails_the_build():
    with pytest.raises(ZeroDivisionError):
        hooks.with_outputs("```python\n1 / 0\n```\n", "toy.md")


def test_the_math_track_is_among_the_pages_with_outputs():
    math_pages = {p.name for p in (ROOT / "docs").glob("math-*.md")}
    assert len(math_pages) == 5 and math_pages <= set(hooks.OUTPUT_PAGES)
    assert all((ROOT / "docs" / page).is_file() for page in hooks.OUTPUT_PAGES)


@pytest.mark.parametrize("page", hooks.OUTPUT_PAGES)
def test_math_pages_print_their_numbers(page, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    source = (ROOT / "docs" / page).read_text()
    out = hooks.with_outputs(source, page)
    assert out.count('title="Output"') >= 1, page
    # taking the output blocks out again gives back the page exactly
    assert re.sub(r'\n```text title="Output"\n.*?\n```\n', "", out, flags=re.DOTALL) == source


def test_the_numbers_the_issue_quotes_are_printed():
    printed = {page: hooks.with_outputs((ROOT / "docs" / page).read_text(), page)
               for page in ("math-linear-algebra.md", "math-calculus.md",
                            "math-probability.md")}
    assert "15" in printed["math-linear-algebra.md"]
    assert "7.4162" in printed["math-linear-algebra.md"]
    assert "5.2915" in printed["math-linear-algebra.md"]
    assert "0.33333" in printed["math-calculus.md"]
    assert "148.3" in printed["math-probability.md"]
    assert "569.2" in printed["math-probability.md"]

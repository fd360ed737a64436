"""The code on the docs pages reads without scrolling sideways.

Every line inside a fenced code block (```python, ```bash, ```text, any fence) of
README.md and docs/*.md is at most 88 characters long, and so is every line of the
"Output" blocks that docs/hooks/figures.py inserts at build time after the python
blocks of the pages in its OUTPUT_PAGES (what the code printed).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_WIDTH = 88

_spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks" / "figures.py")
hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hooks)

# An opening fence: three or more backticks or tildes, maybe indented (inside a list).
_OPEN_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_OUTPUT_BLOCK = re.compile(r'^```text title="Output"\n(.*?)\n```$', re.MULTILINE | re.DOTALL)


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def fenced_lines(text: str) -> list[tuple[int, str]]:
    """The (1-based line number, line) of every line inside a fenced code block."""
    lines = text.splitlines()
    found: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        match = _OPEN_FENCE.match(lines[i])
        if match is None or (match["fence"][0] == "`" and "`" in match["info"]):
            i += 1  # not a fence (or inline code such as ```x``` at a line's start)
            continue
        fence = match["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        i += 1
        while i < len(lines) and not closing.match(lines[i]):
            found.append((i + 1, lines[i]))
            i += 1
        i += 1  # step over the closing fence
    return found


def test_fenced_lines_are_found():
    page = ("# Title\n```python\na = 1\n```\ntext, not code: " + "x" * 100 + "\n"
            "- item:\n\n    ```bash\n    echo hi\n    ```\n````markdown\n```python\nb\n```\n````\n")
    assert fenced_lines(page) == [(3, "a = 1"), (9, "    echo hi"),
                                  (12, "```python"), (13, "b"), (14, "```")]


def test_code_blocks_fit_the_page():
    too_long = [f"{page.relative_to(ROOT)}:{number}: {len(line)} characters"
                for page in _pages()
                for number, line in fenced_lines(page.read_text(encoding="utf-8"))
                if len(line) > MAX_WIDTH]
    assert not too_long, (f"lines in code blocks longer than {MAX_WIDTH} characters:\n"
                          + "\n".join(too_long))


def test_printed_outputs_fit_the_page(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    too_long = []
    for page in hooks.OUTPUT_PAGES:
        built = hooks.with_outputs((ROOT / "docs" / page).read_text(encoding="utf-8"), page)
        for match in _OUTPUT_BLOCK.finditer(built):
            first = built.count("\n", 0, match.start(1)) + 1  # in the built page
            for offset, line in enumerate(match.group(1).splitlines()):
                if len(line) > MAX_WIDTH:
                    too_long.append(f"docs/{page} (as built):{first + offset}: "
                                    f"{len(line)} characters: {line[:60]}...")
    assert not too_long, (f"printed lines longer than {MAX_WIDTH} characters:\n"
                          + "\n".join(too_long))

"""Run the Python examples in the README and the docs, so they cannot rot.

Every fenced code block tagged ``python`` in ``README.md`` and in
``docs/**/*.md`` is executed. The blocks of one file run in order, in one
namespace shared by that file only, so a later block can use the names an
earlier one defined, just as a reader typing them in would. Each file is one
test, named by its path relative to the repository root. A file with no
``python`` block is not a test at all.

The blocks run with a fresh temporary directory as the working directory, so
any file an example writes lands there, and with matplotlib's non-interactive
``Agg`` backend, so an example that plots never opens a window.
"""

from __future__ import annotations

import re
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# An opening fence: three or more backticks or tildes, maybe indented (inside a
# list), then an info string whose first word names the language.
_OPEN_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class CodeBlock:
    """One fenced ``python`` block of a Markdown file.

    Attributes:
        path: The Markdown file the block is in.
        fence_line: The 1-based line number of the block's opening fence.
        source: The code between the fences, with the fence's indentation removed.
    """

    path: Path
    fence_line: int
    source: str

    @property
    def first_code_line(self) -> int:
        """The 1-based line number, in the Markdown file, of the block's first line of code."""
        return self.fence_line + 1


@dataclass(frozen=True)
class DocFile:
    """A Markdown file together with the ``python`` blocks found in it."""

    path: Path
    blocks: tuple[CodeBlock, ...]

    @property
    def relpath(self) -> str:
        """The file's path relative to the repository root, with forward slashes."""
        return self.path.relative_to(ROOT).as_posix()


def _strip_indent(line: str, indent: str) -> str:
    """Remove at most ``len(indent)`` leading whitespace characters from ``line``."""
    n = 0
    while n < len(indent) and n < len(line) and line[n] in " \t":
        n += 1
    return line[n:]


def find_python_blocks(path: Path) -> list[CodeBlock]:
    """Return the fenced ``python`` blocks of a Markdown file, in order.

    A block is opened by a line of three or more backticks (or tildes) whose
    info string starts with the word ``python``, and closed by a line holding
    only a fence of the same character that is at least as long. Fences of
    other languages are skipped whole, so a ``python`` fence shown inside, say,
    a ``markdown`` block is not run. As in CommonMark, a fence left open runs
    to the end of the file.

    Args:
        path: The Markdown file to read.

    Returns:
        The blocks, in the order they appear in the file.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[CodeBlock] = []
    i = 0
    while i < len(lines):
        match = _OPEN_FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, info, indent = match["fence"], match["info"].strip(), match["indent"]
        if fence[0] == "`" and "`" in info:
            # Not a fence: inline code such as ```x``` at the start of a line.
            i += 1
            continue
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        fence_index = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not closing.match(lines[i]):
            body.append(_strip_indent(lines[i], indent))
            i += 1
        i += 1  # step over the closing fence
        words = info.split(maxsplit=1)
        if words and words[0].lower() == "python":
            blocks.append(CodeBlock(path, fence_index + 1, "\n".join(body) + "\n"))
    return blocks


def collect_doc_files() -> list[DocFile]:
    """Return the README and every ``docs/**/*.md`` file that has a ``python`` block."""
    candidates = [README] if README.is_file() else []
    docs = ROOT / "docs"
    if docs.is_dir():  # (not the pages the build makes: the lectures are run as notebooks)
        candidates += sorted(path for path in docs.rglob("*.md")
                             if path.relative_to(docs).parts[0] not in ("lectures",
                                                                        "generated"))
    found = [DocFile(path, tuple(find_python_blocks(path))) for path in candidates]
    return [doc for doc in found if doc.blocks]


def _numbered(block: CodeBlock) -> str:
    """The block's source with the Markdown file's line numbers in a margin."""
    lines = block.source.rstrip("\n").splitlines() or [""]
    last = block.first_code_line + len(lines) - 1
    width = len(str(last))
    return "\n".join(
        f"{block.first_code_line + k:>{width}} | {line}" for k, line in enumerate(lines)
    )


def _failure_message(doc: DocFile, index: int, error: BaseException) -> str:
    """Explain which block failed, show its source, and the traceback into it."""
    block = doc.blocks[index]
    # Drop the first frame: it is the `exec` call in this module, not the example.
    tb = error.__traceback__.tb_next if error.__traceback__ is not None else None
    trace = "".join(traceback.format_exception(type(error), error, tb))
    return (
        f"{doc.relpath}: the python block starting at line {block.fence_line} failed "
        f"(block {index + 1} of {len(doc.blocks)}; the blocks of a file run in order, "
        f"sharing one namespace)\n\n"
        f"{_numbered(block)}\n\n"
        f"{trace}"
    )


def run_doc_file(doc: DocFile, monkeypatch: pytest.MonkeyPatch) -> None:
    """Execute the blocks of one file in order, in a namespace of their own.

    The namespace is a fresh module registered in ``sys.modules`` for the
    duration of the test, so that examples defining dataclasses or using
    ``typing.get_type_hints`` behave as they would in a script. Each block is
    compiled under the Markdown file's name and padded so that its line numbers
    are the file's, which makes tracebacks point at the right Markdown line.

    Raises:
        pytest.fail.Exception: when a block raises; the message names the file
            and the block's line, and shows the block's source and traceback.
    """
    module_name = "_doc_example_" + re.sub(r"\W", "_", doc.relpath)
    module = types.ModuleType(module_name, f"Python examples of {doc.relpath}")
    module.__file__ = str(doc.path)
    monkeypatch.setitem(sys.modules, module_name, module)

    for index, block in enumerate(doc.blocks):
        padded = "\n" * block.fence_line + block.source
        failure = None
        try:
            code = compile(padded, str(doc.path), "exec")
            exec(code, module.__dict__)
        except (Exception, SystemExit) as error:
            failure = _failure_message(doc, index, error)
        if failure is not None:
            # Fail outside the `except`, so the report is not prefixed with
            # "During handling of the above exception...".
            pytest.fail(failure, pytrace=False)


def _use_agg_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make matplotlib draw to files only, whether or not it is imported yet."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg", force=True)


def _close_figures() -> None:
    """Close any figure an example left open, if pyplot was used at all."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


DOC_FILES = collect_doc_files()


def test_readme_names_the_two_commands() -> None:
    """The README exists and tells a newcomer the two commands that matter."""
    assert README.is_file(), f"{README} is missing"
    text = README.read_text(encoding="utf-8")
    for command in ("bash .ci/demo", "bash .ci/test"):
        assert command in text, f"README.md does not mention `{command}`"


def test_collection_finds_blocks_in_order(tmp_path: Path) -> None:
    """The parser finds python blocks, with their fence lines, and skips the rest."""
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n"  # 1
        "```python\n"  # 2
        "a = 1\n"  # 3
        "```\n"  # 4
        "```bash\n"  # 5
        "echo not python\n"  # 6
        "```\n"  # 7
        "````markdown\n"  # 8
        "```python\n"  # 9
        "raise AssertionError('shown, not run')\n"  # 10
        "```\n"  # 11
        "````\n"  # 12
        "- a list item:\n"  # 13
        "\n"  # 14
        '    ```python title="indented"\n'  # 15
        "    b = a + 1\n"  # 16
        "    ```\n",  # 17
        encoding="utf-8",
    )
    blocks = find_python_blocks(page)
    assert [b.fence_line for b in blocks] == [2, 15]
    assert [b.source for b in blocks] == ["a = 1\n", "b = a + 1\n"]


if DOC_FILES:

    @pytest.mark.parametrize("doc", DOC_FILES, ids=[doc.relpath for doc in DOC_FILES])
    def test_python_blocks_run(
        doc: DocFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every python block of one Markdown file runs without raising."""
        monkeypatch.chdir(tmp_path)
        _use_agg_backend(monkeypatch)
        try:
            run_doc_file(doc, monkeypatch)
        finally:
            _close_figures()

"""The course pages' terminal sessions are real: each is replayed and must print what
the page shows.

docs/course.md shows sessions as ```text blocks whose lines starting with "$ " are
commands (`tinygrad-edu ...` or `cd DIR`); the lines after each command are what it
printed. Before a session, a ```py block titled with a course file
(title="course/sigmoid.py") shows a function or method as a student wrote it: it
replaces that function's `raise NotImplementedError(...)` in the file.

The sessions run in order in one temporary folder. With TINYGRAD_EDU_UPDATE_DOCS=1 the
page's sessions are rewritten with what the commands print now.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import textwrap
from pathlib import Path

import pytest
from course_helpers import ROOT, cli, solved_text

from tinygrad_edu import course

PAGE = ROOT / "docs" / "course.md"
PAGES = ["course.md", "exercises.md"]  # the pages whose sessions are replayed
BLOCK = re.compile(r'^```(text|py title="(?P<file>[^"]+)")\n(?P<body>.*?)^```\n', re.M | re.S)


def _apply_edit(folder: Path, file: str, code: str) -> None:
    """Put the function or method shown (its def and body) into the course file."""
    path = folder / file
    definition = ast.parse(textwrap.dedent(code)).body[0]
    exercise = course.find(path.stem)
    cls = exercise.target if exercise.check is None else None
    name = f"{cls}.{definition.name}" if cls and definition.name == "backward" else (
        definition.name)
    lines = textwrap.dedent(code).splitlines()
    body = textwrap.dedent("\n".join(lines[definition.body[0].lineno - 1:]))
    path.write_text(solved_text(path.read_text(), {name: body}))


def replay(page: str, folder: Path) -> str:
    """The page with each session's output replaced by what its commands print."""
    cwd = folder
    pieces, last = [], 0
    for block in BLOCK.finditer(page):
        if block["file"]:
            _apply_edit(folder, block["file"], block["body"])
            continue
        lines = block["body"].splitlines()
        if not lines or not lines[0].startswith("$ "):
            continue
        session = []
        for line in lines:
            if not line.startswith("$ "):
                continue
            command = shlex.split(line[2:])
            session.append(line)
            if command[0] == "cd":
                cwd = (cwd / command[1]).resolve()
                continue
            assert command[0] == "tinygrad-edu", line
            done = cli(*command[1:], cwd=cwd)
            printed = (done.stdout + done.stderr).rstrip("\n")
            session += printed.splitlines()
        pieces += [page[last:block.start("body")], "\n".join(session) + "\n"]
        last = block.end("body")
    return "".join(pieces) + page[last:]


@pytest.mark.parametrize("name", PAGES)
def test_the_sessions_print_what_the_page_shows(name, tmp_path):
    page_path = ROOT / "docs" / name
    page = page_path.read_text()
    if name != "course.md":  # (the Course page starts its own folder)
        course.start(tmp_path / "course")
    replayed = replay(page, tmp_path)
    if os.environ.get("TINYGRAD_EDU_UPDATE_DOCS"):
        page_path.write_text(replayed)
    assert replayed == page


def test_the_page_lists_every_exercise_with_what_it_teaches():
    page = PAGE.read_text()
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (.*?) \|", page, re.M)
    assert [(int(n), name) for n, name, _ in rows] == [
        (e.number, e.name) for e in course.EXERCISES]
    teaches = {name: text for _, name, text in rows}
    assert all(teaches[e.name] == e.teaches for e in course.EXERCISES)

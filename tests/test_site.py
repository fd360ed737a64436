"""The built docs site, read as a learner reads it: every page shows what its code prints,
and the text in its figures is large enough to read (at least 10 px at the page's
content width)."""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTENT_WIDTH = 688  # px: Material's article column in a 1280-px-wide browser (measured)
MIN_TEXT = 10.0      # px

_spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks" / "figures.py")
hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hooks)

PAGES = sorted(p.name for p in (ROOT / "docs").glob("*.md") if "```python" in p.read_text())


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                             str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def page_text(site: Path, page: str) -> str:
    """The words of a built page, tags and spacing taken out."""
    name = page.removesuffix(".md")
    built = site / ("index.html" if name == "index" else f"{name}/index.html")
    text = re.sub(r"<[^>]+>", " ", built.read_text(encoding="utf-8"))
    return " ".join(html.unescape(text).split())


@pytest.mark.parametrize("page", PAGES)
def test_every_line_a_code_block_prints_is_on_the_page(site, page, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    shown = page_text(site, page)
    with_printed = hooks.with_outputs((ROOT / "docs" / page).read_text(), page)
    printed = re.findall(r'```text title="Output"\n(.*?)\n```', with_printed, re.DOTALL)
    for output in printed:
        for line in output.splitlines():
            assert " ".join(line.split()) in shown, f"{page} prints {line!r}; the page " \
                "does not show it (add the page to OUTPUT_PAGES in docs/hooks/figures.py)"


def figures(site: Path):
    """(page, svg file, scrolls): each SVG figure of each page, and whether it sits in a
    sideways-scrolling box (shown at its own size) or is fitted to the column."""
    for built in sorted(site.rglob("index.html")):
        page = built.read_text(encoding="utf-8")
        for match in re.finditer(r'<img[^>]+src="([^"]+\.svg)"', page):
            scrolls = page.rfind('class="wide-figure"', 0, match.start()) > page.rfind(
                "</div>", 0, match.start())
            yield built.relative_to(site).parent, (built.parent / match.group(1)).resolve(), \
                scrolls


def smallest_text(svg: Path, shown_width: float) -> float:
    """The smallest font of `svg` in px when drawn `shown_width` px wide."""
    root = ET.parse(svg).getroot()
    view_width = float(root.get("viewBox").split()[2])
    sizes = [float(t.get("font-size")) for t in root.iter("{http://www.w3.org/2000/svg}text")
             if t.get("font-size")]
    return min(sizes) * shown_width / view_width if sizes else float("inf")


def test_the_text_of_every_figure_reads_at_10_px(site):
    checked = []
    for page, svg, scrolls in figures(site):
        root = ET.parse(svg).getroot()
        natural = float(root.get("width").removesuffix("pt")) * 4 / 3  # pt -> px
        size = smallest_text(svg, natural if scrolls else min(natural, CONTENT_WIDTH))
        checked.append(f"{page}/{svg.name}: {size:.1f} px")
        assert size >= MIN_TEXT, f"{page}: {svg.name} has text of {size:.1f} px"
    print("\n" + "\n".join(checked))
    assert len(checked) >= 4


def test_every_figure_links_to_its_full_size(site):
    for built in sorted(site.rglob("index.html")):
        page = built.read_text(encoding="utf-8")
        for src in re.findall(r'<img[^>]+src="([^"]+\.svg)"', page):
            assert f'href="{src}"' in page, f"{built.parent.name}: {src} has no link"

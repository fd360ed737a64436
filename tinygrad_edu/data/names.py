"""A list of common given names, shipped inside the package: text to model, no download.

`names.txt` next to this file holds 905 common English given names (traditional and
modern, women's and men's), written for this package as plain facts, lowercase letters
a-z only, one per line, sorted. It is small enough that a character-level language model
(a bigram table, a small MLP) trains on it in seconds, as in the classic lecture notebooks
on language models.
"""

from __future__ import annotations

from importlib import resources


def load_names() -> list[str]:
    """The shipped given names, one string per name, lowercase a-z, in alphabetical order.

    Example:
        ```python
        names = load_names()
        names[:3]   # ['aaron', 'abel', 'abigail']
        ```
    """
    # importlib.resources finds the file inside the installed package (even a zipped one)
    text = resources.files(__package__).joinpath("names.txt").read_text(encoding="ascii")
    return text.split()

"""docs/how-backward-works.md walks the engine with a backward loop written by hand; this
checks that loop against the engine's own `backward` on many graphs, so the page cannot
drift from the code it describes.

The page's python blocks run in one namespace, as the docs build runs them, and its
`backward_by_hand(root)` is then applied to random graphs of several ops, with tensors
used more than once, broadcasting, reductions and matrix products.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "how-backward-works.md"


@pytest.fixture(scope="module")
def backward_by_hand():
    return _page_function()


def random_graph(rng, leaves):
    """A scalar made from the leaves by a dozen random ops (each result reused later)."""
    values = list(leaves)
    for _ in range(12):
        a = values[rng.integers(len(values))]
        b = values[rng.integers(len(values))]
        kind = rng.integers(7)
        if kind == 0:
            values.append(a * b)
        elif kind == 1:
            values.append(a + b.sum(axis=0, keepdims=True))  # broadcast back over rows
        elif kind == 2:
            values.append((a - b).tanh())
        elif kind == 3:
            values.append(a.exp() * 0.1 + b.sigmoid())
        elif kind == 4:
            values.append(a @ b.T @ a * 0.1)                 # (3, 4) @ (4, 3) @ (3, 4)
        elif kind == 5:
            values.append((a * a + 1.0).log() - b.relu())
        else:
            values.append(a.mean(axis=1, keepdims=True) * b)
    return sum(v.sum() for v in values[len(leaves):])


@pytest.mark.parametrize("seed", range(25))
def test_the_loop_written_by_hand_on_the_page_gives_the_engines_gradients(backward_by_hand,
                                                                         seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((3, 4)) for _ in range(3)]
    leaves = [tg.Tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
    out = random_graph(rng, leaves)
    by_hand = backward_by_hand(out)   # first: the engine's backward frees the graph
    out.backward()
    used = [leaf for leaf in leaves if leaf.grad is not None]
    assert set(map(id, by_hand)) == set(map(id, used))  # the same leaves were reached
    for leaf in used:
        np.testing.assert_allclose(by_hand[leaf].numpy(), leaf.grad.numpy(),
                                   rtol=1e-12, atol=1e-12)


def _page_function(replace=None):
    """backward_by_hand from the page, optionally with one line of it changed."""
    source = PAGE.read_text()
    if replace is not None:
        assert replace[0] in source
        source = source.replace(*replace)
    namespace = {"__name__": "__docs__"}
    for block in re.findall(r"^```python\n(.*?)^```", source, re.M | re.S):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(block, str(PAGE), "exec"), namespace)
    return namespace["backward_by_hand"]


def test_a_loop_that_forgets_to_add_up_is_caught():
    # the comparison above can fail: with the second gradient of a tensor replacing the
    # first instead of adding to it, a tensor used twice gets another answer
    broken = _page_function(("sums[parent] = sums[parent] + g", "sums[parent] = g"))
    x = tg.Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    y = (x * x).sum() + (x * 3.0).sum()   # x reaches the output along three edges
    wrong = broken(y)[x].numpy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 3)
    assert not np.allclose(wrong, x.grad.numpy())

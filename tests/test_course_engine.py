"""Stage 3 of the course, the engine: topological_order, backward_walk, unbroadcast.

Each exercise is written here as a student would write it: the reference solutions
(SOLUTIONS), which must pass with no hint, and, for every hint the grader can give, a
wrong solution that must fail with that hint. Each solution is a function whose body
replaces the template's `raise NotImplementedError(...)` (course_helpers.solve), with
the template's imports in scope: np, tg and local_backward.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from course_helpers import grade, solve

import tinygrad_edu as tg
from tinygrad_edu import course
from tinygrad_edu.course import engine_walk
from tinygrad_edu.course.catalog import template
from tinygrad_edu.course.engine_walk import local_backward

NAMES = ["topological_order", "backward_walk", "unbroadcast"]


# --- reference solutions ------------------------------------------------------------------


def topological_order(root):
    # depth-first, post-order, with (node, finished) pairs on an explicit stack
    order, seen = [], set()
    stack = [(root.grad_fn, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)  # every parent is finished: it comes after them
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            for parent in node.parents:
                if isinstance(parent, tg.Function) and parent not in seen:
                    stack.append((parent, False))
    order.reverse()
    return order


def backward_walk(root, order):
    grads = {root.grad_fn: np.ones_like(root.data)}
    for node in order:
        grad_output = grads.pop(node)
        for parent, g in zip(node.parents, local_backward(node, grad_output)):
            if parent is None or g is None:
                continue
            if parent in grads:
                grads[parent] = grads[parent] + g
            else:
                grads[parent] = g
    return grads


def unbroadcast(grad, shape):
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


SOLUTIONS = {
    "topological_order": {"topological_order": topological_order},
    "backward_walk": {"backward_walk": backward_walk},
    "unbroadcast": {"unbroadcast": unbroadcast},
}


# --- other right solutions: any valid order passes ----------------------------------------


def kahn_order(root):
    # count each node's consumers, then list a node when its count falls to 0
    consumers, seen, stack = {}, {root.grad_fn}, [root.grad_fn]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if isinstance(parent, tg.Function):
                consumers[parent] = consumers.get(parent, 0) + 1
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    order, ready = [], [root.grad_fn]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            if isinstance(parent, tg.Function):
                consumers[parent] -= 1
                if consumers[parent] == 0:
                    ready.append(parent)
    return order


def order_by_sequence(root):
    # the engine's shortcut: not the exercise, but a valid order all the same
    return tg.engine.topological_order(root.grad_fn)


# --- wrong topological orders ----------------------------------------------------------------


def bfs_order(root):
    order, seen, queue = [], {root.grad_fn}, [root.grad_fn]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for parent in node.parents:
            if isinstance(parent, tg.Function) and parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return order


def post_order_not_reversed(root):
    order, seen = [], set()
    stack = [(root.grad_fn, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            for parent in node.parents:
                if isinstance(parent, tg.Function) and parent not in seen:
                    stack.append((parent, False))
    return order


def no_seen_set(root):
    order = []
    stack = [(root.grad_fn, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
            continue
        stack.append((node, True))
        for parent in node.parents:
            if isinstance(parent, tg.Function):
                stack.append((parent, False))
    order.reverse()
    return order


def listed_at_visit_and_finish(root):
    order, seen = [], set()
    stack = [(root.grad_fn, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            order.append(node)
            stack.append((node, True))
            for parent in node.parents:
                if isinstance(parent, tg.Function) and parent not in seen:
                    stack.append((parent, False))
    order.reverse()
    return order


def recursive_order(root):
    order, seen = [], set()

    def visit(node):
        seen.add(node)
        for parent in node.parents:
            if isinstance(parent, tg.Function) and parent not in seen:
                visit(parent)
        order.append(node)

    visit(root.grad_fn)
    return order[::-1]


def first_parent_only(root):
    order, node = [], root.grad_fn
    while isinstance(node, tg.Function):
        order.append(node)
        node = node.parents[0]
    return order


def with_leaves(root):
    order, seen, stack = [], set(), [(root.grad_fn, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            for parent in node.parents:
                if parent is not None and parent not in seen:
                    stack.append((parent, isinstance(parent, tg.Tensor)))
    order.reverse()
    return order


def with_none(root):
    order, seen, stack = [], set(), [(root.grad_fn, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            for parent in node.parents:
                if parent is None:
                    order.append(None)
                elif isinstance(parent, tg.Function) and parent not in seen:
                    stack.append((parent, False))
    order.reverse()
    return order


def without_root(root):
    order, seen = [], set()
    stack = [(parent, False) for parent in root.grad_fn.parents
             if isinstance(parent, tg.Function)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            for parent in node.parents:
                if isinstance(parent, tg.Function) and parent not in seen:
                    stack.append((parent, False))
    order.reverse()
    return order


# --- wrong backward walks ----------------------------------------------------------------


def assigned_not_added(root, order):
    grads = {root.grad_fn: np.ones_like(root.data)}
    for node in order:
        for parent, g in zip(node.parents, local_backward(node, grads.pop(node))):
            if parent is not None:
                grads[parent] = g
    return grads


def parents_reversed(root, order):
    grads = {root.grad_fn: np.ones_like(root.data)}
    for node in order:
        for parent, g in zip(node.parents[::-1], local_backward(node, grads.pop(node))):
            if parent is not None and g is not None:
                grads[parent] = grads[parent] + g if parent in grads else g
    return grads


def starts_from_zeros(root, order):
    grads = {root.grad_fn: np.zeros_like(root.data)}
    for node in order:
        for parent, g in zip(node.parents, local_backward(node, grads.pop(node))):
            if parent is not None and g is not None:
                grads[parent] = grads[parent] + g if parent in grads else g
    return grads


def starts_from_the_loss(root, order):
    grads = {root.grad_fn: root.data.copy()}
    for node in order:
        for parent, g in zip(node.parents, local_backward(node, grads.pop(node))):
            if parent is not None and g is not None:
                grads[parent] = grads[parent] + g if parent in grads else g
    return grads


def nodes_only(root, order):
    grads = {root.grad_fn: np.ones_like(root.data)}
    for node in order:
        for parent, g in zip(node.parents, local_backward(node, grads.pop(node))):
            if isinstance(parent, tg.Function):
                grads[parent] = grads[parent] + g if parent in grads else g
    return grads


def nodes_kept(root, order):
    grads = {root.grad_fn: np.ones_like(root.data)}
    for node in order:
        for parent, g in zip(node.parents, local_backward(node, grads[node])):
            if parent is not None and g is not None:
                grads[parent] = grads[parent] + g if parent in grads else g
    return grads


def keyed_by_root_tensor(root, order):
    grads = {root: np.ones_like(root.data)}
    for node in order:
        for parent, g in zip(node.parents, local_backward(node, grads.pop(node))):
            if parent is not None and g is not None:
                grads[parent] = grads[parent] + g if parent in grads else g
    return grads


def none_not_skipped(root, order):
    grads = {root.grad_fn: np.ones_like(root.data)}
    for node in order:
        for parent, g in zip(node.parents, local_backward(node, grads.pop(node))):
            grads[parent] = grads.get(parent, 0) + g
    return grads


def one_share_at_a_time(root, order):
    # sends each share on as it comes, without the order: right, and exponential
    grads = {}
    stack = [(root.grad_fn, np.ones_like(root.data))]
    while stack:
        node, grad_output = stack.pop()
        for parent, g in zip(node.parents, local_backward(node, grad_output)):
            if isinstance(parent, tg.Function):
                stack.append((parent, g))
            elif parent is not None:
                grads[parent] = grads[parent] + g if parent in grads else g
    return grads


def recursive_walk(root, order):
    grads = {}

    def send(node, grad_output):
        for parent, g in zip(node.parents, local_backward(node, grad_output)):
            if isinstance(parent, tg.Function):
                send(parent, g)
            elif parent is not None:
                grads[parent] = grads[parent] + g if parent in grads else g

    send(root.grad_fn, np.ones_like(root.data))
    return grads


# --- wrong unbroadcasts --------------------------------------------------------------------


def leading_only(grad, shape):
    return grad.sum(axis=tuple(range(grad.ndim - len(shape))))


def without_keepdims(grad, shape):
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched)


def mean_not_sum(grad, shape):
    extra = grad.ndim - len(shape)
    grad = grad.mean(axis=tuple(range(extra)))
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.mean(axis=stretched, keepdims=True)


def trailing_axes(grad, shape):
    grad = grad.sum(axis=tuple(range(len(shape), grad.ndim)))
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


# (exercise, {qualname: wrong function}, words the report must contain)
WRONG = [
    ("topological_order", bfs_order, "every node must come after all of its consumers"),
    ("topological_order", post_order_not_reversed, "your list is a right order backwards"),
    ("topological_order", no_seen_set, "is used 2 times, so the search reaches it 2 times"),
    ("topological_order", listed_at_visit_and_finish, "list each node once"),
    ("topological_order", recursive_order, "recursion too deep"),
    ("topological_order", first_parent_only, "follow every entry of node.parents"),
    ("topological_order", with_leaves, "your list holds tensors"),
    ("topological_order", with_none, "your list holds None"),
    ("topological_order", without_root, "the list starts with the root's own node"),
    ("backward_walk", assigned_not_added, "REPLACES the first instead of adding"),
    ("backward_walk", parents_reversed, "to its parents in the wrong order"),
    ("backward_walk", starts_from_zeros, "every gradient is 0"),
    ("backward_walk", starts_from_the_loss, "the walk seems to start from root.data"),
    ("backward_walk", nodes_only, "a leaf (an entry of node.parents that is a Tensor)"),
    ("backward_walk", nodes_kept, "return only the leaves' gradients"),
    ("backward_walk", keyed_by_root_tensor, "your walk found no gradient for a node"),
    ("backward_walk", none_not_skipped, "a None reached your code"),
    ("backward_walk", one_share_at_a_time, "your walk ran a node's backward a second time"),
    ("backward_walk", recursive_walk, "recursion too deep"),
    ("unbroadcast", leading_only, "the stretched ones were not"),
    ("unbroadcast", without_keepdims, "lost the size-1 axes"),
    ("unbroadcast", mean_not_sum, "a mean where a sum belongs"),
    ("unbroadcast", trailing_axes, "your result is grad summed over its LAST axes"),
]


def widest(report: str) -> int:
    """The longest line of a report, but for the one that names the file (its folder is
    the student's, of any length)."""
    return max(len(line) for line in report.splitlines() if not line.startswith("Checking "))


def flat(report: str) -> str:
    """The report with its lines joined: a hint's words may be wrapped across lines."""
    return " ".join(report.split())


# --- the stage in the catalog, the templates -------------------------------------------------


def test_the_stage_lists_its_exercises_in_teaching_order():
    assert [e.name for e in engine_walk.EXERCISES] == NAMES
    assert [e.name for e in course.EXERCISES if e.stage == engine_walk.STAGE] == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_template_has_one_raise_and_lines_that_fit(name):
    text = template(course.find(name)).read_text()
    assert text.count("raise NotImplementedError(") == 1
    assert f"    tinygrad-edu exercises check {name}\n" in text
    assert max(len(line) for line in text.splitlines()) <= 88


@pytest.mark.parametrize("name", NAMES)
def test_the_template_as_copied_is_not_written_yet(name, tmp_path):
    solve(name, tmp_path, {})
    report, passed = grade(name, tmp_path)
    assert passed is False
    assert "not written yet" in report
    assert "All" not in report.splitlines()[-1]


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_solution_passes_with_no_hint(name, tmp_path):
    solve(name, tmp_path, SOLUTIONS[name])
    report, passed = grade(name, tmp_path)
    assert passed is True, report
    assert "hint:" not in report
    assert report.splitlines()[-1].startswith("All ")
    assert widest(report) <= 88


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [1, 2])
def test_the_reference_solution_passes_on_other_seeds_too(name, seed, tmp_path):
    # the hints compare numbers: on other graphs' numbers, none may fire on a right answer
    solve(name, tmp_path, SOLUTIONS[name])
    report, passed = course.grade(name, tmp_path, seed=seed)
    assert passed is True, report
    assert "hint:" not in report


@pytest.mark.parametrize("solution", [kahn_order, order_by_sequence])
def test_any_valid_order_passes(solution, tmp_path):
    solve("topological_order", tmp_path, {"topological_order": solution})
    report, passed = grade("topological_order", tmp_path)
    assert passed is True, report


@pytest.mark.parametrize("name, solution, words", WRONG,
                         ids=[f"{name}-{solution.__name__}" for name, solution, _ in WRONG])
def test_a_classic_mistake_fails_with_its_hint(name, solution, words, tmp_path):
    solve(name, tmp_path, {name: solution})
    report, passed = grade(name, tmp_path)
    assert passed is False
    assert words in flat(report), report
    assert widest(report) <= 88


# --- the reports say which node, which leaf ----------------------------------------------


def test_a_bfs_order_names_the_node_and_the_consumer_that_came_after_it(tmp_path):
    solve("topological_order", tmp_path, {"topological_order": bfs_order})
    report = flat(grade("topological_order", tmp_path)[0])
    # the docstring's graph: Exp (made first) before Sin (second), which uses it
    assert "Exp #1 is at position 3 of your list, and Sin #2, which uses its output" in report
    assert "Sin #2 would not have sent its share yet" in report


def test_a_recursive_search_passes_the_small_graphs_and_fails_only_the_deep_one(tmp_path):
    solve("topological_order", tmp_path, {"topological_order": recursive_order})
    report, _ = grade("topological_order", tmp_path)
    rows = [line for line in report.splitlines() if re.match(r"\s+\d+  ", line)]
    assert len(rows) == len(engine_walk.SMALL_GRAPHS) + 1
    assert [("FAIL" in row) for row in rows] == [False] * (len(rows) - 1) + [True]
    assert "raised RecursionError" in rows[-1]


def test_a_replaced_sum_names_the_leaf_that_lost_a_share(tmp_path):
    solve("backward_walk", tmp_path, {"backward_walk": assigned_not_added})
    report = flat(grade("backward_walk", tmp_path)[0])
    # the same mistake on six graphs is shown once, by the first: a = x.exp() used twice
    assert "case 1 and 5 more, such as case 1: x: 3 of 3 entries differ" in report
    assert "REPLACES the first instead of adding to it" in report


def test_a_list_without_the_root_names_only_the_root(tmp_path):
    solve("topological_order", tmp_path, {"topological_order": without_root})
    report = flat(grade("topological_order", tmp_path)[0])
    assert "1 of the graph's 4 nodes is not in your list: Sum #4" in report
    assert "follow every entry" not in report


def test_an_unbroadcast_that_returns_nothing_is_told_so(tmp_path):
    def forgot_return(grad, shape):
        grad.sum(axis=0)

    solve("unbroadcast", tmp_path, {"unbroadcast": forgot_return})
    report, passed = grade("unbroadcast", tmp_path)
    assert passed is False
    assert "unbroadcast returned None: end it with `return` and the array" in report


# --- local_backward, the helper the templates import ----------------------------------------


def test_local_backward_gives_one_array_per_parent_and_none_for_a_constant():
    x = tg.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    k = tg.Tensor(np.array([4.0, 5.0, 6.0]))
    y = x * k
    g = np.array([1.0, -1.0, 2.0])
    dx, dk = local_backward(y.grad_fn, g)
    np.testing.assert_array_equal(dx, g * k.data)
    assert dk is None and y.grad_fn.parents[1] is None


def test_local_backward_spreads_a_slice_and_hands_out_arrays_of_their_own():
    x = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (dx,) = local_backward(x[1].grad_fn, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(dx, [[0, 0, 0], [1, 2, 3]])
    both = x + x  # Add gives the same gradient to both inputs: two separate arrays here
    a, b = local_backward(both.grad_fn, np.ones((2, 3)))
    a += 1
    np.testing.assert_array_equal(b, np.ones((2, 3)))
    total = x.sum()  # Sum's gradient is a read-only broadcast view in the engine
    (ones,) = local_backward(total.grad_fn, np.array(2.0))
    ones += 1
    np.testing.assert_array_equal(ones, np.full((2, 3), 3.0))


def test_local_backward_says_what_is_wrong_with_a_missing_gradient():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="the gradient given for Exp is None"):
        local_backward(x.exp().grad_fn, None)


def test_the_wrong_walks_that_the_hints_rely_on_do_differ_from_the_right_one():
    # a hint names a mistake when the student's numbers equal the mistaken walk's: on the
    # graphs with reuse, each mistaken walk must give other numbers than backward()
    name, build = engine_walk.SMALL_GRAPHS[0]
    right = engine_walk._engine_gradients(build, 0)["x"]
    for mistake in [dict(keep="last"), dict(keep="first"), dict(swap_parents=True)]:
        wrong = engine_walk._wrong_walk(build, 0, **mistake)["x"]
        assert not np.allclose(wrong, right), (name, mistake)
    mistake_free = engine_walk._wrong_walk(build, 0)["x"]
    np.testing.assert_allclose(mistake_free, right, rtol=1e-12)


def test_the_unbroadcast_reference_sums_each_copy_entry_by_entry():
    grad = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(engine_walk.summed_copies(grad, (3, 1)),
                                  grad.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(engine_walk.summed_copies(grad, ()), grad.sum())
    np.testing.assert_array_equal(engine_walk.summed_copies(grad, (1, 4)),
                                  grad.sum(axis=(0, 1))[None, :])


# --- time ---------------------------------------------------------------------------------
# Measured in-process: about 0.6 s for a right walk (8 graphs, 6,000 nodes in the deepest),
# up to 1.5 s for a wrong one (each mistaken walk is run again to recognise it). The bound
# leaves room for a slow machine, well under the 10 s a student should ever wait.


@pytest.mark.parametrize("name", NAMES)
def test_grading_takes_well_under_ten_seconds(name, tmp_path):
    solve(name, tmp_path, SOLUTIONS[name])
    start = time.perf_counter()
    grade(name, tmp_path)
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize("name, solution", [("backward_walk", assigned_not_added),
                                            ("backward_walk", starts_from_the_loss),
                                            ("backward_walk", one_share_at_a_time),
                                            ("topological_order", no_seen_set)])
def test_grading_a_mistake_takes_well_under_ten_seconds(name, solution, tmp_path):
    solve(name, tmp_path, {name: solution})
    start = time.perf_counter()
    grade(name, tmp_path)
    assert time.perf_counter() - start < 5.0

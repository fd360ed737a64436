"""Stage 3: the engine. The student writes what `backward()` does: the order of the
nodes, the walk that carries gradients down it, and the `unbroadcast` every op calls.

The first two are graded on real graphs, built with Tensor ops (SMALL_GRAPHS, and two
deep ones): the student's function is plugged into each graph, and its answer checked
(an order: is it valid?) or compared with what the engine's own backward() finds on the
same graph, built again (a backward frees what forward saved). Where an answer is wrong,
the classic mistakes are recognised: a walk with the mistake is run on the same graph,
and when it gives the student's numbers, the hint names the mistake.

`local_backward` is the one helper the templates import: a single step of the chain
rule at one node, so that the student's walk holds only the walk.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .. import engine
from ..engine import Function, SparseGrad, wrap
from ..grad_mode import no_grad
from ..nn import functional
from ..tensor import Tensor
from .exercise import Exercise
from .grading import Row, attempt, compare, error_row

STAGE = "the engine"


# --- the helper the templates import -------------------------------------------------------


class RanTwice(RuntimeError):
    """Raised by local_backward, while the grader watches, for a node run a second time."""


# While the grader runs a student's walk: the nodes whose backward has run (each may run
# once); None the rest of the time. (A walk that runs a node once per path that reaches
# it would run for ever on a deep graph: this stops it at the first repeat, and says so.)
_nodes_run: set | None = None


def local_backward(node: Function, grad_output) -> list:
    """One step of the chain rule, at one node: from the gradient of its output to the
    gradients of its inputs.

    `grad_output` is d(root)/d(output), an array of the output's shape. Runs the op's own
    backward, and returns a list with one entry per entry of `node.parents`, in the same
    order: d(root)/d(input), an array of that input's shape, or None where the parent is
    None (an input that needs no gradient). Each array is a new one: adding into it in
    place changes nothing else.
    """
    if grad_output is None:
        raise TypeError(f"local_backward: the gradient given for {node.name} is None: pass "
                        "the array that the walk has summed for this node's output")
    if _nodes_run is not None:
        if node in _nodes_run:
            raise RanTwice(f"local_backward: {node.name} was given a gradient a second time; "
                           "each node's backward runs once, with the sum of its shares")
        _nodes_run.add(node)
    upstream = wrap(np.asarray(getattr(grad_output, "data", grad_output)))
    with no_grad():  # the gradients are computed, not recorded as a graph of their own
        grads = type(node).backward(node, upstream)
    grads = engine._one_per_input(node, grads)  # (the walk's own checks, with their
    result = []                                 # clear errors for a malformed backward)
    for x, parent, g in zip(node.inputs, node.parents, grads):
        if parent is None or g is None:
            result.append(None)
            continue
        g = engine._fit(node, x, g)  # the input's shape and dtype, or an error saying why
        # A slice's backward sends a SparseGrad (values at an index of zeros): spread out.
        # The copy makes the array the caller's own: a backward may hand the same array
        # to two inputs (Add does), or a read-only broadcast view (Sum does).
        result.append(g.dense() if isinstance(g, SparseGrad) else np.array(g.data))
    return result


# --- the graphs the walks are graded on ------------------------------------------------------
# Each builder makes its graph from a seeded generator: called twice with the same seed, it
# makes the same graph with the same numbers. It returns (root, {name: leaf}).


def _leaf(rng, shape, name: str) -> Tensor:
    return Tensor(rng.standard_normal(shape), requires_grad=True, dtype=np.float64, name=name)


def _docstring_graph(rng):
    x = _leaf(rng, (3,), "x")
    a = x.exp()
    return (a * a.sin()).sum(), {"x": x}


def _two_paths(rng):
    x, y = _leaf(rng, (2, 3), "x"), _leaf(rng, (2, 3), "y")
    a = x.tanh()
    return (a + a.sin().cos() * y).sum(), {"x": x, "y": y}


def _square(rng):
    x = _leaf(rng, (4,), "x")
    return (x * x).sum(), {"x": x}


def _twice_and_a_constant(rng):
    x = _leaf(rng, (3,), "x")
    k = Tensor(rng.standard_normal(3), dtype=np.float64)  # no requires_grad: a constant
    return ((x + x) * k).sum(), {"x": x}


def _mlp(rng):
    x, w1, b1 = _leaf(rng, (4, 3), "x"), _leaf(rng, (3, 5), "w1"), _leaf(rng, (5,), "b1")
    w2, b2 = _leaf(rng, (5, 2), "w2"), _leaf(rng, (2,), "b2")
    logits = (x @ w1 + b1).tanh() @ w2 + b2
    labels = Tensor(np.array([0, 1, 1, 0]))
    return (functional.cross_entropy(logits, labels),
            {"x": x, "w1": w1, "b1": b1, "w2": w2, "b2": b2})


def _broadcast(rng):
    x, y, z = _leaf(rng, (3, 1), "x"), _leaf(rng, (4,), "y"), _leaf(rng, (2, 3, 4), "z")
    return ((x + y) * z).sum(), {"x": x, "y": y, "z": z}


def _slices(rng):
    x = _leaf(rng, (3, 4), "x")
    return (x[0] * x[1]).sum() + x[1:].exp().sum(), {"x": x}


# The deep graphs: deeper than Python's recursion limit (1,000 calls) along every path, so
# that a search or a walk that calls itself once per node stops with a RecursionError.
DEPTH = 1500


def _chain(rng):
    """3,000 nodes in a line: no node is reached twice, so that a search that forgets
    its set of seen nodes still ends (on the residual graph it would take 2^1,500 steps)."""
    x, w = _leaf(rng, (3,), "x"), _leaf(rng, (3,), "w")
    h = x
    for _ in range(DEPTH):
        h = (h * w).sin()
    return h.sum(), {"x": x, "w": w}


def _residual(rng):
    """6,000 nodes, with w used 1,500 times and each h twice."""
    x, w = _leaf(rng, (3,), "x"), _leaf(rng, (3,), "w")
    h = x
    for _ in range(DEPTH):
        h = h + 0.01 * (h * w).tanh()  # a residual step: the gradient neither dies nor explodes
    return h.sum(), {"x": x, "w": w}


SMALL_GRAPHS = [
    ("a = x.exp(); (a * a.sin()).sum()", _docstring_graph),
    ("a = x.tanh(); (a + a.sin().cos() * y).sum()", _two_paths),
    ("(x * x).sum()", _square),
    ("((x + x) * k).sum(), k a constant", _twice_and_a_constant),
    ("an MLP and its cross-entropy loss", _mlp),
    ("((x (3,1) + y (4,)) * z (2,3,4)).sum()", _broadcast),
    ("(x[0] * x[1]).sum() + x[1:].exp().sum()", _slices),
]
CHAIN = (f"{DEPTH:,} steps of h = (h * w).sin()", _chain)
RESIDUAL = (f"{DEPTH:,} steps of h = h + 0.01 * (h * w).tanh()", _residual)


def _node_names(nodes) -> dict:
    """{node: "Mul #3"}: each node numbered in the order forward made it, from 1."""
    by_age = sorted(nodes, key=lambda node: node.sequence)
    return {node: f"{node.name} #{number}" for number, node in enumerate(by_age, start=1)}


def _describe_item(item, names: dict) -> str:
    if item is None:
        return "None"
    if isinstance(item, Function):
        return names.get(item, f"a {item.name} node of another graph")
    if isinstance(item, Tensor):
        kind = "leaf" if item.grad_fn is None else f"tensor made by {names.get(item.grad_fn)}"
        label = f" '{item.name}'" if item.name else ""
        return f"{kind}{label} of shape {item.data.shape}"
    return f"a {type(item).__name__}"


# --- 1. topological_order ---------------------------------------------------------------------

HINT_TENSORS = (
    "your list holds tensors: the order is of the nodes, the tg.Function objects "
    "(y.grad_fn for a tensor y). An entry of node.parents that is a Tensor is a leaf: the "
    "walk stops there, and does not list it")
HINT_NONE_LISTED = (
    "your list holds None: an entry of node.parents that is None is an input that needs no "
    "gradient (a constant); skip it")
HINT_TWICE_REUSED = (
    "the output of {node} is used {uses} times, so the search reaches it {uses} times, and "
    "each time put it in your list. Keep a set of the nodes seen, and skip a node that is "
    "in it")
HINT_TWICE = "list each node once: keep a set of the nodes seen, and skip a node in it"
HINT_MISSING = (
    "follow every entry of node.parents that is a node (isinstance(p, tg.Function)), not "
    "only the first: each is an input made by an op, whose backward must run too. A Tensor "
    "entry (a leaf) or None ends that path")
HINT_NO_ROOT = "the list starts with the root's own node, root.grad_fn"
HINT_REVERSED = (
    "your list is a right order backwards: each node comes after the nodes it uses, as a "
    "depth-first post-order lists them. Reverse it (order.reverse(), or order[::-1])")
HINT_CONSUMERS_FIRST = (
    "every node must come after all of its consumers: its backward needs the gradient of "
    "its output complete, the sum of one share from each node that uses it, and {consumer} "
    "would not have sent its share yet. A breadth-first search from the root gives this "
    "order when a node is reached by two paths of different lengths; a depth-first "
    "post-order, reversed, never does (see the docstring)")


def check_topological_order(module, path, seed):
    """Is the student's order valid on each graph: every node once, each before the nodes
    it uses? (Any valid order passes: there are many.)"""
    rows = []
    for label, build in [*SMALL_GRAPHS, CHAIN]:
        def run(label=label, build=build):
            root, _ = build(np.random.default_rng(seed))
            got = module.topological_order(root)
            return _judge_order(label, root, got)
        rows.append(attempt(label, path, run))
    return rows


def _judge_order(case: str, root, got) -> Row:
    try:
        got = list(got)
    except TypeError:
        return Row(case, False, "not a list",
                   [f"topological_order returned a {type(got).__name__}; return a list of "
                    "the graph's nodes"])
    nodes = engine.topological_order(root.grad_fn)  # (the grader may use the engine's)
    names = _node_names(nodes)
    strangers = [(i, item) for i, item in enumerate(got, start=1)
                 if not isinstance(item, Function)]
    if strangers:
        i, item = strangers[0]
        hints = ([HINT_TENSORS] if any(isinstance(s, Tensor) for _, s in strangers) else []) + (
            [HINT_NONE_LISTED] if any(s is None for _, s in strangers) else [])
        return Row(case, False, "not only nodes",
                   [f"{len(strangers)} of the {len(got)} entries of your list "
                    f"{'is not a node' if len(strangers) == 1 else 'are not nodes'}; the "
                    f"first, at position {i}, is {_describe_item(item, names)}"], hints)
    counts = Counter(got)
    twice = [node for node, count in counts.items() if count > 1]
    if twice:
        node = twice[0]
        uses = sum(parent is node for other in nodes for parent in other.parents)
        hint = (HINT_TWICE_REUSED.format(node=names.get(node), uses=uses) if uses > 1
                else HINT_TWICE)
        return Row(case, False, "a node listed twice",
                   [f"{_count(len(twice), 'node', 'nodes')} in your list more than once; "
                    f"{names.get(node)} is there {counts[node]} times"], [hint])
    strays = [node for node in got if node not in names]
    if strays:
        return Row(case, False, "nodes of another graph",
                   [f"{len(strays)} entries of your list are not nodes of this graph (only "
                    "nodes reached from root.grad_fn through node.parents belong)"])
    missing = [node for node in nodes if node not in counts]
    if missing:
        below_root = [node for node in missing if node is not root.grad_fn]
        hints = ([HINT_NO_ROOT] if root.grad_fn in missing else []) + (
            [HINT_MISSING] if below_root else [])
        return Row(case, False, "nodes missing",
                   [f"{len(missing)} of the graph's {len(nodes)} nodes "
                    f"{'is' if len(missing) == 1 else 'are'} not in your list: "
                    f"{_some(names[node] for node in missing)}"], hints)
    late = _first_consumer_after(got)
    if late is None:
        return Row(case, True)
    node, consumer, position = late
    where = {n: i for i, n in enumerate(got, start=1)}
    detail = (f"{names[node]} is at position {where[node]} of your list, and "
              f"{names[consumer]}, which uses its output, comes after it, at position "
              f"{position}")
    if _first_consumer_after(got[::-1]) is None:
        return Row(case, False, "node before its consumers", [detail], [HINT_REVERSED])
    return Row(case, False, "node before its consumers", [detail],
               [HINT_CONSUMERS_FIRST.format(consumer=names[consumer])])


def _some(names, shown: int = 3) -> str:
    """'Sin #2, Mul #4, Exp #5 and 3 more': the first few of a list of names."""
    names = list(names)
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def _count(n: int, one: str, many: str) -> str:
    """'1 node is', '3 nodes are': a count, its noun and its verb."""
    return f"1 {one} is" if n == 1 else f"{n} {many} are"


def _first_consumer_after(order: list):
    """The first node of `order` that one of its consumers follows: (node, consumer, the
    consumer's position from 1); None if every node comes after all its consumers."""
    position = {node: i for i, node in enumerate(order, start=1)}
    for consumer in order:
        for parent in consumer.parents:
            if isinstance(parent, Function) and position[parent] < position[consumer]:
                return parent, consumer, position[consumer]
    return None


# --- 2. backward_walk ---------------------------------------------------------------------------

HINT_ACCUMULATE = (
    "your gradients equal those of a walk where a second gradient for the same node or "
    "leaf REPLACES the first instead of adding to it. Here a tensor is used more than once, "
    "and the chain rule sums the gradients of all its uses (for y = x * x, dy/dx = x + x): "
    "when grads already has an entry for parent, add g to it")
HINT_WRONG_PARENT = (
    "your gradients equal those of a walk that gives each node's gradients to its parents "
    "in the wrong order: the i-th array of local_backward(node, g) belongs to "
    "node.parents[i], so pair them with zip(node.parents, local_backward(node, g))")
HINT_ROOT_ZERO = (
    "every gradient is 0: the walk starts from d(root)/d(root) = 1, "
    "grads[root.grad_fn] = np.ones_like(root.data); a walk that starts from 0 sends 0 "
    "everywhere")
HINT_ROOT_SCALE = (
    "every gradient is {scale:.6g} times the right one{why}: the walk starts from "
    "d(root)/d(root) = 1, grads[root.grad_fn] = np.ones_like(root.data)")
HINT_LEAVES_MISSING = (
    "a leaf (an entry of node.parents that is a Tensor) gets its gradient added into grads "
    "as a node does; it has no backward to run, so its entry stays there to the end. Return "
    "those entries: {leaf tensor: gradient}")
HINT_NODES_RETURNED = (
    "return only the leaves' gradients: a node's entry is used up when its turn comes "
    "(grads.pop(node) takes it out), or keep the entries whose key is a tg.Tensor")
HINT_NO_GRADIENT = (
    "your walk found no gradient for a node when its turn came: the walk starts with "
    "grads[root.grad_fn] (the root's node, not the root tensor), and sends the i-th "
    "gradient of local_backward(node, g) to node.parents[i], the node that made input i "
    "(not to node.inputs[i], the tensor)")
HINT_RAN_TWICE = (
    "your walk ran a node's backward a second time: it sends each share on as it arrives, "
    "so a node runs once per path that reaches it, and the paths double at every reuse "
    "(2^1,500 of them on the deep graph). Add the shares up in grads first, and run each "
    "node once, when its turn in `order` comes: by then every share has arrived")
HINT_NONE = (
    "a None reached your code: node.parents has None for an input that needs no gradient "
    "(a constant), and local_backward gives None for it: skip those pairs")


def check_backward_walk(module, path, seed):
    """The student's leaf gradients, walking the engine's order, against backward()'s."""
    rows = []
    for label, build in [*SMALL_GRAPHS, RESIDUAL]:
        def run(label=label, build=build):
            global _nodes_run
            root, leaves = build(np.random.default_rng(seed))
            order = engine.topological_order(root.grad_fn)
            _nodes_run = set()
            try:
                got = module.backward_walk(root, order)
            except RanTwice as error:
                return error_row(label, error, path, [HINT_RAN_TWICE])
            except KeyError as error:  # looked up a node that has no gradient
                if error.args and isinstance(error.args[0], Function):
                    return error_row(label, error, path, [HINT_NO_GRADIENT])
                raise
            except TypeError as error:  # arithmetic with a None gradient
                if "NoneType" in str(error):
                    return error_row(label, error, path, [HINT_NONE])
                raise
            finally:
                _nodes_run = None
            return _judge_walk(label, build, seed, root, leaves, got)
        rows.append(attempt(label, path, run))
    return rows


def _engine_gradients(build, seed) -> dict:
    """{leaf name: its gradient}, by the engine's backward() on a graph of its own."""
    root, leaves = build(np.random.default_rng(seed))
    root.backward()
    return {name: leaf.grad.data for name, leaf in leaves.items()}


def _judge_walk(case: str, build, seed, root, leaves: dict, got) -> Row:
    if not isinstance(got, dict):
        return Row(case, False, "not a dict",
                   [f"backward_walk returned a {type(got).__name__}; return a dict "
                    "{leaf tensor: gradient array}"])
    missing = [name for name, leaf in leaves.items() if leaf not in got]
    if missing:
        return Row(case, False, "leaves missing",
                   [f"your dict has no gradient for {len(missing)} of the {len(leaves)} "
                    f"leaves: {', '.join(missing)}"], [HINT_LEAVES_MISSING])
    want = _engine_gradients(build, seed)
    mine = {name: got[leaf] for name, leaf in leaves.items()}
    wrong = [compare(name, mine[name], want[name], name=f"gradient of {name}")
             for name in leaves]
    wrong = [(name, row) for name, row in zip(leaves, wrong) if not row.passed]
    if wrong:
        details = [f"{name}: {detail}" for name, row in wrong[:3] for detail in row.details]
        hints = _diagnose_walk(build, seed, float(root.data.sum()), mine, want)
        return Row(case, False, "wrong gradients", details, hints)
    nodes = [key for key in got if isinstance(key, Function)]
    if nodes:
        return Row(case, False, "nodes in the dict",
                   [f"your dict has {len(nodes)} nodes among its keys, such as "
                    f"{_describe_item(nodes[0], _node_names(nodes))}"], [HINT_NODES_RETURNED])
    leaf_set = set(leaves.values())
    others = [key for key in got if key not in leaf_set]
    if others:
        return Row(case, False, "keys that are not leaves",
                   [f"your dict has {len(others)} keys that are not leaves of the graph, "
                    f"such as {_describe_item(others[0], {})}"],
                   [HINT_NONE] if any(key is None for key in others) else [])
    return Row(case, True)


def _as_array(value):
    try:
        return np.asarray(getattr(value, "data", value), dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _diagnose_walk(build, seed, root_value: float, mine: dict, want: dict) -> list:
    """Hints for wrong leaf gradients: the student's, compared with wrong walks' on the
    same graph (a replaced sum, parents swapped), then with the right ones scaled (a walk
    that starts from something else than 1: its gradients are all scaled alike)."""
    mine = {name: _as_array(value) for name, value in mine.items()}
    if any(mine[name] is None or mine[name].shape != want[name].shape for name in want):
        return []  # not numbers, or the wrong shapes: the details say it

    def matches(**mistake) -> bool:
        try:
            theirs = _wrong_walk(build, seed, **mistake)
        except Exception:  # the mistake makes no sense on this graph (shapes clash)
            return False
        return all(name in theirs and theirs[name].shape == mine[name].shape
                   and np.allclose(mine[name], theirs[name], rtol=1e-6, atol=1e-12)
                   for name in want)

    if any(matches(keep=keep, where=where) for keep, where in
           [("last", "all"), ("last", "leaves"), ("last", "nodes"), ("first", "all")]):
        return [HINT_ACCUMULATE]
    if matches(swap_parents=True):
        return [HINT_WRONG_PARENT]
    ours = np.concatenate([mine[name].ravel() for name in want])
    right = np.concatenate([want[name].ravel() for name in want])
    if np.allclose(ours, 0, atol=1e-12) and not np.allclose(right, 0, atol=1e-12):
        return [HINT_ROOT_ZERO]
    scale = float(ours @ right / max(right @ right, 1e-300))
    if not np.isclose(scale, 1) and np.allclose(ours, scale * right, rtol=1e-6, atol=1e-12):
        why = (" (the root's value: the walk seems to start from root.data)"
               if np.isclose(scale, root_value) else "")
        return [HINT_ROOT_SCALE.format(scale=scale, why=why)]
    return []


def _wrong_walk(build, seed, keep=None, where="all", swap_parents=False) -> dict:
    """The backward walk with a classic mistake, on a graph of its own: {leaf name: grad}.

    keep="last": a second gradient replaces the first (grads[parent] = g), at the nodes,
    the leaves or both (`where`); keep="first": it is dropped. swap_parents: each node's
    gradients are given to its parents in the reversed order.
    """
    root, leaves = build(np.random.default_rng(seed))
    grads = {root.grad_fn: np.ones_like(root.data)}
    for node in engine.topological_order(root.grad_fn):
        parents = node.parents[::-1] if swap_parents else node.parents
        for parent, g in zip(parents, local_backward(node, grads.pop(node))):
            if parent is None or g is None:
                continue
            is_leaf = not isinstance(parent, Function)
            mistaken = keep is not None and where in ("all", "leaves" if is_leaf else "nodes")
            if parent not in grads:
                grads[parent] = g
            elif not mistaken:
                grads[parent] = grads[parent] + g
            elif keep == "last":
                grads[parent] = g
    return {name: grads[leaf] for name, leaf in leaves.items() if leaf in grads}


# --- 3. unbroadcast -------------------------------------------------------------------------------

# (the broadcast shape of the gradient, the shape of the input)
UNBROADCAST_CASES = [
    ((3, 4), (3, 4)),
    ((2, 3), ()),
    ((4,), (1,)),
    ((2, 3), (3,)),
    ((4, 4), (4,)),
    ((3, 4), (3, 1)),
    ((3, 4), (1, 4)),
    ((2, 3), (1, 1)),
    ((2, 3, 4), (3, 1)),
    ((2, 3, 4), (1, 3, 1)),
    ((2, 3, 1), (3, 1)),
    ((3, 3, 3), (3, 3)),
    ((5, 2, 3, 4), (2, 1, 4)),
]

HINT_ONLY_LEADING = (
    "your result has shape {got}: the leading axes were summed, the stretched ones were "
    "not. Where shape has a 1 and grad does not, the input was copied along that axis: sum "
    "it too, with keepdims=True")
HINT_NO_KEEPDIMS = (
    "your result has the right numbers but lost the size-1 axes: summing an axis removes "
    "it, unless keepdims=True keeps it with size 1 (or reshape the result to shape)")
HINT_MEAN = (
    "your values are 1/{k} of the right ones: a mean where a sum belongs. Each of the {k} "
    "copies of an input value got its own gradient, and the chain rule adds them all")
HINT_TRAILING = (
    "your result is grad summed over its LAST axes: NumPy lines shapes up at the right "
    "end, so the axes an input lacks are the LEADING ones: sum the first "
    "grad.ndim - len(shape) axes of grad")


def summed_copies(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """What each entry of an input of `shape` collected from `grad`, entry by entry: the
    definition, plain and slow. Every entry of grad was computed from one copy of an input
    entry: the same index, read from the right, with 0 where the input has size 1."""
    total = np.zeros(shape)
    extra = grad.ndim - len(shape)
    for index in np.ndindex(grad.shape):
        source = tuple(0 if size == 1 else i for i, size in zip(index[extra:], shape))
        total[source] += grad[index]
    return total


def check_unbroadcast(module, path, seed):
    """The student's unbroadcast against the right sums, on many pairs of shapes."""
    rng = np.random.default_rng(seed)
    rows = []
    for grad_shape, shape in UNBROADCAST_CASES:
        grad = rng.standard_normal(grad_shape)
        label = f"{grad_shape} -> {shape}"

        def run(label=label, grad=grad, shape=shape):
            got = module.unbroadcast(grad.copy(), shape)
            if got is None:
                return Row(label, False, "returned None",
                           ["unbroadcast returned None: end it with `return` and the array"])
            want = summed_copies(grad, shape)
            row = compare(label, got, want, rtol=1e-9, atol=1e-12)
            if not row.passed:
                row.hints += _diagnose_unbroadcast(_as_array(got), grad, shape, want)
            return row
        rows.append(attempt(label, path, run))
    return rows


def _diagnose_unbroadcast(got, grad: np.ndarray, shape: tuple, want: np.ndarray) -> list:
    if got is None:
        return []
    extra = grad.ndim - len(shape)
    if got.shape == want.shape:
        ratio = got / np.where(want == 0, np.nan, want)
        k = grad.size // max(want.size, 1)
        if k > 1 and np.allclose(ratio[~np.isnan(ratio)], 1 / k, rtol=1e-6):
            return [HINT_MEAN.format(k=k)]
    if extra > 0:  # the extra axes summed at the wrong end, then maybe the size-1 ones
        trailing = grad.sum(axis=tuple(range(len(shape), grad.ndim)))
        stretched = tuple(i for i, size in enumerate(shape)
                          if size == 1 and trailing.shape[i] != 1)
        for theirs in (trailing, trailing.sum(axis=stretched, keepdims=True)):
            if got.shape == theirs.shape and np.allclose(got, theirs, rtol=1e-9, atol=1e-12):
                return [HINT_TRAILING]
    if got.shape == grad.shape[extra:] and got.shape != tuple(shape):
        return [HINT_ONLY_LEADING.format(got=got.shape)]
    if got.size == want.size and got.shape != want.shape and np.allclose(
            got.ravel(), want.ravel(), rtol=1e-9, atol=1e-12):
        return [HINT_NO_KEEPDIMS]
    return []


EXERCISES = [
    Exercise("topological_order", "topological_order",
             "each node before the nodes it uses",
             check=check_topological_order),
    Exercise("backward_walk", "backward_walk",
             "the chain rule over a whole graph",
             check=check_backward_walk),
    Exercise("unbroadcast", "unbroadcast",
             "a gradient summed back to its input's shape",
             check=check_unbroadcast),
]

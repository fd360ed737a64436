"""Checking a whole recorded graph, node by node: `tg.check_graph(output)`.

gradcheck tests one function end to end: when a network's gradient is wrong it says so,
but not which of its hundreds of ops is to blame. check_graph tests every node on its
own: it re-runs the node's op on float64 copies of the very inputs it saw, and runs
gradcheck on that one op. An op whose backward is wrong fails wherever it sits in the
graph, and nothing else does; the report names it, the line of your code that made it
(when the graph was built inside `tg.viz.trace()` or `tg.detect_anomaly()`), the worst
elements and what the mismatch looks like (twice, the sign, transposed, ...).

The op is re-run as `type(node).apply(*inputs, **node.options)`: every node keeps the
tensors it was applied to (`node.inputs`) and its keyword settings (`node.options`:
axis, shape, index, ...), so nothing about an op needs to be known here.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import numpy as np

from . import engine
from .grad_mode import enable_grad
from .gradcheck import METHODS, GradcheckError, GradcheckReport, gradcheck
from .tensor import Tensor

LOCATION_TIP = ("build the graph inside tg.viz.trace() or tg.detect_anomaly() to see where "
                "each op was made")


@dataclass
class NodeCheck:
    """One node's result: status "ok", "FAILED" or "skipped" (with the reason)."""

    index: int  # position in topological order: 0 is the op that made the output
    name: str  # the op's class name
    status: str
    reason: str | None = None  # why it was skipped, or the error that failed it
    report: GradcheckReport | None = None  # gradcheck of the op on its own inputs
    created_at: str | None = None  # "file:line  code", when it was recorded

    @property
    def passed(self) -> bool:
        return self.status != "FAILED"


@dataclass
class GraphCheckReport:
    """What `check_graph` found. True (in an `if` or `assert`) when no node failed."""

    method: str
    eps: float
    atol: float
    rtol: float
    nodes: list = field(default_factory=list)  # a NodeCheck per node, in topological order

    @property
    def passed(self) -> bool:
        return all(node.passed for node in self.nodes)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def first_failure(self) -> NodeCheck | None:
        """The failing node nearest the output: the first one backward runs."""
        return next((node for node in self.nodes if not node.passed), None)

    @property
    def failed(self) -> list:
        return [node for node in self.nodes if not node.passed]

    @property
    def skipped(self) -> list:
        return [node for node in self.nodes if node.status == "skipped"]

    def __str__(self) -> str:
        settings = (f"(method={self.method}, eps={self.eps:g}, atol={self.atol:g}, "
                    f"rtol={self.rtol:g})")
        if self.passed:
            head = f"check_graph passed: {len(self.nodes)} ops checked"
        else:
            head = (f"check_graph FAILED: {len(self.failed)} of {len(self.nodes)} ops disagree "
                    "with finite differences")
        lines = [f"{head}, {len(self.skipped)} skipped", f"  {settings}"]
        for node in self.nodes:
            status = node.status + (f": {node.reason}" if node.status == "skipped" else "")
            lines.append(f"  #{node.index} {node.name}: {status}")
        first = self.first_failure
        if first is not None:
            lines += _failure_lines(first)
        return "\n".join(lines)

    __repr__ = __str__


def _failure_lines(node: NodeCheck) -> list[str]:
    """The first failing node in detail: where it was made, its inputs, the hints."""
    lines = [f"first failing op: #{node.index} {node.name}"]
    if node.created_at:
        lines.append(f"  created at {node.created_at}")
    else:
        lines.append(f"  created at: not recorded ({LOCATION_TIP})")
    if node.reason:
        lines.append(f"  {node.reason}")
    report = node.report
    if report is not None:
        if report.error:
            lines.append(f"  error while computing gradients: {report.error}")
            lines += [textwrap.fill(f"hint: {hint}", 88, initial_indent="  ",
                                    subsequent_indent="        ") for hint in report.hints]
        for item in report.inputs:
            lines += report.input_lines(item)
    return lines


def _float64_inputs(node) -> list:
    """Fresh float64 leaf copies of the inputs that need a gradient; the rest as they are."""
    args = []
    for x, needs in zip(node.inputs, node.needs_input_grad):
        if needs:
            leaf = Tensor(np.array(x.data, dtype=np.float64), requires_grad=True)
            leaf.name = getattr(x, "name", None)
            args.append(leaf)
        else:
            args.append(x)  # constants (index arrays, frozen tensors) pass through
    return args


def _options(node) -> dict:
    options = dict(node._options or {})  # the keyword settings it was applied with
    dtype = options.get("dtype")
    if dtype is not None and np.dtype(dtype).kind == "f":
        options["dtype"] = np.float64  # a cast: checked in float64 like everything else
    return options


def _check_node(node, index: int, method: str, eps: float, atol: float, rtol: float,
                max_entries: int) -> NodeCheck:
    """gradcheck of one node's op on float64 copies of its own inputs."""
    op, options = type(node), _options(node)
    result = NodeCheck(index, node.name, "ok", created_at=node.created_at)

    def run(*xs):
        return op.apply(*xs, **options)

    # Two runs on fresh copies: an op that cannot run again, or that gives another
    # result each time (a random mask), cannot be checked by finite differences.
    try:
        first, second = run(*_float64_inputs(node)), run(*_float64_inputs(node))
    except Exception as error:  # any error at all: report it, never crash the check
        result.status, result.reason = "skipped", (
            f"re-running its forward on float64 copies raised {type(error).__name__}: {error}")
        return result
    if not isinstance(first, Tensor) or first.data.dtype.kind != "f":
        result.status, result.reason = "skipped", "its output is not a floating-point Tensor"
        return result
    if not (first.shape == second.shape
            and np.array_equal(first.data, second.data, equal_nan=True)):
        result.status, result.reason = "skipped", ("its forward gives a different result on "
                                                   "each run (random?)")
        return result
    in_size = sum(np.size(x.data) for x, needs in zip(node.inputs, node.needs_input_grad)
                  if needs)
    if first.data.size * in_size > max_entries:
        result.status, result.reason = "skipped", (
            f"too large: its Jacobian has {first.data.size} x {in_size} entries (more than "
            f"max_entries={max_entries})")
        return result
    try:
        result.report = gradcheck(run, _float64_inputs(node), eps=eps, atol=atol, rtol=rtol,
                                  method=method, verbose=False)
    except Exception as error:  # e.g. an AttributeError inside its backward
        result.status = "FAILED"
        result.reason = f"its backward raised {type(error).__name__}: {error}"
        return result
    if not result.report:
        result.status = "FAILED"
    return result


def check_graph(output, method: str = "central", eps: float = 1e-6, atol: float = 1e-5,
                rtol: float = 1e-3, max_entries: int = 1_000_000,
                raise_exception: bool = False) -> GraphCheckReport:
    """Check the backward of every node of the graph behind `output`, each on its own.

    For each node, in the order backward runs them, its op is re-run on float64 copies of
    the inputs it was applied to, and gradcheck compares its backward with finite
    differences. Works before backward and after `backward(retain_graph=True)`.

    Args:
        output: a Tensor with a `grad_fn` (the loss, or any result).
        method, eps, atol, rtol: as for `gradcheck`.
        max_entries: nodes whose Jacobian (output elements x input elements) is larger
            are skipped, with the reason: the check costs one backward per output element
            and two forwards per input element.
        raise_exception: raise `GradcheckError` with the report when a node fails.

    Returns:
        A `GraphCheckReport`: truthy when no node failed; printing it lists every node
        (`#index Op: ok | FAILED | skipped: reason`) and, for the first failing one, where
        it was created, the worst elements and hints.
    """
    if method not in METHODS:
        raise ValueError(f"check_graph: method must be one of {METHODS}, got {method!r}")
    if not isinstance(output, Tensor):
        raise TypeError(f"check_graph: expected a Tensor, got {type(output).__name__}")
    if output.grad_fn is None:
        raise ValueError("check_graph: this tensor has no grad_fn, so there is no graph to "
                         "check: compute it from tensors with requires_grad=True, outside "
                         "tg.no_grad()")
    nodes = engine.topological_order(output.grad_fn)
    freed = [node.name for node in nodes if node.freed]
    if freed:
        raise RuntimeError(
            f"check_graph: the graph was freed by backward() (the first freed op: {freed[0]}): "
            "call check_graph before backward, or call .backward(retain_graph=True) so that "
            "the graph is kept")
    report = GraphCheckReport(method, eps, atol, rtol)
    # the re-runs are not part of the user's graph: nothing (viz.trace, nn) observes them
    with engine.unobserved(), enable_grad():
        for index, node in enumerate(nodes):
            report.nodes.append(_check_node(node, index, method, eps, atol, rtol, max_entries))
    if raise_exception and not report:
        raise GradcheckError(str(report))
    return report

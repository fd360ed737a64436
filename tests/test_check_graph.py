"""check_graph: every node of a recorded graph checked on its own inputs.

A correct graph must pass node by node; one op with a wrong backward, hidden anywhere
among correct ones, must be the one named, with where it was made and what its mistake
looks like. Ops that cannot be re-run are skipped with a reason, never a crash.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.check import LOCATION_TIP, GraphCheckReport, check_graph
from tinygrad_edu.gradcheck import GradcheckError

RNG = np.random.default_rng(11)


def leaf(*shape, low=-1.0, high=1.0):
    return tg.Tensor(RNG.uniform(low, high, shape), requires_grad=True)


def here() -> int:
    """The line number of the caller's next line."""
    return inspect.currentframe().f_back.f_lineno + 1


class Square(tg.Function):
    """y = x^2; the wrong version returns twice the derivative."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data ** 2

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 2x
        (x,) = ctx.saved_tensors
        return grad_output * 2 * x


class SquareTwice(Square):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 4 * x  # wrong: 2 * 2x


class MatMulTransposed(tg.Function):
    """z = x @ y with x's gradient transposed (square x, so the shape is right)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x.data @ y.data

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return (grad_output @ y.T).T, x.T @ grad_output  # wrong: x's gradient transposed


class AddUnreduced(tg.Function):
    """z = x + b, b broadcast over rows; the wrong backward does not sum b's gradient."""

    @staticmethod
    def forward(ctx, x, b):
        return x.data + b.data

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output  # wrong: b's gradient keeps x's shape


# ---------------------------------------------------------------------------------------
# correct graphs pass, node by node
# ---------------------------------------------------------------------------------------


def mlp_loss():
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(3, 5), tg.nn.ReLU(), tg.nn.Linear(5, 4),
                             tg.nn.Tanh(), tg.nn.Linear(4, 2))
    x = tg.Tensor(RNG.standard_normal((6, 3)).astype(np.float32))
    return F.mse_loss(model(x), tg.Tensor(RNG.standard_normal((6, 2)).astype(np.float32)))


def neuron():
    x1, x2 = tg.Tensor(2.0, requires_grad=True), tg.Tensor(0.0, requires_grad=True)
    w1, w2 = tg.Tensor(-3.0, requires_grad=True), tg.Tensor(1.0, requires_grad=True)
    b = tg.Tensor(6.8813735870195432, requires_grad=True)
    return (x1 * w1 + x2 * w2 + b).tanh()


GRAPHS = {
    "mlp": mlp_loss,
    "neuron": neuron,
    "sum over an axis": lambda: (leaf(3, 4).exp().sum(axis=1) * leaf(3)).sum(),
    "reshape and getitem": lambda: leaf(2, 6).reshape(3, 4)[1:, ::2].sin().sum(),
    "fancy index": lambda: (leaf(4, 3)[np.array([0, 2, 2])] ** 2).sum(),
    "matmul": lambda: (leaf(3, 4) @ leaf(4, 2)).tanh().mean(),
    "log_softmax": lambda: (leaf(3, 5).log_softmax(axis=1) * leaf(3, 5)).sum(),
    "cross_entropy": lambda: F.cross_entropy(leaf(4, 3) @ leaf(3, 3), np.array([0, 2, 1, 2])),
    "broadcast": lambda: ((leaf(3, 4) + leaf(4)) * leaf(3, 1) / leaf(1, 4, low=1, high=2)).sum(),
    "custom function": lambda: Square.apply(leaf(2, 3)).sum(),
}


@pytest.mark.parametrize("name", GRAPHS)
def test_correct_graphs_pass(name):
    out = GRAPHS[name]()
    report = check_graph(out)
    assert report, str(report)
    assert isinstance(report, GraphCheckReport) and report.first_failure is None
    assert len(report.nodes) == len(tg.autograd.topological_order(out.grad_fn))
    assert [node.index for node in report.nodes] == list(range(len(report.nodes)))
    assert all(node.status == "ok" for node in report.nodes), str(report)
    assert all(node.report and node.report.inputs for node in report.nodes)


def test_mlp_nodes_are_its_ops_in_backward_order():
    report = check_graph(mlp_loss())
    names = [node.name for node in report.nodes]
    assert names[-1] == "Linear" and names.count("Linear") == 3
    assert "Relu" in names and "Tanh" in names


def test_works_after_backward_with_retain_graph():
    out = GRAPHS["matmul"]()
    out.backward(retain_graph=True)
    assert check_graph(out)
    assert check_graph(out)  # and again: checking frees nothing


def test_freed_graph_raises_naming_retain_graph():
    out = GRAPHS["matmul"]()
    out.backward()
    with pytest.raises(RuntimeError, match=r"freed by backward\(\).*retain_graph=True"):
        check_graph(out)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="no grad_fn"):
        check_graph(tg.Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="expected a Tensor"):
        check_graph(np.ones(3))
    with pytest.raises(ValueError, match="method"):
        check_graph(GRAPHS["matmul"](), method="forward")


# ---------------------------------------------------------------------------------------
# a wrong op is found, wherever it is
# ---------------------------------------------------------------------------------------


def chain_of_fifty(x, wrong_at: int, line: list):
    """50 ops of many kinds; op number `wrong_at` is SquareTwice, the rest are right."""
    w = tg.Tensor(RNG.uniform(-0.5, 0.5, (4, 4)), requires_grad=True)
    b = tg.Tensor(RNG.uniform(-0.5, 0.5, (4,)), requires_grad=True)
    steps = [
        lambda t: t * 0.9, lambda t: t.tanh(), lambda t: t @ w, lambda t: t + b,
        lambda t: t.sigmoid(), lambda t: t - 0.3, lambda t: t.reshape(4, 3).reshape(3, 4),
        lambda t: t.sin(), lambda t: t.exp(), lambda t: t / 2.0,
    ]
    ops = 0
    while ops < 50:
        if ops == wrong_at:
            line.append(here())
            x = SquareTwice.apply(x)
            ops += 1
            continue
        x = steps[ops % len(steps)](x)
        ops += 1 + (ops % len(steps) == 6)  # the reshape step is two ops
    return x.sum()


@pytest.mark.parametrize("wrong_at", [0, 25, 49])
def test_a_wrong_op_among_fifty_is_named_with_its_line(wrong_at):
    x = leaf(3, 4, low=0.2, high=0.8)
    line = []
    with tg.viz.trace():
        out = chain_of_fifty(x, wrong_at, line)
    nodes = tg.autograd.topological_order(out.grad_fn)
    assert len(nodes) >= 50
    report = check_graph(out)
    assert not report
    assert [node.name for node in report.failed] == ["SquareTwice"]
    first = report.first_failure
    assert first.name == "SquareTwice"
    assert nodes[first.index].name == "SquareTwice"
    assert first.created_at.startswith(f"{__file__}:{line[0]}")
    assert "x = SquareTwice.apply(x)" in first.created_at
    (item,) = first.report.inputs
    assert "2x the numeric one" in item.hints[0]
    text = str(report)
    assert f"first failing op: #{first.index} SquareTwice" in text
    assert f"  created at {first.created_at}" in text
    assert " ".join(f"hint: {item.hints[0]}".split()) in " ".join(text.split())
    assert f"  #{first.index} SquareTwice: FAILED" in text.splitlines()


def test_location_comes_from_detect_anomaly_too():
    x = leaf(2, 3)
    with tg.detect_anomaly():
        line = here()
        out = SquareTwice.apply(x).sum()
    first = check_graph(out).first_failure
    assert first.created_at.startswith(f"{__file__}:{line}")


def test_without_a_location_the_report_says_how_to_get_one():
    out = (SquareTwice.apply(leaf(2, 3)) * 3).sum()
    report = check_graph(out)
    assert report.first_failure.created_at is None
    assert f"  created at: not recorded ({LOCATION_TIP})" in str(report).splitlines()
    assert LOCATION_TIP == ("build the graph inside tg.viz.trace() or tg.detect_anomaly() to "
                            "see where each op was made")


def test_the_first_failure_is_the_one_backward_reaches_first():
    x = leaf(2, 3)
    out = SquareTwice.apply(SquareTwice.apply(x).sin()).sum()
    report = check_graph(out)
    assert [node.name for node in report.nodes] == ["Sum", "SquareTwice", "Sin", "SquareTwice"]
    assert [node.index for node in report.failed] == [1, 3]
    assert report.first_failure.index == 1


def test_a_transposed_gradient_in_a_graph_gets_its_hint():
    a, b = leaf(3, 3), leaf(3, 3)
    out = MatMulTransposed.apply(a.tanh(), b).sum()
    first = check_graph(out).first_failure
    assert first.name == "MatMulTransposed"
    assert [item.passed for item in first.report.inputs] == [False, True]
    assert first.report.inputs[0].hints == [
        "the analytic gradient is the numeric one transposed: did you forget to transpose "
        "(use x.T / swap the matmul operands)?"]


def test_an_unsummed_broadcast_in_a_graph_gets_its_hint():
    out = AddUnreduced.apply(leaf(2, 3), leaf(3)).exp().sum()
    report = check_graph(out)
    first = report.first_failure
    assert first.name == "AddUnreduced" and first.report.error
    assert "ops.unbroadcast" in first.report.hints[0]
    assert " ".join(f"hint: {first.report.hints[0]}".split()) in " ".join(str(report).split())


def test_raise_exception():
    out = SquareTwice.apply(leaf(2, 2)).sum()
    with pytest.raises(GradcheckError, match="first failing op: #1 SquareTwice"):
        check_graph(out, raise_exception=True)


# ---------------------------------------------------------------------------------------
# ops that cannot be re-run are skipped, never a crash
# ---------------------------------------------------------------------------------------


class NoisyScale(tg.Function):
    """y = x * r with a fresh random r on every call: no finite difference can see it."""

    @staticmethod
    def forward(ctx, x):
        ctx.r = np.random.default_rng().uniform(1, 2, x.shape)
        return x.data * ctx.r

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.r


class Float32Only(tg.Function):
    """y = 2x, refusing anything but float32 (so a float64 re-run raises)."""

    @staticmethod
    def forward(ctx, x):
        if x.dtype != np.float32:
            raise TypeError("Float32Only wants float32")
        return x.data * 2

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * 2


class BackwardCrashes(Square):
    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.no_such_method()


def test_ops_that_cannot_be_rerun_are_skipped_with_a_reason():
    x = tg.Tensor(RNG.uniform(-1, 1, (2, 3)).astype(np.float32), requires_grad=True)
    out = (NoisyScale.apply(x) + Float32Only.apply(x)).sum()
    report = check_graph(out)
    assert report, str(report)  # skipped is not failed
    by_name = {node.name: node for node in report.nodes}
    assert by_name["NoisyScale"].status == "skipped"
    assert "different result on each run" in by_name["NoisyScale"].reason
    assert by_name["Float32Only"].status == "skipped"
    assert "raised TypeError: Float32Only wants float32" in by_name["Float32Only"].reason
    assert by_name["Add"].status == by_name["Sum"].status == "ok"
    text = str(report)
    assert text.splitlines()[0].startswith("check_graph passed: 4 ops checked, 2 skipped")
    assert any(line.startswith("  #") and "NoisyScale: skipped: its forward gives a different"
               in line for line in text.splitlines())


def test_a_backward_that_raises_fails_the_node():
    out = BackwardCrashes.apply(leaf(2, 3)).sum()
    report = check_graph(out)
    first = report.first_failure
    assert first.name == "BackwardCrashes"
    assert "its backward raised AttributeError" in first.reason
    assert first.reason in str(report)


def test_too_large_nodes_are_skipped():
    out = (leaf(20, 30) * 2).sum()
    report = check_graph(out, max_entries=1000)  # Sum: 1 x 600, Mul: 600 x 600
    assert report and [node.status for node in report.nodes] == ["ok", "skipped"]
    assert "600 x 600 entries" in report.nodes[1].reason


def test_report_text_format():
    x = leaf(2, 3)
    out = SquareTwice.apply(x.exp()).sum()
    lines = str(check_graph(out)).splitlines()
    assert lines[:2] == ["check_graph FAILED: 1 of 3 ops disagree with finite differences, "
                         "0 skipped", "  (method=central, eps=1e-06, atol=1e-05, rtol=0.001)"]
    assert lines[2:5] == ["  #0 Sum: ok", "  #1 SquareTwice: FAILED", "  #2 Exp: ok"]
    assert lines[5] == "first failing op: #1 SquareTwice"
    assert lines[7].startswith("  input 0 (2, 3): analytic and numeric differ in "
                               "6 of 36 Jacobian entries; the worst:")
    assert any(line.startswith("    hint: the analytic gradient is 2x the numeric one")
               for line in lines)
    assert max(len(line) for line in lines  # (reads at a page's width; a path may not)
               if not line.startswith("  created at")) <= 88
    passed = str(check_graph(Square.apply(x).sum(), method="np.gradient")).splitlines()
    assert passed == ["check_graph passed: 2 ops checked, 0 skipped",
                      "  (method=np.gradient, eps=1e-06, atol=1e-05, rtol=0.001)",
                      "  #0 Sum: ok", "  #1 Square: ok"]


def test_check_graph_leaves_the_graph_and_grads_alone():
    x = leaf(2, 3)
    out = (x.exp() * x).sum()
    check_graph(out)
    assert x.grad is None
    out.backward()
    np.testing.assert_allclose(x.grad.data, np.exp(x.data) * (1 + x.data))

"""The engine's semantics: accumulation, graph freeing, higher derivatives, hooks, grad
mode, anomaly mode, custom Functions and the errors that teach.

Every expected gradient comes from a closed form written next to the test (d/dx x^2 =
2x, d^2/dx^2 sin x = -sin x, ...). Values are float64 unless the test is about dtypes,
so that the tolerances can be tight.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg

ROOT = Path(__file__).resolve().parent.parent


def leaf(values, dtype=np.float64) -> tg.Tensor:
    """A leaf that requires grad, float64 by default so that closed forms match tightly."""
    return tg.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def close(tensor, expected, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(tensor.data, expected, rtol=rtol, atol=atol)


X = np.array([-1.5, 0.25, 2.0])


# ---------------------------------------------------------------------------------------
# gradient accumulation
# ---------------------------------------------------------------------------------------


def test_two_backward_calls_add_up_in_grad():
    x = leaf(X)
    (x * x).sum().backward()  # d/dx sum(x^2) = 2x
    close(x.grad, 2 * X)
    (x * 3).sum().backward()  # d/dx sum(3x) = 3, added to what is there
    close(x.grad, 2 * X + 3)


def test_a_tensor_used_by_two_ops_gets_the_sum_of_both_paths():
    x = leaf(X)
    y = x * x + x * 3  # dy/dx = 2x + 3
    y.sum().backward()
    close(x.grad, 2 * X + 3)


def test_diamond_where_both_branches_depend_on_x():
    x = leaf(X)
    a = x.sin()
    b = x.exp()
    z = a * b  # dz/dx = cos(x) e^x + sin(x) e^x
    z.sum().backward()
    close(x.grad, np.cos(X) * np.exp(X) + np.sin(X) * np.exp(X))


@pytest.mark.parametrize("order", ["y + y*3", "y*3 + y"])
def test_a_node_reached_by_a_short_and_a_long_path_waits_for_both(order):
    # y feeds the root directly and through y*3: y's backward must wait for both,
    # whichever argument order the root was built with
    x = tg.Tensor(1.0, requires_grad=True, dtype=np.float64)
    y = x * 2
    z = y + y * 3 if order == "y + y*3" else y * 3 + y
    z.backward()
    assert x.grad.item() == 8.0  # dz/dx = (1 + 3) * 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10**6), st.integers(0, 10**6)),
                min_size=1, max_size=25))
def test_random_graphs_get_gradients_that_match_finite_differences(program):
    """Random DAGs: each step combines two earlier values, so nodes are shared, reached
    by paths of different lengths, and used in both argument orders."""

    def f(x):
        values = [x, x.sin()]
        for kind, i, j in program:
            a, b = values[i % len(values)], values[j % len(values)]
            values.append(a * b * 0.5 if kind == 0 else (a + b) * 0.7 if kind == 1 else
                          (a - b).tanh())
        return values[-1].sum() + values[len(values) // 2].sum()

    x = tg.Tensor(np.array([0.3, -0.4]), requires_grad=True)
    assert tg.gradcheck(f, [x], verbose=False)


def test_diamond_through_a_shared_intermediate():
    x = leaf(X)
    h = x * x            # h = x^2, used by both branches
    a = h * 3
    b = h.exp()
    z = (a * b).sum()    # z = 3h e^h, dz/dh = 3 e^h (1 + h), dh/dx = 2x
    z.backward()
    h_value = X * X
    close(x.grad, 3 * np.exp(h_value) * (1 + h_value) * 2 * X)


def test_a_shared_node_runs_its_backward_once_with_the_total_gradient():
    seen = []

    class Square(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.data ** 2

        @staticmethod
        def backward(ctx, grad_output):
            seen.append(grad_output.data.copy())
            (x,) = ctx.saved_tensors
            return grad_output * 2 * x

    x = leaf(X)
    h = Square.apply(x)
    (h * 2 + h * 5).sum().backward()  # d/dh = 7, d/dx = 7 * 2x
    assert len(seen) == 1, "the walk must add up both uses of h before going through it"
    np.testing.assert_array_equal(seen[0], np.full(3, 7.0))
    close(x.grad, 14 * X)


@pytest.mark.parametrize("op, expected", [
    (lambda x: x * x, lambda v: 2 * v),           # d/dx x^2 = 2x
    (lambda x: x + x, lambda v: np.full_like(v, 2.0)),
    (lambda x: x - x, lambda v: np.zeros_like(v)),
    (lambda x: x / x, lambda v: np.zeros_like(v)),  # d/dx x/x = 1/x - x/x^2 = 0
    (lambda x: x ** x, lambda v: v ** v * (np.log(v) + 1)),
], ids=["mul", "add", "sub", "div", "pow"])
def test_the_same_tensor_as_both_inputs_of_an_op(op, expected):
    values = np.array([0.5, 1.5, 3.0])
    x = leaf(values)
    op(x).sum().backward()
    close(x.grad, expected(values), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------
# retain_graph
# ---------------------------------------------------------------------------------------


def test_second_backward_without_retain_graph_raises_and_says_how_to_fix_it():
    x = leaf(X)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_second_backward_with_retain_graph_works_and_accumulates():
    x = leaf(X)
    y = (x.exp() * x).sum()  # d/dx x e^x = e^x (1 + x)
    y.backward(retain_graph=True)
    close(x.grad, np.exp(X) * (1 + X))
    y.backward()
    close(x.grad, 2 * np.exp(X) * (1 + X))


def test_saved_tensors_of_a_freed_node_raise_with_a_hint():
    class Keep(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.data.copy()

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    y = Keep.apply(leaf(X))
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.grad_fn.saved_tensors  # noqa: B018 (the access is what raises)


# ---------------------------------------------------------------------------------------
# create_graph: second derivatives
# ---------------------------------------------------------------------------------------


def test_second_derivative_of_cube_by_backward_twice():
    x = leaf(1.5)
    (x ** 3).backward(create_graph=True)
    first = x.grad  # 3x^2 = 6.75, itself part of a graph
    close(first, 3 * 1.5 ** 2)
    assert first.requires_grad and first.grad_fn is not None
    x.grad = None
    first.backward()
    close(x.grad, 6 * 1.5)  # d^2/dx^2 x^3 = 6x


def test_third_derivative_of_cube_with_autograd_grad():
    x = leaf(X)
    d1 = tg.autograd.grad((x ** 3).sum(), x, create_graph=True)   # 3x^2
    d2 = tg.autograd.grad(d1.sum(), x, create_graph=True)         # 6x
    d3 = tg.autograd.grad(d2.sum(), x)                            # 6
    close(d1, 3 * X ** 2)
    close(d2, 6 * X)
    close(d3, np.full(3, 6.0))


@pytest.mark.parametrize("fn, first, second", [
    (lambda x: x.sin(), np.cos, lambda v: -np.sin(v)),
    (lambda x: x.cos(), lambda v: -np.sin(v), lambda v: -np.cos(v)),
    (lambda x: x.tanh(), lambda v: 1 - np.tanh(v) ** 2,
     lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
    (lambda x: x.exp(), np.exp, np.exp),
], ids=["sin", "cos", "tanh", "exp"])
def test_second_derivatives_with_autograd_grad(fn, first, second):
    x = leaf(X)
    d1 = tg.autograd.grad(fn(x).sum(), x, create_graph=True)
    close(d1, first(X))
    d2 = tg.autograd.grad(d1.sum(), x)
    close(d2, second(X))


def test_second_derivative_of_tanh_by_backward_twice():
    x = leaf(0.7)
    x.tanh().backward(create_graph=True)
    first = x.grad
    x.grad = None
    first.backward()
    t = np.tanh(0.7)
    close(x.grad, -2 * t * (1 - t * t))  # d/dx (1 - tanh^2) = -2 tanh (1 - tanh^2)


def test_without_create_graph_the_gradient_is_a_plain_leaf():
    x = leaf(X)
    (x ** 3).sum().backward()
    assert x.grad.grad_fn is None
    assert not x.grad.requires_grad
    g = tg.autograd.grad((x ** 3).sum(), x)
    assert g.grad_fn is None and not g.requires_grad


# ---------------------------------------------------------------------------------------
# tg.autograd.grad
# ---------------------------------------------------------------------------------------


def test_autograd_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = leaf(X)
    w = leaf([2.0, -1.0, 0.5])
    out = (x * w).sum()
    gx, gw = tg.autograd.grad(out, [x, w])
    close(gx, [2.0, -1.0, 0.5])
    close(gw, X)
    assert x.grad is None and w.grad is None


def test_autograd_grad_does_not_add_to_an_existing_grad():
    x = leaf(X)
    (x * 2).sum().backward()
    g = tg.autograd.grad((x * x).sum(), x)
    close(g, 2 * X)
    close(x.grad, np.full(3, 2.0))  # unchanged


def test_autograd_grad_for_a_non_leaf_input():
    x = leaf(X)
    h = x * 3
    out = (h * h).sum()  # d out/dh = 2h, d out/dx = 2h * 3 = 18x
    gh, gx = tg.autograd.grad(out, [h, x])
    close(gh, 6 * X)
    close(gx, 18 * X)
    assert h.grad is None and x.grad is None


def test_autograd_grad_gives_none_for_an_unused_input():
    x = leaf(X)
    unused = leaf([1.0])
    gx, gu = tg.autograd.grad((x * x).sum(), [x, unused])
    close(gx, 2 * X)
    assert gu is None


def test_autograd_grad_with_allow_unused_false_raises():
    x = leaf(X)
    unused = leaf([1.0])
    with pytest.raises(RuntimeError, match="not used"):
        tg.autograd.grad((x * x).sum(), [x, unused], allow_unused=False)


def test_autograd_grad_with_grad_outputs_is_a_vector_jacobian_product():
    x = leaf(X)
    v = np.array([1.0, -2.0, 0.5])
    g = tg.autograd.grad(x * x, x, grad_outputs=v)  # v^T diag(2x)
    close(g, 2 * X * v)


def test_autograd_grad_with_a_single_tensor_returns_a_tensor():
    x = leaf(X)
    g = tg.autograd.grad(x.sum(), x)
    assert isinstance(g, tg.Tensor)
    close(g, np.ones(3))


# ---------------------------------------------------------------------------------------
# hooks and retain_grad
# ---------------------------------------------------------------------------------------


def test_leaf_hook_runs_once_with_the_total_gradient_when_the_leaf_is_used_twice():
    x = leaf(X)
    calls = []
    x.register_hook(lambda g: calls.append(g.data.copy()))
    (x * x + x * 3).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], 2 * X + 3, rtol=1e-12)
    close(x.grad, 2 * X + 3)


def test_leaf_hook_returning_a_replacement_changes_grad():
    x = leaf(X)
    x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    close(x.grad, 20 * X)


def test_non_leaf_hook_sees_the_gradient_of_that_tensor():
    x = leaf(X)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.data.copy()))  # returns None: no change
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], 4 * X, rtol=1e-12)  # d/dh h^2 = 2h = 4x
    close(x.grad, 8 * X)


def test_non_leaf_hook_replacement_changes_the_gradient_downstream():
    x = leaf(X)
    h = x * 2
    h.register_hook(lambda g: g * 10)
    (h * h).sum().backward()  # dL/dh = 2h = 4x, times 10, then dh/dx = 2
    close(x.grad, 80 * X)


def test_removed_hooks_stop_running():
    x = leaf(X)
    h = x * 2
    calls = []
    leaf_handle = x.register_hook(lambda g: calls.append("leaf") or g * 10)
    node_handle = h.register_hook(lambda g: calls.append("node") or g * 10)
    leaf_handle.remove()
    node_handle.remove()
    (h * h).sum().backward()
    assert calls == []
    close(x.grad, 8 * X)
    leaf_handle.remove()  # a second remove is harmless


def test_hooks_run_in_registration_order_each_on_the_previous_result():
    x = leaf(X)
    x.register_hook(lambda g: g + 1)
    x.register_hook(lambda g: g * 2)
    x.sum().backward()
    close(x.grad, np.full(3, 4.0))  # (1 + 1) * 2


@pytest.mark.parametrize("on_leaf", [True, False], ids=["leaf", "non-leaf"])
def test_a_hook_returning_a_wrong_shape_raises(on_leaf):
    x = leaf(X)
    target = x if on_leaf else x * 2
    target.register_hook(lambda g: g.sum())  # shape () instead of (3,)
    with pytest.raises(RuntimeError, match=r"\(3,\)"):
        (target * target).sum().backward()


def test_register_hook_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="require grad"):
        tg.Tensor([1.0]).register_hook(lambda g: g)


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = leaf(X)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    close(h.grad, 4 * X)
    assert h.grad.grad_fn is None
    close(x.grad, 8 * X)


def test_a_non_leaf_has_no_grad_without_retain_grad():
    x = leaf(X)
    h = x * 2
    (h * h).sum().backward()
    assert h.grad is None
    close(x.grad, 8 * X)


def test_retained_grad_accumulates_like_a_leaf():
    x = leaf(X)
    h = x * 2
    h.retain_grad()
    y = (h * h).sum()
    y.backward(retain_graph=True)
    y.backward()
    close(h.grad, 8 * X)


# ---------------------------------------------------------------------------------------
# graph structure: detach, is_leaf, grad_fn
# ---------------------------------------------------------------------------------------


def test_detach_shares_data_and_cuts_the_graph():
    x = leaf(X)
    h = x * 2
    d = h.detach()
    assert d.data is h.data
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    y = (d * x).sum()  # d is a constant here: dy/dx = d = 2x, not 4x
    y.backward()
    close(x.grad, 2 * X)


def test_is_leaf():
    x = leaf(X)
    assert x.is_leaf
    assert tg.Tensor([1.0]).is_leaf
    assert not (x * 2).is_leaf
    with tg.no_grad():
        assert (x * 2).is_leaf


@pytest.mark.parametrize("make, name", [
    (lambda x, w: x * w, "Mul"),
    (lambda x, w: x + w, "Add"),
    (lambda x, w: x.tanh(), "Tanh"),
    (lambda x, w: x.reshape(1, 3) @ w.reshape(3, 1), "MatMul"),
    (lambda x, w: x.sum(), "Sum"),
    (lambda x, w: x.relu(), "Relu"),
])
def test_grad_fn_name(make, name):
    assert make(leaf(X), leaf(X)).grad_fn.name == name


def test_grad_fn_inputs_are_the_very_tensors_and_constants_used():
    x = leaf(X)
    w = leaf(X)
    y = x * w
    assert y.grad_fn.inputs[0] is x
    assert y.grad_fn.inputs[1] is w
    z = y * 2.5
    assert z.grad_fn.inputs[0] is y
    assert z.grad_fn.inputs[1] == 2.5
    assert z.grad_fn.inputs[0].grad_fn is y.grad_fn


def test_no_graph_when_no_input_requires_grad():
    y = tg.Tensor([1.0, 2.0]) * 3
    assert y.grad_fn is None and not y.requires_grad


# ---------------------------------------------------------------------------------------
# grad mode
# ---------------------------------------------------------------------------------------


def test_no_grad_as_a_context_manager():
    x = leaf(X)
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
    assert tg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    close(y, 2 * X)


def test_no_grad_as_a_decorator():
    x = leaf(X)

    @tg.no_grad()
    def step(t):
        assert not tg.is_grad_enabled()
        return t * 2

    y = step(x)
    assert y.grad_fn is None and not y.requires_grad
    assert tg.is_grad_enabled()
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad():
    x = leaf(X)
    with tg.no_grad():
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            y = x * x
        assert not tg.is_grad_enabled()
        z = x * x
    assert y.requires_grad and y.grad_fn.name == "Mul"
    assert z.grad_fn is None
    y.sum().backward()
    close(x.grad, 2 * X)


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(KeyError):
        with tg.no_grad():
            raise KeyError("boom")
    assert tg.is_grad_enabled()


def test_one_no_grad_object_can_be_nested():
    mode = tg.no_grad()
    with mode:
        with tg.enable_grad():
            with mode:
                assert not tg.is_grad_enabled()
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_no_grad_in_another_thread_does_not_affect_this_one():
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with tg.no_grad():
            seen["enabled"] = tg.is_grad_enabled()
            seen["records"] = (leaf(X) * 2).requires_grad
            inside.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert inside.wait(timeout=10), "the worker never entered no_grad"
        # the worker is parked inside its no_grad block right now
        assert tg.is_grad_enabled()
        y = leaf(X) * 2
        assert y.requires_grad and y.grad_fn is not None
    finally:
        release.set()
        thread.join(timeout=10)
    assert seen == {"enabled": False, "records": False}


def test_a_new_thread_starts_with_grad_enabled():
    seen = {}

    def worker():
        seen["enabled"] = tg.is_grad_enabled()
        seen["records"] = (leaf(X) * 2).requires_grad

    with tg.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=10)
        assert not tg.is_grad_enabled()
    assert seen == {"enabled": True, "records": True}


def test_no_grad_decorator_used_by_two_threads_restores_each_threads_own_mode():
    a_inside, a_release, b_inside, b_release = (threading.Event() for _ in range(4))
    seen = {}

    @tg.no_grad()
    def park(inside, release):
        inside.set()
        release.wait(timeout=10)

    def thread_a():  # grad enabled before the call, so enabled after it
        park(a_inside, a_release)
        seen["a"] = tg.is_grad_enabled()

    def thread_b():  # calls the same decorated function from inside no_grad
        with tg.no_grad():
            park(b_inside, b_release)
            seen["b"] = tg.is_grad_enabled()

    a = threading.Thread(target=thread_a)
    b = threading.Thread(target=thread_b)
    a.start()
    assert a_inside.wait(timeout=10)
    b.start()
    assert b_inside.wait(timeout=10)
    a_release.set()   # a leaves park while b is still inside it
    a.join(timeout=10)
    b_release.set()
    b.join(timeout=10)
    assert seen == {"a": True, "b": False}


# ---------------------------------------------------------------------------------------
# a deep graph
# ---------------------------------------------------------------------------------------


def test_a_200000_node_chain_backward_without_recursion():
    # y = x + x + ... + x (200,000 additions): dy/dx = 200,001, exact in float32.
    # A recursive graph walk would hit RecursionError long before this depth.
    x = tg.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(200_000):
        y = y + x
    y.backward()
    assert x.grad.item() == 200_001.0
    assert x.grad.dtype == np.float32


# ---------------------------------------------------------------------------------------
# errors that teach
# ---------------------------------------------------------------------------------------


def test_backward_on_a_non_scalar_needs_a_gradient_and_names_the_shape():
    y = leaf(np.ones((2, 3))) * 2
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        y.backward()


def test_backward_with_an_explicit_gradient_is_a_vector_jacobian_product():
    x = leaf(X)
    v = np.array([1.0, 2.0, -1.0])
    (x * x).backward(gradient=v)
    close(x.grad, 2 * X * v)


def test_backward_on_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.Tensor([1.0, 2.0]).sum().backward()


def test_backward_with_a_gradient_of_the_wrong_shape_raises():
    y = leaf(X) * 2
    with pytest.raises(RuntimeError, match=r"\(2,\).*\(3,\)"):
        y.backward(gradient=np.ones(2))


class _WrongShape(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x.data * 2

    @staticmethod
    def backward(ctx, grad_output):
        return tg.Tensor(np.ones(4))  # the input has shape (3,)


class _TooFewGradients(tg.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x.data * y.data

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output  # one gradient for two inputs


class _TooManyGradients(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x.data.copy()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output, grad_output


def test_a_backward_returning_a_wrong_shape_raises_naming_op_and_shapes():
    y = _WrongShape.apply(leaf(X))
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    message = str(info.value)
    assert "_WrongShape" in message
    assert "(4,)" in message and "(3,)" in message


def test_a_backward_returning_too_few_gradients_raises():
    y = _TooFewGradients.apply(leaf(X), leaf(X))
    with pytest.raises(RuntimeError, match=r"_TooFewGradients.*1 gradient.*2 input"):
        y.sum().backward()


def test_a_backward_returning_too_many_gradients_raises():
    y = _TooManyGradients.apply(leaf(X))
    with pytest.raises(RuntimeError, match=r"_TooManyGradients.*3 gradient.*1 input"):
        y.sum().backward()


# ---------------------------------------------------------------------------------------
# detect_anomaly
# ---------------------------------------------------------------------------------------


def test_detect_anomaly_names_the_op_the_input_and_the_users_line():
    with np.errstate(invalid="ignore"), tg.detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            line = inspect.currentframe().f_lineno + 1
            tg.Tensor([-1.0, 1.0], requires_grad=True).log()
    message = str(info.value)
    assert "Log" in message
    assert "shape (2,)" in message
    assert "min -1" in message and "max 1" in message
    assert f"{os.path.basename(__file__)}:{line}" in message


def test_detect_anomaly_says_when_the_input_was_already_bad():
    with np.errstate(invalid="ignore"), tg.detect_anomaly():
        with pytest.raises(FloatingPointError, match="already"):
            tg.Tensor([np.nan, 1.0], requires_grad=True).exp()


def test_detect_anomaly_catches_a_nan_from_a_backward():
    class BadBackward(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2

        @staticmethod
        def backward(ctx, grad_output):
            return tg.Tensor(np.array([np.inf, 0.0, 0.0]))

    x = leaf(X)
    with tg.detect_anomaly():
        y = BadBackward.apply(x).sum()
        with pytest.raises(FloatingPointError, match="BadBackward") as info:
            y.backward()
    assert "test_engine.py" in str(info.value)  # where BadBackward was applied


def test_detect_anomaly_names_sqrt_when_its_backward_makes_an_inf():
    x = leaf([0.0, 4.0])
    with np.errstate(divide="ignore"), tg.detect_anomaly():
        y = x.sqrt().sum()  # forward: sqrt(0) = 0 is finite
        with pytest.raises(FloatingPointError, match="Sqrt"):
            y.backward()    # backward: 1 / (2 sqrt(0)) = inf


def test_without_detect_anomaly_nan_and_inf_pass_silently():
    with np.errstate(invalid="ignore", divide="ignore"):
        y = tg.Tensor([-1.0, 1.0], requires_grad=True).log()
        assert np.isnan(y.data[0])
        x = leaf([0.0, 4.0])
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.data[0])
    close(x.grad[1], 0.25)


def test_detect_anomaly_as_a_decorator_and_switched_off_afterwards():
    @tg.detect_anomaly()
    def bad():
        return tg.Tensor([-1.0]).log()

    with np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError, match="Log"):
            bad()
        tg.Tensor([-1.0]).log()  # anomaly mode ended with the function: no raise


def test_detect_anomaly_decorator_is_reentrant():
    # In a subprocess: when the bug is present, anomaly mode would stay on in this one.
    code = (
        "import numpy as np, tinygrad_edu as tg\n"
        "@tg.detect_anomaly()\n"
        "def f(n):\n"
        "    if n:\n"
        "        f(n - 1)\n"
        "f(1)\n"
        "with np.errstate(invalid='ignore'):\n"
        "    tg.Tensor([-1.0]).log()\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------
# custom Functions
# ---------------------------------------------------------------------------------------


class Cube(tg.Function):
    """y = x^3"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data ** 3

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 3x^2
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x * x


def test_custom_function_with_saved_tensors():
    x = leaf(X)
    y = Cube.apply(x)
    assert y.grad_fn.name == "Cube"
    assert y.grad_fn.saved_tensors[0] is x
    close(y, X ** 3)
    y.sum().backward()
    close(x.grad, 3 * X ** 2)


def test_custom_function_backward_is_differentiable_again():
    x = leaf(X)
    d1 = tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    close(tg.autograd.grad(d1.sum(), x), 6 * X)


class ScaledProduct(tg.Function):
    """z = x * y * scale, with `scale` a keyword option"""

    needs_seen: list = []

    @staticmethod
    def forward(ctx, x, y, *, scale=1.0):
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        return x.data * y.data * scale

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = y * scale, dz/dy = x * scale
        ScaledProduct.needs_seen.append(ctx.needs_input_grad)
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (grad_output * y * ctx.scale if need_x else None,
                grad_output * x * ctx.scale if need_y else None)


def test_custom_function_needs_input_grad_and_keyword_options():
    ScaledProduct.needs_seen.clear()
    x = leaf(X)
    y = tg.Tensor(np.array([2.0, 3.0, 4.0]))  # a constant: no gradient wanted
    z = ScaledProduct.apply(x, y, scale=0.5)
    close(z, X * [2.0, 3.0, 4.0] * 0.5)
    z.sum().backward()
    assert ScaledProduct.needs_seen == [(True, False)]
    close(x.grad, [1.0, 1.5, 2.0])
    assert y.grad is None


def test_custom_function_with_both_inputs_needing_grad():
    ScaledProduct.needs_seen.clear()
    x, y = leaf(X), leaf([2.0, 3.0, 4.0])
    ScaledProduct.apply(x, y, scale=2.0).sum().backward()
    assert ScaledProduct.needs_seen == [(True, True)]
    close(x.grad, [4.0, 6.0, 8.0])
    close(y.grad, 2 * X)


class AddConstant(tg.Function):
    """z = x + c, with c a Python number or an ndarray"""

    @staticmethod
    def forward(ctx, x, c):
        return x.data + c

    @staticmethod
    def backward(ctx, grad_output):
        # dz/dx = 1; c is a constant and gets no gradient
        assert ctx.needs_input_grad == (True, False)
        return grad_output, None


@pytest.mark.parametrize("constant", [2.5, np.array([1.0, 2.0, 3.0])], ids=["number", "array"])
def test_custom_function_with_a_constant_input(constant):
    x = leaf(X)
    z = AddConstant.apply(x, constant)
    close(z, X + constant)
    (z * z).sum().backward()  # d/dx (x + c)^2 = 2 (x + c)
    close(x.grad, 2 * (X + constant))


class Exp2(tg.Function):
    """y = 2^x"""

    @staticmethod
    def forward(ctx, x):
        return ctx.save_output(np.exp2(x.data))

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = ln(2) 2^x = ln(2) y
        return grad_output * ctx.output * float(np.log(2))


def test_custom_function_with_save_output():
    x = leaf(X)
    y = Exp2.apply(x)
    y.sum().backward()
    close(x.grad, np.log(2) * 2 ** X)


def test_custom_function_save_output_supports_second_derivatives():
    x = leaf(X)
    d1 = tg.autograd.grad(Exp2.apply(x).sum(), x, create_graph=True)
    close(tg.autograd.grad(d1.sum(), x), np.log(2) ** 2 * 2 ** X)


def test_custom_function_using_output_without_saving_it_raises():
    class Forgot(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return np.exp(x.data)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.output

    with pytest.raises(RuntimeError, match="save_output"):
        Forgot.apply(leaf(X)).sum().backward()


def test_custom_function_forward_may_return_a_tensor():
    class Twice(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return tg.Tensor(x.data * 2)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * 2

    x = leaf(X)
    y = Twice.apply(x)
    assert isinstance(y.data, np.ndarray) and y.grad_fn.name == "Twice"
    y.sum().backward()
    close(x.grad, np.full(3, 2.0))


def test_custom_function_records_nothing_under_no_grad():
    with tg.no_grad():
        y = Cube.apply(leaf(X))
    assert y.grad_fn is None and not y.requires_grad


def test_custom_function_sees_needs_input_grad_in_forward():
    seen = []

    class Peek(tg.Function):
        @staticmethod
        def forward(ctx, x, y):
            seen.append(tuple(ctx.needs_input_grad))
            return x.data * y.data

        @staticmethod
        def backward(ctx, grad_output):
            return None, None

    Peek.apply(leaf(X), tg.Tensor(X))
    assert seen == [(True, False)]


# ---------------------------------------------------------------------------------------
# gradient dtype
# ---------------------------------------------------------------------------------------


def test_float32_leaf_gets_a_float32_grad_even_with_a_float64_array():
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    weights = np.array([0.5, -1.0, 2.0])  # float64
    y = (x * weights).sum()
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, weights, rtol=1e-7)


def test_a_python_scalar_keeps_float32_and_its_gradient_float32():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.5
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [2.5, 2.5])


def test_grad_has_the_shape_and_dtype_of_a_broadcast_leaf():
    b = tg.Tensor([[1.0], [2.0]], requires_grad=True)        # (2, 1), float32
    m = tg.Tensor(np.ones((2, 3)), requires_grad=True)        # (2, 3), float64
    (m * b).sum().backward()
    assert b.grad.shape == (2, 1) and b.grad.dtype == np.float32
    np.testing.assert_array_equal(b.grad.data, [[3.0], [3.0]])
    assert m.grad.dtype == np.float64


def test_a_0d_leaf_used_twice_gets_an_ndarray_gradient():
    # NumPy adds two 0-d arrays into a scalar; .grad.data must still be an ndarray
    x = tg.Tensor(2.0, requires_grad=True)
    (x * x).backward()
    assert type(x.grad.data) is np.ndarray and x.grad.shape == ()
    assert x.grad.item() == 4.0
    for activation in (tg.Tensor.tanh, tg.Tensor.sigmoid):  # backward on arrays: the same
        x = tg.Tensor(0.5, requires_grad=True, dtype=np.float64)
        activation(x).backward()
        assert type(x.grad.data) is np.ndarray and x.grad.shape == ()
        assert type(tg.autograd.grad(activation(x), x).data) is np.ndarray


# ---------------------------------------------------------------------------------------
# gathering gradients: sums in place, and slices added at their index
# ---------------------------------------------------------------------------------------
# Without create_graph, backward adds a GetItem's gradient straight into its input's
# running sum, and adds later gradients in place into sums it made itself. With
# create_graph it records IndexAdd and Add ops instead: the two paths must agree.


def _both_ways(f, *arrays):
    """Gradients of f by plain backward and by backward(create_graph=True)."""
    results = []
    for create_graph in (False, True):
        leaves = [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]
        f(*leaves).backward(create_graph=create_graph)
        results.append([leaf.grad.numpy().copy() for leaf in leaves])
    return results


def test_a_sequence_read_step_by_step_gets_each_steps_gradient():
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((30, 4, 3))
    w = np.arange(1.0, 31.0)
    x = tg.Tensor(x0, requires_grad=True)
    h = x[0] * w[0]
    for t in range(1, 30):
        h = h + x[t] * w[t]
    (h.sum() + (x * x).sum()).backward()          # x is also used whole
    np.testing.assert_allclose(x.grad.numpy(), w[:, None, None] + 2 * x0)


def test_slices_of_an_intermediate_and_repeated_fancy_indices():
    rng = np.random.default_rng(1)

    def f(a):
        y = a.tanh() * 2                           # an intermediate, sliced below
        picked = y[np.array([0, 2, 0, 0])]         # row 0 three times
        return (picked * picked).sum() + y[1:, ::2].sum() + y[-1].sum() * 3 + y.sum()

    plain, recorded = _both_ways(f, rng.standard_normal((3, 5)))
    np.testing.assert_allclose(plain[0], recorded[0], rtol=1e-12)
    a = tg.Tensor(rng.standard_normal((3, 5)), requires_grad=True)
    assert tg.gradcheck(f, [a])


def test_a_sum_passed_on_to_two_inputs_is_not_changed_by_later_gradients():
    # n's gradient is a sum (n is used twice); Add hands that same array to p and q; p
    # then receives more gradient: q's must stay as it was
    def f(x):
        p, q = x * 2.0, x * 3.0
        r = (p * 5.0).sum() + p[0].sum() + q[1:].sum()  # made before n: their backward
        n = p + q                                     # runs after n's has reached p and q
        return (n * n).sum() + n.sum() + r

    x0 = np.random.default_rng(2).standard_normal((3, 2))
    plain, recorded = _both_ways(f, x0)
    expected = 2 * 25 * x0 + 5 + 10 + np.array([[2.0], [3.0], [3.0]])
    np.testing.assert_allclose(plain[0], expected)
    np.testing.assert_allclose(recorded[0], expected)


def test_random_graphs_agree_between_the_plain_and_the_recorded_backward():
    rng = np.random.default_rng(3)
    for trial in range(20):
        ops = rng.integers(0, 5, size=12)

        def f(x, y, ops=ops):
            values = [x, y]
            for k, op in enumerate(ops):
                a, b = values[k % len(values)], values[-1]
                if op == 0:
                    values.append(a + b)
                elif op == 1:
                    values.append(a * b.tanh())
                elif op == 2:
                    values.append((a[1:] * 2).sum(axis=0, keepdims=True) + b)
                elif op == 3:
                    values.append(a[np.array([0, 0, 2])].sum(axis=0) * b)
                else:
                    values.append(a - b[::-1])
            return sum(v.sum() for v in values[2:])

        plain, recorded = _both_ways(f, rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))
        for p, r in zip(plain, recorded):
            np.testing.assert_allclose(p, r, rtol=1e-10, atol=1e-12, err_msg=f"trial {trial}")


def test_retain_graph_backward_twice_through_slices_doubles_the_gradient():
    x = tg.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    y = (x[0] * 2 + x[2]).sum() + x[np.array([1, 1])].sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    np.testing.assert_allclose(first, [[2, 2], [2, 2], [1, 1]])
    with warnings.catch_warnings():  # (the once-only "gradients accumulate" warning)
        warnings.simplefilter("ignore", tg.autograd.LearnerWarning)
        y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_indexing_with_an_array_keeps_its_own_copy_of_the_index():
    x = tg.Tensor(np.arange(4.0), requires_grad=True)
    index = np.array([0, 0, 1])
    y = x[index]
    index[:] = 3                        # the caller reuses its array before backward
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 1, 0, 0])


# ---------------------------------------------------------------------------------------
# the node's own fields, the edges it keeps, versions, and what the floors above add
# ---------------------------------------------------------------------------------------


class SetsOldEngineNames(tg.Function):
    """An op that keeps its own settings under names the engine once used for itself."""

    @staticmethod
    def forward(ctx, x):
        ctx.value = 3.0                 # was the traced output value
        ctx.saved = None                # was "freed"
        ctx.hooks = ["not a hook"]      # were the output's hooks
        ctx.retained = "not a weakref"  # was retain_grad's reference
        ctx.options = {"axis": 9}       # were the keyword options check_graph re-runs with
        ctx.module_call = "not a call"  # was the Module call that made the op
        ctx.save_for_backward(x)
        return x.data * 2

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 2
        (x,) = ctx.saved_tensors
        assert ctx.value == 3.0 and ctx.options == {"axis": 9}  # still the op's own
        return grad_output * 2


def test_an_ops_own_ctx_fields_do_not_change_what_the_engine_does():
    x = leaf(X)
    with tg.viz.trace():
        y = SetsOldEngineNames.apply(x)
    (y * y).sum().backward(retain_graph=True)
    close(x.grad, 8 * X)  # d/dx (2x)^2 = 8x
    np.testing.assert_array_equal(y.grad_fn._value, 2 * X)  # the drawing's value: the output
    assert tg.check_graph((y * y).sum())  # re-run without the op's "options"
    assert "not a call" not in tg.viz.to_dot(y)


def test_ctx_output_is_reserved_and_says_how_to_keep_the_output():
    class KeepsOutput(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.output = x.data * 2
            return x.data * 2

    with pytest.raises(AttributeError, match=r"ctx.output is reserved.*ctx.save_output\(y\)"):
        KeepsOutput.apply(leaf(X))


def test_ctx_create_graph_tells_a_backward_whether_it_is_recorded():
    seen = []

    class Double(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2

        @staticmethod
        def backward(ctx, grad_output):
            seen.append(ctx.create_graph)
            return grad_output * 2

    Double.apply(leaf(X)).sum().backward()
    Double.apply(leaf(X)).sum().backward(create_graph=True)
    tg.autograd.grad(Double.apply(leaf(X)).sum(), leaf(X), allow_unused=True)
    assert seen == [False, True, False]


def test_the_walk_follows_the_edges_taken_when_each_op_was_recorded():
    # an in-place op (next to come) gives a tensor a new grad_fn after other ops used it;
    # those ops must still send their gradient to the node they saw
    x = leaf(X)
    y = x * 2.0
    z = y * 3.0                    # z's node has an edge to y's node (Mul by 2.0)
    assert z.grad_fn.parents == (y.grad_fn, None)
    y.grad_fn = (x * 100.0).grad_fn  # what y "is now made by" no longer matters to z
    z.sum().backward()
    close(x.grad, np.full(3, 6.0))   # through the old node: 2 * 3, not 100 * 3
    assert (x * y).grad_fn.parents[0] is x  # a leaf's edge is the leaf itself


def test_a_leaf_and_a_constant_have_the_edges_they_should():
    x, c = leaf(X), tg.Tensor(X)
    node = (x * c + 1.0).grad_fn
    assert node.parents[1] is None and node.needs_input_grad == (True, False)
    assert node.parents[0].parents == (x, None)


def test_writes_through_the_library_bump_the_version_and_the_node_can_tell():
    w = tg.nn.Parameter(np.array([1.0, 2.0]))
    assert w._version == 0
    y = w * w                      # Mul saves w
    assert y.grad_fn._changed_since_saved() == []
    optimizer = tg.optim.SGD([w], lr=0.1)
    y.sum().backward(retain_graph=True)
    optimizer.step()               # w.data -= 0.1 * w.grad, in place
    assert w._version == 1
    changed = y.grad_fn._changed_since_saved()  # ready for the in-place ops' check
    assert len(changed) == 2 and all(t is w for t in changed)  # Mul saved (w, w)
    assert (w * w).grad_fn._changed_since_saved() == []  # a new op saw the new value


def test_init_load_state_dict_and_module_to_bump_versions():
    layer = tg.nn.Linear(2, 2)
    before = layer.weight._version
    tg.nn.init.zeros_(layer.weight)
    layer.load_state_dict(layer.state_dict())
    layer.double()
    assert layer.weight._version == before + 3


def test_a_slices_gradient_is_a_sparse_gradient_unless_recorded():
    from tinygrad_edu.engine import SparseGrad
    from tinygrad_edu.ops import IndexAdd

    x = leaf(np.arange(6.0).reshape(3, 2))
    for create_graph, kind in ((False, SparseGrad), (True, tg.Tensor)):
        node = x[1].grad_fn
        with (tg.enable_grad() if create_graph else tg.no_grad()):
            g = type(node).backward(node, tg.Tensor(np.ones(2), requires_grad=True))
        assert isinstance(g, kind)
        dense = g.dense() if kind is SparseGrad else g.data
        np.testing.assert_array_equal(dense, [[0, 0], [1, 1], [0, 0]])
        if create_graph:
            assert isinstance(g.grad_fn, IndexAdd)


def test_observers_see_each_recorded_node_and_stop_when_popped():
    seen = []
    x = leaf(X)
    previous = tg.engine.push_observer(lambda node, out: seen.append(node.name))
    try:
        (x * 2).tanh()
        with tg.no_grad():
            x * 3                  # not recorded: not seen
        with tg.engine.unobserved():
            x * 4                  # recorded, but nobody watches
    finally:
        tg.engine.pop_observer(previous)
    x * 5
    assert seen == ["Mul", "Tanh"]

"""The two warnings for mistakes every learner makes once: gradients that accumulate
across backward calls, and reading .grad of a result instead of a leaf."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import autograd, debug


@pytest.fixture(autouse=True)
def fresh_warnings():
    """Each test starts as a new program would: nothing warned yet, warnings on."""
    debug._warned.clear()
    saved = dict(autograd.learner_warnings)
    yield
    debug._warned.clear()
    autograd.learner_warnings.update(saved)


def test_a_second_backward_without_zeroing_warns_once_and_still_accumulates():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    with pytest.warns(autograd.LearnerWarning, match="accumulate") as record:
        (x * x).sum().backward()
    assert "zero_grad" in str(record[0].message)
    assert record[0].filename == __file__  # points at the user's line, not the library
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * x.numpy())  # the sum: as PyTorch
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a third time: no second warning
        (x * x).sum().backward()


def test_zeroing_between_steps_gives_no_warning():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    opt = tg.optim.SGD([x], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.zero_grad()
            (x * x).sum().backward()
            opt.step()


def test_a_leaf_used_twice_in_one_backward_is_not_an_accumulation():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 1)


def test_the_accumulation_warning_can_be_turned_off():
    autograd.learner_warnings["accumulate"] = False
    x = tg.Tensor(3.0, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x * x).backward()
        (x * x).backward()
    assert x.grad.item() == 12.0


def test_reading_grad_of_a_result_gives_none_and_warns_once():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.sum().backward()
    with pytest.warns(autograd.LearnerWarning, match="retain_grad") as record:
        assert y.grad is None
    assert "Mul" in str(record[0].message)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is None  # once only


def test_retain_grad_keeps_it_without_a_warning():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.retain_grad()
    y.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])


def test_leaves_and_plain_tensors_never_warn():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    c = tg.Tensor([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None and c.grad is None
        assert (c * 2).grad is None  # not recorded: no grad_fn, nothing to explain


def test_the_non_leaf_warning_can_be_turned_off():
    autograd.learner_warnings["non_leaf_grad"] = False
    x = tg.Tensor([1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (x * 2).grad is None


def test_drawing_a_graph_does_not_trigger_the_warning():
    x = tg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x).sum()
    y.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.viz.to_dot(y, show_grads=True)

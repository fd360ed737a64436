"""What the library guarantees where a hostile user pushes: gradients that belong to their
leaf, accumulation that threads cannot break, finite gradients where PyTorch's are, and a
clear error of this library (never NumPy's or Python's) for every bad input.

Each expected value is PyTorch's (torch 2.13), noted beside it.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F


def leaf(values, dtype=np.float64):
    return tg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# --- 1. every leaf's .grad is its own array ----------------------------------------------


def test_two_leaves_added_get_gradients_of_their_own():
    a, b, c = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([5.0, 6.0])
    ((a + b) * c).sum().backward()
    assert a.grad is not b.grad
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data[0] = 100.0  # editing one leaves the other alone
    np.testing.assert_array_equal(b.grad.data, [5.0, 6.0])


def test_clip_grad_norm_of_leaves_that_shared_a_gradient_scales_each_once():
    a, b = leaf([3.0, 4.0]), leaf([1.0, 1.0])
    ((a + b) * 10.0).sum().backward()  # both get [10, 10]: joint norm 20
    nn.utils.clip_grad_norm_([a, b], 1.0)
    joint = np.sqrt((a.grad.data ** 2).sum() + (b.grad.data ** 2).sum())
    assert joint == pytest.approx(1.0)  # (a shared array would be scaled twice: 0.05)


def test_backward_with_a_gradient_does_not_store_the_callers_array():
    x = leaf([1.0, 2.0])
    g = tg.tensor([1.0, 1.0], dtype=tg.float64)
    (x + 0).backward(g)
    assert not np.shares_memory(x.grad.data, g.data)
    x.grad.data[:] = 7.0
    np.testing.assert_array_equal(g.data, [1.0, 1.0])


def test_a_leaf_backward_on_itself_copies_the_gradient():
    x = leaf([1.0, 2.0])
    g = np.array([3.0, 4.0])
    x.backward(g)
    x.grad.data[:] = 0.0
    np.testing.assert_array_equal(g, [3.0, 4.0])


def test_retained_and_returned_gradients_are_their_own_too():
    x = leaf([1.0, 2.0])
    y = x + 0
    y.retain_grad()
    (y * 1).sum().backward()
    assert not np.shares_memory(y.grad.data, x.grad.data)
    a, b = leaf([1.0]), leaf([2.0])
    ga, gb = tg.autograd.grad((a + b).sum(), [a, b])
    assert not np.shares_memory(ga.data, gb.data)
    ga.data[0] = 5.0  # and writable


# --- 2. gradients are writable ---------------------------------------------------------


def test_gradient_of_a_sum_is_writable():
    w = leaf(np.ones((2, 3)))
    w.sum().backward()  # sum's backward broadcasts: a read-only view, before it is copied
    assert w.grad.data.flags.writeable
    w.grad.data[0, 0] = 5.0
    assert w.grad.data[0, 1] == 1.0


def test_clip_grad_functions_work_on_a_broadcast_gradient():
    w = leaf(np.ones((2, 3)))
    (w * 3.0).sum().backward()
    nn.utils.clip_grad_value_([w], 0.5)
    np.testing.assert_array_equal(w.grad.data, np.full((2, 3), 0.5))
    w.grad = None
    w.sum().backward()
    nn.utils.clip_grad_norm_([w], 1.0)
    assert np.linalg.norm(w.grad.data) == pytest.approx(1.0)


# --- 3. accumulation is atomic ---------------------------------------------------------


def test_threads_accumulating_into_one_leaf_lose_no_update():
    x = leaf(np.zeros(1000))

    def run():
        for _ in range(200):
            (x * 2).sum().backward()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the accumulation warning: meant here)
        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    np.testing.assert_array_equal(x.grad.data, np.full(1000, 1600.0))  # PyTorch: 1600


# --- 4. what backward needs is copied, not kept by reference ---------------------------


def test_a_bool_mask_changed_after_forward_does_not_change_the_gradient():
    x = leaf([1.0, 2.0, 3.0])
    mask = np.array([True, False, True])
    y = x[mask]
    mask[:] = True
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 1.0])


def test_a_where_condition_changed_after_forward_does_not_change_the_gradient():
    x = leaf([1.0, 2.0, 3.0])
    condition = np.array([True, False, True])
    y = tg.where(condition, x, 0.0)
    condition[:] = False
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 1.0])


# --- 5. finite gradients where the derivative (or PyTorch's convention) is -------------


@pytest.mark.parametrize("make, expected", [
    (lambda x: x ** 0, [0.0, 0.0]),                         # PyTorch: 0
    (lambda x: sum(x ** k for k in range(4)), [1.0, 1.0]),  # 0 + 1 + 0 + 0
    (lambda x: x.std(), [0.0, 0.0]),                        # PyTorch: 0
    (lambda x: x.norm(), [0.0, 0.0]),                       # the subgradient 0
    (lambda x: x.norm(3), [0.0, 0.0]),
    (lambda x: tg.linalg.norm(x), [0.0, 0.0]),
    (lambda x: tg.linalg.norm(x, 4), [0.0, 0.0]),
    (lambda x: x ** tg.tensor([0.0, 2.0], dtype=tg.float64), [0.0, 0.0]),
], ids=["x**0", "polynomial", "std", "norm", "norm3", "linalg.norm", "linalg.norm4",
        "tensor exponent"])
def test_gradient_at_zero_is_finite(make, expected):
    x = leaf([0.0, 0.0])
    with np.errstate(all="raise"):
        make(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, expected)


def test_std_of_constant_data_has_gradient_zero_and_second_derivative_runs():
    x = leaf([2.0, 2.0, 2.0])
    (g,) = tg.autograd.grad(x.std(), [x], create_graph=True)
    np.testing.assert_array_equal(g.data, np.zeros(3))
    g.sum().backward()
    assert np.isfinite(x.grad.data).all()


def test_cross_entropy_with_every_target_ignored():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    loss = F.cross_entropy(x, tg.tensor([-100, -100]))
    assert np.isnan(loss.item())                  # PyTorch: nan (0 / 0)
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((2, 2)))  # PyTorch: zeros


def test_a_list_exponent_differentiates():
    x = leaf([1.0, 2.0])
    (x ** [2.0, 3.0]).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 12.0])  # 2x, 3x^2


def test_norm_at_zero_keeps_its_gradient_elsewhere_right():
    x = leaf([[0.0, 0.0], [3.0, 4.0]])
    x.norm(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.0], [0.6, 0.8]])
    assert tg.gradcheck(lambda v: v.norm(dim=1), [leaf([[0.5, 0.1], [3.0, 4.0]])])


# --- 6. empty and 0-d tensors ---------------------------------------------------------


def test_cross_entropy_of_an_empty_batch_is_nan():
    x = leaf(np.zeros((0, 3)))
    loss = F.cross_entropy(x, tg.tensor(np.zeros(0, dtype=np.int64)))
    assert np.isnan(loss.item())  # PyTorch: nan
    loss.backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_over_an_empty_axis_is_empty(op):
    x = leaf(np.zeros((2, 0)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = getattr(x, op)(1)
    assert y.shape == (2, 0)  # PyTorch: empty


def test_logsumexp_over_an_empty_axis_is_minus_infinity():
    x = leaf(np.zeros((2, 0)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.logsumexp(1)
    np.testing.assert_array_equal(y.data, [-np.inf, -np.inf])  # PyTorch: -inf


def test_the_mean_of_nothing_is_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(tg.zeros(0).mean().item())
        assert np.isnan(F.mse_loss(tg.zeros(0), tg.zeros(0)).item())


@pytest.mark.parametrize("call, expected", [
    (lambda x: x.sum(0), 3.0),              # PyTorch accepts dim 0 and -1 on a 0-d tensor
    (lambda x: x.sum(-1), 3.0),
    (lambda x: x.mean(0), 3.0),
    (lambda x: x.amax(0), 3.0),
    (lambda x: x.max(0).values, 3.0),
    (lambda x: x.squeeze(0), 3.0),
    (lambda x: x.softmax(), 1.0),
    (lambda x: x.softmax(0), 1.0),
    (lambda x: x.softmax(-1), 1.0),
    (lambda x: x.log_softmax(0), 0.0),
    (lambda x: x.cumsum(0), 3.0),
    (lambda x: x.logsumexp(0), 3.0),
    (lambda x: x.transpose(0, -1), 3.0),
], ids=["sum0", "sum-1", "mean0", "amax0", "max0", "squeeze0", "softmax", "softmax0",
        "softmax-1", "log_softmax0", "cumsum0", "logsumexp0", "transpose"])
def test_a_0d_tensor_takes_dim_0_and_minus_1(call, expected):
    x = tg.tensor(3.0, requires_grad=True)
    y = call(x)
    assert y.shape == ()
    assert y.item() == pytest.approx(expected)
    y.backward()
    assert np.isfinite(x.grad.data).all()


def test_flatten_of_a_0d_tensor_is_one_element():
    assert tg.tensor(3.0).flatten().shape == (1,)  # PyTorch: tensor([3.])
    assert tg.tensor(3.0).flatten(0, -1).shape == (1,)


BAD_INPUT = [
    (lambda: tg.cat([tg.tensor(1.0), tg.tensor(2.0)]), ValueError, r"cat: tensor 0 is 0-d"),
    (lambda: tg.zeros(2, 3).sum(1.0), TypeError, r"sum: dim must be an int"),
    (lambda: tg.zeros(2, 3).softmax(5), ValueError, r"softmax: dim 5 is out of range"),
    (lambda: tg.tensor(3.0).sum(1), ValueError, r"sum: dim 1 is out of range .* 0 or -1"),
    (lambda: tg.tensor(3.0).size(0), ValueError, r"size: a 0-d tensor has no dim 0"),
    (lambda: tg.tensor(3.0).split(1), ValueError, r"split: a 0-d tensor"),
    (lambda: tg.zeros(6).reshape(3.7, 2), TypeError, r"reshape: a shape is a sequence of ints"),
    (lambda: tg.zeros(2.5), TypeError, r"zeros: a shape is a sequence of ints"),
    (lambda: tg.randn(2.5), TypeError, r"randn: a shape"),
    (lambda: tg.ones(-1), ValueError, r"ones: sizes must be >= 0"),
    (lambda: tg.eye(2.5), TypeError, r"eye: a shape"),
    (lambda: tg.linspace(0, 1, -3), ValueError, r"linspace: sizes must be >= 0"),
    (lambda: tg.arange(0, 5, 0), ValueError, r"arange: step must be nonzero"),
    (lambda: tg.tensor("abc"), TypeError, r"Tensor: cannot make a tensor from str"),
    (lambda: tg.Tensor("abc"), TypeError, r"Tensor: cannot make a tensor from str"),
    (lambda: tg.tensor([1, "a"]), TypeError, r"Tensor: cannot make a tensor from list"),
    (lambda: tg.tensor([[1, 2], [3]]), TypeError, r"Tensor: .*inhomogeneous"),
    (lambda: tg.tensor(np.array([1, None], dtype=object)), TypeError, r"Tensor: .*object"),
    (lambda: tg.tensor(np.array(["2020-01-01"], dtype="datetime64[D]")), TypeError,
     r"Tensor: .*datetime64"),
    (lambda: tg.zeros(2, 3).flatten(5), ValueError, r"flatten: dim 5 is out of range"),
    (lambda: tg.zeros(0).argmax(), ValueError, r"argmax: there is no max in an empty"),
    (lambda: tg.zeros(2, 0).argmin(1), ValueError, r"argmin: there is no min in an empty"),
    (lambda: tg.zeros(3).repeat(-1), ValueError, r"repeat: sizes must be >= 0"),
    (lambda: tg.randperm(-1), ValueError, r"randperm: sizes must be >= 0"),
    (lambda: tg.zeros(3).unsqueeze(0.5), TypeError, r"unsqueeze: dim must be an int"),
    (lambda: tg.zeros(2).to("float99"), RuntimeError, r"to: 'float99' is neither a device"),
    (lambda: tg.manual_seed(1.5), TypeError, r"manual_seed: a seed is an int"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUT,
                         ids=[message for _, _, message in BAD_INPUT])
def test_bad_input_gets_an_error_of_this_library(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- 9. smaller --------------------------------------------------------------------------


def test_a_negative_seed_seeds_as_pytorch_reads_it():
    assert tg.Generator().manual_seed(-1).initial_seed() == -1
    np.testing.assert_array_equal(tg.randn(3, generator=tg.Generator().manual_seed(-1)),
                                  tg.randn(3, generator=tg.Generator().manual_seed(2 ** 64 - 1)))


def test_to_a_dtype_named_by_a_string():
    assert tg.zeros(2).to("float64").dtype == tg.float64


def test_a_number_beside_a_float64_tensor_keeps_float64():
    t64 = tg.tensor([0.5], dtype=tg.float64)
    assert tg.minimum(0.1, t64).data[0] == 0.1  # not 0.1 rounded to float32
    assert tg.maximum(0.7, t64).data[0] == 0.7
    assert tg.pow(2.0, t64).dtype == tg.float64
    assert tg.remainder(5.0, tg.tensor([3.0], dtype=tg.float64)).data[0] == 2.0


def test_float32_times_an_int64_array_stays_float32():
    assert (tg.tensor([1.0]) * np.array([2], dtype=np.int64)).dtype == tg.float32


def test_a_hook_may_not_change_the_gradients_dtype():
    x = leaf([1.0, 2.0], np.float32)
    x.register_hook(lambda g: tg.tensor([1, 1]))
    with pytest.raises(RuntimeError, match=r"dtype int64 for a gradient of dtype float32"):
        (x * 2).sum().backward()  # PyTorch: "hook has changed the type of value"
    assert x.grad is None


def test_a_hook_that_returns_an_array_is_told_to_return_a_tensor():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: np.ones(2))
    with pytest.raises(RuntimeError, match=r"returned a numpy.ndarray, not a Tensor"):
        (x * 2).sum().backward()


def test_load_state_dict_with_int_keys_is_a_clear_error_and_loads_nothing():
    model = nn.Linear(2, 2)
    before = model.weight.data.copy()
    with pytest.raises(TypeError, match=r"keys must be names \(str\).*got 0 \(int\)"):
        model.load_state_dict({0: np.zeros((2, 2))})
    np.testing.assert_array_equal(model.weight.data, before)


def test_autograd_grad_of_a_hooked_non_leaf_is_the_hooked_gradient_as_pytorch():
    # PyTorch 2.13 returns the gradient after the tensor's hooks, for leaves and
    # non-leaves alike: (tensor([30., 30.]),) here
    x = leaf([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: g * 10)
    (g,) = tg.autograd.grad((y * 3).sum(), [y])
    np.testing.assert_array_equal(g.data, [30.0, 30.0])


@pytest.mark.parametrize("values, dim", [([2.0, 3.0], None), ([2.0, 0.0, 3.0], None),
                                         ([[1.5, -2.0, 0.5], [3.0, 0.0, 2.0]], 1),
                                         ([[1.5, -2.0], [3.0, 0.5]], (0, 1))])
def test_prod_has_a_second_derivative(values, dim):
    # d2/dx0 dx1 of x0 * x1 is 1, not the 0 that a backward computed with NumPy would give
    x = leaf(values)
    assert tg.gradgradcheck(lambda v: v.prod() if dim is None else v.prod(dim), [x])
    a = leaf([2.0, 3.0])
    (g,) = tg.autograd.grad(a.prod(), [a], create_graph=True)
    g[0].backward()
    np.testing.assert_array_equal(a.grad.data, [0.0, 1.0])


def test_gradgradcheck_names_itself_and_a_backward_computed_from_arrays():
    class ExpFromArrays(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return ctx.save_output(np.exp(x.data))

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.output.data  # right value, a constant to create_graph

    x = leaf([1.0, 2.0])
    assert tg.gradcheck(ExpFromArrays.apply, [x])
    report = tg.gradgradcheck(ExpFromArrays.apply, [x], verbose=False)
    assert not report
    text = str(report)
    assert text.startswith("gradgradcheck FAILED")
    assert "was backward computed from arrays (.data, NumPy functions)?" in text


def test_squeeze_of_an_axis_that_is_not_size_1_leaves_it_as_pytorch():
    assert tg.zeros(2, 1, 3).squeeze(0).shape == (2, 1, 3)   # PyTorch: unchanged
    assert tg.zeros(2, 1, 3).squeeze((0, 1)).shape == (2, 3)


def test_an_empty_list_index_picks_nothing():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x[[]]
    assert y.shape == (0, 2)  # PyTorch: tensor([], size=(0, 2))
    (y.sum() + x.sum()).backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 2)))

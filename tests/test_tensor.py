"""The Tensor surface: what the constructor makes, plain values out, dtypes, the errors a
newcomer meets first, the creation functions and the PyTorch spellings."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg


@pytest.fixture
def default_float64():
    """Switch the default dtype to float64 for one test, then put float32 back."""
    previous = tg.get_default_dtype()
    tg.set_default_dtype(np.float64)
    try:
        yield
    finally:
        tg.set_default_dtype(previous)


# ---------------------------------------------------------------------------------------
# constructor and dtypes
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], [[1, 2.5], [3, 4]], (0.5, 0.25)],
                         ids=["float", "list", "mixed-nested", "tuple"])
def test_python_floats_become_float32_by_default(data):
    t = tg.Tensor(data)
    assert tg.get_default_dtype() == np.float32
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float32))


def test_set_default_dtype_float64_changes_python_floats(default_float64):
    assert tg.get_default_dtype() == np.float64
    assert tg.Tensor(1.5).dtype == np.float64
    assert tg.Tensor([0.1, 0.2]).data[0] == 0.1  # exact float64 value, not rounded to float32
    assert tg.Tensor(np.zeros(2, dtype=np.float32)).dtype == np.float32  # arrays keep theirs


def test_set_default_dtype_rejects_a_non_float_dtype():
    with pytest.raises(TypeError, match="floating"):
        tg.set_default_dtype(np.int64)
    assert tg.get_default_dtype() == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64,
                                   np.uint8, np.bool_])
def test_an_ndarray_keeps_its_dtype(dtype):
    array = np.arange(4).astype(dtype)
    t = tg.Tensor(array)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.data, array)


def test_a_float16_array_is_refused_with_the_dtypes_to_use():
    with pytest.raises(TypeError, match="float16 is not supported.*float32"):
        tg.Tensor(np.arange(4).astype(np.float16))


def test_an_ndarray_is_copied():
    array = np.array([1.0, 2.0])
    t = tg.Tensor(array)
    array[0] = 99.0
    assert t.data[0] == 1.0


def test_a_tensor_argument_is_copied_and_keeps_its_dtype():
    source = tg.Tensor(np.array([1.0, 2.0]))
    t = tg.Tensor(source)
    assert t.dtype == np.float64
    assert t.data is not source.data
    np.testing.assert_array_equal(t.data, source.data)


@pytest.mark.parametrize("data", [3, [1, 2, 3], [[1], [2]]])
def test_python_ints_stay_int64(data):
    assert tg.Tensor(data).dtype == np.int64


@pytest.mark.parametrize("data", [True, [True, False]])
def test_python_bools_stay_bool(data):
    assert tg.Tensor(data).dtype == np.bool_


def test_an_int_tensor_cannot_require_grad_and_the_error_says_what_to_do():
    with pytest.raises(TypeError) as info:
        tg.Tensor([1, 2, 3], requires_grad=True)
    message = str(info.value)
    assert "int64" in message and "floating" in message
    assert "1.0" in message or ".float()" in message


def test_dtype_argument():
    assert tg.Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert tg.Tensor(np.array([1.5, 2.5]), dtype=np.float32).dtype == np.float32
    t = tg.Tensor([1.7, -2.7], dtype=np.int64)
    assert t.dtype == np.int64
    np.testing.assert_array_equal(t.data, [1, -2])
    assert tg.Tensor(1, dtype=np.float32, requires_grad=True).requires_grad


def test_non_numeric_data_raises_type_error():
    with pytest.raises(TypeError, match="cannot make a tensor"):
        tg.Tensor({"a": 1})


def test_name_is_kept_and_shown():
    t = tg.Tensor([1.0], name="w")
    assert t.name == "w"
    assert "name='w'" in repr(t)


# ---------------------------------------------------------------------------------------
# plain values out
# ---------------------------------------------------------------------------------------


def test_data_of_a_computed_result_is_the_array_the_op_made():
    made = []

    class Twice(tg.Function):
        @staticmethod
        def forward(ctx, x):
            made.append(x.data * 2)
            return made[-1]

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * 2

    y = Twice.apply(tg.Tensor([1.0, 2.0], requires_grad=True))
    assert y.data is made[0]


def test_numpy_shares_the_data():
    y = tg.Tensor([1.0, 2.0]) * 3
    assert y.numpy() is y.data
    y.numpy()[0] = -1.0
    assert y.data[0] == -1.0


def test_np_asarray_shares_and_np_array_copies():
    t = tg.Tensor([1.0, 2.0])
    assert np.asarray(t) is t.data
    copy = np.array(t)
    copy[0] = 99.0
    assert t.data[0] == 1.0
    assert np.array(t, dtype=np.float64).dtype == np.float64


def test_item():
    value = tg.Tensor([[2.5]]).item()
    assert value == 2.5 and type(value) is float
    assert type(tg.Tensor(7).item()) is int
    assert float(tg.Tensor(1.5)) == 1.5 and int(tg.Tensor(3)) == 3


def test_item_of_several_elements_raises_value_error():
    with pytest.raises(ValueError, match=r"\(2,\)"):
        tg.Tensor([1.0, 2.0]).item()


def test_tolist():
    values = tg.Tensor([[1.0, 2.0], [3.0, 4.0]]).tolist()
    assert values == [[1.0, 2.0], [3.0, 4.0]]
    assert type(values[0][0]) is float
    assert tg.Tensor(2.0).tolist() == 2.0


def test_shape_ndim_dtype_numel_len():
    t = tg.Tensor(np.zeros((2, 3, 4)))
    assert t.shape == (2, 3, 4)
    assert t.ndim == 3
    assert t.dtype == np.float64
    assert t.numel() == 24
    assert len(t) == 2
    scalar = tg.Tensor(1.0)
    assert scalar.shape == () and scalar.ndim == 0 and scalar.numel() == 1


def test_len_of_a_0d_tensor_raises_type_error():
    with pytest.raises(TypeError, match="0-d"):
        len(tg.Tensor(1.0))


def test_iteration_gives_rows_and_keeps_the_graph():
    x = tg.Tensor(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3
    for i, row in enumerate(rows):
        np.testing.assert_array_equal(row.data, x.data[i])
    (rows[0] * 2 + rows[2] * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2.0, 2.0], [0.0, 0.0], [5.0, 5.0]])


def test_iterating_a_0d_tensor_raises():
    with pytest.raises(TypeError):
        list(tg.Tensor(1.0))


def test_repr():
    assert repr(tg.Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(tg.Tensor([1.0], requires_grad=True)) == "Tensor([1.], requires_grad=True)"
    assert repr(tg.Tensor([1, 2])) == "Tensor([1, 2], dtype=int64)"
    assert repr(tg.Tensor(0.5, dtype=np.float64)) == "Tensor(0.5, dtype=float64)"
    y = tg.Tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "Tensor([2.], grad_fn=Mul)"


def test_setitem_writes_in_place_and_refuses_on_a_leaf_that_requires_grad():
    t = tg.Tensor([1.0, 2.0])
    array = t.data
    t[0] = 5.0
    assert t.data is array and t.data[0] == 5.0 and t._version == 1
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w[0] = 5.0
    assert w.data[0] == 1.0 and w._version == 0  # refused: nothing changed


def test_bool():
    assert bool(tg.Tensor([1.0])) is True
    assert bool(tg.Tensor(0.0)) is False
    with pytest.raises(ValueError, match="ambiguous"):
        bool(tg.Tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        if tg.Tensor([1.0, 2.0]) > 0:
            pass


# ---------------------------------------------------------------------------------------
# casts
# ---------------------------------------------------------------------------------------


def test_astype_float_double():
    t = tg.Tensor([1.5, 2.5])
    assert t.double().dtype == np.float64
    assert t.double().float().dtype == np.float32
    assert t.astype(np.float64).dtype == np.float64
    assert t.astype("float32") is t  # already that dtype: nothing to do
    as_int = t.astype(np.int64)
    assert as_int.dtype == np.int64
    np.testing.assert_array_equal(as_int.data, [1, 2])


def test_gradient_flows_through_a_cast_in_the_leafs_dtype():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)  # float32
    y = x.double()
    assert y.grad_fn.name == "Cast"
    (y * y * 3).sum().backward()  # d/dx 3x^2 = 6x
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [6.0, 12.0])

    w = tg.Tensor(np.array([0.5]), requires_grad=True)  # float64 -> float32 -> back
    (w.float() * 4).sum().backward()
    assert w.grad.dtype == np.float64
    assert w.grad.item() == 4.0


def test_a_cast_to_an_integer_is_not_differentiable():
    y = tg.Tensor([1.5], requires_grad=True).astype(np.int64)
    assert not y.requires_grad and y.grad_fn is None


# ---------------------------------------------------------------------------------------
# creation functions
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, fill", [
    (tg.zeros, 0.0), (tg.ones, 1.0), (tg.rand, None), (tg.randn, None),
], ids=["zeros", "ones", "rand", "randn"])
@pytest.mark.parametrize("shape_args", [(2, 3), ((2, 3),), ([2, 3],)],
                         ids=["f(2, 3)", "f((2, 3))", "f([2, 3])"])
def test_shape_first_creation(make, fill, shape_args):
    t = make(*shape_args)
    assert t.shape == (2, 3)
    assert t.dtype == np.float32
    assert not t.requires_grad and t.is_leaf
    if fill is not None:
        np.testing.assert_array_equal(t.data, np.full((2, 3), fill))


@pytest.mark.parametrize("make", [tg.zeros, tg.ones, tg.rand, tg.randn])
def test_shape_first_creation_dtype_and_requires_grad(make):
    t = make(4, dtype=np.float64, requires_grad=True)
    assert t.shape == (4,) and t.dtype == np.float64
    assert t.requires_grad and t.is_leaf
    t.sum().backward()
    np.testing.assert_array_equal(t.grad.data, np.ones(4))


def test_creation_follows_the_default_dtype(default_float64):
    for t in (tg.zeros(2), tg.ones(2), tg.rand(2), tg.randn(2), tg.full(2, 1.5), tg.eye(2),
              tg.linspace(0, 1, 3), tg.uniform(0, 1, 2), tg.normal(0, 1, 2),
              tg.arange(0.0, 1.0, 0.5)):
        assert t.dtype == np.float64


def test_full():
    t = tg.full((2, 3), 1.5)
    assert t.shape == (2, 3) and t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.full((2, 3), 1.5))
    assert tg.full(3, -2.0).shape == (3,)
    assert tg.full([1, 2], 0.5, requires_grad=True).requires_grad
    assert tg.full((2,), 1.0, dtype=np.float64).dtype == np.float64


def test_eye():
    np.testing.assert_array_equal(tg.eye(3).data, np.eye(3))
    assert tg.eye(3).dtype == np.float32
    np.testing.assert_array_equal(tg.eye(2, 3).data, np.eye(2, 3))
    assert tg.eye(2, requires_grad=True).requires_grad


def test_arange():
    t = tg.arange(5)
    assert t.dtype == np.int64
    np.testing.assert_array_equal(t.data, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(tg.arange(2, 8, 2).data, [2, 4, 6])
    f = tg.arange(1.0, 2.0, 0.25)
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.data, [1.0, 1.25, 1.5, 1.75])
    assert tg.arange(3, dtype=np.float64).dtype == np.float64
    assert tg.arange(3.0, requires_grad=True).requires_grad


def test_linspace():
    t = tg.linspace(0, 1, 5)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert tg.linspace(-1, 1, 3, requires_grad=True).requires_grad


def test_zeros_like_and_ones_like():
    source = tg.Tensor(np.ones((2, 3), dtype=np.float64))
    z = tg.zeros_like(source)
    o = tg.ones_like(source)
    assert z.shape == o.shape == (2, 3)
    assert z.dtype == o.dtype == np.float64
    np.testing.assert_array_equal(z.data, np.zeros((2, 3)))
    np.testing.assert_array_equal(o.data, np.ones((2, 3)))
    assert tg.zeros_like(tg.Tensor([1, 2])).dtype == np.int64
    assert tg.ones_like(source, dtype=np.float32).dtype == np.float32
    assert tg.zeros_like(source, requires_grad=True).requires_grad
    assert tg.ones_like(np.zeros(4)).shape == (4,)


def test_rand_and_uniform_stay_in_range():
    tg.manual_seed(1)
    r = tg.rand(10_000)
    assert r.data.min() >= 0.0 and r.data.max() < 1.0
    assert abs(r.data.mean() - 0.5) < 0.02  # sd of the mean: 0.29 / 100
    u = tg.uniform(-3.0, -1.0, (100, 100))
    assert u.shape == (100, 100) and u.dtype == np.float32
    assert u.data.min() >= -3.0 and u.data.max() < -1.0
    assert abs(u.data.mean() + 2.0) < 0.03


def test_randn_and_normal_moments():
    tg.manual_seed(2)
    n = tg.randn(20_000).data.astype(np.float64)
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1.0) < 0.03
    m = tg.normal(5.0, 0.5, (20_000,)).data.astype(np.float64)
    assert abs(m.mean() - 5.0) < 0.015 and abs(m.std() - 0.5) < 0.015
    assert tg.normal(0.0, 1.0, 3, requires_grad=True).requires_grad


def test_uniform_and_normal_reject_bad_parameters():
    with pytest.raises(ValueError, match="low"):
        tg.uniform(1.0, 1.0, 3)
    with pytest.raises(ValueError, match="std"):
        tg.normal(0.0, -1.0, 3)


@pytest.mark.parametrize("draw", [
    lambda: tg.rand(2, 3), lambda: tg.randn(2, 3),
    lambda: tg.uniform(-1, 1, (2, 3)), lambda: tg.normal(0, 2, (2, 3)),
], ids=["rand", "randn", "uniform", "normal"])
def test_manual_seed_makes_draws_reproducible(draw):
    tg.manual_seed(123)
    first = draw().data
    again = draw().data
    tg.manual_seed(123)
    replay = draw().data
    tg.manual_seed(124)
    other = draw().data
    np.testing.assert_array_equal(first, replay)
    assert not np.array_equal(first, again)   # the generator moves on between draws
    assert not np.array_equal(first, other)   # another seed, other numbers


# ---------------------------------------------------------------------------------------
# PyTorch spellings
# ---------------------------------------------------------------------------------------


A = np.arange(6.0).reshape(2, 3) - 2.0


@pytest.mark.parametrize("method", ["sum", "mean", "amax", "amin", "var", "std", "logsumexp"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_dim_and_keepdim_are_aliases_of_axis_and_keepdims(method, axis):
    t = tg.Tensor(A)
    by_numpy_names = getattr(t, method)(axis=axis, keepdims=True)
    by_torch_names = getattr(t, method)(dim=axis, keepdim=True)
    assert by_torch_names.shape == by_numpy_names.shape
    np.testing.assert_array_equal(by_torch_names.data, by_numpy_names.data)
    assert getattr(t, method)(dim=axis).ndim == 1


def test_argmax_argmin_accept_dim():
    t = tg.Tensor(A)
    np.testing.assert_array_equal(t.argmax(dim=1).data, np.argmax(A, axis=1))
    np.testing.assert_array_equal(t.argmin(dim=0, keepdim=True).data,
                                  np.argmin(A, axis=0, keepdims=True))


@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_and_log_softmax_accept_dim(axis):
    t = tg.Tensor(A)
    expected = np.exp(A) / np.exp(A).sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(t.softmax(dim=axis).data, expected, rtol=1e-12)
    np.testing.assert_allclose(t.log_softmax(dim=axis).data, np.log(expected), rtol=1e-12)
    np.testing.assert_allclose(tg.softmax(t, dim=axis).data, expected, rtol=1e-12)
    np.testing.assert_allclose(t.softmax(axis).data, expected, rtol=1e-12)


def test_axis_and_dim_together_raise():
    with pytest.raises(TypeError, match="axis or dim"):
        tg.Tensor(A).sum(axis=0, dim=1)


def test_transpose_swaps_two_axes_and_permute_takes_a_permutation_as_pytorch():
    t = tg.Tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(t.transpose(0, 1).data, t.data.swapaxes(0, 1))
    np.testing.assert_array_equal(t.transpose(-2, -1).data, t.data.swapaxes(1, 2))
    assert t.swapaxes(0, 1).shape == (3, 2, 4)
    assert t.permute(2, 0, 1).shape == (4, 2, 3)
    with pytest.raises(ValueError, match="transpose"):
        t.permute(0, 1)  # two dims of three: the hint points to transpose(d0, d1)


def test_transpose_of_a_matrix_with_two_axes_is_fine():
    t = tg.Tensor(A)
    np.testing.assert_array_equal(t.transpose(1, 0).data, A.T)
    np.testing.assert_array_equal(t.T.data, A.T)

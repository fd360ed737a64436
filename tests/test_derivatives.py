"""grad, value_and_grad, jacobian, hessian, vjp, jvp: closed forms, finite differences,
the caller's tensors left alone, and errors that say what went wrong."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.derivatives import grad, hessian, jacobian, jvp, value_and_grad, vjp

RTOL, ATOL = 1e-7, 1e-9  # float64 derivatives from backward: exact up to round-off
FD_RTOL, FD_ATOL = 1e-5, 1e-7  # against central differences, whose error is O(eps^2)


def rng(seed=0):
    return np.random.default_rng(seed)


def central_jacobian(f, x, eps=1e-6):
    """d f(x) / dx by central differences, shape f(x).shape + x.shape (f: Tensor -> Tensor)."""
    x = np.array(x, dtype=np.float64)
    out_shape = f(tg.Tensor(x)).shape
    jac = np.zeros(out_shape + x.shape)
    for j in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[j] += eps
        minus[j] -= eps
        jac[(...,) + j] = (f(tg.Tensor(plus)).data - f(tg.Tensor(minus)).data) / (2 * eps)
    return jac


# Scalar functions of one float64 vector: the table the grad and hessian tests run over.
SCALAR_FUNCTIONS = {
    "sum_of_squares": lambda x: (x ** 2).sum(),
    "sum_of_sin": lambda x: x.sin().sum(),
    "log_sum_exp": lambda x: x.exp().sum().log(),
    "tanh_dot_x": lambda x: (x.tanh() * x).sum(),
}


# --- grad: closed forms -------------------------------------------------------------------


def test_grad_of_sum_of_squares_is_2x():
    x = rng().standard_normal(5)
    g = grad(lambda x: (x ** 2).sum())(x)
    assert isinstance(g, np.ndarray) and g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * x, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("x", [-2.5, -0.3, 0.0, 1.2, 3.0])
def test_grad_of_sin_of_a_python_float_is_cos(x):
    g = grad(lambda x: x.sin())(x)
    assert type(g) is float
    assert g == pytest.approx(np.cos(x), rel=1e-12, abs=1e-12)


def test_grad_of_a_tensor_is_a_tensor_of_its_dtype():
    x32 = tg.Tensor(rng().standard_normal(4).astype(np.float32))
    g = grad(lambda x: (x ** 2).sum())(x32)
    assert isinstance(g, tg.Tensor) and g.dtype == np.float32 and not g.requires_grad
    np.testing.assert_allclose(g.data, 2 * x32.data, rtol=1e-6)


def test_python_numbers_and_lists_become_float64():
    g = grad(lambda x: (x * x * x).sum())([1.0, 2.0, 3])
    assert isinstance(g, np.ndarray) and g.dtype == np.float64
    np.testing.assert_allclose(g, [3.0, 12.0, 27.0], rtol=RTOL)
    assert grad(lambda x: x * x * x)(2) == pytest.approx(12.0, rel=1e-12)


def test_argnums_tuple_gives_a_tuple_of_gradients():
    x, y = rng(1).standard_normal((2, 4))
    gx, gy = grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, y, rtol=RTOL)
    np.testing.assert_allclose(gy, x, rtol=RTOL)
    # one position: a single gradient; -1 is the last argument, as in indexing
    np.testing.assert_allclose(grad(lambda x, y: (x * y).sum(), argnums=1)(x, y), x, rtol=RTOL)
    gy_only = grad(lambda x, y: (x * y * y).sum(), argnums=(-1,))(x, y)
    assert isinstance(gy_only, tuple) and len(gy_only) == 1
    np.testing.assert_allclose(gy_only[0], 2 * x * y, rtol=RTOL)


def test_arguments_not_differentiated_are_used_as_given():
    x = rng(2).standard_normal(3)
    scale = tg.Tensor(np.array([1.0, 2.0, 3.0]))
    g = grad(lambda x, s, power=2: ((x ** power) * s).sum())(x, scale, power=3)
    np.testing.assert_allclose(g, 3 * x ** 2 * scale.data, rtol=RTOL)


def test_an_unused_argument_gets_zeros_not_none():
    x, y = rng(3).standard_normal((2, 3))
    gx, gy = grad(lambda x, y: (x ** 2).sum(), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, 2 * x, rtol=RTOL)
    assert isinstance(gy, np.ndarray) and gy.shape == (3,) and not gy.any()
    # a constant f: no graph at all
    assert grad(lambda x: tg.Tensor(np.array(4.0)))(1.5) == 0.0


def test_value_and_grad_returns_both():
    x = rng(4).standard_normal(5)
    value, g = value_and_grad(lambda x: (x.exp() * x).sum())(x)
    assert isinstance(value, tg.Tensor) and not value.requires_grad and value.grad_fn is None
    assert value.item() == pytest.approx(float(np.sum(np.exp(x) * x)), rel=1e-12)
    np.testing.assert_allclose(g, np.exp(x) * (1 + x), rtol=RTOL)
    value, (gx, gy) = value_and_grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(x, 2 * x)
    assert value.item() == pytest.approx(float(np.sum(2 * x * x)), rel=1e-12)
    np.testing.assert_allclose(gx, 2 * x, rtol=RTOL)
    np.testing.assert_allclose(gy, x, rtol=RTOL)


def test_grad_works_inside_no_grad():
    x = rng(5).standard_normal(3)
    with tg.no_grad():
        g = grad(lambda x: (x ** 2).sum())(x)
    np.testing.assert_allclose(g, 2 * x, rtol=RTOL)


# --- grad against finite differences --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCALAR_FUNCTIONS))
def test_grad_matches_central_differences_and_gradcheck(name):
    f = SCALAR_FUNCTIONS[name]
    x = rng(6).uniform(-2, 2, size=(2, 3))
    g = grad(f)(x)
    assert g.shape == x.shape
    np.testing.assert_allclose(g, central_jacobian(f, x), rtol=FD_RTOL, atol=FD_ATOL)
    # gradcheck passes on f, and its finite-difference Jacobian is our gradient
    report = tg.gradcheck(f, [x.copy()])
    assert report
    np.testing.assert_allclose(g.ravel(), report.inputs[0].numeric.ravel(),
                               rtol=FD_RTOL, atol=FD_ATOL)


class Cube(tg.Function):
    """f(x) = x^3"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data ** 3

    @staticmethod
    def backward(ctx, grad_output):  # d/dx x^3 = 3x^2
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x * x


class CubeWrongBackward(Cube):
    @staticmethod
    def backward(ctx, grad_output):  # wrong on purpose: 2x^2
        (x,) = ctx.saved_tensors
        return grad_output * 2 * x * x


@pytest.mark.parametrize("op, correct", [(Cube, True), (CubeWrongBackward, False)])
def test_grad_uses_the_ops_backward(op, correct):
    def f(x):
        return op.apply(x).sum()

    x = rng(7).uniform(0.5, 2.0, size=4)  # away from 0, where 2x^2 and 3x^2 agree
    g = grad(f)(x)
    numeric = central_jacobian(f, x)
    assert np.allclose(g, numeric, rtol=FD_RTOL, atol=FD_ATOL) == correct
    np.testing.assert_allclose(g, (3 if correct else 2) * x ** 2, rtol=RTOL)
    assert bool(tg.gradcheck(f, [x.copy()], verbose=False)) == correct


# --- the caller's tensors ---------------------------------------------------------------------


def test_callers_grad_and_graph_are_untouched():
    w = tg.Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    x = tg.Tensor(np.array([0.3, 0.7, -1.1]), requires_grad=True)
    x.grad = tg.Tensor(np.array([9.0, 9.0, 9.0]))  # a gradient the caller already had
    h = w * 3.0               # the caller's graph: a non-leaf f closes over
    z = (h * h).sum()

    g = grad(lambda x: (h * x).sum())(x)
    np.testing.assert_allclose(g.data, h.data, rtol=RTOL)
    np.testing.assert_allclose(x.grad.data, [9.0, 9.0, 9.0])
    assert w.grad is None
    np.testing.assert_allclose(x.data, [0.3, 0.7, -1.1])

    jacobian(lambda x: h * x, x)  # many backward passes through h's node
    hessian(lambda x: (h * x * x).sum(), x)
    z.backward()              # the caller's graph still has its saved values
    np.testing.assert_allclose(w.grad.data, 18 * w.data, rtol=RTOL)  # dz/dw = 2 (3w) 3


def test_f_cannot_change_the_callers_array():
    x = np.array([1.0, 2.0])

    def f(t):
        t.data[0] = 100.0  # writes into the private copy
        return (t * t).sum()

    grad(f)(x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


# --- jacobian -----------------------------------------------------------------------------------


def test_jacobian_of_a_linear_map_is_its_matrix():
    a = rng(8).standard_normal((4, 3))
    x = rng(9).standard_normal(3)
    jac = jacobian(lambda x: tg.Tensor(a) @ x, x)
    assert jac.shape == (4, 3)
    np.testing.assert_allclose(jac, a, rtol=RTOL, atol=ATOL)


def test_jacobian_of_elementwise_tanh_is_diagonal():
    x = tg.Tensor(rng(10).uniform(-2, 2, size=5).astype(np.float64))
    jac = jacobian(lambda x: x.tanh(), x)
    assert isinstance(jac, tg.Tensor)
    np.testing.assert_allclose(jac.data, np.diag(1 - np.tanh(x.data) ** 2), rtol=RTOL, atol=ATOL)


def test_jacobian_shapes_for_matrices():
    x = rng(11).standard_normal((2, 3))
    b = rng(12).standard_normal((3, 4))
    jac = jacobian(lambda x: x @ tg.Tensor(b), x)
    assert jac.shape == (2, 4, 2, 3)  # out.shape + x.shape
    # (xB)[i, k] = sum_l x[i, l] B[l, k], so d(xB)[i, k] / dx[j, l] = [i == j] B[l, k]
    expected = np.einsum("ij,lk->ikjl", np.eye(2), b)
    np.testing.assert_allclose(jac, expected, rtol=RTOL, atol=ATOL)
    # a scalar output: the Jacobian is the gradient; a scalar input: a column
    assert jacobian(lambda x: (x * x).sum(), x).shape == (2, 3)
    assert jacobian(lambda t: tg.Tensor(b) * t, 0.5).shape == (3, 4)


def test_jacobian_of_several_inputs_is_a_tuple():
    w = rng(13).standard_normal((3, 2))
    x = rng(14).standard_normal(2)
    jw, jx = jacobian(lambda w, x: (w @ x).tanh(), (w, x))
    d = 1 - np.tanh(w @ x) ** 2  # (3,)
    np.testing.assert_allclose(jx, d[:, None] * w, rtol=RTOL, atol=ATOL)
    # d tanh(Wx)[i] / dW[j, l] = d[i] [i == j] x[l]
    np.testing.assert_allclose(jw, np.einsum("i,ij,l->ijl", d, np.eye(3), x),
                               rtol=RTOL, atol=ATOL)


def test_jacobian_matches_central_differences():
    def f(x):
        return (x.sin() * x.exp()).reshape(3, 2) @ tg.Tensor(np.ones((2, 2)))

    x = rng(15).standard_normal((2, 3))
    np.testing.assert_allclose(jacobian(f, x), central_jacobian(f, x),
                               rtol=FD_RTOL, atol=FD_ATOL)


# --- hessian ------------------------------------------------------------------------------------


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose():
    a = rng(16).standard_normal((4, 4))
    assert not np.allclose(a, a.T)  # a symmetric A would hide a missing transpose
    x = rng(17).standard_normal(4)
    h = hessian(lambda x: (x * (tg.Tensor(a) @ x)).sum(), x)
    np.testing.assert_allclose(h, a + a.T, rtol=RTOL, atol=ATOL)


def test_hessian_of_sum_of_exp_is_diagonal():
    x = rng(18).standard_normal(5)
    np.testing.assert_allclose(hessian(lambda x: x.exp().sum(), x), np.diag(np.exp(x)),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", sorted(SCALAR_FUNCTIONS))
def test_hessian_is_symmetric_and_the_jacobian_of_the_gradient(name):
    f = SCALAR_FUNCTIONS[name]
    x = rng(19).uniform(-1.5, 1.5, size=(2, 2))
    h = hessian(f, x)
    assert h.shape == (2, 2, 2, 2)
    flat = h.reshape(4, 4)
    np.testing.assert_allclose(flat, flat.T, rtol=RTOL, atol=ATOL)

    def gradient(t):  # the gradient as a Tensor-valued function, for central differences
        return grad(f)(t)

    np.testing.assert_allclose(h, central_jacobian(gradient, x), rtol=FD_RTOL, atol=1e-6)
    assert tg.gradgradcheck(f, [x.copy()])


def test_hessian_of_a_linear_function_is_zero_and_of_a_float_is_a_float():
    x = rng(20).standard_normal(3)
    assert not hessian(lambda x: (x * 2.0).sum(), x).any()
    assert hessian(lambda x: x.sin(), 0.7) == pytest.approx(-np.sin(0.7), rel=1e-12)


def test_hessian_of_several_inputs_gives_blocks():
    a = rng(21).standard_normal((2, 3))  # not square: the off-diagonal blocks differ
    x, y = rng(22).standard_normal(2), rng(23).standard_normal(3)

    def f(x, y):  # x^T A y + sum(y^3)
        return (x * (tg.Tensor(a) @ y)).sum() + (y * y * y).sum()

    (hxx, hxy), (hyx, hyy) = hessian(f, (x, y))
    assert (hxx.shape, hxy.shape, hyx.shape, hyy.shape) == ((2, 2), (2, 3), (3, 2), (3, 3))
    np.testing.assert_allclose(hxx, np.zeros((2, 2)), atol=ATOL)
    np.testing.assert_allclose(hxy, a, rtol=RTOL)
    np.testing.assert_allclose(hyx, a.T, rtol=RTOL)
    np.testing.assert_allclose(hyy, np.diag(6 * y), rtol=RTOL)


# --- vjp and jvp --------------------------------------------------------------------------------


def nonlinear(x):  # (2, 3) -> (3, 2): every output depends on several inputs
    return (x.T @ x.sin()).tanh()[:, :2] * 2.0


@pytest.mark.parametrize("x_form", ["ndarray", "tensor"])
def test_vjp_is_v_transpose_j(x_form):
    x = rng(22).standard_normal((2, 3))
    v = rng(23).standard_normal((3, 2))
    jac = jacobian(nonlinear, x)  # (3, 2, 2, 3)
    value, product = vjp(nonlinear, x if x_form == "ndarray" else tg.Tensor(x), v)
    np.testing.assert_allclose(value.data, nonlinear(tg.Tensor(x)).data, rtol=1e-12)
    product = product.data if x_form == "tensor" else product
    assert product.shape == x.shape
    np.testing.assert_allclose(product, np.tensordot(v, jac, axes=2), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("x_form", ["ndarray", "tensor"])
def test_jvp_is_j_v(x_form):
    x = rng(24).standard_normal((2, 3))
    v = rng(25).standard_normal((2, 3))
    jac = jacobian(nonlinear, x)
    value, product = jvp(nonlinear, x if x_form == "ndarray" else tg.Tensor(x), v)
    np.testing.assert_allclose(value.data, nonlinear(tg.Tensor(x)).data, rtol=1e-12)
    product = product.data if x_form == "tensor" else product
    assert product.shape == (3, 2)
    np.testing.assert_allclose(product, np.tensordot(jac, v, axes=2), rtol=RTOL, atol=ATOL)
    # the directional derivative, by central differences along v
    eps = 1e-6
    numeric = (nonlinear(tg.Tensor(x + eps * v)).data
               - nonlinear(tg.Tensor(x - eps * v)).data) / (2 * eps)
    np.testing.assert_allclose(product, numeric, rtol=FD_RTOL, atol=FD_ATOL)


def test_vjp_and_jvp_with_several_inputs():
    w = rng(26).standard_normal((3, 2))
    x = rng(27).standard_normal(2)

    def f(w, x):
        return (w @ x).sin()

    jw, jx = jacobian(f, (w, x))
    u = rng(28).standard_normal(3)
    _, (uw, ux) = vjp(f, (w, x), u)
    np.testing.assert_allclose(uw, np.tensordot(u, jw, axes=1), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ux, u @ jx, rtol=RTOL, atol=ATOL)
    vw, vx = rng(29).standard_normal((3, 2)), rng(30).standard_normal(2)
    _, tangent = jvp(f, (w, x), (vw, vx))
    np.testing.assert_allclose(tangent, np.tensordot(jw, vw, axes=2) + jx @ vx,
                               rtol=RTOL, atol=ATOL)


def test_jvp_of_a_linear_map_and_of_a_constant():
    a = rng(31).standard_normal((4, 3))
    x, v = rng(32).standard_normal((2, 3))
    np.testing.assert_allclose(jvp(lambda x: tg.Tensor(a) @ x, x, v)[1], a @ v, rtol=RTOL)
    assert not jvp(lambda x: tg.Tensor(a), x, v)[1].any()


# --- errors ---------------------------------------------------------------------------------------


def test_grad_and_hessian_of_a_non_scalar_output_say_the_shape():
    x = np.ones(3)
    with pytest.raises(ValueError, match=r"grad: .*shape \(3,\).*sum\(\).*jacobian"):
        grad(lambda x: x * 2.0)(x)
    with pytest.raises(ValueError, match=r"hessian: .*shape \(3,\)"):
        hessian(lambda x: x * x, x)
    with pytest.raises(ValueError, match=r"value_and_grad: .*shape \(3,\)"):
        value_and_grad(lambda x: x * 2.0)(x)


def test_wrong_direction_shapes_are_named():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"vjp: v has shape \(2, 3\), but f\(x\) has shape \(3,\)"):
        vjp(lambda x: x.sum(axis=0), x, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"jvp: v has shape \(3,\), but x has shape \(2, 3\)"):
        jvp(lambda x: x.sum(axis=0), x, np.ones(3))
    with pytest.raises(ValueError, match=r"jvp: x has 2 inputs, so v must be a tuple of 2"):
        jvp(lambda x, y: x * y, (np.ones(2), np.ones(2)), np.ones(2))


@pytest.mark.parametrize("argnums", [1.5, (), [0], True, (0, "1")])
def test_bad_argnums_types(argnums):
    with pytest.raises(TypeError, match="argnums must be an int or a non-empty tuple"):
        grad(lambda x: x, argnums=argnums)


@pytest.mark.parametrize("argnums, message", [
    (2, r"argnums=2, but f was called with 2 positional argument"),
    ((0, -2), r"names the same argument twice"),
])
def test_bad_argnums_values(argnums, message):
    with pytest.raises(ValueError, match=message):
        grad(lambda x, y: (x * y).sum(), argnums=argnums)(1.0, 2.0)


@pytest.mark.parametrize("value", [
    np.array([1, 2, 3]),
    tg.Tensor(np.array([1, 2, 3])),
    np.array([True, False]),
])
def test_integer_inputs_are_refused(value):
    with pytest.raises(TypeError, match=r"grad: argument 0 has dtype (int|bool).*floating"):
        grad(lambda x: x.sum())(value)
    with pytest.raises(TypeError, match=r"jacobian: x has dtype"):
        jacobian(lambda x: x, value)


def test_f_must_return_a_tensor():
    with pytest.raises(TypeError, match=r"grad: f must return a Tensor, got ndarray"):
        grad(lambda x: x.data * 2.0)(np.ones(2))
    with pytest.raises(TypeError, match="returned several values"):
        jacobian(lambda x: (x, x), np.ones(2))
    with pytest.raises(TypeError, match=r"cannot differentiate with respect to argument 0, a str"):
        grad(lambda x: x)("1.0")


def test_nesting_is_refused_instead_of_giving_zero():
    def inner_grad_sum(x):
        return grad(lambda y: (y ** 3).sum())(x).sum()

    with pytest.raises(ValueError, match=r"grad: called inside another derivative.*hessian"):
        grad(inner_grad_sum)(np.ones(2))

    def closes_over(x):  # the inner f uses the outer input through a closure
        return jacobian(lambda y: y * x, np.ones(2)).sum()

    with pytest.raises(ValueError, match=r"jacobian: called inside another derivative"):
        grad(closes_over)(np.ones(2))
    # an inner transform on an unrelated value is fine
    assert grad(lambda x: (x * grad(lambda y: y * y)(3.0)).sum())(np.ones(2)).tolist() == [6, 6]

"""tg.linalg: values against np.linalg, gradients against finite differences, errors.

Inputs are seeded, float64 and well conditioned (a random matrix plus a multiple of the
identity, or B B^T + I when symmetric positive definite), so that finite differences
measure the derivative and the checks' tolerances can fail.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import linalg


def well_conditioned(shape, seed=0):
    """A random square matrix (or batch) pushed away from singular by 3 I."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) + 3.0 * np.eye(shape[-1])


def spd(shape, seed=0):
    """A symmetric positive definite matrix (or batch): B B^T + I."""
    b = np.random.default_rng(seed).standard_normal(shape)
    return b @ np.swapaxes(b, -1, -2) + np.eye(shape[-1])


def sym(a):
    """(A + A^T) / 2: gradchecks of eigh and cholesky perturb A through this, so every
    perturbed input stays symmetric."""
    return (a + a.swapaxes(-1, -2)) * 0.5


def leaf(array):
    return tg.Tensor(np.array(array, dtype=np.float64), requires_grad=True)


SHAPES = [(3, 3), (2, 4, 4)]  # one matrix, and a batch of two

# name, function of a Tensor A, NumPy reference, whether the backward is made of Tensor
# ops (then second derivatives are checked too)
SQUARE_OPS = [
    ("trace", linalg.trace, lambda a: np.trace(a, axis1=-2, axis2=-1)),
    ("det", linalg.det, np.linalg.det),
    ("slogdet", lambda a: linalg.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1]),
    ("inv", linalg.inv, np.linalg.inv),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, fn, reference", SQUARE_OPS, ids=[op[0] for op in SQUARE_OPS])
def test_square_op_values_and_gradients(name, fn, reference, shape):
    a = well_conditioned(shape)
    np.testing.assert_allclose(fn(tg.Tensor(a)).data, reference(a), rtol=1e-12, atol=1e-12)
    assert tg.gradcheck(fn, [leaf(a)])
    assert tg.gradgradcheck(fn, [leaf(a)])


def test_trace_of_a_rectangular_matrix():
    a = np.arange(6.0).reshape(2, 3)
    assert linalg.trace(a).item() == np.trace(a)
    assert tg.gradcheck(linalg.trace, [leaf(a)])


def test_slogdet_sign_for_negative_determinant():
    a = np.array([[0.0, 1.0], [1.0, 0.0]])  # det = -1
    sign, logabsdet = linalg.slogdet(a)
    assert sign.item() == -1.0 and abs(logabsdet.item()) < 1e-15
    assert not sign.requires_grad


def test_det_gradient_closed_form():
    a = well_conditioned((4, 4), seed=1)
    x = leaf(a)
    linalg.det(x).backward()
    np.testing.assert_allclose(x.grad.data, np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-10)


def test_trace_gradient_is_identity():
    x = leaf(well_conditioned((2, 3, 3)))
    linalg.trace(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.broadcast_to(np.eye(3), (2, 3, 3)))


def test_slogdet_gradient_is_inverse_transposed():
    a = well_conditioned((3, 3), seed=2)
    x = leaf(a)
    linalg.slogdet(x)[1].backward()
    np.testing.assert_allclose(x.grad.data, np.linalg.inv(a).T, rtol=1e-10)


@pytest.mark.parametrize("a_shape, b_shape", [
    ((3, 3), (3,)),          # a vector
    ((3, 3), (3, 2)),        # a matrix
    ((2, 3, 3), (2, 3, 2)),  # a batch
    ((2, 3, 3), (3, 2)),     # b broadcast over A's batch
    ((2, 3, 3), (3,)),       # a vector for every matrix of the batch
])
def test_solve(a_shape, b_shape):
    a = well_conditioned(a_shape)
    b = np.random.default_rng(5).standard_normal(b_shape)
    np.testing.assert_allclose(linalg.solve(a, b).data, np.linalg.solve(a, b), rtol=1e-12)
    assert tg.gradcheck(linalg.solve, [leaf(a), leaf(b)])
    assert tg.gradgradcheck(linalg.solve, [leaf(a), leaf(b)])


def test_solve_with_a_constant_matrix():
    a = well_conditioned((3, 3))
    b = leaf(np.ones(3))
    linalg.solve(a, b).sum().backward()
    np.testing.assert_allclose(b.grad.data, np.linalg.solve(a.T, np.ones(3)), rtol=1e-12)


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------

SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


@pytest.mark.parametrize("name, call", [
    ("inv", lambda a: linalg.inv(a)),
    ("slogdet", lambda a: linalg.slogdet(a)),
    ("solve", lambda a: linalg.solve(a, np.ones(2))),
])
def test_singular_matrix_raises(name, call):
    with pytest.raises(ValueError, match=rf"^{name}: .*\(2, 2\) is singular"):
        call(SINGULAR)


def test_det_of_singular_matrix_is_zero_but_its_gradient_raises():
    x = leaf(SINGULAR)
    d = linalg.det(x)
    assert abs(d.item()) < 1e-12
    with pytest.raises(ValueError, match=r"det \(backward\): .*\(2, 2\) is singular"):
        d.backward()


@pytest.mark.parametrize("name, call", [
    ("inv", linalg.inv), ("det", linalg.det), ("slogdet", linalg.slogdet),
    ("cholesky", linalg.cholesky), ("eigh", linalg.eigh),
    ("solve", lambda a: linalg.solve(a, np.ones(2))),
])
def test_non_square_raises(name, call):
    with pytest.raises(ValueError, match=rf"^{name}: expected a square matrix .*\(2, 3\)"):
        call(np.ones((2, 3)))


def test_solve_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"solve: A of shape \(3, 3\) needs b of shape \(3,\)"):
        linalg.solve(np.eye(3), np.ones(4))


@pytest.mark.parametrize("name, call", [("cholesky", linalg.cholesky), ("eigh", linalg.eigh)])
def test_non_symmetric_raises(name, call):
    with pytest.raises(ValueError, match=rf"^{name}: expected a symmetric matrix"):
        call(np.array([[2.0, 1.0], [0.0, 2.0]]))


def test_cholesky_not_positive_definite_raises():
    with pytest.raises(ValueError, match=r"cholesky: .*\(2, 2\) is not positive definite"):
        linalg.cholesky(np.array([[-1.0, 2.0], [2.0, -1.0]]))


# ---------------------------------------------------------------------------------------
# norm
# ---------------------------------------------------------------------------------------


def test_norm_tutorial_values():
    v = np.array([-1.0, 2.0, 3.0, 4.0, -5.0])
    assert linalg.norm(v, 1).item() == 15.0
    assert linalg.norm(v).item() == pytest.approx(7.4162, abs=1e-4)
    m = np.array([[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]])
    assert linalg.norm(m, "fro").item() == pytest.approx(5.2915, abs=1e-4)


VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 3, 0.5]
MATRIX_ORDS = [None, "fro", "nuc", 2, 1, -1, np.inf, -np.inf]
X = np.random.default_rng(7).standard_normal((2, 3, 4))


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [0, -1, 1])
@pytest.mark.parametrize("ord", VECTOR_ORDS + [0, -2])
def test_vector_norm_values(ord, axis, keepdims):
    out = linalg.norm(X, ord, axis, keepdims).data
    expected = np.linalg.norm(X, ord, axis, keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norm_gradients(ord):
    assert tg.gradcheck(lambda x: linalg.norm(x, ord, axis=-1), [leaf(X)])


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [(1, 2), (2, 0), (-1, -2)])
@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norm_values_and_gradients(ord, axis, keepdims):
    out = linalg.norm(X, ord, axis, keepdims).data
    expected = np.linalg.norm(X, ord, axis, keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert tg.gradcheck(lambda x: linalg.norm(x, ord, axis, keepdims), [leaf(X)])


@pytest.mark.parametrize("x", [X, X[0], X[0, 0]], ids=["3-D", "2-D", "1-D"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_norm_default_is_2_norm_of_all_entries(x, keepdims):
    out = linalg.norm(x, keepdims=keepdims).data
    expected = np.linalg.norm(x, keepdims=keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_matrix_norm_defaults_for_2d():
    m = X[0]
    for ord in MATRIX_ORDS:
        np.testing.assert_allclose(linalg.norm(m, ord).data, np.linalg.norm(m, ord), rtol=1e-12)


def test_l2_norm_gradient_closed_form():
    v = np.array([-1.0, 2.0, 3.0, 4.0, -5.0])
    x = leaf(v)
    linalg.norm(x).backward()
    np.testing.assert_allclose(x.grad.data, v / np.linalg.norm(v), rtol=1e-12)


def test_l1_norm_gradient_closed_form():
    v = np.array([-1.0, 2.0, 3.0, 4.0, -5.0])
    x = leaf(v)
    linalg.norm(x, 1).backward()
    np.testing.assert_array_equal(x.grad.data, np.sign(v))


def test_nuclear_and_spectral_gradient_closed_forms():
    m = X[0]
    u, _, vh = np.linalg.svd(m, full_matrices=False)
    x = leaf(m)
    linalg.norm(x, "nuc").backward()
    np.testing.assert_allclose(x.grad.data, u @ vh, rtol=1e-10)
    x = leaf(m)
    linalg.norm(x, 2).backward()
    np.testing.assert_allclose(x.grad.data, np.outer(u[:, 0], vh[0]), rtol=1e-10)


@pytest.mark.parametrize("kwargs, message", [
    ({"ord": "fro", "axis": 0}, r"norm: ord='fro' is a matrix norm"),
    ({"ord": 3, "axis": (0, 1)}, r"norm: unsupported matrix norm ord=3"),
    ({"ord": 1}, r"norm: ord=1 with axis=None needs a 1-D or 2-D tensor, got shape \(2, 3, 4\)"),
    ({"axis": 5}, r"norm: axis 5 is out of range for shape \(2, 3, 4\)"),
    ({"axis": (1, 1)}, r"norm: axis must be an int or a pair of distinct axes"),
])
def test_norm_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        linalg.norm(X, **kwargs)


# ---------------------------------------------------------------------------------------
# cholesky, eigh
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_cholesky(shape):
    a = spd(shape)
    lower = linalg.cholesky(a).data
    np.testing.assert_allclose(lower, np.linalg.cholesky(a), rtol=1e-12)
    assert tg.gradcheck(lambda x: linalg.cholesky(sym(x)), [leaf(a)])
    assert tg.gradgradcheck(lambda x: linalg.cholesky(sym(x)), [leaf(a)])


def test_cholesky_gradient_is_symmetric():
    x = leaf(spd((3, 3)))
    (linalg.cholesky(x) * np.arange(9.0).reshape(3, 3)).sum().backward()
    np.testing.assert_allclose(x.grad.data, x.grad.data.T, rtol=1e-12)


def test_eigh_tutorial_values():
    w, v = linalg.eigh(np.array([[-1.0, 2.0], [2.0, -1.0]]))
    np.testing.assert_allclose(w.data, [-3.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(np.abs(v.data), np.full((2, 2), np.sqrt(0.5)), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_eigh(shape):
    a = sym(tg.Tensor(np.random.default_rng(3).standard_normal(shape))).data
    w, v = linalg.eigh(a)
    w_np, v_np = np.linalg.eigh(a)
    np.testing.assert_allclose(w.data, w_np, rtol=1e-12, atol=1e-12)
    # eigenvector signs are arbitrary: compare |V|, and check A V = V diag(w)
    np.testing.assert_allclose(np.abs(v.data), np.abs(v_np), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a @ v.data, v.data * w.data[..., None, :], atol=1e-12)
    values = lambda x: linalg.eigh(sym(x))[0]  # noqa: E731
    squared_vectors = lambda x: linalg.eigh(sym(x))[1] ** 2  # noqa: E731  (sign-independent)
    for fn in (values, squared_vectors, lambda x: values(x).sum()):
        assert tg.gradcheck(fn, [leaf(a)])
        assert tg.gradgradcheck(fn, [leaf(a)])


def test_eigenvalue_gradient_closed_form():
    a = spd((3, 3), seed=4)
    x = leaf(a)
    linalg.eigh(x)[0][2].backward()  # the largest eigenvalue: d w = v v^T
    v = np.linalg.eigh(a)[1][:, 2]
    np.testing.assert_allclose(x.grad.data, np.outer(v, v), rtol=1e-10, atol=1e-12)


def test_a_wrong_eigh_backward_fails_gradcheck(monkeypatch):
    # the checks above can fail: a classic slip, F_ij = 1 / (w_i - w_j), the gaps reversed
    def reversed_gaps(ctx, grad_output):
        (a,) = ctx.saved_tensors
        v = ctx.output
        w = linalg.EighValues.apply(a)
        eye = np.eye(a.shape[-1])
        f = (1.0 - eye) / (w.unsqueeze(-1) - w.unsqueeze(-2) + eye)
        inner = v @ (f * (v.swapaxes(-1, -2) @ grad_output)) @ v.swapaxes(-1, -2)
        return (inner + inner.swapaxes(-1, -2)) * 0.5

    monkeypatch.setattr(linalg.EighVectors, "backward", staticmethod(reversed_gaps))
    a = spd((3, 3), seed=6)
    assert not tg.gradcheck(lambda x: linalg.eigh(sym(x))[1] ** 2, [leaf(a)], verbose=False)


# ---------------------------------------------------------------------------------------
# 'nuc' and 2: first derivatives only, and a clear error for second ones
# ---------------------------------------------------------------------------------------

SVD_NORMS = [("nuc", "norm\\(ord='nuc'\\)", "U V\\^T"),
             (2, "norm\\(ord=2\\) of a matrix", "u1 v1\\^T")]


@pytest.mark.parametrize("ord, name, factor", SVD_NORMS, ids=["nuc", "2"])
def test_svd_norm_first_derivative_still_checks(ord, name, factor):
    assert tg.gradcheck(lambda x: linalg.norm(x, ord), [leaf(X[0])])
    assert tg.gradcheck(lambda x: linalg.norm(x, ord, axis=(1, 2)), [leaf(X)])


@pytest.mark.parametrize("ord, name, factor", SVD_NORMS, ids=["nuc", "2"])
def test_svd_norm_recorded_gradient_has_the_same_value(ord, name, factor):
    # create_graph=True alone is fine: only differentiating the result again raises
    x = leaf(X[0])
    linalg.norm(x, ord).backward()
    y = leaf(X[0])
    (g,) = tg.autograd.grad(linalg.norm(y, ord), [y], create_graph=True)
    assert g.requires_grad
    np.testing.assert_array_equal(g.data, x.grad.data)


@pytest.mark.parametrize("ord, name, factor", SVD_NORMS, ids=["nuc", "2"])
def test_svd_norm_second_derivative_raises(ord, name, factor):
    message = rf"^second derivatives of {name} are not implemented: the gradient {factor}"
    with pytest.raises(NotImplementedError, match=message):
        tg.hessian(lambda x: linalg.norm(x, ord), leaf(X[0]))
    y = leaf(X[0])
    (g,) = tg.autograd.grad(linalg.norm(y, ord), [y], create_graph=True)
    with pytest.raises(NotImplementedError, match=message) as info:
        (g * g).sum().backward()
    assert "ord='fro'" in str(info.value)  # the suggested way out
    report = tg.gradgradcheck(lambda x: linalg.norm(x, ord), [leaf(X[0])], verbose=False)
    assert not report


@pytest.mark.parametrize("ord", ["nuc", 2])
def test_svd_norm_first_derivative_records_nothing_extra(ord, monkeypatch):
    # the usual backward (no create_graph) multiplies by the saved array directly
    def refuse(*args, **kwargs):
        raise AssertionError("SvdGradientFactor used without create_graph")

    monkeypatch.setattr(linalg.SvdGradientFactor, "apply", refuse)
    x = leaf(X)
    linalg.norm(x, ord, axis=(1, 2)).sum().backward()
    assert x.grad is not None and np.isfinite(x.grad.data).all()


def test_vector_2_norm_second_derivative_still_works():
    # ord=2 along one axis is a vector norm, built from Tensor ops: twice differentiable
    assert tg.gradgradcheck(lambda x: linalg.norm(x, 2, axis=-1), [leaf(X)])
    assert tg.gradgradcheck(lambda x: linalg.norm(x, "fro"), [leaf(X[0])])

"""Linear algebra that gradients flow through: trace, det, slogdet, inv, solve, norm,
cholesky, eigh.

The conventions are NumPy's (`np.linalg`): a matrix is the last two axes, and any axes
before them are a batch, so `det` of a (5, 3, 3) tensor is five determinants.

Each matrix primitive is one `Function`, its derivative written above `backward` as
math. The derivatives come from differentiating the defining identity, e.g. for the
inverse: A A^-1 = I, so dA A^-1 + A d(A^-1) = 0, so d(A^-1) = -A^-1 dA A^-1. With the
upstream gradient G, the chain rule then reads dL = <G, d(A^-1)> = <-A^-T G A^-T, dA>,
which names dL/dA. (A^-T is the transposed inverse; <X, Y> = sum(X * Y).)

Every backward is written with Tensor ops (and calls `inv` / `solve` themselves), so
`backward(create_graph=True)` records it and second derivatives work, except for the
SVD-based matrix norms ('nuc' and 2): their gradients are first order only, and
differentiating them again raises NotImplementedError (see SvdGradientFactor).

`norm` for ord None, 1, inf, p and 'fro' is built from Tensor ops (abs, sum, max, sqrt):
those ops' derivatives are its derivative, and it has no backward of its own.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .engine import Function
from .ops import unbroadcast
from .tensor import Tensor

# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _mT(x: Tensor) -> Tensor:
    """The transpose of every matrix in a batch: swap the last two axes."""
    return x.swapaxes(-1, -2)


def _as_column_of_scalars(grad: Tensor) -> Tensor:
    """A batch of scalars (...,) as (..., 1, 1), to multiply a batch of matrices."""
    return grad.reshape(tuple(grad.shape) + (1, 1))


def _check_square(op: str, a: np.ndarray) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{op}: expected a square matrix (or a batch of them, shape "
                         f"(..., n, n)), got shape {a.shape}")


def _singular_error(op: str, a: np.ndarray, what: str = "") -> ValueError:
    return ValueError(f"{op}: the matrix of shape {a.shape} is singular (not invertible){what}; "
                      f"check for linearly dependent rows or columns")


def _inverse_or_raise(op: str, a: np.ndarray) -> np.ndarray:
    """np.linalg.inv, with NumPy's LinAlgError reworded to name the op and the shape."""
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise _singular_error(op, a) from None


# ---------------------------------------------------------------------------------------
# trace, det, slogdet, inv, solve
# ---------------------------------------------------------------------------------------


class Trace(Function):
    """t = sum_i A_ii, over the last two axes (batched)"""

    @staticmethod
    def forward(ctx, a):
        ad = a.data
        if ad.ndim < 2:
            raise ValueError(f"trace: expected a matrix (or a batch, shape (..., m, n)), got "
                             f"shape {ad.shape}")
        ctx.save_for_backward(a)
        return np.trace(ad, axis1=-2, axis2=-1)

    @staticmethod
    def backward(ctx, grad_output):
        # dt/dA = I  (each diagonal entry counts once, the rest not at all)
        (a,) = ctx.saved_tensors
        m, n = a.shape[-2:]
        return _as_column_of_scalars(grad_output) * np.eye(m, n)


class Inv(Function):
    """B = A^-1 (batched)"""

    @staticmethod
    def forward(ctx, a):
        _check_square("inv", a.data)
        ctx.save_for_backward(a)
        return ctx.save_output(_inverse_or_raise("inv", a.data))

    @staticmethod
    def backward(ctx, grad_output):
        # d(A^-1) = -A^-1 dA A^-1  =>  dL/dA = -A^-T G A^-T
        inverse_t = _mT(ctx.output)
        return -(inverse_t @ grad_output @ inverse_t)


class Det(Function):
    """d = det(A) (batched)"""

    @staticmethod
    def forward(ctx, a):
        _check_square("det", a.data)
        ctx.save_for_backward(a)
        return ctx.save_output(np.linalg.det(a.data))

    @staticmethod
    def backward(ctx, grad_output):
        # Jacobi's formula: d det(A) = det(A) tr(A^-1 dA)  =>  dL/dA = g det(A) A^-T.
        # It needs A^-1, so a singular A (where the true gradient, the adjugate transposed,
        # still exists) raises here instead of returning inf or nan: see `det`.
        (a,) = ctx.saved_tensors
        if np.linalg.cond(a.data).max() > 1 / np.finfo(np.float64).eps:
            raise _singular_error("det (backward)", a.data,
                                  ": its gradient det(A) A^-T needs the inverse")
        return _as_column_of_scalars(grad_output * ctx.output) * _mT(inv(a))


class LogAbsDet(Function):
    """l = log|det(A)| (batched); the sign, a constant, comes from `slogdet`"""

    @staticmethod
    def forward(ctx, a):
        _check_square("slogdet", a.data)
        sign, logabsdet = np.linalg.slogdet(a.data)
        if np.any(sign == 0):
            raise _singular_error("slogdet", a.data, ": its determinant is 0, log|det| = -inf")
        ctx.save_for_backward(a)
        return logabsdet

    @staticmethod
    def backward(ctx, grad_output):
        # d log|det A| = tr(A^-1 dA)  =>  dL/dA = g A^-T
        (a,) = ctx.saved_tensors
        return _as_column_of_scalars(grad_output) * _mT(inv(a))


class Solve(Function):
    """X = A^-1 B, the solution of A X = B (B a batch of matrices (..., n, k))"""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = a.data if isinstance(a, Tensor) else np.asarray(a), \
            b.data if isinstance(b, Tensor) else np.asarray(b)
        try:
            x = np.linalg.solve(ad, bd)
        except np.linalg.LinAlgError:
            raise _singular_error("solve", ad) from None
        ctx.save_for_backward(a, b)
        return ctx.save_output(x)

    @staticmethod
    def backward(ctx, grad_output):
        # A X = B  =>  dA X + A dX = dB  =>  dX = A^-1 (dB - dA X), so
        # dL/dB = A^-T G  (one more solve, with A transposed)  and  dL/dA = -(A^-T G) X^T
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_b = solve(_mT(_t(a)), grad_output)  # (..., n, k)
        return (unbroadcast(-(grad_b @ _mT(ctx.output)), tuple(np.shape(a.data)))
                if need_a else None,
                unbroadcast(grad_b, tuple(np.shape(b.data))) if need_b else None)


def trace(x) -> Tensor:
    """Sum of the diagonal of each matrix (the last two axes), as `np.trace(x, axis1=-2,
    axis2=-1)`. Gradient: the identity."""
    return Trace.apply(_t(x))


def inv(a) -> Tensor:
    """The inverse of a square matrix (or of each in a batch), as `np.linalg.inv`.

    Raises ValueError, naming the shape, for a non-square or singular matrix.
    """
    return Inv.apply(_t(a))


def det(a) -> Tensor:
    """The determinant of a square matrix (or of each in a batch), as `np.linalg.det`.

    The gradient det(A) A^-T uses the inverse, so backward raises a ValueError for a
    singular A (condition number above 1/eps). For log-determinants, `slogdet` is more
    stable: det over- or underflows for large matrices.
    """
    return Det.apply(_t(a))


def slogdet(a) -> tuple[Tensor, Tensor]:
    """(sign, log|det A|), as `np.linalg.slogdet`; det(A) = sign * exp(logabsdet).

    The sign is piecewise constant, so it is returned as a constant (no gradient);
    logabsdet is differentiable, with gradient A^-T. A singular A raises ValueError.
    """
    a = _t(a)
    _check_square("slogdet", a.data)
    sign = Tensor(np.linalg.slogdet(a.data)[0])
    return sign, LogAbsDet.apply(a)


def solve(a, b) -> Tensor:
    """The x with A x = b, as `np.linalg.solve` (NumPy 2 rules): b is a vector (n,) when
    1-D, and otherwise a batch of matrices (..., n, k) whose batch axes broadcast with A's.

    Cheaper and more accurate than `inv(a) @ b`. A singular A raises ValueError.
    """
    a, b = _t(a), _t(b)
    _check_square("solve", a.data)
    n = a.shape[-1]
    if b.ndim == 0 or b.shape[-2 if b.ndim > 1 else -1] != n:
        raise ValueError(f"solve: A of shape {a.shape} needs b of shape ({n},) or (..., {n}, k), "
                         f"got {b.shape}")
    if b.ndim == 1:  # a vector: solve for it as a one-column matrix
        return Solve.apply(a, b.reshape(n, 1)).reshape(tuple(a.shape[:-1]))
    return Solve.apply(a, b)


# ---------------------------------------------------------------------------------------
# norms
# ---------------------------------------------------------------------------------------


class NuclearNorm(Function):
    """n = sum of the singular values of A (batched, over the last two axes)"""

    @staticmethod
    def forward(ctx, a):
        u, s, vh = np.linalg.svd(a.data, full_matrices=False)
        ctx.save_for_backward(a, u @ vh)  # U V^T: (..., m, n)
        return s.sum(axis=-1)

    @staticmethod
    def backward(ctx, grad_output):
        # A = U S V^T  =>  d sum(s) = tr(U^T dA V)  =>  dL/dA = g U V^T
        # (it is undefined where a singular value is 0, and this takes one of its
        # subgradients). U V^T is computed in forward, from NumPy's SVD: a constant. A
        # gradient recorded for differentiating again (create_graph=True) gets it from
        # SvdGradientFactor instead, whose own backward raises: differentiating the
        # constant would give a silently wrong second derivative.
        a, u_vt = ctx.saved_tensors
        if ctx.create_graph:
            u_vt = SvdGradientFactor.apply(a, u_vt, norm="norm(ord='nuc')", factor="U V^T")
        return _as_column_of_scalars(grad_output) * u_vt


class SpectralNorm(Function):
    """n = the largest singular value of A (batched, over the last two axes)"""

    @staticmethod
    def forward(ctx, a):
        u, s, vh = np.linalg.svd(a.data, full_matrices=False)
        ctx.save_for_backward(a, u[..., :, :1] @ vh[..., :1, :])  # u1 v1^T, (..., m, n)
        return s[..., 0]

    @staticmethod
    def backward(ctx, grad_output):
        # s1 = u1^T A v1, and u1, v1 are unit vectors at a stationary point, so
        # d s1 = u1^T dA v1  =>  dL/dA = g u1 v1^T  (undefined when the largest singular
        # value is repeated). u1 v1^T is a constant, as U V^T in NuclearNorm: see there.
        a, u1_v1t = ctx.saved_tensors
        if ctx.create_graph:
            u1_v1t = SvdGradientFactor.apply(a, u1_v1t, norm="norm(ord=2) of a matrix",
                                             factor="u1 v1^T")
        return _as_column_of_scalars(grad_output) * u1_v1t


class SvdGradientFactor(Function):
    """F(A): the SVD factor of a matrix norm's gradient (U V^T, or u1 v1^T), computed
    in forward and passed in as `value`; its derivative is not implemented.

    The norms' backward uses it only when the gradient is recorded (create_graph=True).
    Then F is a node of the recorded gradient, connected to A, so that differentiating
    that gradient again reaches this backward and raises, where a constant F would give
    a second derivative that silently misses dF/dA.
    """

    @staticmethod
    def forward(ctx, a, value, *, norm, factor):
        ctx.norm, ctx.factor = norm, factor
        return value

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError(
            f"second derivatives of {ctx.norm} are not implemented: the gradient "
            f"{ctx.factor} is computed as a constant from NumPy's SVD, so differentiating "
            f"it again would silently leave out how {ctx.factor} changes with A. Use "
            "ord='fro' (built from Tensor ops, differentiable twice) if it fits the problem, "
            "or take finite differences of the first derivative (e.g. of tg.grad(f)) for "
            "a Hessian.")


def _vector_norm(x: Tensor, ord, axis: int) -> Tensor:
    """The `ord`-norm of x along one axis, kept as a size-1 axis."""
    if ord is None or ord == 2:
        # sqrt(sum x^2): its gradient x / |x| is taken as 0 at x = 0 (see NormRoot)
        return ops.NormRoot.apply((x * x).sum(axis=axis, keepdims=True))
    if ord == np.inf:
        return x.abs().amax(axis=axis, keepdims=True)
    if ord == -np.inf:
        return x.abs().amin(axis=axis, keepdims=True)
    if ord == 0:  # the number of nonzero entries: piecewise constant, so no gradient
        return Tensor((x.data != 0).sum(axis=axis, keepdims=True).astype(x.data.dtype))
    if ord == 1:
        return x.abs().sum(axis=axis, keepdims=True)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; for a vector use None, 1, 2, "
                         f"inf, -inf, 0 or a number p")
    return ops.NormRoot.apply((x.abs() ** ord).sum(axis=axis, keepdims=True), p=ord)


def _matrix_norm(x: Tensor, ord, row_axis: int, col_axis: int) -> Tensor:
    """The `ord`-norm of the matrices on (row_axis, col_axis), both kept as size-1 axes."""
    if ord is None or ord == "fro":
        return ops.NormRoot.apply((x * x).sum(axis=(row_axis, col_axis), keepdims=True))
    if ord in (1, -1):  # max (or min) over columns of the column's abs sum
        col_sums = x.abs().sum(axis=row_axis, keepdims=True)
        pick = col_sums.amax if ord == 1 else col_sums.amin
        return pick(axis=col_axis, keepdims=True)
    if ord in (np.inf, -np.inf):  # max (or min) over rows of the row's abs sum
        row_sums = x.abs().sum(axis=col_axis, keepdims=True)
        pick = row_sums.amax if ord == np.inf else row_sums.amin
        return pick(axis=row_axis, keepdims=True)
    if ord in ("nuc", 2):
        # move the two matrix axes last, where the SVD works, then put size-1 axes back
        rest = [i for i in range(x.ndim) if i not in (row_axis, col_axis)]
        moved = x.permute(*rest, row_axis, col_axis)
        value = NuclearNorm.apply(moved) if ord == "nuc" else SpectralNorm.apply(moved)
        kept = tuple(1 if i in (row_axis, col_axis) else n for i, n in enumerate(x.shape))
        return value.reshape(kept)
    raise ValueError(f"norm: unsupported matrix norm ord={ord!r}; use None, 'fro', 'nuc', 1, "
                     f"-1, 2, inf or -inf")


def norm(x, ord=None, axis=None, keepdims: bool = False) -> Tensor:
    """Vector or matrix norm, as `np.linalg.norm`.

    - axis an int (or x 1-D with axis=None): a vector norm along it. ord None or 2:
      sqrt(sum x^2); 1: sum |x|; inf / -inf: max / min |x|; 0: count of nonzeros; any
      other p: (sum |x|^p)^(1/p).
    - axis a pair (or x 2-D with axis=None): a matrix norm. ord None or 'fro':
      sqrt(sum x^2); 'nuc': sum of singular values; 2: the largest singular value;
      1 / inf: max absolute column / row sum (-1 / -inf: the min).
    - ord None and axis None: the 2-norm of all entries, whatever the rank.

    Everything but 'nuc' and 2 is built from Tensor ops, so its gradient is theirs:
    x / |x| for the 2-norm (0 at x = 0, the subgradient, as PyTorch) and sign(x) for the
    1-norm. The matrix norms
    'nuc' and 2 have first derivatives only: a second derivative through them (a
    gradient taken with create_graph=True, differentiated again) raises
    NotImplementedError.
    """
    x = _t(x)
    if axis is None:
        if ord is None:
            axes = tuple(range(x.ndim))
            out = ops.NormRoot.apply((x * x).sum(axis=axes, keepdims=True)) if x.ndim \
                else x.abs()
            return out if keepdims else out.reshape(())
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D tensor, got "
                             f"shape {x.shape}; pass axis= (an int for vector norms, a pair "
                             f"for matrix norms)")
        axis = 0 if x.ndim == 1 else (0, 1)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"norm: axis {a} is out of range for shape {x.shape}")
    axes = tuple(int(a) % x.ndim for a in axes)
    if len(axes) == 1:
        out = _vector_norm(x, ord, axes[0])
    elif len(axes) == 2 and axes[0] != axes[1]:
        out = _matrix_norm(x, ord, axes[0], axes[1])
    else:
        raise ValueError(f"norm: axis must be an int or a pair of distinct axes, got {axis!r}")
    if keepdims:
        return out
    return out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


# ---------------------------------------------------------------------------------------
# cholesky, eigh: symmetric matrices
# ---------------------------------------------------------------------------------------


def _check_symmetric(op: str, a: np.ndarray) -> None:
    _check_square(op, a)
    if not np.isfinite(a).all():  # (NaN would pass the test below: nan > tol is False)
        raise ValueError(f"{op}: the matrix of shape {a.shape} holds NaN or inf; "
                         f"tg.detect_anomaly() finds the op that made it")
    gap = np.abs(a - np.swapaxes(a, -1, -2)).max(initial=0.0)
    scale = np.abs(a).max(initial=0.0)
    if gap > 1e-8 * max(scale, 1.0):
        raise ValueError(f"{op}: expected a symmetric matrix, but the matrix of shape {a.shape} "
                         f"differs from its transpose by up to {gap:.3g}; symmetrize it first, "
                         f"e.g. (A + A.T) / 2")


# the lower triangle with its diagonal halved: Phi(X) = tril(X) - diag(X) / 2
def _phi(x: Tensor) -> Tensor:
    n = x.shape[-1]
    return x * (np.tril(np.ones((n, n))) - 0.5 * np.eye(n))


class Cholesky(Function):
    """L = cholesky(A): lower triangular with L L^T = A, for symmetric positive definite A"""

    @staticmethod
    def forward(ctx, a):
        _check_symmetric("cholesky", a.data)
        try:
            lower = np.linalg.cholesky(a.data)
        except np.linalg.LinAlgError:
            raise ValueError(f"cholesky: the symmetric matrix of shape {a.data.shape} is not "
                             f"positive definite (some eigenvalue is <= 0)") from None
        ctx.save_for_backward(a)
        return ctx.save_output(lower)

    @staticmethod
    def backward(ctx, grad_output):
        # A = L L^T  =>  dA = dL L^T + L dL^T  =>  L^-1 dA L^-T = X + X^T with X = L^-1 dL.
        # X is lower triangular, so X = Phi(L^-1 dA L^-T) and dL = L Phi(L^-1 dA L^-T).
        # Moving L and Phi across <G, dL> (Murray 2016; PyTorch's cholesky_backward):
        #   S = L^-T Phi(L^T tril(G)) L^-1,   dL/dA = (S + S^T) / 2  (symmetric, as A is)
        # L^-1 is formed with `inv` for readability; triangular solves would be cheaper.
        lower = ctx.output
        n = lower.shape[-1]
        lower_inv = inv(lower)
        s = _mT(lower_inv) @ _phi(_mT(lower) @ (grad_output * np.tril(np.ones((n, n))))) \
            @ lower_inv
        return (s + _mT(s)) * 0.5


class EighValues(Function):
    """w = the eigenvalues of a symmetric A, ascending (batched)"""

    @staticmethod
    def forward(ctx, a):
        _check_symmetric("eigh", a.data)
        ctx.save_for_backward(a)
        return np.linalg.eigh(a.data)[0]

    @staticmethod
    def backward(ctx, grad_output):
        # A = V diag(w) V^T, V orthogonal  =>  dw_i = v_i^T dA v_i  =>  dL/dA = V diag(g) V^T
        (a,) = ctx.saved_tensors
        vectors = EighVectors.apply(a)  # a Tensor op, so this backward can be differentiated
        return (vectors * grad_output.unsqueeze(-2)) @ _mT(vectors)


class EighVectors(Function):
    """V = the eigenvectors (columns) of a symmetric A, in the order of `EighValues` (batched)"""

    @staticmethod
    def forward(ctx, a):
        _check_symmetric("eigh", a.data)
        ctx.save_for_backward(a)
        return ctx.save_output(np.linalg.eigh(a.data)[1])

    @staticmethod
    def backward(ctx, grad_output):
        # dv_j = sum_{i != j} v_i (v_i^T dA v_j) / (w_j - w_i)  (first-order perturbation), so
        #   dL/dA = V (F * (V^T G)) V^T, symmetrized,  F_ij = 1 / (w_j - w_i), F_ii = 0.
        # F blows up as two eigenvalues meet: for a repeated eigenvalue the eigenvectors
        # are not unique, and their gradient is undefined.
        (a,) = ctx.saved_tensors
        vectors = ctx.output
        values = EighValues.apply(a)
        n = a.shape[-1]
        eye = np.eye(n)
        gaps = values.unsqueeze(-2) - values.unsqueeze(-1)  # gaps[i, j] = w_j - w_i
        f = (1.0 - eye) / (gaps + eye)  # 1 / (w_j - w_i) off the diagonal, 0 on it
        inner = vectors @ (f * (_mT(vectors) @ grad_output)) @ _mT(vectors)
        return (inner + _mT(inner)) * 0.5


def cholesky(a) -> Tensor:
    """The lower-triangular L with L L^T = A, as `np.linalg.cholesky` (batched).

    Raises ValueError if A is not symmetric (within 1e-8, relative) or not positive
    definite. The gradient is symmetric, as A is.
    """
    return Cholesky.apply(_t(a))


def eigh(a) -> tuple[Tensor, Tensor]:
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric A, as `np.linalg.eigh`.

    Raises ValueError if A is not symmetric (within 1e-8, relative). Gradients are
    symmetric. An eigenvector's sign is arbitrary, so only sign-independent functions of
    the eigenvectors (v v^T, v_i^2, ...) have a meaningful gradient; with a repeated
    eigenvalue the eigenvectors are not unique and their gradient is undefined (inf or
    nan), while the eigenvalues' gradient stays fine.
    """
    a = _t(a)
    return EighValues.apply(a), EighVectors.apply(a)

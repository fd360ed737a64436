"""Derivatives as functions: grad, value_and_grad, jacobian, hessian, vjp, jvp.

`Tensor.backward` stores gradients in `.grad`. The functions here hand the derivative
back to you instead, in the style of JAX and torch.func:

    df = tg.grad(f)     # a new function, x -> df/dx
    df(x)

All of them are built on one engine call, `tg.engine.grad(out, leaves, v)`, which
computes a vector-Jacobian product. For f: R^n -> R^m with Jacobian J (m x n,
J[i, j] = d f_i / d x_j):

    vjp       v -> v^T J      one backward pass with gradient v (reverse mode)
    grad      v^T J with v = 1, for a scalar f (m = 1): the gradient, in one pass
    jacobian  J, row i being e_i^T J (e_i: one-hot): m backward passes
    jvp       u -> J u        forward mode, made of two backward passes (see `jvp`)
    hessian   H[i, j] = d^2 f / dx_i dx_j, the Jacobian of the gradient: n backward
              passes through a gradient recorded with create_graph=True

Rules shared by every function here:

* Each argument being differentiated is replaced by a fresh leaf: a copy of its values
  with requires_grad=True, cut off from any graph the caller built. The caller's
  tensors are never changed: their `.grad` stays as it was, and their own graph can
  still be backwarded afterwards.
* Tensors and ndarrays keep their float dtype (float32 stays float32: pass float64 when
  the digits matter). Python numbers and lists become float64. Integer (and boolean)
  arrays and Tensors raise TypeError: integers have no derivatives.
* Derivatives come back in the form the argument came in: an ndarray for an ndarray
  (or a list), a Tensor for a Tensor, a Python float for a Python number (an ndarray
  when the derivative has more than one element). `f(x)` itself, where returned, is the
  Tensor f returned, detached from the private graph.
* f must compute with tinygrad_edu ops and return one Tensor. Derivatives with respect
  to an argument that f does not use are zeros, not None.
* These functions do not nest (`grad(grad(f))`): each one differentiates a detached
  copy, so an outer one would see a constant and report zero. That is detected and
  raised; use `hessian` for second derivatives.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from . import engine
from .grad_mode import enable_grad
from .tensor import Tensor

# ---------------------------------------------------------------------------------------
# Which leaves are being differentiated now, to refuse grad(grad(f)) instead of
# silently answering zero.
# ---------------------------------------------------------------------------------------


class _Active(threading.local):
    """The leaves of the transforms running now in this thread, outermost first."""

    stack: tuple = ()  # one frozenset of leaf ids per running transform


_active = _Active()


@contextlib.contextmanager
def _differentiating(leaves: list[Tensor]):
    """Record ops (even inside the caller's no_grad) and remember these leaves as active."""
    outer = _active.stack
    _active.stack = outer + (frozenset(id(leaf) for leaf in leaves),)
    try:
        with enable_grad():
            yield
    finally:
        _active.stack = outer


def _depends_on(t: Tensor, leaf_ids: frozenset) -> bool:
    """Was `t` computed from (or is it) one of these leaves?"""
    if not leaf_ids or not t.requires_grad:
        return False
    if t.grad_fn is None:
        return id(t) in leaf_ids
    for node in engine.topological_order(t.grad_fn):
        for parent in node.parents:  # a leaf input's parent is the leaf itself
            if isinstance(parent, Tensor) and id(parent) in leaf_ids:
                return True
    return False


def _refuse_nesting(what: str):
    raise ValueError(
        f"{what}: called inside another derivative function on a value that depends on "
        "its input (as in grad(grad(f))). Each of these functions differentiates a "
        "detached copy of its arguments, so the outer one would see a constant and "
        "report zero. For second derivatives use tg.hessian(f, x) (or "
        "tg.autograd.grad with create_graph=True)")



# ---------------------------------------------------------------------------------------
# Arguments in, derivatives out.
# ---------------------------------------------------------------------------------------


def _as_leaf(value, what: str, label: str) -> tuple[Tensor, str]:
    """A fresh float leaf holding a copy of `value`, and the form to give derivatives in."""
    if isinstance(value, Tensor):
        if _depends_on(value, frozenset().union(*_active.stack)):
            _refuse_nesting(what)  # an enclosing transform's input, or computed from it
        data, form = value.data, "tensor"
    elif isinstance(value, np.ndarray):
        data, form = value, "ndarray"
    elif isinstance(value, np.generic):  # a NumPy scalar, e.g. np.float32(1.5): keep its dtype
        data, form = np.asarray(value), "number"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        data, form = np.asarray(value, dtype=np.float64), "number"
    elif isinstance(value, list):
        data, form = np.asarray(value, dtype=np.float64), "ndarray"
    else:
        raise TypeError(f"{what}: cannot differentiate with respect to {label}, a "
                        f"{type(value).__name__}: pass a Tensor, an ndarray, a Python number "
                        "or a list of numbers")
    if data.dtype.kind != "f":
        raise TypeError(f"{what}: {label} has dtype {data.dtype}, and only floating-point "
                        "values have derivatives: convert it first, e.g. "
                        "x.astype(np.float64) for an array or x.double() for a Tensor")
    leaf = Tensor(data, requires_grad=True)  # Tensor() copies: f cannot touch the original
    leaf.name = getattr(value, "name", None)
    return leaf, form


def _give_back(data: np.ndarray, form: str):
    """A derivative (an ndarray) in the form its argument came in (see `_as_leaf`)."""
    if form == "tensor":
        return Tensor._make(data, False, None)
    if form == "number" and data.ndim == 0:
        return float(data)
    return data


def _inputs(x, what: str) -> tuple[list[Tensor], list[str], bool]:
    """Leaves for `x`: one input, or a tuple/list of inputs (then f is called as f(*x))."""
    several = isinstance(x, (tuple, list))
    values = list(x) if several else [x]
    if several and not values:
        raise ValueError(f"{what}: x is an empty {type(x).__name__}: pass at least one input")
    prepared = [_as_leaf(v, what, f"x[{i}]" if several else "x") for i, v in enumerate(values)]
    return [leaf for leaf, _ in prepared], [form for _, form in prepared], several


def _as_direction(v, shape: tuple, dtype, what: str, label: str, of: str) -> np.ndarray:
    """`v` (a vector of a vjp or a jvp) as an array of `shape` and `dtype`, or a ValueError."""
    data = v.data if isinstance(v, Tensor) else np.asarray(v)
    if data.shape != shape:
        raise ValueError(f"{what}: {label} has shape {data.shape}, but {of} has shape {shape}; "
                         f"{label} must have exactly the shape of {of}")
    return data.astype(dtype)


# ---------------------------------------------------------------------------------------
# Calling f, and the one engine call everything is made of: v^T J.
# ---------------------------------------------------------------------------------------


def _call(f, args: list, kwargs: dict, what: str) -> Tensor:
    out = f(*args, **kwargs)
    if not isinstance(out, Tensor):
        hint = (" (it returned several values: differentiate one of them)"
                if isinstance(out, (tuple, list)) else
                " (compute with tinygrad_edu ops, not NumPy, so the graph is recorded)")
        raise TypeError(f"{what}: f must return a Tensor, got {type(out).__name__}{hint}")
    # f may close over an enclosing transform's input (the innermost entry is ours)
    if _depends_on(out, frozenset().union(*_active.stack[:-1])):
        _refuse_nesting(what)
    return out


def _check_scalar(out: Tensor, what: str) -> None:
    if out.data.size != 1:
        raise ValueError(
            f"{what}: f must return a one-element Tensor (a scalar), but it returned shape "
            f"{out.shape}. Reduce it first (e.g. f(x).sum() or .mean()), or use "
            "tg.jacobian(f, x) for the derivatives of every output element")


def _pullback(out: Tensor, leaves: list[Tensor], v, create_graph: bool = False) -> list:
    """v^T J for each leaf, as Tensors: one backward pass from `out` with gradient `v`.

    retain_graph=True, always: the jacobian and hessian loops go through the same graph
    many times, and f may use tensors of the caller's own graph, whose saved values a
    freeing backward would destroy. The private graph is freed when `out` is dropped.
    A leaf that `out` does not depend on gets zeros.
    """
    grads = [None] * len(leaves)
    if out.requires_grad:
        grads = engine.grad(out, leaves, grad_outputs=v, retain_graph=True,
                              create_graph=create_graph)
    return [g if g is not None else Tensor._make(np.zeros_like(leaf.data), False, None)
            for g, leaf in zip(grads, leaves)]


def _jacobian_rows(out: Tensor, leaves: list[Tensor]) -> list[np.ndarray]:
    """J for each leaf, flattened to (out.size, leaf.size): row k is e_k^T J."""
    rows = [np.zeros((out.data.size, leaf.data.size), dtype=leaf.data.dtype) for leaf in leaves]
    if not out.requires_grad:  # f(x) is a constant: J = 0, no backward needed
        return rows
    for k in range(out.data.size):
        onehot = np.zeros_like(out.data)  # e_k, in out's shape
        onehot.flat[k] = 1
        for row, g in zip(rows, _pullback(out, leaves, onehot)):
            row[k] = g.data.ravel()
    return rows


# ---------------------------------------------------------------------------------------
# The public functions.
# ---------------------------------------------------------------------------------------


def _check_argnums(argnums, what: str) -> tuple[int, ...]:
    def is_int(a):
        return isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))

    if is_int(argnums):
        return (int(argnums),)
    if isinstance(argnums, tuple) and argnums and all(is_int(a) for a in argnums):
        return tuple(int(a) for a in argnums)
    raise TypeError(f"{what}: argnums must be an int or a non-empty tuple of ints "
                    f"(the positions of the arguments to differentiate), got {argnums!r}")


def _resolve_argnums(argnums: tuple[int, ...], count: int, what: str) -> list[int]:
    positions = []
    for a in argnums:
        if not -count <= a < count:
            raise ValueError(f"{what}: argnums={a}, but f was called with {count} positional "
                             f"argument(s), so a position must be in 0..{count - 1}")
        positions.append(a % count)  # -1 means the last argument, as in indexing
    if len(set(positions)) != len(positions):
        raise ValueError(f"{what}: argnums {argnums} names the same argument twice")
    return positions


def _value_and_grads(f, argnums: tuple[int, ...], args: tuple, kwargs: dict, what: str):
    """(f(*args) detached, [df/d args[i] for i in argnums]): the work of grad."""
    positions = _resolve_argnums(argnums, len(args), what)
    args = list(args)
    leaves, forms = [], []
    for i in positions:
        leaf, form = _as_leaf(args[i], what, f"argument {i}")
        args[i] = leaf
        leaves.append(leaf)
        forms.append(form)
    with _differentiating(leaves):
        out = _call(f, args, kwargs, what)
        _check_scalar(out, what)
        grads = _pullback(out, leaves, np.ones_like(out.data))  # v = 1: v^T J = grad f
    return out.detach(), [_give_back(g.data, form) for g, form in zip(grads, forms)]


def grad(f, argnums=0):
    """The gradient of a scalar-valued f, as a function: `grad(f)(x) = df/dx`.

    For f: R^n -> R the gradient is the vector of partial derivatives
    (df/dx_1, ..., df/dx_n), with x's shape. It is one backward pass: the vector-Jacobian
    product v^T J with v = 1.

    Args:
        f: a function of Tensors returning a one-element Tensor. Keyword arguments are
            passed through and not differentiated.
        argnums: which positional argument to differentiate (an int), or several (a
            tuple of ints: the result is then a tuple of gradients, in that order).
            The other arguments are used as they are.

    Returns:
        A function taking f's arguments and returning df/dx, with x's shape and in x's
        form (ndarray, Tensor, float: see the module docstring).

    Example:
        >>> tg.grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
        array([2., 4.])
    """
    checked = _check_argnums(argnums, "grad")

    def grad_f(*args, **kwargs):
        grads = _value_and_grads(f, checked, args, kwargs, "grad")[1]
        return tuple(grads) if isinstance(argnums, tuple) else grads[0]

    grad_f.__name__ = f"grad_{getattr(f, '__name__', 'f')}"
    grad_f.__doc__ = f"The gradient of {getattr(f, '__name__', 'f')} (argnums={argnums!r})."
    return grad_f


def value_and_grad(f, argnums=0):
    """Like `grad`, but the function returns `(f(x), df/dx)`: both from one forward pass.

    The value is the Tensor f returned, detached; the gradient(s) as in `grad`.
    """
    checked = _check_argnums(argnums, "value_and_grad")

    def value_and_grad_f(*args, **kwargs):
        value, grads = _value_and_grads(f, checked, args, kwargs, "value_and_grad")
        return value, (tuple(grads) if isinstance(argnums, tuple) else grads[0])

    value_and_grad_f.__name__ = f"value_and_grad_{getattr(f, '__name__', 'f')}"
    return value_and_grad_f


def jacobian(f, x):
    """J[i..., j...] = d f(x)[i...] / d x[j...], with shape f(x).shape + x.shape.

    Computed row by row in reverse mode: row i is the vector-Jacobian product e_i^T J
    with a one-hot e_i, so it costs one backward pass per output element (m passes
    for m outputs, whatever the size of x). Forward mode would cost one pass per input
    element instead: cheaper when there are far more outputs than inputs.

    `x` is one input, or a tuple/list of inputs: f is then called as f(*x) and a tuple
    of Jacobians comes back, one per input. (So pass one vector as an ndarray or a
    Tensor, not as a Python list.) Use float64: the Jacobian has x's dtype.
    """
    leaves, forms, several = _inputs(x, "jacobian")
    with _differentiating(leaves):
        out = _call(f, leaves, {}, "jacobian")
        rows = _jacobian_rows(out, leaves)
    jacobians = [_give_back(row.reshape(out.shape + leaf.shape), form)
                 for row, leaf, form in zip(rows, leaves, forms)]
    return tuple(jacobians) if several else jacobians[0]


def hessian(f, x):
    """H[i..., j...] = d^2 f / (dx[i...] dx[j...]) of a scalar f, with shape x.shape + x.shape.

    The Jacobian of the gradient: the gradient is computed by a backward pass with
    create_graph=True, which records it as a graph of its own (every op's backward is
    written with Tensor ops); then each of its n elements is differentiated again, one
    backward pass per element. H is symmetric when f is twice continuously
    differentiable (d^2f/dx_i dx_j = d^2f/dx_j dx_i, Schwarz's theorem).

    For a tuple/list x, f is called as f(*x) and the result is the tuple of blocks
    `H[a][b] = d^2 f / (dx[a] dx[b])`, with shape `x[a].shape + x[b].shape`.
    """
    leaves, forms, several = _inputs(x, "hessian")
    with _differentiating(leaves):
        out = _call(f, leaves, {}, "hessian")
        _check_scalar(out, "hessian")
        gradients = _pullback(out, leaves, np.ones_like(out.data), create_graph=True)
        # A gradient that does not require grad is a constant (f is linear in x):
        # _jacobian_rows then gives its zero rows without a backward.
        blocks = [_jacobian_rows(g, leaves) for g in gradients]
    result = tuple(
        tuple(_give_back(block.reshape(leaves[a].shape + leaves[b].shape), forms[a])
              for b, block in enumerate(row))
        for a, row in enumerate(blocks))
    return result if several else result[0][0]


def vjp(f, x, v):
    """(f(x), v^T J): the vector-Jacobian product, one backward pass with gradient v.

    v weights the outputs, so it has f(x)'s shape; v^T J has x's shape:
    (v^T J)[j...] = sum over i of v[i...] * d f(x)[i...] / d x[j...].
    For a tuple/list x (f called as f(*x)) the second item is a tuple, one per input.
    """
    leaves, forms, several = _inputs(x, "vjp")
    with _differentiating(leaves):
        out = _call(f, leaves, {}, "vjp")
        cotangent = _as_direction(v, out.shape, out.dtype, "vjp", "v", "f(x)")
        pulled = _pullback(out, leaves, cotangent)
    products = [_give_back(g.data, form) for g, form in zip(pulled, forms)]
    return out.detach(), (tuple(products) if several else products[0])


def jvp(f, x, v):
    """(f(x), J v): the Jacobian-vector product, the change of f(x) along direction v.

    v has x's shape (for a tuple/list x, v is a tuple/list of the same length and
    J v = sum over inputs a of J_a v[a]); J v has f(x)'s shape and comes back in the
    form of the (first) input.

    The engine only runs backward, so J v is made of two vector-Jacobian products (the
    "double-vjp trick"). Take any u of f(x)'s shape as a variable:

        g(u) = u^T J                a backward pass, recorded (create_graph=True):
                                    g is linear in u
        <g(u), v> = u^T (J v)       a scalar
        d/du <g(u), v> = J v        a second backward pass, with respect to u

    So it costs two backward passes and no Jacobian, whatever the sizes.
    """
    leaves, forms, several = _inputs(x, "jvp")
    directions = list(v) if several and isinstance(v, (tuple, list)) else [v]
    if len(directions) != len(leaves):
        raise ValueError(f"jvp: x has {len(leaves)} inputs, so v must be a tuple of "
                         f"{len(leaves)} directions (one per input), got {v!r:.80}")
    directions = [
        _as_direction(d, leaf.shape, leaf.data.dtype, "jvp",
                      f"v[{a}]" if several else "v", f"x[{a}]" if several else "x")
        for a, (d, leaf) in enumerate(zip(directions, leaves))]
    with _differentiating(leaves):
        out = _call(f, leaves, {}, "jvp")
        tangent = np.zeros_like(out.data)
        if out.requires_grad and out.data.dtype.kind == "f":
            # u's value does not matter (g is linear in u): zeros. Its dtype must be
            # out's, or the engine would convert it to a constant and cut the graph.
            u = Tensor(np.zeros_like(out.data), requires_grad=True)
            pulled = engine.grad(out, leaves, grad_outputs=u, retain_graph=True,
                                   create_graph=True)
            terms = [(g * d).sum() for g, d in zip(pulled, directions) if g is not None]
            if terms:
                inner = terms[0]
                for term in terms[1:]:
                    inner = inner + term
                if inner.requires_grad:  # else J v does not depend on u: it is zero
                    tangent = _pullback(inner, [u], np.ones_like(inner.data))[0].data
    return out.detach(), _give_back(tangent, forms[0])

"""Every op, driven by one table: forward against NumPy, backward against finite differences.

Each row of `OPS` names an op, gives the tinygrad_edu function (taking Tensors) and the
NumPy reference (taking arrays), how many tensor inputs it takes, where its inputs are
drawn from, whether it broadcasts, and whether it is smooth. Three tests run over the
whole table:

- `test_forward_matches_numpy`: the values (and the dtype) equal NumPy's, in float64;
- `test_backward_matches_finite_differences`: `tg.gradcheck` with both methods,
  "central" and "np.gradient", at their default tolerances;
- `test_second_derivatives_match` (smooth ops only): `tg.gradgradcheck`.

Shapes are drawn by Hypothesis (ranks 0 to 4, sizes 1 to 3; broadcasting pairs for the
binary ops), and the values by a NumPy generator seeded from Hypothesis, so that a
failing example is reproduced exactly. Inputs come from each op's domain: away from
kinks (|x| > 0.1 for relu), ties (maximum, max) and poles (log, a divisor), where a
finite difference measures something other than the derivative.

The rest of the file checks what the table cannot: dtypes, NumPy arrays on either side
of an operator, comparisons, and the error messages.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu.gradcheck import METHODS

# ---------------------------------------------------------------------------------------
# input domains: each is f(rng, shape) -> float64 array
# ---------------------------------------------------------------------------------------


def real(rng, shape):
    """Anywhere on [-2, 2]: both signs, so every branch of an op is exercised."""
    return rng.uniform(-2.0, 2.0, shape)


def positive(rng, shape):
    """Away from the pole (log, 1/x) or the infinite slope (sqrt) at 0."""
    return rng.uniform(0.2, 3.0, shape)


def base_above_half(rng, shape):
    """The base of x ** y with a tensor exponent: log(x) must exist and stay moderate."""
    return rng.uniform(0.5, 2.0, shape)


def away_from(*kinks, gap=0.1):
    """Real values at least `gap` from each kink, where the derivative jumps."""

    def draw(rng, shape):
        x = rng.uniform(-2.0, 2.0, shape)
        for kink in kinks:
            near = np.abs(x - kink) <= gap
            x = np.where(near, kink + np.where(x >= kink, 1.5, -1.5) * gap, x)
        return x

    draw.__name__ = f"away_from{kinks}"
    return draw


nonzero = away_from(0.0)


def grid(offset):
    """Values near k/2 + offset: two inputs drawn with offsets 0 and 0.25 never tie
    (they stay at least 0.15 apart), yet either one can be the larger."""

    def draw(rng, shape):
        return 0.5 * rng.integers(-4, 5, shape) + offset + rng.uniform(-0.05, 0.05, shape)

    draw.__name__ = f"grid({offset})"
    return draw


def distinct(rng, shape):
    """All elements at least 0.15 apart, so that max/min have no ties."""
    n = int(np.prod(shape))
    values = 0.25 * rng.permutation(n) - 0.125 * n + rng.uniform(-0.05, 0.05, n)
    return values.reshape(shape)


# ---------------------------------------------------------------------------------------
# shapes: each strategy gives a tuple with one shape per tensor input
# ---------------------------------------------------------------------------------------


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=3, count=1):
    """`count` copies of one shape of rank min_dims..max_dims."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side).map(lambda s: (s,) * count)


def broadcasting(min_dims=0, max_dims=4):
    """Two shapes that broadcast together, such as (3, 1) and (2, 1, 4), or () and (2,)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=min_dims, max_dims=max_dims,
                                             min_side=1, max_side=3).map(
        lambda b: b.input_shapes)


def with_axis_sizes(count, axis, min_dims=1, max_dims=3):
    """`count` shapes equal except along `axis` (for cat)."""

    def build(drawn):
        base, sizes = drawn
        at = axis % len(base)
        return tuple(base[:at] + (n,) + base[at + 1:] for n in sizes)

    return st.tuples(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, max_side=3),
                     st.lists(st.integers(1, 3), min_size=count, max_size=count)).map(build)


def letters(spec):
    """Shapes for an einsum spec without '...': one size per letter, shared by operands."""
    operands = spec.split("->")[0].split(",")
    names = sorted(set("".join(operands)))
    return st.lists(st.integers(1, 3), min_size=len(names), max_size=len(names)).map(
        lambda sizes: tuple(tuple(dict(zip(names, sizes))[c] for c in op) for op in operands))


def matmul_shapes(left_dims, right_dims, batch=False):
    """Operand shapes for x @ y with 1 or 2 core axes each, and batch axes that broadcast
    (such as (2, 1) against (3,)) when `batch` is set."""
    sizes = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))
    batches = (hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=2,
                                                 max_side=3).map(lambda b: b.input_shapes)
               if batch else st.just(((), ())))

    def build(drawn):
        (m, n, k), (bx, by) = drawn
        x = (n,) if left_dims == 1 else (m, n)
        y = (n,) if right_dims == 1 else (n, k)
        return (bx + x if left_dims == 2 else x), (by + y if right_dims == 2 else y)

    return st.tuples(sizes, batches).map(build)


# ---------------------------------------------------------------------------------------
# NumPy references that NumPy does not have under one name
# ---------------------------------------------------------------------------------------

_erf = np.vectorize(math.erf, otypes=[np.float64])


def np_gelu(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def np_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis):
    return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))


def pattern(shape):
    """A fixed boolean mask of `shape` with both values (for where and mask indexing)."""
    return np.arange(int(np.prod(shape))).reshape(shape) % 3 != 1


def both_shape(x, y):
    """The broadcast shape of two arrays or Tensors."""
    return np.broadcast_shapes(x.shape, y.shape)


# ---------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One row of the op table."""

    name: str
    fn: Callable  # Tensors -> Tensor (or a tuple of Tensors)
    ref: Callable  # ndarrays -> ndarray (or a sequence of them)
    n_inputs: int = 1
    domain: Callable | tuple = real  # one for all inputs, or one per input
    broadcast: bool = False  # a binary elementwise op: shapes are drawn broadcasting
    smooth: bool = True  # infinitely differentiable on its domain: gradgradcheck it
    shapes: st.SearchStrategy | None = None  # None: elementwise shapes of rank 0..4
    eps: float = 1e-6  # the finite-difference step (the gradcheck default)

    def shape_strategy(self) -> st.SearchStrategy:
        if self.shapes is not None:
            return self.shapes
        return broadcasting() if self.broadcast else shapes(count=self.n_inputs)

    def domains(self) -> tuple:
        return self.domain if isinstance(self.domain, tuple) else (self.domain,) * self.n_inputs


def unary(name, fn, ref, **options):
    return Op(name, fn, ref, 1, **options)


def binary(name, fn, ref, **options):
    """An elementwise op of two tensors: it broadcasts."""
    return Op(name, fn, ref, 2, broadcast=True, **options)


ELEMENTWISE = [
    # arithmetic with Python numbers on either side
    unary("-x", operator.neg, np.negative),
    unary("x+1.5", lambda x: x + 1.5, lambda x: x + 1.5),
    unary("1.5+x", lambda x: 1.5 + x, lambda x: 1.5 + x),
    unary("x-1.5", lambda x: x - 1.5, lambda x: x - 1.5),
    unary("1.5-x", lambda x: 1.5 - x, lambda x: 1.5 - x),
    unary("x*2.5", lambda x: x * 2.5, lambda x: x * 2.5),
    unary("2.5*x", lambda x: 2.5 * x, lambda x: 2.5 * x),
    unary("x/4", lambda x: x / 4, lambda x: x / 4),
    unary("2/x", lambda x: 2 / x, lambda x: 2 / x, domain=nonzero),
    unary("x**2", lambda x: x ** 2, lambda x: x ** 2),
    unary("x**3", lambda x: x ** 3, lambda x: x ** 3),
    unary("x**2.5", lambda x: x ** 2.5, lambda x: x ** 2.5, domain=positive),
    unary("x**-1.5", lambda x: x ** -1.5, lambda x: x ** -1.5, domain=positive),
    unary("2**x", lambda x: 2 ** x, lambda x: 2.0 ** x),
    unary("0.5**x", lambda x: 0.5 ** x, lambda x: 0.5 ** x),
    # elementwise math
    unary("abs", abs, np.abs, domain=nonzero, smooth=False),
    unary("tg.abs", tg.abs, np.abs, domain=nonzero, smooth=False),
    unary("exp", lambda x: x.exp(), np.exp),
    unary("log", lambda x: x.log(), np.log, domain=positive),
    unary("sqrt", lambda x: x.sqrt(), np.sqrt, domain=positive),
    unary("sin", lambda x: x.sin(), np.sin),
    unary("cos", tg.cos, np.cos),
    unary("tanh", lambda x: x.tanh(), np.tanh),
    unary("sigmoid", tg.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    unary("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), domain=nonzero, smooth=False),
    unary("leaky_relu", tg.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x),
          domain=nonzero, smooth=False),
    unary("leaky_relu(0.2)", lambda x: x.leaky_relu(0.2), lambda x: np.where(x > 0, x, 0.2 * x),
          domain=nonzero, smooth=False),
    unary("gelu", lambda x: x.gelu(), np_gelu),
    unary("gelu(tanh)", lambda x: tg.gelu(x, approximate="tanh"), np_gelu_tanh),
    unary("softplus", lambda x: x.softplus(), lambda x: np.log1p(np.exp(x))),
    unary("clip(-0.5,0.5)", lambda x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
          domain=away_from(-0.5, 0.5), smooth=False),
    unary("clip(lo=-0.5)", lambda x: tg.clip(x, lo=-0.5), lambda x: np.maximum(x, -0.5),
          domain=away_from(-0.5), smooth=False),
    unary("clip(hi=0.5)", lambda x: x.clip(hi=0.5), lambda x: np.minimum(x, 0.5),
          domain=away_from(0.5), smooth=False),
    unary("maximum(x,0.3)", lambda x: x.maximum(0.3), lambda x: np.maximum(x, 0.3),
          domain=away_from(0.3), smooth=False),
    unary("where(x>0,x,0.1x)", lambda x: tg.where(x > 0, x, 0.1 * x),
          lambda x: np.where(x > 0, x, 0.1 * x), domain=nonzero, smooth=False),
    # float64 -> float32 and back: the float32 step rounds x to 7 digits, which a 1e-6 step
    # would not survive; the op is linear, so a larger step costs no truncation error and
    # 1e-3 leaves a round-off of ~1e-4 relative, still far below a factor-of-2 error.
    unary("astype(float32)", lambda x: x.astype(np.float32), lambda x: x.astype(np.float32),
          eps=1e-3),
    unary("float().double()", lambda x: x.float().double(),
          lambda x: x.astype(np.float32).astype(np.float64), eps=1e-3),
    unary("astype(float64)", lambda x: x.astype(tg.float64), lambda x: x.astype(np.float64)),
    # two tensors, broadcasting
    binary("x+y", operator.add, np.add),
    binary("x-y", operator.sub, np.subtract),
    binary("x*y", operator.mul, np.multiply),
    binary("x/y", operator.truediv, np.divide, domain=(real, nonzero)),
    binary("x**y", operator.pow, np.power, domain=(base_above_half, real)),
    binary("maximum", lambda x, y: x.maximum(y), np.maximum, domain=(grid(0.0), grid(0.25)),
           smooth=False),
    binary("tg.maximum", tg.maximum, np.maximum, domain=(grid(0.25), grid(0.0)), smooth=False),
    binary("minimum", tg.minimum, np.minimum, domain=(grid(0.0), grid(0.25)), smooth=False),
    binary("where", lambda x, y: tg.where(pattern(both_shape(x, y)), x, y),
           lambda x, y: np.where(pattern(both_shape(x, y)), x, y)),
]

# Reductions: every one with axis None, an int, a negative int, tuples (with negatives),
# with and without keepdims. min_dims makes the axes exist.
AXES = [
    ("", {}, 0),
    ("keepdims", {"keepdims": True}, 0),
    ("axis=0", {"axis": 0}, 1),
    ("axis=1", {"axis": 1}, 2),
    ("axis=-1,keepdims", {"axis": -1, "keepdims": True}, 1),
    ("axis=(0,-1)", {"axis": (0, -1)}, 2),
    ("axis=(-1,-3),keepdims", {"axis": (-1, -3), "keepdims": True}, 3),
]


def _reduction_rows(name, method, ref, domain=real, smooth=True, min_side=1, **extra):
    rows = []
    for label, axis, min_dims in AXES:
        options = {**axis, **extra}
        rows.append(unary(
            f"{name}({label})",
            lambda x, options=options: getattr(x, method)(**options),
            lambda x, options=options: ref(x, **options),
            domain=domain, smooth=smooth,
            # var and std need two elements per reduction (ddof=1; and std's derivative
            # is infinite where the variance is 0)
            shapes=shapes(min_dims=max(min_dims, 1 if min_side > 1 else 0), min_side=min_side)))
    return rows


REDUCTIONS = [
    *_reduction_rows("sum", "sum", np.sum),
    *_reduction_rows("amax", "amax", np.max, domain=distinct, smooth=False),
    *_reduction_rows("amin", "amin", np.min, domain=distinct, smooth=False),
    *_reduction_rows("mean", "mean", np.mean),
    # var and std are unbiased by default (PyTorch's correction=1, NumPy's ddof=1)
    *_reduction_rows("var", "var", partial(np.var, ddof=1), min_side=2),
    *_reduction_rows("var_ddof0", "var", np.var, min_side=2, ddof=0),
    *_reduction_rows("std", "std", partial(np.std, ddof=1), domain=distinct, min_side=2),
    *_reduction_rows("std_ddof0", "std", np.std, domain=distinct, min_side=2, ddof=0),
    unary("var(unbiased=False)", lambda x: x.var(unbiased=False), np.var,
          shapes=shapes(min_dims=1, min_side=2)),
    unary("std(0,correction=0)", lambda x: x.std(0, correction=0), lambda x: np.std(x, 0),
          domain=distinct, shapes=shapes(min_dims=1, min_side=2)),
    unary("max(dim=-1).values", lambda x: x.max(dim=-1).values, lambda x: np.max(x, -1),
          domain=distinct, smooth=False, shapes=shapes(min_dims=1)),
    unary("min(0,keepdim).values", lambda x: x.min(0, keepdim=True).values,
          lambda x: np.min(x, 0, keepdims=True), domain=distinct, smooth=False,
          shapes=shapes(min_dims=1)),
    unary("max()", lambda x: x.max(), np.max, domain=distinct, smooth=False),
    *_reduction_rows("logsumexp", "logsumexp", np_logsumexp),
    unary("tg.sum(dim=1,keepdim)", lambda x: tg.sum(x, dim=1, keepdim=True),
          lambda x: np.sum(x, axis=1, keepdims=True), shapes=shapes(min_dims=2)),
    unary("tg.mean(axis=-2)", lambda x: tg.mean(x, axis=-2), lambda x: np.mean(x, axis=-2),
          shapes=shapes(min_dims=2)),
    unary("tg.max(x,0)[0]", lambda x: tg.max(x, 0)[0], lambda x: np.max(x, 0), domain=distinct,
          smooth=False, shapes=shapes(min_dims=1)),
    unary("softmax", lambda x: x.softmax(), lambda x: np_softmax(x, -1),
          shapes=shapes(min_dims=1)),
    unary("softmax(axis=0)", lambda x: tg.softmax(x, axis=0), lambda x: np_softmax(x, 0),
          shapes=shapes(min_dims=1)),
    unary("softmax(dim=-2)", lambda x: x.softmax(dim=-2), lambda x: np_softmax(x, -2),
          shapes=shapes(min_dims=2)),
    unary("log_softmax", lambda x: x.log_softmax(), lambda x: np_log_softmax(x, -1),
          shapes=shapes(min_dims=1)),
    unary("log_softmax(axis=1)", lambda x: tg.log_softmax(x, 1), lambda x: np_log_softmax(x, 1),
          shapes=shapes(min_dims=2)),
]


def _expanded(shape):
    return (2,) + tuple(3 if n == 1 else n for n in shape)


def _with_unit_axis(shape):
    return shape[:1] + (1,) + shape[1:]


MOVEMENT = [
    unary("reshape(reversed)", lambda x: x.reshape(*reversed(x.shape)),
          lambda x: x.reshape(tuple(reversed(x.shape)))),
    unary("reshape(-1,n)", lambda x: x.reshape(-1, x.shape[-1]),
          lambda x: x.reshape(-1, x.shape[-1]), shapes=shapes(min_dims=1)),
    unary("tg.reshape((n,))", lambda x: tg.reshape(x, (x.numel(),)), lambda x: x.reshape(-1)),
    unary("transpose(-2,-1)", lambda x: x.transpose(-2, -1), lambda x: np.swapaxes(x, -2, -1),
          shapes=shapes(min_dims=2)),
    unary("permute(1,2,0)", lambda x: x.permute(1, 2, 0),
          lambda x: np.transpose(x, (1, 2, 0)), shapes=shapes(min_dims=3, max_dims=3)),
    unary("permute((3,1,0,2))", lambda x: tg.permute(x, (3, 1, 0, 2)),
          lambda x: np.transpose(x, (3, 1, 0, 2)), shapes=shapes(min_dims=4)),
    unary("permute(-1,0)", lambda x: x.permute(-1, 0), lambda x: np.transpose(x, (1, 0)),
          shapes=shapes(min_dims=2, max_dims=2)),
    unary("swapaxes(0,-1)", lambda x: x.swapaxes(0, -1), lambda x: np.swapaxes(x, 0, -1),
          shapes=shapes(min_dims=1)),
    unary("swapaxes(1,2)", lambda x: x.swapaxes(1, 2), lambda x: np.swapaxes(x, 1, 2),
          shapes=shapes(min_dims=3)),
    unary(".T", lambda x: x.T, lambda x: x.T),
    unary("expand", lambda x: x.expand(*_expanded(x.shape)),
          lambda x: np.broadcast_to(x, _expanded(x.shape))),
    unary("expand(-1)", lambda x: tg.expand(x, [-1 if n > 1 else 2 for n in x.shape]),
          lambda x: np.broadcast_to(x, [n if n > 1 else 2 for n in x.shape])),
    unary("squeeze()", lambda x: x.squeeze(), np.squeeze),
    unary("squeeze(1)", lambda x: x.squeeze(1), lambda x: np.squeeze(x, 1),
          shapes=shapes(min_dims=1, max_dims=3).map(lambda s: (_with_unit_axis(s[0]),))),
    unary("tg.squeeze(-1)", lambda x: tg.squeeze(x, -1), lambda x: np.squeeze(x, -1),
          shapes=shapes(max_dims=3).map(lambda s: (s[0] + (1,),))),
    unary("unsqueeze(0)", lambda x: x.unsqueeze(0), lambda x: np.expand_dims(x, 0)),
    unary("unsqueeze(-1)", lambda x: tg.unsqueeze(x, -1), lambda x: np.expand_dims(x, -1)),
    unary("unsqueeze(1)", lambda x: x.unsqueeze(1), lambda x: np.expand_dims(x, 1),
          shapes=shapes(min_dims=1)),
    unary("flatten()", lambda x: x.flatten(), lambda x: x.reshape(-1)),
    unary("flatten(1)", lambda x: tg.flatten(x, 1), lambda x: x.reshape(x.shape[0], -1),
          shapes=shapes(min_dims=2)),
    unary("flatten(0,-2)", lambda x: x.flatten(0, -2), lambda x: x.reshape(-1, x.shape[-1]),
          shapes=shapes(min_dims=2)),
    unary("pad(per axis, 0.5)", lambda x: x.pad([(i % 2, 1) for i in range(x.ndim)], 0.5),
          lambda x: np.pad(x, [(i % 2, 1) for i in range(x.ndim)], constant_values=0.5),
          shapes=shapes(min_dims=1, max_dims=3)),
    unary("tg.pad((1,2))", lambda x: tg.pad(x, (1, 2)), lambda x: np.pad(x, (1, 2)),
          shapes=shapes(min_dims=1, max_dims=3)),
]

# Indexing: sizes of at least 2, so that index 1 exists on every axis.
INDEXED = shapes(min_dims=1, min_side=2)
INDEXED_2D = shapes(min_dims=2, min_side=2)
REPEATS = np.array([1, 0, 1, 1])  # element 1 picked three times: its gradient adds up

INDEXING = [
    unary("x[1]", lambda x: x[1], lambda x: x[1], shapes=INDEXED),
    unary("x[-1]", lambda x: x[-1], lambda x: x[-1], shapes=INDEXED),
    unary("x[1:]", lambda x: x[1:], lambda x: x[1:], shapes=INDEXED),
    unary("x[::-2]", lambda x: x[::-2], lambda x: x[::-2], shapes=INDEXED),
    unary("x[0,1:]", lambda x: x[0, 1:], lambda x: x[0, 1:], shapes=INDEXED_2D),
    unary("x[None]", lambda x: x[None], lambda x: x[None]),
    unary("x[:,None,1]", lambda x: x[:, None, 1], lambda x: x[:, None, 1], shapes=INDEXED_2D),
    unary("x[...,1]", lambda x: x[..., 1], lambda x: x[..., 1], shapes=INDEXED),
    unary("x[None,...,None]", lambda x: x[None, ..., None], lambda x: x[None, ..., None]),
    unary("x[[1,0,1,1]]", lambda x: x[[1, 0, 1, 1]], lambda x: x[REPEATS], shapes=INDEXED),
    unary("x[int tensor]", lambda x: x[tg.Tensor(REPEATS)], lambda x: x[REPEATS],
          shapes=INDEXED),
    unary("x[2-D int array]", lambda x: x[np.array([[0, 1], [1, 1]])],
          lambda x: x[np.array([[0, 1], [1, 1]])], shapes=INDEXED),
    unary("x[arr,arr]", lambda x: x[REPEATS, np.array([1, 1, 0, 1])],
          lambda x: x[REPEATS, np.array([1, 1, 0, 1])], shapes=INDEXED_2D),
    unary("x[:,arr]", lambda x: x[:, REPEATS], lambda x: x[:, REPEATS], shapes=INDEXED_2D),
    unary("x[...,arr,None]", lambda x: x[..., REPEATS, None], lambda x: x[..., REPEATS, None],
          shapes=INDEXED),
    unary("x[mask]", lambda x: x[pattern(x.shape)], lambda x: x[pattern(x.shape)]),
    unary("x[row mask]", lambda x: x[np.arange(x.shape[0]) != 1],
          lambda x: x[np.arange(x.shape[0]) != 1], shapes=INDEXED),
    unary("x[x>0]", lambda x: x[x > 0], lambda x: x[x > 0], domain=nonzero),
]

# Combining and cutting tensors
JOINING = [
    Op("cat(axis=0)", lambda *xs: tg.cat(xs), lambda *xs: np.concatenate(xs), 3,
       shapes=with_axis_sizes(3, 0)),
    Op("cat(axis=-1)", lambda x, y: tg.cat([x, y], axis=-1),
       lambda x, y: np.concatenate([x, y], axis=-1), 2, shapes=with_axis_sizes(2, -1)),
    Op("stack", lambda *xs: tg.stack(xs), lambda *xs: np.stack(xs), 3, shapes=shapes(count=3)),
    Op("stack(axis=-1)", lambda x, y: tg.stack([x, y], axis=-1),
       lambda x, y: np.stack([x, y], axis=-1), 2, shapes=shapes(count=2)),
    unary("split(2,axis=-1)", lambda x: tuple(tg.split(x, 2, axis=-1)),
          lambda x: np.split(x, range(2, x.shape[-1], 2), axis=-1), shapes=shapes(min_dims=1)),
    unary("split([1,n-1])", lambda x: tuple(tg.split(x, [1, x.shape[0] - 1])),
          lambda x: np.split(x, [1]), shapes=INDEXED),
]

PRODUCTS = [
    Op("1-D @ 1-D", operator.matmul, np.matmul, 2, shapes=matmul_shapes(1, 1)),
    Op("1-D @ 2-D", operator.matmul, np.matmul, 2, shapes=matmul_shapes(1, 2)),
    Op("2-D @ 1-D", tg.matmul, np.matmul, 2, shapes=matmul_shapes(2, 1)),
    Op("2-D @ 2-D", lambda x, y: x.matmul(y), np.matmul, 2, shapes=matmul_shapes(2, 2)),
    Op("batched @ batched", operator.matmul, np.matmul, 2,
       shapes=matmul_shapes(2, 2, batch=True)),
    Op("1-D @ batched", operator.matmul, np.matmul, 2, shapes=matmul_shapes(1, 2, batch=True)),
    Op("batched @ 1-D", operator.matmul, np.matmul, 2, shapes=matmul_shapes(2, 1, batch=True)),
    Op("dot 1-D", tg.dot, np.dot, 2, shapes=matmul_shapes(1, 1)),
    Op("dot 2-D", lambda x, y: x.dot(y), np.dot, 2, shapes=matmul_shapes(2, 2)),
    Op("outer", tg.outer, np.outer, 2, shapes=st.tuples(shapes(1, 1), shapes(1, 1)).map(
        lambda s: (s[0][0], s[1][0]))),
    Op("outer (2-D, flattened)", tg.outer, np.outer, 2,
       shapes=st.tuples(shapes(2, 2), shapes(0, 2)).map(lambda s: (s[0][0], s[1][0]))),
]

EINSUM_SPECS = ["ij,jk->ik", "bij,bjk->bik", "i,i->", "ij,jk", "ij,k->i", "ij,ij->ij",
                "ij->ji", "bi,bj->bij"]
EINSUM = [
    *[Op(f"einsum {spec}", lambda *xs, spec=spec: tg.einsum(spec, *xs),
         lambda *xs, spec=spec: np.einsum(spec, *xs), spec.count(",") + 1, shapes=letters(spec))
      for spec in EINSUM_SPECS],
    unary("einsum ij->j", lambda x: tg.einsum("ij->j", x), lambda x: np.einsum("ij->j", x),
          shapes=shapes(2, 2)),
    Op("einsum ...ij,...jk->...ik", lambda x, y: tg.einsum("...ij,...jk->...ik", x, y),
       lambda x, y: np.einsum("...ij,...jk->...ik", x, y), 2,
       shapes=matmul_shapes(2, 2, batch=True)),
    Op("einsum ...ij,jk (no batch on y)", lambda x, y: tg.einsum("...ij,jk->...ik", x, y),
       lambda x, y: np.einsum("...ij,jk->...ik", x, y), 2,
       shapes=matmul_shapes(2, 2, batch=True).map(lambda s: (s[0], s[1][-2:]))),
    unary("einsum ...i->...", lambda x: tg.einsum("...i->...", x),
          lambda x: np.einsum("...i->...", x), shapes=shapes(min_dims=1)),
]

OPS = ELEMENTWISE + REDUCTIONS + MOVEMENT + INDEXING + JOINING + PRODUCTS + EINSUM
SMOOTH = [op for op in OPS if op.smooth]


def test_the_table_is_sound():
    """Names are unique (they are the test ids) and each row's domains fit its inputs."""
    names = [op.name for op in OPS]
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]
    for op in OPS:
        assert len(op.domains()) == op.n_inputs, op.name
        assert not op.broadcast or op.n_inputs == 2, op.name


# ---------------------------------------------------------------------------------------
# the three table-driven tests
# ---------------------------------------------------------------------------------------


def draw_inputs(data, op: Op) -> list[np.ndarray]:
    """Shapes from Hypothesis; values from each input's domain, with a generator seeded
    by Hypothesis too, so that a failure shrinks and replays."""
    input_shapes = data.draw(op.shape_strategy(), label="shapes")
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    return [np.asarray(domain(rng, shape), dtype=np.float64)
            for domain, shape in zip(op.domains(), input_shapes)]


def as_list(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def single_output(fn):
    """f as a function with one output (gradgradcheck's requirement): outputs joined flat."""

    def joined(*xs):
        outs = as_list(fn(*xs))
        return outs[0] if len(outs) == 1 else tg.cat([o.reshape(-1) for o in outs])

    return joined


def op_id(op: Op) -> str:
    return op.name


@pytest.mark.parametrize("op", OPS, ids=op_id)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_forward_matches_numpy(op, data):
    arrays = draw_inputs(data, op)
    originals = [a.copy() for a in arrays]
    outs = as_list(op.fn(*[tg.Tensor(a) for a in arrays]))
    expected = [np.asarray(e) for e in as_list(op.ref(*originals))]
    assert len(outs) == len(expected)
    for out, want in zip(outs, expected):
        assert isinstance(out, tg.Tensor)
        assert out.shape == want.shape
        assert out.dtype == want.dtype
        np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-12)
    for a, original in zip(arrays, originals):
        np.testing.assert_array_equal(a, original)  # the op did not write into its input


@pytest.mark.parametrize("op", OPS, ids=op_id)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_backward_matches_finite_differences(op, data):
    arrays = draw_inputs(data, op)
    for method in METHODS:
        inputs = [tg.Tensor(a, requires_grad=True) for a in arrays]
        report = tg.gradcheck(op.fn, inputs, eps=op.eps, method=method, verbose=False)
        assert report, str(report)
        assert len(report.inputs) == op.n_inputs


@pytest.mark.parametrize("op", SMOOTH, ids=op_id)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_second_derivatives_match(op, data):
    arrays = draw_inputs(data, op)
    inputs = [tg.Tensor(a, requires_grad=True) for a in arrays]
    report = tg.gradgradcheck(single_output(op.fn), inputs, eps=op.eps, verbose=False)
    assert report, str(report)


# ---------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------

F32_OPS = [op for op in OPS if not op.name.startswith(("astype", "float()"))]


@pytest.mark.parametrize("op", F32_OPS, ids=op_id)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_float32_in_float32_out(op, data):
    """No op promotes float32 to float64 (a Python constant inside an op must not), and
    every gradient comes back in its input's dtype."""
    arrays = [a.astype(np.float32) for a in draw_inputs(data, op)]
    inputs = [tg.Tensor(a, requires_grad=True) for a in arrays]
    outs = as_list(op.fn(*inputs))
    for out in outs:
        assert out.dtype == np.float32, f"{op.name} gave {out.dtype}"
    total = outs[0].sum()
    for out in outs[1:]:
        total = total + out.sum()
    total.backward()
    for x in inputs:
        assert x.grad is not None and x.grad.dtype == np.float32 and x.grad.shape == x.shape


OPERATORS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "**": operator.pow,
}
SCALARS = [2, 2.5, np.float64(2.5), np.float32(2.5), np.int64(2)]


@pytest.mark.parametrize("symbol", OPERATORS)
@pytest.mark.parametrize("scalar", SCALARS, ids=lambda s: f"{type(s).__name__}({s})")
def test_scalars_on_either_side_keep_float32(symbol, scalar):
    fn = OPERATORS[symbol]
    x = tg.Tensor([0.5, 1.0, 2.0], requires_grad=True)
    for out, expected in [(fn(x, scalar), fn(x.data.astype(np.float64), float(scalar))),
                          (fn(scalar, x), fn(float(scalar), x.data.astype(np.float64)))]:
        assert isinstance(out, tg.Tensor)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.data, expected, rtol=1e-6)
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == np.float32


def test_numpy_float64_scalar_times_float32_tensor_stays_float32():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = np.float64(2.0) * x
    assert isinstance(y, tg.Tensor) and y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [2.0, 4.0])
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


@pytest.mark.parametrize("symbol", OPERATORS)
def test_float32_tensor_with_float64_array_promotes_as_numpy(symbol):
    fn = OPERATORS[symbol]
    x = tg.Tensor([0.5, 1.0, 2.0], requires_grad=True)
    other = np.array([1.5, 2.0, 0.5])  # float64
    for out, expected in [(fn(x, other), fn(x.data, other)), (fn(other, x), fn(other, x.data))]:
        assert out.dtype == expected.dtype == np.float64
        np.testing.assert_allclose(out.data, expected, rtol=1e-12)
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == np.float32  # the gradient comes back in the input's dtype


def test_default_dtype_float64_makes_float64_tensors():
    tg.set_default_dtype(np.float64)
    assert tg.Tensor([1.0, 2.0]).dtype == np.float64
    assert (tg.Tensor([1.0]) * 2.5).dtype == np.float64


@pytest.mark.parametrize(("source", "target"), [(np.float64, np.float32),
                                                (np.float32, np.float64)])
def test_astype_gradient_is_in_the_input_dtype(source, target):
    x = tg.Tensor(np.array([1.0, 2.0], dtype=source), requires_grad=True)
    y = x.astype(target)
    assert y.dtype == target
    (y * y).sum().backward()
    assert x.grad.dtype == source
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


def test_mixed_float_tensors_promote_and_keep_their_gradient_dtypes():
    x = tg.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = tg.Tensor(np.array([3.0, 4.0]), requires_grad=True)  # float64
    z = x * y
    assert z.dtype == np.float64
    z.sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])
    np.testing.assert_allclose(y.grad.data, [1.0, 2.0])


# ---------------------------------------------------------------------------------------
# NumPy arrays on either side of every operator
# ---------------------------------------------------------------------------------------

ARRAY_OPERATORS = {**OPERATORS, "@": operator.matmul}


def test_ndarray_plus_tensor_is_a_tensor_with_grad():
    t = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = np.ones(3) + t
    assert isinstance(out, tg.Tensor) and out.grad_fn is not None
    (out * out).sum().backward()
    np.testing.assert_allclose(t.grad.data, [4.0, 6.0, 8.0])


@pytest.mark.parametrize("symbol", ARRAY_OPERATORS)
@pytest.mark.parametrize("side", ["array op tensor", "tensor op array"])
def test_ndarray_on_either_side(symbol, side):
    fn = ARRAY_OPERATORS[symbol]
    rng = np.random.default_rng(1)
    array = rng.uniform(0.5, 2.0, (2, 3, 3))  # broadcasts against the tensor's (3, 3)
    x = tg.Tensor(rng.uniform(0.5, 2.0, (3, 3)), requires_grad=True)
    f = (lambda t: fn(array, t)) if side == "array op tensor" else (lambda t: fn(t, array))
    out = f(x)
    assert isinstance(out, tg.Tensor) and out.requires_grad
    expected = fn(array, x.data) if side == "array op tensor" else fn(x.data, array)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == (3, 3)
    assert tg.gradcheck(f, [x], verbose=False)


# ---------------------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------------------

COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
               "==": operator.eq, "!=": operator.ne}


@pytest.mark.parametrize("symbol", COMPARISONS)
def test_comparisons_give_boolean_tensors_without_grad(symbol):
    fn = COMPARISONS[symbol]
    x = tg.Tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    row = np.array([1.0, 2.5, 3.0])
    cases = [(x, 2.0), (2.0, x), (x, row), (row, x), (x, tg.Tensor(row)), (x, x)]
    for left, right in cases:
        out = fn(left, right)
        expected = fn(np.asarray(getattr(left, "data", left)),
                      np.asarray(getattr(right, "data", right)))
        assert isinstance(out, tg.Tensor)
        assert out.dtype == np.bool_
        assert out.requires_grad is False and out.grad_fn is None
        np.testing.assert_array_equal(out.data, expected)


# ---------------------------------------------------------------------------------------
# behaviour the table only touches
# ---------------------------------------------------------------------------------------


def test_repeated_integer_index_adds_gradients():
    x = tg.Tensor(np.arange(4.0), requires_grad=True)
    x[[1, 1, 3, 1]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 3.0, 0.0, 1.0])


def test_maximum_tie_splits_the_gradient():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = tg.Tensor([1.0, 3.0], requires_grad=True)
    x.maximum(y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, 0.0])
    np.testing.assert_array_equal(y.grad.data, [0.5, 1.0])


def test_max_tie_shares_the_gradient():
    x = tg.Tensor([3.0, 1.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, 0.0, 0.5])


def test_logsumexp_and_softmax_do_not_overflow():
    x = tg.Tensor(np.array([1000.0, 1000.0, -1000.0]), requires_grad=True)
    np.testing.assert_allclose(x.logsumexp().item(), 1000.0 + math.log(2.0))
    np.testing.assert_allclose(x.softmax().data, [0.5, 0.5, 0.0])
    np.testing.assert_allclose(x.log_softmax().data[:2], [-math.log(2.0)] * 2)
    x.logsumexp().backward()
    np.testing.assert_allclose(x.grad.data, [0.5, 0.5, 0.0])


# ---------------------------------------------------------------------------------------
# errors that say what went wrong
# ---------------------------------------------------------------------------------------


def test_matmul_inner_size_error():
    message = "matmul: cannot multiply (2, 3) by (4, 5): inner sizes 3 and 4 differ"
    with pytest.raises(ValueError, match=re.escape(message)):
        tg.ones(2, 3) @ tg.ones(4, 5)
    with pytest.raises(ValueError, match=re.escape(message)):
        tg.matmul(tg.ones(2, 3), np.ones((4, 5)))


def test_matmul_batch_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3, 4\).*\(5, 4, 2\)"):
        tg.ones(2, 3, 4) @ tg.ones(5, 4, 2)


BROADCASTING_OPS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "pow": operator.pow, "maximum": tg.maximum, "minimum": tg.minimum,
}


@pytest.mark.parametrize("name", BROADCASTING_OPS)
def test_broadcast_error_names_the_op_and_both_shapes(name):
    fn = BROADCASTING_OPS[name]
    with pytest.raises(ValueError) as caught:
        fn(tg.ones(2, 3, requires_grad=True), tg.ones(4))
    message = str(caught.value)
    assert message.startswith(name + ":"), message
    assert "(2, 3)" in message and "(4,)" in message


def test_where_broadcast_error_names_every_shape():
    with pytest.raises(ValueError, match=r"where.*\(2, 3\).*\(2, 3\).*\(4,\)"):
        tg.where(np.ones((2, 3), dtype=bool), tg.ones(2, 3), tg.ones(4))


def test_reshape_error():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*6 elements.*\(4, 2\)"):
        tg.ones(2, 3).reshape(4, 2)


@pytest.mark.parametrize("index", [5, (0, 3), (slice(None), -4), [0, 2], (0, 0, 0)],
                         ids=["int", "second axis", "negative", "int array", "too many"])
def test_index_out_of_range_names_the_shape(index):
    with pytest.raises(IndexError, match=re.escape("(2, 3)")):
        tg.ones(2, 3)[index]


def test_float_index_array_is_an_index_error():
    with pytest.raises(IndexError, match="integer or boolean"):
        tg.ones(3)[np.array([0.0, 1.0])]


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating point"):
        tg.Tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match="floating point"):
        tg.Tensor(np.arange(3)).requires_grad_()


@pytest.mark.parametrize("axes", [(0, 3), (0, -3), (1, 1)])
def test_permute_rejects_axes_out_of_range(axes):
    with pytest.raises(ValueError, match=re.escape(f"permute: dims {axes} are not a perm")):
        tg.ones(2, 3).permute(*axes)


@pytest.mark.parametrize("axes", [(0, 2), (-3, 1)])
def test_swapaxes_rejects_axes_out_of_range(axes):
    with pytest.raises(ValueError, match=r"transpose: dim -?\d is out of range .*2 dimension"):
        tg.ones(2, 3).swapaxes(*axes)


@pytest.mark.parametrize(("spec", "shapes_", "fragment"), [
    ("ij,jk->ik", [(2, 3)], "names 2 operand"),
    ("ijk", [(2, 3)], "'ijk' do not fit an operand of shape (2, 3)"),
    ("ij,jk->ik", [(2, 3), (4, 5)], "index 'j' of 'ij,jk->ik' has size 3 in operand 0 but 4"),
    ("ij->k", [(2, 3)], "'k' of 'ij->k' appear in no operand"),
], ids=["operand count", "too many letters", "sizes differ", "unknown output letter"])
def test_einsum_wrong_subscripts(spec, shapes_, fragment):
    with pytest.raises(ValueError) as caught:
        tg.einsum(spec, *[tg.ones(*s) for s in shapes_])
    message = str(caught.value)
    assert message.startswith("einsum"), message
    assert fragment in message

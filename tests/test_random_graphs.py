"""Random graphs of ops, checked end to end by gradcheck and gradgradcheck.

test_ops.py proves each op alone. Bugs also live where ops meet: a gradient that arrives
broadcast, an index whose backward scatters into a transposed tensor, a leaf reached by
two paths whose gradients must add up. Here Hypothesis builds whole graphs: one to three
float64 leaves with mutually broadcastable shapes, then one to eight ops, each chosen
among those valid for the shapes and values at hand (an operand of the wrong shape is
first laid out in the right one, by an index and a reshape that show in the graph),
then an output, a scalar or a tensor. Every node is computed twice, by tinygrad_edu and
by NumPy, and the two must agree; then `gradcheck` (first derivatives) and
`gradgradcheck` (second) must pass at their default tolerances.

The ops are kept off their kinks and poles *by construction*, from the values at hand:
relu(x - c) with c at least GAP from every x, a divisor used as it is only where every
|x| >= 0.3 (else x * x + 0.5 takes its place), amax only over groups whose two largest
values differ by GAP or more. A finite difference across a kink measures something
other than the derivative; everywhere else, a mismatch is a bug.

A failing example shows its graph as code, one line per op (Hypothesis's `note`).
TINYGRAD_EDU_GRAPH_EXAMPLES sets the number of examples (500 by default, split between
four families of graphs); raise it for a longer search.

Then come the tricky cases, always run (a leaf used twice, repeated indices, size-1 axes
broadcast both ways...), and the check checked: a wrong backward inserted into a random
graph must make gradcheck fail, and a backward that create_graph cannot record must
make gradgradcheck fail.
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

import tinygrad_edu as tg

EXAMPLES = int(os.environ.get("TINYGRAD_EDU_GRAPH_EXAMPLES", "500"))

GAP = 0.02          # how far every value stays from a kink (relu's 0, maximum's tie...)
BOUND = 20.0        # a node with a value beyond +-BOUND is refused (exp of exp...)
MAX_SIZE = 48       # elements per node: gradgradcheck's cost grows with the sizes
MAX_LEAF_SIZE = 24  # elements per leaf: the numeric Jacobians nudge each one
MAX_OPS = 8

erf = np.vectorize(math.erf)


def weights(shape) -> np.ndarray:
    """Fixed, distinct weights of alternating sign: (x * weights(x.shape)).sum() tells
    every element of x apart, where x.sum() would not notice two gradients swapped."""
    size = math.prod(shape)
    return (np.linspace(0.5, 1.5, size) * (-1.0) ** np.arange(size)).reshape(shape)


def number(c: float) -> str:
    return f"{c:g}"


def minus(c: float) -> str:
    """" - c" as code, "+ 0.5" rather than "- -0.5"."""
    return f" - {number(c)}" if c >= 0 else f" + {number(-c)}"


# ---------------------------------------------------------------------------------------
# a graph: leaves, then steps, each one line of code
# ---------------------------------------------------------------------------------------


@dataclass
class Step:
    """One node of the graph: its line of code, its inputs, and the op twice over."""

    text: str             # "v3 = v1.sum(dim=(0, -1))"
    args: tuple           # the input nodes, as indices into the list of nodes
    tensor_fn: Callable   # the op on Tensors
    numpy_fn: Callable    # the same op on ndarrays: the forward's reference


@dataclass
class Graph:
    """Leaves (float64 arrays) and the steps after them; the last step is the output."""

    leaves: list
    steps: list = field(default_factory=list)

    def run(self, *leaves, numpy: bool = False) -> list:
        """Every node's value: the leaves, then one per step."""
        nodes = list(leaves)
        for step in self.steps:
            fn = step.numpy_fn if numpy else step.tensor_fn
            nodes.append(fn(*(nodes[i] for i in step.args)))
        return nodes

    def __call__(self, *leaves):
        """The graph as gradcheck wants it: Tensors in, the output Tensor out."""
        return self.run(*leaves)[-1]

    def code(self) -> str:
        with np.printoptions(precision=4, suppress=True, threshold=100):
            lines = [f"x{i} = {np.array2string(x, separator=', ')}  # shape {x.shape}"
                     for i, x in enumerate(self.leaves)]
        return "\n".join(lines + [step.text for step in self.steps])


# ---------------------------------------------------------------------------------------
# the builder: one op at a time, every choice drawn from Hypothesis
# ---------------------------------------------------------------------------------------


def broadcast_shape(*shapes) -> tuple | None:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


class Builder:
    """Grows a Graph one op at a time.

    Each node's value is known as the graph grows (computed with NumPy), so an op can be
    fitted to the values at hand: kept off its kinks and poles, and refused (`add`
    returns None) where it would overflow or grow too large.
    """

    def __init__(self, data, leaves: list):
        self.data = data
        self.graph = Graph(leaves)
        self.values = list(leaves)
        self.names = [f"x{i}" for i in range(len(leaves))]
        self.consumed: set[int] = set()  # nodes some step took as an input
        self.hidden: set[int] = set()    # nodes the ops may not take (see build_graph)

    # --- drawing ---------------------------------------------------------------------

    def draw(self, strategy, label=None):
        return self.data.draw(strategy, label=label)

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def choice(self, options):
        return self.draw(st.sampled_from(list(options)))

    def flag(self) -> bool:
        return self.draw(st.booleans())

    def node(self, ok=lambda value: True) -> int | None:
        """A node whose value passes `ok`, or None: half the time the newest such node
        (so that graphs grow deep, not only wide), else any."""
        fits = [i for i in reversed(range(len(self.values)))
                if i not in self.hidden and ok(self.values[i])]
        if not fits:
            return None
        return fits[0] if self.flag() else self.choice(fits)

    def axis(self, ndim: int) -> int:
        """An axis of an ndim-dimensional tensor, negative or not (ndim >= 1)."""
        return self.integer(-ndim, ndim - 1)

    def dims(self, ndim: int):
        """What a reduction takes: None (all), one axis, or a tuple of distinct axes."""
        form = self.choice(["all", "one", "tuple"] if ndim else ["all"])
        if form == "all":
            return None
        if form == "one":
            return self.axis(ndim)
        axes = self.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                  unique=True))
        return tuple(a - ndim if self.flag() else a for a in axes)

    def kink_free(self, values: np.ndarray, count: int = 1) -> list[float]:
        """`count` distinct constants c (ascending), each at least GAP from every value
        (0 first, when it can be), so that relu(x - c) or maximum(x, y + c) has no kink
        near the point of the check. Fewer when there are not enough."""
        points = np.unique(values)
        middles = (points[:-1] + points[1:]) / 2
        wide = np.diff(points) >= 2 * GAP + 0.002  # room to round c to 3 decimals
        candidates = [0.0, round(float(points[0]) - 0.25, 3),
                      round(float(points[-1]) + 0.25, 3)]
        candidates += [round(float(m), 3) for m in middles[wide]]
        candidates = [c for c in candidates if np.abs(points - c).min() >= GAP]
        picked = self.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=count,
                                    unique=True))
        return sorted(picked)

    # --- recording -------------------------------------------------------------------

    def add(self, template: str, args: tuple, tensor_fn: Callable,
            numpy_fn: Callable | None = None) -> int | None:
        """Record `template` (with {0}, {1} for the inputs' names) as a new node, or
        refuse it (None) when its value is empty, too large, not finite or beyond BOUND.

        `numpy_fn` defaults to `tensor_fn`, for code that reads the same on both
        (`a + b`, `x.reshape(2, 3)`, `x[1, ::2]`).
        """
        with np.errstate(all="ignore"):
            value = np.asarray((numpy_fn or tensor_fn)(*(self.values[i] for i in args)),
                               dtype=np.float64)
        if not (1 <= value.size <= MAX_SIZE and np.isfinite(value).all()
                and np.abs(value).max() <= BOUND):
            return None
        name = f"v{len(self.values)}"
        text = f"{name} = {template.format(*(self.names[i] for i in args))}"
        self.graph.steps.append(Step(f"{text}  # {value.shape}", tuple(args), tensor_fn,
                                     numpy_fn or tensor_fn))
        self.values.append(value)
        self.names.append(name)
        self.consumed.update(args)
        return len(self.values) - 1

    def fit(self, i: int | None, shape: tuple) -> int | None:
        """Node i, or its elements laid out in `shape` (cycled, so with repeats when
        `shape` holds more): an operand of the shape an op needs."""
        if i is None or self.values[i].shape == shape:
            return i
        n, size = math.prod(shape), self.values[i].size
        start = self.integer(0, size - 1)
        if start == 0 and n <= size:
            return self.add(f"{{0}}.reshape(-1)[:{n}].reshape({shape})", (i,),
                            lambda x: x.reshape(-1)[:n].reshape(shape))
        picks = [(start + k) % size for k in range(n)]
        return self.add(f"{{0}}.reshape(-1)[{picks}].reshape({shape})", (i,),
                        lambda x: x.reshape(-1)[picks].reshape(shape))

    def partner_shape(self, shape: tuple) -> tuple:
        """A shape that broadcasts against `shape`: leading axes dropped or one added,
        axes set to 1, and size-1 axes of `shape` stretched (broadcast both ways)."""
        drop = self.integer(0, len(shape))
        out = [self.choice([n, 1]) if n > 1 else self.integer(1, 3) for n in shape[drop:]]
        if drop == 0 and self.flag():
            out.insert(0, self.integer(1, 3))  # one axis more than `shape`
        return tuple(out)

    def operands(self) -> tuple[int, int] | None:
        """Two nodes that broadcast together, in either order: an existing pair (a node
        with itself included: a leaf used twice), or a node and another fitted to a
        partner shape."""
        a = self.node()
        shape = self.values[a].shape
        partners = [i for i in reversed(range(len(self.values))) if i not in self.hidden
                    and (out := broadcast_shape(shape, self.values[i].shape)) is not None
                    and math.prod(out) <= MAX_SIZE]
        if self.flag():
            b = self.choice(partners)  # a itself is always one
        else:
            b = self.fit(self.node(), self.partner_shape(shape))
            if b is None:
                return None
        return (a, b) if self.flag() else (b, a)

    # --- the output ------------------------------------------------------------------

    def finish(self, form: str, keep: tuple = ()) -> Graph:
        """The output: the newest node (summed, averaged, weighted, or kept a tensor),
        plus a weighted sum of every loose end (a leaf never used, a branch never
        joined), so that every node reaches the output.

        The nodes in `keep` are added too, used or not, scaled by 0.7 so that a later
        op on them (-v, weighted the same) cannot cancel their gradient exactly: the
        tests of a wrong backward need one that reaches the output.
        """
        main = len(self.values) - 1
        loose = [i for i in range(main) if i not in self.consumed or i in keep]
        head = {"tensor": "{0}", "sum": "{0}.sum()", "mean": "{0}.mean()",
                "weighted": f"({{0}} * weights({self.values[main].shape})).sum()"}[form]
        heads = {"tensor": lambda x: x, "sum": lambda x: x.sum(), "mean": lambda x: x.mean(),
                 "weighted": lambda x: (x * weights(x.shape)).sum()}
        scales = [0.7 if i in keep else 1.0 for i in loose]
        terms = [head] + [("0.7 * " if scale != 1 else "")
                          + f"({{{k}}} * weights({self.values[i].shape})).sum()"
                          for k, (i, scale) in enumerate(zip(loose, scales), start=1)]

        def output(x, *rest):
            out = heads[form](x)
            for r, scale in zip(rest, scales):
                out = out + scale * (r * weights(r.shape)).sum()
            return out

        args = (main, *loose)
        text = "out = " + " + ".join(terms).format(*(self.names[i] for i in args))
        self.graph.steps.append(Step(text, args, output, output))
        return self.graph


# ---------------------------------------------------------------------------------------
# elementwise ops
# ---------------------------------------------------------------------------------------

ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul}
# x * x + 0.5 >= 0.5 for every x: what log, sqrt, 1/x and x ** 0.5 take where x comes
# near 0 (as code, Tensor fn, NumPy fn)
POSITIVE = ("({0} * {0} + 0.5)", lambda x: x * x + 0.5, lambda x: x * x + 0.5)


def op_arithmetic(b: Builder):
    pair = b.operands()
    if pair is None:
        return None
    sign = b.choice(ARITHMETIC)
    return b.add(f"{{0}} {sign} {{1}}", pair, ARITHMETIC[sign])


def op_constant(b: Builder):
    """A number or an ndarray with a tensor, on either side: `1.5 - x`, `weights * x`."""
    i = b.node()
    shape = b.values[i].shape
    if b.flag():
        c = b.choice([1.5, -0.5, 2.0])
        text, const = number(c), c
    else:
        const_shape = b.partner_shape(shape)
        text, const = f"weights({const_shape})", weights(const_shape)
    sign = b.choice(ARITHMETIC)
    fn = ARITHMETIC[sign]
    if b.flag():
        return b.add(f"{{0}} {sign} {text}", (i,), lambda x: fn(x, const))
    return b.add(f"{text} {sign} {{0}}", (i,), lambda x: fn(const, x))


def op_divide(b: Builder):
    """a / d or 1.5 / d, d as it is where every |d| >= 0.3, else d * d + 0.5 in its place."""
    pair = b.operands()
    if pair is None:
        return None
    safe = np.abs(b.values[pair[1]]).min() >= 0.3
    if b.flag():
        if safe:
            return b.add("1.5 / {0}", pair[1:], lambda d: 1.5 / d)
        return b.add("1.5 / ({0} * {0} + 0.5)", pair[1:], lambda d: 1.5 / (d * d + 0.5))
    if safe:
        return b.add("{0} / {1}", pair, operator.truediv)
    return b.add("{0} / ({1} * {1} + 0.5)", pair, lambda a, d: a / (d * d + 0.5))


def op_pow(b: Builder):
    """x ** y with a positive base: a tensor exponent, a number exponent, or a number base."""
    form = b.choice(["tensor ** tensor", "tensor ** number", "number ** tensor"])
    if form == "number ** tensor":
        i = b.node(lambda v: v.max() <= 3)
        return None if i is None else b.add("2.0 ** {0}", (i,), lambda x: 2.0 ** x)
    if form == "tensor ** number":
        i = b.node()
        p = b.choice([2, 3, 0.5, -1, 1.5, -0.5])
        guarded = p not in (2, 3) and b.values[i].min() < 0.3  # needs a positive base
        base, prepare = ("({0} * {0} + 0.5)", POSITIVE[1]) if guarded else ("{0}", lambda x: x)
        if b.flag():
            return b.add(f"{base}.pow({number(p)})", (i,), lambda x: prepare(x).pow(p),
                         lambda x: prepare(x) ** p)
        return b.add(f"{base} ** {number(p)}", (i,), lambda x: prepare(x) ** p)
    pair = b.operands()
    if pair is None or np.abs(b.values[pair[1]]).max() > 2:
        return None
    if b.values[pair[0]].min() >= 0.3:
        return b.add("{0} ** {1}", pair, operator.pow)
    return b.add("({0} * {0} + 0.5) ** {1}", pair, lambda x, y: (x * x + 0.5) ** y)


def op_extremum(b: Builder):
    """maximum(a, o + c) / minimum, with c such that a and o + c never tie."""
    pair = b.operands()
    if pair is None:
        return None
    name = b.choice(["maximum", "minimum"])
    a, o = (b.values[i] for i in pair)
    (c,) = b.kink_free(a - o)
    other = "{1}" if c == 0 else f"({{1}} + {number(c)})"
    np_fn = np.maximum if name == "maximum" else np.minimum
    return b.add(f"{{0}}.{name}({other})", pair,
                 lambda x, y: getattr(x, name)(y + c), lambda x, y: np_fn(x, y + c))


def op_select(b: Builder):
    """tg.where(mask, a, o) and a.masked_fill(mask, 0.5), with a fixed boolean mask
    that broadcasts against them (a mask computed from the values, as in where(a > o,
    ...), would be maximum's kink again)."""
    pair = b.operands()
    if pair is None:
        return None
    shape = broadcast_shape(*(b.values[i].shape for i in pair))
    mask_shape = b.partner_shape(shape)
    flags = np.array(b.draw(st.lists(st.booleans(), min_size=math.prod(mask_shape),
                                     max_size=math.prod(mask_shape)))).reshape(mask_shape)
    code = f"np.array({flags.tolist()})"
    if b.flag():
        return b.add(f"tg.where({code}, {{0}}, {{1}})", pair,
                     lambda x, y: tg.where(flags, x, y), lambda x, y: np.where(flags, x, y))
    if broadcast_shape(mask_shape, b.values[pair[0]].shape) != b.values[pair[0]].shape:
        return None  # masked_fill keeps its input's shape: the mask may not add axes
    return b.add(f"{{0}}.masked_fill({code}, 0.5)", pair[:1],
                 lambda x: x.masked_fill(flags, 0.5), lambda x: np.where(flags, 0.5, x))


@dataclass
class Unary:
    """A smooth unary op; `domain` says when the values may go in as they are, else
    `guard` (code, Tensor fn, NumPy fn) maps them into the domain first."""

    template: str
    tensor_fn: Callable
    numpy_fn: Callable
    domain: Callable | None = None
    guard: tuple | None = None


UNARY = {
    "tanh": Unary("{0}.tanh()", lambda x: x.tanh(), np.tanh),
    "sigmoid": Unary("{0}.sigmoid()", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    "sin": Unary("{0}.sin()", lambda x: x.sin(), np.sin),
    "cos": Unary("{0}.cos()", lambda x: x.cos(), np.cos),
    "neg": Unary("-{0}", operator.neg, operator.neg),
    "square": Unary("{0}.square()", lambda x: x.square(), np.square),
    "softplus": Unary("{0}.softplus()", lambda x: x.softplus(), lambda x: np.logaddexp(0, x)),
    "gelu": Unary("{0}.gelu()", lambda x: x.gelu(),
                  lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2)))),
    "exp": Unary("{0}.exp()", lambda x: x.exp(), np.exp, lambda v: v.max() <= 2.5,
                 ("{0}.tanh()", lambda x: x.tanh(), np.tanh)),
    "log": Unary("{0}.log()", lambda x: x.log(), np.log, lambda v: v.min() >= 0.3,
                 ("({0} * {0} + 1)", lambda x: x * x + 1, lambda x: x * x + 1)),
    "sqrt": Unary("{0}.sqrt()", lambda x: x.sqrt(), np.sqrt, lambda v: v.min() >= 0.3,
                  POSITIVE),
    "reciprocal": Unary("{0}.reciprocal()", lambda x: x.reciprocal(), lambda x: 1 / x,
                        lambda v: np.abs(v).min() >= 0.3, POSITIVE),
}


def op_unary(b: Builder):
    i = b.node()
    op = UNARY[b.choice(UNARY)]
    if op.domain is None or op.domain(b.values[i]):
        return b.add(op.template, (i,), op.tensor_fn, op.numpy_fn)
    code, guard_tensor, guard_numpy = op.guard
    return b.add(op.template.replace("{0}", code), (i,),
                 lambda x: op.tensor_fn(guard_tensor(x)), lambda x: op.numpy_fn(guard_numpy(x)))


KINKED = {  # name: (code, Tensor fn, NumPy fn), each with a kink at 0
    "relu": ("{0}.relu()", lambda x: x.relu(), lambda x: np.maximum(x, 0)),
    "abs": ("{0}.abs()", lambda x: x.abs(), np.abs),
    "leaky_relu": ("{0}.leaky_relu(0.1)", lambda x: x.leaky_relu(0.1),
                   lambda x: np.where(x > 0, x, 0.1 * x)),
}


def op_kinked(b: Builder):
    """relu(x - c), abs, leaky_relu, clamp(lo, hi): every kink at least GAP from x."""
    i = b.node()
    x = b.values[i]
    name = b.choice([*KINKED, "clamp"])
    if name == "clamp":
        bounds = b.kink_free(x, count=2)
        if len(bounds) < 2:
            return None
        lo, hi = bounds
        return b.add(f"{{0}}.clamp({number(lo)}, {number(hi)})", (i,),
                     lambda x: x.clamp(lo, hi), lambda x: np.clip(x, lo, hi))
    code, tensor_fn, numpy_fn = KINKED[name]
    (c,) = b.kink_free(x)
    if c != 0:
        code = code.replace("{0}", f"({{0}}{minus(c)})")
    return b.add(code, (i,), lambda x: tensor_fn(x - c), lambda x: numpy_fn(x - c))


# ---------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------


def axes_tuple(dims, ndim: int) -> tuple:
    if dims is None:
        return tuple(range(ndim))
    return tuple(d % ndim for d in (dims if isinstance(dims, tuple) else (dims,)))


def groups(x: np.ndarray, dims) -> np.ndarray:
    """The groups a reduction over `dims` reduces, one per row: (groups, group size)."""
    axes = axes_tuple(dims, x.ndim)
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    return moved.reshape(-1, math.prod(x.shape[a] for a in axes))


def untied(x: np.ndarray, dims) -> bool:
    """Do the two largest, and the two smallest, of every group differ by GAP or more?
    Where they tie, max's gradient is split between them and has no derivative."""
    rows = np.sort(groups(x, dims), axis=1)
    if rows.shape[1] == 1:
        return True
    return bool(np.all(rows[:, -1] - rows[:, -2] >= GAP) and np.all(rows[:, 1] - rows[:, 0] >= GAP))


def call(method: str, *args, **kwargs) -> tuple[str, Callable]:
    """`.method(args, key=value)` as code and as a function of the tensor."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    code = "{0}." + f"{method}({', '.join(parts)})"
    return code, lambda x: getattr(x, method)(*args, **kwargs)


def reduction_kwargs(b: Builder, ndim: int) -> dict:
    """dim= and keepdim= as a learner would write them: either left out when default."""
    kwargs = {}
    dims = b.dims(ndim)
    if dims is not None:
        kwargs["dim"] = dims
    if b.flag():
        kwargs["keepdim"] = True
    return kwargs


def op_sum_mean(b: Builder):
    i = b.node()
    name = b.choice(["sum", "mean"])
    kwargs = reduction_kwargs(b, b.values[i].ndim)
    code, fn = call(name, **kwargs)
    np_fn = getattr(np, name)
    return b.add(code, (i,), fn, lambda x: np_fn(x, axis=kwargs.get("dim"),
                                                 keepdims=kwargs.get("keepdim", False)))


def op_var_std(b: Builder):
    """var or std, unbiased (PyTorch's default) or not; std only where var >= 0.01
    (sqrt's slope is infinite at 0)."""
    i = b.node()
    x = b.values[i]
    name = b.choice(["var", "std"])
    kwargs = reduction_kwargs(b, x.ndim)
    estimate = b.choice([{}, {"unbiased": False}, {"correction": 0}, {"unbiased": True},
                         {"correction": 1}])
    kwargs.update(estimate)
    ddof = 0 if estimate in ({"unbiased": False}, {"correction": 0}) else 1
    rows = groups(x, kwargs.get("dim"))
    if rows.shape[1] <= ddof or (name == "std" and rows.var(axis=1, ddof=ddof).min() < 0.01):
        return None
    code, fn = call(name, **kwargs)
    np_fn = getattr(np, name)
    return b.add(code, (i,), fn, lambda x: np_fn(x, axis=kwargs.get("dim"), ddof=ddof,
                                                 keepdims=kwargs.get("keepdim", False)))


def op_extreme_values(b: Builder):
    """amax / amin over axes, max(dim).values, x.max(): only over untied groups."""
    i = b.node(lambda v: v.ndim >= 1)
    if i is None:
        return None
    x = b.values[i]
    form = b.choice(["amax", "amin", "max(dim)", "min(dim)", "max()"])
    if form == "max()":
        return b.add("{0}.max()", (i,), lambda x: x.max(), np.max) if untied(x, None) else None
    if form in ("amax", "amin"):
        kwargs = reduction_kwargs(b, x.ndim)
        if not untied(x, kwargs.get("dim")):
            return None
        code, fn = call(form, **kwargs)
        np_fn = np.max if form == "amax" else np.min
        return b.add(code, (i,), fn, lambda x: np_fn(x, axis=kwargs.get("dim"),
                                                     keepdims=kwargs.get("keepdim", False)))
    dim, keepdim = b.axis(x.ndim), b.flag()
    if not untied(x, dim):
        return None
    name = form[:3]
    np_fn = np.max if name == "max" else np.min
    return b.add(f"{{0}}.{name}({dim}, keepdim={keepdim}).values", (i,),
                 lambda x: getattr(x, name)(dim, keepdim=keepdim).values,
                 lambda x: np_fn(x, axis=dim, keepdims=keepdim))


def op_other_reductions(b: Builder):
    """logsumexp, prod, cumsum, norm (only where no group is near the zero vector)."""
    i = b.node(lambda v: v.ndim >= 1)
    if i is None:
        return None
    x = b.values[i]
    name = b.choice(["logsumexp", "prod", "cumsum", "norm"])
    if name == "cumsum":
        dim = b.axis(x.ndim)
        return b.add(f"{{0}}.cumsum({dim})", (i,), lambda x: x.cumsum(dim),
                     lambda x: np.cumsum(x, axis=dim))
    if name == "prod":  # one dim or all, as torch.prod
        dim = b.choice([None, b.axis(x.ndim)])
        keepdim = dim is not None and b.flag()
        kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
        code, fn = call("prod", **kwargs)
        return b.add(code, (i,), fn, lambda x: np.prod(x, axis=dim, keepdims=keepdim))
    kwargs = reduction_kwargs(b, x.ndim)
    if name == "logsumexp":
        kwargs.setdefault("dim", b.axis(x.ndim))  # torch.logsumexp needs dim
        code, fn = call("logsumexp", **kwargs)
        keepdim = kwargs.get("keepdim", False)
        return b.add(code, (i,), fn, lambda x: np.log(np.exp(x).sum(
            axis=kwargs["dim"], keepdims=keepdim)))
    if np.linalg.norm(groups(x, kwargs.get("dim")), axis=1).min() < 0.1:
        return None
    code, fn = call("norm", **kwargs)
    return b.add(code, (i,), fn, lambda x: np.sqrt((x * x).sum(
        axis=kwargs.get("dim"), keepdims=kwargs.get("keepdim", False))))


def softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def op_softmax(b: Builder):
    i = b.node(lambda v: v.ndim >= 1)
    if i is None:
        return None
    dim = b.axis(b.values[i].ndim)
    if b.flag():
        return b.add(f"{{0}}.softmax(dim={dim})", (i,), lambda x: x.softmax(dim=dim),
                     lambda x: softmax(x, dim))
    return b.add(f"{{0}}.log_softmax(dim={dim})", (i,), lambda x: x.log_softmax(dim=dim),
                 lambda x: np.log(softmax(x, dim)))


# ---------------------------------------------------------------------------------------
# matmul, shapes, joins
# ---------------------------------------------------------------------------------------


def op_matmul(b: Builder):
    """a @ a^T, a @ p and p @ a, with p fitted to a: a vector, a matrix, or a batch of
    matrices whose batch axes broadcast against a's."""
    a = b.node(lambda v: v.ndim >= 1)
    if a is None:
        return None
    shape = b.values[a].shape
    form = b.choice(["a @ p", "p @ a", "gram"])
    if form == "gram":
        if len(shape) < 2:
            return None
        if b.flag():
            return b.add("{0} @ {0}.transpose(-2, -1)", (a,),
                         lambda x: x @ x.transpose(-2, -1), lambda x: x @ np.swapaxes(x, -2, -1))
        return b.add("{0}.transpose(-1, -2) @ {0}", (a,),
                     lambda x: x.transpose(-1, -2) @ x, lambda x: np.swapaxes(x, -1, -2) @ x)
    inner = shape[-1] if form == "a @ p" or len(shape) == 1 else shape[-2]
    if b.flag():
        partner = (inner,)
    else:
        batch = b.partner_shape(shape[:-2]) if len(shape) > 2 else (
            () if b.flag() else (b.integer(1, 3),))
        m = b.integer(1, 4)
        partner = batch + ((inner, m) if form == "a @ p" else (m, inner))
    p = b.fit(b.node(), partner)
    if p is None:
        return None
    return b.add("{0} @ {1}", (a, p) if form == "a @ p" else (p, a), operator.matmul)


def new_shape(b: Builder, size: int) -> tuple:
    """Another shape of `size` elements: split into up to three factors, maybe a 1."""
    dims, rest = [], size
    while rest > 1 and len(dims) < 2 and b.flag():
        d = b.choice(divisors(rest)[1:])
        dims.append(d)
        rest //= d
    dims.append(rest)
    if b.flag():
        dims.insert(b.integer(0, len(dims)), 1)
    return tuple(dims)


def op_reshape(b: Builder):
    i = b.node()
    x = b.values[i]
    shape = new_shape(b, x.size)
    sizes = list(shape)
    if b.flag():
        sizes[b.integer(0, len(sizes) - 1)] = -1
    args = ", ".join(map(str, sizes))
    method = b.choice(["reshape", "view"])
    return b.add(f"{{0}}.{method}({args})", (i,), lambda x: getattr(x, method)(*sizes),
                 lambda x: x.reshape(shape))


def op_transpose(b: Builder):
    i = b.node(lambda v: v.ndim >= 2)
    if i is None:
        return None
    ndim = b.values[i].ndim
    if b.flag():
        d0, d1 = b.axis(ndim), b.axis(ndim)
        return b.add(f"{{0}}.transpose({d0}, {d1})", (i,), lambda x: x.transpose(d0, d1),
                     lambda x: np.swapaxes(x, d0, d1))
    dims = [d - ndim if b.flag() else d for d in b.draw(st.permutations(range(ndim)))]
    return b.add(f"{{0}}.permute({', '.join(map(str, dims))})", (i,),
                 lambda x: x.permute(*dims), lambda x: np.transpose(x, dims))


def op_squeeze(b: Builder):
    """unsqueeze(d), squeeze(d) of a size-1 axis, squeeze(), flatten(start, end)."""
    i = b.node()
    x = b.values[i]
    form = b.choice(["unsqueeze", "squeeze(d)", "squeeze()", "flatten"])
    if form == "unsqueeze":
        d = b.integer(-x.ndim - 1, x.ndim)
        return b.add(f"{{0}}.unsqueeze({d})", (i,), lambda x: x.unsqueeze(d),
                     lambda x: np.expand_dims(x, d))
    if form == "squeeze()":
        return b.add("{0}.squeeze()", (i,), lambda x: x.squeeze(), np.squeeze)
    if form == "flatten":
        if x.ndim < 1:
            return None
        start = b.axis(x.ndim)
        end = b.integer(start % x.ndim, x.ndim - 1) - (x.ndim if b.flag() else 0)
        s, e = start % x.ndim, end % x.ndim
        return b.add(f"{{0}}.flatten({start}, {end})", (i,), lambda x: x.flatten(start, end),
                     lambda x: x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:]))
    ones = [d for d in range(x.ndim) if x.shape[d] == 1]
    if not ones:
        return None
    d = b.choice(ones) - (x.ndim if b.flag() else 0)
    return b.add(f"{{0}}.squeeze({d})", (i,), lambda x: x.squeeze(d),
                 lambda x: np.squeeze(x, axis=d))


def op_expand(b: Builder):
    """expand: size-1 axes stretched, maybe new leading axes, -1 for sizes kept."""
    i = b.node()
    shape = b.values[i].shape
    lead = [b.integer(1, 3) for _ in range(b.integer(0, 1))]
    sizes = lead + [b.integer(1, 3) if n == 1 else b.choice([n, -1]) for n in shape]
    target = tuple(lead) + tuple(n if s == -1 else s for n, s in zip(shape, sizes[len(lead):]))
    return b.add(f"{{0}}.expand({', '.join(map(str, sizes))})", (i,),
                 lambda x: x.expand(*sizes), lambda x: np.broadcast_to(x, target))


def op_flip(b: Builder):
    i = b.node(lambda v: v.ndim >= 1)
    if i is None:
        return None
    ndim = b.values[i].ndim
    dims = tuple(b.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                                 unique_by=lambda d: d % ndim)))
    return b.add(f"{{0}}.flip({dims})", (i,), lambda x: x.flip(dims),
                 lambda x: np.flip(x, axis=dims))


def op_tile_split_pad(b: Builder):
    """repeat, t(), one piece of split or chunk, pad, clone."""
    i = b.node()
    x = b.values[i]
    form = b.choice(["repeat", "t()", "split", "chunk", "pad", "clone"])
    if form == "repeat":
        sizes = [b.integer(1, 2) for _ in range(x.ndim + b.integer(0, 1))]
        return b.add(f"{{0}}.repeat({', '.join(map(str, sizes))})", (i,),
                     lambda x: x.repeat(*sizes), lambda x: np.tile(x, sizes))
    if form == "t()":
        if x.ndim > 2:
            return None
        return b.add("{0}.t()", (i,), lambda x: x.t(), lambda x: x.T)
    if form == "clone":
        return b.add("{0}.clone()", (i,), lambda x: x.clone(), np.copy)
    if x.ndim == 0:
        return None
    if form == "pad":
        widths = [(b.integer(0, 1), b.integer(0, 1)) for _ in range(x.ndim)]
        return b.add(f"{{0}}.pad({widths}, value=0.5)", (i,), lambda x: x.pad(widths, value=0.5),
                     lambda x: np.pad(x, widths, constant_values=0.5))
    d = b.axis(x.ndim)
    n = x.shape[d]
    size = b.integer(1, n)  # split's piece size, or chunk's number of pieces
    piece_size = size if form == "split" else -(-n // size)
    starts = list(range(0, n, piece_size))
    k = b.integer(0, len(starts) - 1)
    picked = np.arange(starts[k], min(starts[k] + piece_size, n))
    return b.add(f"{{0}}.{form}({size}, dim={d})[{k}]", (i,),
                 lambda x: getattr(x, form)(size, dim=d)[k],
                 lambda x: np.take(x, picked, axis=d))


def op_join(b: Builder):
    """tg.cat([a, p], dim) and tg.stack([a, p], dim), p fitted to a's shape (or a itself)."""
    a = b.node()
    shape = b.values[a].shape
    if b.flag():  # stack
        d = b.integer(-len(shape) - 1, len(shape))
        p = a if b.flag() else b.fit(b.node(), shape)
        text, fn, np_fn = f"tg.stack([{{0}}, {{1}}], dim={d})", tg.stack, np.stack
    else:
        if not shape:
            return None
        d = b.axis(len(shape))
        partner = list(shape)
        partner[d] = b.integer(1, 3)
        p = b.fit(b.node(), tuple(partner))
        text, fn, np_fn = f"tg.cat([{{0}}, {{1}}], dim={d})", tg.cat, np.concatenate
    if p is None:
        return None
    pair = (a, p) if b.flag() else (p, a)
    return b.add(text, pair, lambda x, y: fn([x, y], dim=d), lambda x, y: np_fn([x, y], d))


# ---------------------------------------------------------------------------------------
# indexing
# ---------------------------------------------------------------------------------------


@dataclass
class Index:
    """One part of an index, in the three forms it takes."""

    code: str
    for_tensor: object   # what tinygrad_edu is indexed with (a list, a tg.tensor...)
    for_numpy: object    # the same for NumPy
    axes: int            # how many axes of the input it consumes


def int_array(b: Builder, n: int, length: int | None = None) -> Index:
    """Integer positions on an axis of size n, repeats welcome, as a list, an ndarray, a
    tg.tensor or, when no length is asked for, a range or a 2-d ndarray."""
    free = ["range", "2-d ndarray"] if length is None else []
    form = b.choice(["list", "ndarray", "tensor", *free])
    if form == "range":
        start, step = b.integer(0, n - 1), b.integer(1, 2)
        return Index(f"range({start}, {n}, {step})", range(start, n, step),
                     np.arange(start, n, step), 1)
    if form == "2-d ndarray":
        rows = [[b.integer(-n, n - 1) for _ in range(2)] for _ in range(b.integer(1, 2))]
        return Index(f"np.array({rows})", np.array(rows), np.array(rows), 1)
    picks = [b.integer(-n, n - 1) for _ in range(length or b.integer(1, 4))]
    array = np.array(picks)
    if form == "ndarray":
        return Index(f"np.array({picks})", array, array, 1)
    if form == "tensor":
        return Index(f"tg.tensor({picks})", tg.tensor(picks), array, 1)
    return Index(str(picks), picks, array, 1)


def mask(b: Builder, shape: tuple) -> Index:
    """A boolean mask over the axes `shape`, with at least one True."""
    size = math.prod(shape)
    flags = b.draw(st.lists(st.booleans(), min_size=size, max_size=size))
    flags[b.integer(0, size - 1)] = True
    array = np.array(flags).reshape(shape)
    if b.flag():
        return Index(f"tg.tensor({array.tolist()})", tg.tensor(array.tolist()), array,
                     len(shape))
    return Index(f"np.array({array.tolist()})", array, array, len(shape))


@dataclass
class Advanced:
    """The advanced indices (integer arrays, masks) a tuple holds so far. NumPy
    broadcasts them together, so a tuple gets at most two integer arrays, of the same
    length, or one mask (whose count of True would otherwise have to match)."""

    arrays: int = 0
    length: int | None = None
    masked: bool = False


def part(b: Builder, shape: tuple, advanced: Advanced) -> Index:
    """One part of an index, for the axes `shape` (it consumes the first 0, 1 or 2)."""
    kinds = ["None"]
    if shape:
        kinds += ["int", "slice", "slice"]
        if advanced.arrays < 2 and not advanced.masked:
            kinds.append("array")
        if not advanced.arrays and not advanced.masked:
            kinds.append("mask")
    kind = b.choice(kinds)
    if kind == "None":
        return Index("None", None, None, 0)
    n = shape[0]
    if kind == "int":
        k = b.integer(-n, n - 1)
        return Index(str(k), k, k, 1)
    if kind == "slice":
        step = b.choice([1, 2, -1, 3, -2])
        s = slice(b.integer(-n, n - 1), b.choice([None, b.integer(-n, n)]), step)
        if not range(n)[s]:  # empty: the whole axis instead
            s = slice(None, None, step)
        text = ":".join("" if v is None else str(v) for v in (s.start, s.stop))
        return Index(text + ("" if step == 1 else f":{step}"), s, s, 1)
    if kind == "array":
        index = int_array(b, n, advanced.length)
        advanced.arrays += 1 if index.for_numpy.ndim == 1 else 2  # a 2-d one stays alone
        advanced.length = len(index.for_numpy)
        return index
    advanced.masked = True
    return mask(b, shape[:b.integer(1, min(2, len(shape)))])


def two_arrays(b: Builder, shape: tuple) -> Index:
    """x[:, [1, 1], :, [0, 2]]: two integer arrays (the second maybe of length 1, to
    broadcast), slices or ints between them. Two arrays apart move the axes they pick to
    the front of the result; beside each other (an int counts as an array), they stay."""
    first, second = sorted(b.draw(st.lists(st.integers(0, len(shape) - 1), min_size=2,
                                           max_size=2, unique=True)))
    length = b.integer(1, 4)
    colon = Index(":", slice(None), slice(None), 1)
    parts = [colon] * first + [int_array(b, shape[first], length)]
    for n in shape[first + 1:second]:
        k = b.integer(-n, n - 1)
        parts.append(Index(str(k), k, k, 1) if b.flag() else colon)
    parts.append(int_array(b, shape[second], b.choice([length, 1])))
    return Index(", ".join(p.code for p in parts), tuple(p.for_tensor for p in parts),
                 tuple(p.for_numpy for p in parts), len(parts))


def draw_index(b: Builder, shape: tuple) -> Index | None:
    """An index for `shape`: one part alone, two integer arrays, or a tuple of parts,
    maybe with an Ellipsis in it."""
    advanced = Advanced()
    form = b.choice(["one part", "tuple", "two arrays"])
    if form == "one part":
        return part(b, shape, advanced)
    if form == "two arrays":
        return two_arrays(b, shape) if len(shape) >= 2 else None
    front, rest = [], shape
    ellipsis = b.flag()
    for _ in range(b.integer(0 if ellipsis else 1, 3)):
        front.append(part(b, rest, advanced))
        rest = rest[front[-1].axes:]
    back = []  # after the Ellipsis: the last axes, drawn from the right, one at a time
    if ellipsis:
        for _ in range(b.integer(0, 2)):
            back.insert(0, part(b, rest[-1:], advanced))
            rest = rest[:len(rest) - back[0].axes]
        front.append(Index("...", Ellipsis, Ellipsis, 0))
    parts = front + back
    return Index(", ".join(p.code for p in parts), tuple(p.for_tensor for p in parts),
                 tuple(p.for_numpy for p in parts), sum(p.axes for p in parts))


def op_index(b: Builder):
    i = b.node()
    index = draw_index(b, b.values[i].shape)
    if index is None:
        return None
    return b.add(f"{{0}}[{index.code}]", (i,), lambda x: x[index.for_tensor],
                 lambda x: x[index.for_numpy])


# ---------------------------------------------------------------------------------------
# the families of graphs, and the test
# ---------------------------------------------------------------------------------------

ELEMENTWISE = [op_arithmetic, op_constant, op_divide, op_pow, op_extremum, op_unary, op_kinked,
               op_select]
REDUCTIONS = [op_sum_mean, op_var_std, op_extreme_values, op_other_reductions, op_softmax]
SHAPES = [op_matmul, op_reshape, op_transpose, op_squeeze, op_expand, op_flip, op_join,
          op_tile_split_pad]
INDEXING = [op_index]

# Each family leans on its own ops, and mixes in the others, so that each one's ops meet
# every other kind; together they cover every op.
FAMILIES = {
    "elementwise": (ELEMENTWISE, REDUCTIONS + SHAPES + INDEXING),
    "reductions": (REDUCTIONS, ELEMENTWISE + SHAPES + INDEXING),
    "shapes and matmul": (SHAPES, ELEMENTWISE + REDUCTIONS + INDEXING),
    "indexing": (INDEXING, ELEMENTWISE + REDUCTIONS + SHAPES),
}
OUTPUTS = ["weighted", "sum", "mean", "tensor"]


def draw_leaves(data) -> list[np.ndarray]:
    """One to three float64 leaves whose shapes broadcast together: one base shape, each
    leaf keeping some of its trailing axes and setting others to 1 (so x0 can be
    (3, 1) where x1 is (4,) or (1, 4)). Values from [-2, 2] or, for some, [0.3, 2]."""
    count = data.draw(st.integers(1, 3), label="leaves")
    base = []
    for _ in range(data.draw(st.sampled_from([2, 1, 3, 2, 3, 0]), label="rank")):
        room = MAX_LEAF_SIZE // math.prod(base)
        base.append(data.draw(st.sampled_from([n for n in (2, 3, 4, 1) if n <= room])))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))
    leaves = []
    for _ in range(count):
        # mostly every axis, at full size; sometimes one axis fewer, or a size set to 1
        drop = min(len(base), data.draw(st.sampled_from([0, 0, 0, 1])))
        shape = tuple(data.draw(st.sampled_from([n, n, n, 1])) for n in base[drop:])
        low = data.draw(st.sampled_from([-2.0, 0.3]))
        leaves.append(rng.uniform(low, 2.0, shape))
    return leaves


def build_graph(data, family: str, insert=None, last: bool = False) -> tuple[Graph, int | None]:
    """A random graph of `family`.

    `insert` is a Function computing e^x (np.exp is its reference), for the tests of
    the checks. It comes with one more leaf z (the last), hidden from the random ops, so
    that every path from z to the output goes through this Function's backward. It is
    applied to z at a random point among the ops (after all of them when `last`), and
    its node, returned with the graph, always reaches the output.
    """
    lead, others = FAMILIES[family]
    leaves = draw_leaves(data)
    if insert:
        rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
        shape = data.draw(st.sampled_from([x.shape for x in leaves]))
        leaves.append(rng.uniform(-1.0, 1.0, shape))
    b = Builder(data, leaves)
    z = len(leaves) - 1
    if insert:
        b.hidden.add(z)
    count = data.draw(st.integers(1, MAX_OPS), label="ops")
    insert_at = (count if last else data.draw(st.integers(0, count - 1))) if insert else None
    inserted = None
    for k in range(count + 1):
        if k == insert_at:
            inserted = b.add(f"{insert.__name__}.apply({{0}})", (z,), insert.apply, np.exp)
        if k == count:
            break
        for _attempt in range(5):  # an op may not fit the values at hand: draw another
            op = b.choice(lead if b.flag() else others)
            if op(b) is not None:
                event(op.__name__)
                break
    keep = () if inserted is None else (inserted,)
    return b.finish(data.draw(st.sampled_from(OUTPUTS), label="output"), keep), inserted


def as_leaves(arrays) -> list:
    return [tg.tensor(a, requires_grad=True) for a in arrays]


def check_forward(graph: Graph):
    """Every node as tinygrad_edu computes it against NumPy's, step by step."""
    got = graph.run(*as_leaves(graph.leaves))
    want = graph.run(*graph.leaves, numpy=True)
    for step, g, w in zip(graph.steps, got[len(graph.leaves):], want[len(graph.leaves):]):
        assert isinstance(g, tg.Tensor) and g.dtype == np.float64, step.text
        assert g.shape == np.shape(w), f"{step.text}: shape {g.shape}, NumPy {np.shape(w)}"
        np.testing.assert_allclose(g.data, w, rtol=1e-9, atol=1e-9, err_msg=step.text)


def check_gradients(f, arrays):
    """gradcheck, then gradgradcheck, at their default tolerances."""
    for check in (tg.gradcheck, tg.gradgradcheck):
        report = check(f, as_leaves(arrays), verbose=False)
        assert report, f"{check.__name__}:\n{report}"


GRAPH_SETTINGS = settings(max_examples=max(1, -(-EXAMPLES // len(FAMILIES))), deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("family", FAMILIES)
@GRAPH_SETTINGS
@given(data=st.data())
def test_random_graph_gradients(family, data):
    """Forward against NumPy, then first and second derivatives against finite
    differences, for a random graph that leans on one family of ops."""
    graph, _ = build_graph(data, family)
    note(graph.code())
    check_forward(graph)
    check_gradients(graph, graph.leaves)


# ---------------------------------------------------------------------------------------
# the tricky cases, always run
# ---------------------------------------------------------------------------------------

RNG = np.random.default_rng(2024)


def real(*shape):
    return RNG.uniform(-2.0, 2.0, shape)


TRICKY = {  # name: (f, input arrays)
    "leaf used twice": (lambda x: x * x.sin(), [real(2, 3)]),
    "leaf used twice in a matmul": (lambda x: x @ x.transpose(-2, -1), [real(2, 3, 2)]),
    "leaf used twice in one sum": (lambda x: (x + x).sum(dim=(0, -1)), [real(2, 3)]),
    "leaf in two branches": (lambda x: x.tanh().sum(dim=0) * x.exp().mean(dim=1, keepdim=True),
                             [real(3, 4)]),
    "two branches, joined by a broadcast": (lambda x: x.softmax(dim=-1) - x.sum(dim=0),
                                            [real(3, 4)]),
    "repeated integers": (lambda x: x[[0, 0, 2, 0]], [real(3, 2)]),
    "repeated integers, 2-d index": (lambda x: x[np.array([[1, 1], [0, 1]]), -1],
                                     [real(2, 3)]),
    "repeated integers on two axes apart": (lambda x: x[[1, 1], :, [0, 0]], [real(2, 3, 2)]),
    "repeated integers in a tensor, with None and a reversed slice":
        (lambda x: x[tg.tensor([2, 2]), None, ::-1], [real(3, 4)]),
    "mask": (lambda x: x[np.array([[True, False, True], [False, False, True]])] * 2,
             [real(2, 3)]),
    "mask, Ellipsis and int": (lambda x: x[..., np.array([True, False, True]), 1],
                               [real(2, 3, 2)]),
    "size-1 axes broadcast both ways": (lambda a, b: a * b - b / (a * a + 1),
                                        [real(3, 1), real(1, 4)]),
    "size-1 axes and a rank more": (lambda a, b: (a - b).sum(dim=-1), [real(2, 1, 3), real(4, 1)]),
    "batched matmul, batch axes broadcast both ways": (operator.matmul,
                                                       [real(2, 1, 2, 3), real(3, 3, 1)]),
    "expand, then reduce back": (lambda x: x.expand(3, -1, 4).sum(dim=(0, 2)), [real(2, 1)]),
}


@pytest.mark.parametrize("case", TRICKY)
def test_tricky_graphs(case):
    f, arrays = TRICKY[case]
    check_gradients(f, arrays)


# ---------------------------------------------------------------------------------------
# the check checked: a wrong backward in a random graph must be caught
# ---------------------------------------------------------------------------------------


class ExpTwiceTheSlope(tg.Function):
    """y = e^x, with a wrong backward: twice the derivative."""

    @staticmethod
    def forward(ctx, x):
        return ctx.save_output(np.exp(x.data))

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * 2 * ctx.output  # wrong: d/dx e^x = e^x


class ExpUnrecorded(tg.Function):
    """y = e^x, with a backward right in value but computed from an array: a graph
    recorded through it (create_graph) cannot see that the gradient depends on x."""

    @staticmethod
    def forward(ctx, x):
        return ctx.save_output(np.exp(x.data))

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.output.data  # right value, but a constant to the graph


@settings(max_examples=max(1, EXAMPLES // 10), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(family=st.sampled_from(list(FAMILIES)), data=st.data())
def test_a_wrong_backward_in_a_random_graph_is_caught(family, data):
    """Every gradient of the leaf z goes through ExpTwiceTheSlope's backward: all of
    them come out twice too large, and gradcheck must say so, for z and only z."""
    graph, _ = build_graph(data, family, insert=ExpTwiceTheSlope)
    note(graph.code())
    z = len(graph.leaves) - 1
    report = tg.gradcheck(graph, as_leaves(graph.leaves), verbose=False)
    assert [item.passed for item in report.inputs] == [i != z for i in range(z + 1)], \
        str(report)
    assert not report


@settings(max_examples=max(1, EXAMPLES // 10), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(family=st.sampled_from(list(FAMILIES)), data=st.data())
def test_an_unrecorded_backward_in_a_random_graph_is_caught(family, data):
    """ExpUnrecorded is applied to the leaf z after the random ops, so only the output
    takes it (linearly), and the whole second derivative in z is the one that its
    backward fails to record: gradgradcheck must find it missing, for z and only z,
    while gradcheck passes."""
    graph, _ = build_graph(data, family, insert=ExpUnrecorded, last=True)
    note(graph.code())
    z = len(graph.leaves) - 1
    assert tg.gradcheck(graph, as_leaves(graph.leaves), verbose=False)
    report = tg.gradgradcheck(graph, as_leaves(graph.leaves), verbose=False)
    assert [item.passed for item in report.inputs] == [i != z for i in range(z + 1)], \
        str(report)
    assert not report

"""Stage 2: op backwards. Each exercise is a tg.Function whose backward the student
writes; gradcheck grades it, and the mistakes listed with it are named when seen.

A Mistake's vjp(g, out, *inputs) gives, with NumPy, the gradients of a classic wrong
backward (one per input, each of its input's shape, None where it says nothing): see
grading.Mistake. Where a mistake gives the right gradient on some input (a flipped
kernel of size 1), its vjp says nothing there: a right answer never gets a hint (the
tests check every case against the reference solutions).
"""

from __future__ import annotations

import numpy as np

from .exercise import Exercise
from .grading import Mistake

STAGE = "op backwards"


def _layernorm_parts(x, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + eps)
    return (x - mu) / sigma, sigma


def _if_shapes_fit(vjp):
    """The mistake's vjp, saying nothing (None) about an input whose gradient it gives in
    another shape: there the student's backward, if it made that mistake, stopped at
    the engine's shape error, which says it (a missing transpose of a matrix that is
    not square, a permutation that is not the inverse of a cube's)."""
    def fitting(g, out, *inputs):
        return tuple(None if wrong is None or np.shape(wrong) != np.shape(x) else wrong
                     for wrong, x in zip(vjp(g, out, *inputs), inputs))
    return fitting


def _unless_rows_of_one(vjp):
    """The mistake's vjp, saying nothing for rows of one element (last axis of size 1):
    there softmax is 1 and its gradient 0, which these mistakes give too."""
    def longer_rows(g, out, x):
        return (None,) if x.shape[-1] == 1 else vjp(g, out, x)
    return longer_rows


# The settings the templates fix for their ops (a test checks that they agree):
POWER_P = 3                             # templates/power.py: P
REDUCED_AXIS = 1                        # templates/sum_axis.py, mean_axis.py: AXIS
PERM = (2, 0, 1)                        # templates/transpose.py: PERM
INVERSE_PERM = tuple(int(i) for i in np.argsort(PERM))  # (1, 2, 0): undoes PERM
GATHER_INDEX = np.array([0, 2, 2, 1, 2])  # templates/gather.py: INDEX


def _copied_along_axis(g, x, axis=REDUCED_AXIS):
    """grad_output of a reduction over `axis`, copied back along it (the mistakes below
    scale it wrongly, or not at all)."""
    return np.broadcast_to(np.expand_dims(g, axis), x.shape)


def _written_once(g, x):
    """What `grad[index] += g` leaves in zeros of x's shape: each repeated row written
    once (the last write), where np.add.at would have added them all."""
    grad = np.zeros(x.shape)
    grad[GATHER_INDEX] += g
    return grad


MUL = (
    Mistake("your dL/dx is grad_output * x, the input's own value: in a product each "
            "input's derivative is the OTHER input. dz/dx = y, so dL/dx = grad_output * y",
            lambda g, z, x, y: (g * x, None)),
    Mistake("your dL/dy is grad_output * y, the input's own value: in a product each "
            "input's derivative is the OTHER input. dz/dy = x, so dL/dy = grad_output * x",
            lambda g, z, x, y: (None, g * y)),
    Mistake("your gradient is grad_output itself, as for a sum x + y: a product passes it "
            "on scaled by the other factor, dL/dx = grad_output * y and dL/dy = "
            "grad_output * x",
            lambda g, z, x, y: (g, g)),
)
DIV = (
    Mistake("your dL/dy is grad_output * x / y^2: the minus sign is missing. d/dy y^(-1) "
            "= -y^(-2), so dL/dy = -grad_output * x / y^2",
            lambda g, z, x, y: (None, g * x / y ** 2)),
    Mistake("your dL/dy is -grad_output * x / y: the power of y is one short. d/dy "
            "y^(-1) = -y^(-2), so dL/dy = -grad_output * x / y^2",
            lambda g, z, x, y: (None, -g * x / y)),
    Mistake("your dL/dy is -grad_output / y^2, the derivative of 1/y alone: x / y is x "
            "times 1/y, so multiply by x: dL/dy = -grad_output * x / y^2",
            lambda g, z, x, y: (None, -g / y ** 2)),
    Mistake("your dL/dx is grad_output * y, multiplied where dividing was meant: dz/dx = "
            "1/y, so dL/dx = grad_output / y",
            lambda g, z, x, y: (g * y, None)),
)
EXP = (
    Mistake("your gradient is grad_output * x: the input x where the output was meant. "
            "d/dx exp(x) = exp(x), which is y, the output forward saved: grad_output * y",
            lambda g, y, x: (g * x,)),
    Mistake("your gradient is grad_output unchanged: the factor d/dx exp(x) = exp(x) = y "
            "is missing: grad_output * y",
            lambda g, y, x: (g,)),
)
LOG = (
    Mistake("your gradient is grad_output / x^2: one power of x too many. d/dx log(x) = "
            "1/x (and 1/x^2 is, up to its sign, the derivative of 1/x): grad_output / x",
            lambda g, y, x: (g / x ** 2,)),
    Mistake("your gradient is grad_output * x, multiplied where dividing was meant: "
            "d/dx log(x) = 1/x, so grad_output / x",
            lambda g, y, x: (g * x,)),
    Mistake("your gradient is grad_output * log(x): log(x) is the forward's value, not "
            "its derivative. d/dx log(x) = 1/x, so grad_output / x",
            lambda g, y, x: (g * np.log(x),)),
)
TANH = (
    Mistake("your gradient is grad_output * (1 - x^2): the input x where the output y "
            "was meant. d/dx tanh(x) = 1 - tanh(x)^2 = 1 - y^2, with y from "
            "ctx.saved_tensors",
            lambda g, y, x: (g * (1 - x ** 2),)),
    Mistake("your gradient is grad_output * (1 - y): the square is missing. d/dx tanh(x) "
            "= 1 - tanh(x)^2 = 1 - y^2",
            lambda g, y, x: (g * (1 - y),)),
    Mistake("your gradient is grad_output * (1 + y^2): the sign before y^2 is wrong. "
            "d/dx tanh(x) = 1 - y^2, which is at most 1 and falls to 0 as |x| grows",
            lambda g, y, x: (g * (1 + y ** 2),)),
)
POWER = (
    Mistake("your gradient is grad_output * x^(p - 1): the factor p is missing. d/dx x^p "
            "= p x^(p - 1): the exponent comes down as a factor, then drops by one",
            lambda g, y, x: (g * x ** (POWER_P - 1),)),
    Mistake("your gradient is grad_output * p * x^p: the power was not lowered. d/dx x^p "
            "= p x^(p - 1): the exponent comes down as a factor, then drops by one",
            lambda g, y, x: (g * POWER_P * x ** POWER_P,)),
    Mistake("your gradient is grad_output * p * x^(p - 2): the power dropped by two. "
            "d/dx x^p = p x^(p - 1): it drops by one",
            lambda g, y, x: (g * POWER_P * x ** (POWER_P - 2),)),
)
RELU = (
    Mistake("your gradient passes grad_output where x < 0 and stops it where x > 0: the "
            "mask is the wrong way round. ReLU lets the gradient through where it let the "
            "input through: grad_output * (y > 0)",
            lambda g, y, x: (g * (x < 0),)),
    Mistake("your gradient is grad_output everywhere, with no mask: where x < 0 the "
            "output is the constant 0, whatever x is, so the gradient there is 0: "
            "grad_output * (y > 0)",
            lambda g, y, x: (g,)),
    Mistake("your gradient is grad_output multiplied by the output y, not by the 0/1 mask: "
            "ReLU's derivative is 1 where x > 0 and 0 where x < 0, so grad_output * (y > 0)",
            lambda g, y, x: (g * y,)),
)
HINT_BROADCAST_FROM_THE_RIGHT = (
    "your gradient is grad_output broadcast to x's shape as it is: broadcasting lines the "
    "axes up from the right, so grad_output's last axis met x's last axis, not the axes it "
    "came from. Put the reduced axis back first: grad_output.unsqueeze(axis), then expand")
SUM_AXIS = (
    Mistake("your gradient is the right one divided by n, the size of the summed axis: "
            "that is a mean's derivative. Each element enters the sum once, with weight 1: "
            "copy grad_output along the axis, and divide by nothing",
            lambda g, y, x: (_copied_along_axis(g, x) / x.shape[REDUCED_AXIS],)),
    Mistake("every element got the sum of all of grad_output: the backward of a sum is a "
            "copy, not a sum. x_ij went into the output y_i only, so it gets grad_output_i",
            lambda g, y, x: (np.full(x.shape, g.sum()),)),
    Mistake(HINT_BROADCAST_FROM_THE_RIGHT, lambda g, y, x: (np.broadcast_to(g, x.shape),)),
)
MEAN_AXIS = (
    Mistake("your gradient is n times the right one (n = the size of the axis averaged): "
            "the 1/n of the mean is missing",
            lambda g, y, x: (_copied_along_axis(g, x),)),
    Mistake("your gradient is divided by x.size, the count of ALL of x's elements: each "
            "output averages only the n numbers along its axis, so divide by n = the size "
            "of the axis averaged",
            lambda g, y, x: (_copied_along_axis(g, x) / x.size,)),
    Mistake(HINT_BROADCAST_FROM_THE_RIGHT,
            lambda g, y, x: (np.broadcast_to(g, x.shape) / x.shape[REDUCED_AXIS],)),
)
TRANSPOSE = (
    Mistake(f"your gradient is grad_output permuted by perm = {PERM} again: that undoes "
            "a permutation only when it is its own inverse (a swap of two axes). Permute "
            f"by the inverse, np.argsort(perm) = {INVERSE_PERM}",
            _if_shapes_fit(lambda g, y, x: (np.transpose(g, PERM),))),
    Mistake("your gradient is grad_output reshaped to x's shape: a reshape keeps the "
            "elements in their memory order, a transpose moves them. Permute the axes "
            f"back, by the inverse permutation np.argsort(perm) = {INVERSE_PERM}",
            lambda g, y, x: (g.reshape(x.shape),)),
)
GATHER = (
    Mistake("rows picked k times got only one of their k gradients: `grad[idx] += g` "
            "does not add repeats in NumPy (it reads the rows, adds, and writes each "
            "named row back: the last write wins). Use np.add.at(grad, idx, g), which "
            "adds every one",
            lambda g, y, x: (_written_once(g, x),)),
)
SIGMOID = (
    Mistake("your gradient equals the right one times 1/(1 - s): the factor (1 - s) is "
            "missing. ds/dx = s (1 - s), both factors of the output s",
            lambda g, s, x: (g * s,)),
    Mistake("your gradient equals the right one times 1/s: the factor s is missing. "
            "ds/dx = s (1 - s), both factors of the output s",
            lambda g, s, x: (g * (1 - s),)),
    Mistake("your gradient is x (1 - x): the input x where the output s was meant. "
            "ds/dx = s (1 - s) is written with the output, which forward saved",
            lambda g, s, x: (g * x * (1 - x),)),
)
SOFTMAX = (
    Mistake("your gradient uses only the diagonal of the softmax Jacobian, y_i (1 - y_i): "
            "each y_i also depends on every other x_j of its row (dy_i/dx_j = -y_i y_j), "
            "so subtract the row's sum: y * (g - sum(g * y, last axis))",
            _unless_rows_of_one(lambda g, y, x: (g * y * (1 - y),))),
    Mistake("your gradient is y * (g - sum(g)): the row's sum must weigh each g_i by "
            "y_i: y * (g - sum(g * y, last axis, keepdims))",
            _unless_rows_of_one(lambda g, y, x: (y * (g - g.sum(axis=-1, keepdims=True)),))),
    Mistake("your gradient is g - sum(g * y): the factor y_j in front is missing: "
            "dL/dx_j = y_j (g_j - sum_i g_i y_i)",
            _unless_rows_of_one(lambda g, y, x: (g - (g * y).sum(axis=-1, keepdims=True),))),
)
LOGSUMEXP = (
    Mistake("your gradient is grad_output, as if logsumexp were a sum: d/dx_j log(sum "
            "exp x) = exp(x_j) / sum exp x = softmax(x)_j, so multiply by p",
            _unless_rows_of_one(lambda g, y, x: (np.broadcast_to(g[..., None], x.shape),))),
    Mistake("your gradient is g * exp(x): the derivative of log(s) is 1/s, so divide by "
            "the row's sum of exp: softmax(x)",
            lambda g, y, x: (g[..., None] * np.exp(x),)),
)
MATMUL = (
    Mistake("your dL/da equals grad_output @ b: the transpose is missing. dL/da = "
            "grad_output @ b.T (on square matrices both have the right shape, so only the "
            "numbers tell)",
            _if_shapes_fit(lambda g, y, a, b: (g @ b, None))),
    Mistake("your dL/da equals b @ grad_output, the product in the wrong order: "
            "dL/da = grad_output @ b.T",
            _if_shapes_fit(lambda g, y, a, b: (b @ g, None))),
    Mistake("your dL/da equals b.T @ grad_output: the transpose is on the right matrix "
            "but the product is in the wrong order: dL/da = grad_output @ b.T",
            _if_shapes_fit(lambda g, y, a, b: (b.T @ g, None))),
    Mistake("your dL/db equals a @ grad_output: the transpose is missing. dL/db = "
            "a.T @ grad_output",
            _if_shapes_fit(lambda g, y, a, b: (None, a @ g))),
    Mistake("your dL/db equals grad_output @ a.T, the product in the wrong order: "
            "dL/db = a.T @ grad_output",
            _if_shapes_fit(lambda g, y, a, b: (None, g @ a.T))),
    Mistake("your dL/db equals grad_output.T @ a, the right one transposed: dL/db = "
            "a.T @ grad_output",
            _if_shapes_fit(lambda g, y, a, b: (None, g.T @ a))),
)
LAYERNORM = (
    Mistake("your gradient is grad_output / sigma, as if the mean and sigma were "
            "constants: they depend on every x of the row, and subtracting their part "
            "gives (g - mean(g) - y * mean(g * y)) / sigma",
            lambda g, out, x: (g / _layernorm_parts(x)[1],)),
    Mistake("your gradient is (g - mean(g)) / sigma: the mean's part is there, sigma's is "
            "missing: subtract y * mean(g * y) too",
            lambda g, out, x: ((g - g.mean(axis=-1, keepdims=True))
                               / _layernorm_parts(x)[1],)),
)
MAX_WITH_TIES = (
    Mistake("each tied maximum got all of grad_output: the k tied elements share it, "
            "1/k each (so that the gradient sums to grad_output, as for one maximum)",
            lambda g, y, x: (g * (x == x.max()),)),
    Mistake("only one of the tied maxima got the gradient (argmax's one-hot): the "
            "convention here, as tg.max's, shares it equally among the k ties",
            lambda g, y, x: (g * (np.arange(x.size) == np.argmax(x)).reshape(x.shape),)),
)


def _conv1d_flipped_kernel(g, y, x, w):
    """dL/dx computed with the kernel reversed; None where reversing changes nothing
    (k = 1, or a symmetric kernel): there the mistake cannot be told from the right."""
    if np.array_equal(w, w[::-1]):
        return None, None
    return np.convolve(g, w[::-1]), None


def _conv1d_reversed_weight_grad(g, y, x, w):
    """dL/dw reversed; None when it reads the same both ways (k = 1)."""
    right = np.correlate(x, g, mode="valid")  # dL/dw_j = sum_i g_i x_{i+j}
    if np.array_equal(right, right[::-1]):
        return None, None
    return None, right[::-1]


CONV1D = (
    Mistake("your dL/dx uses the kernel flipped: x_{i+j} met w_j, so dL/dx_{i+j} "
            "gets g_i w_j (pad g * w_j with j zeros in front), not w_{k-1-j}",
            _conv1d_flipped_kernel),
    Mistake("your dL/dw is the right one reversed: w_j met x_{i+j}, so dL/dw_j = "
            "sum_i g_i x_{i+j}, tap j reading x from offset j (the first tap from the "
            "start of x, the last from its end)",
            _conv1d_reversed_weight_grad),
)

# In teaching order: one input, then two; elementwise, then reductions and shapes;
# then ops whose every output depends on a whole row; then indexing, ties, windows.
EXERCISES = [
    Exercise("mul", "Mul", "two inputs: each gradient is the other input", mistakes=MUL),
    Exercise("div", "Div", "a quotient: the derivative of 1/y is -1/y^2", mistakes=DIV),
    Exercise("exp", "Exp", "a derivative that is the op's own output", mistakes=EXP),
    Exercise("log", "Log", "a domain (x > 0) and the derivative 1/x", mistakes=LOG),
    Exercise("tanh", "Tanh", "1 - y^2, written with the saved output", mistakes=TANH),
    Exercise("power", "Power", "the power rule, with a constant exponent", mistakes=POWER),
    Exercise("relu", "ReLU", "a kink: a 0/1 mask as the derivative", mistakes=RELU),
    Exercise("sigmoid", "Sigmoid", "s (1 - s), both factors of the saved output",
             mistakes=SIGMOID),
    Exercise("sum_axis", "SumAxis", "a reduction: the gradient is copied back",
             mistakes=SUM_AXIS),
    Exercise("mean_axis", "MeanAxis", "a mean: copied back, times 1/n", mistakes=MEAN_AXIS),
    Exercise("broadcast_add", "BroadcastAdd", "sum the gradient over broadcast axes"),
    Exercise("transpose", "Transpose", "the inverse permutation moves it back",
             mistakes=TRANSPOSE),
    Exercise("matmul", "MatMul", "two inputs, and where the transposes go", mistakes=MATMUL),
    Exercise("logsumexp", "LogSumExp", "a reduction whose gradient is softmax",
             mistakes=LOGSUMEXP),
    Exercise("softmax", "Softmax", "a row's full Jacobian, never built", mistakes=SOFTMAX),
    Exercise("layernorm", "LayerNorm", "outputs that depend on the whole row",
             mistakes=LAYERNORM),
    Exercise("gather", "Gather", "repeated indices: np.add.at, not +=", mistakes=GATHER),
    Exercise("max_with_ties", "MaxWithTies", "no derivative at a tie: a convention",
             mistakes=MAX_WITH_TIES),
    Exercise("conv1d", "Conv1d", "a sliding window: inputs used many times",
             mistakes=CONV1D),
]

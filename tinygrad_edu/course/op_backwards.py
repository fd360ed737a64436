"""Stage 2: op backwards. Each exercise is a tg.Function whose backward the student
writes; gradcheck grades it, and the mistakes listed with it are named when seen.

A Mistake's vjp(g, out, *inputs) gives, with NumPy, the gradients of a classic wrong
backward (one per input, None where it says nothing): see grading.Mistake.
"""

from __future__ import annotations

import numpy as np

from .exercise import Exercise
from .grading import Mistake

STAGE = "op backwards"


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _layernorm_parts(x, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + eps)
    return (x - mu) / sigma, sigma


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
            lambda g, y, x: (g * y * (1 - y),)),
    Mistake("your gradient is y * (g - sum(g)): the row's sum must weigh each g_i by "
            "y_i: y * (g - sum(g * y, last axis, keepdims))",
            lambda g, y, x: (y * (g - g.sum(axis=-1, keepdims=True)),)),
    Mistake("your gradient is g - sum(g * y): the factor y_j in front is missing: "
            "dL/dx_j = y_j (g_j - sum_i g_i y_i)",
            lambda g, y, x: (g - (g * y).sum(axis=-1, keepdims=True),)),
)
LOGSUMEXP = (
    Mistake("your gradient is grad_output, as if logsumexp were a sum: d/dx_j log(sum "
            "exp x) = exp(x_j) / sum exp x = softmax(x)_j, so multiply by p",
            lambda g, y, x: (np.broadcast_to(g[..., None], x.shape),)),
    Mistake("your gradient is g * exp(x): the derivative of log(s) is 1/s, so divide by "
            "the row's sum of exp: softmax(x)",
            lambda g, y, x: (g[..., None] * np.exp(x),)),
)
MATMUL = (
    Mistake("your dL/da equals grad_output @ b: the transpose is missing. dL/da = "
            "grad_output @ b.T (on square matrices both have the right shape, so only the "
            "numbers tell)",
            lambda g, y, a, b: (g @ b, None)),
    Mistake("your dL/da equals b @ grad_output, the product in the wrong order: "
            "dL/da = grad_output @ b.T",
            lambda g, y, a, b: (b @ g, None)),
    Mistake("your dL/da equals b.T @ grad_output: the transpose is on the right matrix "
            "but the product is in the wrong order: dL/da = grad_output @ b.T",
            lambda g, y, a, b: (b.T @ g, None)),
    Mistake("your dL/db equals a @ grad_output: the transpose is missing. dL/db = "
            "a.T @ grad_output",
            lambda g, y, a, b: (None, a @ g)),
    Mistake("your dL/db equals grad_output @ a.T, the product in the wrong order: "
            "dL/db = a.T @ grad_output",
            lambda g, y, a, b: (None, g @ a.T)),
    Mistake("your dL/db equals grad_output.T @ a, the right one transposed: dL/db = "
            "a.T @ grad_output",
            lambda g, y, a, b: (None, g.T @ a)),
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
CONV1D = (
    Mistake("your dL/dx uses the kernel flipped: x_{i+j} met w_j, so dL/dx_{i+j} "
            "gets g_i w_j (pad g * w_j with j zeros in front), not w_{k-1-j}",
            lambda g, y, x, w: (np.convolve(g, w[::-1]), None)),
)

EXERCISES = [
    Exercise("sigmoid", "Sigmoid", "a derivative written with the saved output, s (1 - s)",
             mistakes=SIGMOID),
    Exercise("softmax", "Softmax", "a full Jacobian per row, applied without building it",
             mistakes=SOFTMAX),
    Exercise("logsumexp", "LogSumExp", "a reduction: the gradient gets its axis back",
             mistakes=LOGSUMEXP),
    Exercise("matmul", "MatMul", "two inputs, and where the transposes go",
             mistakes=MATMUL),
    Exercise("layernorm", "LayerNorm", "outputs that depend on the whole row",
             mistakes=LAYERNORM),
    Exercise("broadcast_add", "BroadcastAdd",
             "summing the gradient over the axes forward broadcast"),
    Exercise("max_with_ties", "MaxWithTies",
             "a point with no derivative, and the convention for it", mistakes=MAX_WITH_TIES),
    Exercise("conv1d", "Conv1d", "a sliding window: inputs used by several outputs",
             mistakes=CONV1D),
]

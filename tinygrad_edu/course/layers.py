"""Stage 4: layers. The backwards of a linear layer, of the softmax cross-entropy loss and
of batch normalization: ops over a batch, whose parameters every row of it shares.

Each is an op exercise (see op_backwards.py): gradcheck grades it, and a Mistake whose
gradient equals the student's is named in a hint. Several mistakes of a batch are off by
the batch size N; their hints say the N they saw, so each comes as one Mistake per batch
size (`_per_batch_size`).
"""

from __future__ import annotations

import numpy as np

from .exercise import Exercise
from .grading import Mistake

STAGE = "layers"

# The batch sizes a hint can name: one Mistake each (the templates' cases stay within).
BATCH_SIZES = range(2, 33)


def _per_batch_size(hint: str, vjp) -> tuple:
    """The Mistake `vjp` once per batch size N, its hint saying N (`{n}` in the text).

    A Mistake's hint is fixed text, so the one for N answers only on inputs with N rows
    (the first input's first axis) and says nothing (None) about the others."""
    def for_rows(n):
        def vjp_with_n_rows(g, out, *inputs):
            if len(inputs[0]) != n:
                return (None,) * len(inputs)
            return vjp(g, out, *inputs)
        return vjp_with_n_rows
    return tuple(Mistake(hint.format(n=n), for_rows(n)) for n in BATCH_SIZES)


# --- linear: y = x @ W.T + b ---------------------------------------------------------------


def _if_shaped_as(array, gradient):
    """The gradient if it has the input array's shape, else None: a mistake that gives
    another shape meets the engine's shape error, which says more than a hint."""
    return gradient if gradient.shape == array.shape else None


LINEAR = (
    Mistake("your dL/dW equals x.T @ grad_output, the right one transposed: W is (out, in) "
            "and y = x @ W.T, so dL/dW = grad_output.T @ x, (out, N) @ (N, in) (when in == "
            "out both have W's shape, so only the numbers tell)",
            lambda g, y, x, w, b: (None, _if_shaped_as(w, x.T @ g), None)),
    Mistake("your dL/dx equals grad_output @ W.T: forward multiplied by W.T, and going back "
            "multiplies by its transpose, W itself: dL/dx = grad_output @ W, (N, out) @ "
            "(out, in)",
            lambda g, y, x, w, b: (g @ w.T, None, None)),
    *_per_batch_size(
        "your dL/db is 1/N of the right one (N = {n}, the batch size): the mean of "
        "grad_output over the batch. b is added to every row, so each row's gradient "
        "adds up: dL/db = grad_output.sum(axis=0)",
        lambda g, y, x, w, b: (None, None, g.mean(axis=0))),
)


# --- softmax cross-entropy: mean over the batch of -log softmax(z)[n, y_n] -------------------


def cross_entropy_labels(n: int, classes: int) -> np.ndarray:
    """The class labels of a batch of n rows, as the template fixes them (a test keeps the
    two the same)."""
    return (3 * np.arange(n) + 1) % classes


def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _one_hot(z):
    n, classes = z.shape
    return np.eye(classes)[cross_entropy_labels(n, classes)]


SOFTMAX_CROSS_ENTROPY = (
    *_per_batch_size(
        "your gradient is N times the right one (N = {n}, the batch size): the loss is a "
        "mean over the batch, so divide by N: (softmax(z) - onehot(y)) / N * grad_output",
        lambda g, out, z: ((np.exp(_log_softmax(z)) - _one_hot(z)) * g,)),
    Mistake("your gradient is softmax(z) / N: the one-hot of the labels is not subtracted. "
            "-log softmax(z)[y] = logsumexp(z) - z[y], and the - z[y] term gives -1 at "
            "each row's label: (softmax(z) - onehot(y)) / N",
            lambda g, out, z: (np.exp(_log_softmax(z)) / len(z) * g,)),
    Mistake("your gradient has the wrong sign, (onehot(y) - softmax(z)) / N: raising the "
            "label's logit lowers the loss, so dL/dz[y] = (softmax(z)[y] - 1) / N is "
            "negative: (softmax(z) - onehot(y)) / N",
            lambda g, out, z: ((_one_hot(z) - np.exp(_log_softmax(z))) / len(z) * g,)),
    Mistake("your gradient uses the log-softmax where the softmax belongs: d/dz "
            "logsumexp(z) = exp(z) / sum(exp(z)) = softmax(z), so take np.exp of the saved "
            "log_probs: (exp(log_probs) - onehot(y)) / N",
            lambda g, out, z: ((_log_softmax(z) - _one_hot(z)) / len(z) * g,)),
)


# --- batch norm (training mode): y = gamma * (x - mean) / sigma + beta, over the batch ------

BATCHNORM_EPS = 1e-5  # the template's EPS


def _batchnorm_parts(x):
    """(x_hat, sigma) of batch norm's forward, as the template computes them."""
    mu = x.mean(axis=0)
    sigma = np.sqrt(((x - mu) ** 2).mean(axis=0) + BATCHNORM_EPS)
    return (x - mu) / sigma, sigma


def _batchnorm_dx(g, x, gamma, variance_rows):
    """dL/dx with the variance term's mean over `variance_rows` rows (N right, N - 1 not)."""
    x_hat, sigma = _batchnorm_parts(x)
    g_hat = g * gamma
    variance_term = x_hat * (g_hat * x_hat).sum(axis=0) / variance_rows
    return (g_hat - g_hat.mean(axis=0) - variance_term) / sigma


BATCHNORM = (
    Mistake("your dL/dx is grad_output * gamma / sigma, as if the batch's mean and sigma "
            "were constants: they are computed from every row of x, and their part of the "
            "chain rule subtracts mean(g_hat) and x_hat * mean(g_hat * x_hat) (means over "
            "the batch, axis 0) before dividing by sigma",
            lambda g, y, x, gamma, beta: (g * gamma / _batchnorm_parts(x)[1],
                                          None, None)),
    Mistake("your dL/dx is (g_hat - mean(g_hat)) / sigma: the mean's part is there, the "
            "variance's is missing: subtract x_hat * mean(g_hat * x_hat) too (sigma depends "
            "on x)",
            lambda g, y, x, gamma, beta: (
                (g * gamma - (g * gamma).mean(axis=0)) / _batchnorm_parts(x)[1],
                None, None)),
    Mistake("your dL/dx's variance term divides by N - 1: forward's variance is the biased "
            "one, mean((x - mu)^2), a sum divided by N (as in PyTorch's training mode), so "
            "its derivative divides by N too: x_hat * mean(g_hat * x_hat)",
            lambda g, y, x, gamma, beta: (_batchnorm_dx(g, x, gamma, len(x) - 1),
                                          None, None)),
    *_per_batch_size(
        "this gradient is 1/N of the right one (N = {n}, the batch size): a mean over the "
        "batch. gamma and beta are used by every row, so their gradients add the rows up: "
        "dL/dgamma = (grad_output * x_hat).sum(axis=0), dL/dbeta = grad_output.sum(axis=0)",
        lambda g, y, x, gamma, beta: (None, (g * _batchnorm_parts(x)[0]).mean(axis=0),
                                      g.mean(axis=0))),
)

EXERCISES = [
    Exercise("linear", "Linear", "a layer's three gradients: input, weight, bias",
             mistakes=LINEAR),
    Exercise("softmax_cross_entropy", "cross_entropy",
             "a fused loss, (softmax - onehot) / N", mistakes=SOFTMAX_CROSS_ENTROPY),
    Exercise("batchnorm", "BatchNorm", "statistics of the batch, and their gradients",
             mistakes=BATCHNORM),
]

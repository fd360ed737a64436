"""Exercise: the backward of softmax and cross-entropy, fused into one op.

A classifier gives each of N examples C scores, the logits z (N, C). Softmax turns a
row into probabilities, and the loss is the mean over the batch of -log the probability
of the right class y_n (the labels y, N integers in 0 .. C-1):

    p = softmax(z)                p_nc = exp(z_nc) / sum_k exp(z_nk)
    L = -(1/N) sum_n log p[n, y_n]

Take one row. log p_c = z_c - logsumexp(z), so -log p_y = logsumexp(z) - z_y, and

    d/dz_c logsumexp(z) = exp(z_c) / sum_k exp(z_k) = p_c
    d/dz_c (-z_y)       = -1 if c == y, else 0

so the row's gradient is p - onehot(y): the predicted probabilities minus the right
answer. The mean divides each row's part by N, and the chain rule multiplies by the
upstream gradient g (a number: L is one number; g = 1 when L is what you backward):

    dL/dz = (softmax(z) - onehot(y)) / N * g          (N, C)

Why one op and not softmax, then log, then a mean: the fused backward is this one
short line, and it never divides by a tiny probability (d/dp log p = 1/p would, for a
confident wrong answer). Forward keeps log p in the stable form
z - max - log(sum(exp(z - max))).

The labels are integers, so they are not an input of the check (the grader makes every
input random floats): `labels_for` fixes them in this file, and the grader checks
`cross_entropy(z)`, the loss of z with those labels.

What backward gets: grad_output (a 0-d Tensor) and ctx.saved_tensors == (log_probs,
labels): log p, an ndarray (N, C), and the labels, integers (N,). np.exp(log_probs) is
p; np.eye(C)[labels] is the one-hot matrix. Return (dL/dz, None): None for the labels,
which need no gradient.

Write SoftmaxCrossEntropy.backward, then check it (in your course folder):

    tinygrad-edu exercises check softmax_cross_entropy
"""

import numpy as np

import tinygrad_edu as tg


class SoftmaxCrossEntropy(tg.Function):
    @staticmethod
    def forward(ctx, logits, labels):
        z = logits.data                                     # (N, C)
        shifted = z - z.max(axis=1, keepdims=True)          # exp cannot overflow now
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        ctx.save_for_backward(log_probs, labels)
        rows = np.arange(len(z))
        return -log_probs[rows, labels].mean()              # -log p[n, y_n], averaged

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dz = (softmax(z) - onehot(y)) / N * grad_output
        raise NotImplementedError(
            "SoftmaxCrossEntropy.backward: write the backward. Take (log_probs, "
            "labels) from ctx.saved_tensors, make p and the one-hot of the labels, and "
            "return (dL/dz, None)")


def labels_for(n, classes):
    """The labels of a batch of n rows: 1, 4, 7, ... wrapped around the classes."""
    return (3 * np.arange(n) + 1) % classes


def cross_entropy(logits):
    """What the grader checks: the loss of these logits, with the labels fixed above."""
    n, classes = logits.shape
    return SoftmaxCrossEntropy.apply(logits, labels_for(n, classes))


# (N, C): batches of several sizes, over several numbers of classes
SHAPES = [((4, 3),), ((2, 5),), ((6, 4),), ((3, 3),)]

"""Embedding: a lookup table of learned vectors.

An embedding maps each integer id (a word, a token, a category) to a row of a weight
matrix W of shape (num_embeddings, embedding_dim): y[..., :] = W[i[...], :]. It is the
same as multiplying a one-hot vector by W, without building the one-hot vectors.

Backward: row W[k] was copied to every position where the index is k, so its gradient
is the sum of the upstream gradients of all those positions; rows never looked up get 0.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..dtypes import get_default_dtype
from ..engine import Function
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class EmbeddingLookup(Function):
    """y[..., :] = weight[indices[...], :], with no gradient for row `padding_idx`"""

    @staticmethod
    def forward(ctx, weight, *, indices, padding_idx=None):
        ctx.indices, ctx.padding_idx = indices, padding_idx
        ctx.save_for_backward(weight.shape)
        return weight.data[indices]  # (*indices.shape, embedding_dim)

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dW[k] = sum of dL/dy[p] over the positions p with indices[p] = k;
        # row padding_idx gets 0 (it is a fixed "nothing here" vector)
        (shape,) = ctx.saved_tensors
        indices, padding_idx = ctx.indices, ctx.padding_idx
        if ctx.create_graph:  # the scatter-add as a recorded op
            grad = ops.IndexAdd.apply(grad_output, index=indices, shape=shape)
            if padding_idx is not None:
                keep = np.ones((shape[0], 1), dtype=grad.dtype)
                keep[padding_idx] = 0
                grad = grad * keep
            return grad
        grad = np.zeros(shape, dtype=grad_output.dtype)
        # np.add.at, not `grad[indices] += g`: with a repeated index (the same word twice
        # in a sentence) `+=` writes each row once, keeping only one of the gradients;
        # np.add.at adds every one of them
        np.add.at(grad, indices.reshape(-1), grad_output.data.reshape(-1, shape[1]))
        if padding_idx is not None:
            grad[padding_idx] = 0
        return Tensor._make(grad, False, None)


def _indices(op: str, input, num_embeddings: int) -> np.ndarray:
    """The indices as an integer array, checked to lie in 0..num_embeddings-1."""
    indices = input.data if isinstance(input, Tensor) else np.asarray(input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {indices.dtype}; convert "
                        "them with x.astype(np.int64)")
    if indices.size and (indices.min() < 0 or indices.max() >= num_embeddings):
        bad = indices[(indices < 0) | (indices >= num_embeddings)].reshape(-1)[0]
        raise IndexError(f"{op}: index {bad} is out of range for {num_embeddings} embeddings "
                         f"(indices must be in 0..{num_embeddings - 1})")
    # a copy: backward needs these indices, and the caller may refill its array (a batch
    # buffer) before calling backward
    return indices.copy()


def _padding_idx(op: str, padding_idx, num_embeddings: int):
    """padding_idx as a row number in 0..num_embeddings-1 (negative counts from the end)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{op}: padding_idx {padding_idx} is out of range for "
                         f"{num_embeddings} embeddings (use -{num_embeddings} to "
                         f"{num_embeddings - 1}, or None)")
    return int(padding_idx) % num_embeddings


def embedding(input, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Look up rows of `weight`: output[..., :] = weight[input[...], :].

    Args:
        input: integer indices of any shape, each in 0..num_embeddings-1.
        weight: a Tensor of shape (num_embeddings, embedding_dim).
        padding_idx: a row that receives no gradient (it stays as it is in training).
            Its gradient is 0 by definition, not by calculus, so gradcheck and
            check_graph report that row as a mismatch, as they would in PyTorch.

    Returns:
        A Tensor of shape input.shape + (embedding_dim,).
    """
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be a matrix (num_embeddings, "
                         f"embedding_dim), got shape {weight.shape}")
    indices = _indices("embedding", input, weight.shape[0])
    padding_idx = _padding_idx("embedding", padding_idx, weight.shape[0])
    return EmbeddingLookup.apply(weight, indices=indices, padding_idx=padding_idx)


class Embedding(Module):
    """A table of num_embeddings vectors of size embedding_dim, looked up by index.

    weight (num_embeddings, embedding_dim) starts as draws from N(0, 1) (from
    `tg.generator()`, as PyTorch), with row padding_idx, if given, set to 0; that row
    receives no gradient. Input: integer indices of any shape; output:
    input.shape + (embedding_dim,).

    Args:
        num_embeddings: the number of rows (the vocabulary size).
        embedding_dim: the size of each vector.
        padding_idx: a row set to 0 that stays fixed in training (negative counts from
            the end).
        dtype: of the weight (default: tg's default dtype).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: int | None = None, dtype=None, _weight=None):
        super().__init__()
        for label, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"Embedding: {label} must be a positive int, got {n!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = _padding_idx("Embedding", padding_idx, self.num_embeddings)
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        if _weight is not None:  # from_pretrained: given, not drawn (nor its padding zeroed)
            self.weight = Parameter(np.array(_weight, dtype=dtype))
            return
        self.weight = init.normal_(Parameter(np.empty((num_embeddings, embedding_dim),
                                                      dtype=dtype)))
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0
            self.weight._bump_version()

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True,
                        padding_idx: int | None = None) -> Embedding:
        """An Embedding holding a copy of `embeddings` (num_embeddings, embedding_dim),
        frozen (requires_grad=False) unless freeze=False. The padding row is not zeroed."""
        array = np.array(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if array.ndim != 2 or array.dtype.kind != "f":
            raise ValueError(f"Embedding.from_pretrained: embeddings must be a 2-D float "
                             f"array (num_embeddings, embedding_dim), got shape "
                             f"{array.shape} and dtype {array.dtype}")
        layer = cls(array.shape[0], array.shape[1], padding_idx=padding_idx, dtype=array.dtype,
                    _weight=array)
        layer.weight.requires_grad_(not freeze)
        return layer

    def forward(self, input) -> Tensor:
        indices = _indices("Embedding", input, self.num_embeddings)
        return EmbeddingLookup.apply(self.weight, indices=indices, padding_idx=self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")

"""Embedding and F.embedding: lookup, scatter-add gradient, padding_idx, errors.

Expectations are NumPy indexing (weight[indices]) and, for the gradient, the one-hot
form of the same lookup: y = onehot(indices) @ W, so dL/dW = onehot^T @ g, which adds
the gradients of repeated indices by construction.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.nn.embedding import EmbeddingLookup


def onehot_gradient(indices, upstream, num_embeddings):
    """dL/dW for y = onehot(indices) @ W and upstream gradient g: onehot^T @ g."""
    onehot = np.eye(num_embeddings)[indices.reshape(-1)]  # (positions, num_embeddings)
    return onehot.T @ upstream.reshape(len(onehot), -1)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 2, 3)])
def test_lookup_shape_and_values(shape):
    layer = nn.Embedding(7, 5)
    indices = np.random.default_rng(0).integers(0, 7, size=shape)
    out = layer(indices)
    assert out.shape == shape + (5,)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, layer.weight.data[indices])
    np.testing.assert_array_equal(F.embedding(tg.Tensor(indices), layer.weight).data,
                                  layer.weight.data[indices])


def test_init_is_standard_normal_and_seeded():
    tg.manual_seed(3)
    a = nn.Embedding(400, 50).weight.data
    tg.manual_seed(3)
    np.testing.assert_array_equal(nn.Embedding(400, 50).weight.data, a)
    # 20000 draws of N(0, 1): the sample mean is within 5 standard errors (5/sqrt(n)) of 0
    assert abs(a.mean()) < 5 / np.sqrt(a.size)
    assert abs(a.std() - 1) < 0.03


def test_gradient_adds_repeated_indices():
    rng = np.random.default_rng(1)
    weight = tg.Tensor(rng.normal(size=(5, 3)), requires_grad=True)
    indices = np.array([[1, 3, 1], [1, 0, 3]])  # 1 three times, 3 twice, 2 and 4 never
    upstream = rng.normal(size=(2, 3, 3))
    (F.embedding(indices, weight) * upstream).sum().backward()
    expected = onehot_gradient(indices, upstream, 5)
    np.testing.assert_allclose(weight.grad.data, expected, rtol=1e-12)
    np.testing.assert_allclose(weight.grad.data[1], upstream[0, 0] + upstream[0, 2]
                               + upstream[1, 0], rtol=1e-12)
    np.testing.assert_array_equal(weight.grad.data[[2, 4]], 0)


def test_why_add_at_and_not_plus_equals():
    # the comment in EmbeddingLookup.backward: fancy-index `+=` keeps one of the repeats
    indices, upstream = np.array([1, 1, 1]), np.ones((3, 2))
    naive = np.zeros((3, 2))
    naive[indices] += upstream
    assert naive[1, 0] == 1  # not 3
    weight = tg.Tensor(np.zeros((3, 2)), requires_grad=True)
    F.embedding(indices, weight).sum().backward()
    np.testing.assert_array_equal(weight.grad.data, [[0, 0], [3, 3], [0, 0]])


def test_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(2)
    weight = tg.Tensor(rng.normal(size=(4, 3)), requires_grad=True)
    indices = np.array([0, 2, 2, 3, 0, 0])
    assert tg.gradcheck(lambda w: F.embedding(indices, w) ** 2, [weight])
    assert tg.gradgradcheck(lambda w: F.embedding(indices, w) ** 2, [weight])
    # with padding_idx the analytic gradient of that row is 0 by definition, while
    # finite differences see the row's real effect: gradcheck must disagree (PyTorch too)
    report = tg.gradcheck(lambda w: F.embedding(indices, w, padding_idx=2), [weight],
                          verbose=False)
    assert not report


def test_padding_idx_row_is_zero_and_gets_no_gradient():
    layer = nn.Embedding(6, 4, padding_idx=2)
    np.testing.assert_array_equal(layer.weight.data[2], 0)
    assert np.all(layer.weight.data[[0, 1, 3, 4, 5]] != 0)
    indices = np.array([[2, 1, 2], [0, 2, 1]])
    upstream = np.random.default_rng(3).normal(size=(2, 3, 4)).astype(np.float32)
    (layer(indices) * upstream).sum().backward()
    expected = onehot_gradient(indices, upstream, 6)
    expected[2] = 0
    np.testing.assert_allclose(layer.weight.grad.data, expected, rtol=1e-6)
    # negative padding_idx counts from the end, as in PyTorch
    assert nn.Embedding(6, 4, padding_idx=-1).padding_idx == 5


def test_padding_row_gets_no_gradient_with_create_graph_too():
    weight = tg.Tensor(np.random.default_rng(4).normal(size=(4, 2)), requires_grad=True)
    indices = np.array([0, 1, 1, 3])
    (grad,) = tg.autograd.grad((F.embedding(indices, weight, padding_idx=1) ** 2).sum(), [weight],
                      create_graph=True)
    assert grad.requires_grad
    expected = np.zeros((4, 2))
    np.add.at(expected, indices, 2 * weight.data[indices])
    expected[1] = 0
    np.testing.assert_allclose(grad.data, expected, rtol=1e-12)


def test_from_pretrained_copies_and_freezes():
    table = np.arange(12, dtype=np.float64).reshape(4, 3)
    tg.manual_seed(5)
    before = tg.generator().random()
    tg.manual_seed(5)
    layer = nn.Embedding.from_pretrained(table)
    assert tg.generator().random() == before  # nothing was drawn
    np.testing.assert_array_equal(layer(np.array([3, 0])).data, table[[3, 0]])
    assert not layer.weight.requires_grad and layer.weight.dtype == np.float64
    table[0, 0] = 100  # a copy, not a view
    assert layer.weight.data[0, 0] == 0
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    with pytest.raises(ValueError, match="2-D float array"):
        nn.Embedding.from_pretrained(np.ones(3))


def test_state_dict_and_repr():
    layer = nn.Embedding(10, 3, padding_idx=0)
    assert list(layer.state_dict()) == ["weight"]  # as torch.nn.Embedding
    assert layer.weight.shape == (10, 3)
    assert repr(layer).startswith("Embedding(10, 3, padding_idx=0)")


def test_one_graph_node():
    weight = tg.Tensor(np.ones((3, 2)), requires_grad=True)
    out = F.embedding(np.array([0, 2]), weight)
    assert isinstance(out.grad_fn, EmbeddingLookup) and out.grad_fn.inputs == (weight,)


def test_errors():
    layer = nn.Embedding(5, 2)
    with pytest.raises(TypeError, match=r"Embedding: indices must be integers.*float"):
        layer(np.array([0.0, 1.0]))
    with pytest.raises(IndexError, match=r"index 5 is out of range for 5 embeddings.*0\.\.4"):
        layer(np.array([[0, 5]]))
    with pytest.raises(IndexError, match=r"index -1 is out of range"):
        F.embedding(np.array([-1]), layer.weight)
    with pytest.raises(ValueError, match=r"padding_idx 5 is out of range for 5"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="embedding_dim must be a positive int"):
        nn.Embedding(5, 0)
    with pytest.raises(ValueError, match=r"weight must be a matrix.*\(6,\)"):
        F.embedding(np.array([0]), tg.ones(6))


def test_refilling_the_index_array_before_backward_does_not_change_the_gradient():
    emb = nn.Embedding(4, 2).double()
    indices = np.array([0, 1])
    out = emb(indices)
    indices[:] = [2, 3]                 # a batch buffer refilled before backward
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy(), [[1, 1], [1, 1], [0, 0], [0, 0]])

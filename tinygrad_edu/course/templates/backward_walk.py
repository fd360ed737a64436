"""Exercise: the backward walk, the chain rule over a whole graph.

Each op's backward (the ones of stage 2) does one step of the chain rule: from
dL/d(its output) to dL/d(each input). The walk chains those steps over the graph. With
the nodes in an order where each node comes before every node it uses (the previous
exercise; the grader passes the engine's own order), it is one loop over a dict `grads`
that maps each node, or leaf, to dL/d(its output), summed over what has arrived so far:

    grads = {root.grad_fn: ones}       dL/dL = 1: an array of ones, of root's shape
    for node in order:
        grad_output = grads[node]      complete: all its consumers came before it
        for parent, g in zip(node.parents, local_backward(node, grad_output)):
            skip the pair if parent is None (an input that needs no gradient)
            add g into grads[parent], or start grads[parent] with g if it has none yet

local_backward(node, grad_output), imported below, runs the node's own backward: it
returns a list with one entry per entry of node.parents, in the same order, each an
array of that input's shape (None where the parent is None). Each array is a new one:
adding into it in place is safe.

Why add, and never assign. A tensor used twice gets a gradient from each use, and the
chain rule sums them. For y = x * x, dy/dx = x + x = 2x: Mul's backward returns
(g * x, g * x), one per input, and both are for the same parent x. Keep only one and
the gradient is half. The same holds when a tensor feeds two different ops, as a in
a * a.sin(), and in every network: a weight used at every step of an RNN, the input of
a residual block.

At the end, every node's entry has been used (take it out with grads.pop(node) when its
turn comes), and what is left are the leaves, the Tensors among the parents: they have
no backward to run. Their gradients are what backward() stores in .grad.

What to write: backward_walk(root, order), where root is the loss (a Tensor with one
element) and order the list of nodes, root.grad_fn first. Return a dict
{leaf Tensor: dL/d(leaf) as an ndarray}, one entry for every leaf reached.

Write it, then check it (in your course folder):

    tinygrad-edu exercises check backward_walk
"""

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.course.engine_walk import local_backward


def backward_walk(root, order):
    """{leaf: d(root)/d(leaf)} for every leaf below root, walking the nodes in order."""
    raise NotImplementedError(
        "backward_walk: write it: start with grads = {root.grad_fn: "
        "np.ones_like(root.data)}; for each node in order, pop its gradient, call "
        "local_backward, and add each gradient into grads[parent]; return what is "
        "left: the leaves")

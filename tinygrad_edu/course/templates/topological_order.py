"""Exercise: the order of the backward walk (a topological sort, by depth-first search).

Forward records a graph. A tensor made by an op keeps that op's node, `y.grad_fn` (a
tg.Function), and each node keeps, in `node.parents`, one entry per input saying where
that input's gradient must go:

    a node (a tg.Function)   the input was made by that op: its gradient goes on there
    a leaf (a tg.Tensor)     a tensor you made with requires_grad=True: the path ends
    None                     an input that needs no gradient (a constant): the path ends

    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    a = x.exp()          # node Exp   parents (x,)         x is a leaf
    b = a.sin()          # node Sin   parents (Exp,)
    c = a * b            # node Mul   parents (Exp, Sin)
    loss = c.sum()       # node Sum   parents (Mul,)       loss.grad_fn is Sum

Why an order at all. Backward runs each node's backward once, from the loss down, and a
node's backward needs the gradient of its output complete. When the output is used by
several ops (Exp's, by Sin and by Mul), that gradient is the sum of one share from each
of them. So a node may run only after every node that uses it (its consumers):

    Sum, Mul, Sin, Exp       valid: each node before every node it uses
    Sum, Mul, Exp, Sin       wrong: Exp would pass on a gradient without Sin's share

The second is what a breadth-first search from the loss gives (Exp is 2 steps from Sum
through Mul, Sin is 2 steps too, and Exp came first). A node reached by two paths of
different lengths breaks any level-by-level order.

The way that always works: depth-first search, post-order, then reversed. Finish a node
only after all its parents are finished, and append it to a list when it is finished:
every node then comes AFTER the nodes it uses. Reversed, every node comes BEFORE them.

Two rules make it right on any graph:

- keep a set of the nodes seen: a node reached by two paths is listed only once;
- use a list as an explicit stack, not a function that calls itself. Python stops a
  recursion about 1,000 calls deep (RecursionError), and graphs are deeper: an RNN over
  1,000 steps, or the grader's chain of 3,000 ops.

With a stack, a node is pushed twice: (node, False) to visit it, (node, True) to
finish it.

    stack = [(root.grad_fn, False)]
    while the stack is not empty, pop (node, done):
        if done:               all of node's parents are finished: append node
        elif node was seen:    skip it (a second path to it)
        else:                  mark it seen; push (node, True), then (parent, False)
                               for each parent that is a node (a tg.Function)

(Another way is Kahn's algorithm: count each node's consumers, and list a node when its
count falls to 0. Either passes.)

What to write: topological_order(root), where root is a Tensor (the loss) and
root.grad_fn its node. Return a list of the nodes (tg.Function objects, never the
leaves), each exactly once, each before every node it uses: root.grad_fn comes first.
Do not sort by node.sequence (when each op was made): that is the engine's shortcut, and
the exercise is the search.

Write it, then check it (in your course folder):

    tinygrad-edu exercises check topological_order
"""

import tinygrad_edu as tg


def topological_order(root):
    """The nodes below root.grad_fn, each before every node whose output it uses."""
    raise NotImplementedError(
        "topological_order: write it: a depth-first search from root.grad_fn, with a "
        "list as the stack and a set of the nodes seen; append each node once its "
        "parents are finished, and return the list reversed")

"""Exercise: the backward of a linear layer, y = x @ W.T + b (PyTorch's nn.Linear).

    x (N, in)      a batch of N rows, each an input vector
    W (out, in)    the weights, one row per output (PyTorch's layout: hence the W.T)
    b (out,)       the bias, added to every row of the batch
    y = x @ W.T + b    (N, out)        y_nj = sum_i x_ni W_ji + b_j

With g = dL/dy (N, out), follow each input to the outputs it reaches:

    x_ni meets W_ji in y_nj, for every j:
        dL/dx_ni = sum_j g_nj W_ji       dL/dx = g @ W       (N, out) @ (out, in)
    W_ji meets x_ni in y_nj, for every row n:
        dL/dW_ji = sum_n g_nj x_ni       dL/dW = g.T @ x     (out, N) @ (N, in)
    b_j is added to y_nj in every row n:
        dL/db_j = sum_n g_nj             dL/db = g.sum(axis=0)     (out,)

Two things to read off. A weight is used by every row of the batch, so its gradient
adds the rows up: that is the sum over n inside g.T @ x, and the sum for b (b was
broadcast over the batch; its gradient is summed back). And forward multiplied by W.T,
so backward multiplies by W: each product's transpose, as for y = a @ b.

What backward gets: grad_output (a Tensor (N, out)) and ctx.saved_tensors == (x, W),
the input Tensors. `t.T` is the transpose, `@` the product, `t.sum(axis=0)` sums the
rows. Return (dL/dx, dL/dW, dL/db), each with the shape of its input.

Write Linear.backward, then check it (in your course folder):

    tinygrad-edu exercises check linear
"""

import tinygrad_edu as tg


class Linear(tg.Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x.data @ weight.data.T + bias.data

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dx = g @ W,  dL/dW = g^T @ x,  dL/db = sum of g over the batch
        raise NotImplementedError(
            "Linear.backward: write the backward. Return (dL/dx, dL/dW, dL/db): find "
            "the product of grad_output with W (and with x) that has the input's "
            "shape, and sum grad_output over the batch for b")


# (N, in), (out, in), (out,); square cases too (in == out, and N == in == out): there a
# wrong transpose has the right shape and only the numbers tell
SHAPES = [((4, 3), (2, 3), (2,)), ((3, 3), (3, 3), (3,)), ((5, 4), (4, 4), (4,)),
          ((2, 5), (3, 5), (3,))]

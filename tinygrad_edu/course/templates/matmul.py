"""Exercise: the backward of the matrix product.

    y = a @ b            a (n, k), b (k, m) -> y (n, m)
    y_ij = sum_p a_ip b_pj

    dL/da_ip = sum_j g_ij b_pj     that is  dL/da = g @ b.T    (n, m) @ (m, k) -> (n, k)
    dL/db_pj = sum_i a_ip g_ij     that is  dL/db = a.T @ g    (k, n) @ (n, m) -> (k, m)

where g = dL/dy. A check that cannot fail: each gradient has the shape of its input,
and there is only one way to multiply g with b (or a) that gives that shape.

What backward gets: grad_output (a Tensor (n, m)) and ctx.saved_tensors == (a, b),
the input Tensors. `t.T` is the transpose, `@` the product. Return (dL/da, dL/db).

Write MatMul.backward, then check it (in your course folder):

    tinygrad-edu exercises check matmul
"""

import tinygrad_edu as tg


class MatMul(tg.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a.data @ b.data

    @staticmethod
    def backward(ctx, grad_output):
        # dL/da = g @ b^T,  dL/db = a^T @ g
        raise NotImplementedError(
            "MatMul.backward: write the backward. Return two gradients, (dL/da, dL/db), "
            "each with the shape of its input: work out which product of grad_output with "
            "b (and with a) has that shape")


# square cases too: there a missing transpose gives the right shape and wrong numbers
SHAPES = [((2, 3), (3, 4)), ((3, 3), (3, 3)), ((1, 5), (5, 2)), ((4, 4), (4, 4))]

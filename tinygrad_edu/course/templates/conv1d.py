"""Exercise: the backward of a 1-D convolution (valid cross-correlation, as in deep
learning, where "convolution" does not flip the kernel).

    y_i = sum_j x_{i+j} w_j      x (n,), w (k,) -> y (n - k + 1,)  ("valid": no padding)

Each x_t is used by every output y_i with i + j = t, and each w_j by every y_i:

    dL/dw_j = sum_i g_i x_{i+j}        the correlation of x with g      -> (k,)
    dL/dx_t = sum_i g_i w_{t-i}        a "full" convolution of g with w -> (n,)
                                       (only the i with 0 <= t - i < k count)

where g = dL/dy. One way to write dL/dx: x_{j:j+m} received g * w_j from kernel tap j
(m = n - k + 1), so dL/dx = sum over j of g * w_j placed at offset j (pad it with j
zeros in front and k - 1 - j behind). Tensor indexing (x[j:j + m], w[j]), Tensor.pad
and tg.stack all have backwards of their own.

What backward gets: grad_output (a Tensor (m,)) and ctx.saved_tensors == (x, w), the
input Tensors. Return (dL/dx, dL/dw).

Write Conv1d.backward, then check it (in your course folder):

    tinygrad-edu exercises check conv1d
"""

import numpy as np

import tinygrad_edu as tg


class Conv1d(tg.Function):
    @staticmethod
    def forward(ctx, x, w):
        if x.ndim != 1 or w.ndim != 1 or w.shape[0] > x.shape[0]:
            raise ValueError(f"conv1d: needs a signal x (n,) and a kernel w (k,) with k <= n, "
                             f"got {x.shape} and {w.shape}")
        ctx.save_for_backward(x, w)
        return np.correlate(x.data, w.data, mode="valid")  # y_i = sum_j x[i + j] w[j]

    @staticmethod
    def backward(ctx, grad_output):
        # dL/dw_j = sum_i g_i x_{i+j},  dL/dx_t = sum_i g_i w_{t-i}
        raise NotImplementedError(
            "Conv1d.backward: write the backward. Return (dL/dx, dL/dw): dL/dw_j = "
            "sum_i g_i x_{i+j}, and dL/dx collects g * w_j at offset j for every tap j")


SHAPES = [((5,), (3,)), ((8,), (3,)), ((6,), (1,)), ((4,), (4,)), ((7,), (2,))]

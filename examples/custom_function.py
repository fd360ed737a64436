"""Write your own op as a tg.Function, and let gradcheck say whether its backward is right.

Run: python examples/custom_function.py
"""

import numpy as np

import tinygrad_edu as tg


class Softsign(tg.Function):
    """y = x / (1 + |x|)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data / (1 + np.abs(x.data))

    @staticmethod
    def backward(ctx, grad_output):
        # dy/dx = 1 / (1 + |x|)^2
        (x,) = ctx.saved_tensors
        return grad_output / (1 + x.abs()) ** 2


class SoftsignWrong(Softsign):
    """The same op with a classic mistake: the square is forgotten."""

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + x.abs())


x = tg.Tensor(np.array([-2.0, -0.5, 0.3, 1.5]), requires_grad=True)

right = tg.gradcheck(Softsign.apply, [x])
print("Softsign:", "passed" if right else "FAILED")

wrong = tg.gradcheck(SoftsignWrong.apply, [x], verbose=False)
print("SoftsignWrong:")
print(wrong)
assert right and not wrong

# second derivatives come for free: backward is written with Tensor ops
print("second derivatives:", "passed" if tg.gradgradcheck(Softsign.apply, [x]) else "FAILED")

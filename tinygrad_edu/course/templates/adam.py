"""Exercise: one step of Adam.

One learning rate for every parameter is a compromise: a parameter whose gradients are
large takes huge steps, one whose gradients are tiny barely moves. Adam scales each
entry's step by the typical size of its own gradient. It keeps two running averages
(moments), each starting at 0, and at step t = 1, 2, 3, ...:

    m = beta1 * m + (1 - beta1) * grad          first moment: the average gradient
    v = beta2 * v + (1 - beta2) * grad^2        second moment: the average square
    m_hat = m / (1 - beta1^t)                   bias corrections (see below)
    v_hat = v / (1 - beta2^t)
    p = p - lr * m_hat / (sqrt(v_hat) + eps)

m is momentum's velocity made an average (beta1 = 0.9 averages over ~10 steps); it
points where the gradients agree. sqrt(v) is the gradient's typical size, whatever its
sign (beta2 = 0.999: over ~1000 steps). Their ratio is about +-1 where the gradient is
steady, and small where it keeps flipping sign: so each entry moves by about lr or less,
whatever the scale of its gradient. eps (1e-8) keeps the division finite where v is
0; it is added outside the square root.

Why the bias correction. m and v start at 0, so at first they are too small: after one
step m = (1 - beta1) grad, a tenth of the gradient, and v a thousandth of its square.
After t steps of a constant gradient g, m = (1 - beta1^t) g: dividing by 1 - beta1^t
gives back g exactly (and sqrt(v / (1 - beta2^t)) gives back |g|). Without it, the
steps would be (1 - beta1^t) / sqrt(1 - beta2^t) times too large: 3.2 at t = 1, 6.5 at
t = 10, 3.2 at t = 100, close to 1 only after thousands of steps. With it, the first
step is lr * g / (|g| + eps): almost exactly lr, against the sign of g.

What to write: adam_step(param, grad, m, v, t, lr, beta1, beta2, eps) for one
parameter. param, grad, m and v are NumPy arrays of the parameter's shape (m and v are
zeros at the first step); t is the number of this step, 1 at the first; the others are
floats. Return (new_param, new_m, new_v): the check gives your m and v back at the next
step, with t + 1.

The check runs tg.optim.Adam(params, lr, betas=(beta1, beta2), eps=eps) for 20 steps on
small problems, gives your function the same gradients, and compares your parameters
with its after every step (to 1e-10, relative). Write it, then check it (in your course
folder):

    tinygrad-edu exercises check adam
"""

import numpy as np


def adam_step(param, grad, m, v, t, lr, beta1, beta2, eps):
    """One step: update both moments, correct their bias, step by their ratio."""
    raise NotImplementedError(
        "adam_step: write it: update m and v, divide them by 1 - beta1**t and "
        "1 - beta2**t, and step by lr * m_hat / (np.sqrt(v_hat) + eps); return "
        "(param, m, v)")

"""Gradient descent on f(x) = x^2 - 2x + 1, with the derivative from autodiff.

The textbook version writes the derivative by hand, f'(x) = 2x - 2. Here backward()
computes it from the formula for f, so changing f needs no new calculus.
The minimum is at x = 1 (f = (x - 1)^2). From x = 5 with learning rate 0.1 each step
multiplies the distance to 1 by 0.8: x_k = 1 + 4 * 0.8^k.

Run: python examples/gradient_descent.py
"""

import numpy as np

import tinygrad_edu as tg


def f(x):
    return x ** 2 - 2 * x + 1


x = tg.Tensor(5.0, requires_grad=True, dtype=np.float64)
lr = 0.1
for step in range(1, 51):
    loss = f(x)
    x.grad = None      # gradients accumulate: clear the last step's first
    loss.backward()    # x.grad = f'(x), by the chain rule through the graph of f
    with tg.no_grad():  # the update is not part of any graph
        x.data -= lr * x.grad.data
    if step <= 5 or step % 10 == 0:
        print(f"step {step:2d}: x = {x.item():.6f}   f(x) = {f(x).item():.3e}   "
              f"f'(x) by autodiff = {x.grad.item():+.6f}, by hand 2x - 2 = "
              f"{2 * (x.item() + lr * x.grad.item()) - 2:+.6f}")
    expected = 1 + 4 * 0.8 ** step
    assert abs(x.item() - expected) < 1e-12, (step, x.item(), expected)

print(f"after 50 steps x = {x.item():.8f} (the minimum is at 1); matches 1 + 4 * 0.8^k")

# The same with an optimizer, the way networks are trained:
x = tg.Tensor(5.0, requires_grad=True, dtype=np.float64)
optimizer = tg.optim.SGD([x], lr=0.1)
for _ in range(50):
    optimizer.zero_grad()
    f(x).backward()
    optimizer.step()
print(f"tg.optim.SGD gives the same: x = {x.item():.8f}")
assert abs(x.item() - (1 + 4 * 0.8 ** 50)) < 1e-12

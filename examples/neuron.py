"""micrograd's classic neuron, o = tanh(x1*w1 + x2*w2 + b), step by step.

Run: python examples/neuron.py
"""

import numpy as np

import tinygrad_edu as tg

x1 = tg.Tensor(2.0, requires_grad=True, dtype=np.float64, name="x1")
w1 = tg.Tensor(-3.0, requires_grad=True, dtype=np.float64, name="w1")
x2 = tg.Tensor(0.0, requires_grad=True, dtype=np.float64, name="x2")
w2 = tg.Tensor(1.0, requires_grad=True, dtype=np.float64, name="w2")
b = tg.Tensor(6.8813735870195432, requires_grad=True, dtype=np.float64, name="b")

# forward: every op records itself as the grad_fn of its result
x1w1 = x1 * w1
x2w2 = x2 * w2
n = x1w1 + x2w2 + b
o = n.tanh()
print(f"o = tanh({n.item():.4f}) = {o.item():.4f}")

# the graph, walked back from o
node = o.grad_fn
print("o was made by", node.name, "from n, which was made by", n.grad_fn.name)

# backward: the chain rule, from o back to every leaf
o.backward()
for leaf in (x1, w1, x2, w2, b):
    print(f"do/d{leaf.name} = {leaf.grad.item():+.4f}")

# by hand: do/dn = 1 - o^2, and dn/dw1 = x1, so do/dw1 = (1 - o^2) * x1
assert np.isclose(w1.grad.item(), (1 - o.item() ** 2) * x1.item())

# and checked against finite differences
report = tg.gradcheck(lambda x1, w1, x2, w2, b: (x1 * w1 + x2 * w2 + b).tanh(),
                      [x1, w1, x2, w2, b])
print(report)
assert report

"""Train a small MLP to separate two interleaving half moons: the whole loop, spelled out.

Run: python examples/train_moons_mlp.py       (writes moons_boundary.png if matplotlib is there)
"""

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import data, nn
from tinygrad_edu.nn import functional as F

tg.manual_seed(0)  # the same weights and batches on every run

# 1. Data: 2-D points, labels 0 or 1; hold out a fifth to test on.
X, y = data.make_moons(1000, noise=0.2, seed=0)
X_train, y_train, X_test, y_test = X[:800], y[:800], X[800:], y[800:]
loader = data.DataLoader(data.TensorDataset(X_train, y_train), batch_size=32, shuffle=True)

# 2. Model: 2 inputs -> 16 -> 16 -> 2 scores (logits), one per class.
model = nn.Sequential(
    nn.Linear(2, 16), nn.ReLU(),
    nn.Linear(16, 16), nn.ReLU(),
    nn.Linear(16, 2),
)
print(model)

# 3. Optimizer: Adam, PyTorch's defaults apart from the learning rate.
optimizer = tg.optim.Adam(model.parameters(), lr=0.01)


def accuracy(X, y):
    with tg.no_grad():  # no graph needed to evaluate
        return (model(tg.Tensor(X)).argmax(axis=1).numpy() == y).mean()


# 4. The loop: forward, loss, zero the gradients, backward, step.
for epoch in range(1, 31):
    losses = []
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    if epoch % 5 == 0:
        print(f"epoch {epoch:2d}: loss {np.mean(losses):.4f}, "
              f"test accuracy {accuracy(X_test, y_test):.1%}")

test_accuracy = accuracy(X_test, y_test)
print(f"test accuracy: {test_accuracy:.1%}")
assert test_accuracy > 0.9

try:
    tg.viz.plot_decision_boundary(model, X_test, y_test, "moons_boundary.png")
    print("wrote moons_boundary.png")
except ImportError as error:  # matplotlib is optional
    print(error)

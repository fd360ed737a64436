"""Recognise handwritten digits (8x8 pixels) with an MLP: 64 -> 64 -> 10.

The 1,797 digits ship with tinygrad_edu (tg.data.load_digits), so this runs offline.

Run: python examples/train_digits_mlp.py
"""

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import data, nn

tg.manual_seed(0)

X, y = data.load_digits()          # X: (1797, 64) pixel counts 0..16, y: digits 0..9
X = X / 16.0                       # scale the inputs to [0, 1]
order = np.random.default_rng(0).permutation(len(X))
test, train = order[:360], order[360:]   # hold out 360 images the model never trains on

model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
loss_fn = nn.CrossEntropyLoss()
optimizer = tg.optim.Adam(model.parameters(), lr=3e-3)
scheduler = tg.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
loader = data.DataLoader(data.TensorDataset(X[train], y[train]), batch_size=32,
                         shuffle=True)

for epoch in range(1, 31):
    model.train()
    for images, labels in loader:
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()  # halve the learning rate every 10 epochs
    if epoch % 10 == 0:
        model.eval()
        with tg.no_grad():
            predicted = model(tg.Tensor(X[test])).argmax(axis=1).numpy()
        print(f"epoch {epoch}: last batch loss {loss.item():.4f}, "
              f"lr {scheduler.get_last_lr()[0]:.5f}, "
              f"test accuracy {(predicted == y[test]).mean():.1%}")

accuracy = (predicted == y[test]).mean()
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (y[test], predicted), 1)
print("confusion matrix (rows: true digit, columns: predicted):")
print(confusion)
assert accuracy >= 0.95, accuracy

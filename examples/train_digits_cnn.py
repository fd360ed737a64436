"""Recognise handwritten digits (8x8 pixels) with a small convolutional network.

    (N, 1, 8, 8) -> Conv2d(1, 16, 3, padding=1) -> ReLU -> MaxPool2d(2)   (N, 16, 4, 4)
                 -> Conv2d(16, 32, 3, padding=1) -> ReLU -> MaxPool2d(2)  (N, 32, 2, 2)
                 -> Flatten -> Linear(128, 10)                            (N, 10) logits

Each convolution is one matrix product over all the 3x3 windows of the batch (see
docs/convolutions.md); the whole run takes a few seconds on two cores.

Run: python examples/train_digits_cnn.py            (20 epochs, >= 97% held out)
     python examples/train_digits_cnn.py --epochs 2 (a quick look)
"""

import argparse

import numpy as np
from tqdm import tqdm

import tinygrad_edu as tg
from tinygrad_edu import data, nn

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=20)
args = parser.parse_args()
tg.manual_seed(0)

X, y = data.load_digits()                        # X: (1797, 64) pixel counts 0..16
X = (X / 16.0).reshape(-1, 1, 8, 8)              # scaled to [0, 1]; (N, channel, h, w)
order = np.random.default_rng(0).permutation(len(X))
test, train = order[:360], order[360:]           # 360 images the model never trains on

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
)
print(model)
print(f"{model.num_parameters():,} parameters")
loss_fn = nn.CrossEntropyLoss()
optimizer = tg.optim.Adam(model.parameters(), lr=3e-3)
scheduler = tg.optim.lr_scheduler.StepLR(optimizer, step_size=8, gamma=0.5)
loader = data.DataLoader(data.TensorDataset(X[train], y[train]), batch_size=32,
                         shuffle=True)


def test_accuracy() -> float:
    model.eval()
    with tg.no_grad():
        predicted = model(tg.Tensor(X[test])).argmax(axis=1).numpy()
    model.train()
    return float((predicted == y[test]).mean())


bar = tqdm(range(1, args.epochs + 1), desc="digits CNN", unit="epoch")
for _ in bar:
    total = 0.0
    for images, labels in loader:
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    scheduler.step()
    bar.set_postfix(loss=f"{total / len(loader):.4f}", test_acc=f"{test_accuracy():.3f}")
bar.close()

accuracy = test_accuracy()
print(f"after {args.epochs} epochs: held-out accuracy {accuracy:.1%} on {len(test)} images")
if args.epochs >= 20:
    assert accuracy >= 0.97, accuracy

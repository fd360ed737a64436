"""Save a training run half way, load it into fresh objects, and finish it: the result is
exactly the run that never stopped.

A checkpoint holds the model's state dict AND the optimizer's (Adam's moment estimates
and step counts): resuming with a fresh optimizer would not be the same run.

Run: python examples/save_and_resume.py      (writes checkpoint.npz in the current folder)
"""

from pathlib import Path

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import data, nn
from tinygrad_edu.nn import functional as F

X, y = data.make_circles(400, noise=0.05, factor=0.5, seed=0)
X, y = tg.Tensor(X), y


def new_run():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    return model, tg.optim.Adam(model.parameters(), lr=0.02)


def train(model, optimizer, steps):
    for _ in range(steps):  # full batch: no shuffling to restore
        loss = F.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


# A: 100 steps without stopping.
model_a, opt_a = new_run()
loss_a = train(model_a, opt_a, 100)

# B: 50 steps, save, throw everything away, load, 50 more.
model_b, opt_b = new_run()
train(model_b, opt_b, 50)
path = Path("checkpoint.npz")
tg.save({"model": model_b.state_dict(), "optimizer": opt_b.state_dict(), "step": 50}, path)
print(f"saved {path} ({path.stat().st_size:,} bytes): {sorted(np.load(path).files)[:4]} ...")
del model_b, opt_b

checkpoint = tg.load(path)
model_c = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))  # fresh weights
opt_c = tg.optim.Adam(model_c.parameters(), lr=0.02)
model_c.load_state_dict(checkpoint["model"])
opt_c.load_state_dict(checkpoint["optimizer"])
print(f"resumed at step {checkpoint['step']}")
loss_c = train(model_c, opt_c, 50)

print(f"loss after 100 steps: uninterrupted {loss_a:.6f}, saved and resumed {loss_c:.6f}")
for (name, a), c in zip(model_a.named_parameters(), model_c.parameters()):
    assert np.array_equal(a.data, c.data), name
print("every parameter is identical")

# A checkpoint that is not ours is refused, and nothing in it runs:
bad = path.with_name("not_a_checkpoint.npz")
bad.write_bytes(b"\x80\x04 pickled bytes")
try:
    tg.load(bad)
except tg.CheckpointError as error:
    print("refused:", error)

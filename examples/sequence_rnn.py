"""An LSTM learns to continue sine waves, one value at a time.

Each training sequence is 41 samples of sin(0.3 t + phase) with a random phase, so the
network must work out where in the cycle it is from the values it has seen. At every
step it sees the current value and predicts the next one:

    x_1 .. x_40  ->  LSTM(1 -> 32)  ->  Linear(32 -> 1)  ->  predictions of x_2 .. x_41

The loss is the mean squared error over all steps, and backward runs through the whole
unrolled sequence (backpropagation through time, docs/backprop-through-time.md). After
training, the network is given the first 20 values of a new wave and continues it on its
own for 40 more steps, feeding each prediction back in.

Run: python examples/sequence_rnn.py               (writes sequence_rnn_loss.png)
     python examples/sequence_rnn.py --cell gru    (the same with a GRU)
"""

import argparse

import numpy as np
from tqdm import tqdm

import tinygrad_edu as tg
from tinygrad_edu import nn

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=300, help="training steps (default: 300)")
parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
args = parser.parse_args()
tg.manual_seed(0)
rng = np.random.default_rng(0)


def sine_waves(batch: int, length: int) -> np.ndarray:
    """(length, batch, 1) samples of sin(0.3 t + phase), one random phase per sequence."""
    w = 0.3                                      # radians per step: a period of ~21 steps
    phase = rng.uniform(0, 2 * np.pi, size=(1, batch, 1))
    t = np.arange(length).reshape(-1, 1, 1)
    return np.sin(w * t + phase).astype(np.float32)


class Predictor(nn.Module):
    def __init__(self, cell: str, hidden: int = 32):
        super().__init__()
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(1, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, state=None):
        output, state = self.rnn(x, state)      # output: (seq, batch, hidden)
        return self.head(output), state         # (seq, batch, 1): the next values


model = Predictor(args.cell)
print(model)
optimizer = tg.optim.Adam(model.parameters(), lr=0.01)
losses = []
for _ in tqdm(range(args.steps), desc=f"{args.cell} on sine waves", unit="step"):
    waves = sine_waves(batch=32, length=41)
    prediction, _ = model(tg.Tensor(waves[:-1]))
    loss = nn.functional.mse_loss(prediction, tg.Tensor(waves[1:]))
    optimizer.zero_grad()
    loss.backward()
    tg.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    losses.append(loss.item())
print(f"loss: first step {losses[0]:.4f}, mean of the last 20 steps {np.mean(losses[-20:]):.5f}")

# continue a new wave on its own: warm up on 20 true values, then feed predictions back
wave = sine_waves(batch=1, length=60)
with tg.no_grad():
    prediction, state = model(tg.Tensor(wave[:20]))
    value = prediction[-1:]                     # the prediction of wave[20]
    generated = []
    for _ in range(40):
        generated.append(value.item())
        value, state = model(value, state)
error = np.abs(np.array(generated) - wave[20:, 0, 0])
print(f"continued for 40 steps on its own: mean |error| {error.mean():.4f}, "
      f"max {error.max():.4f} (the wave's amplitude is 1)")

try:
    tg.viz.plot_loss(losses, "sequence_rnn_loss.png", title=f"{args.cell.upper()} on sine "
                     "waves: training loss", log_scale=True, xlabel="step")
    print("wrote sequence_rnn_loss.png")
except ImportError as error:                     # matplotlib is an optional extra
    print(f"no plot: {error}")
if args.steps >= 300:
    assert np.mean(losses[-20:]) < 0.1 * losses[0], (losses[0], losses[-20:])
    assert error.mean() < 0.2, error.mean()

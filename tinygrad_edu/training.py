"""A complete training run, as the command line does it: data, model, loop, checkpoint.

This is the loop every tutorial writes, kept in one place so that `tinygrad-edu demo`
and `tinygrad-edu train` share it:

    for epoch in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)   # forward
            optimizer.zero_grad()                   # clear last step's gradients
            loss.backward()                         # backward: fill every p.grad
            optimizer.step()                        # p -= lr * p.grad (or Adam's rule...)

`examples/train_moons_mlp.py` writes the same loop out in full.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from . import data, nn, optim
from .grad_mode import no_grad
from .rng import manual_seed
from .serialization import load, save
from .tensor import Tensor

F = nn.functional

DATASETS = ("moons", "circles", "spirals", "xor", "blobs", "digits")
MODELS = ("mlp", "cnn")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
               "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}
OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW,
              "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}


@dataclass
class Config:
    """Everything that defines a run; saved in the checkpoint so that it can resume."""

    dataset: str = "moons"
    model: str = "mlp"
    hidden: list = field(default_factory=lambda: [16, 16])
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 0.01
    epochs: int = 100
    batch_size: int = 32
    seed: int = 0
    samples: int = 1000
    noise: float = 0.2
    test_fraction: float = 0.2


def load_dataset(name: str, samples: int = 1000, noise: float = 0.2, seed: int = 0):
    """(X, y, number of classes) for one of DATASETS; features float32, labels int64."""
    if name == "digits":
        X, y = data.load_digits()
        return X / 16.0, y, 10  # pixel counts 0..16 scaled to [0, 1]
    makers = {
        "moons": lambda: data.make_moons(samples, noise=noise, seed=seed),
        "circles": lambda: data.make_circles(samples, noise=noise / 2, factor=0.5, seed=seed),
        "spirals": lambda: data.make_spirals(samples, n_classes=3, noise=noise, seed=seed),
        "xor": lambda: data.make_xor(samples, noise=noise, seed=seed),
        "blobs": lambda: data.make_blobs(samples, centers=3, seed=seed),
    }
    if name not in makers:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
    X, y = makers[name]()
    return X.astype(np.float32), y, int(y.max()) + 1


def split(X, y, test_fraction: float, seed: int):
    """A seeded random split into (X_train, y_train, X_test, y_test)."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def _activation(name: str) -> type:
    """The activation layer's class, by its name in ACTIVATIONS."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: choose one of "
                         f"{', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def make_mlp(sizes: list[int], activation: str = "relu") -> nn.Sequential:
    """Linear layers of the given sizes with `activation` between them (not after the
    last: it outputs logits, which the loss turns into probabilities)."""
    activation_layer = _activation(activation)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation_layer())
    return nn.Sequential(*layers)


def make_cnn(channels: list[int], classes: int, activation: str = "relu",
             image_size: int = 8) -> nn.Sequential:
    """A small CNN for 1-channel square images: for each entry of `channels`, a 3x3
    convolution (padded, so the size is kept), the activation and a 2x2 max-pool that
    halves the size; then one Linear layer from the flattened features to the classes.

    With channels [16, 32] on the 8x8 digits: (N, 1, 8, 8) -> (N, 16, 4, 4) ->
    (N, 32, 2, 2) -> 128 features -> 10 logits.
    """
    activation_layer = _activation(activation)
    size = image_size
    if size >> len(channels) == 0:
        raise ValueError(f"a {size}x{size} image cannot be pooled {len(channels)} times; "
                         f"give at most {size.bit_length() - 1} convolution sizes")
    layers, previous = [], 1
    for width in channels:
        layers += [nn.Conv2d(previous, width, 3, padding=1), activation_layer(),
                   nn.MaxPool2d(2)]
        previous, size = width, size // 2
    layers += [nn.Flatten(), nn.Linear(previous * size * size, classes)]
    return nn.Sequential(*layers)


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of rows of X whose arg-max output is the label (no graph recorded)."""
    with no_grad():
        logits = model(Tensor(X)).data
    return float((logits.argmax(axis=-1) == y).mean())


def _progress_bar():
    """tqdm's bar for where it runs: text in a terminal; in Jupyter a widget (with
    ipywidgets), else one line of text updated in place (tqdm's own text bar would leave
    an output per update in a saved notebook, and tqdm.auto warns without ipywidgets)."""
    from tqdm import tqdm

    if "ipykernel" not in sys.modules:
        return tqdm
    try:
        import ipywidgets  # noqa: F401  (the notebook bar draws with it)
        from tqdm.notebook import tqdm as widget_bar
        return widget_bar
    except ImportError:
        return _jupyter_text_bar(tqdm)


def _jupyter_text_bar(tqdm):
    from IPython.display import display

    class JupyterTextBar(tqdm):
        """tqdm's text bar, drawn into one Jupyter output that each update replaces."""

        def __init__(self, *args, **kwargs):
            self._output = None
            super().__init__(*args, file=io.StringIO(), **kwargs)  # (nothing to stderr)

        def display(self, msg=None, pos=None):
            text = {"text/plain": msg or str(self)}
            if self._output is None:
                self._output = display(text, raw=True, display_id=True)
            else:
                self._output.update(text, raw=True)
            return True

    return JupyterTextBar


class Run:
    """One training run: the data, the model, the optimizer and the history, for `config`."""

    def __init__(self, config: Config):
        self.config = config
        X, y, classes = load_dataset(config.dataset, config.samples, config.noise, config.seed)
        if config.model not in MODELS:
            raise ValueError(f"unknown model {config.model!r}: choose one of {', '.join(MODELS)}")
        if config.model == "cnn":
            if config.dataset != "digits":
                raise ValueError(f"--model cnn needs images: use --dataset digits (the "
                                 f"{config.dataset!r} points have 2 coordinates, no pixels)")
            X = X.reshape(-1, 1, 8, 8)  # (N, 64) rows of pixels -> (N, channel, height, width)
        self.X_train, self.y_train, self.X_test, self.y_test = split(
            X, y, config.test_fraction, config.seed)
        manual_seed(config.seed)  # the weights' initial values
        if config.model == "cnn":
            self.model = make_cnn(config.hidden, classes, config.activation)
        else:
            self.model = make_mlp([X.shape[1], *config.hidden, classes], config.activation)
        if config.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {config.optimizer!r}: choose one of "
                             f"{', '.join(OPTIMIZERS)}")
        self.optimizer = OPTIMIZERS[config.optimizer](self.model.parameters(), lr=config.lr)
        self.loader = data.DataLoader(data.TensorDataset(self.X_train, self.y_train),
                                      batch_size=config.batch_size, shuffle=True,
                                      seed=config.seed)
        self.epoch = 0
        self.history = {"train loss": [], "train accuracy": [], "test accuracy": []}
        self.finished: dict | None = None  # the checkpoint of the last epoch `fit` finished

    def train_epoch(self) -> float:
        """One pass over the training set; returns the mean loss over its batches."""
        self.model.train()
        total, batches = 0.0, 0
        for xb, yb in self.loader:
            loss = F.cross_entropy(self.model(xb), yb)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item()
            batches += 1
        self.model.eval()
        self.epoch += 1
        self.history["train loss"].append(total / batches)
        self.history["train accuracy"].append(accuracy(self.model, self.X_train, self.y_train))
        self.history["test accuracy"].append(accuracy(self.model, self.X_test, self.y_test))
        return total / batches

    def fit(self, epochs: int, progress: bool = True, label: str = "") -> None:
        """Train until `epochs` epochs are done in all, with a tqdm progress bar.

        After each epoch, `self.finished` keeps a copy of the run's checkpoint. Ctrl-C
        (KeyboardInterrupt) stops training in the middle of an epoch, where the weights,
        the optimizer and the shuffling are half-way through it and could not resume
        exactly; `self.save(path, self.finished)` still saves the last whole epoch.
        """
        bar = _progress_bar()(range(self.epoch, epochs), initial=self.epoch, total=epochs,
                              desc=label or self.config.dataset, unit="epoch",
                              disable=not progress, leave=True, dynamic_ncols=True)
        try:
            for _ in bar:
                loss = self.train_epoch()
                self.finished = self.checkpoint()  # what Ctrl-C in the next epoch can save
                bar.set_postfix(loss=f"{loss:.4f}",
                                train_acc=f"{self.history['train accuracy'][-1]:.3f}",
                                test_acc=f"{self.history['test accuracy'][-1]:.3f}")
        finally:
            bar.close()  # (on Ctrl-C too, so that what is printed next starts a new line)

    # --- checkpoints -------------------------------------------------------------------

    def checkpoint(self) -> dict:
        """Model, optimizer, epoch, history, config and the shuffling state, as copies:
        training on does not change the dict returned."""
        return {"config": asdict(self.config), "epoch": self.epoch,
                "history": {key: list(values) for key, values in self.history.items()},
                # state_dict() shares memory with the model (optimizer.state_dict() copies)
                "model": {key: Tensor(tensor.data.copy())
                          for key, tensor in self.model.state_dict().items()},
                "optimizer": self.optimizer.state_dict(),
                "shuffle_state": self.loader.generator.bit_generator.state}

    def save(self, path, checkpoint: dict | None = None) -> str:
        """Write `checkpoint` (by default the run as it is now) to `path`; returns the path."""
        save(checkpoint if checkpoint is not None else self.checkpoint(), path)
        return os.fspath(path)

    @classmethod
    def resume(cls, path, **changes) -> Run:
        """Rebuild a run from its checkpoint file, ready to continue exactly where it
        stopped. `changes` may set a new `epochs` (the total to reach)."""
        return cls.from_checkpoint(read_checkpoint(path), **changes)

    @classmethod
    def from_checkpoint(cls, checkpoint: dict, **changes) -> Run:
        """The run saved in `checkpoint` (as `read_checkpoint` returns it)."""
        config = Config(**{**checkpoint["config"], **changes})
        run = cls(config)
        run.model.load_state_dict(checkpoint["model"])
        run.optimizer.load_state_dict(checkpoint["optimizer"])
        run.loader.generator.bit_generator.state = checkpoint["shuffle_state"]
        run.epoch = checkpoint["epoch"]
        run.history = {key: list(values) for key, values in checkpoint["history"].items()}
        return run


CHECKPOINT_KEYS = ("config", "epoch", "history", "model", "optimizer", "shuffle_state")


def read_checkpoint(path) -> dict:
    """The checkpoint of a training run (`Run.save`, `tinygrad-edu train`) in `path`.

    Raises ValueError when the file is another kind of tinygrad_edu checkpoint (a model's
    state dict saved with tg.save, say), and `tg.load`'s CheckpointError (a ValueError)
    when it is no checkpoint at all or is damaged.
    """
    checkpoint = load(path)
    where = f"{os.fspath(path)!r} is a tinygrad_edu checkpoint, but not of a training run"
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{where}: it holds a {type(checkpoint).__name__}, where Run.save "
                         f"writes a dict with {', '.join(CHECKPOINT_KEYS)}")
    missing = [key for key in CHECKPOINT_KEYS if key not in checkpoint]
    if missing:
        arrays = all(isinstance(value, (Tensor, np.ndarray)) for value in checkpoint.values())
        hint = (" It holds only arrays, as a state dict does: load it into a model with "
                "model.load_state_dict(tg.load(path))." if checkpoint and arrays else "")
        raise ValueError(f"{where}: it has no {', '.join(missing)}, which Run.save writes "
                         f"(it has {', '.join(map(str, list(checkpoint)[:6])) or 'nothing'})."
                         + hint)
    config, epoch = checkpoint["config"], checkpoint["epoch"]
    if not isinstance(config, dict):
        raise ValueError(f"{where}: its config is a {type(config).__name__}, not a dict")
    unknown = sorted(set(config) - {f.name for f in fields(Config)})
    if unknown:
        raise ValueError(f"{where} that this version knows: its config has "
                         f"{', '.join(map(str, unknown))}, which Config does not")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValueError(f"{where}: its epoch is {epoch!r:.40}, not a count of epochs")
    return checkpoint

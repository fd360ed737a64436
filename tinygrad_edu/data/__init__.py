"""Data for training: datasets, a DataLoader for mini-batches, toy sets and real digits.

    import tinygrad_edu as tg
    from tinygrad_edu import data

    X, y = data.make_moons(200, noise=0.1, seed=0)           # ndarrays (200, 2), (200,)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True)
    for xb, yb in loader:                                    # Tensors, 32 rows at a time
        ...

Where things are: `dataset.py` (Dataset, TensorDataset, DataLoader), `toy.py`
(synthetic sets), `digits.py` (8x8 digits shipped with the package), `idx.py` and
`mnist.py` (MNIST from its standard files).
"""

from .dataset import DataLoader, Dataset, TensorDataset, default_collate
from .digits import load_digits
from .idx import read_idx
from .mnist import download_mnist, load_mnist
from .names import load_names
from .toy import (
    make_blobs,
    make_circles,
    make_moons,
    make_regression,
    make_spirals,
    make_xor,
)

__all__ = [
    "DataLoader",
    "Dataset",
    "TensorDataset",
    "default_collate",
    "download_mnist",
    "load_digits",
    "load_mnist",
    "load_names",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_regression",
    "make_spirals",
    "make_xor",
    "read_idx",
]

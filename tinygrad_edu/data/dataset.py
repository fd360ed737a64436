"""Datasets and the DataLoader that cuts them into mini-batches, as in `torch.utils.data`.

A *dataset* is anything with `len(dataset)` and `dataset[i]` (the i-th sample).
A `DataLoader` walks over a dataset in batches:

    X, y = tg.data.make_moons(200, noise=0.1, seed=0)
    loader = tg.data.DataLoader(tg.data.TensorDataset(X, y), batch_size=32, shuffle=True)
    for xb, yb in loader:       # xb: Tensor (32, 2) float32, yb: Tensor (32,) int64
        ...

Two ways to build a batch:

- A `TensorDataset` holds whole arrays, so a batch is one fancy index per array
  (`X[[7, 3, 42, ...]]`): a single NumPy call, however large the batch.
- Any other dataset is asked for one sample at a time, and `default_collate` stacks
  the samples into batch tensors (a Python loop per sample: flexible, but slower).
"""

from __future__ import annotations

import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor
from ._checks import check_bool, check_int, check_seed, make_rng


class Dataset:
    """The interface of a dataset: `len(dataset)` samples, `dataset[i]` the i-th one.

    Subclass it and define both methods (as `torch.utils.data.Dataset`):

        class Squares(tg.data.Dataset):
            def __len__(self):
                return 10
            def __getitem__(self, i):
                return np.float32(i), np.float32(i * i)   # (input, target)
    """

    def __getitem__(self, index):
        raise NotImplementedError(
            f"{type(self).__name__} must define __getitem__(self, index), returning sample "
            "number `index`")

    def __len__(self) -> int:
        raise NotImplementedError(
            f"{type(self).__name__} must define __len__(self), returning the number of samples")


class TensorDataset(Dataset):
    """Samples made of rows of tensors: sample i is `(tensors[0][i], tensors[1][i], ...)`.

    Args:
        *tensors: Tensors or ndarrays (or nested lists), all with the same length along
            the first axis, which counts the samples. Arrays are not copied.

    `dataset[i]` is a tuple of Tensors. The index may also be an integer array or a
    slice, which gives a whole batch at once: `dataset[np.array([3, 1, 4])]`.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor, e.g. "
                             "TensorDataset(X, y)")
        self.tensors = tuple(_as_tensor(t, position) for position, t in enumerate(tensors))
        lengths = [len(t) for t in self.tensors]
        if len(set(lengths)) > 1:
            raise ValueError(
                f"TensorDataset: every tensor needs the same length along the first axis "
                f"(one row per sample), got lengths {lengths} for shapes "
                f"{[t.shape for t in self.tensors]}")

    def __getitem__(self, index) -> tuple[Tensor, ...]:
        # Tensor indexing, as PyTorch's TensorDataset does: a tensor that requires grad
        # keeps its graph through the index (rarely wanted, but never silently dropped).
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __repr__(self) -> str:
        shapes = ", ".join(f"{t.shape} {t.dtype}" for t in self.tensors)
        return f"TensorDataset({len(self)} samples: {shapes})"


def _as_tensor(data, position: int) -> Tensor:
    """A Tensor over `data`, sharing an ndarray's memory (as torch.from_numpy does)."""
    if isinstance(data, Tensor):
        tensor = data
    elif isinstance(data, np.ndarray):
        tensor = Tensor._make(data, False, None)  # wraps the array itself, no copy
    else:
        tensor = Tensor(data)  # lists and numbers follow Tensor's dtype rules
    if tensor.ndim == 0:
        raise ValueError(f"TensorDataset: tensor {position} is a single number (shape ()); "
                         "each tensor needs a first axis that runs over the samples")
    return tensor


class DataLoader:
    """Iterate over a dataset in mini-batches of Tensors, as `torch.utils.data.DataLoader`.

    Args:
        dataset: a `TensorDataset`, or anything with `__len__` and `__getitem__`.
        batch_size: samples per batch (the last batch may be smaller).
        shuffle: visit the samples in a new random order every epoch (every `for` loop
            over the loader); otherwise in order 0, 1, 2, ...
        drop_last: skip a last batch smaller than `batch_size`, so that every batch has
            the same size.
        seed: only used with `shuffle=True`. None: draw the orders from `tg.generator()`,
            so that `tg.manual_seed(n)` makes them repeatable. An int: draw them from
            the loader's own generator, so two loaders with the same seed visit the
            samples in the same orders, epoch after epoch.

    `len(loader)` is the number of batches per epoch.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__ (e.g. a "
                            f"tg.data.TensorDataset), got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = check_int("DataLoader", "batch_size", batch_size, minimum=1)
        self.shuffle = check_bool("DataLoader", "shuffle", shuffle)
        self.drop_last = check_bool("DataLoader", "drop_last", drop_last)
        self.seed = None if seed is None else check_seed("DataLoader", seed)
        # Made once, here: each epoch continues the same random stream, so successive
        # epochs get different orders while the whole run repeats for the same seed.
        self._rng = None if seed is None else np.random.default_rng(self.seed)

    @property
    def generator(self) -> np.random.Generator | None:
        """The loader's own generator (with an int `seed`), or None (it uses tg.generator()).

        Its `bit_generator.state` is what a checkpoint keeps to resume the same orders.
        """
        return self._rng

    def __len__(self) -> int:
        n, size = len(self.dataset), self.batch_size
        if self.drop_last:
            return n // size
        return (n + size - 1) // size  # a partial last batch counts too: ceil(n / size)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            rng = self._rng if self._rng is not None else make_rng("DataLoader", None)
            order = rng.permutation(n)  # every index exactly once, in a new order
        else:
            order = np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self._fetch(order[start:start + self.batch_size])

    def _fetch(self, indices: np.ndarray):
        """The batch made of the samples at `indices`."""
        # A TensorDataset gives the whole batch with one fancy index per tensor. (A
        # subclass that redefines __getitem__, say to add noise to each sample, takes
        # the general path below, so its __getitem__ still sees one index at a time.)
        if type(self.dataset).__getitem__ is TensorDataset.__getitem__:
            return self.dataset[indices]
        return default_collate([self.dataset[int(i)] for i in indices])

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})")


def default_collate(samples: list):
    """Stack a list of samples into one batch, as PyTorch's `default_collate`.

    - Tensors, ndarrays and NumPy scalars: stacked along a new first axis into a Tensor
      (keeping their dtype).
    - Python numbers: a 1-d Tensor; ints become int64, floats the default dtype.
    - tuples, lists, dicts: collated position by position (key by key), so a dataset
      returning `(x, label)` gives batches `(X, labels)`.
    - strings: kept as a list.
    """
    if not samples:
        raise ValueError("default_collate: no samples to collate")
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        return _stack([np.asarray(s.data if isinstance(s, Tensor) else s) for s in samples])
    if isinstance(first, (bool, int, float)):
        return _numbers_to_tensor(samples)
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        sizes = {len(s) for s in samples}
        if len(sizes) > 1:
            raise ValueError(f"default_collate: the samples have different numbers of "
                             f"parts {sorted(sizes)}; each sample must have the same "
                             "structure, e.g. always (x, y)")
        columns = [default_collate(list(column)) for column in zip(*samples)]
        if hasattr(first, "_fields"):  # a namedtuple keeps its field names
            return type(first)(*columns)
        return tuple(columns) if isinstance(first, tuple) else columns
    raise TypeError(f"default_collate: cannot make a batch out of {type(first).__name__} "
                    "samples; a sample should be made of Tensors, arrays, numbers, or "
                    "tuples/lists/dicts of them")


def _stack(arrays: list) -> Tensor:
    """Stack same-shaped arrays along a new first axis, with an error that shows shapes."""
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: cannot stack samples of different shapes "
                         f"{sorted(shapes)} into one batch; every sample must have the "
                         "same shape at this position")
    return Tensor._make(np.stack(arrays), False, None)  # np.stack made a new array


def _numbers_to_tensor(numbers: list) -> Tensor:
    """A 1-d Tensor of Python numbers: bools stay bool, ints int64, floats float32."""
    if all(isinstance(x, bool) for x in numbers):
        return Tensor(np.array(numbers, dtype=bool))
    if all(isinstance(x, int) for x in numbers):
        # int64 spelled out: np.array([1, 2]) is int32 on Windows with NumPy < 2
        return Tensor(np.array(numbers, dtype=np.int64))
    return Tensor(np.array(numbers, dtype=get_default_dtype()))

"""Random number generators, as PyTorch's `torch.Generator` and `torch.manual_seed`.

Every random draw in the library (rand, randn, randint, multinomial, nn.init, Dropout,
DataLoader shuffling, ...) comes from a `Generator`: the one passed as `generator=`, or
the default one, reseeded by `tg.manual_seed(n)`. Same seed, same numbers, every run.
(The numbers are NumPy's, not PyTorch's: a seeded program here and in PyTorch draws
different ones.)
"""

from __future__ import annotations

import operator

import numpy as np


class Generator:
    """A source of random numbers with its own state, as `torch.Generator`.

        g = tg.Generator().manual_seed(2147483647)
        tg.randn(3, generator=g)       # the same three numbers every run

    It wraps a NumPy `np.random.Generator` (the `.rng` attribute), for code that wants
    NumPy draws from the same stream.
    """

    def __init__(self, device=None):
        if device not in (None, "cpu") and str(device) != "cpu":
            raise RuntimeError(f"Generator: device {device!r} is not available: "
                               "tinygrad_edu computes on the CPU only")
        self._seed = None
        self.rng = np.random.default_rng()

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns the generator, so that `tg.Generator().manual_seed(42)` reads
        as one line."""
        try:
            self._seed = operator.index(seed)
        except TypeError:
            raise TypeError(f"manual_seed: a seed is an int, got {seed!r}") from None
        # (a negative seed is read as the unsigned 64-bit number with the same bits, as
        # PyTorch reads it: NumPy takes only seeds >= 0)
        self.rng = np.random.default_rng(self._seed % 2 ** 64)
        return self

    def initial_seed(self) -> int | None:
        """The seed given to `manual_seed` (None if it was never seeded)."""
        return self._seed

    def __repr__(self) -> str:
        return f"Generator(seed={self._seed})"


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Reseed the default generator, behind every random call without `generator=`
    (rand, randn, randint, nn.init, Dropout, DataLoader shuffling...). Returns it."""
    return default_generator.manual_seed(seed)


def generator() -> np.random.Generator:
    """The default generator's NumPy generator (for code that needs NumPy draws too)."""
    return default_generator.rng


def _rng(generator: Generator | None, op: str) -> np.random.Generator:
    if generator is None:
        return default_generator.rng
    if not isinstance(generator, Generator):
        raise TypeError(f"{op}: generator must be a tg.Generator, got "
                        f"{type(generator).__name__} (make one: tg.Generator().manual_seed(0))")
    return generator.rng

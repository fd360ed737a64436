"""Argument checks shared by the loaders and the toy data sets.

Each check names the function, the argument and the value it got, so that a mistake
such as `DataLoader(ds, batch_size=0)` says exactly what to change.
"""

from __future__ import annotations

import math

import numpy as np

from ..rng import generator


def check_int(op: str, name: str, value, minimum: int) -> int:
    """`value` as an int, if it is a whole number (not a bool) of at least `minimum`."""
    # bool is a subclass of int in Python, but `batch_size=True` is surely a mistake
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {value!r} "
                        f"({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value}")
    return int(value)


def check_bool(op: str, name: str, value) -> bool:
    """`value` if it is True or False (a string such as "yes" is a mistake, not a yes)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r}")
    return bool(value)


def check_nonnegative(op: str, name: str, value) -> float:
    """`value` as a float, if it is a finite number >= 0 (a noise level, a spread)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{op}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{op}: {name} must be a finite number >= 0, got {value}")
    return float(value)


def pick_seed(op: str, seed, random_state):
    """`seed`, or scikit-learn's name for it, `random_state` (not both)."""
    if random_state is None:
        return seed
    if seed is not None:
        raise TypeError(f"{op}: give seed or random_state (its scikit-learn name), not both")
    return random_state


def make_rng(op: str, seed) -> np.random.Generator:
    """The random generator for one call.

    seed=None: the library's generator, `tg.generator()`, so that `tg.manual_seed(n)`
    makes the whole program repeatable. An int: a fresh generator of its own, so the
    result depends on that int only. A `np.random.Generator` is used as it is.
    """
    if seed is None:
        # Looked up on every call: tg.manual_seed replaces the generator object.
        return generator()
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(op, seed))


def check_seed(op: str, seed) -> int:
    """A seed for `np.random.default_rng`: an int >= 0."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{op}: seed must be None or an int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{op}: seed must be >= 0, got {seed}")
    return int(seed)

"""`tg.cuda`: there is no GPU here (NumPy computes on the CPU), as code that asks finds."""

from __future__ import annotations


def is_available() -> bool:
    """False: tinygrad_edu runs on the CPU only."""
    return False


def device_count() -> int:
    """0: no GPU."""
    return 0


def manual_seed(seed: int) -> None:
    """Accepted and ignored (there is no GPU generator to seed), as PyTorch does without
    a GPU."""


def manual_seed_all(seed: int) -> None:
    """Accepted and ignored, as `manual_seed`."""

"""Shared test setup: every test starts from the library's defaults and a fixed seed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

import tinygrad_edu as tg

# Gradient checks run many small forward and backward passes; their time per example
# varies with the drawn shapes, so Hypothesis's per-example deadline would only be noise.
settings.register_profile("tinygrad_edu", deadline=None, print_blob=True)
settings.load_profile("tinygrad_edu")


@pytest.fixture(autouse=True)
def library_defaults():
    """float32 as the default dtype and a seeded generator, restored after the test."""
    tg.set_default_dtype(np.float32)
    tg.manual_seed(0)
    yield
    tg.set_default_dtype(np.float32)

"""Stage: optimizers."""

from __future__ import annotations

STAGE = "optimizers"

EXERCISES = []

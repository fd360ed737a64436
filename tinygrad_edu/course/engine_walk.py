"""Stage: the engine."""

from __future__ import annotations

STAGE = "the engine"

EXERCISES = []

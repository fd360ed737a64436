"""Stage: layers."""

from __future__ import annotations

STAGE = "layers"

EXERCISES = []

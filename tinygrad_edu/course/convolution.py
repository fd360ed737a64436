"""Stage: convolution."""

from __future__ import annotations

STAGE = "convolution"

EXERCISES = []

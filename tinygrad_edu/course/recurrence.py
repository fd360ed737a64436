"""Stage: recurrence."""

from __future__ import annotations

STAGE = "recurrence"

EXERCISES = []

"""Every script in examples/ runs to the end, as a user would run it.

Each runs in full (each takes seconds), so the claims they assert are checked here: the
digits CNN reaches 97% held out, the LSTM continues a sine wave within 0.2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip(), "the example printed nothing"


def test_sequence_rnn_plots_its_loss_curve(tmp_path: Path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "sequence_rnn.py"),
                             "--steps", "5", "--cell", "gru"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    png = tmp_path / "sequence_rnn_loss.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""The command line, run for real: `python -m tinygrad_edu ...` in a subprocess, from an
empty working directory, with this checkout first on PYTHONPATH."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run(tmp_path):
    """Run `python -m tinygrad_edu *args` and return the CompletedProcess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tinygrad_edu", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)

    return run


def test_demo_prints_the_five_gradients_and_passes_gradcheck(run):
    result = run("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # o = tanh(x1*w1 + x2*w2 + b) = tanh(0.8814) = 1/sqrt(2); 1 - o^2 = 0.5
    assert re.search(r"o = 0\.70710\d", out)
    grads = {name: float(value)
             for name, value in re.findall(r"do/d(\w+)\s*=\s*([+-]?\d+\.\d+)", out)}
    expected = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}
    assert grads.keys() == expected.keys(), out
    for name, value in expected.items():
        assert grads[name] == pytest.approx(value, abs=1e-6), name
    assert "gradcheck passed" in out
    assert "FAILED" not in out


def test_help_lists_the_commands(run):
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert "demo" in result.stdout


def test_demo_help(run):
    result = run("demo", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "demo" in result.stdout
    assert "neuron" in result.stdout


def test_version(run):
    import tinygrad_edu

    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert tinygrad_edu.__version__ in result.stdout


def test_an_unknown_command_fails_with_a_usage_message(run):
    result = run("no-such-command")
    assert result.returncode != 0
    assert "usage:" in result.stderr
    assert "no-such-command" in result.stderr
    assert result.stdout == ""


def test_no_command_fails_with_a_usage_message(run):
    result = run()
    assert result.returncode != 0
    assert "usage:" in result.stderr

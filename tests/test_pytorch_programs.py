"""Programs written for PyTorch run here with only their imports changed, and give its numbers.

examples/pytorch_*.py are the programs learners copy from "Learning PyTorch with
Examples" and the lecture notebooks on backprop and language models, in PyTorch's own
dialect. Each runs here as a user would run it, and every number it prints as
`RESULT name value` must equal what the same file printed when it ran with real PyTorch
(tests/data/pytorch_programs_reference.json, made by
tests/data/make_pytorch_programs_reference.py, which rewrites the import lines to
PyTorch's). Random draws that are compared come from seeded NumPy generators inside the
programs, so both runs start from the same weights. Torch is not needed here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = sorted((ROOT / "examples").glob("pytorch_*.py"))
NAMES = [p.name for p in PROGRAMS]
REFERENCE = json.loads((ROOT / "tests" / "data" / "pytorch_programs_reference.json").read_text())

# the reference maker's rewriting of the imports and its reading of RESULT lines, shared
_spec = importlib.util.spec_from_file_location(
    "make_pytorch_programs_reference",
    ROOT / "tests" / "data" / "make_pytorch_programs_reference.py")
maker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(maker)

# the one line besides the imports that names this library: the shipped names, read the
# same way in the PyTorch run
NAMES_LOADER = "from tinygrad_edu.data import load_names"

# (rtol, atol) per program: float64 programs to 1e-6, float32 ones to 1e-4. The absolute
# tolerance covers numbers that are zero in exact arithmetic and rounding noise in both
# runs (a coefficient that cancels by symmetry, the gradient of a max subtracted out).
TOLERANCE = {
    "pytorch_polynomial_fit.py": (1e-6, 1e-10),
    "pytorch_manual_backprop.py": (1e-6, 1e-10),
    "pytorch_bigram.py": (1e-4, 1e-6),
    "pytorch_char_mlp.py": (1e-4, 1e-6),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """run(name): the program run with this library, as a user runs it (once per module)."""
    done: dict[str, subprocess.CompletedProcess] = {}

    def run_once(name: str) -> subprocess.CompletedProcess:
        if name not in done:
            env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
            done[name] = subprocess.run(
                [sys.executable, str(ROOT / "examples" / name)], env=env,
                cwd=tmp_path_factory.mktemp(name.removesuffix(".py")),
                capture_output=True, text=True, timeout=300)
        return done[name]

    return run_once


def test_every_program_has_a_reference_and_a_tolerance():
    assert len(PROGRAMS) >= 4
    assert set(NAMES) == set(REFERENCE["programs"]), \
        "rerun python tests/data/make_pytorch_programs_reference.py (with torch installed)"
    assert set(NAMES) == set(TOLERANCE)


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_was_made_from_this_version_of_the_program(name):
    source = (ROOT / "examples" / name).read_bytes()
    assert hashlib.sha256(source).hexdigest() == REFERENCE["programs"][name]["sha256"], (
        f"examples/{name} changed after its PyTorch reference was made: rerun "
        "python tests/data/make_pytorch_programs_reference.py (with torch installed)")


@pytest.mark.parametrize("name", NAMES)
def test_the_program_differs_from_pytorchs_only_in_its_imports(name):
    lines = (ROOT / "examples" / name).read_text().splitlines()
    assert "import tinygrad_edu as torch" in lines
    allowed = set(maker.TORCH_IMPORTS) | {NAMES_LOADER}
    naming_us = [(number, line) for number, line in enumerate(lines, 1)
                 if "tinygrad" in line.lower() and line not in allowed]
    assert not naming_us, f"lines that only run with this library: {naming_us}"


def test_the_reader_of_results_and_the_rewriting_of_imports():
    # the helpers the comparison relies on can fail: a value is read as written
    stdout = "loss 3.2\nRESULT loss 3.25\nRESULT ok True\nRESULT n 12\n"
    assert maker.parse_results(stdout) == {"loss": 3.25, "ok": True, "n": 12.0}
    assert maker.to_torch("import tinygrad_edu as torch\nx = 1\n") == "import torch\nx = 1\n"


@pytest.mark.parametrize("name", NAMES)
def test_the_program_runs(name, run):
    result = run(name)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]


@pytest.mark.parametrize("name", NAMES)
def test_the_program_prints_pytorchs_numbers(name, run):
    result = run(name)
    if result.returncode != 0:
        pytest.fail(f"examples/{name} failed (see test_the_program_runs):\n"
                    + result.stderr[-3000:])
    got = maker.parse_results(result.stdout)
    expected = REFERENCE["programs"][name]["results"]
    assert got.keys() == expected.keys(), (
        f"missing: {sorted(expected.keys() - got.keys())}, "
        f"unexpected: {sorted(got.keys() - expected.keys())}")
    rtol, atol = TOLERANCE[name]
    wrong = [f"{key}: got {got[key]!r}, PyTorch {value!r}" for key, value in expected.items()
             if (got[key] != value if isinstance(value, bool)
                 else not np.isclose(got[key], value, rtol=rtol, atol=atol))]
    assert not wrong, "\n".join(wrong)

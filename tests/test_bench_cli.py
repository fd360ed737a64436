"""`tinygrad-edu bench`: the command run for real (`python -m tinygrad_edu bench ...` in a
subprocess, from an empty folder, this checkout first on PYTHONPATH, as test_cli.py
does), and its gradient checks called here, in this process.

No test asserts a time: speed is measured by the command, not by the tests. The runs
use --quick and, where PyTorch is not the point, --no-torch, to stay short.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import bench

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["workload", "NumPy", "tinygrad_edu", "vs NumPy", "PyTorch", "vs PyTorch"]
LABELS = {"mlp": "MLP step", "chain": "op chain, per op", "cnn": "CNN step",
          "lstm": "LSTM step"}
TIME = r"\d+\.\d\d (?:us|ms|s)"
RATIO = r"\d+\.\d\dx"

try:
    import torch  # noqa: F401
    HAS_TORCH = True
except ImportError:
    HAS_TORCH = False


def _env(path_first: Path | None = None, **changes) -> dict:
    """The environment of a run: this checkout on PYTHONPATH (after `path_first`, a
    folder of stand-in modules, when given)."""
    env = dict(os.environ)
    paths = ([str(path_first)] if path_first else []) + [str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(
        paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(changes)
    return env


def _bench(tmp_path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # (the timeout only stops a run that hangs; nothing here asserts a duration)
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", "bench", *args],
                          cwd=tmp_path, env=env or _env(), capture_output=True, text=True,
                          timeout=600)


def _table(out: str) -> dict[str, list[str]]:
    """The table's rows by workload label, each split into its cells (2+ spaces apart)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("workload "))
    assert re.split(r"\s{2,}", lines[start].strip()) == HEADER, lines[start]
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells[1:]
    return rows


def _assert_timed(row: list[str], torch_column: str | None) -> None:
    """NumPy, tinygrad_edu, vs NumPy, then PyTorch's time and ratio or `torch_column`."""
    assert re.fullmatch(TIME, row[0]) and re.fullmatch(TIME, row[1]), row
    assert re.fullmatch(RATIO, row[2]), row
    if torch_column is None:
        assert re.fullmatch(TIME, row[3]) and re.fullmatch(RATIO, row[4]), row
    else:
        assert row[3:] == [torch_column, "-"], row


# --- the command line ---------------------------------------------------------------------


def test_the_command_list_shows_bench(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "--help"], cwd=tmp_path,
                            env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\s+bench\s+how fast", result.stdout, re.MULTILINE), result.stdout


def test_bench_help_lists_its_options(tmp_path):
    result = _bench(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--quick", "--only", "--no-torch", "--seed", "--no-progress"):
        assert option in result.stdout, option
    for name in bench.WORKLOADS:
        assert name in result.stdout, name
    assert "benchmarks/run.py" in result.stdout


@pytest.mark.parametrize("args, words", [
    (["--only", "mlp,rnn"], ["unknown workload 'rnn'", "mlp, chain, cnn, lstm"]),
    (["--only", "gru,foo"], ["unknown workloads 'gru', 'foo'"]),
    (["--only", ","], ["names none"]),
    (["--seed", "-1"], ["a seed is 0 or more"]),
])
def test_bad_options_exit_2_with_a_message(tmp_path, args, words):
    result = _bench(tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_quick_chain_prints_the_table(tmp_path):
    result = _bench(tmp_path, "--quick", "--only", "chain")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("tinygrad_edu ") and "on this machine" in out
    assert re.search(r"\d+ CPUs,\s+BLAS 1 thread", out), out  # threadpoolctl: a dev tool
    rows = _table(out)
    assert list(rows) == [LABELS["chain"]]
    _assert_timed(rows[LABELS["chain"]], None if HAS_TORCH else "not installed")
    assert re.search(r"op chain, per op\s+tinygrad_edu \d\.\de[-+]\d\d.*OK$", out, re.M), out
    assert f"median of {bench.QUICK_ROUNDS} rounds" in out
    assert "python benchmarks/run.py" in out
    assert all(len(line) <= 88 for line in out.splitlines()), out
    assert "round" in result.stderr  # the progress bar, on stderr (tqdm draws it there)


def test_no_torch_skips_pytorch_and_no_progress_hides_the_bar(tmp_path):
    result = _bench(tmp_path, "--quick", "--only", "chain", "--no-torch", "--no-progress")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PyTorch: skipped (--no-torch)" in result.stdout
    _assert_timed(_table(result.stdout)[LABELS["chain"]], "skipped")
    assert result.stderr == ""


def _stand_ins(folder: Path, *modules: str) -> Path:
    """A folder of modules that cannot be imported, to put first on PYTHONPATH: the
    machine of a learner who does not have them."""
    folder.mkdir()
    for name in modules:
        (folder / f"{name}.py").write_text(f"raise ImportError('no module named {name}')\n")
    return folder


def test_without_torch_the_column_says_not_installed(tmp_path):
    env = _env(_stand_ins(tmp_path / "missing", "torch"))
    result = _bench(tmp_path, "--quick", "--only", "chain", "--no-progress", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PyTorch: not installed" in result.stdout
    _assert_timed(_table(result.stdout)[LABELS["chain"]], "not installed")


def test_without_threadpoolctl_it_reports_what_numpy_uses(tmp_path):
    env = _env(_stand_ins(tmp_path / "missing", "threadpoolctl"), OPENBLAS_NUM_THREADS="1")
    result = _bench(tmp_path, "--quick", "--only", "chain", "--no-torch", "--no-progress",
                    env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    words = " ".join(result.stdout.split())  # (the lines are wrapped at 88 columns)
    assert "BLAS 1 thread (OPENBLAS_NUM_THREADS)" in words
    assert "threadpoolctl is not installed" in words
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        env.pop(name, None)
    result = _bench(tmp_path, "--quick", "--only", "chain", "--no-torch", "--no-progress",
                    env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BLAS threads as NumPy sets them (not limited)" in " ".join(result.stdout.split())


# A run whose hand-written NumPy chain is wrong: its gradients come out 0.1% too large.
_WRONG_CHAIN = """
import sys
import numpy as np
from tinygrad_edu import bench
from tinygrad_edu.cli import main

right = bench.OpChain.numpy_step

def wrong(self):
    step = right(self)
    return bench.Step(step.run, lambda: tuple(g * 1.001 for g in step.grads()))

bench.OpChain.numpy_step = wrong
sys.exit(main(["bench", "--quick", "--only", "mlp,chain", "--no-torch", "--no-progress"]))
"""


def test_a_failed_gradient_check_is_not_timed_and_exits_1(tmp_path):
    result = subprocess.run([sys.executable, "-c", _WRONG_CHAIN], cwd=tmp_path, env=_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"op chain, per op\s+tinygrad_edu \S+ \(TOO LARGE\).*FAILED$", out, re.M)
    rows = _table(out)
    assert rows[LABELS["chain"]] == ["not timed: a gradient check failed (above)"]
    _assert_timed(rows[LABELS["mlp"]], "skipped")  # the others still run
    assert "A gradient check failed" in out


def test_the_full_quick_run_finishes(tmp_path):
    # all four workloads, as a learner would run it first (the time it takes is reported
    # by the command itself, and not asserted here)
    result = _bench(tmp_path, "--quick")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _table(result.stdout)
    assert list(rows) == [LABELS[name] for name in bench.WORKLOADS]
    for row in rows.values():
        _assert_timed(row, None if HAS_TORCH else "not installed")
    assert result.stdout.count(" OK\n") == 4
    assert re.search(r"Measured in \d+ s", result.stdout)


# --- the gradient checks, in this process -------------------------------------------------


def _grads(workload: bench.Workload, backend: str, torch=None) -> tuple:
    step = workload.step(backend, torch)
    step.run()
    return tuple(np.asarray(g) for g in step.grads())


@pytest.mark.parametrize("name", list(bench.WORKLOADS))
def test_tinygrad_gradients_equal_the_hand_written_numpy_ones(name):
    workload = bench.WORKLOADS[name](seed=0)
    reference, got = _grads(workload, "numpy"), _grads(workload, "tinygrad_edu")
    assert len(reference) == len(got) >= 2
    scale = max(1.0, max(float(np.abs(g).max()) for g in reference))
    for i, (r, g) in enumerate(zip(reference, got)):
        assert r.dtype == g.dtype == np.float32, (i, r.dtype, g.dtype)
        assert r.shape == g.shape, (i, r.shape, g.shape)
        assert np.abs(r).max() > 0, f"gradient {i} is all zeros: the check could not fail"
        assert np.abs(r - g).max() <= 1e-5 * scale, (name, i, np.abs(r - g).max())
    check = bench.check_gradients(workload, {"numpy": workload.step("numpy"),
                                             "tinygrad_edu": workload.step("tinygrad_edu")})
    assert check["tinygrad_edu"].ok and check["tinygrad_edu"].limit >= 1e-5


REFERENCE = json.loads((Path(__file__).parent / "data" / "bench_torch_reference.json")
                       .read_text())  # written by tests/data/make_bench_reference.py


def _matches(summary: dict, gradient: np.ndarray, scale: float) -> bool:
    flat = np.asarray(gradient, dtype=np.float64).ravel()
    tolerance = 1e-5 * scale
    return (list(np.shape(gradient)) == summary["shape"]
            and abs(flat.sum() - summary["sum"]) <= tolerance * flat.size ** 0.5
            and abs(np.linalg.norm(flat) - summary["norm"]) <= tolerance * flat.size ** 0.5
            and np.allclose(flat[summary["positions"]], summary["values"], rtol=0,
                            atol=tolerance))


@pytest.mark.parametrize("name", list(bench.WORKLOADS))
def test_the_hand_written_numpy_gradients_equal_pytorchs(name):
    # PyTorch's gradients, stored (shape, sum, norm and 16 entries of each): the NumPy
    # baseline is checked against them on every machine, torch installed or not
    workload = bench.WORKLOADS[name](seed=0)
    numpy_grads = _grads(workload, "numpy")
    scale = max(1.0, max(float(np.abs(g).max()) for g in numpy_grads))
    assert len(numpy_grads) == len(REFERENCE[name])
    for i, (summary, gradient) in enumerate(zip(REFERENCE[name], numpy_grads)):
        assert _matches(summary, gradient, scale), (name, i)
    # the check can fail: a gradient off by 0.1% of the largest at one stored entry
    wrong = numpy_grads[0].copy().ravel()
    wrong[REFERENCE[name][0]["positions"][0]] += 1e-3 * scale
    assert not _matches(REFERENCE[name][0], wrong.reshape(numpy_grads[0].shape), scale)
    if HAS_TORCH:  # and, where PyTorch is installed, the bench's own PyTorch step
        import torch

        before = torch.get_num_threads()
        check = bench.compare_gradients(numpy_grads, _grads(workload, "torch", torch),
                                        workload.tolerance)
        assert check.ok, check
        assert torch.get_num_threads() == before  # (building a step leaves threads alone)


@pytest.mark.parametrize("name", list(bench.WORKLOADS))
def test_a_wrong_numpy_gradient_fails_the_check(name):
    # one entry of one gradient off by 0.1% of the largest: the check must see it
    workload = bench.WORKLOADS[name](seed=0)
    right = workload.numpy_step()

    def wrong_grads():
        grads = [g.copy() for g in right.grads()]
        scale = max(1.0, max(float(np.abs(g).max()) for g in grads))
        grads[-1].reshape(-1)[0] += 1e-3 * scale
        return tuple(grads)

    steps = {"numpy": bench.Step(right.run, wrong_grads),
             "tinygrad_edu": workload.step("tinygrad_edu")}
    check = bench.check_gradients(workload, steps)["tinygrad_edu"]
    assert not check.ok
    assert check.max_diff > 50 * check.limit


def test_the_comparison_refuses_nan_and_mismatched_shapes():
    a = (np.ones((2, 3), np.float32),)
    assert bench.compare_gradients(a, a, 1e-5).ok
    assert not bench.compare_gradients(a, (np.full((2, 3), np.nan, np.float32),), 1e-5).ok
    assert not bench.compare_gradients(a, (np.ones((3, 2), np.float32),), 1e-5).ok
    assert not bench.compare_gradients(a, a + a, 1e-5).ok  # a gradient too many


def test_the_seed_changes_the_data_and_the_checks_still_pass():
    zero, one = bench.MLP(seed=0).data(), bench.MLP(seed=1).data()
    assert not np.array_equal(zero[0], one[0])
    np.testing.assert_array_equal(zero[0], bench.MLP(seed=0).data()[0])
    workload = bench.OpChain(seed=7)
    check = bench.check_gradients(workload, {b: workload.step(b)
                                             for b in ("numpy", "tinygrad_edu")})
    assert check["tinygrad_edu"].ok

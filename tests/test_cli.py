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


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One run of `demo` in an empty folder, shared by the tests that read its output."""
    folder = tmp_path_factory.mktemp("demo")
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "demo"], cwd=folder,
                            env=_env(), capture_output=True, text=True, timeout=300)
    return folder, result


def test_demo_prints_the_five_gradients_and_passes_gradcheck(demo_run):
    _, result = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
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
    assert "neuron" in result.stdout and "--out" in result.stdout


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


# --- demo: training, files -------------------------------------------------------------


def test_demo_trains_both_models_and_reaches_the_promised_accuracy(demo_run):
    _, result = demo_run
    accuracy = {name: float(value) for name, value in
                re.findall(r"(moons|digits): test accuracy ([\d.]+)%", result.stdout)}
    assert set(accuracy) == {"moons", "digits"}, result.stdout
    assert accuracy["digits"] >= 95.0
    assert accuracy["moons"] >= 90.0
    assert "epoch" in result.stderr  # the tqdm progress bars


def test_demo_writes_every_file_it_promises_and_prints_each_path(demo_run):
    folder, result = demo_run
    out = folder / "tinygrad_edu_out"
    expected = ["loss_curve.png", "moons_decision_boundary.png", "graph.svg", "backward.html",
                "digits_mlp.npz"]
    for name in expected:
        assert (out / name).is_file(), name
        assert f"tinygrad_edu_out/{name}" in result.stdout, name
    for png in ("loss_curve.png", "moons_decision_boundary.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_graph_is_a_real_svg_of_the_model(demo_run):
    import xml.etree.ElementTree as ET

    folder, _ = demo_run
    root = ET.parse(folder / "tinygrad_edu_out" / "graph.svg").getroot()
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for label in ("0.weight", "0.bias", "2.weight", "2.bias", "Linear", "Relu", "loss"):
        assert label in texts, label
    assert "grad min" in texts  # drawn after backward: gradients are shown
    assert "not run yet" not in texts


def test_demo_checkpoint_loads_into_the_same_architecture(demo_run):
    import numpy as np

    import tinygrad_edu as tg

    folder, _ = demo_run
    checkpoint = tg.load(folder / "tinygrad_edu_out" / "digits_mlp.npz")
    model = tg.nn.Sequential(tg.nn.Linear(64, 64), tg.nn.ReLU(), tg.nn.Linear(64, 10))
    model.load_state_dict(checkpoint["model"])
    X, y = tg.data.load_digits()
    with tg.no_grad():
        accuracy = (model(tg.Tensor(X / 16.0)).argmax(axis=1).numpy() == y).mean()
    assert accuracy > 0.95
    assert checkpoint["epoch"] == len(checkpoint["history"]["train loss"])
    assert np.isfinite(checkpoint["history"]["train loss"]).all()


def test_demo_out_option_chooses_the_folder(run, tmp_path):
    result = run("demo", "--out", "elsewhere/nested", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / "nested" / "digits_mlp.npz").is_file()
    assert not (tmp_path / "tinygrad_edu_out").exists()
    assert "epoch/s" not in result.stderr  # --no-progress


# --- train ------------------------------------------------------------------------------


def _model_arrays(path):
    import tinygrad_edu as tg

    return {k: v.numpy() for k, v in tg.load(path)["model"].items()}


def test_train_is_deterministic_for_a_seed(run, tmp_path):
    import numpy as np

    args = ("train", "--dataset", "xor", "--epochs", "3", "--hidden", "8", "--no-progress")
    assert run(*args, "--out", "a").returncode == 0
    assert run(*args, "--out", "b").returncode == 0
    assert run(*args, "--out", "c", "--seed", "1").returncode == 0
    a, b, c = (_model_arrays(tmp_path / d / "checkpoint.npz") for d in "abc")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_train_resumes_exactly_where_it_stopped(run, tmp_path):
    import numpy as np

    import tinygrad_edu as tg

    common = ("--dataset", "spirals", "--hidden", "16,16", "--optimizer", "adam", "--no-progress")
    assert run("train", *common, "--epochs", "4", "--out", "half").returncode == 0
    result = run("train", "--resume", "half/checkpoint.npz", "--epochs", "8", "--out", "rest",
                 "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "Resuming spirals at epoch 4 of 8" in result.stdout
    assert run("train", *common, "--epochs", "8", "--out", "whole").returncode == 0
    resumed, whole = (tmp_path / d / "checkpoint.npz" for d in ("rest", "whole"))
    a, b = _model_arrays(resumed), _model_arrays(whole)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert tg.load(resumed)["history"] == tg.load(whole)["history"]


def test_train_writes_its_files_and_prints_their_paths(run, tmp_path):
    result = run("train", "--dataset", "blobs", "--epochs", "2", "--out", "o", "--no-progress",
                 "--optimizer", "sgd", "--lr", "0.1", "--activation", "tanh", "--batch-size",
                 "50")
    assert result.returncode == 0, result.stderr
    for name in ("checkpoint.npz", "loss_curve.png", "decision_boundary.png"):
        assert (tmp_path / "o" / name).is_file()
        assert f"o/{name}" in result.stdout
    assert "Tanh()" in result.stdout and "sgd lr=0.1" in result.stdout


def test_train_on_digits_has_no_decision_boundary(run, tmp_path):
    result = run("train", "--dataset", "digits", "--epochs", "1", "--hidden", "32", "--out",
                 "d", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "d" / "checkpoint.npz").is_file()
    assert not (tmp_path / "d" / "decision_boundary.png").exists()


def test_train_a_cnn_on_digits_and_resume_it_exactly(run, tmp_path):
    import numpy as np

    import tinygrad_edu as tg

    common = ("--dataset", "digits", "--model", "cnn", "--hidden", "4,8", "--no-progress")
    result = run("train", *common, "--epochs", "1", "--out", "half")
    assert result.returncode == 0, result.stderr
    assert "Conv2d(1, 4, kernel_size=(3, 3)" in result.stdout and "MaxPool2d" in result.stdout
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", result.stdout).group(1))
    assert accuracy > 50  # one epoch of a tiny CNN: far above the 10% of guessing
    arrays = _model_arrays(tmp_path / "half" / "checkpoint.npz")
    assert arrays["0.weight"].shape == (4, 1, 3, 3) and arrays["3.weight"].shape == (8, 4, 3, 3)
    assert arrays["7.weight"].shape == (10, 8 * 2 * 2)
    assert tg.load(tmp_path / "half" / "checkpoint.npz")["config"]["model"] == "cnn"
    resumed = run("train", "--resume", "half/checkpoint.npz", "--epochs", "2", "--out", "rest",
                  "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    whole = run("train", *common, "--epochs", "2", "--out", "whole")
    assert whole.returncode == 0, whole.stderr
    a, b = (_model_arrays(tmp_path / d / "checkpoint.npz") for d in ("rest", "whole"))
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_too_many_convolutions_for_8x8_digits_is_a_clear_error(run):
    result = run("train", "--dataset", "digits", "--model", "cnn", "--hidden", "4,4,4,4",
                 "--epochs", "1", "--no-progress")
    assert result.returncode == 2
    assert "cannot be pooled 4 times; give at most 3 convolution sizes" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_cnn_needs_images(run):
    result = run("train", "--model", "cnn", "--dataset", "moons", "--no-progress")
    assert result.returncode == 2
    assert "--model cnn needs images: use --dataset digits" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (("--model", "transformer"), "invalid choice"),
    (("--hidden", "16,x"), "comma-separated"),
    (("--hidden", "0"), "positive"),
    (("--lr", "-1"), "positive"),
    (("--lr", "fast"), "float"),
    (("--epochs", "0"), "positive"),
    (("--dataset", "cifar"), "invalid choice"),
    (("--optimizer", "lion"), "invalid choice"),
    (("--activation", "swish"), "invalid choice"),
    (("--batch-size", "2.5"), "int"),
])
def test_bad_train_arguments_give_a_usage_error_not_a_traceback(run, args, message):
    result = run("train", *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_resuming_from_a_bad_file_is_a_clear_error(run, tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"\x80\x04 not a checkpoint")
    for path in ("bad.npz", "missing.npz"):
        result = run("train", "--resume", path, "--no-progress")
        assert result.returncode == 2
        assert f"cannot resume from {path}" in result.stderr
        assert "Traceback" not in result.stderr


def test_an_unusable_output_folder_is_a_clear_error(run, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    result = run("train", "--epochs", "1", "--out", "file/sub", "--no-progress")
    assert result.returncode != 0
    assert "cannot create the output folder" in result.stderr
    assert "Traceback" not in result.stderr

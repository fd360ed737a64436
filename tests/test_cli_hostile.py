"""The command line under hostile use: Ctrl-C in the middle of training, output folders
that cannot be written, resuming with other options or from files that are no training
checkpoint, checks that never finish, malformed numbers and shapes, closed pipes.

Every case runs the real command, `python -m tinygrad_edu ...`, in a subprocess from an
empty folder, as test_cli.py does, and asks the same of each: a message that says what
to do, exit status 2 (130 after Ctrl-C), and never a traceback.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.serialization import CheckpointError

ROOT = Path(__file__).resolve().parent.parent


def _env(**changes) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["MPLBACKEND"] = "Agg"
    env.update(changes)
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tinygrad_edu", *args]


@pytest.fixture
def run(tmp_path):
    """Run `python -m tinygrad_edu *args` in tmp_path and return the CompletedProcess."""
    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(_command(*args), cwd=tmp_path, env=_env(), capture_output=True,
                              text=True, timeout=timeout)
    return run


def assert_refused(result: subprocess.CompletedProcess, *parts: str) -> None:
    """Exit status 2, each part in the message, no traceback, no work done."""
    assert result.returncode == 2, result.stdout + result.stderr
    for part in parts:
        assert part in result.stderr, (part, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert "training samples" not in result.stdout  # refused before any training


def _model_arrays(path) -> dict[str, np.ndarray]:
    return {key: value.numpy() for key, value in tg.load(path)["model"].items()}


# --- Ctrl-C during train ----------------------------------------------------------------


class _Stream:
    """A child's output pipe, read in a thread, so that a test can wait for some text
    without blocking (tqdm rewrites its bar with \\r: there are no lines to wait for)."""

    def __init__(self, pipe):
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe) -> None:
        while chunk := os.read(pipe.fileno(), 4096):
            self.chunks.append(chunk)

    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := re.search(pattern, self.text()):
                return match
            time.sleep(0.02)
        raise AssertionError(f"{pattern!r} did not appear within {timeout} s:\n{self.text()}")


def _interrupt(args: tuple[str, ...], cwd: Path, when: str) -> tuple[int, str]:
    """Start `train *args`, send SIGINT (Ctrl-C) once `when` shows in its progress bar;
    return its exit status and stderr."""
    child = subprocess.Popen(
        _command("train", *args), cwd=cwd, env=_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # a shell that ran these tests in the background may have ignored SIGINT
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    stderr = _Stream(child.stderr)
    try:
        stderr.wait_for(when)
        child.send_signal(signal.SIGINT)
        status = child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    stderr.thread.join(timeout=10)
    child.stderr.close()
    return status, stderr.text()


posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGINT as a terminal sends it")


@posix_only
def test_ctrl_c_saves_the_last_finished_epoch_which_resumes_exactly(run, tmp_path):
    options = ("--dataset", "xor", "--hidden", "8")
    status, stderr = _interrupt((*options, "--epochs", "100000", "--out", "o"), tmp_path,
                                when=r"\| *[1-9]\d*/100000 ")  # an epoch has finished
    assert status == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    said = re.search(r"interrupted \(Ctrl-C\): saved epoch (\d+) of 100000 to "
                     r"o/checkpoint\.npz; go on with: tinygrad-edu train --resume "
                     r"o/checkpoint\.npz --out o\n", stderr)
    assert said, stderr
    done = int(said.group(1))
    checkpoint = tg.load(tmp_path / "o" / "checkpoint.npz")
    assert done >= 1 and checkpoint["epoch"] == done
    assert len(checkpoint["history"]["train loss"]) == done

    # Whole epochs only: resumed for two more, it ends exactly where an uninterrupted
    # run of done + 2 epochs does (a half-trained epoch saved as whole would not).
    resumed = run("train", "--resume", "o/checkpoint.npz", "--epochs", str(done + 2),
                  "--out", "rest", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming xor at epoch {done} of {done + 2}" in resumed.stdout
    whole = run("train", *options, "--epochs", str(done + 2), "--out", "whole",
                "--no-progress")
    assert whole.returncode == 0, whole.stderr
    a, b = (_model_arrays(tmp_path / d / "checkpoint.npz") for d in ("rest", "whole"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@posix_only
def test_ctrl_c_before_the_first_epoch_finishes_saves_nothing(tmp_path):
    # a first epoch of many seconds: 1,437 steps of a wide CNN, one image each
    args = ("--dataset", "digits", "--model", "cnn", "--hidden", "128,128", "--batch-size",
            "1", "--epochs", "3", "--out", "o")
    status, stderr = _interrupt(args, tmp_path, when=r"\| *0/3 ")  # the bar has started
    assert status == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "interrupted (Ctrl-C) before an epoch finished: nothing was saved" in stderr
    assert not (tmp_path / "o" / "checkpoint.npz").exists()


# --- an output folder that cannot be written: found before training ------------------------


def _a_file(folder: Path) -> None:
    (folder / "file").write_text("not a folder")


def _a_folder_where_the_checkpoint_goes(folder: Path) -> None:
    (folder / "o" / "checkpoint.npz").mkdir(parents=True)


@pytest.mark.parametrize("out, setup, parts", [
    ("file/sub", _a_file, ["cannot create the output folder 'file/sub'",
                           "choose another folder with --out DIR"]),
    ("file", _a_file, ["--out file: 'file' is a file, not a folder",
                       "choose another folder with --out DIR"]),
    ("o", _a_folder_where_the_checkpoint_goes, ["cannot write o/checkpoint.npz: it is a folder",
                                                "choose another folder with --out DIR"]),
    ("", None, ["--out needs a folder"]),
])
def test_an_unusable_out_is_refused_before_training(run, tmp_path, out, setup, parts):
    if setup:
        setup(tmp_path)
    assert_refused(run("train", "--epochs", "1", "--no-progress", "--out", out), *parts)


def test_a_read_only_out_is_refused_before_training(run, tmp_path):
    # a folder made read-only; root may write into any folder, but not into /sys
    if os.geteuid() == 0:
        locked = "/sys/kernel"
        result = run("train", "--epochs", "1", "--no-progress", "--out", locked)
    else:
        locked = "locked"
        (tmp_path / locked).mkdir(mode=0o555)
        try:
            result = run("train", "--epochs", "1", "--no-progress", "--out", locked)
        finally:
            (tmp_path / locked).chmod(0o755)
    assert_refused(result, f"cannot write into the output folder '{locked}'",
                   f"chmod u+w {locked}")


def test_demo_checks_its_out_first_too(run, tmp_path):
    _a_file(tmp_path)
    result = run("demo", "--no-progress", "--out", "file")
    assert_refused(result, "tinygrad-edu demo: --out file: 'file' is a file, not a folder")
    assert "neuron" not in result.stdout


# --- --resume: the checkpoint's options, and files that are not one -----------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A run of 2 epochs on xor (hidden 8, adam, lr 0.01, batch size 32, seed 0)."""
    folder = tmp_path_factory.mktemp("trained")
    result = subprocess.run(_command("train", "--dataset", "xor", "--hidden", "8", "--epochs",
                                     "2", "--no-progress", "--out", "o"),
                            cwd=folder, env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return folder / "o" / "checkpoint.npz"


@pytest.mark.parametrize("option, value, saved", [
    ("--dataset", "circles", "--dataset xor"),
    ("--model", "cnn", "--model mlp"),
    ("--hidden", "8,8", "--hidden 8"),
    ("--activation", "tanh", "--activation relu"),
    ("--optimizer", "sgd", "--optimizer adam"),
    ("--lr", "0.5", "--lr 0.01"),
    ("--batch-size", "16", "--batch-size 32"),
    ("--seed", "3", "--seed 0"),
])
def test_resuming_with_an_option_other_than_the_checkpoints_is_refused(
        run, checkpoint, option, value, saved):
    result = run("train", "--resume", str(checkpoint), option, value, "--no-progress")
    assert_refused(result, f"{option} {value} (it has {saved})",
                   "leave these options out, or start a new run without --resume")
    assert "Resuming" not in result.stdout


def test_every_conflicting_option_is_named_at_once(run, checkpoint):
    result = run("train", "--resume", str(checkpoint), "--lr", "0.1", "--dataset", "moons")
    assert_refused(result, "--dataset moons (it has --dataset xor)",
                   "--lr 0.1 (it has --lr 0.01)")


def test_resuming_with_the_checkpoints_own_options_and_more_epochs_is_fine(run, checkpoint):
    result = run("train", "--resume", str(checkpoint), "--dataset", "xor", "--hidden", "8",
                 "--optimizer", "adam", "--lr", "0.01", "--seed", "0", "--epochs", "3",
                 "--out", "more", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "Resuming xor at epoch 2 of 3" in result.stdout


def test_resuming_with_fewer_epochs_than_done_is_refused(run, checkpoint):
    result = run("train", "--resume", str(checkpoint), "--epochs", "1", "--no-progress")
    assert_refused(result, "--epochs 1:", "has already trained 2 epochs",
                   "--epochs is the total to reach")


def _state_dict(path: Path) -> None:
    tg.save(tg.nn.Linear(2, 3).state_dict(), path)


def _plain_npz(path: Path, trained: Path) -> None:
    with open(path, "wb") as file:
        np.savez(file, weights=np.arange(3.0))


def _truncated(path: Path, trained: Path) -> None:
    path.write_bytes(trained.read_bytes()[:300])


def _a_list(path: Path) -> None:
    tg.save([1, 2, 3], path)


@pytest.mark.parametrize("make, parts", [
    (_state_dict, ["is a tinygrad_edu checkpoint, but not of a training run",
                   "model.load_state_dict(tg.load(path))"]),
    (_a_list, ["not of a training run: it holds a list"]),
])
def test_resuming_from_another_kind_of_checkpoint_says_so(run, tmp_path, make, parts):
    make(tmp_path / "other.npz")
    result = run("train", "--resume", "other.npz", "--no-progress")
    assert_refused(result, "cannot resume from other.npz: ", *parts)


@pytest.mark.parametrize("make", [_plain_npz, _truncated], ids=["plain npz", "damaged"])
def test_resuming_from_no_checkpoint_shows_the_checkpoint_error(run, tmp_path, checkpoint,
                                                               make, monkeypatch):
    make(tmp_path / "bad.npz", checkpoint)
    monkeypatch.chdir(tmp_path)  # so that the message names bad.npz as the command does
    with pytest.raises(CheckpointError) as expected:
        tg.load("bad.npz")
    result = run("train", "--resume", "bad.npz", "--no-progress")
    assert_refused(result, f"cannot resume from bad.npz: {expected.value}")


def test_resuming_a_checkpoint_whose_model_does_not_fit_its_config(run, tmp_path, checkpoint):
    saved = tg.load(checkpoint)
    saved["config"]["hidden"] = [4]  # the saved weights are of a hidden layer of 8
    tg.save(saved, tmp_path / "edited.npz")
    result = run("train", "--resume", "edited.npz", "--no-progress")
    assert_refused(result, "cannot resume from edited.npz: the run it describes cannot be "
                           "rebuilt: load_state_dict")


def test_an_empty_resume_is_refused_not_ignored(run):
    assert_refused(run("train", "--resume", "", "--no-progress"), "--resume needs the checkpoint")


# --- gradcheck --timeout ----------------------------------------------------------------------


OP = '''import tinygrad_edu as tg


class Square(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data * x.data

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 2 * x
'''

LOOPS = {
    "at import": "while True:\n    pass\n\n\n" + OP,
    "in the op": OP.replace("        ctx.save_for_backward(x)\n",
                            "        while True:\n            pass\n"),
}


@pytest.mark.parametrize("where", LOOPS)
def test_a_check_that_never_finishes_is_stopped_after_the_timeout(run, tmp_path, where):
    (tmp_path / "spin.py").write_text(LOOPS[where])
    result = run("gradcheck", "spin.py::Square", "--timeout", "1", timeout=60)
    assert_refused(result, "tinygrad-edu gradcheck: spin.py::Square did not finish within "
                           "1 second and was stopped", "loop forever",
                   "--timeout 2 (--timeout 0: no limit)")


def test_the_timeout_changes_nothing_for_a_check_that_finishes(run, tmp_path):
    (tmp_path / "square.py").write_text(OP)
    (tmp_path / "wrong.py").write_text(OP.replace("grad_output * 2 * x", "grad_output * x"))
    for name, status in (("square.py", 0), ("wrong.py", 1)):
        in_child = run("gradcheck", f"{name}::Square", "--shapes", "3", "2x2")
        here = run("gradcheck", f"{name}::Square", "--shapes", "3", "2x2", "--timeout", "0")
        assert in_child.returncode == here.returncode == status, in_child.stderr
        assert in_child.stdout == here.stdout and "Checking Square" in here.stdout
        assert in_child.stderr == here.stderr == ""


def test_the_timeout_is_documented_in_the_help(run):
    result = run("gradcheck", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())  # (argparse wraps the lines to the terminal)
    assert "--timeout SECONDS" in text and "(default: 60)" in text and "0, no limit" in text


@pytest.mark.parametrize("value, part", [("-1", "a time limit is 0 (no limit) or more"),
                                         ("soon", "'soon' is not a number"),
                                         ("nan", "'nan' is not a finite number")])
def test_a_bad_timeout_is_a_usage_error(run, tmp_path, value, part):
    (tmp_path / "square.py").write_text(OP)
    assert_refused(run("gradcheck", "square.py::Square", "--timeout", value),
                   "usage:", "argument --timeout", part)


# --- numbers and shapes given on the command line ------------------------------------------------


@pytest.mark.parametrize("case, part", [
    ("abc", "is not a case of input shapes"),        # malformed
    ("3x", "is not a case of input shapes"),
    ("3,,4", "is not a case of input shapes"),
    ("1e3", "is not a case of input shapes"),        # not an int
    ("-3", "sizes cannot be negative"),
    ("3x-1", "sizes cannot be negative"),
    ("0", "a size of 0 makes an empty input"),       # zero: nothing would be checked
    ("3x0", "a size of 0 makes an empty input"),
    ("1000x1000", "give at most 10,000"),            # a Jacobian of 10^12 numbers
    ("99999999999999999999", "give at most 10,000"),
    ("3,4", "case 1 gives 2 input shape(s), (3,), (4,), but Square takes 1 input(s)"),
])
def test_bad_shapes_are_refused(run, tmp_path, case, part):
    (tmp_path / "square.py").write_text(OP)
    assert_refused(run("gradcheck", "square.py::Square", "--shapes", case, timeout=60), part)


def test_shapes_given_twice_are_all_checked(run, tmp_path):
    (tmp_path / "square.py").write_text(OP)
    result = run("gradcheck", "square.py::Square", "--shapes", "3", "--shapes", "2x2")
    assert result.returncode == 0, result.stderr
    assert "(3,)" in result.stdout and "(2, 2)" in result.stdout


@pytest.mark.parametrize("command", [("demo",), ("train",), ("gradcheck", "square.py::Square")])
@pytest.mark.parametrize("seed, part", [("-1", "a seed is 0 or more"),
                                        ("abc", "invalid int value: 'abc'"),
                                        ("1.5", "invalid int value: '1.5'")])
def test_a_bad_seed_is_a_usage_error(run, tmp_path, command, seed, part):
    (tmp_path / "square.py").write_text(OP)
    result = run(*command, "--seed", seed)
    assert_refused(result, "usage:", "argument --seed", part)


@pytest.mark.parametrize("args, part", [
    (("x", "--x", ","), "--x ,: a value is a number"),
    (("x", "--x", ""), "--x : a value is a number"),
    (("x", "--x="), "--x : a value is a number"),
    (("x", "--x", "0x10"), "--x 0x10: a value is a number"),
    (("x", "--x", "1,two"), "--x 1,two: a value is a number"),
    (("x * y", "--x", "1", "--y"), "--y needs a value"),
    (("x * y", "--x", "1,2", "--y", "1,2,3"), "shapes (2,) and (3,) cannot be broadcast"),
    (("x @ y", "--x", "1,2", "--y", "1,2,3"), "cannot multiply (2,) by (3,)"),
    (("x", "--x", "1", "--"), "expected a variable as --NAME VALUE, got '--'"),
])
def test_bad_variable_values_for_graph_are_refused(run, args, part):
    result = run("graph", *args, "--out", "g.dot")
    assert_refused(result, "tinygrad-edu graph: ", part)


@pytest.mark.parametrize("args, part", [
    (("--hidden", ""), "'' gives no layer size"),
    (("--hidden", ","), "',' gives no layer size"),
    (("--lr", "inf"), "'inf' is not a finite number"),
    (("--lr", "nan"), "'nan' is not a finite number"),
    (("--epochs", "1e3"), "'1e3' is not a whole number"),
])
def test_more_bad_train_arguments_are_usage_errors(run, args, part):
    assert_refused(run("train", *args, "--epochs", "1", "--no-progress"), "usage:", part)


# --- graph --no-grads --explain -------------------------------------------------------------------

NEURON = ("tanh(x1*w1 + x2*w2 + b)", "--x1", "2", "--w1", "-3", "--x2", "0", "--w2", "1",
          "--b", "6.8813735870195432")
GRADIENT_WORDS = ("upstream", "contribution", "gathered", "Gradients", "dL/d", "df/d",
                  "dt4/d")


def test_explain_with_no_grads_shows_the_local_derivatives_and_no_gradient(run, tmp_path):
    result = run("graph", *NEURON, "--explain", "--no-grads", "--out", "g.dot")
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("Backward, step by step")[1]
    assert "local derivative" in table and "f (Tanh)" in table
    assert "1 - tanh(t4)^2 = 0.5" in table and "w1 = -3" in table
    for word in GRADIENT_WORDS:
        assert word not in result.stdout, word
    assert "grad" not in (tmp_path / "g.dot").read_text()


def test_explain_with_no_grads_of_a_vector_does_not_sum_it(run, tmp_path):
    result = run("graph", "x * y", "--x", "1,2,3", "--y=-1,0,0.5", "--explain", "--no-grads",
                 "--out", "g.dot")
    assert result.returncode == 0, result.stderr
    assert "L = sum" not in result.stdout and "Sum" not in (tmp_path / "g.dot").read_text()
    assert "y = [-1, 0, 0.5]" in result.stdout and "x = [1, 2, 3]" in result.stdout
    for word in GRADIENT_WORDS:
        assert word not in result.stdout, word


# --- what a file under check may do, and a reader that goes away ---------------------------------


@pytest.mark.parametrize("source, part", [
    ("def f(x):\n    return x\n\n\nSHAPES = [((3,),)]\n\n\n"
     "def INPUTS(rng, shapes):\n    return ['abc']\n",
     "op.py: cannot make the inputs of case 1, shapes (3,) (ValueError: could not convert"),
    ("def f(x):\n    return x\n\n\nSHAPES = [((10 ** 30,),)]\n",
     "op.py: cannot make the inputs of case 1"),
    ("import sys\n\n\ndef f(x):\n    sys.exit(7)\n",
     "the check of op.py::f stopped with exit status 7"),
])
def test_a_file_that_breaks_the_check_gets_a_message(run, tmp_path, source, part):
    (tmp_path / "op.py").write_text(source)
    assert_refused(run("gradcheck", "op.py::f", timeout=60), part)


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", [("graph", "x", "--x", "1", "--out", "g.dot"),
                                  ("gradcheck", "square.py::Square")])
def test_a_closed_pipe_ends_the_command_quietly(tmp_path, args, buffered):
    (tmp_path / "square.py").write_text(OP)
    env = _env(PYTHONUNBUFFERED="" if buffered else "1")
    child = subprocess.Popen(_command(*args), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    child.stdout.close()  # as `| head -0` does, before the command writes
    with child.stderr:
        stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141, stderr  # 128 + SIGPIPE, as the shell reports it
    assert stderr == ""

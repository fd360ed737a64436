"""tg.save / tg.load: round trips, and refusing every file that is not a checkpoint."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn


def mlp():
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))


def test_a_state_dict_round_trips_exactly(tmp_path):
    model = mlp()
    tg.save(model.state_dict(), tmp_path / "m.npz")
    loaded = tg.load(tmp_path / "m.npz")
    assert list(loaded) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for key, value in model.state_dict().items():
        assert isinstance(loaded[key], tg.Tensor)
        assert loaded[key].dtype == value.dtype == np.float32
        assert np.array_equal(loaded[key].numpy(), value.numpy())
    other = mlp()
    other.load_state_dict(loaded)
    x = tg.randn(4, 3)
    assert np.array_equal(other(x).numpy(), model(x).numpy())


def test_nested_checkpoints_keep_their_structure_and_types(tmp_path):
    checkpoint = {
        "model": mlp().state_dict(),
        "epoch": 7, "lr": 0.25, "name": "run", "done": False, "nothing": None,
        "history": [1.5, 0.5], "betas": (0.9, 0.999),
        "optimizer": {"state": {0: {"step": 3, "exp_avg": np.arange(6.0).reshape(2, 3)}},
                      "param_groups": [{"lr": 0.1, "params": [0, 1]}]},
        "ints": np.array([1, 2, 3], dtype=np.int64),
        "nan": float("nan"),
    }
    tg.save(checkpoint, tmp_path / "c.npz")
    back = tg.load(tmp_path / "c.npz")
    assert back["epoch"] == 7 and back["lr"] == 0.25 and back["name"] == "run"
    assert back["done"] is False and back["nothing"] is None
    assert back["history"] == [1.5, 0.5] and back["betas"] == (0.9, 0.999)
    state = back["optimizer"]["state"]
    assert list(state) == [0]  # the int key stays an int, as optimizers need
    assert state[0]["step"] == 3
    assert isinstance(state[0]["exp_avg"], np.ndarray)  # ndarrays stay ndarrays
    assert np.array_equal(state[0]["exp_avg"], np.arange(6.0).reshape(2, 3))
    assert back["ints"].dtype == np.int64
    assert np.isnan(back["nan"])


def test_fortran_ordered_and_big_endian_arrays_round_trip(tmp_path):
    checkpoint = {"f": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
                  "big": np.arange(4, dtype=">i4"), "empty": np.zeros((0, 3))}
    tg.save(checkpoint, tmp_path / "c.npz")
    back = tg.load(tmp_path / "c.npz")
    for key, value in checkpoint.items():
        assert back[key].dtype == value.dtype and np.array_equal(back[key], value)


def test_the_arrays_are_readable_with_plain_numpy(tmp_path):
    tg.save({"model": mlp().state_dict()}, tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as npz:
        assert "model/0.weight" in npz.files
        assert npz["model/0.weight"].shape == (5, 3)


def test_the_path_is_used_as_given(tmp_path):
    tg.save({"a": np.ones(2)}, tmp_path / "weights.ckpt")
    assert (tmp_path / "weights.ckpt").exists()
    assert not (tmp_path / "weights.ckpt.npz").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["weights.ckpt"]  # no temporary left


def test_saving_a_module_itself_says_to_save_its_state_dict(tmp_path):
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        tg.save(mlp(), tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_unsaveable_values_are_refused_before_anything_is_written(tmp_path):
    with pytest.raises(TypeError, match="object"):
        tg.save({"a": np.array([{"x": 1}], dtype=object)}, tmp_path / "m.npz")
    with pytest.raises(TypeError, match="set"):
        tg.save({"a": {1, 2}}, tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


class _Boom:
    """Unpickling this would create a file: proof that loading executed code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_is_refused_and_nothing_in_it_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(_Boom(str(marker))))
    with pytest.raises(tg.CheckpointError, match="pickle"):
        tg.load(path)
    assert not marker.exists()


def test_an_npz_holding_an_object_array_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    np.savez(path, __tinygrad_edu__=np.array(
        '{"format": "tinygrad_edu checkpoint", "version": 1, "tree": {"array": "a"}}'),
        a=np.array([_Boom(str(marker))], dtype=object))
    with pytest.raises(tg.CheckpointError, match="pickle"):
        tg.load(path)
    assert not marker.exists()


def test_a_torch_style_zip_with_a_pickle_inside_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": 1}))
        archive.writestr("archive/version", "3\n")
    with pytest.raises(tg.CheckpointError, match="torch.save"):
        tg.load(path)


def test_a_plain_npz_is_called_foreign(tmp_path):
    np.savez(tmp_path / "plain.npz", weights=np.ones(3))
    with pytest.raises(tg.CheckpointError, match="np.load") as error:
        tg.load(tmp_path / "plain.npz")
    assert "weights" in str(error.value)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_a_truncated_checkpoint_is_refused(tmp_path, keep):
    tg.save({"model": nn.Linear(20, 20).state_dict()}, tmp_path / "c.npz")
    data = (tmp_path / "c.npz").read_bytes()
    (tmp_path / "t.npz").write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(tg.CheckpointError, match="truncated or corrupt|not a tinygrad_edu"):
        tg.load(tmp_path / "t.npz")


def test_random_bytes_and_empty_files_are_refused(tmp_path):
    (tmp_path / "junk").write_bytes(os.urandom(64))
    (tmp_path / "empty").write_bytes(b"")
    for name in ("junk", "empty"):
        with pytest.raises(tg.CheckpointError, match="not an .npz"):
            tg.load(tmp_path / name)


def test_a_checkpoint_from_a_newer_format_asks_for_an_upgrade(tmp_path):
    np.savez(tmp_path / "new.npz", __tinygrad_edu__=np.array(
        '{"format": "tinygrad_edu checkpoint", "version": 99, "tree": {"value": 1}}'))
    with pytest.raises(tg.CheckpointError, match="newer"):
        tg.load(tmp_path / "new.npz")


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        tg.load(tmp_path / "nope.npz")


def test_optimizer_state_survives_a_checkpoint(tmp_path):
    tg.manual_seed(1)
    model = mlp()
    opt = tg.optim.Adam(model.parameters(), lr=0.01)
    x, y = tg.randn(8, 3), np.arange(8) % 2

    def step(model, opt):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step(model, opt)
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "c.npz")
    back = tg.load(tmp_path / "c.npz")
    model2 = mlp()
    opt2 = tg.optim.Adam(model2.parameters(), lr=0.01)
    model2.load_state_dict(back["model"])
    opt2.load_state_dict(back["optimizer"])
    for _ in range(3):
        step(model, opt)
        step(model2, opt2)
    for a, b in zip(model.parameters(), model2.parameters()):
        assert np.array_equal(a.data, b.data)


def test_keys_that_are_names_of_numpys_save_parameters_round_trip(tmp_path):
    # np.savez_compressed(file, allow_pickle=..., **arrays) would take these for its own
    checkpoint = {"file": np.ones(2), "allow_pickle": np.zeros(3), "a\0b": np.arange(2)}
    tg.save(checkpoint, tmp_path / "c.npz")
    back = tg.load(tmp_path / "c.npz")
    assert list(back) == list(checkpoint)
    for key, value in checkpoint.items():
        assert np.array_equal(back[key], value)


@pytest.mark.skipif(os.name != "posix", reason="file modes and umask are POSIX")
def test_a_checkpoint_gets_the_permissions_of_any_new_file(tmp_path):
    umask = os.umask(0o022)
    try:
        tg.save({"a": np.ones(2)}, tmp_path / "c.npz")
    finally:
        os.umask(umask)
    assert (tmp_path / "c.npz").stat().st_mode & 0o777 == 0o644


# --- saves interrupted by a killed process ----------------------------------------------

KILLED_SAVE = """
import os
import sys

import numpy as np

import tinygrad_edu as tg


def die(*args, **kwargs):
    os._exit(9)  # as a killed process: no cleanup runs


np.lib.format.write_array = die  # the save dies when it starts writing its first array
tg.save({"w": np.ones(3)}, sys.argv[1])
"""


def killed_save(target) -> int:
    """Save to `target` in a process that dies halfway; the id of that process."""
    process = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(target)],
                               stderr=subprocess.PIPE, text=True)
    _, error = process.communicate()
    assert process.returncode == 9, error
    return process.pid


def finished_process_id() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def backdate(path, seconds: float):
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.skipif(os.name != "posix", reason="only POSIX can ask whether a process runs")
def test_a_save_killed_halfway_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    target = tmp_path / "c.npz"
    tg.save({"w": np.zeros(2)}, target)
    killed_save(target)
    left = [path for path in tmp_path.iterdir() if path != target]
    assert len(left) == 1 and left[0].name.startswith(".tmp-"), left
    assert np.array_equal(tg.load(target)["w"], np.zeros(2))  # the checkpoint before is intact
    backdate(left[0], 120)
    tg.save({"w": np.ones(2)}, target)
    assert list(tmp_path.iterdir()) == [target]
    assert np.array_equal(tg.load(target)["w"], np.ones(2))


@pytest.mark.skipif(os.name != "posix", reason="only POSIX can ask whether a process runs")
def test_only_stale_temporaries_of_the_same_target_are_removed(tmp_path):
    # names as the docstring of tg.save gives them: .tmp-<name>-<pid>-<random>.npz
    dead, alive = finished_process_id(), os.getpid()
    stale = tmp_path / f".tmp-c.npz-{dead}-0123abcd.npz"
    kept = {
        "written to just now": tmp_path / f".tmp-c.npz-{dead}-1111aaaa.npz",
        "a save running in this process": tmp_path / f".tmp-c.npz-{alive}-2222bbbb.npz",
        "another target": tmp_path / f".tmp-d.npz-{dead}-3333cccc.npz",
        "a target whose name starts alike": tmp_path / f".tmp-c.npz-5-{dead}-4444dddd.npz",
        "not a name tg.save makes": tmp_path / ".tmp-c.npz-notes.npz",
        "the user's own file": tmp_path / "c.npz.bak",
    }
    for path in [stale, *kept.values()]:
        path.write_bytes(b"half a checkpoint")
        if path != kept["written to just now"]:
            backdate(path, 120)
    tg.save({"w": np.ones(2)}, tmp_path / "c.npz")
    assert not stale.exists()
    assert [what for what, path in kept.items() if not path.exists()] == []


def test_saves_from_several_threads_to_one_file_do_not_disturb_each_other(tmp_path):
    target, errors = tmp_path / "c.npz", []

    def save_often(seed):
        try:
            for step in range(10):
                tg.save({"seed": seed, "step": step, "w": np.full(1000, seed)}, target)
        except Exception as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=save_often, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    back = tg.load(target)
    assert back["step"] == 9 and np.all(back["w"] == back["seed"])
    assert list(tmp_path.iterdir()) == [target]

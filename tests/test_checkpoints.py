"""tg.save / tg.load: round trips, and refusing every file that is not a checkpoint."""

from __future__ import annotations

import os
import pickle
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

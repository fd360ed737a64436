"""tg.data: datasets and the DataLoader, the toy sets, the shipped digits, IDX and MNIST.

No test uses the network: MNIST is exercised on small IDX files written here, and its
download on a folder served through file:// URLs.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import struct
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import data
from tinygrad_edu.data import dataset as dataset_module
from tinygrad_edu.data import mnist

# --- helpers --------------------------------------------------------------------------


def ids_dataset(n: int) -> data.TensorDataset:
    """Sample i is (i as a float row, label i): a batch tells which samples it holds."""
    return data.TensorDataset(np.arange(n, dtype=np.float32)[:, None],
                              np.arange(n, dtype=np.int64))


def epoch_ids(loader) -> np.ndarray:
    """The sample ids one epoch visits, in order."""
    return np.concatenate([labels.numpy() for _, labels in loader])


class Squares(data.Dataset):
    """A generic Dataset (not a TensorDataset): sample i is (features, Python int label)."""

    def __init__(self, n: int):
        self.n = n
        self.requested = []  # every index __getitem__ was asked for

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.requested.append(i)
        return np.array([i, i * i], dtype=np.float32), i % 3


# --- DataLoader: batching -------------------------------------------------------------


@pytest.mark.parametrize("n, batch_size, drop_last, sizes", [
    (10, 4, False, [4, 4, 2]),
    (10, 4, True, [4, 4]),
    (10, 5, False, [5, 5]),
    (10, 5, True, [5, 5]),
    (3, 8, False, [3]),
    (3, 8, True, []),
    (1, 1, False, [1]),
])
def test_batch_sizes_and_len(n, batch_size, drop_last, sizes):
    loader = data.DataLoader(ids_dataset(n), batch_size=batch_size, drop_last=drop_last)
    assert [len(x) for x, _ in loader] == sizes
    assert len(loader) == len(sizes)


def test_without_shuffle_batches_come_in_order():
    X = np.arange(21, dtype=np.float64).reshape(7, 3)
    y = np.arange(7) * 10
    batches = list(data.DataLoader(data.TensorDataset(X, y), batch_size=3))
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in batches]), X)
    np.testing.assert_array_equal(np.concatenate([yb.numpy() for _, yb in batches]), y)


def test_batches_are_tensors_and_keep_dtypes():
    X64 = np.linspace(0, 1, 12).reshape(6, 2)  # float64 stays float64
    X32, y = data.make_moons(6, seed=0)
    for X in (X64, X32):
        xb, yb = next(iter(data.DataLoader(data.TensorDataset(X, y), batch_size=4)))
        assert isinstance(xb, tg.Tensor) and isinstance(yb, tg.Tensor)
        assert xb.dtype == X.dtype and yb.dtype == np.int64
        assert xb.shape == (4, 2) and yb.shape == (4,)
        assert not xb.requires_grad


def test_tensor_dataset_batches_with_one_fancy_index(monkeypatch):
    """A TensorDataset never goes through per-sample collation."""
    def fail(samples):
        raise AssertionError("default_collate called for a TensorDataset")
    monkeypatch.setattr(dataset_module, "default_collate", fail)
    loader = data.DataLoader(ids_dataset(10), batch_size=4, shuffle=True, seed=0)
    assert sorted(epoch_ids(loader)) == list(range(10))


def test_tensor_dataset_subclass_with_own_getitem_sees_single_indices():
    class Doubled(data.TensorDataset):
        def __getitem__(self, i):
            assert isinstance(i, int), f"expected an int index, got {type(i).__name__}"
            x, y = super().__getitem__(i)
            return x * 2, y

    xb, yb = next(iter(data.DataLoader(Doubled(np.ones((5, 2), np.float32), np.arange(5)),
                                       batch_size=5)))
    np.testing.assert_array_equal(xb.numpy(), np.full((5, 2), 2, np.float32))
    np.testing.assert_array_equal(yb.numpy(), np.arange(5))


def test_batches_do_not_alias_the_dataset():
    X = np.zeros((4, 2), np.float32)
    xb, _ = next(iter(data.DataLoader(data.TensorDataset(X, np.arange(4)), batch_size=4)))
    xb.data[:] = 1
    assert (X == 0).all()


# --- DataLoader: shuffling ------------------------------------------------------------


def test_shuffle_visits_every_sample_once_per_epoch_in_new_orders():
    loader = data.DataLoader(ids_dataset(50), batch_size=7, shuffle=True)
    epochs = [epoch_ids(loader) for _ in range(3)]
    for ids in epochs:
        np.testing.assert_array_equal(np.sort(ids), np.arange(50))
    assert not np.array_equal(epochs[0], np.arange(50))  # actually shuffled
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])


def test_shuffle_with_drop_last_visits_distinct_samples():
    loader = data.DataLoader(ids_dataset(10), batch_size=4, shuffle=True, drop_last=True)
    ids = epoch_ids(loader)
    assert len(ids) == 8 and len(set(ids.tolist())) == 8


def test_int_seed_gives_the_same_orders_and_differs_between_epochs():
    first = data.DataLoader(ids_dataset(30), batch_size=4, shuffle=True, seed=7)
    second = data.DataLoader(ids_dataset(30), batch_size=4, shuffle=True, seed=7)
    other = data.DataLoader(ids_dataset(30), batch_size=4, shuffle=True, seed=8)
    orders = [epoch_ids(first) for _ in range(3)]
    assert all(np.array_equal(o, epoch_ids(second)) for o in orders)
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[0], epoch_ids(other))
    # the loader's own generator, made from the seed: its first draw is the first order
    np.testing.assert_array_equal(orders[0], np.random.default_rng(7).permutation(30))


def test_int_seed_ignores_the_library_generator():
    loader = data.DataLoader(ids_dataset(30), batch_size=4, shuffle=True, seed=3)
    tg.manual_seed(1)
    before = tg.generator().bit_generator.state
    epoch_ids(loader)
    assert tg.generator().bit_generator.state == before


def test_no_seed_draws_from_tg_generator_so_manual_seed_repeats():
    loader = data.DataLoader(ids_dataset(30), batch_size=4, shuffle=True)
    tg.manual_seed(5)
    run_1 = [epoch_ids(loader) for _ in range(2)]
    tg.manual_seed(5)
    run_2 = [epoch_ids(loader) for _ in range(2)]
    for a, b in zip(run_1, run_2):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(run_1[0], np.random.default_rng(5).permutation(30))


# --- the generic Dataset path (default_collate) ---------------------------------------


def test_generic_dataset_is_collated_into_tensors():
    dataset = Squares(5)
    batches = list(data.DataLoader(dataset, batch_size=2))
    assert dataset.requested == [0, 1, 2, 3, 4]
    assert all(isinstance(i, int) for i in dataset.requested)
    assert [type(b) for b in batches] == [tuple] * 3
    xb, yb = batches[1]
    assert xb.dtype == np.float32 and xb.shape == (2, 2)
    np.testing.assert_array_equal(xb.numpy(), [[2, 4], [3, 9]])
    assert yb.dtype == np.int64
    np.testing.assert_array_equal(yb.numpy(), [2, 0])
    assert batches[2][0].shape == (1, 2)


def test_generic_dataset_shuffles_too():
    loader = data.DataLoader(Squares(20), batch_size=6, shuffle=True, seed=0)
    ids = np.concatenate([xb.numpy()[:, 0] for xb, _ in loader]).astype(int)
    np.testing.assert_array_equal(np.sort(ids), np.arange(20))
    assert not np.array_equal(ids, np.arange(20))


def test_default_collate_numbers_containers_and_strings():
    batch = data.default_collate([
        {"x": tg.Tensor([1.0, 2.0]), "score": 0.5, "flag": True, "name": "a", "k": np.int32(1)},
        {"x": tg.Tensor([3.0, 4.0]), "score": 1.5, "flag": False, "name": "b", "k": np.int32(2)},
    ])
    assert batch["x"].shape == (2, 2) and batch["x"].dtype == np.float32
    assert batch["score"].dtype == np.float32  # Python floats: the default dtype
    assert batch["flag"].dtype == np.bool_
    assert batch["k"].dtype == np.int32        # NumPy scalars keep their dtype
    assert batch["name"] == ["a", "b"]
    assert data.default_collate([[1, 2.0], [3, 4.0]])[0].dtype == np.int64
    assert isinstance(data.default_collate([[1, 2.0], [3, 4.0]]), list)


def test_default_collate_errors():
    with pytest.raises(ValueError, match=r"different shapes \[\(2,\), \(3,\)\]"):
        data.default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="different numbers of parts"):
        data.default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="cannot make a batch out of object"):
        data.default_collate([object(), object()])


# --- TensorDataset --------------------------------------------------------------------


def test_tensor_dataset_indexing():
    X = tg.Tensor(np.arange(12, dtype=np.float32).reshape(6, 2))
    y = np.arange(6) * 10
    dataset = data.TensorDataset(X, y, [0.5] * 6)
    assert len(dataset) == 6
    x0, y0, w0 = dataset[2]
    assert all(isinstance(t, tg.Tensor) for t in dataset[2])
    np.testing.assert_array_equal(x0.numpy(), [4, 5])
    assert y0.item() == 20 and w0.dtype == np.float32
    xb, yb, _ = dataset[np.array([5, 0, 5])]
    np.testing.assert_array_equal(xb.numpy(), [[10, 11], [0, 1], [10, 11]])
    np.testing.assert_array_equal(yb.numpy(), [50, 0, 50])


def test_tensor_dataset_keeps_the_graph_of_a_tensor_that_requires_grad():
    w = tg.Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    (row,) = data.TensorDataset(w)[np.array([0, 0])]
    row.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[2, 2], [0, 0], [0, 0]])


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match=r"lengths \[4, 3\]"):
        data.TensorDataset(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="at least one tensor"):
        data.TensorDataset()
    with pytest.raises(ValueError, match="tensor 1 is a single number"):
        data.TensorDataset(np.zeros(3), np.float32(2.0))


def test_dataset_base_class_asks_for_the_methods():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        data.Dataset()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(data.Dataset())


@pytest.mark.parametrize("kwargs, error, message", [
    ({"batch_size": 0}, ValueError, "batch_size must be at least 1, got 0"),
    ({"batch_size": -2}, ValueError, "batch_size must be at least 1, got -2"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be an int, got 2.5"),
    ({"batch_size": True}, TypeError, "batch_size must be an int, got True"),
    ({"shuffle": "yes"}, TypeError, "shuffle must be True or False, got 'yes'"),
    ({"drop_last": 1}, TypeError, "drop_last must be True or False, got 1"),
    ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
    ({"seed": 1.5}, TypeError, "seed must be None or an int, got 1.5"),
])
def test_dataloader_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        data.DataLoader(ids_dataset(4), **kwargs)


def test_dataloader_rejects_what_is_not_a_dataset():
    with pytest.raises(TypeError, match="must have __len__ and __getitem__.*got int"):
        data.DataLoader(5)


def test_dataloader_accepts_numpy_ints():
    assert len(data.DataLoader(ids_dataset(10), batch_size=np.int64(3))) == 4


# --- toy data sets --------------------------------------------------------------------

CLASSIFIERS = [data.make_moons, data.make_circles, data.make_spirals, data.make_xor,
               data.make_blobs]
MAKERS = [*CLASSIFIERS, data.make_regression]


def noise(make, level: float) -> dict:
    """`noise=level` for the makers that take it (make_blobs has cluster_std instead)."""
    return {} if make is data.make_blobs else {"noise": level}


@pytest.mark.parametrize("make", MAKERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("n", [1, 7, 100])
def test_toy_shapes_and_dtypes(make, n):
    X, y = make(n, seed=0)
    assert X.shape == (n, 2 if make is not data.make_regression else 1)
    assert X.dtype == np.float32
    assert y.shape == (n,)
    assert y.dtype == (np.float32 if make is data.make_regression else np.int64)
    assert np.isfinite(X).all() and np.isfinite(y).all()


@pytest.mark.parametrize("make", MAKERS, ids=lambda f: f.__name__)
def test_toy_seeds(make):
    a, b, c = (make(50, **noise(make, 0.3), seed=seed) for seed in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    # scikit-learn's name for the seed
    np.testing.assert_array_equal(make(50, **noise(make, 0.3), random_state=1)[0], a[0])
    with pytest.raises(TypeError, match="not both"):
        make(50, seed=1, random_state=1)


@pytest.mark.parametrize("make", MAKERS, ids=lambda f: f.__name__)
def test_toy_without_seed_follow_manual_seed(make):
    tg.manual_seed(11)
    first = make(40, **noise(make, 0.2))
    second = make(40, **noise(make, 0.2))  # the generator moved on
    tg.manual_seed(11)
    again = make(40, **noise(make, 0.2))
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], second[0])


@pytest.mark.parametrize("make", MAKERS, ids=lambda f: f.__name__)
def test_toy_argument_errors(make):
    with pytest.raises(ValueError, match="n_samples must be at least 1, got 0"):
        make(0)
    with pytest.raises(TypeError, match="n_samples must be an int, got 2.5"):
        make(2.5)
    if make is not data.make_blobs:
        with pytest.raises(ValueError, match="noise must be a finite number >= 0, got -0.1"):
            make(10, noise=-0.1)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        make(10, seed=-3)


@pytest.mark.parametrize("make, n, counts", [
    (data.make_moons, 101, [50, 51]),
    (data.make_circles, 101, [50, 51]),
    (data.make_xor, 101, [51, 50]),
    (data.make_xor, 102, [51, 51]),
    (data.make_blobs, 100, [34, 33, 33]),
    (data.make_spirals, 101, [51, 50]),
])
def test_toy_class_balance(make, n, counts):
    _, y = make(n, **noise(make, 0.1), seed=0)
    np.testing.assert_array_equal(np.bincount(y), counts)


def test_spirals_class_balance_with_more_classes():
    _, y = data.make_spirals(100, n_classes=3, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [34, 33, 33])


@pytest.mark.parametrize("make", CLASSIFIERS, ids=lambda f: f.__name__)
def test_toy_shuffle(make):
    _, y_sorted = make(60, seed=0, shuffle=False)
    _, y_shuffled = make(60, seed=0)
    assert (np.diff(y_sorted) >= 0).all()
    assert (np.diff(y_shuffled) < 0).any()


def test_moons_lie_on_two_half_circles():
    X, y = data.make_moons(200, seed=0)
    upper, lower = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(*upper.T), 1, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, atol=1e-6)
    assert (upper[:, 1] >= -1e-6).all() and (lower[:, 1] <= 0.5 + 1e-6).all()
    # noise moves points off the arcs by about its standard deviation
    X, y = data.make_moons(2000, noise=0.1, seed=0)
    off = np.hypot(*X[y == 0].T) - 1
    assert 0.07 < off.std() < 0.13


def test_circles_have_radii_one_and_factor():
    X, y = data.make_circles(100, factor=0.3, seed=0)
    radius = np.hypot(*X.astype(np.float64).T)
    np.testing.assert_allclose(radius[y == 0], 1, atol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.3, atol=1e-6)
    # evenly spaced in angle
    angles = np.sort(np.arctan2(X[y == 0, 1], X[y == 0, 0]))
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 50, atol=1e-5)
    with pytest.raises(ValueError, match=r"factor.*\[0, 1\), got 1.0"):
        data.make_circles(10, factor=1.0)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_spiral_points_lie_on_their_arms(n_classes):
    X, y = data.make_spirals(300, n_classes=n_classes, seed=0)
    X = X.astype(np.float64)
    radius = np.hypot(*X.T)
    assert (radius > 0).all() and radius.max() == pytest.approx(1, abs=1e-6)
    expected_angle = 2 * np.pi * y / n_classes + 4 * radius
    gap = np.angle(np.exp(1j * (np.arctan2(X[:, 1], X[:, 0]) - expected_angle)))  # wrapped
    np.testing.assert_allclose(gap, 0, atol=1e-5)
    X_noisy, y_noisy = data.make_spirals(300, n_classes=n_classes, noise=0.2, seed=0)
    radius = np.hypot(*X_noisy.astype(np.float64).T)
    gap = np.angle(np.exp(1j * (np.arctan2(X_noisy[:, 1], X_noisy[:, 0])
                                - 2 * np.pi * y_noisy / n_classes - 4 * radius)))
    assert 0.15 < gap.std() < 0.25


def test_xor_labels_are_the_quadrants():
    X, y = data.make_xor(400, seed=0)
    assert (np.abs(X) <= 1).all() and (X != 0).all()
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    quadrant_counts = np.unique(np.sign(X), axis=0, return_counts=True)[1]
    np.testing.assert_array_equal(quadrant_counts, [100] * 4)
    X_noisy, y_noisy = data.make_xor(400, noise=0.5, seed=0)
    assert (y_noisy != (X_noisy[:, 0] * X_noisy[:, 1] < 0)).any()  # noise crosses the axes


def test_blobs_centres_and_spreads():
    centers = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
    X, y = data.make_blobs(10, centers=centers, cluster_std=0.0, seed=0)
    assert X.shape == (10, 3)
    np.testing.assert_array_equal(X, centers[y].astype(np.float32))
    X, y, drawn = data.make_blobs(4000, n_features=4, centers=3, cluster_std=[0.5, 1.0, 2.0],
                                  seed=0, return_centers=True)
    assert drawn.shape == (3, 4) and drawn.dtype == np.float32
    assert (np.abs(drawn) <= 10).all()
    for k, std in enumerate([0.5, 1.0, 2.0]):
        np.testing.assert_allclose(X[y == k].mean(axis=0), drawn[k], atol=0.2)
        np.testing.assert_allclose(X[y == k].std(axis=0), std, rtol=0.1)
    with pytest.raises(ValueError, match=r"one per centre \(3\), got shape \(2,\)"):
        data.make_blobs(10, cluster_std=[1.0, 2.0])
    with pytest.raises(ValueError, match="cluster_std must be finite and >= 0"):
        data.make_blobs(10, cluster_std=-1.0)
    with pytest.raises(ValueError, match=r"shape \(n_centers, n_features\), got shape \(3,\)"):
        data.make_blobs(10, centers=[1.0, 2.0, 3.0])


def test_regression_target_is_linear_in_x():
    X, y, coef = data.make_regression(50, n_features=3, seed=0, coef=True)
    assert coef.shape == (3,) and coef.dtype == np.float32
    assert ((coef >= 0) & (coef < 100)).all()
    np.testing.assert_allclose(y, X.astype(np.float64) @ coef, rtol=1e-6, atol=1e-4)
    X, y, coef = data.make_regression(50, n_features=2, seed=0, coef=True, bias=3.0)
    np.testing.assert_allclose(y, X.astype(np.float64) @ coef + 3.0, rtol=1e-6, atol=1e-4)
    X, y, coef = data.make_regression(5000, n_features=2, noise=2.0, seed=0, coef=True)
    residual = y - X.astype(np.float64) @ coef
    assert 1.9 < residual.std() < 2.1


# --- the shipped digits ---------------------------------------------------------------


def test_digits_shape_dtypes_and_values():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and (X == np.round(X)).all()
    counts = np.bincount(y, minlength=10)
    assert len(counts) == 10 and counts.sum() == 1797
    assert (174 <= counts).all() and (counts <= 183).all()
    images, same_y = data.load_digits(as_images=True)
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)
    np.testing.assert_array_equal(same_y, y)


def test_digits_file_is_small_plain_uint8_with_its_license():
    folder = resources.files("tinygrad_edu.data")
    npz = folder.joinpath("digits.npz")
    assert len(npz.read_bytes()) < 100_000
    with npz.open("rb") as file, np.load(file, allow_pickle=False) as arrays:
        assert sorted(arrays.files) == ["images", "labels"]
        assert arrays["images"].dtype == np.uint8 and arrays["labels"].dtype == np.uint8
    license_text = folder.joinpath("DIGITS_LICENSE.md").read_text(encoding="utf-8")
    for needed in ("Alpaydin", "Kaynak", "10.24432/C50P49", "CC BY 4.0",
                   "https://creativecommons.org/licenses/by/4.0/"):
        assert needed in license_text


def test_digits_images_match_their_labels():
    """A nearest-centroid classifier only works if images and labels are aligned."""
    X, y = data.load_digits()
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:900], order[900:]
    centroids = np.stack([X[train][y[train] == k].mean(axis=0) for k in range(10)])
    distances = ((X[test, None, :] - centroids[None]) ** 2).sum(axis=-1)  # (test, 10)
    accuracy = (distances.argmin(axis=1) == y[test]).mean()
    assert accuracy > 0.85
    # with shuffled labels the same classifier is at chance: the check can fail
    wrong = np.random.default_rng(1).permutation(y)
    centroids = np.stack([X[train][wrong[train] == k].mean(axis=0) for k in range(10)])
    distances = ((X[test, None, :] - centroids[None]) ** 2).sum(axis=-1)
    assert (distances.argmin(axis=1) == wrong[test]).mean() < 0.3


# --- IDX files ------------------------------------------------------------------------

TYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
              np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of `array`, written independently of read_idx."""
    header = bytes([0, 0, TYPE_CODES[array.dtype.type], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, content: bytes) -> Path:
    """Write `content` to `path`, gzip-compressed if the name ends in .gz."""
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
    return path


@pytest.mark.parametrize("dtype", list(TYPE_CODES), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    for shape in [(5,), (3, 4, 2)]:
        info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else np.finfo(dtype)
        array = rng.uniform(max(info.min, -1e6), min(info.max, 1e6), shape).astype(dtype)
        path = write(tmp_path / f"a{len(shape)}{suffix}", idx_bytes(array))
        got = data.read_idx(path)
        assert got.dtype == np.dtype(dtype) and got.dtype.isnative and got.flags.writeable
        np.testing.assert_array_equal(got, array)


@pytest.mark.parametrize("content, message", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "two zero bytes, got 01 00 08 01"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "unknown type code 0x07"),
    (b"\x00\x00", "truncated: 2 bytes"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02", "header needs 12 bytes for 2 dimensions"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", r"truncated: the header announces shape "
                                                 r"\(3,\) of uint8 \(3 bytes of data\), but "
                                                 "only 2 bytes"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "1 bytes of trailing data"),
])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_rejects_broken_files(tmp_path, content, message, suffix):
    path = write(tmp_path / f"broken-idx1-ubyte{suffix}", content)
    with pytest.raises(ValueError, match=message) as error:
        data.read_idx(path)
    assert str(path) in str(error.value)


def test_read_idx_rejects_a_broken_gzip(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="labels.gz is not a valid gzip file"):
        data.read_idx(path)


# --- MNIST ----------------------------------------------------------------------------


def fake_mnist(folder: Path, split: str, n: int, gz: bool = True, n_labels=None, seed=0):
    """Write a tiny MNIST-shaped set: n random 28x28 images and their labels."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n if n_labels is None else n_labels, dtype=np.uint8)
    suffix = ".gz" if gz else ""
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / f"{split}-images-idx3-ubyte{suffix}", idx_bytes(images))
    write(folder / f"{split}-labels-idx1-ubyte{suffix}", idx_bytes(labels))
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_reads_both_splits(tmp_path, gz):
    train_images, train_labels = fake_mnist(tmp_path, "train", 6, gz=gz, seed=0)
    test_images, test_labels = fake_mnist(tmp_path, "t10k", 3, gz=gz, seed=1)
    X, y = data.load_mnist(tmp_path)
    assert X.shape == (6, 784) and X.dtype == np.float32 and y.dtype == np.int64
    assert 0 <= X.min() and X.max() <= 1
    np.testing.assert_allclose(X, train_images.reshape(6, 784) / 255, rtol=1e-6)
    np.testing.assert_array_equal(y, train_labels)
    images, labels = data.load_mnist(tmp_path, train=False, raw=True)
    assert images.dtype == np.uint8 and images.shape == (3, 28, 28)
    np.testing.assert_array_equal(images, test_images)
    np.testing.assert_array_equal(labels, test_labels)
    assert labels.dtype == np.int64


def test_load_mnist_count_mismatch(tmp_path):
    fake_mnist(tmp_path, "train", 5, n_labels=4)
    with pytest.raises(ValueError, match="holds 5 images but train-labels-idx1-ubyte.gz "
                                         "holds 4 labels"):
        data.load_mnist(tmp_path)


def test_load_mnist_rejects_labels_as_images(tmp_path):
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros(3, np.uint8)))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(ValueError, match=r"uint8 images of shape \(n, rows, columns\)"):
        data.load_mnist(tmp_path)


def test_load_mnist_missing_files_says_what_to_do(tmp_path):
    write(tmp_path / "t10k-images-idx3-ubyte", b"")
    with pytest.raises(FileNotFoundError) as error:
        data.load_mnist(tmp_path, train=False)
    message = str(error.value)
    assert "t10k-labels-idx1-ubyte[.gz]" in message
    assert "t10k-images" not in message  # it is there
    assert str(tmp_path) in message and "download=True" in message


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_verify_checks_the_sha256(tmp_path):
    path = tmp_path / "file.gz"
    path.write_bytes(b"some bytes")
    right = hashlib.sha256(b"some bytes").hexdigest()
    mnist._verify(path, right)  # no error
    with pytest.raises(ValueError) as error:
        mnist._verify(path, "0" * 64)
    assert "file.gz" in str(error.value)
    assert "expected SHA-256 " + "0" * 64 in str(error.value)
    assert "got " + right in str(error.value)


def test_published_checksums_are_sha256_of_the_four_files():
    assert sorted(mnist.SHA256) == sorted(
        f"{split}-{kind}-ubyte.gz" for split in ("train", "t10k")
        for kind in ("images-idx3", "labels-idx1"))
    for value in mnist.SHA256.values():
        assert len(value) == 64 and int(value, 16) >= 0


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local folder with fake MNIST .gz files, served as the second of two mirrors
    (the first points nowhere), and the checksums set to those of the fake files."""
    served = tmp_path / "served"
    images, labels = fake_mnist(served, "train", 4)
    fake_mnist(served, "t10k", 2, seed=1)
    monkeypatch.setattr(mnist, "MIRRORS", ((tmp_path / "nowhere").as_uri() + "/",
                                           served.as_uri() + "/"))
    monkeypatch.setattr(mnist, "SHA256", {path.name: sha256(path)
                                          for path in sorted(served.iterdir())})
    return served, images, labels


def test_download_from_a_mirror_then_load(tmp_path, mirror, capsys):
    served, images, labels = mirror
    root = tmp_path / "root" / "mnist"
    images_got, labels_got = data.load_mnist(root, download=True, raw=True)
    np.testing.assert_array_equal(images_got, images)
    np.testing.assert_array_equal(labels_got, labels)
    assert sorted(p.name for p in root.iterdir()) == sorted(mnist.SHA256)  # no .part left
    for name in mnist.SHA256:
        assert (root / name).read_bytes() == (served / name).read_bytes()
    assert "Downloading file://" in capsys.readouterr().out


def test_download_skips_files_already_there(tmp_path, mirror, monkeypatch):
    root = tmp_path / "root"
    data.download_mnist(root)
    stamp = {p.name: p.stat().st_mtime_ns for p in root.iterdir()}
    monkeypatch.setattr(mnist, "MIRRORS", ((tmp_path / "nowhere").as_uri() + "/",))
    data.download_mnist(root)  # would fail if it tried to download again
    assert {p.name: p.stat().st_mtime_ns for p in root.iterdir()} == stamp


def test_download_with_a_wrong_checksum_keeps_nothing(tmp_path, mirror, monkeypatch):
    name = "t10k-labels-idx1-ubyte.gz"
    monkeypatch.setitem(mnist.SHA256, name, "f" * 64)
    root = tmp_path / "root"
    with pytest.raises(ValueError) as error:
        data.download_mnist(root)
    message = str(error.value)
    assert name in message and "expected SHA-256 " + "f" * 64 in message
    assert "got " + sha256(mirror[0] / name) in message
    assert not (root / name).exists()
    assert not list(root.glob("*.part"))


def test_download_reports_every_mirror_that_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "MIRRORS", ((tmp_path / "a").as_uri() + "/",
                                           (tmp_path / "b").as_uri() + "/"))
    with pytest.raises(OSError, match="could not download train-images-idx3-ubyte.gz") as error:
        data.download_mnist(tmp_path / "root")
    assert (tmp_path / "a").as_uri() in str(error.value)
    assert (tmp_path / "b").as_uri() in str(error.value)
    assert not list((tmp_path / "root").iterdir())


# --- names ----------------------------------------------------------------------------


def test_load_names_gives_the_shipped_names_lowercase_and_sorted():
    names = data.load_names()
    assert 300 <= len(names) <= 2000
    assert all(re.fullmatch(r"[a-z]+", name) for name in names)
    assert names == sorted(set(names))  # no duplicates, in alphabetical order
    assert {"emma", "olivia", "noah", "james"} <= set(names)
    # exactly the lines of the file shipped in the package (as installed: package data)
    shipped = resources.files("tinygrad_edu.data").joinpath("names.txt").read_text()
    assert names == shipped.splitlines()
    assert data.load_names is tg.data.load_names

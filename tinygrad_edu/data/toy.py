"""Small synthetic data sets to train on in a second: moons, circles, spirals, XOR, blobs,
and a linear regression problem.

Each maker returns `(X, y)` as NumPy arrays: `X` float32 of shape (n_samples, features),
`y` int64 class labels 0, 1, ... (float32 targets for `make_regression`). Names and
arguments follow scikit-learn's `sklearn.datasets` where it has the same maker, and,
as there, the classes get equal shares of the samples (up to one sample) and the rows
come shuffled unless `shuffle=False`.

Randomness: `seed=None` draws from `tg.generator()`, so `tg.manual_seed(n)` makes the
result repeatable; an int seed gives the same data every time, whatever else ran
before. `random_state=` is accepted as scikit-learn's name for `seed`.

The classification sets are made to be hard for a linear model and easy for a small
MLP: a straight line cannot separate the moons, the circles or the XOR quadrants.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_bool, check_int, check_nonnegative, make_rng, pick_seed


def make_moons(n_samples: int = 100, noise: float = 0.0, seed=None, *,
               shuffle: bool = True, random_state=None):
    """Two interleaving half circles, as `sklearn.datasets.make_moons`.

    Class 0 lies on the upper half of the unit circle; class 1 on the lower half of a
    unit circle centred at (1, 0.5). With `noise`, Gaussian noise of that standard
    deviation is added to every coordinate.

    Returns:
        X: float32 (n_samples, 2); y: int64 (n_samples,), n_samples // 2 zeros.
    """
    n_samples, noise, shuffle, rng = _common("make_moons", n_samples, noise, shuffle,
                                             seed, random_state)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    outer = np.linspace(0, np.pi, n_outer)  # angles along each half circle
    inner = np.linspace(0, np.pi, n_inner)
    X = np.concatenate([
        np.stack([np.cos(outer), np.sin(outer)], axis=1),               # upper arc
        np.stack([1 - np.cos(inner), 0.5 - np.sin(inner)], axis=1),     # lower arc
    ])
    y = np.repeat([0, 1], [n_outer, n_inner])
    return _finish(X, y, noise, shuffle, rng)


def make_circles(n_samples: int = 100, noise: float = 0.0, factor: float = 0.8, seed=None, *,
                 shuffle: bool = True, random_state=None):
    """A small circle inside a large one, as `sklearn.datasets.make_circles`.

    Class 0 lies on the unit circle, class 1 on the circle of radius `factor`, both
    evenly spaced in angle; `noise` adds Gaussian noise to every coordinate.

    Returns:
        X: float32 (n_samples, 2); y: int64 (n_samples,), n_samples // 2 zeros.
    """
    n_samples, noise, shuffle, rng = _common("make_circles", n_samples, noise, shuffle,
                                             seed, random_state)
    factor = check_nonnegative("make_circles", "factor", factor)
    if not factor < 1:
        raise ValueError(f"make_circles: factor, the inner radius over the outer one, must "
                         f"be in [0, 1), got {factor!r}")
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    # endpoint=False: angle 2*pi is angle 0 again, and would put two points on one spot
    outer = np.linspace(0, 2 * np.pi, n_outer, endpoint=False)
    inner = np.linspace(0, 2 * np.pi, n_inner, endpoint=False)
    X = np.concatenate([
        np.stack([np.cos(outer), np.sin(outer)], axis=1),
        factor * np.stack([np.cos(inner), np.sin(inner)], axis=1),
    ])
    y = np.repeat([0, 1], [n_outer, n_inner])
    return _finish(X, y, noise, shuffle, rng)


def make_spirals(n_samples: int = 100, n_classes: int = 2, noise: float = 0.0, seed=None, *,
                 shuffle: bool = True, random_state=None):
    """Spiral arms winding out of the origin, one per class (the CS231n spiral data).

    Along arm k the radius r grows evenly from near 0 to 1 while the angle turns by 4
    radians: angle = 2*pi*k/n_classes + 4*r. Unlike the CS231n notes, the arms start
    evenly spaced around the circle, and no point sits exactly at the origin (where all
    arms would meet with different labels).

    Args:
        noise: standard deviation of Gaussian noise added to each point's *angle*, in
            radians (the CS231n notes use 0.2), so the arms blur more far out.

    Returns:
        X: float32 (n_samples, 2); y: int64 (n_samples,), with labels 0..n_classes-1.
    """
    n_samples, noise, shuffle, rng = _common("make_spirals", n_samples, noise, shuffle,
                                             seed, random_state)
    n_classes = check_int("make_spirals", "n_classes", n_classes, minimum=1)
    sizes = _split_evenly(n_samples, n_classes)
    radius = np.concatenate([np.linspace(0, 1, size + 1)[1:] for size in sizes])  # (0, 1]
    y = np.repeat(np.arange(n_classes), sizes)
    angle = 2 * np.pi * y / n_classes + 4 * radius
    angle = angle + noise * rng.standard_normal(n_samples)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(X, y, 0.0, shuffle, rng)  # the noise is already in the angles


def make_xor(n_samples: int = 100, noise: float = 0.0, seed=None, *,
             shuffle: bool = True, random_state=None):
    """The XOR problem: points in the square [-1, 1]^2, labelled by their quadrant.

    y = 1 where x and y have opposite signs (quadrants 2 and 4), 0 where they have the
    same sign: sign(x) * sign(y) = -1 gives class 1. Each quadrant gets a quarter of the
    samples, drawn uniformly inside it. `noise` adds Gaussian noise to every coordinate
    *after* the labels are set, so with noise some points cross the axes.

    Returns:
        X: float32 (n_samples, 2); y: int64 (n_samples,), classes of equal size (up to 1).
    """
    n_samples, noise, shuffle, rng = _common("make_xor", n_samples, noise, shuffle,
                                             seed, random_state)
    # the quadrants in the order I, III (class 0), II, IV (class 1): the samples are
    # split evenly between the classes, then each class evenly between its quadrants
    signs = np.array([[1, 1], [-1, -1], [-1, 1], [1, -1]])
    class_sizes = _split_evenly(n_samples, 2)
    quadrant_sizes = _split_evenly(class_sizes[0], 2) + _split_evenly(class_sizes[1], 2)
    quadrant = np.repeat(np.arange(4), quadrant_sizes)
    magnitude = 1.0 - rng.random((n_samples, 2))  # in (0, 1]: never exactly on an axis
    X = signs[quadrant] * magnitude
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    return _finish(X, y, noise, shuffle, rng)


def make_blobs(n_samples: int = 100, n_features: int = 2, centers=3, cluster_std=1.0,
               seed=None, *, center_box: tuple[float, float] = (-10.0, 10.0),
               shuffle: bool = True, return_centers: bool = False, random_state=None):
    """Gaussian blobs, one per class, as `sklearn.datasets.make_blobs`.

    Args:
        centers: the number of blobs (their centres are drawn uniformly from
            `center_box` in every coordinate), or the centres themselves as an array of
            shape (n_centers, n_features), which then sets n_features.
        cluster_std: the standard deviation of every blob, or one per blob.
        return_centers: also return the centres, as a third value.

    Returns:
        X: float32 (n_samples, n_features); y: int64 (n_samples,), blob k labelled k;
        and with `return_centers`, the centres float32 (n_centers, n_features).
    """
    op = "make_blobs"
    n_samples, _, shuffle, rng = _common(op, n_samples, 0.0, shuffle, seed, random_state)
    return_centers = check_bool(op, "return_centers", return_centers)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        n_centers = check_int(op, "centers", centers, minimum=1)
        n_features = check_int(op, "n_features", n_features, minimum=1)
        low, high = center_box
        if not low < high:
            raise ValueError(f"{op}: center_box must be (low, high) with low < high, "
                             f"got {center_box!r}")
        centers = rng.uniform(low, high, size=(n_centers, n_features))
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or len(centers) == 0:
            raise ValueError(f"{op}: centers must be an int or an array of shape "
                             f"(n_centers, n_features), got shape {centers.shape}")
        n_centers, n_features = centers.shape
    stds = np.asarray(cluster_std, dtype=np.float64)
    if stds.ndim == 0:
        stds = np.full(n_centers, float(stds))  # the same spread for every blob
    if stds.shape != (n_centers,):
        raise ValueError(f"{op}: cluster_std must be one number or one per centre "
                         f"({n_centers}), got shape {stds.shape}")
    if not np.all(np.isfinite(stds) & (stds >= 0)):
        raise ValueError(f"{op}: cluster_std must be finite and >= 0, got {cluster_std!r}")

    sizes = _split_evenly(n_samples, n_centers)
    y = np.repeat(np.arange(n_centers), sizes)
    # every point is its blob's centre plus Gaussian noise of its blob's spread
    X = centers[y] + stds[y, None] * rng.standard_normal((n_samples, n_features))
    X, y = _finish(X, y, 0.0, shuffle, rng)
    if return_centers:
        return X, y, centers.astype(np.float32)
    return X, y


def make_regression(n_samples: int = 100, n_features: int = 1, noise: float = 0.0,
                    seed=None, coef: bool = False, *, bias: float = 0.0, random_state=None):
    """A linear regression problem: y = X @ w + bias + noise, as
    `sklearn.datasets.make_regression` with every feature informative.

    X is standard normal; the true weights w are drawn uniformly from [0, 100), as
    scikit-learn does; `noise` is the standard deviation of Gaussian noise added to y.

    Returns:
        X: float32 (n_samples, n_features); y: float32 (n_samples,); and with
        `coef=True`, the true weights w, float32 (n_features,), as a third value.
    """
    op = "make_regression"
    n_samples, noise, _, rng = _common(op, n_samples, noise, True, seed, random_state)
    n_features = check_int(op, "n_features", n_features, minimum=1)
    coef = check_bool(op, "coef", coef)
    X = rng.standard_normal((n_samples, n_features)).astype(np.float32)
    weights = (100 * rng.random(n_features)).astype(np.float32)
    # y from the float32 X and w themselves, so that y == X @ w holds for the returned
    # arrays (up to float32 rounding) when there is no noise
    y = X.astype(np.float64) @ weights.astype(np.float64) + bias
    if noise > 0:
        y = y + noise * rng.standard_normal(n_samples)
    y = y.astype(np.float32)
    if coef:
        return X, y, weights
    return X, y


# --- shared by the makers -------------------------------------------------------------

def _common(op: str, n_samples, noise, shuffle, seed, random_state):
    """Check the arguments every maker takes; return them and the random generator."""
    n_samples = check_int(op, "n_samples", n_samples, minimum=1)
    noise = check_nonnegative(op, "noise", noise)
    shuffle = check_bool(op, "shuffle", shuffle)
    rng = make_rng(op, pick_seed(op, seed, random_state))
    return n_samples, noise, shuffle, rng


def _split_evenly(n: int, parts: int) -> list[int]:
    """n items in `parts` shares differing by at most one: 10 in 3 -> [4, 3, 3]."""
    return [n // parts + (k < n % parts) for k in range(parts)]


def _finish(X: np.ndarray, y: np.ndarray, noise: float, shuffle: bool, rng):
    """Add coordinate noise, shuffle the rows, and give X float32 and y int64."""
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)
    if shuffle:
        # one permutation for both arrays keeps each point with its label
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
    return X.astype(np.float32), y.astype(np.int64)

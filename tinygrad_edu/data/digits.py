"""The 8x8 handwritten digits, shipped inside the package: a real data set, no download.

The data is the test set of "Optical Recognition of Handwritten Digits" by E. Alpaydin
and C. Kaynak (1998), from the UCI Machine Learning Repository
(https://doi.org/10.24432/C50P49), licensed under CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/). It is the same set scikit-learn
loads with `sklearn.datasets.load_digits`. `digits.npz` next to this file stores it
unchanged as uint8 arrays; see `DIGITS_LICENSE.md` there for the attribution.

How the images were made: 32x32 black-and-white scans of digits written by 13 people
were cut into 4x4 blocks, and each pixel of the 8x8 image counts the black pixels in
its block, so the values are whole numbers from 0 to 16.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ._checks import check_bool


def load_digits(as_images: bool = False):
    """The 1,797 handwritten digits, 8x8 pixels each, with their labels.

    Args:
        as_images: return X with shape (1797, 8, 8), one image per sample, instead of
            one row of 64 pixels per sample (row after row of the image).

    Returns:
        X: float32 (1797, 64), or (1797, 8, 8) with `as_images`; pixel values are the
            whole numbers 0..16 (divide by 16 to scale them to [0, 1]).
        y: int64 (1797,), the digit 0..9 shown in each image; every digit has 174 to
            183 samples.

    Data: E. Alpaydin and C. Kaynak (1998), "Optical Recognition of Handwritten
    Digits", UCI Machine Learning Repository, https://doi.org/10.24432/C50P49,
    CC BY 4.0.
    """
    as_images = check_bool("load_digits", "as_images", as_images)
    # importlib.resources finds the file inside the installed package (even a zipped one)
    with resources.files(__package__).joinpath("digits.npz").open("rb") as file, \
            np.load(file, allow_pickle=False) as arrays:  # plain arrays only: no pickle
        images, labels = arrays["images"], arrays["labels"]  # uint8 (1797, 64), (1797,)
    X = images.astype(np.float32)
    if as_images:
        X = X.reshape(-1, 8, 8)
    return X, labels.astype(np.int64)

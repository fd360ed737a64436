"""MNIST: 70,000 handwritten digits, 28x28 grey pixels each (60,000 train, 10,000 test).

`load_mnist(root)` reads the four standard files from the folder `root`:

    train-images-idx3-ubyte   train-labels-idx1-ubyte     (the training set)
    t10k-images-idx3-ubyte    t10k-labels-idx1-ubyte      (the test set)

each either as it is or gzip-compressed with a `.gz` ending, in the IDX format (see
`idx.py`). With `download=True`, missing files are downloaded first and checked
against the SHA-256 checksums below, so a broken or altered download is never used.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from ._checks import check_bool
from .idx import read_idx

# Tried in order until one serves the file: the mirrors PyTorch's torchvision and
# TensorFlow use (the original site, yann.lecun.com, no longer serves it reliably).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# SHA-256 of each .gz file as published (torchvision's dataset definitions list the
# same values). A download must match, byte for byte.
SHA256 = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


def load_mnist(root, train: bool = True, download: bool = False, raw: bool = False):
    """The MNIST training set (or, with `train=False`, the test set) from folder `root`.

    Args:
        root: the folder holding the IDX files (plain or `.gz`).
        train: the 60,000 training images; False: the 10,000 test images.
        download: first download the files that are missing from `root` (the folder is
            created if needed), verifying their checksums.
        raw: return the images exactly as stored: uint8 of shape (n, 28, 28), 0..255.

    Returns:
        X: float32 (n, 784), pixel values scaled to [0, 1] (0 is the white background),
            one row per image, read row by row; with `raw=True`, uint8 (n, 28, 28).
        y: int64 (n,), the digits 0..9.
    """
    root = Path(root)
    train = check_bool("load_mnist", "train", train)
    download = check_bool("load_mnist", "download", download)
    raw = check_bool("load_mnist", "raw", raw)
    if download:
        download_mnist(root)
    split = "train" if train else "t10k"
    names = [f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"]
    paths = [_find(root, name) for name in names]
    missing = [name for name, path in zip(names, paths) if path is None]
    if missing:
        listed = ", ".join(f"{name}[.gz]" for name in missing)
        raise FileNotFoundError(
            f"load_mnist: {listed} not found in {root}. Put the MNIST files there, or pass "
            "download=True to download them")

    images_path, labels_path = paths
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"load_mnist: {images_path} should hold uint8 images of shape "
                         f"(n, rows, columns), got {images.dtype} of shape {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"load_mnist: {labels_path} should hold one label per image, "
                         f"shape (n,), got shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"load_mnist: {images_path.name} holds {len(images)} images but "
                         f"{labels_path.name} holds {len(labels)} labels; they must be the "
                         "files of the same set")
    y = labels.astype(np.int64)
    if raw:
        return images, y
    X = images.reshape(len(images), -1).astype(np.float32) / 255  # (n, 784) in [0, 1]
    return X, y


def download_mnist(root) -> list[Path]:
    """Download the four MNIST .gz files that are not yet in `root`; return all four paths.

    Each file is tried from every mirror in turn, written to a temporary file in `root`,
    verified against its SHA-256 and only then renamed to its real name.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for gz_name in SHA256:
        existing = _find(root, gz_name[:-len(".gz")])
        paths.append(existing or _download(gz_name, root))
    return paths


def _find(root: Path, name: str) -> Path | None:
    """`root/name` if it exists, else `root/name.gz` if that does, else None."""
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _download(name: str, root: Path) -> Path:
    """Fetch `name` from the first mirror that serves it into `root`, checksum-verified."""
    failures = []
    for mirror in MIRRORS:
        url = mirror + name
        try:
            return _fetch(url, root / name, SHA256[name])
        except OSError as error:  # unreachable, 404, timed out, ...: try the next mirror
            failures.append(f"{url}: {error}")
    raise OSError(f"download_mnist: could not download {name} from any mirror:\n  "
                  + "\n  ".join(failures))


def _fetch(url: str, destination: Path, sha256: str) -> Path:
    """Download `url` to `destination`, keeping it only if its SHA-256 is `sha256`."""
    print(f"Downloading {url}")
    # A temporary file in the same folder, renamed when complete and verified: an
    # interrupted download never leaves a half-written file under the real name.
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=destination.name,
                                         suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file, urllib.request.urlopen(url, timeout=60) as response:
            while chunk := response.read(1 << 20):
                file.write(chunk)
        try:
            _verify(Path(temporary), sha256, name=destination.name)
        except ValueError as error:
            raise ValueError(f"download_mnist: {error}. The download from {url} was deleted; "
                             "try again") from None
        os.replace(temporary, destination)  # atomic: the file appears complete or not at all
    finally:
        if os.path.exists(temporary):  # still there: the download or the check failed
            os.remove(temporary)
    return destination


def _sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks so that large files need little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, expected: str, name: str | None = None) -> None:
    """Raise a ValueError if the SHA-256 of the file at `path` is not `expected`."""
    got = _sha256(path)
    if got != expected:
        raise ValueError(f"{name or path.name}: checksum mismatch: expected SHA-256 "
                         f"{expected}, got {got}: the file is damaged or not the expected one")

"""Digit data sets for the `train` lesson, as flat images: float32 in [0, 1], or MNIST's
uint8 pixels as stored (``unit`` turns them into float32 in [0, 1]).

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1 797 images), always
  available offline; a fixed stratified split into train / validation / test.
- ``mnist``: the standard 28x28 MNIST IDX files (gzip or not) from a directory (a server
  can download them on request: serve.download).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASETS = ("digits", "mnist")
MNIST_FILES = {  # role -> (file name, MD5 of the gzip file as published with the data set)
    "train_images": ("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"),
}
MNIST_SIZES = {  # bytes of each published gzip file: a download reads no further
    "train-images-idx3-ubyte": 9_912_422,
    "train-labels-idx1-ubyte": 28_881,
    "t10k-images-idx3-ubyte": 1_648_877,
    "t10k-labels-idx1-ubyte": 4_542,
}
CHUNK = 1 << 16  # bytes per read (a download reads one chunk at a time; an IDX file 16)
IDX_MAX_BYTES = 1 << 30  # an IDX file whose header promises more is refused (MNIST's largest: 47 MB)
MNIST_DIR_ENV = "BN_LAB_MNIST_DIR"
MNIST_VALIDATION = 5_000  # the last images of the training file, as is customary
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataUnavailable(Exception):
    """A data set cannot be loaded. ``reason`` is a short code the UI translates."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Dataset:
    name: str
    image_shape: tuple[int, int]
    # Images are kept as loaded: float32 in [0, 1] (digits) or uint8 pixels 0..255 (MNIST, a quarter of
    # the memory of float32: 55 MB, not 220 MB, in every worker that holds it). ``unit(x)`` is float32.
    x_train: np.ndarray  # (n, h*w)
    y_train: np.ndarray  # (n,) int64 in 0..9
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_inputs(self) -> int:
        return self.image_shape[0] * self.image_shape[1]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def stratified_split(labels: np.ndarray, fractions: tuple[float, float, float], seed: int) -> list[np.ndarray]:
    """Index arrays for train / validation / test with each class in the same
    proportions; the same labels and seed always give the same split."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_train = int(round(fractions[0] * len(members)))
        n_val = int(round(fractions[1] * len(members)))
        for part, chunk in zip(parts, np.split(members, [n_train, n_train + n_val]), strict=True):
            part.append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]


def load_digits(seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits (pixel values 0..16, scaled to [0, 1]); 60/20/20 split."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    train, val, test = stratified_split(y, (0.6, 0.2, 0.2), seed)
    return Dataset("digits", (8, 8), x[train], y[train], x[val], y[val], x[test], y[test])


def unit(x: np.ndarray) -> np.ndarray:
    """Images as float32 in [0, 1]: uint8 pixels divided by 255 (in float32, which gives the same
    numbers as dividing in float64 and rounding), float images as they are."""
    return np.divide(x, np.float32(255), dtype=np.float32) if x.dtype == np.uint8 else x


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (the MNIST format), gzip-compressed or not. Decompressed piece by piece into
    the array: holding the whole file and then the array took MNIST's 47 MB three times over."""
    path = Path(path)
    with path.open("rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if compressed else path.open("rb") as f:
        magic = f.read(4)
        if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES:
            raise DataUnavailable("bad_file", f"{path.name} is not an IDX file")
        dims = f.read(4 * magic[3])
        if len(dims) < 4 * magic[3]:
            raise DataUnavailable("bad_file", f"{path.name}: truncated header")
        shape = tuple(int.from_bytes(dims[i : i + 4], "big") for i in range(0, len(dims), 4))
        dtype = np.dtype(IDX_TYPES[magic[2]])
        expected = int(np.prod(shape)) * dtype.itemsize
        if expected > IDX_MAX_BYTES:
            raise DataUnavailable("bad_file", f"{path.name}: {expected} bytes of data, more than {IDX_MAX_BYTES}")
        array = np.empty(shape, dtype)
        view, got = memoryview(array.reshape(-1).view(np.uint8)), 0
        while got < expected and (chunk := f.read(min(CHUNK * 16, expected - got))):
            view[got : got + len(chunk)] = chunk
            got += len(chunk)
        if got != expected or f.read(1):
            got_text = got if got != expected else f"more than {expected}"
            raise DataUnavailable("bad_file", f"{path.name}: {got_text} bytes of data, expected {expected}")
    return array


def mnist_dir() -> Path:
    """Where MNIST is looked for: $BN_LAB_MNIST_DIR, else ~/.cache/bn_lab/mnist."""
    return Path(os.environ.get(MNIST_DIR_ENV) or Path.home() / ".cache" / "bn_lab" / "mnist")


def find_mnist_file(directory: Path, name: str) -> Path | None:
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


def load_mnist(directory: str | Path | None = None) -> Dataset:
    """MNIST from the four standard IDX files in ``directory`` (gzip or not)."""
    directory = Path(directory) if directory is not None else mnist_dir()
    arrays = {}
    for role, (name, _) in MNIST_FILES.items():
        path = find_mnist_file(directory, name)
        if path is None:
            raise DataUnavailable("missing", name)  # not the server's path: students read this
        arrays[role] = read_idx(path)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataUnavailable("bad_file", f"{split}: images {images.shape}, labels {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise DataUnavailable("bad_file", f"{split}: labels outside 0..9")
    shape = arrays["train_images"].shape[1:]
    if arrays["test_images"].shape[1:] != shape:
        raise DataUnavailable("bad_file", "train and test images differ in size")

    def flat(images: np.ndarray) -> np.ndarray:  # uint8 pixels stay uint8
        x = images.reshape(len(images), -1)
        return x if x.dtype == np.uint8 else np.divide(x, 255.0).astype(np.float32)

    x, y = flat(arrays["train_images"]), arrays["train_labels"].astype(np.int64)
    n_val = min(MNIST_VALIDATION, len(y) // 5)
    cut = len(y) - n_val
    return Dataset(
        "mnist",
        (int(shape[0]), int(shape[1])),
        x[:cut],
        y[:cut],
        x[cut:],
        y[cut:],
        flat(arrays["test_images"]),
        arrays["test_labels"].astype(np.int64),
    )


def missing_mnist(directory: Path) -> list[str]:
    """The MNIST file names (without .gz) not in ``directory``."""
    return [name for name, _ in MNIST_FILES.values() if find_mnist_file(directory, name) is None]


def load(name: str, mnist_directory: str | Path | None = None) -> Dataset:
    if name == "digits":
        return load_digits()
    if name == "mnist":
        return load_mnist(mnist_directory)
    raise DataUnavailable("unknown", name)

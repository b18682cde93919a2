"""Digit data sets for the `train` lesson, as flat float32 images in [0, 1].

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1 797 images), always
  available offline; a fixed stratified split into train / validation / test.
- ``mnist``: the standard 28x28 MNIST IDX files (gzip or not) from a directory; they
  can be downloaded on request, each file checked against its published MD5 sum.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
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
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # a public mirror of the original files
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
    x_train: np.ndarray  # (n, h*w) float32 in [0, 1]
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


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (the MNIST format), gzip-compressed or not."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DataUnavailable("bad_file", f"{Path(path).name} is not an IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataUnavailable("bad_file", f"{Path(path).name}: truncated header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataUnavailable("bad_file", f"{Path(path).name}: {len(raw) - header} bytes of data, expected {expected}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape)


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
            raise DataUnavailable("missing", str(directory / name))
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

    def flat(images: np.ndarray) -> np.ndarray:
        return (images.reshape(len(images), -1) / 255.0).astype(np.float32)

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


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_mnist(
    directory: str | Path | None = None,
    base_url: str = MNIST_URL,
    checksums: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Fetch the four gzip files that are not there yet, verify each MD5 sum and
    only then move it into place. ``checksums`` maps file name to MD5 (default:
    the published ones). Raises DataUnavailable('offline' | 'checksum')."""
    directory = Path(directory) if directory is not None else mnist_dir()
    directory.mkdir(parents=True, exist_ok=True)
    checksums = checksums or {name: md5 for name, md5 in MNIST_FILES.values()}
    for name, _ in MNIST_FILES.values():
        if find_mnist_file(directory, name) is not None:
            continue
        with tempfile.NamedTemporaryFile(dir=directory, suffix=".part", delete=False) as part:
            tmp = Path(part.name)
            try:
                with urllib.request.urlopen(f"{base_url}{name}.gz", timeout=timeout) as response:
                    shutil.copyfileobj(response, part)
            except OSError as err:
                tmp.unlink(missing_ok=True)
                raise DataUnavailable("offline", f"{name}.gz: {err}") from err
        if md5_of(tmp) != checksums[name]:
            tmp.unlink(missing_ok=True)
            raise DataUnavailable("checksum", f"{name}.gz")
        tmp.replace(directory / f"{name}.gz")
    return directory


def load(name: str, mnist_directory: str | Path | None = None) -> Dataset:
    if name == "digits":
        return load_digits()
    if name == "mnist":
        return load_mnist(mnist_directory)
    raise DataUnavailable("unknown", name)

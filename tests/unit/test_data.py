"""Digit data: the bundled digits split, and the MNIST IDX reader, loader and downloader
(on small IDX files the tests write; nothing is fetched from the internet)."""

import gzip
import hashlib
import time

import numpy as np
import pytest

from bn_core import data
from serve.download import download_mnist
from tests.unit.mnist_server import serve


def write_idx(path, array, dtype_code=0x08, compress=False):
    array = np.asarray(array)
    header = bytes([0, 0, dtype_code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    raw = header + array.astype(np.dtype(data.IDX_TYPES[dtype_code])).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def fake_mnist(directory, n_train=60, n_test=20, size=6, compress=True, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, size, size)),
        "train_labels": np.arange(n_train) % 10,
        "test_images": rng.integers(0, 256, (n_test, size, size)),
        "test_labels": np.arange(n_test) % 10,
    }
    for role, (name, _) in data.MNIST_FILES.items():
        write_idx(directory / (f"{name}.gz" if compress else name), arrays[role], compress=compress)
    return arrays


def test_digits_split_is_stratified_disjoint_and_fixed():
    d = data.load_digits()
    assert d.sizes() == {"train": 1078, "val": 359, "test": 360}  # 1797 images, 60/20/20 per class
    assert d.x_train.dtype == np.float32 and 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    for y in (d.y_train, d.y_val, d.y_test):
        share = np.bincount(y, minlength=10) / len(y)
        assert np.all(np.abs(share - 0.1) < 0.012)
    rows = {tuple(r) for r in np.concatenate([d.x_train, d.x_val, d.x_test])}
    assert len(rows) > 1700  # (a handful of digits are pixel-identical in the source)
    again = data.load_digits()
    assert np.array_equal(d.x_test, again.x_test) and np.array_equal(d.y_train, again.y_train)


def test_stratified_split_covers_every_index_once():
    labels = np.repeat(np.arange(3), [10, 20, 31])
    parts = data.stratified_split(labels, (0.6, 0.2, 0.2), seed=4)
    joined = np.sort(np.concatenate(parts))
    assert np.array_equal(joined, np.arange(len(labels)))


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, compress):
    array = np.arange(24).reshape(2, 3, 4)
    assert np.array_equal(data.read_idx(write_idx(tmp_path / "a.idx", array, compress=compress)), array)
    ints = np.array([-70000, 5, 123456789])
    assert np.array_equal(data.read_idx(write_idx(tmp_path / "b.idx", ints, dtype_code=0x0C)), ints)


def test_read_idx_rejects_broken_files(tmp_path):
    (tmp_path / "text").write_text("hello, not an idx file")
    with pytest.raises(data.DataUnavailable) as err:
        data.read_idx(tmp_path / "text")
    assert err.value.reason == "bad_file"
    path = write_idx(tmp_path / "short", np.arange(10))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(data.DataUnavailable, match="expected 10"):
        data.read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_from_a_directory(tmp_path, compress):
    arrays = fake_mnist(tmp_path, compress=compress)
    d = data.load_mnist(tmp_path)
    assert d.image_shape == (6, 6) and d.n_inputs == 36
    assert d.sizes() == {"train": 48, "val": 12, "test": 20}  # validation: at most a fifth of train
    assert d.x_train.dtype == np.uint8  # a quarter of float32's memory; unit() gives [0, 1]
    assert np.array_equal(d.x_train[0], arrays["train_images"][0].ravel())
    assert np.allclose(data.unit(d.x_train[0]) * 255, arrays["train_images"][0].ravel(), rtol=1e-6)
    assert np.array_equal(d.y_val, arrays["train_labels"][48:])


def test_load_mnist_says_what_is_missing_without_the_servers_path(tmp_path):
    with pytest.raises(data.DataUnavailable) as err:
        data.load_mnist(tmp_path)
    assert err.value.reason == "missing" and "train-images" in err.value.detail
    assert str(tmp_path) not in err.value.detail  # a student reads it


def test_unit_pixels_are_the_float64_quotient_rounded_to_float32():
    """MNIST is kept as uint8 and divided in float32: every pixel value gives exactly the number the
    float64 division (the former way to load it) rounded to float32 gives, in NumPy and in torch."""
    import torch

    from bn_core.train import unit_batch

    pixels = np.arange(256, dtype=np.uint8)
    expected = (pixels / 255.0).astype(np.float32)
    assert data.unit(pixels).dtype == np.float32 and np.array_equal(data.unit(pixels), expected)
    assert np.array_equal(unit_batch(torch.from_numpy(pixels)).numpy(), expected)
    floats = np.linspace(0, 1, 5, dtype=np.float32)
    assert data.unit(floats) is floats


def test_mnist_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(data.MNIST_DIR_ENV, str(tmp_path))
    fake_mnist(tmp_path)
    assert data.mnist_dir() == tmp_path
    assert data.load("mnist").sizes()["test"] == 20


def gzip_files(directory):
    """The four gzip files of a small fake MNIST, as bytes, with their MD5 sums and sizes."""
    fake_mnist(directory)
    bodies = {f"{name}.gz": (directory / f"{name}.gz").read_bytes() for name, _ in data.MNIST_FILES.values()}
    sums = {name[:-3]: hashlib.md5(body).hexdigest() for name, body in bodies.items()}
    sizes = {name[:-3]: len(body) for name, body in bodies.items()}
    return bodies, sums, sizes


@pytest.fixture
def files(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    return gzip_files(source)


def nothing_kept(directory):
    return not [p for p in directory.iterdir() if p.name.endswith((".gz", ".part"))]


def test_download_verifies_checksums_then_loads(tmp_path, files):
    bodies, sums, sizes = files
    target, heard = tmp_path / "mnist", []
    with serve(bodies) as (url, _):
        download_mnist(target, base_url=url, checksums=sums, sizes=sizes, on_bytes=heard.append)
    assert data.load_mnist(target).sizes()["train"] == 48
    assert sum(heard) == sum(sizes.values())
    assert not list(target.glob("*.part"))


def test_download_fetches_only_what_is_missing(tmp_path, files):
    bodies, sums, sizes = files
    target = tmp_path / "mnist"
    target.mkdir()
    (target / "train-labels-idx1-ubyte.gz").write_bytes(bodies["train-labels-idx1-ubyte.gz"])
    with serve(bodies) as (url, server):
        download_mnist(target, base_url=url, checksums=sums, sizes=sizes)
    assert sorted(server.requests) == sorted(set(bodies) - {"train-labels-idx1-ubyte.gz"})


def test_download_refuses_a_file_with_the_wrong_checksum(tmp_path, files):
    bodies, sums, sizes = files
    bad = dict(sums, **{"t10k-labels-idx1-ubyte": "0" * 32})
    with serve(bodies) as (url, _), pytest.raises(data.DataUnavailable) as err:
        download_mnist(tmp_path / "mnist", base_url=url, checksums=bad, sizes=sizes)
    assert err.value.reason == "checksum"
    assert not (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((tmp_path / "mnist").glob("*.part"))


def test_download_stops_reading_past_the_expected_size(tmp_path, files):
    """A body 1 000 times the expected size, without a Content-Length: the download reads no more than
    one chunk past the size, keeps nothing, and says why."""
    bodies, sums, sizes = files
    first = "train-images-idx3-ubyte"
    huge = dict(bodies, **{f"{first}.gz": bodies[f"{first}.gz"] * 1000})
    sizes = dict(sizes, **{first: max(sizes[first], data.CHUNK)})  # bigger than one read
    heard = []
    with serve(huge, mode="no_length") as (url, _), pytest.raises(data.DataUnavailable) as err:
        download_mnist(tmp_path / "mnist", base_url=url, checksums=sums, sizes=sizes, on_bytes=heard.append)
    assert err.value.reason == "too_large" and first in err.value.detail
    assert sum(heard) <= sizes[first] < len(huge[f"{first}.gz"]) // 2
    assert nothing_kept(tmp_path / "mnist")


def test_download_refuses_a_body_announced_too_large_before_reading_it(tmp_path, files):
    bodies, sums, sizes = files
    huge = {name: body * 50 for name, body in bodies.items()}
    heard = []
    with serve(huge) as (url, _), pytest.raises(data.DataUnavailable) as err:
        download_mnist(tmp_path / "mnist", base_url=url, checksums=sums, sizes=sizes, on_bytes=heard.append)
    assert err.value.reason == "too_large" and heard == []
    assert nothing_kept(tmp_path / "mnist")


@pytest.mark.slow
def test_download_stops_at_its_deadline_however_the_bytes_trickle(tmp_path, files):
    """One byte every 0.2 s never trips a per-read timeout; the overall deadline stops it."""
    bodies, sums, sizes = files
    started = time.monotonic()
    with serve(bodies, mode="slow", pause=0.2) as (url, _), pytest.raises(data.DataUnavailable) as err:
        download_mnist(tmp_path / "mnist", base_url=url, checksums=sums, sizes=sizes, deadline=1.5)
    elapsed = time.monotonic() - started
    assert err.value.reason == "timeout"
    # at the deadline, not before, and long before the whole files would have trickled in (minutes)
    assert 1.5 <= elapsed < 10, elapsed
    assert nothing_kept(tmp_path / "mnist")


def test_download_offline_is_a_clear_failure(tmp_path):
    with pytest.raises(data.DataUnavailable) as err:
        download_mnist(tmp_path / "mnist", base_url="http://127.0.0.1:9/", deadline=5)
    assert err.value.reason == "offline"


def test_download_into_a_place_that_cannot_be_a_folder_says_so(tmp_path, files):
    bodies, sums, sizes = files
    (tmp_path / "a_file").write_text("not a folder")
    with serve(bodies) as (url, _), pytest.raises(data.DataUnavailable) as err:
        download_mnist(tmp_path / "a_file" / "mnist", base_url=url, checksums=sums, sizes=sizes)
    assert err.value.reason == "not_writable"

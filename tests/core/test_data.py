"""Digit data: the bundled digits split, and the MNIST IDX reader, loader and downloader
(on small IDX files the tests write; nothing is fetched from the internet)."""

import functools
import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from bn_core import data


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
    assert np.allclose(d.x_train[0] * 255, arrays["train_images"][0].ravel())
    assert np.array_equal(d.y_val, arrays["train_labels"][48:])


def test_load_mnist_says_what_is_missing(tmp_path):
    with pytest.raises(data.DataUnavailable) as err:
        data.load_mnist(tmp_path)
    assert err.value.reason == "missing" and "train-images" in err.value.detail


def test_mnist_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(data.MNIST_DIR_ENV, str(tmp_path))
    fake_mnist(tmp_path)
    assert data.mnist_dir() == tmp_path
    assert data.load("mnist").sizes()["test"] == 20


@pytest.fixture
def served(tmp_path):
    """A local HTTP server over a folder of gzip IDX files, and their MD5 sums."""
    source = tmp_path / "source"
    source.mkdir()
    fake_mnist(source)
    sums = {
        name: hashlib.md5((source / f"{name}.gz").read_bytes()).hexdigest() for name, _ in data.MNIST_FILES.values()
    }
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(source))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", sums
    server.shutdown()
    server.server_close()


def test_download_verifies_checksums_then_loads(tmp_path, served):
    url, sums = served
    target = tmp_path / "mnist"
    data.download_mnist(target, base_url=url, checksums=sums)
    assert data.load_mnist(target).sizes()["train"] == 48
    assert not list(target.glob("*.part"))


def test_download_refuses_a_file_with_the_wrong_checksum(tmp_path, served):
    url, sums = served
    bad = dict(sums, **{"t10k-labels-idx1-ubyte": "0" * 32})
    with pytest.raises(data.DataUnavailable) as err:
        data.download_mnist(tmp_path / "mnist", base_url=url, checksums=bad)
    assert err.value.reason == "checksum"
    assert not (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((tmp_path / "mnist").glob("*.part"))


def test_download_offline_is_a_clear_failure(tmp_path):
    with pytest.raises(data.DataUnavailable) as err:
        data.download_mnist(tmp_path / "mnist", base_url="http://127.0.0.1:9/", timeout=2)
    assert err.value.reason == "offline"

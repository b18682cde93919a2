"""The server's MNIST download (serve.download): one download however many press at once, in the
background with its progress, a failure reported and retried on the next press, and the server
setting that turns it off. Small files on a loopback server; nothing from the internet."""

import threading

import pytest

from bn_core import data
from serve.download import DOWNLOAD_ENV, MNIST_URL, URL_ENV, MnistDownload, allowed, mirror_url
from tests.unit.mnist_server import serve
from tests.unit.test_data import gzip_files


@pytest.fixture
def files(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    return gzip_files(source)


@pytest.mark.slow
def test_thirty_presses_at_once_start_one_download(tmp_path, files):
    bodies, sums, sizes = files
    job = MnistDownload(tmp_path / "mnist", checksums=sums, sizes=sizes)
    go, started = threading.Barrier(30), []

    def press():
        go.wait()
        started.append(job.start())

    with serve(bodies, pause=0.3) as (url, server):
        job.base_url = url
        presses = [threading.Thread(target=press) for _ in range(30)]
        for thread in presses:
            thread.start()
        for thread in presses:
            thread.join()
        running = job.progress()
        job.join(timeout=30)
    assert started.count(True) == 1
    assert running.state == "running" and running.total == sum(sizes.values())
    assert sorted(server.requests) == sorted(bodies)  # each file asked for once
    done = job.progress()
    assert done.state == "done" and done.received == done.total and done.attempt == 1
    assert data.load_mnist(tmp_path / "mnist").sizes()["test"] == 20


def test_progress_grows_while_the_bytes_arrive(tmp_path, files):
    bodies, sums, sizes = files
    job = MnistDownload(tmp_path / "mnist", checksums=sums, sizes=sizes)
    small = {name: body for name, body in bodies.items() if len(body) < 200}  # labels only: quick, byte by byte
    seen = []
    for name in set(bodies) - set(small):
        (tmp_path / "mnist").mkdir(exist_ok=True)
        (tmp_path / "mnist" / name).write_bytes(bodies[name])
    with serve(small, mode="slow", pause=0.002) as (url, _):
        job.base_url = url
        job.start()
        while job.progress().state == "running":
            seen.append(job.progress().received)
        job.join(timeout=30)
    assert job.progress().state == "done"
    assert len(set(seen)) > 10 and seen == sorted(seen)  # it moved, forwards
    assert job.progress().total == sum(len(body) for body in small.values())


def test_a_failure_is_reported_and_the_next_press_tries_again(tmp_path, files):
    bodies, sums, sizes = files
    wrong = dict(sums, **{"train-images-idx3-ubyte": "0" * 32})
    job = MnistDownload(tmp_path / "mnist", checksums=wrong, sizes=sizes)
    with serve(bodies) as (url, _):
        job.base_url = url
        job.start()
        job.join(timeout=30)
        failed = job.progress()
        job.options["checksums"] = sums
        assert job.start()
        job.join(timeout=30)
    assert (failed.state, failed.error, failed.attempt) == ("failed", "checksum", 1)
    assert "train-images" in failed.detail
    assert (job.progress().state, job.progress().attempt) == ("done", 2)


@pytest.mark.slow
def test_a_slow_mirror_ends_at_the_deadline(tmp_path, files):
    bodies, sums, sizes = files
    job = MnistDownload(tmp_path / "mnist", checksums=sums, sizes=sizes, deadline=1.0)
    with serve(bodies, mode="slow", pause=0.2) as (url, _):
        job.base_url = url
        job.start()
        job.join(timeout=5)
        end = job.progress()
    assert (end.state, end.error) == ("failed", "timeout")


@pytest.mark.parametrize(
    ("value", "offered"), [(None, True), ("", True), ("1", True), ("0", False), ("off", False), ("False", False)]
)
def test_the_server_setting_turns_the_download_off(monkeypatch, value, offered):
    if value is None:
        monkeypatch.delenv(DOWNLOAD_ENV, raising=False)
    else:
        monkeypatch.setenv(DOWNLOAD_ENV, value)
    assert allowed() is offered


def test_the_mirror_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    assert mirror_url() == MNIST_URL
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:1/mnist/")
    assert mirror_url() == "http://127.0.0.1:1/mnist/"

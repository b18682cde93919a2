"""The `train` page without MNIST on the server: what students are told (never the server's paths),
the download's progress and its end in the page, and a server where the download is turned off.
The download comes from a loopback server (serve.download reads BN_LAB_MNIST_URL)."""

import time

import numpy as np
import pytest

from lessons.train import mnist, results
from serve.download import DOWNLOAD_ENV, URL_ENV
from tests.app.helpers import open_page, text_of
from tests.unit.mnist_server import serve
from tests.unit.test_data import gzip_files
from ui.i18n import catalog

PAGE = "lessons/train/train.py"


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    """An empty MNIST folder for the server, deep inside a temporary path a student must not see."""
    folder = tmp_path / "srv" / "secret-volume" / "mnist"
    monkeypatch.setenv("BN_LAB_MNIST_DIR", str(folder))
    monkeypatch.delenv(DOWNLOAD_ENV, raising=False)
    return folder


def buttons(at):
    return {b.label: b for b in at.button}


@pytest.mark.parametrize("lang", ["en", "ru", "zh"])
def test_missing_mnist_says_what_to_do_without_the_servers_path(no_mnist, lang):
    at = open_page(PAGE, lang, preset="custom", data="mnist")
    text = catalog(lang)
    assert not at.exception
    said = text_of(at)
    assert text["train.mnist_missing"] in said
    assert "secret-volume" not in said and str(no_mnist.parent) not in said
    assert text["train.mnist_download"] in buttons(at) and text["train.use_digits"] in buttons(at)
    assert at.button(key="train.start").disabled  # nothing to train on yet


@pytest.mark.parametrize("lang", ["en", "ru", "zh"])
def test_a_server_with_the_download_turned_off_offers_no_download(no_mnist, monkeypatch, lang):
    monkeypatch.setenv(DOWNLOAD_ENV, "0")
    at = open_page(PAGE, lang, preset="custom", data="mnist")
    text = catalog(lang)
    assert not at.exception
    assert text["train.mnist_missing_no_download"] in text_of(at)
    assert text["train.mnist_download"] not in buttons(at) and text["train.use_digits"] in buttons(at)


@pytest.mark.slow
def test_a_press_shows_the_progress_and_then_how_the_download_ended(no_mnist, tmp_path, monkeypatch):
    """The loopback files are not MNIST, so their checksums fail: the page says so, once, in an error."""
    source = tmp_path / "source"
    source.mkdir()
    bodies, _, _ = gzip_files(source)
    text = catalog("en")
    with serve(bodies, pause=1.0) as (url, server):  # each file waits a second: the progress is seen
        monkeypatch.setenv(URL_ENV, url)
        at = open_page(PAGE, "en", preset="custom", data="mnist")
        buttons(at)[text["train.mnist_download"]].click().run()
        progress = [p.proto.text for p in at.get("progress")]
        assert progress and progress[0].startswith(text["train.mnist_downloading"].split(":")[0])
        assert buttons(at)[text["train.mnist_download"]].disabled  # one download at a time
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not at.error:
            time.sleep(0.3)
            at.run()
    assert len(server.requests) == 1  # the first file failed its checksum: no further requests
    failed = [text["train.data_checksum"].format(detail="train-images-idx3-ubyte.gz")]
    assert [e.value for e in at.error] == failed
    assert mnist.downloader().progress().state == "failed"
    assert not at.get("progress") and not buttons(at)[text["train.mnist_download"]].disabled  # a new press may retry
    at.run()
    assert [e.value for e in at.error] == failed  # it stays beside the button, once
    assert not list(no_mnist.glob("*"))  # nothing kept


def test_mnist_pixels_kept_as_bytes_are_drawn_as_their_float_images_are():
    raw = np.array([0, 1, 128, 254, 255, 17, 200, 90, 3], np.uint8)
    floats = (raw / 255.0).astype(np.float32)  # as MNIST was held before issue 14
    assert np.array_equal(results.pixels(raw, (3, 3)), results.pixels(floats, (3, 3)))
    assert results.pixels(raw, (3, 3)).max() >= 254  # not clipped to [0, 1] as raw bytes

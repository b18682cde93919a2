"""The `train` page on a server without MNIST, in a real browser: the warning (no server path) in
each language, and a press of Download MNIST against a slow loopback mirror: the progress bar,
then the checksum failure (the mirror's files are not MNIST). Screenshots for people to look at."""

import pytest

from tests.browser.conftest import streamlit_server
from tests.browser.test_browser import ERRORS
from tests.unit.mnist_server import serve
from tests.unit.test_data import gzip_files
from ui.i18n import LANGUAGES, catalog

pytestmark = pytest.mark.e2e
QUERY = "preset=custom&data=mnist"


@pytest.fixture(scope="module")
def no_mnist_server(tmp_path_factory):
    """A server whose MNIST folder is empty and whose mirror is a loopback server that waits 2 s
    before each file."""
    tmp = tmp_path_factory.mktemp("mnist")
    (tmp / "source").mkdir()
    bodies, _, _ = gzip_files(tmp / "source")
    with serve(bodies, pause=2.0) as (url, _):
        env = {"BN_LAB_MNIST_DIR": str(tmp / "srv-secret" / "mnist"), "BN_LAB_MNIST_URL": url}
        with streamlit_server("streamlit-e2e-mnist.log", env=env) as base:
            yield base


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_missing_mnist_warning(page, no_mnist_server, shots, lang):
    text = catalog(lang)
    page.goto(f"{no_mnist_server}/train?lang={lang}&{QUERY}")
    warning = page.locator('[data-testid="stAlertContentWarning"]').filter(has_text="MNIST")
    warning.wait_for(timeout=60_000)
    assert "srv-secret" not in page.locator("body").inner_text()
    page.get_by_role("button", name=text["train.mnist_download"]).wait_for()
    warning.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"train-mnist-missing-{lang}.png"))


def test_download_shows_its_progress_then_its_end(page, no_mnist_server, shots):
    text = catalog("en")
    page.goto(f"{no_mnist_server}/train?lang=en&{QUERY}")
    page.get_by_role("button", name=text["train.mnist_download"]).click()
    bar = page.locator('[data-testid="stProgress"]')
    bar.wait_for(timeout=30_000)
    assert text["train.mnist_downloading"].split(":")[0] in bar.inner_text()
    page.screenshot(path=str(shots / "train-mnist-downloading-en.png"))
    failed = text["train.data_checksum"].format(detail="train-images-idx3-ubyte.gz")
    page.get_by_text(failed).wait_for(timeout=30_000)
    page.screenshot(path=str(shots / "train-mnist-download-failed-en.png"))
    assert page.locator(ERRORS).count() == 1  # that message, nothing else

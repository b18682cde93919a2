"""The image's file system layout, simulated without Docker, as `docker run --read-only --tmpfs /tmp
--shm-size=...` lays it out: run as root (as tests are in CI), the server gets a mount namespace of its
own in which the root file system is read-only and /tmp and /dev/shm are fresh tmpfs mounts; run as
another user, it gets a read-only copy of the code and a fresh TMPDIR (permissions bind that user).
Its code is a compiled copy, as in the image. A run trains, and the server changed none of its files.
"""

import compileall
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.browser.conftest import metric_label, settled
from tests.deploy.servers import ROOT, streamlit
from ui.i18n import catalog
from ui.lessons import LESSONS

pytestmark = pytest.mark.e2e
CODE = ["app.py", "bn_core", "serve", "ui", "lessons", "locales", ".streamlit"]  # what the server needs of the image
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def read_only_copy(target: Path) -> Path:
    """The code as the image holds it: compiled at build time, then nobody may write it."""
    target.mkdir()
    for name in CODE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    assert compileall.compile_dir(target, quiet=1)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return target


def files(directory: Path) -> dict[str, float]:
    return {str(p.relative_to(directory)): p.stat().st_mtime for p in directory.rglob("*")}


# `docker run --read-only --tmpfs /tmp --shm-size=256m`, for the command that follows the script. The code
# directory is made read-only on its own too (it may sit on another mount than /), and the tmpfs goes on $BN_TMP
# rather than /tmp, which may hold the checkout itself (CI clones under /tmp).
READ_ONLY_ROOT = (
    'mount --bind "$BN_CODE" "$BN_CODE" && mount -o remount,bind,ro "$BN_CODE" && mount -o remount,bind,ro /'
    ' && mount -t tmpfs -o size=256m,mode=1777 tmpfs "$BN_TMP"'
    ' && mount -t tmpfs -o size=256m tmpfs /dev/shm && exec "$@"'
)


def test_a_run_trains_with_read_only_code_and_only_tmpdir_writable(browser, shots):
    (ROOT / "artifacts").mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="read-only-", dir=ROOT / "artifacts"))  # not under /tmp: it gets a tmpfs
    try:
        code = read_only_copy(base / "app")
        if os.geteuid() == 0:  # root writes through permissions, not through a read-only mount
            tmp = base / "tmp"  # the namespace mounts its own tmpfs here
            tmp.mkdir()
            prefix = [
                "env", f"BN_CODE={code}", f"BN_TMP={tmp}",
                "unshare", "--mount", "--propagation", "private", "sh", "-c", READ_ONLY_ROOT, "sh",
            ]  # fmt: skip
            denied = subprocess.run([*prefix, "touch", str(code / "app.py")], capture_output=True, text=True)
            # the layout is real (in an unprivileged container, unshare is refused: run the tests as a user)
            assert "Read-only file system" in denied.stderr, denied.stderr
        else:
            prefix, tmp = None, base / "tmp"
            tmp.mkdir()
        before = files(code)
        env = {
            "TMPDIR": str(tmp),
            "HOME": "/nonexistent",  # as the image's user: no home to write to
            "BN_LAB_MNIST_DIR": str(base / "mnist"),  # absent and not writable: no volume given
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        text = catalog("en")
        train = next(x for x in LESSONS if x.name == "train")
        with streamlit(code, log="streamlit-read-only.log", env=env, user=prefix) as (url, server):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/{train.url_path}?lang=en&preset=custom&epochs=2&speed=500")
            page.get_by_role("heading", name=text["train.title"]).first.wait_for(timeout=120_000)
            page.wait_for_load_state("networkidle")  # the page's first run has ended: the press is not lost
            page.get_by_role("button", name=text["train.play"]).click()
            # a fresh server first starts its forkserver, which trains once to warm up (slow on a busy machine)
            page.get_by_role("tab", name=text["train.tab_results"]).wait_for(timeout=300_000)
            metric_label(page, text["train.test_accuracy"]).wait_for(timeout=30_000)
            page.get_by_role("tab", name=text["train.tab_results"]).click()
            page.get_by_text(text["train.download_csv"]).wait_for(timeout=60_000)
            # the misclassified digits are images the server serves from memory: every one arrives
            page.wait_for_function("document.images.length && [...document.images].every(i => i.naturalWidth)")
            settled(page)
            page.screenshot(path=str(shots / "read-only-train-results-en.png"), full_page=True)
            assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
            seen = Path(f"/proc/{server.pid}/root") / tmp.relative_to("/")  # the server's view of its TMPDIR
            assert list(seen.glob("pymp-*")), "multiprocessing did not use TMPDIR"
            page.close()
        assert files(code) == before  # nothing written, nothing touched
        log = (ROOT / "artifacts" / "streamlit-read-only.log").read_text()
        assert "No usable temporary directory" not in log and "Traceback" not in log, log[-3000:]
    finally:
        for path in [base, *base.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(base)

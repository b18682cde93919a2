"""Fixtures every browser test shares (tests/browser, tests/deploy): one Chromium for the whole run.
Playwright's sync API allows one instance per thread, so the browser is defined once, here."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Every figure a test builds (and every figure of the servers the browser tests start) is validated by
# Plotly, property by property; the app skips that (ui/charts.py).
os.environ["BN_LAB_VALIDATE_FIGURES"] = "1"

from tests.browser.conftest import CHROMIUM_ARGS, SHOTS, chromium_path  # noqa: E402


@pytest.fixture(scope="session")
def browser(pytestconfig):
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: scripts/install.sh --dev installs it")
        pytest.skip("Chromium is not installed (scripts/install.sh --dev installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        if pytestconfig.getoption("--part") == "shared":
            lowest_priority_for_new_sessions()
        yield b
        b.close()


def lowest_priority_for_new_sessions() -> None:
    """The shared part runs at the lowest priority (scripts/test.sh), but Chromium starts a session of its own,
    whose autogroup Linux weighs as much as the clock-bound part's: put the sessions this process started below
    it too (their autogroup at nice 19). Where that cannot be done, they stay as they are."""
    mine, me = os.getsid(0), os.getpid()

    def parent(pid: int) -> int:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])

    for entry in Path("/proc").iterdir():
        try:
            pid = int(entry.name)
            if os.getsid(pid) != pid or pid == mine:
                continue
            ancestor = pid
            while ancestor > 1 and ancestor != me:
                ancestor = parent(ancestor)
            if ancestor == me:
                (entry / "autogroup").write_text("19")
        except (ValueError, OSError):
            continue


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


# The fast tier (`bash scripts/test.sh --fast`): no browser, no worker process, no test marked slow (one
# that trains for more than about a second). CI runs everything.
SLOW_FOLDERS = ("browser", "deploy", "integration")


def pytest_addoption(parser):
    parser.addoption("--fast", action="store_true", help="the fast tier: no browser, no worker, nothing slow")
    parser.addoption("--part", choices=PARTS, help="one part of the whole suite (scripts/test.sh runs both)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: trains a network, starts a worker or a server (left out by --fast)")


# The whole suite runs in two parts (scripts/test.sh). `--part shared`: the tests that only render a page or
# compute, on two pytest-xdist workers at the lowest priority. `--part alone`: the tests bound to a clock or to a
# process's limits (workers, servers, queues, playback, AppTests that train in a worker, a phone page's scroll
# after a rerun, the claims' measurements), one after another at normal priority, as the whole suite once ran.
# (Run as equals on two workers, the clock-bound tests timed out beside the other worker's load: a live run's
# first steps after 120 s, a kept record after 180 s; a phone's chart was scrolled under the controls.)
SHARED_FOLDERS = ("unit", "app")
SHARED_FILES = ("deploy/test_manifests.py", "deploy/test_limits.py")  # files and cgroup readings, no clock
ALONE_FILES = ("app/test_kept.py",)  # AppTests that wait, with a deadline, for a run a worker computes
SHARED_BROWSER_TESTS = (  # a page opened and looked at: no training, no queue, no pace measured
    "test_no_text_is_clipped",
    "test_bn_lab_section_renders_unclipped",
    "test_inside_section_renders",
    "test_experiments_section_renders",
    "test_a_hostile_link_gives_one_literal_notice_gone_after_a_slider_move",
    "test_language_is_kept_when_navigating",
    "test_deep_link_with_bad_values_shows_a_notice",
    "test_a_wrong_address_gets_a_translated_page_and_a_long_link_is_dropped",
    "test_a_lesson_is_as_the_student_left_it_after_visiting_another",
    "test_inside_step_through_and_section_picker",
    "test_bn_lab_section_picker_and_small_batch_sizes_by_keyboard",
    "test_train_batch_of_one_with_batchnorm_is_explained",
    "test_neuron_on_a_phone",
    "test_copy_link_puts_the_pages_current_link_on_the_clipboard",
    "test_without_a_clipboard_the_link_is_shown_selected",
    "test_a_preset_sets_the_lesson_and_its_link",
    "test_the_code_for_this_copies_what_it_downloads",
    "test_missing_mnist_warning",
    "test_a_tall_bin_of_exact_zeros_is_cut_and_its_share_is_said_and_drawn_as_a_bar",
)
PARTS = ("shared", "alone")


def shared(item) -> bool:
    """Whether a test may run beside another test on the other core."""
    folder = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
    if "claim_measure" in getattr(item, "fixturenames", ()) or "/".join(folder) in ALONE_FILES:
        return False
    if folder[0] in SHARED_FOLDERS or len(folder) == 1 or "/".join(folder) in SHARED_FILES:
        return True
    return getattr(item, "originalname", item.name) in SHARED_BROWSER_TESTS


def pytest_collection_modifyitems(config, items):
    part = config.getoption("--part")
    if part:  # one part of the whole suite: scripts/test.sh runs both, .ci/run checks they add up to it
        items[:] = [item for item in items if shared(item) == (part == "shared")]
        claims_last(items)
        return
    if not config.getoption("--fast"):
        claims_last(items)
        return
    kept, left = [], []
    for item in items:
        folder = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        (left if folder in SLOW_FOLDERS or item.get_closest_marker("slow") else kept).append(item)
    items[:] = kept
    config.hook.pytest_deselected(items=left)


def claims_last(items) -> None:
    """tests/claims's training claims run last in the part that runs alone, after every test bound to a clock
    (tests/claims/background.py)."""
    claims = [item for item in items if "claim_measure" in getattr(item, "fixturenames", ())]
    items[:] = [item for item in items if item not in claims] + claims


def pytest_sessionfinish(session):
    if "tests.claims.background" in sys.modules:
        sys.modules["tests.claims.background"].stop()

"""What a tab keeps across reloads (the keys of its records, not the runs), the `train` page taking back a tab's
finished runs and its computation in a new session, a record the server no longer has, and the page's limits and
queue messages."""

import pytest

from lessons.train import kept as kept_module
from lessons.train import state
from tests.app.helpers import assert_clean, open_page, poll, text_of
from tests.app.test_train import finished_groups
from tests.integration.test_runner import long
from ui import runs
from ui import session as page_session
from ui.i18n import catalog

PAGE = "lessons/train/train.py"
TAB = "0123456789abcdef0123456789abcdef"


def test_the_page_bounds_hold_for_a_class():
    assert kept_module.MAX_TABS >= 1_000 and kept_module.MAX_AGE >= 45 * 60  # a flood of fresh ids, a lesson long


@pytest.fixture
def tab(monkeypatch):
    """The tab's id as its element would report it (AppTest runs no JavaScript)."""
    monkeypatch.setattr(page_session, "tab_id", lambda: TAB)
    yield TAB
    kept_module.kept().drop(TAB)


@pytest.mark.slow
def test_a_reload_finds_the_finished_runs_kept_for_comparison(tab):
    at = open_page(PAGE, "en", preset="custom", epochs="1", hidden="16", seed="21")
    at.button(key="train.start").click().run()
    poll(at, lambda a: len(finished_groups(a)) == 1)
    kept_groups = finished_groups(at)
    entry = kept_module.kept().get(TAB)
    assert entry.groups == ((kept_groups[0]["name"], tuple(v.run_id for v in kept_groups[0]["runs"])),)
    # a reload: a new session in the same tab
    again = open_page(PAGE, "en", preset="custom", epochs="1", hidden="16", seed="21")
    assert_clean(again)
    assert [g["name"] for g in finished_groups(again)] == [g["name"] for g in kept_groups]
    assert [v.run_id for v in finished_groups(again)[0]["runs"]] == [v.run_id for v in kept_groups[0]["runs"]]
    assert catalog("en")["train.test_accuracy"] in text_of(again)
    # removing it there is kept too: a third session finds nothing
    again.button(key="train.remove").click().run()
    third = open_page(PAGE, "en")
    assert finished_groups(third) == []


@pytest.mark.slow
def test_a_reload_while_computing_joins_the_computation_again(tab):
    at = open_page(PAGE, "en", preset="custom", epochs="100", hidden="512", bs="2", seed="22")
    at.button(key="train.start").click().run()
    keys = list(at.session_state[state.ACTIVE])
    again = open_page(PAGE, "en")
    assert_clean(again)
    assert again.session_state[state.ACTIVE] == keys  # the same computation, not a second one
    runs.runner().release(keys[0]), runs.runner().release(keys[1])


@pytest.mark.slow
def test_a_record_the_server_no_longer_has_is_named_in_a_notice(tab):
    at = open_page(PAGE, "en", preset="custom", epochs="1", hidden="16", seed="23")
    at.button(key="train.start").click().run()
    poll(at, lambda a: len(finished_groups(a)) == 1)
    keys = [view.run_id for view in finished_groups(at)[0]["runs"]]
    poll(at, lambda a: all(k in runs.runner().records for k in keys), timeout=10)  # stored a moment after the end
    for key in keys:
        runs.runner().records.drop(key)  # pushed out of the store by other classes' runs
    again = open_page(PAGE, "en")
    assert_clean(again)
    assert finished_groups(again) == []
    assert catalog("en")["train.records_gone"].format(n=1) in [w.value for w in again.warning]


def test_a_page_with_nothing_to_keep_writes_nothing(tab):
    open_page(PAGE, "en")
    assert kept_module.kept().get(TAB) is None  # a flood of fresh tab ids cannot push out a class's entries


@pytest.fixture
def limits():
    shared = runs.runner()
    before = shared.max_per_owner, shared.max_per_client, shared.max_queue, shared.max_concurrent, shared.per_worker
    shared.per_worker = 1  # a run per worker: the queue is what these tests look at
    yield shared
    shared.max_per_owner, shared.max_per_client, shared.max_queue, shared.max_concurrent, shared.per_worker = before


@pytest.mark.parametrize("lang", ["en"])  # AppTest cannot click a page whose selectbox labels are translated
def test_a_start_past_the_session_limit_says_so_and_starts_nothing(limits, lang):
    limits.max_per_owner = 1  # a pair is two runs
    at = open_page(PAGE, lang, seed="24")
    at.button(key="train.start").click().run()
    assert_clean(at)
    assert state.ACTIVE not in at.session_state
    text = catalog(lang)["train.limit_session"].format(n=1)
    assert text in [w.value for w in at.warning]
    assert limits.counts()["queued"] + limits.counts()["running"] == 0


@pytest.mark.slow
def test_a_start_past_the_queue_limit_says_so(limits):
    limits.max_concurrent, limits.max_queue = 1, 1
    other = limits.submit(long(30))  # another page's run holds the only slot: a pair needs two places in the queue
    try:
        at = open_page(PAGE, "en", seed="25")
        at.button(key="train.start").click().run()
        text = catalog("en")["train.limit_queue"].format(n=1, limit=1)
        assert text in [w.value for w in at.warning]
        assert state.ACTIVE not in at.session_state and limits.counts()["queued"] == 0
    finally:
        limits.release(other)


@pytest.mark.slow
def test_a_queued_pair_shows_its_place_and_estimated_wait(limits):
    limits.max_concurrent = 1
    other = limits.submit(long(31))  # computing: its speed becomes known after its first steps
    at = open_page(PAGE, "en", seed="26")
    at.button(key="train.start").click().run()
    en = catalog("en")

    def shown(a):
        return any(en["train.queue_wait"].split("{")[0] in i.value for i in a.info)

    try:
        poll(at, shown, timeout=60)
        info = next(i.value for i in at.info if en["train.queue_wait"].split("{")[0] in i.value)
        assert en["train.queued"].format(place=1, limit=1) in info
    finally:
        at.button(key="train.stop").click().run()
        limits.release(other)

"""What a tab keeps across reloads: the bounded store (count, age, bytes), and the `train` page taking
back a tab's finished runs in a new session; the page's limits and queue messages."""

import pytest

from lessons.train import kept as kept_module
from lessons.train import sections
from lessons.train.kept import Kept, Record
from tests.app.helpers import assert_clean, open_page, poll, text_of
from tests.app.test_train import finished_groups
from tests.core.test_runner import LONG
from ui import session as page_session
from ui.i18n import catalog

PAGE = "lessons/train/train.py"
TAB = "0123456789abcdef0123456789abcdef"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def record(counter: int, size: int = 1) -> Record:
    return Record(counter, tuple({"name": f"#{i}", "runs": [], "size": size} for i in range(counter)))


def sized(r: Record) -> int:
    return sum(g["size"] for g in r.groups)


def test_the_store_keeps_at_most_max_tabs_dropping_the_least_recently_used():
    store = Kept(size_of=sized, max_tabs=3, clock=Clock())
    for tab in "abc":
        store.put(tab, record(1))
    assert store.get("a") is not None  # a is now the most recently used
    store.put("d", record(1))
    assert len(store) == 3 and store.get("b") is None
    assert [store.get(t) is not None for t in "acd"] == [True, True, True]


def test_the_store_forgets_a_record_max_age_after_it_was_written():
    clock = Clock()
    store = Kept(size_of=sized, max_age=60.0, clock=clock)
    store.put("a", record(1))
    clock.now += 40
    store.put("b", record(2))
    assert store.get("a").counter == 1  # a read does not make it younger
    clock.now += 30  # a: 70 s old, b: 30 s
    assert store.get("a") is None and store.get("b").counter == 2
    assert len(store) == 1 and store.bytes == 2


def test_the_store_stays_under_its_byte_budget():
    store = Kept(size_of=sized, max_bytes=10, clock=Clock())
    store.put("a", record(2, size=3))  # 6 bytes
    store.put("b", record(1, size=3))  # 9
    store.put("a", record(3, size=1))  # replaced: 3 + 3 = 6, not 12
    assert store.bytes == 6 and len(store) == 2
    store.put("c", record(1, size=5))  # 11 > 10: the least recently used (b) goes
    assert store.get("b") is None and store.bytes == 8


def test_the_page_bounds_hold_for_a_class():
    assert kept_module.MAX_TABS >= 60 and kept_module.MAX_AGE >= 45 * 60  # two classes of 30, a lesson long


@pytest.fixture
def tab(monkeypatch):
    """The tab's id as its element would report it (AppTest runs no JavaScript)."""
    monkeypatch.setattr(page_session, "tab_id", lambda: TAB)
    yield TAB
    sections.kept().drop(TAB)


def test_a_reload_finds_the_finished_runs_kept_for_comparison(tab):
    at = open_page(PAGE, "en", preset="custom", epochs="1", speed="max", hidden="16")
    at.button(key="train.start").click().run()
    poll(at, lambda a: len(finished_groups(a)) == 1)
    kept_groups = finished_groups(at)
    # a reload: a new session in the same tab
    again = open_page(PAGE, "en", preset="custom", epochs="1", speed="max", hidden="16")
    assert_clean(again)
    assert [g["name"] for g in finished_groups(again)] == [g["name"] for g in kept_groups]
    assert catalog("en")["train.test_accuracy"] in text_of(again)
    # removing it there is kept too: a third session finds nothing
    again.button(key="train.remove").click().run()
    third = open_page(PAGE, "en")
    assert finished_groups(third) == []


@pytest.fixture
def limits():
    shared = sections.runner()
    before = shared.max_per_owner, shared.max_queue, shared.max_concurrent
    yield shared
    shared.max_per_owner, shared.max_queue, shared.max_concurrent = before


@pytest.mark.parametrize("lang", ["en"])  # AppTest cannot click a page whose selectbox labels are translated
def test_a_start_past_the_session_limit_says_so_and_starts_nothing(limits, lang):
    limits.max_per_owner = 1  # a pair is two runs
    at = open_page(PAGE, lang)
    at.button(key="train.start").click().run()
    assert_clean(at)
    assert sections.ACTIVE not in at.session_state
    text = catalog(lang)["train.limit_session"].format(n=1)
    assert text in [w.value for w in at.warning]
    assert limits.counts()["queued"] + limits.counts()["running"] == 0


@pytest.mark.parametrize("lang", ["en"])
def test_a_start_past_the_queue_limit_says_so(limits, lang):
    limits.max_concurrent, limits.max_queue = 1, 1
    other = limits.submit(LONG)  # another page's run holds the only slot: a pair needs two places in the queue
    try:
        at = open_page(PAGE, lang)
        at.button(key="train.start").click().run()
        text = catalog(lang)["train.limit_queue"].format(n=1, limit=1)
        assert text in [w.value for w in at.warning]
        assert sections.ACTIVE not in at.session_state and limits.counts()["queued"] == 0
    finally:
        limits.forget(other)


def test_a_queued_pair_shows_its_place_and_estimated_wait(limits):
    limits.max_concurrent = 1
    at = open_page(PAGE, "en", speed="20")  # paced: the running run's length is known at once
    at.button(key="train.start").click().run()
    en = catalog("en")

    def shown(a):
        return any(en["train.queue_wait"].split("{")[0] in i.value for i in a.info)

    poll(at, shown, timeout=60)
    info = next(i.value for i in at.info if en["train.queue_wait"].split("{")[0] in i.value)
    assert en["train.queued"].format(place=1, limit=1) in info
    at.button(key="train.reset").click().run()

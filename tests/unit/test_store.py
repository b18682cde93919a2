"""The bounded store shared by a server's sessions (serve.store): count, age and bytes, least recently used first
out, and no single entry over the byte bound."""

from serve.store import BoundedStore


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_store_keeps_at_most_max_items_dropping_the_least_recently_used():
    store = BoundedStore(len, max_items=3, max_bytes=100, clock=Clock())
    for key in "abc":
        store.put(key, "x")
    assert store.get("a") is not None  # a is now the most recently used
    store.put("d", "x")
    assert len(store) == 3 and store.get("b") is None
    assert [store.get(k) is not None for k in "acd"] == [True, True, True]


def test_the_store_forgets_an_entry_max_age_after_it_was_written():
    clock = Clock()
    store = BoundedStore(len, max_items=10, max_bytes=100, max_age=60.0, clock=clock)
    store.put("a", "1")
    clock.now += 40
    store.put("b", "22")
    assert store.get("a") == "1"  # a read does not make it younger
    clock.now += 30  # a: 70 s old, b: 30 s
    assert store.get("a") is None and store.get("b") == "22"
    assert len(store) == 1 and store.bytes == 2


def test_the_store_stays_under_its_byte_budget_and_refuses_an_entry_over_it():
    store = BoundedStore(len, max_items=10, max_bytes=10, clock=Clock())
    store.put("a", "xxxxxx")  # 6 bytes
    store.put("b", "yyy")  # 9
    store.put("a", "zzz")  # replaced: 3 + 3 = 6, not 12
    assert store.bytes == 6 and len(store) == 2
    store.put("c", "wwwww")  # 11 > 10: the least recently used (b) goes
    assert store.get("b") is None and store.bytes == 8
    assert store.put("huge", "h" * 11) is False  # alone over the bound: not kept, and nothing pushed out
    assert "huge" not in store and store.bytes == 8 and len(store) == 2

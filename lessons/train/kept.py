"""What a browser tab keeps of the `train` lesson across reloads: its finished runs (for
comparison) and the runs it is training, on the server, under the tab's id (ui.session.tab_id).

One store for the whole server, and the only state the lesson shares between sessions, so it is
locked and bounded three ways: at most ``max_tabs`` records, none older than ``max_age`` seconds
since it was last written, and at most ``max_bytes`` in all (the least recently used go first).
A record is immutable: a page replaces it, never changes it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_TABS = 100  # a class or two, each with a tab or two open
MAX_AGE = 3600.0  # seconds: a lesson's length
MAX_BYTES = 200 * 2**20  # the largest MNIST pair is about 8 MB; a digits pair about 0.2 MB


@dataclass(frozen=True)
class Record:
    counter: int  # groups started (their numbers go on)
    groups: tuple  # finished groups, oldest first: {"name": str, "runs": [RunView]}
    active: tuple[str, ...] = ()  # run ids training or queued
    paused: bool = False
    group_name: str = ""  # the active group's name


class Kept:
    def __init__(
        self,
        size_of: Callable[[Record], int],
        max_tabs: int = MAX_TABS,
        max_age: float = MAX_AGE,
        max_bytes: int = MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._size_of, self._clock = size_of, clock
        self.max_tabs, self.max_age, self.max_bytes = max_tabs, max_age, max_bytes
        self._lock = threading.Lock()
        self._records: OrderedDict[str, tuple[float, int, Record]] = OrderedDict()  # tab -> (written, bytes, record)
        self._bytes = 0

    def get(self, tab: str) -> Record | None:
        with self._lock:
            self._expire()
            entry = self._records.get(tab)
            if entry is None:
                return None
            self._records.move_to_end(tab)
            return entry[2]

    def put(self, tab: str, record: Record) -> None:
        size = self._size_of(record)  # outside the lock: it may take milliseconds
        with self._lock:
            self._pop(tab)
            self._records[tab] = (self._clock(), size, record)
            self._bytes += size
            self._expire()
            while len(self._records) > self.max_tabs or (self._bytes > self.max_bytes and len(self._records) > 1):
                self._pop(next(iter(self._records)))

    def drop(self, tab: str) -> None:
        with self._lock:
            self._pop(tab)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._records)

    @property
    def bytes(self) -> int:
        with self._lock:
            return self._bytes

    def _pop(self, tab: str) -> None:
        entry = self._records.pop(tab, None)
        if entry is not None:
            self._bytes -= entry[1]

    def _expire(self) -> None:
        now = self._clock()
        for tab in [t for t, (written, _, _) in self._records.items() if now - written > self.max_age]:
            self._pop(tab)

"""A bounded, thread-safe store shared by every session of a server: at most ``max_items`` entries,
none older than ``max_age`` seconds since it was last written, at most ``max_bytes`` in all (the
least recently used go first), and no single entry over ``max_bytes`` (it is not kept at all).

Two stores use it: the run records (serve.runner: finished runs by configuration, shared by every
student who asks for the same configuration) and what each browser tab keeps of its lesson across
reloads (only keys of records: a few hundred bytes). A value is immutable: replace it, never change it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class BoundedStore:
    def __init__(
        self,
        size_of: Callable[[Any], int],
        max_items: int,
        max_bytes: int,
        max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._size_of, self._clock = size_of, clock
        self.max_items, self.max_bytes, self.max_age = max_items, max_bytes, max_age
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, int, Any]] = OrderedDict()  # key -> (written, bytes, value)
        self._bytes = 0

    def get(self, key: str) -> Any | None:
        with self._lock:
            self._expire()
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[2]

    def __contains__(self, key: str) -> bool:
        with self._lock:
            self._expire()
            return key in self._entries

    def put(self, key: str, value: Any) -> bool:
        """Keep ``value`` under ``key`` (replacing what was there); False if it alone is over the byte bound."""
        size = self._size_of(value)  # outside the lock: it may take milliseconds
        with self._lock:
            self._pop(key)
            if size > self.max_bytes:
                return False
            self._entries[key] = (self._clock(), size, value)
            self._bytes += size
            self._expire()
            while len(self._entries) > self.max_items or self._bytes > self.max_bytes:
                self._pop(next(iter(self._entries)))
            return True

    def drop(self, key: str) -> None:
        with self._lock:
            self._pop(key)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    @property
    def bytes(self) -> int:
        with self._lock:
            return self._bytes

    def _pop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[1]

    def _expire(self) -> None:
        if self.max_age is None:
            return
        now = self._clock()
        for key in [k for k, (written, _, _) in self._entries.items() if now - written > self.max_age]:
            self._pop(key)

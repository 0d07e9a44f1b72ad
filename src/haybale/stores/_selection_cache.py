"""Remember which documents a filter selected, until the stored data changes.

A filtered search first selects the documents matching its filter: SQLite scans every row with the compiled
``WHERE`` clause, the in-memory store runs the Python predicate on every document. That selection costs tens
of milliseconds at 100k documents, against well under a millisecond for the ranking itself, and a
tenant-scoped store repeats it on every query with the same tenant condition. :class:`SelectionCache` keeps
the last few selections of one store, each tagged with the *data version* it was computed from (SQLite: the
database's ``version`` setting, bumped by every committed write from any process; memory store: a counter
bumped by every mutation). A lookup under another version empties the cache, so an entry is only ever
returned for the exact data it was selected from.

The filter language has no operator whose result depends on anything but the stored document (no clock, no
environment, no randomness), so every filter's selection is cacheable.

Bounds: at most :data:`MAX_ENTRIES` selections (least recently used dropped first) holding at most
:data:`MAX_BYTES` of arrays together; a selection larger than :data:`MAX_ENTRY_BYTES` is returned but not
kept. Cached arrays are made read-only, so no caller can change what the next search reads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

__all__ = ["MAX_BYTES", "MAX_ENTRIES", "MAX_ENTRY_BYTES", "SelectionCache"]

_T = TypeVar("_T")

#: How many selections one store keeps.
MAX_ENTRIES = 32
#: How many bytes of selections one store keeps (a 100k-document store needs 100 kB per memory mask and
#: 800 kB per SQLite selection of every document).
MAX_BYTES = 64 * 2**20
#: The largest single selection kept (2M SQLite seqs, 16M memory-store slots).
MAX_ENTRY_BYTES = 16 * 2**20


def _arrays(value: Any) -> list[Any]:
    """The numpy arrays in ``value`` (an array, or a tuple of arrays and Nones)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, tuple):
        return [array for item in value for array in _arrays(item)]
    return []


class SelectionCache:
    """A bounded LRU map ``key -> selection`` valid for one data version; thread-safe.

    Values are numpy arrays or tuples of them (and None); they are made read-only when stored.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._version: Hashable = None
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every selection."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def get(self, version: Hashable, key: Hashable, select: Callable[[], _T]) -> _T:
        """The selection of ``key`` at data ``version``: cached, or ``select()`` (then kept when it fits).

        ``select`` runs outside the cache's lock; its result is only kept when the cache is still at
        ``version`` afterwards (another thread may have seen newer data meanwhile).
        """
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._bytes = 0
                self._version = version
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[0]  # type: ignore[no-any-return]
        value = select()
        arrays = _arrays(value)
        size = sum(array.nbytes for array in arrays)
        if size > min(MAX_ENTRY_BYTES, self.max_bytes):
            return value
        for array in arrays:
            array.flags.writeable = False
        with self._lock:
            if version == self._version and key not in self._entries:
                self._entries[key] = (value, size)
                self._bytes += size
                while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                    _key, (_value, dropped) = self._entries.popitem(last=False)
                    self._bytes -= dropped
        return value

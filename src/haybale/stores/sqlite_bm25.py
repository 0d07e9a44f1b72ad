"""The in-process BM25 index of :class:`~haybale.stores.sqlite.SQLiteDocumentStore`.

The FTS5 table ``documents_fts`` is the durable token store: it holds every document's terms from the shared
:class:`~haybale.stores.text_analysis.Analyzer`. Ranking, however, runs in process over the same inverted
index class as :class:`~haybale.stores.memory.InMemoryDocumentStore`
(:class:`~haybale.stores.memory_bm25.BM25Index`), so

* scores are *identical* to the in-memory store's for the same analyzer, variant and parameters (FTS5's own
  ``bm25()`` uses a different idf and cannot be configured), and
* a query costs what it costs in memory (well under a millisecond at 100k documents) instead of the
  tens of milliseconds FTS5 spends walking and ranking every matching row.

Life cycle, the same as the vector index (:mod:`haybale.stores.sqlite_vectors`):

* **Loaded lazily** by the first ``bm25_search``, from the stored terms (no re-analysis of the content), at
  the database write ``version`` read in the same read transaction. Documents with content but no term
  (only stop words) are indexed with length 0, as the in-memory store does, so the document count ``N`` and
  the average length agree.
* **Updated in place** after every write committed by this process: the store hands over the terms of the
  documents it inserted and (read from FTS5 inside the write transaction) of those it deleted.
* **Reloaded** when the database ``version`` differs from the index's: another process (or another store
  instance on the same file) wrote in between.

Documents are held in small integer *slots* (reused after deletes) mapped to the table's ``seq``; a fresh
load assigns slots in ``seq`` order, so equal scores rank older documents first, as in memory.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from haybale.stores.memory_bm25 import BM25Index
from haybale.stores.text_analysis import Analyzer

__all__ = ["SQLiteBM25Index", "decode_fts_terms"]

_LOAD_BATCH = 16384
_UPPER = re.compile("\ue001(.)")


def decode_fts_terms(text: str) -> str:
    """Invert :func:`haybale.stores.sqlite_schema.fts_term` on a space-joined run of stored terms."""
    if "\ue000" in text:
        text = text.replace("\ue000", "_")
    if "\ue001" in text:
        text = _UPPER.sub(lambda match: match.group(1).upper(), text)
    return text


class SQLiteBM25Index:
    """BM25 over the documents of one SQLite database, keyed by ``documents.seq``.

    Args:
        analyzer: the store's analyzer (query terms are produced with it).
        variant, k1, b, delta: BM25 settings, as for :class:`~haybale.stores.memory_bm25.BM25Index`.

    Raises:
        ValueError: unknown variant or parameters out of range.
    """

    def __init__(self, analyzer: Analyzer, variant: str, k1: float, b: float, delta: float) -> None:
        self._settings = (analyzer, k1, b, delta, variant)
        self._index = BM25Index(analyzer, k1, b, delta, variant)  # validates the settings now
        self.version = -1  # no database version loaded yet
        self._slot_of: dict[int, int] = {}
        self._seq_of_slot: Any = np.full(0, -1, dtype=np.int64)
        self._free: list[int] = []

    @property
    def loaded(self) -> bool:
        """Whether the index reflects some committed database version (it may be stale)."""
        return self.version >= 0

    def __len__(self) -> int:
        return len(self._slot_of)

    def score_details(self) -> dict[str, Any]:
        """The parameters scores are computed with (for ``score_details``)."""
        return self._index.score_details()

    # ---------------------------------------------------------------------------------------- loading
    def load(self, connection: sqlite3.Connection, version: int) -> None:
        """Rebuild from the database (call inside a read transaction that read ``version``)."""
        analyzer, k1, b, delta, variant = self._settings
        self._index = BM25Index(analyzer, k1, b, delta, variant)
        self._slot_of = {}
        self._seq_of_slot = np.full(0, -1, dtype=np.int64)
        self._free = []
        # Every document with content is indexed (one with only stop words has no FTS row: length 0).
        cursor = connection.execute(
            "SELECT d.seq, f.terms FROM documents AS d LEFT JOIN documents_fts AS f ON f.rowid = d.seq "
            "WHERE d.content IS NOT NULL AND d.content <> '' ORDER BY d.seq"
        )
        while True:
            rows = cursor.fetchmany(_LOAD_BATCH)
            if not rows:
                break
            self._add([row[0] for row in rows], [decode_fts_terms(row[1] or "") for row in rows])
        self.version = version

    # ---------------------------------------------------------------------------------------- updates
    def apply(
        self,
        removed: Iterable[int],
        removed_terms: Mapping[int, str],
        added: list[tuple[int, str]],
        version: int,
    ) -> None:
        """Apply one committed write: forget ``removed`` seqs (their stored terms in ``removed_terms``,
        missing for a document without terms), index ``added`` ``(seq, terms joined by spaces)``, and record
        the database ``version`` reached."""
        slots: list[int] = []
        texts: list[str] = []
        for seq in removed:
            slot = self._slot_of.pop(seq, None)
            if slot is not None:
                slots.append(slot)
                texts.append(decode_fts_terms(removed_terms.get(seq, "")))
        if slots:
            self._index.remove(slots, texts, analyzed=True)
            self._seq_of_slot[slots] = -1
            self._free.extend(sorted(slots, reverse=True))
        if added:
            self._add([seq for seq, _ in added], [terms for _, terms in added])
        self.version = version

    def _add(self, seqs: list[int], texts: list[str]) -> None:
        slots = []
        for seq in seqs:
            slot = self._free.pop() if self._free else len(self._slot_of) + len(self._free)
            self._slot_of[seq] = slot
            slots.append(slot)
        top = max(slots) + 1
        if top > len(self._seq_of_slot):
            grown = np.full(max(top, 2 * len(self._seq_of_slot), 1024), -1, dtype=np.int64)
            grown[: len(self._seq_of_slot)] = self._seq_of_slot
            self._seq_of_slot = grown
        self._seq_of_slot[slots] = seqs
        self._index.add(slots, texts, analyzed=True)

    # ----------------------------------------------------------------------------------------- search
    def search(self, query: str, top_k: int, candidates: list[int] | None = None) -> list[tuple[int, float]]:
        """Up to ``top_k`` ``(seq, score)`` pairs, best first (equal scores: lower seq first), among the
        documents whose seq is in ``candidates`` (all when None) that contain a term of ``query``."""
        mask = None
        if candidates is not None:
            if not candidates:
                return []
            mask = np.isin(self._seq_of_slot, np.asarray(candidates, dtype=np.int64))
        slots, scores = self._index.search(query, top_k, mask)
        seqs = self._seq_of_slot[slots].tolist()
        hits = list(zip(seqs, scores.tolist(), strict=True))
        hits.sort(key=lambda hit: (-hit[1], hit[0]))  # slots are reused: restore the seq tie-break
        return hits

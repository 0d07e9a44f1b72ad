"""Posting blocks: how the persisted BM25 index of :class:`~haybale.stores.sqlite.SQLiteDocumentStore` keeps
its posting lists in SQLite (schema version 4).

A segment's terms, in string order, are cut into blocks of up to :data:`BLOCK_TERMS` terms and fewer than
twice :data:`BLOCK_POSTINGS` postings (a block's terms start within one window of that many postings); a term
with at least :data:`BLOCK_POSTINGS` postings in the segment gets a block of its own. Reading a term thus
reads at most a few kilobytes besides its own postings. Each block is one row of ``bm25_blocks`` (a
``WITHOUT ROWID`` table keyed by ``(segment, last_term)``):

* ``last_term`` -- the block's largest term: the block of ``term`` in a segment is the first one whose
  ``last_term >= term`` (one index seek), and ``term`` is in the index exactly when it is in that block;
* ``terms`` -- the block's terms, UTF-8, separated by ``"\\x00"`` (not a word character: no term holds it);
* ``counts`` -- uint32 per term: its number of postings;
* ``offsets`` -- uint32 per posting, term after term: the documents' ``seq - base`` in increasing order;
* ``tfs`` -- the postings' term frequencies, uint8 when all of the block's are below 256, else uint32.

Up to version 3 every (term, segment) pair was a row of its own in a rowid table with two indexes: a bulk
write of 100k short documents ("doc 0" ... "doc 99999") inserted 100k rows into three B-trees; as blocks it
inserts about 800 rows into one, written in key order.
"""

from __future__ import annotations

import json
import sqlite3
from bisect import bisect_left
from typing import Any

import numpy as np

__all__ = [
    "BLOCK_POSTINGS",
    "BLOCK_TERMS",
    "Block",
    "block_of",
    "block_rows",
    "decode_block",
    "insert_blocks",
    "migrate_postings_table",
    "segment_postings",
    "term_postings",
]

BLOCK_TERMS = 128
BLOCK_POSTINGS = 1024
_TERM_SEPARATOR = "\x00"
_INSERT = (
    "INSERT INTO bm25_blocks (segment, last_term, terms, counts, offsets, tfs) VALUES (?, ?, ?, ?, ?, ?)"
)
#: Per segment, the block that may hold a term (``?``): the first whose last term is not smaller.
_TERM_BLOCKS = (
    "SELECT s.segment, b.terms, b.counts, b.offsets, b.tfs FROM bm25_segments AS s "
    "JOIN bm25_blocks AS b ON b.segment = s.segment AND b.last_term = "
    "(SELECT MIN(last_term) FROM bm25_blocks WHERE segment = s.segment AND last_term >= ?1) "
    "ORDER BY s.segment"
)

#: A decoded block: terms, postings bounds per term (``len(terms) + 1``), offsets, term frequencies.
Block = tuple[list[str], Any, Any, Any]


def block_rows(segment: int, terms: list[str], counts: Any, offsets: Any, tfs: Any) -> list[tuple[Any, ...]]:
    """The ``bm25_blocks`` rows of one segment.

    Args:
        segment: the segment id.
        terms: the segment's terms in string order (each with at least one posting).
        counts: postings per term, in the same order.
        offsets: every posting's ``seq - base``, term after term (increasing within a term).
        tfs: the postings' term frequencies, in the same order.
    """
    n = len(terms)
    if not n:
        return []
    counts = np.asarray(counts, dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    alone = counts >= BLOCK_POSTINGS
    window = bounds[:-1] // BLOCK_POSTINGS  # a block's terms start in one window of postings
    breaks = alone.copy()
    breaks[1:] |= alone[:-1] | (window[1:] != window[:-1])
    breaks[0] = True
    positions = np.arange(n)
    run_start = np.maximum.accumulate(np.where(breaks, positions, 0))
    starts = np.flatnonzero(breaks | ((positions - run_start) % BLOCK_TERMS == 0))
    ends = np.append(starts[1:], n)
    wide = (np.maximum.reduceat(tfs, bounds[starts]) >= 256).tolist()
    offset_bytes = np.asarray(offsets).astype("<u4", copy=False).tobytes()
    narrow_tfs = (np.minimum(tfs, 255) if any(wide) else np.asarray(tfs)).astype("u1").tobytes()
    wide_tfs = np.asarray(tfs).astype("<u4").tobytes() if any(wide) else b""
    count_bytes = counts.astype("<u4").tobytes()
    post = bounds.tolist()
    rows = []
    for lo, hi, is_wide in zip(starts.tolist(), ends.tolist(), wide, strict=True):
        plo, phi = post[lo], post[hi]
        rows.append(
            (
                segment,
                terms[hi - 1],
                _TERM_SEPARATOR.join(terms[lo:hi]).encode("utf-8"),
                count_bytes[4 * lo : 4 * hi],
                offset_bytes[4 * plo : 4 * phi],
                wide_tfs[4 * plo : 4 * phi] if is_wide else narrow_tfs[plo:phi],
            )
        )
    return rows


def insert_blocks(connection: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert rows made by :func:`block_rows`."""
    connection.executemany(_INSERT, rows)


def decode_block(terms: bytes, counts: bytes, offsets: bytes, tfs: bytes) -> Block:
    """The contents of one ``bm25_blocks`` row."""
    offset_array = np.frombuffer(offsets, dtype="<u4")
    tf_array = np.frombuffer(tfs, dtype="u1" if len(tfs) == len(offset_array) else "<u4")
    bounds = np.concatenate([[0], np.cumsum(np.frombuffer(counts, dtype="<u4"), dtype=np.int64)])
    return terms.decode("utf-8").split(_TERM_SEPARATOR), bounds, offset_array, tf_array


def term_postings(connection: sqlite3.Connection, term: str) -> list[tuple[int, Any, Any]]:
    """``(segment, offsets, tfs)`` of ``term`` in every segment that holds it, by segment."""
    found = []
    for segment, *row in connection.execute(_TERM_BLOCKS, (term,)):
        terms, bounds, offsets, tfs = decode_block(*row)
        position = _position(terms, term)
        if position >= 0:
            lo, hi = int(bounds[position]), int(bounds[position + 1])
            found.append((int(segment), offsets[lo:hi], tfs[lo:hi]))
    return found


def block_of(connection: sqlite3.Connection, segment: int, term: str) -> tuple[str, Block] | None:
    """``(last_term, block)`` of the block of ``segment`` that may hold ``term``; None past the last one."""
    row = connection.execute(
        "SELECT last_term, terms, counts, offsets, tfs FROM bm25_blocks "
        "WHERE segment = ? AND last_term >= ? ORDER BY last_term LIMIT 1",
        (segment, term),
    ).fetchone()
    return None if row is None else (row[0], decode_block(*row[1:]))


def _position(terms: list[str], term: str) -> int:
    """Where ``term`` is in a block's (sorted) ``terms``; -1 when it is not there."""
    position = bisect_left(terms, term)
    return position if position < len(terms) and terms[position] == term else -1


def segment_postings(
    connection: sqlite3.Connection, segments: list[int]
) -> dict[str, list[tuple[int, Any, Any]]]:
    """``{term: [(segment, offsets, tfs), ...]}`` of every term of ``segments`` (by segment within a term)."""
    by_term: dict[str, list[tuple[int, Any, Any]]] = {}
    rows = connection.execute(
        "SELECT segment, terms, counts, offsets, tfs FROM bm25_blocks "
        "WHERE segment IN (SELECT value FROM json_each(?)) ORDER BY segment, last_term",
        (json.dumps(segments),),
    )
    for segment, *row in rows:
        terms, bounds, offsets, tfs = decode_block(*row)
        edges = bounds.tolist()
        for position, term in enumerate(terms):
            lo, hi = edges[position], edges[position + 1]
            by_term.setdefault(term, []).append((int(segment), offsets[lo:hi], tfs[lo:hi]))
    return by_term


def migrate_postings_table(connection: sqlite3.Connection) -> None:
    """Rewrite the ``bm25_postings`` table of schema versions 2 and 3 (one row per term and segment:
    ``offsets`` uint32, ``tfs`` uint8 or uint32) as blocks, one segment at a time, and drop it."""
    segments = [row[0] for row in connection.execute("SELECT DISTINCT segment FROM bm25_postings ORDER BY 1")]
    for segment in segments:
        terms, counts, offsets, tfs = [], [], [], []
        for term, offset_blob, tf_blob in connection.execute(
            "SELECT term, offsets, tfs FROM bm25_postings WHERE segment = ?", (segment,)
        ):
            offset_array = np.frombuffer(offset_blob, dtype="<u4")
            terms.append(term)
            counts.append(len(offset_array))
            offsets.append(offset_array)
            tfs.append(np.frombuffer(tf_blob, dtype="u1" if len(tf_blob) == len(offset_array) else "<u4"))
        order = sorted(range(len(terms)), key=terms.__getitem__)
        if not order:
            continue
        insert_blocks(
            connection,
            block_rows(
                int(segment),
                [terms[i] for i in order],
                np.asarray([counts[i] for i in order], dtype=np.int64),
                np.concatenate([offsets[i] for i in order]),
                np.concatenate([tfs[i].astype("<u4") for i in order]),
            ),
        )
    connection.execute("DROP TABLE bm25_postings")

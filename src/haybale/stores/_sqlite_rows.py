"""How a write of :class:`~haybale.stores.sqlite.SQLiteDocumentStore` inserts its ``documents`` rows.

A row comes from :func:`~haybale.stores._sqlite_schema.encode_document`: ``(id, content, meta, marker)``, or
eight values when the document has a sparse embedding or a blob. A batch of the short rows binds only the
first five columns (``seq`` and those four); the other four default to NULL.

A large batch of short rows is inserted by one statement that reads the rows from a JSON array
(``json_each``), not by ``executemany``. ``executemany`` binds each row's values while holding the GIL and
releases it around each row's step; on 2 cores, with the BM25 analysis running in a worker thread during
the insert, the 100k hand-overs of the GIL (each a wait of up to the 5 ms switch interval) made a 100k-row
insert take several times its CPU time. The JSON array is encoded in C while this thread holds the GIL, and
SQLite inserts the whole batch without it. The values stored are the same: a row whose text could not make
the trip unchanged (a NUL character, at which SQLite's JSON strings end) or that JSON does not take sends
the batch through ``executemany``.

Only batches of short rows go through JSON: encoding the text and SQLite's parsing it back cost about 15 ns
per character, so for 100k documents of ~600 characters (60 MB) the JSON insert took 0.9 s of CPU, half of
it holding the GIL, where ``executemany`` took 0.5-0.6 s (and there the long BM25 analysis, not the insert,
is what the write waits for). For "doc i"-sized rows the JSON insert holds the GIL for 0.05 s of 100k rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from haybale.stores._sqlite_schema import (
    DOCUMENT_COLUMNS,
    IN_VECTOR_FILE,
    IN_VECTOR_FILE_SQL,
    SHORT_ROW_COLUMNS,
    full_row,
)

__all__ = ["JSON_MIN_ROWS", "RowInsert", "row_insert"]

#: Batches of at least this many short rows are inserted from a JSON array, when their content and metadata
#: average at most :data:`_JSON_MAX_MEAN_CHARS` characters a row.
JSON_MIN_ROWS = 2048
_JSON_MAX_MEAN_CHARS = 64
#: ``(statement, parameters, many)``: run with ``executemany`` when ``many``, else with ``execute``.
RowInsert = tuple[str, Any, bool]

_SHORT_INSERT = f"INSERT INTO documents ({SHORT_ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
_FULL_INSERT = f"INSERT INTO documents ({DOCUMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
#: Rows ``[id, content, meta]`` or ``[id, content, meta, embedded]`` of a JSON array, as seqs ``? + index``.
_JSON_INSERT = (
    f"INSERT INTO documents ({SHORT_ROW_COLUMNS}) "
    "SELECT ? + key, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
    "{marker} FROM json_each(?)"
)
_PER_ROW_MARKER = f"CASE WHEN json_extract(value, '$[3]') THEN {IN_VECTOR_FILE_SQL} END"
_FIRST_THREE = itemgetter(0, 1, 2)
_CONTENT = itemgetter(1)
_META = itemgetter(2)
_MARKER = itemgetter(3)


def row_insert(first: int, rows: Sequence[tuple[Any, ...]]) -> RowInsert:
    """The insert of ``rows`` (from ``encode_document``) as seqs ``first, first + 1, ...``."""
    seqs = range(first, first + len(rows))
    if max(map(len, rows)) > 4:
        return _FULL_INSERT, [(seq, *full_row(row)) for seq, row in zip(seqs, rows, strict=True)], True
    if len(rows) >= JSON_MIN_ROWS and _text_chars(rows) <= _JSON_MAX_MEAN_CHARS * len(rows):
        json_insert = _json_insert(first, rows)
        if json_insert is not None:
            return json_insert
    return _SHORT_INSERT, [(seq, *row) for seq, row in zip(seqs, rows, strict=True)], True


def _text_chars(rows: Sequence[tuple[Any, ...]]) -> int:
    """Characters of the rows' content (None for none) and metadata JSON."""
    return sum(map(len, filter(None, map(_CONTENT, rows)))) + sum(map(len, map(_META, rows)))


def _json_insert(first: int, rows: Sequence[tuple[Any, ...]]) -> RowInsert | None:
    """One statement inserting the short ``rows`` from a JSON array, or None when a value cannot make the
    trip unchanged."""
    markers = set(map(_MARKER, rows))
    if len(markers) == 1:  # a bulk load: every document embedded, or none; the marker is a constant
        values: list[Any] = list(map(_FIRST_THREE, rows))
        marker = IN_VECTOR_FILE_SQL if IN_VECTOR_FILE in markers else "NULL"
    else:
        values = [(*row[:3], row[3] is not None) for row in rows]
        marker = _PER_ROW_MARKER
    try:
        payload = json.dumps(values, ensure_ascii=False, check_circular=False)
    except (TypeError, ValueError):
        return None  # a value JSON does not take (a content that is not a string): bound row by row
    if "\\u0000" in payload:  # a NUL character, which SQLite's JSON strings end at
        return None
    return _JSON_INSERT.format(marker=marker), (first, payload), False

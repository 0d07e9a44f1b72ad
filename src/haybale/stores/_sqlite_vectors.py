"""Dense vectors of :class:`~haybale.stores.sqlite.SQLiteDocumentStore`: one memory-mapped float32 file.

The embeddings stay in the ``documents`` table (float32 BLOBs: the durable truth, returned with documents).
For search they are also appended, row after row, to one contiguous float32 file beside the database
(``<database>-vectors.<generation>``), which a process maps into memory: a new process runs its first
dense query without reading a single vector through Python.

Consistency with the database, inside each write transaction:

* new vectors are written at the file's end (rows ``vector_rows ..``) and flushed to disk (``fdatasync``)
  *before* ``COMMIT``; the transaction then records them in ``vector_segments`` (per segment: the first row,
  the rows' ``seq`` -- -1 once deleted -- and their inverse norms) and advances ``vector_rows``. A crash
  before the commit leaves rows past ``vector_rows`` that nothing refers to; the next write overwrites them.
* deletes mark rows dead in their segment; when more than half the rows are dead the live rows are copied
  to a new generation of the file in the same transaction (the old file is removed after the commit;
  processes that still map it keep a valid mapping).
* a file that is missing or shorter than ``vector_rows`` (copied without it, restored from a backup) is
  rebuilt from the BLOBs, under the write lock.

Scores are computed like :class:`~haybale.stores._memory_dense.DenseMatrix` (raw rows times the query, times
the stored inverse row norm for cosine), so both stores rank and score alike. Segments are merged
size-tiered like the BM25 segments, so a fresh process reads a few dozen small rows of metadata.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
from typing import Any

import numpy as np

from haybale.errors import DocumentStoreUsageError
from haybale.stores._bulk import inverse_norm, inverse_norms

__all__ = [
    "SIMILARITIES",
    "MappedVectors",
    "VectorFile",
    "append_vectors",
    "delete_vectors",
    "ensure_file",
    "rebuild_file",
]

SIMILARITIES = ("cosine", "dot_product")
_MERGE_FACTOR = 8
_COMPACT_MIN_DEAD = 1024
_INSERT_SEGMENT = (
    "INSERT INTO vector_segments (first_row, min_seq, max_seq, seqs, inv_norms) VALUES (?, ?, ?, ?, ?)"
)


def _setting(connection: sqlite3.Connection, key: str) -> int:
    row = connection.execute("SELECT value FROM haybale_store WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row is not None else 0


def _set(connection: sqlite3.Connection, key: str, value: int) -> None:
    connection.execute("INSERT OR REPLACE INTO haybale_store (key, value) VALUES (?, ?)", (key, str(value)))


class VectorFile:
    """The float32 rows of one database: a file beside it, or a growing array for ``":memory:"``.

    Args:
        database: the database path (``":memory:"`` keeps the rows in process memory).
    """

    def __init__(self, database: str) -> None:
        self.database = database
        self._memory: Any = np.zeros((0, 0), dtype=np.float32) if database == ":memory:" else None

    def path(self, generation: int) -> str:
        """The file of ``generation``."""
        return f"{os.path.expanduser(self.database)}-vectors.{generation}"

    def write(self, generation: int, first_row: int, matrix: Any, truncate: bool = False) -> None:
        """Write ``matrix`` at row ``first_row`` and flush it to disk."""
        if self._memory is not None:
            rows = first_row + len(matrix)
            if truncate or self._memory.shape[1] != matrix.shape[1]:
                self._memory = np.zeros((0, matrix.shape[1]), dtype=np.float32)
            if rows > len(self._memory):
                grown = np.zeros((max(rows, 2 * len(self._memory), 64), matrix.shape[1]), dtype=np.float32)
                grown[: len(self._memory)] = self._memory
                self._memory = grown
            self._memory[first_row:rows] = matrix
            return
        flags = os.O_RDWR | os.O_CREAT | (os.O_TRUNC if truncate else 0)
        descriptor = os.open(self.path(generation), flags, 0o644)
        try:
            data = np.ascontiguousarray(matrix, dtype="<f4").tobytes()
            os.pwrite(descriptor, data, first_row * matrix.shape[1] * 4) if data else None
            os.fdatasync(descriptor)
        finally:
            os.close(descriptor)

    def rows(self, generation: int, count: int, dim: int) -> Any | None:
        """The first ``count`` rows (memory-mapped, read-only), or None when the file is missing or short."""
        if self._memory is not None:
            if count and (len(self._memory) < count or self._memory.shape[1] != dim):
                return None
            return self._memory[:count] if count else np.zeros((0, dim), dtype=np.float32)
        if count == 0:
            return np.zeros((0, dim), dtype=np.float32)
        try:
            if os.path.getsize(self.path(generation)) < count * dim * 4:
                return None
            return np.memmap(self.path(generation), dtype="<f4", mode="r", shape=(count, dim))
        except (OSError, ValueError):
            return None

    def remove(self, generation: int) -> None:
        """Delete the file of an old generation (best effort: a leftover file is harmless)."""
        if self._memory is None:
            with contextlib.suppress(OSError):
                os.unlink(self.path(generation))


def append_vectors(
    connection: sqlite3.Connection, store_file: VectorFile, seqs: list[int], matrix: Any
) -> int | None:
    """Append the vectors of new documents ``seqs`` (increasing; ``matrix`` holds their float32 rows in the
    same order) inside a write transaction.

    Returns the generation of the file made obsolete by a repair (remove it after the commit), or None.
    """
    if not seqs:
        return None
    obsolete = ensure_file(connection, store_file, int(matrix.shape[1]))
    generation = _setting(connection, "vector_generation")
    first_row = _setting(connection, "vector_rows")
    store_file.write(generation, first_row, matrix)
    connection.execute(
        _INSERT_SEGMENT,
        (
            first_row,
            seqs[0],
            seqs[-1],
            np.asarray(seqs, dtype="<i8").tobytes(),
            inverse_norms(matrix).tobytes(),
        ),
    )
    _set(connection, "vector_rows", first_row + len(seqs))
    _merge_tail(connection)
    return obsolete


def _merge_tail(connection: sqlite3.Connection) -> None:
    """Concatenate the newest segments while :data:`_MERGE_FACTOR` of them share a size class."""
    while True:
        tail = connection.execute(
            "SELECT segment, length(seqs) / 8 FROM vector_segments ORDER BY segment DESC LIMIT ?",
            (_MERGE_FACTOR,),
        ).fetchall()
        classes = {int(math.log(max(rows, 1), _MERGE_FACTOR)) for _segment, rows in tail}
        if len(tail) < _MERGE_FACTOR or len(classes) != 1:
            return
        ids = json.dumps(sorted(segment for segment, _rows in tail))
        rows = connection.execute(
            "SELECT segment, first_row, min_seq, max_seq, seqs, inv_norms FROM vector_segments "
            "WHERE segment IN (SELECT value FROM json_each(?)) ORDER BY segment",
            (ids,),
        ).fetchall()
        connection.execute(
            "DELETE FROM vector_segments WHERE segment IN (SELECT value FROM json_each(?))", (ids,)
        )
        connection.execute(
            "INSERT INTO vector_segments (segment, first_row, min_seq, max_seq, seqs, inv_norms) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                rows[0][0],
                rows[0][1],
                rows[0][2],
                rows[-1][3],
                b"".join(row[4] for row in rows),
                b"".join(row[5] for row in rows),
            ),
        )


def delete_vectors(connection: sqlite3.Connection, store_file: VectorFile, seqs: list[int]) -> int | None:
    """Mark the rows of the deleted documents ``seqs`` dead; compact the file when most rows are dead.

    Returns the generation of the file made obsolete by a compaction (remove it after the commit), or None.
    """
    if not seqs:
        return None
    doomed = np.asarray(sorted(seqs), dtype=np.int64)
    segments = connection.execute(
        "SELECT segment, seqs FROM vector_segments WHERE max_seq >= ? AND min_seq <= ?",
        (int(doomed[0]), int(doomed[-1])),
    ).fetchall()
    dead = 0
    for segment, blob in segments:
        values = np.frombuffer(blob, dtype="<i8")
        hit = np.isin(values, doomed)
        if hit.any():
            values = values.copy()
            values[hit] = -1
            dead += int(hit.sum())
            connection.execute(
                "UPDATE vector_segments SET seqs = ? WHERE segment = ?", (values.tobytes(), segment)
            )
    if not dead:
        return None
    total_dead = _setting(connection, "vector_dead") + dead
    _set(connection, "vector_dead", total_dead)
    if total_dead > _COMPACT_MIN_DEAD and total_dead * 2 > _setting(connection, "vector_rows"):
        return rebuild_file(connection, store_file)
    return None


def ensure_file(connection: sqlite3.Connection, store_file: VectorFile, dim: int) -> int | None:
    """Inside a write transaction: rebuild the vector file from the BLOBs when it does not hold every row.

    Returns the obsolete generation when it rebuilt the file, else None.
    """
    rows = _setting(connection, "vector_rows")
    if rows and store_file.rows(_setting(connection, "vector_generation"), rows, dim) is None:
        return rebuild_file(connection, store_file)
    return None


def rebuild_file(connection: sqlite3.Connection, store_file: VectorFile) -> int:
    """Inside a write transaction: write every stored embedding to a new generation of the file (dead rows
    dropped) and reset the segments to match it. Returns the old generation (remove it after the commit)."""
    old = _setting(connection, "vector_generation")
    generation = old + 1
    cursor = connection.execute(
        "SELECT seq, embedding FROM documents WHERE embedding IS NOT NULL ORDER BY seq"
    )
    seqs: list[int] = []
    first_row = 0
    norms: list[Any] = []
    truncate = True
    while batch := cursor.fetchmany(16384):
        matrix = np.frombuffer(b"".join(row[1] for row in batch), dtype="<f4").reshape(len(batch), -1)
        store_file.write(generation, first_row, matrix, truncate=truncate)
        truncate = False
        seqs.extend(row[0] for row in batch)
        norms.append(inverse_norms(matrix))
        first_row += len(batch)
    if truncate:  # no vectors at all: an empty file of the new generation
        store_file.write(generation, 0, np.zeros((0, 1), dtype=np.float32), truncate=True)
    connection.execute("DELETE FROM vector_segments")
    if seqs:
        connection.execute(
            _INSERT_SEGMENT,
            (
                0,
                seqs[0],
                seqs[-1],
                np.asarray(seqs, dtype="<i8").tobytes(),
                np.concatenate(norms).tobytes(),
            ),
        )
    _set(connection, "vector_rows", len(seqs))
    _set(connection, "vector_dead", 0)
    _set(connection, "vector_generation", generation)
    return old


class MappedVectors:
    """The query side: brute-force cosine / dot-product search over the mapped file of one version."""

    def __init__(self, similarity: str, store_file: VectorFile) -> None:
        if similarity not in SIMILARITIES:
            raise DocumentStoreUsageError(
                f"Unknown embedding similarity {similarity!r}; choose one of {SIMILARITIES}."
            )
        self.similarity = similarity
        self.file = store_file
        self.version = -1
        self._matrix: Any = None
        self._rows: Any = None  # live row numbers, increasing (= seq order)
        self._seqs: Any = None
        self._inv_norms: Any = None
        self._dense = False  # every row of the matrix is live

    def load(self, connection: sqlite3.Connection, version: int, dim: int) -> bool:
        """Map the file and read the live rows (inside a read transaction that read ``version``).

        Returns False when the file does not match the database (the caller repairs it and retries).
        """
        count = _setting(connection, "vector_rows")
        matrix = self.file.rows(_setting(connection, "vector_generation"), count, dim)
        if matrix is None:
            return False
        rows, seqs, norms = [], [], []
        for first_row, blob, norm_blob in connection.execute(
            "SELECT first_row, seqs, inv_norms FROM vector_segments ORDER BY segment"
        ):
            values = np.frombuffer(blob, dtype="<i8")
            rows.append(np.arange(first_row, first_row + len(values)))
            seqs.append(values)
            norms.append(np.frombuffer(norm_blob, dtype="<f4"))
        all_rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        all_seqs = np.concatenate(seqs) if seqs else np.zeros(0, dtype=np.int64)
        all_norms = np.concatenate(norms) if norms else np.zeros(0, dtype=np.float32)
        live = all_seqs >= 0
        self._matrix = matrix
        self._rows, self._seqs, self._inv_norms = all_rows[live], all_seqs[live], all_norms[live]
        self._dense = bool(live.all()) and len(all_rows) == count
        self.version = version
        return True

    def search(
        self, query: list[float], top_k: int, candidates: list[int] | None = None
    ) -> list[tuple[int, float]]:
        """Up to ``top_k`` ``(seq, score)`` pairs, best first (ties: lower seq first), among ``candidates``
        (all when None)."""
        if top_k == 0 or self._seqs is None or not len(self._seqs):
            return []
        vector = np.asarray(query, dtype=np.float32)
        positions = None
        if candidates is not None:
            positions = np.flatnonzero(np.isin(self._seqs, np.asarray(candidates, dtype=np.int64)))
            if not len(positions):
                return []
        if positions is not None and len(positions) * 2 < len(self._seqs):
            scores = self._matrix[self._rows[positions]] @ vector
        else:
            scores = self._matrix @ vector if self._dense else (self._matrix @ vector)[self._rows]
            if positions is not None:
                scores = scores[positions]
        positions = np.arange(len(self._seqs)) if positions is None else positions
        if self.similarity == "cosine":
            scores = scores * self._inv_norms[positions]
        k = min(top_k, len(scores))
        best = np.argpartition(scores, len(scores) - k)[len(scores) - k :] if k < len(scores) else None
        chosen = positions if best is None else positions[best]
        values = (scores if best is None else scores[best]).astype(np.float64)
        if self.similarity == "cosine":
            values *= float(inverse_norm(vector))
        seqs = self._seqs[chosen]
        order = np.lexsort((seqs, -values))
        return list(zip(seqs[order].tolist(), values[order].tolist(), strict=True))

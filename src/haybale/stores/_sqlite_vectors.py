"""Dense vectors of :class:`~haybale.stores.sqlite.SQLiteDocumentStore`: one memory-mapped float32 file.

Since schema version 3 the embeddings live only in one contiguous float32 file beside the database
(``<database>-vectors.<generation>``), row after row; the ``documents`` table marks an embedded document
with an empty ``embedding`` BLOB, and documents read back get their vector from the mapped file. A process
maps the file: a new process runs its first dense query without reading a vector through Python, and a
write puts each vector on disk once (before version 3 every vector was also a BLOB in its row, written to
the WAL and again to the database by the checkpoint -- two thirds of a dense bulk write's I/O).

Consistency with the database, inside each write transaction (the file is the durable copy, so no
committed row may refer to a file row that is not on disk):

* new vectors are written at the file's end (rows ``vector_rows ..``) and flushed to disk (``fdatasync``;
  a newly created file also has its folder flushed, so its name survives a power loss) *before*
  ``COMMIT``; the transaction then records them in ``vector_segments`` (per segment: the first row, the
  rows' ``seq`` -- -1 once deleted -- and their inverse norms) and advances ``vector_rows``. A crash before
  the commit, or an embedding value that fails the conversion, leaves rows past ``vector_rows`` that
  nothing refers to (the file may stay longer than the rows recorded); the next write overwrites them.
* a write's embeddings are converted to float32 straight into their rows of the file
  (:meth:`VectorFile.fill`): the rows' blocks are reserved (``posix_fallocate``), the region is mapped
  shared and filled in place, then flushed (``msync`` and ``fdatasync``). The page cache is the only
  memory the rows take -- no float32 matrix in process memory that is then copied into it, which on a
  machine where fresh memory is dear cost a 100k x 384 write more than a second of kernel time once a
  process had written a few stores. Reserving first matters: a store into a mapped page that the disk
  has no room for kills the process with ``SIGBUS``, where a refused reservation is an ordinary error.
  Where blocks cannot be reserved (no ``posix_fallocate``, or a filesystem that does not support it)
  the rows are converted into a matrix and written with ``pwrite``, as compactions write.
* deletes mark rows dead in their segment; when more than half the rows are dead the live rows are copied
  from the mapped file to a new generation, flushed, and the transaction switches ``vector_generation`` to
  it; the old file is removed after the commit (processes that still map it keep a valid mapping). A crash
  before the commit leaves the old generation in use and an unreferenced new file that the next
  compaction truncates.
* a file that is missing or shorter than ``vector_rows`` (a database copied without it) cannot be rebuilt:
  reads and writes that need it raise :class:`~haybale.errors.DocumentStoreUnavailableError` naming the
  file and the fix. A store whose embedded documents were all deleted starts a new, empty generation.

Scores are computed like :class:`~haybale.stores._memory_dense.DenseMatrix` (raw rows times the query, times
the stored inverse row norm for cosine), so both stores rank and score alike. Segments are merged
size-tiered like the BM25 segments, so a fresh process reads a few dozen small rows of metadata.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from haybale.errors import DocumentStoreUnavailableError, DocumentStoreUsageError
from haybale.stores._bulk import inverse_norm, inverse_norms, new_matrix

__all__ = [
    "SIMILARITIES",
    "MappedVectors",
    "PendingVectors",
    "VectorFile",
    "VectorFileUnreadableError",
    "append_vectors",
    "compact_file",
    "delete_vectors",
    "rebuild_from_blobs",
    "unreadable_file_error",
]

_R = TypeVar("_R")
SIMILARITIES = ("cosine", "dot_product")
_MERGE_FACTOR = 8
_COMPACT_MIN_DEAD = 1024
_COPY_ROWS = 16384
_INSERT_SEGMENT = (
    "INSERT INTO vector_segments (first_row, min_seq, max_seq, seqs, inv_norms) VALUES (?, ?, ?, ?, ?)"
)


def _setting(connection: sqlite3.Connection, key: str) -> int:
    row = connection.execute("SELECT value FROM haybale_store WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row is not None else 0


def _set(connection: sqlite3.Connection, key: str, value: int) -> None:
    connection.execute("INSERT OR REPLACE INTO haybale_store (key, value) VALUES (?, ?)", (key, str(value)))


class VectorFile:
    """The float32 rows of one database: files beside it, or arrays in process memory for ``":memory:"``.

    Args:
        database: the database path (``":memory:"`` keeps each generation's rows in process memory).
    """

    def __init__(self, database: str) -> None:
        self.database = database
        self._memory: dict[int, Any] | None = {} if database == ":memory:" else None

    def path(self, generation: int) -> str:
        """The file of ``generation``."""
        return f"{os.path.expanduser(self.database)}-vectors.{generation}"

    def write(self, generation: int, first_row: int, matrix: Any, truncate: bool = False) -> None:
        """Write ``matrix`` at row ``first_row`` of ``generation`` and make it durable (``fdatasync``; the
        folder too when the file is new, so its name survives a power loss)."""
        if self._memory is not None:
            self._memory_rows(generation, first_row, matrix.shape[1], len(matrix), truncate)[...] = matrix
            return
        path = self.path(generation)
        try:
            self._write_file(path, first_row, matrix, truncate)
        except OSError as error:
            raise _unwritable(path, error) from error

    def fill(self, generation: int, first_row: int, count: int, dim: int, writer: Callable[[Any], _R]) -> _R:
        """Have ``writer`` fill rows ``first_row .. first_row + count`` of ``generation`` in place, then make
        them durable as :meth:`write` does; returns what ``writer`` returned.

        ``writer`` gets a writable float32 ``(count, dim)`` view onto the file's own pages (a shared memory
        mapping), so the rows reach the page cache without a second copy in process memory. The file's
        blocks are reserved first (``posix_fallocate``): storing into a mapped page that the disk has no room
        for kills the process (``SIGBUS``), where the reservation fails cleanly. Where the platform or the
        filesystem cannot reserve blocks, ``writer`` fills a matrix in memory that is then written as
        :meth:`write` does. When ``writer`` raises, the rows are left partly written (past the rows the
        database records, so nothing refers to them) and the error propagates.

        Raises:
            DocumentStoreUnavailableError: the file cannot be created, reserved (the disk is full) or flushed.
        """
        if self._memory is not None:
            return writer(self._memory_rows(generation, first_row, dim, count, False))
        if not count:
            return writer(np.zeros((0, dim), dtype=np.float32))
        path = self.path(generation)
        try:
            return self._fill_file(path, first_row, count, dim, writer)
        except OSError as error:
            raise _unwritable(path, error) from error

    @staticmethod
    def _fill_file(path: str, first_row: int, count: int, dim: int, writer: Callable[[Any], _R]) -> _R:
        created = not os.path.exists(path)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if _reserved(descriptor, first_row * dim * 4, count * dim * 4):
                rows = np.memmap(path, dtype="<f4", mode="r+", offset=first_row * dim * 4, shape=(count, dim))
                result = writer(rows)
                rows.flush()  # msync: the portable way to send a shared mapping's pages to the file
                del rows
            else:
                matrix = new_matrix(count, dim)
                result = writer(matrix)
                _write_all(descriptor, matrix, first_row * dim * 4)
            os.fdatasync(descriptor)
        finally:
            os.close(descriptor)
        if created:
            _sync_folder(path)
        return result

    @staticmethod
    def _write_file(path: str, first_row: int, matrix: Any, truncate: bool) -> None:
        created = truncate or not os.path.exists(path)
        flags = os.O_RDWR | os.O_CREAT | (os.O_TRUNC if truncate else 0)
        descriptor = os.open(path, flags, 0o644)
        try:
            _write_all(descriptor, matrix, first_row * matrix.shape[1] * 4)
            os.fdatasync(descriptor)
        finally:
            os.close(descriptor)
        if created:
            _sync_folder(path)

    def _memory_rows(self, generation: int, first_row: int, dim: int, count: int, truncate: bool) -> Any:
        """Rows ``first_row .. first_row + count`` of the in-memory ``generation``, grown to hold them."""
        assert self._memory is not None
        rows = first_row + count
        current = self._memory.get(generation)
        if truncate or current is None or current.shape[1] != dim:
            current = np.zeros((0, dim), dtype=np.float32)
        if rows > len(current):
            grown = np.zeros((max(rows, 2 * len(current), 64), dim), dtype=np.float32)
            grown[: len(current)] = current
            current = grown
        self._memory[generation] = current
        return current[first_row:rows]

    def holds(self, generation: int, count: int, dim: int) -> bool:
        """Whether the file of ``generation`` exists and holds at least ``count`` rows of ``dim`` values."""
        if count == 0:
            return True
        if self._memory is not None:
            current = self._memory.get(generation)
            return current is not None and len(current) >= count and current.shape[1] == dim
        try:
            return os.path.getsize(self.path(generation)) >= count * dim * 4
        except OSError:
            return False

    def rows(self, generation: int, count: int, dim: int) -> Any | None:
        """The first ``count`` rows (memory-mapped, read-only), or None when the file is missing or short."""
        if count == 0:
            return np.zeros((0, dim), dtype=np.float32)
        if not self.holds(generation, count, dim):
            return None
        if self._memory is not None:
            return self._memory[generation][:count]
        try:
            return np.memmap(self.path(generation), dtype="<f4", mode="r", shape=(count, dim))
        except (OSError, ValueError):
            return None

    def remove(self, generation: int) -> None:
        """Delete the file of an old generation (best effort: a leftover file is harmless)."""
        if self._memory is not None:
            self._memory.pop(generation, None)
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path(generation))


def _unwritable(path: str, error: OSError) -> DocumentStoreUnavailableError:
    return DocumentStoreUnavailableError(
        f"Cannot write the vector file {path!r} ({error}); nothing was written. Check the folder's free "
        "space and permissions."
    )


def _reserved(descriptor: int, start: int, length: int) -> bool:
    """Reserve the file's blocks for bytes ``start .. start + length`` (growing the file to hold them).

    Returns False where the platform has no ``posix_fallocate`` or the filesystem does not support it.

    Raises:
        OSError: the disk (or the user's quota) has no room for them.
    """
    allocate = getattr(os, "posix_fallocate", None)
    if allocate is None:
        return False
    try:
        allocate(descriptor, start, length)
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise
        return False
    return True


def _write_all(descriptor: int, matrix: Any, offset: int) -> None:
    """Write the float32 rows of ``matrix`` at byte ``offset`` of the open file."""
    flat: Any = np.ascontiguousarray(matrix, dtype="<f4").reshape(-1)
    data = memoryview(flat).cast("B")
    while data:  # pwrite may write less than asked (large writes, signals)
        written = os.pwrite(descriptor, data, offset)
        data, offset = data[written:], offset + written


def _sync_folder(path: str) -> None:
    """Flush the folder of a newly created ``path``, so the file's name survives a power loss."""
    folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class VectorFileUnreadableError(DocumentStoreUnavailableError):
    """The vector file of a SQLite store is missing or shorter than its database records."""


def unreadable_file_error(
    store_file: VectorFile, generation: int, rows: int, dim: int
) -> VectorFileUnreadableError:
    """The error for a vector file that is missing or shorter than the database records."""
    return VectorFileUnreadableError(
        f"The vector file {store_file.path(generation)!r} is missing or holds fewer than the {rows} rows of "
        f"{dim} float32 values the database {store_file.database!r} records. It is the only copy of the "
        "store's embeddings: restore it next to the database from the same backup or copy (a database and "
        "its '-vectors.<n>' file belong together), or delete the embedded documents (delete_by_filter) and "
        "write them again."
    )


@dataclass
class PendingVectors:
    """Rows being appended to the vector file inside a write transaction (see :func:`append_vectors`)."""

    connection: sqlite3.Connection
    first_row: int
    seqs: list[int]
    norms: Any  # their inverse norms, or the future of the background fill that computes them

    def record(self) -> None:
        """Wait for the rows to be on disk and record them in ``vector_segments`` and ``vector_rows``.

        Raises:
            Whatever the fill raised (the caller then rolls back: nothing refers to the rows).
        """
        norms = self.norms.result() if isinstance(self.norms, Future) else self.norms
        seqs = self.seqs
        self.connection.execute(
            _INSERT_SEGMENT,
            (self.first_row, seqs[0], seqs[-1], np.asarray(seqs, dtype="<i8").tobytes(), norms.tobytes()),
        )
        _set(self.connection, "vector_rows", self.first_row + len(seqs))
        _merge_tail(self.connection)


def append_vectors(
    connection: sqlite3.Connection,
    store_file: VectorFile,
    seqs: list[int],
    dim: int,
    writer: Callable[[Any], object],
    *,
    background: Executor | None = None,
) -> tuple[int | None, PendingVectors | None]:
    """Append the vectors of new documents ``seqs`` (increasing) inside a write transaction: ``writer``
    fills their float32 ``(len(seqs), dim)`` rows, in the same order, in place (:meth:`VectorFile.fill`),
    and their inverse norms are computed from the filled rows.

    With ``background`` the fill and its flush run there. Either way the caller must call
    :meth:`PendingVectors.record` before ``COMMIT`` (it waits for the flush: committed rows must not refer to
    vectors that are not on disk yet), and when it rolls back instead it must first wait for a background
    fill to end.

    Returns:
        ``(obsolete, pending)``: the generation of the file made obsolete when the store had no live vector
        and its file was missing (remove it after the commit) or None; the rows to record (None without
        ``seqs``).

    Raises:
        DocumentStoreUnavailableError: the file is missing or short while it holds live vectors.
    """
    if not seqs:
        return None, None
    obsolete = _usable_file(connection, store_file, dim)
    generation = _setting(connection, "vector_generation")
    first_row = _setting(connection, "vector_rows")

    def fill(rows: Any) -> Any:
        writer(rows)
        return inverse_norms(rows)

    if background is not None:
        norms: Any = background.submit(store_file.fill, generation, first_row, len(seqs), dim, fill)
    else:
        norms = store_file.fill(generation, first_row, len(seqs), dim, fill)
    return obsolete, PendingVectors(connection, first_row, seqs, norms)


def _usable_file(connection: sqlite3.Connection, store_file: VectorFile, dim: int) -> int | None:
    """Check that the file holds every row the database records before rows are appended to it.

    A missing file whose rows are all dead is replaced by a new, empty generation (returned: the obsolete
    one); a missing file with live rows is an error.
    """
    rows = _setting(connection, "vector_rows")
    generation = _setting(connection, "vector_generation")
    if store_file.holds(generation, rows, dim):
        return None
    if rows > _setting(connection, "vector_dead"):
        raise unreadable_file_error(store_file, generation, rows, dim)
    return compact_file(connection, store_file)


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
        return compact_file(connection, store_file)
    return None


def compact_file(connection: sqlite3.Connection, store_file: VectorFile) -> int:
    """Inside a write transaction: copy the live rows to a new generation of the file (flushed before the
    caller commits), and reset the segments to match it; the stored inverse norms are kept.

    Returns the old generation (remove it after the commit).

    Raises:
        DocumentStoreUnavailableError: the old file is missing or short while it holds live rows.
    """
    old = _setting(connection, "vector_generation")
    count = _setting(connection, "vector_rows")
    seqs, rows, norms = _live_rows(connection)
    dim = _setting(connection, "embedding_dim")
    generation = old + 1
    if not len(seqs):  # no live vectors (the old file is not even needed): an empty new generation
        store_file.write(generation, 0, np.zeros((0, max(dim, 1)), dtype=np.float32), truncate=True)
    source: Any = store_file.rows(old, count, dim) if len(seqs) else None
    if len(seqs) and source is None:
        raise unreadable_file_error(store_file, old, count, dim)
    for start in range(0, len(seqs), _COPY_ROWS):
        chunk = np.asarray(source[rows[start : start + _COPY_ROWS]], dtype=np.float32)
        store_file.write(generation, start, chunk, truncate=start == 0)
    _reset_segments(connection, seqs, norms, generation)
    return old


def rebuild_from_blobs(connection: sqlite3.Connection, store_file: VectorFile) -> int:
    """Inside a write transaction: write every embedding still held as a float32 BLOB in ``documents``
    (schema versions 1 and 2) to a new generation of the file and reset the segments to match it.

    Returns the old generation (remove it after the commit).
    """
    old = _setting(connection, "vector_generation")
    generation = old + 1
    cursor = connection.execute(
        "SELECT seq, embedding FROM documents WHERE length(embedding) > 0 ORDER BY seq"
    )
    seqs: list[int] = []
    first_row = 0
    norms: list[Any] = []
    while batch := cursor.fetchmany(_COPY_ROWS):
        matrix = np.frombuffer(b"".join(row[1] for row in batch), dtype="<f4").reshape(len(batch), -1)
        store_file.write(generation, first_row, matrix, truncate=first_row == 0)
        seqs.extend(row[0] for row in batch)
        norms.append(inverse_norms(matrix))
        first_row += len(batch)
    if not seqs:  # no vectors at all: an empty file of the new generation
        store_file.write(generation, 0, np.zeros((0, 1), dtype=np.float32), truncate=True)
    elif not _setting(connection, "embedding_dim"):  # reading the file back needs the row size
        _set(connection, "embedding_dim", int(matrix.shape[1]))
    _reset_segments(
        connection,
        np.asarray(seqs, dtype=np.int64),
        np.concatenate(norms) if norms else np.zeros(0, dtype=np.float32),
        generation,
    )
    return old


def _live_rows(connection: sqlite3.Connection) -> tuple[Any, Any, Any]:
    """The live ``(seqs, file rows, inverse norms)`` recorded in ``vector_segments``, in file order."""
    seqs, rows, norms = [], [], []
    for first_row, blob, norm_blob in connection.execute(
        "SELECT first_row, seqs, inv_norms FROM vector_segments ORDER BY segment"
    ):
        values = np.frombuffer(blob, dtype="<i8")
        rows.append(np.arange(first_row, first_row + len(values)))
        seqs.append(values)
        norms.append(np.frombuffer(norm_blob, dtype="<f4"))
    all_seqs = np.concatenate(seqs) if seqs else np.zeros(0, dtype=np.int64)
    all_rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    all_norms = np.concatenate(norms) if norms else np.zeros(0, dtype=np.float32)
    live = all_seqs >= 0
    return all_seqs[live], all_rows[live], all_norms[live]


def _reset_segments(connection: sqlite3.Connection, seqs: Any, norms: Any, generation: int) -> None:
    """Record that ``generation`` holds exactly the rows ``seqs`` (with ``norms``), in one segment."""
    connection.execute("DELETE FROM vector_segments")
    if len(seqs):
        connection.execute(
            _INSERT_SEGMENT,
            (
                0,
                int(seqs[0]),
                int(seqs[-1]),
                np.asarray(seqs, dtype="<i8").tobytes(),
                np.asarray(norms, dtype="<f4").tobytes(),
            ),
        )
    _set(connection, "vector_rows", len(seqs))
    _set(connection, "vector_dead", 0)
    _set(connection, "vector_generation", generation)


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

        Returns False when the file is missing or shorter than the database records (the caller retries in a
        new transaction -- another process may have just compacted the file -- and then reports it).
        """
        count = _setting(connection, "vector_rows")
        matrix = self.file.rows(_setting(connection, "vector_generation"), count, dim)
        if matrix is None:
            return False
        seqs, rows, norms = _live_rows(connection)
        self._matrix = matrix
        self._rows, self._seqs, self._inv_norms = rows, seqs, norms
        self._dense = len(rows) == count
        self.version = version
        return True

    def embeddings(self, seqs: list[int]) -> list[list[float]]:
        """The stored vectors of the documents ``seqs`` (each must have one), as lists of floats.

        Raises:
            DocumentStoreUnavailableError: a document's vector is not among the live rows (the file and the
                database disagree).
        """
        wanted = np.asarray(seqs, dtype=np.int64)
        positions = np.searchsorted(self._seqs, wanted)
        found = positions < len(self._seqs)
        found[found] = self._seqs[positions[found]] == wanted[found]
        if not found.all():
            raise DocumentStoreUnavailableError(
                f"The vector file of {self.file.database!r} has no row for the documents with seq "
                f"{wanted[~found][:5].tolist()}; the database and its vector file do not belong together. "
                "Restore both from the same backup."
            )
        rows: list[list[float]] = self._matrix[self._rows[positions]].tolist()
        return rows

    def _positions_of(self, candidates: Any) -> Any:
        """Where the live rows of ``candidates`` (increasing seqs) are among the live seqs, increasing;
        candidates without a live row are skipped."""
        seqs = self._seqs
        if len(candidates) * 4 >= len(seqs):  # a large share: one pass over the live seqs is cheaper
            return np.flatnonzero(np.isin(seqs, candidates))
        positions = np.searchsorted(seqs, candidates)  # both increasing: so are the positions
        inside = positions < len(seqs)
        positions, candidates = positions[inside], candidates[inside]
        return positions[seqs[positions] == candidates]

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
            positions = self._positions_of(np.asarray(candidates, dtype=np.int64))
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

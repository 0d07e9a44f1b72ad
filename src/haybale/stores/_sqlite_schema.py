"""Schema, connections and row encoding of :class:`~haybale.stores.sqlite.SQLiteDocumentStore`.

Tables:

* ``documents`` -- ``seq`` (INTEGER PRIMARY KEY, never reused), ``id`` (UNIQUE), ``content``, ``meta`` (JSON
  TEXT written with ``ensure_ascii=False`` so SQLite JSON paths match unicode keys), ``embedding`` (an empty
  BLOB for a document whose vector is in the vector file, NULL without one), ``sparse_embedding`` (JSON),
  ``blob`` / ``blob_mime_type`` / ``blob_meta``.
* ``bm25_segments`` / ``bm25_blocks`` -- the persisted BM25 index (:mod:`haybale.stores._sqlite_bm25`,
  :mod:`haybale.stores._sqlite_postings`).
* ``vector_segments`` -- which rows of the memory-mapped vector file hold which document
  (:mod:`haybale.stores._sqlite_vectors`).
* ``haybale_store`` -- key/value settings: schema version, analyzer settings, embedding dimension, the next
  ``seq`` and a write ``version`` bumped by every committed write (it keeps the in-process vector and BM25
  indexes in step with the table, even when another process writes).

Older files are migrated once, when opened, in one transaction:

* version 1 (before the persisted BM25 index) kept the analyzed terms in an FTS5 table and rebuilt an
  in-process index from them in every process: its BM25 index is built and the FTS5 table dropped.
* versions 1 and 2 kept every embedding as a float32 BLOB in its row (version 2 also in the vector file):
  the vectors are written from the BLOBs to a new generation of the vector file, flushed, and the BLOBs
  emptied -- from version 3 the vector file is their only copy.
* versions 2 and 3 kept one ``bm25_postings`` row per (term, segment): the rows are rewritten as posting
  blocks (version 4) and the table dropped.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from haybale.dataclasses import ByteStream, Document, SparseEmbedding
from haybale.errors import DocumentStoreUnavailableError, DocumentStoreUsageError
from haybale.stores._bulk import BULK_MIN_DOCUMENTS
from haybale.stores.text_analysis import Analyzer

__all__ = [
    "DOCUMENT_COLUMNS",
    "IN_VECTOR_FILE",
    "IN_VECTOR_FILE_SQL",
    "SCHEMA_VERSION",
    "SHORT_ROW_COLUMNS",
    "bulk_page_cache",
    "connect",
    "create_schema",
    "decode_document",
    "encode_document",
    "full_row",
    "locked_out_error",
    "read_setting",
    "write_setting",
]

SCHEMA_VERSION = 4
#: The ``embedding`` column of a document whose vector is in the vector file.
IN_VECTOR_FILE = b""
#: :data:`IN_VECTOR_FILE` as an SQL literal.
IN_VECTOR_FILE_SQL = "x''"
_MIGRATION_BATCH = 50_000
DOCUMENT_COLUMNS = "seq, id, content, meta, embedding, sparse_embedding, blob, blob_mime_type, blob_meta"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS haybale_store (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS documents (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        content TEXT,
        meta TEXT NOT NULL DEFAULT '{}',
        embedding BLOB,
        sparse_embedding TEXT,
        blob BLOB,
        blob_mime_type TEXT,
        blob_meta TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS bm25_segments (
        segment INTEGER PRIMARY KEY,
        base INTEGER NOT NULL,
        docs INTEGER NOT NULL,
        lengths BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS bm25_blocks (
        segment INTEGER NOT NULL,
        last_term TEXT NOT NULL,
        terms BLOB NOT NULL,
        counts BLOB NOT NULL,
        offsets BLOB NOT NULL,
        tfs BLOB NOT NULL,
        PRIMARY KEY (segment, last_term)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS vector_segments (
        segment INTEGER PRIMARY KEY,
        first_row INTEGER NOT NULL,
        min_seq INTEGER NOT NULL,
        max_seq INTEGER NOT NULL,
        seqs BLOB NOT NULL,
        inv_norms BLOB NOT NULL
    )""",
)


def connect(path: str, lock_timeout: float = 30.0) -> sqlite3.Connection:
    """Open a connection in autocommit mode (transactions are explicit) with WAL for file databases; a write
    waits up to ``lock_timeout`` seconds for another writer."""
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(
            path if path == ":memory:" else str(Path(path).expanduser()),
            isolation_level=None,
            check_same_thread=False,
            timeout=lock_timeout,
        )
        connection.execute(f"PRAGMA busy_timeout = {int(lock_timeout * 1000)}")
        if path != ":memory:":
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as error:
        raise locked_out_error(error, path, lock_timeout) or DocumentStoreUnavailableError(
            f"Cannot open the SQLite database at {path!r}: {error}"
        ) from error
    return connection


def locked_out_error(
    error: BaseException, path: str, lock_timeout: float
) -> DocumentStoreUnavailableError | None:
    """The store error for SQLite's "database is locked" (SQLITE_BUSY / SQLITE_LOCKED, extended codes
    included: another connection held its lock past ``lock_timeout``), or None for any other error: the
    request was fine, a retry may succeed, and nothing was written."""
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(error, sqlite3.OperationalError) or not isinstance(code, int):
        return None
    if code & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return None
    return DocumentStoreUnavailableError(
        f"The SQLite database {path!r} stayed locked by another connection or process for {lock_timeout:g} s "
        f"({error}); nothing was written. Retry later; if it persists, find the process holding a write "
        "transaction open on the file."
    )


#: Page cache of a bulk write's transaction (KiB): a 100k-document batch then rarely spills dirty pages early.
_BULK_CACHE_KIB = 131_072


@contextmanager
def bulk_page_cache(connection: sqlite3.Connection, documents: int) -> Iterator[None]:
    """Give the connection a large page cache for a bulk write; the usual one is restored afterwards (which
    frees the extra pages)."""
    if documents < BULK_MIN_DOCUMENTS:
        yield
        return
    usual = connection.execute("PRAGMA cache_size").fetchone()[0]
    connection.execute(f"PRAGMA cache_size = {-_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        connection.execute(f"PRAGMA cache_size = {int(usual)}")


def create_schema(connection: sqlite3.Connection, analyzer: Analyzer, vector_file: Any) -> None:
    """Create the tables if missing, migrate an older schema, and check the database was indexed with the
    same analyzer settings."""
    obsolete = None
    analyzer_settings = analyzer.to_dict()
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA:
            connection.execute(statement)
        settings = dict(connection.execute("SELECT key, value FROM haybale_store").fetchall())
        version = settings.get("schema_version")
        if version is not None and int(version) not in range(1, SCHEMA_VERSION + 1):
            raise DocumentStoreUsageError(
                f"The SQLite database has schema version {version}; this haybale reads versions 1 to "
                f"{SCHEMA_VERSION}. Re-index into a new file, or use the haybale that wrote it."
            )
        wanted = json.dumps(analyzer_settings, sort_keys=True)
        stored = settings.get("analyzer")
        if stored is not None and stored != wanted:
            raise DocumentStoreUsageError(
                f"The SQLite database was indexed with analyzer settings {stored}, but the store was "
                f"created with {wanted}. BM25 needs the same analyzer for indexing and querying: create the "
                "store with the database's settings, or re-index into a new file."
            )
        defaults = {
            "schema_version": str(SCHEMA_VERSION),
            "analyzer": wanted,
            "next_seq": "1",
            "version": "0",
            "vector_rows": "0",
            "vector_generation": "0",
        }
        connection.executemany(
            "INSERT OR IGNORE INTO haybale_store (key, value) VALUES (?, ?)", list(defaults.items())
        )
        if version is not None and int(version) == 1:
            _migrate_bm25_from_version_1(connection, analyzer)
        if version is not None and int(version) in (2, 3):
            _move_postings_to_blocks(connection)
        if version is not None and int(version) < 3:
            obsolete = _move_embeddings_to_vector_file(connection, vector_file)
        if version is not None and int(version) < SCHEMA_VERSION:
            connection.execute(
                "UPDATE haybale_store SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )
            connection.execute(
                "UPDATE haybale_store SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'"
            )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    if obsolete is not None:
        vector_file.remove(obsolete)


def _migrate_bm25_from_version_1(connection: sqlite3.Connection, analyzer: Analyzer) -> None:
    """Build the persisted BM25 index of a version-1 database and drop its FTS5 table."""
    from haybale.stores._sqlite_bm25 import index_documents

    cursor = connection.execute(
        "SELECT seq, content FROM documents WHERE content IS NOT NULL AND content <> '' ORDER BY seq"
    )
    while rows := cursor.fetchmany(_MIGRATION_BATCH):
        index_documents(connection, analyzer, [row[0] for row in rows], [row[1] for row in rows])
    connection.execute("DROP TABLE IF EXISTS documents_fts")


def _move_embeddings_to_vector_file(connection: sqlite3.Connection, vector_file: Any) -> int:
    """Write the BLOB embeddings of a version 1 / 2 database to a new, flushed generation of the vector file,
    then empty the BLOBs (version 3). Returns the obsolete generation (remove it after the commit)."""
    from haybale.stores._sqlite_vectors import rebuild_from_blobs

    obsolete = rebuild_from_blobs(connection, vector_file)
    connection.execute("UPDATE documents SET embedding = ? WHERE embedding IS NOT NULL", (IN_VECTOR_FILE,))
    return obsolete


def _move_postings_to_blocks(connection: sqlite3.Connection) -> None:
    """Rewrite the one-row-per-(term, segment) postings of a version 2 / 3 database as posting blocks
    (version 4), segment by segment, and drop the old table."""
    from haybale.stores._sqlite_postings import migrate_postings_table

    migrate_postings_table(connection)


def read_setting(connection: sqlite3.Connection, key: str) -> str | None:
    """One value of ``haybale_store`` (None when unset)."""
    row = connection.execute("SELECT value FROM haybale_store WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def write_setting(connection: sqlite3.Connection, key: str, value: str) -> None:
    """Insert or replace one value of ``haybale_store``."""
    connection.execute("INSERT OR REPLACE INTO haybale_store (key, value) VALUES (?, ?)", (key, value))


#: One encoder for every row: ``json.dumps`` with options builds a new encoder per call.
_ENCODE_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def _json(value: Any, what: str, document_id: str) -> str:
    if type(value) is dict and not value:
        return "{}"
    try:
        return _ENCODE_JSON(value)
    except (TypeError, ValueError) as error:
        raise DocumentStoreUsageError(
            f"Document {document_id!r}: {what} is not JSON-serializable ({error}). Store only strings, "
            "numbers, booleans, None, lists and dicts (convert dates to ISO strings)."
        ) from error


#: The columns of a row :func:`encode_document` gives for a document without sparse embedding or blob, and
#: the extra columns a full row adds (binding four NULLs per row made a 100k-row insert about 40 % slower).
SHORT_ROW_COLUMNS = "seq, id, content, meta, embedding"
_EXTRA_COLUMNS = (None, None, None, None)


def encode_document(document: Any, embedded: bool) -> tuple[Any, ...]:
    """The ``documents`` row of ``document`` without ``seq``: ``(id, content, meta, embedding marker)``, and
    ``(sparse, blob, blob_mime_type, blob_meta)`` after them when it has a sparse embedding or a blob (see
    :func:`full_row`); ``embedded`` says its vector goes to the vector file."""
    sparse = document.sparse_embedding
    blob = document.blob
    row = (
        document.id,
        document.content,
        _json(document.meta, "meta", document.id),
        IN_VECTOR_FILE if embedded else None,
    )
    if sparse is None and blob is None:
        return row
    return (
        *row,
        _json(sparse.to_dict(), "sparse_embedding", document.id) if sparse is not None else None,
        bytes(blob.data) if blob is not None else None,
        blob.mime_type if blob is not None else None,
        _json(blob.meta, "blob.meta", document.id) if blob is not None else None,
    )


def full_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of :func:`encode_document` with all of :data:`DOCUMENT_COLUMNS` after ``seq``."""
    return row if len(row) == 8 else row + _EXTRA_COLUMNS


def decode_document(
    row: tuple[Any, ...], score: float | None = None, embedding: list[float] | None = None
) -> Document:
    """Build a Document from a row selected with :data:`DOCUMENT_COLUMNS` and its vector (read from the vector
    file by the caller when the row's ``embedding`` marker says it has one)."""
    _seq, doc_id, content, meta, _marker, sparse, blob, blob_mime_type, blob_meta = row
    return Document(
        id=doc_id,
        content=content,
        meta=json.loads(meta),
        embedding=embedding,
        sparse_embedding=SparseEmbedding.from_dict(json.loads(sparse)) if sparse is not None else None,
        blob=ByteStream(data=blob, mime_type=blob_mime_type, meta=json.loads(blob_meta or "{}"))
        if blob is not None
        else None,
        score=score,
    )

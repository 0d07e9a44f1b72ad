"""Schema, connections and row encoding of :class:`~haybale.stores.sqlite.SQLiteDocumentStore`.

Tables:

* ``documents`` -- ``seq`` (INTEGER PRIMARY KEY, never reused), ``id`` (UNIQUE), ``content``, ``meta`` (JSON
  TEXT written with ``ensure_ascii=False`` so SQLite JSON paths match unicode keys), ``embedding`` (float32
  BLOB), ``sparse_embedding`` (JSON), ``blob`` / ``blob_mime_type`` / ``blob_meta``.
* ``documents_fts`` -- FTS5 table whose only column holds the document's terms from the shared
  :class:`~haybale.stores.text_analysis.Analyzer`, joined by spaces; its rowid is ``documents.seq``. It is the
  durable token store the in-process BM25 index (:mod:`haybale.stores.sqlite_bm25`) loads from.
* ``haybale_store`` -- key/value settings: schema version, analyzer settings, embedding dimension, the next
  ``seq`` and a write ``version`` bumped by every committed write (it keeps the in-process vector and BM25
  indexes in step with the table, even when another process writes).

FTS5's ``ascii`` tokenizer splits only on ASCII punctuation and folds only ASCII case, so the analyzer's terms
are stored verbatim after :func:`fts_term` maps the two things it would change (``_`` and ASCII capitals) to
private-use characters that analyzed words never contain.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from haybale.dataclasses import ByteStream, Document, SparseEmbedding
from haybale.errors import DocumentStoreUnavailableError, DocumentStoreUsageError

SCHEMA_VERSION = 1
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
    "CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(terms, tokenize = 'ascii')",
)

_FTS_ESCAPES = {ord("_"): "\ue000", **{ord(c): "\ue001" + c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}}


def fts_term(term: str) -> str:
    """Encode an analyzer term so FTS5's ``ascii`` tokenizer keeps it as exactly one, unchanged token."""
    return term.translate(_FTS_ESCAPES)


def connect(path: str) -> sqlite3.Connection:
    """Open a connection in autocommit mode (transactions are explicit) with WAL for file databases."""
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(
            path if path == ":memory:" else str(Path(path).expanduser()),
            isolation_level=None,
            check_same_thread=False,
            timeout=30.0,
        )
        connection.execute("PRAGMA busy_timeout = 30000")
        if path != ":memory:":
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as error:
        raise DocumentStoreUnavailableError(
            f"Cannot open the SQLite database at {path!r}: {error}"
        ) from error
    return connection


def create_schema(connection: sqlite3.Connection, analyzer_settings: dict[str, Any]) -> None:
    """Create the tables if missing and check the database was indexed with the same analyzer settings."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA:
            connection.execute(statement)
        settings = dict(connection.execute("SELECT key, value FROM haybale_store").fetchall())
        version = settings.get("schema_version")
        if version is not None and int(version) != SCHEMA_VERSION:
            raise DocumentStoreUsageError(
                f"The SQLite database has schema version {version}; this haybale reads version "
                f"{SCHEMA_VERSION}. Re-index into a new file."
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
        }
        connection.executemany(
            "INSERT OR IGNORE INTO haybale_store (key, value) VALUES (?, ?)", list(defaults.items())
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def read_setting(connection: sqlite3.Connection, key: str) -> str | None:
    """One value of ``haybale_store`` (None when unset)."""
    row = connection.execute("SELECT value FROM haybale_store WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def write_setting(connection: sqlite3.Connection, key: str, value: str) -> None:
    """Insert or replace one value of ``haybale_store``."""
    connection.execute("INSERT OR REPLACE INTO haybale_store (key, value) VALUES (?, ?)", (key, value))


def _json(value: Any, what: str, document_id: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise DocumentStoreUsageError(
            f"Document {document_id!r}: {what} is not JSON-serializable ({error}). Store only strings, "
            "numbers, booleans, None, lists and dicts (convert dates to ISO strings)."
        ) from error


def encode_document(document: Any, embedding_bytes: bytes | None) -> tuple[Any, ...]:
    """The ``documents`` row of ``document`` without ``seq`` (id, content, meta, embedding, sparse, blob)."""
    sparse = document.sparse_embedding
    blob = document.blob
    return (
        document.id,
        document.content,
        _json(document.meta, "meta", document.id),
        embedding_bytes,
        _json(sparse.to_dict(), "sparse_embedding", document.id) if sparse is not None else None,
        bytes(blob.data) if blob is not None else None,
        blob.mime_type if blob is not None else None,
        _json(blob.meta, "blob.meta", document.id) if blob is not None else None,
    )


def decode_document(row: tuple[Any, ...], score: float | None = None) -> Document:
    """Build a Document from a row selected with :data:`DOCUMENT_COLUMNS`."""
    import numpy as np

    _seq, doc_id, content, meta, embedding, sparse, blob, blob_mime_type, blob_meta = row
    return Document(
        id=doc_id,
        content=content,
        meta=json.loads(meta),
        embedding=np.frombuffer(embedding, dtype=np.float32).tolist() if embedding is not None else None,
        sparse_embedding=SparseEmbedding.from_dict(json.loads(sparse)) if sparse is not None else None,
        blob=ByteStream(data=blob, mime_type=blob_mime_type, meta=json.loads(blob_meta or "{}"))
        if blob is not None
        else None,
        score=score,
    )

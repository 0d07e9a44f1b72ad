"""SQLiteDocumentStore: the embedded, durable default store of the CLI and the service.

* **Durable and atomic**: WAL journal, ``synchronous=FULL``; every write (``write_documents``, deletes,
  ``update_by_filter``, ``replace_documents``) is one ``BEGIN IMMEDIATE`` transaction, so a crash or a
  ``kill -9`` mid-batch leaves either the whole batch or none of it.
* **BM25**: a persisted inverted index in the same database (:mod:`haybale.stores._sqlite_bm25`): posting
  lists per term and segment, updated inside every write transaction, so a new process answers its first
  query by reading just the query terms' postings -- nothing is rebuilt. Terms come from the shared
  :class:`~haybale.stores.text_analysis.Analyzer` and scores from the same BM25 code and statistics as
  ``InMemoryDocumentStore``, so they agree with it exactly. Only documents containing a query term are
  returned.
* **Dense search**: embeddings are rows of one contiguous float32 file beside the database, their only copy,
  which every process memory-maps (:mod:`haybale.stores._sqlite_vectors`): the file is written and flushed
  inside the write transaction, before its commit, so a new process searches without loading a vector
  through Python, and documents read back take their embedding from it. A missing file is an error that
  names it, never an empty result. Filters select candidate rows in SQL *before* ranking. A ``version``
  counter in the database, bumped by every write, tells a process when its cached view is stale.
* **Filters** compile to parameterised SQL over the JSON ``meta`` column
  (:func:`haybale.filters.compile_sql`).
* **Writes**: validation, duplicate handling and the row-level inserts and deletes of a write transaction
  live in :mod:`haybale.stores._sqlite_writes`; this class owns the transactions and the indexes.
* **Threads**: one connection per thread for file databases (readers never block writers under WAL; writers
  are serialised); ``":memory:"`` uses one connection guarded by a lock.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUsageError, DuplicateDocumentError
from haybale.filters import compile_sql, parse_filters
from haybale.stores._bulk import paused_gc
from haybale.stores._memory_bm25 import BM25_VARIANTS
from haybale.stores._selection_cache import SelectionCache
from haybale.stores._sqlite_bm25 import SQLiteBM25
from haybale.stores._sqlite_schema import (
    DOCUMENT_COLUMNS,
    bulk_page_cache,
    connect,
    create_schema,
    decode_document,
    locked_out_error,
    read_setting,
    write_setting,
)
from haybale.stores._sqlite_vectors import (
    SIMILARITIES,
    MappedVectors,
    VectorFile,
    VectorFileUnreadableError,
    unreadable_file_error,
)
from haybale.stores._sqlite_writes import (
    PreparedDocument,
    WriteDelta,
    dedupe,
    delete_seqs,
    existing_seqs,
    insert_prepared,
    prepare_documents,
)
from haybale.stores.protocol import DuplicatePolicy
from haybale.stores.scoring import check_top_k, scale_bm25, scale_cosine, scale_dot_product
from haybale.stores.text_analysis import Analyzer

__all__ = ["SQLiteDocumentStore"]

_T = TypeVar("_T")


def _params_key(params: list[Any]) -> tuple[tuple[str, Any], ...]:
    """SQL parameters as a cache key: typed, so 1, 1.0 and True (equal in Python) stay apart."""
    return tuple((type(value).__name__, value) for value in params)


class SQLiteDocumentStore:
    """A document store in one SQLite file (or in memory), with BM25 and dense search.

    Args:
        path: database file (created with its parent folders when missing), or ``":memory:"``.
        embedding_dim: expected embedding size; None learns it from the first embedded document written.
        embedding_similarity_function: ``"cosine"`` (default) or ``"dot_product"``.
        analyzer: the BM25 text analyzer (an :class:`Analyzer` or its ``to_dict()``); default English with
            stop words and Snowball stemming. A database remembers the analyzer it was indexed with and
            refuses a different one.
        bm25_variant, bm25_k1, bm25_b, bm25_delta: BM25 scoring, exactly as for ``InMemoryDocumentStore``
            (defaults "okapi", 1.2, 0.75, 0.5: Lucene's BM25); query-time settings, not stored in the file.
        lock_timeout: seconds a write waits for another connection's (or process's) write transaction to
            end before it gives up with :class:`~haybale.errors.DocumentStoreUnavailableError` (nothing
            written; retry later). Default 30.

    Raises:
        DocumentStoreError: on invalid settings.
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        embedding_dim: int | None = None,
        embedding_similarity_function: str = "cosine",
        analyzer: Analyzer | dict[str, Any] | None = None,
        *,
        bm25_variant: str = "okapi",
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        bm25_delta: float = 0.5,
        lock_timeout: float = 30.0,
    ) -> None:
        if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, int | float) or lock_timeout <= 0:
            raise DocumentStoreUsageError(
                f"lock_timeout must be a number of seconds > 0, got {lock_timeout!r}."
            )
        self.lock_timeout = float(lock_timeout)
        if embedding_dim is not None and (
            isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim <= 0
        ):
            raise DocumentStoreUsageError(
                f"embedding_dim must be a positive integer or None, got {embedding_dim!r}."
            )
        if embedding_similarity_function not in SIMILARITIES:
            raise DocumentStoreUsageError(
                f"Unknown embedding_similarity_function {embedding_similarity_function!r}; "
                f"choose one of {list(SIMILARITIES)}."
            )
        self.path = str(path)
        self.embedding_dim = embedding_dim
        self.embedding_similarity_function = embedding_similarity_function
        if analyzer is None:
            analyzer = Analyzer()
        elif isinstance(analyzer, dict):
            analyzer = Analyzer.from_dict(analyzer)
        self.analyzer: Analyzer = analyzer
        if bm25_variant not in BM25_VARIANTS:
            raise DocumentStoreUsageError(
                f"Unknown bm25_variant {bm25_variant!r}; choose one of {list(BM25_VARIANTS)}."
            )
        self.bm25_variant = bm25_variant
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.bm25_delta = bm25_delta
        try:
            self._bm25 = SQLiteBM25(analyzer, bm25_variant, bm25_k1, bm25_b, bm25_delta)
        except ValueError as error:
            raise DocumentStoreUsageError(f"SQLiteDocumentStore: {error}") from error
        self._memory = self.path == ":memory:"
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._connections_lock = threading.Lock()
        self._shared: sqlite3.Connection | None = None
        self._write_lock = threading.RLock()
        self._index_lock = threading.RLock()
        self._vector_file = VectorFile(self.path)
        self._vectors = MappedVectors(embedding_similarity_function, self._vector_file)
        # Candidate seqs of filtered searches, valid for one database ``version`` (any write, any process).
        self._selections = SelectionCache()
        self._schema_ready = False

    def __repr__(self) -> str:
        return f"SQLiteDocumentStore(path={self.path!r})"

    # ----------------------------------------------------------------------------------------- plumbing
    def _connection(self) -> sqlite3.Connection:
        if self._memory:
            with self._connections_lock:
                if self._shared is None:
                    self._shared = self._open()
                return self._shared
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            with self._connections_lock:
                alive = []
                for thread, conn in self._connections:
                    if thread.is_alive():
                        alive.append((thread, conn))
                    else:
                        conn.close()  # the thread that used it is gone
                self._connections = alive
                connection = self._open()
                self._connections.append((threading.current_thread(), connection))
            self._local.connection = connection
        return connection

    def _open(self) -> sqlite3.Connection:
        """Open a connection (callers hold ``_connections_lock``); the first one also checks the schema."""
        connection = connect(self.path, self.lock_timeout)
        if not self._schema_ready:
            try:
                create_schema(connection, self.analyzer, self._vector_file)
            except BaseException:
                connection.close()
                raise
            self._schema_ready = True
        return connection

    def close(self) -> None:
        """Close every connection this store opened (it reopens on next use)."""
        with self._connections_lock:
            for _thread, connection in self._connections:
                connection.close()
            self._connections = []
            if self._shared is not None:
                self._shared.close()
                self._shared = None
            self._local = threading.local()

    def _read_lock(self) -> AbstractContextManager[Any]:
        # One shared in-memory connection cannot run two transactions at once; file databases use WAL.
        return self._write_lock if self._memory else nullcontext()

    @contextmanager
    def _locked_out(self) -> Iterator[None]:
        """Report SQLite's "database is locked" (another writer held the lock past ``lock_timeout``) as the
        store being unavailable: the request was fine, a retry may succeed, and nothing was written."""
        try:
            yield
        except sqlite3.OperationalError as error:
            unavailable = locked_out_error(error, self.path, self.lock_timeout)
            if unavailable is None:
                raise
            raise unavailable from error

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._locked_out(), self._read_lock():
            connection = self._connection()
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                connection.execute("COMMIT")

    @contextmanager
    def _writing(self, documents: int = 0) -> Iterator[tuple[sqlite3.Connection, WriteDelta]]:
        with self._locked_out(), self._write_lock:
            connection = self._connection()
            with bulk_page_cache(connection, documents), self._transaction(connection) as delta:
                yield connection, delta
        for generation in delta.obsolete_vector_files:
            self._vector_file.remove(generation)

    @contextmanager
    def _transaction(self, connection: sqlite3.Connection) -> Iterator[WriteDelta]:
        connection.execute("BEGIN IMMEDIATE")
        try:
            delta = WriteDelta(
                version=int(read_setting(connection, "version") or 0),
                next_seq=int(read_setting(connection, "next_seq") or 1),
            )
            yield delta
            write_setting(connection, "version", str(delta.version + 1))
            write_setting(connection, "next_seq", str(delta.next_seq))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def _where(self, filters: Any, prefix: str = "") -> tuple[str, list[Any]]:
        return compile_sql(
            parse_filters(filters),
            "sqlite",
            meta_column=f"{prefix}meta",
            id_column=f"{prefix}id",
            content_column=f"{prefix}content",
        )

    # ------------------------------------------------------------------------------------------- reads
    def count_documents(self, filters: dict[str, Any] | None = None) -> int:
        """Number of documents matching ``filters`` (all when None).

        Raises:
            FilterError: the filter is malformed.
        """
        where, params = self._where(filters)
        with self._reading() as connection:
            return int(
                connection.execute(f"SELECT COUNT(*) FROM documents WHERE {where}", params).fetchone()[0]
            )

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Documents matching ``filters`` (all when None), in insertion order.

        Raises:
            FilterError: the filter is malformed.
        """
        where, params = self._where(filters)

        def read(connection: sqlite3.Connection) -> list[Document]:
            rows = connection.execute(
                f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE {where} ORDER BY seq", params
            ).fetchall()
            return self._documents(connection, rows, [None] * len(rows))

        return self._read_with_vectors(read)

    def _read_with_vectors(self, read: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``read`` in a read transaction that may use the mapped vectors (under the index lock).

        Raises:
            DocumentStoreUnavailableError: the vector file is missing or short, also in a second read
                transaction (the first may have raced another process replacing the file by a compaction).
        """
        try:
            with self._read_lock(), self._index_lock, self._reading() as connection:
                return read(connection)
        except VectorFileUnreadableError:
            pass  # read again below, in a new transaction that sees the file's current generation
        with self._read_lock(), self._index_lock, self._reading() as connection:
            return read(connection)

    def _load_vectors(self, connection: sqlite3.Connection, dim: int) -> None:
        """Bring the mapped vectors to the version this read transaction sees (callers hold the index lock).

        Raises:
            VectorFileUnreadableError: the file is missing or shorter than the database records.
        """
        version = int(read_setting(connection, "version") or 0)
        if self._vectors.version != version and not self._vectors.load(connection, version, dim):
            raise unreadable_file_error(
                self._vector_file,
                int(read_setting(connection, "vector_generation") or 0),
                int(read_setting(connection, "vector_rows") or 0),
                dim,
            )

    def _documents(
        self, connection: sqlite3.Connection, rows: list[Any], scores: list[float | None]
    ) -> list[Document]:
        """Documents of ``rows`` (selected with DOCUMENT_COLUMNS) with ``scores``; their embeddings come from
        the mapped vector file (callers hold the index lock)."""
        embedded = [row[0] for row in rows if row[4] is not None]
        vectors: dict[int, list[float]] = {}
        if embedded:
            self._load_vectors(connection, int(read_setting(connection, "embedding_dim") or 0))
            vectors = dict(zip(embedded, self._vectors.embeddings(embedded), strict=True))
        return [
            decode_document(row, score, vectors.get(row[0])) for row, score in zip(rows, scores, strict=True)
        ]

    # ------------------------------------------------------------------------------------------ writes
    def _prepare(self, documents: Any, operation: str) -> list[PreparedDocument]:
        return prepare_documents(documents, operation, self.embedding_dim)

    def _delete_seqs(self, connection: sqlite3.Connection, delta: WriteDelta, seqs: list[int]) -> None:
        delete_seqs(connection, delta, seqs, self.analyzer, self._vector_file)

    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Write ``documents`` in one transaction.

        Args:
            documents: the documents to write.
            policy: NONE / FAIL raise on a duplicate id (stored, or twice in the batch) and write nothing;
                SKIP keeps stored documents (and the first of in-batch duplicates); OVERWRITE replaces them
                (the last in-batch duplicate wins).

        Returns:
            How many documents were written.

        Raises:
            DuplicateDocumentError: a duplicate under NONE / FAIL.
            DocumentStoreError: an item is not a Document, metadata is not JSON, or embeddings differ in size.
        """
        policy = DuplicatePolicy(policy)
        with paused_gc(len(documents) if isinstance(documents, list | tuple) else 0):
            return self._write(documents, policy)

    def _write(self, documents: list[Document], policy: DuplicatePolicy) -> int:
        prepared = dedupe(self._prepare(documents, "write_documents"), policy)
        if not prepared:
            return 0
        with self._writing(len(prepared)) as (connection, delta):
            existing = existing_seqs(connection, [item.id for item in prepared])
            if existing:
                if policy in (DuplicatePolicy.NONE, DuplicatePolicy.FAIL):
                    raise DuplicateDocumentError(
                        f"{len(existing)} document(s) already exist (ids {sorted(existing)[:5]}); nothing "
                        "was written. Use DuplicatePolicy.SKIP or OVERWRITE, or replace_documents()."
                    )
                if policy is DuplicatePolicy.SKIP:
                    prepared = [item for item in prepared if item.id not in existing]
                else:
                    self._delete_seqs(connection, delta, list(existing.values()))
            insert_prepared(
                connection, delta, prepared, self.analyzer, self._vector_file, operation="write_documents"
            )
        return len(prepared)

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete documents by id in one transaction; unknown ids are ignored."""
        if not document_ids:
            return
        with self._writing() as (connection, delta):
            self._delete_seqs(connection, delta, list(existing_seqs(connection, list(document_ids)).values()))

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """Delete every document matching ``filters`` (``{}`` matches all); returns how many were deleted.

        Raises:
            FilterError: the filter is malformed (nothing is deleted).
        """
        where, params = self._where(filters)
        with self._writing() as (connection, delta):
            seqs = [row[0] for row in connection.execute(f"SELECT seq FROM documents WHERE {where}", params)]
            self._delete_seqs(connection, delta, seqs)
        return len(seqs)

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Merge ``meta`` into the metadata of every matching document (top-level keys are replaced).

        Ids, content and embeddings are kept. Returns how many documents were updated.

        Raises:
            FilterError: the filter is malformed. DocumentStoreError: ``meta`` is not a JSON-compatible dict.
        """
        if not isinstance(meta, dict):
            raise DocumentStoreUsageError(
                f"update_by_filter: meta must be a dict, got {type(meta).__name__}."
            )
        try:
            json.dumps(meta, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise DocumentStoreUsageError(
                f"update_by_filter: meta is not JSON-serializable ({error})."
            ) from error
        where, params = self._where(filters)
        with self._writing() as (connection, _delta):
            rows = connection.execute(f"SELECT seq, meta FROM documents WHERE {where}", params).fetchall()
            connection.executemany(
                "UPDATE documents SET meta = ? WHERE seq = ?",
                ((json.dumps({**json.loads(old), **meta}, ensure_ascii=False), seq) for seq, old in rows),
            )
        return len(rows)

    def replace_documents(self, filters: dict[str, Any], documents: list[Document]) -> tuple[int, int]:
        """Atomically delete what matches ``filters`` and write ``documents``; returns (deleted, written).

        A new document whose id survives the delete (it did not match ``filters``) overwrites the stored one.

        Raises:
            FilterError: malformed filter. DuplicateDocumentError: the same id twice in ``documents``.
            DocumentStoreError: an invalid document. In every case nothing changes.
        """
        where, params = self._where(filters)
        prepared = dedupe(self._prepare(documents, "replace_documents"), DuplicatePolicy.FAIL)
        with self._writing(len(prepared)) as (connection, delta):
            seqs = [row[0] for row in connection.execute(f"SELECT seq FROM documents WHERE {where}", params)]
            self._delete_seqs(connection, delta, seqs)
            survivors = existing_seqs(connection, [item.id for item in prepared])
            self._delete_seqs(connection, delta, list(survivors.values()))
            insert_prepared(
                connection, delta, prepared, self.analyzer, self._vector_file, operation="replace_documents"
            )
        return len(seqs), len(prepared)

    # ------------------------------------------------------------------------------------------ search
    def bm25_search(
        self,
        query: str,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
        *,
        corpus_filters: dict[str, Any] | None = None,
    ) -> list[Document]:
        """Top ``top_k`` documents containing a term of ``query``, best BM25 score first.

        Args:
            query: the query text.
            top_k: how many documents to return at most.
            filters: only documents matching it are returned (the BM25 statistics do not change).
            scale_score: map scores into (0, 1).
            corpus_filters: search as if the database held only the documents matching it: document count,
                average length and document frequencies are theirs, and only they can be returned. None
                (or ``{}``) means the whole database.

        Raises:
            DocumentStoreError: ``top_k`` is negative. FilterError: ``filters`` or ``corpus_filters`` is
                malformed.
        """
        check_top_k(top_k)
        if query is None:  # accepted as "no query" for backward compatibility
            return []
        if not isinstance(query, str):
            raise DocumentStoreUsageError(f"bm25_search query must be a string, got {type(query).__name__}.")
        where, params = self._where(filters)
        corpus_node = parse_filters(corpus_filters, name="corpus_filters")
        corpus_where, corpus_params = self._where(corpus_node)
        if not query or top_k == 0:
            return []

        def read(connection: sqlite3.Connection) -> list[Document]:
            version = int(read_setting(connection, "version") or 0)
            candidates = corpus = None
            if corpus_node is not None:
                narrow = (where, params) if filters and filters != corpus_filters else None
                corpus, candidates = self._corpus_seqs(
                    connection, version, (corpus_where, corpus_params), narrow
                )
            elif filters:
                candidates = self._selected_seqs(connection, version, where, params)
            hits = self._bm25.search(connection, version, query, top_k, candidates, corpus=corpus)
            documents = self._hit_documents(connection, hits, scale_bm25 if scale_score else None)
            details = self._bm25.score_details()
            for document, (_seq, score) in zip(documents, hits, strict=True):
                document.score_details = {"bm25": {"score": score, **details}}
            return documents

        return self._read_with_vectors(read)

    def _selected_seqs(
        self, connection: sqlite3.Connection, version: int, condition: str, params: list[Any]
    ) -> Any:
        """The seqs of the documents matching the where clause ``condition``, in order (a read-only int64
        array), cached for this database ``version`` (read in the same transaction)."""
        sql = f"SELECT seq FROM documents WHERE {condition} ORDER BY seq"

        def select() -> Any:
            return np.fromiter((row[0] for row in connection.execute(sql, params)), dtype=np.int64)

        return self._selections.get(version, (sql, _params_key(params)), select)

    def _corpus_seqs(
        self,
        connection: sqlite3.Connection,
        version: int,
        corpus: tuple[str, list[Any]],
        narrow: tuple[str, list[Any]] | None,
    ) -> tuple[Any, Any | None]:
        """The seqs of the BM25 corpus (documents with content matching the ``corpus`` where clause), in
        order, and among them those matching ``narrow`` (None without it): one scan of the table, cached for
        this database ``version`` (read-only int64 arrays)."""
        corpus_where, corpus_params = corpus
        flag, flag_params = narrow if narrow is not None else ("1", [])
        sql = (
            f"SELECT seq, {flag} FROM documents WHERE ({corpus_where}) AND content IS NOT NULL AND "
            "content <> '' ORDER BY seq"
        )
        all_params = [*flag_params, *corpus_params]

        def select() -> tuple[Any, Any | None]:
            rows = connection.execute(sql, all_params).fetchall()
            seqs = np.fromiter((seq for seq, _matches in rows), dtype=np.int64, count=len(rows))
            if narrow is None:
                return seqs, None
            flags = np.fromiter((bool(matches) for _seq, matches in rows), dtype=bool, count=len(rows))
            return seqs, seqs[flags]

        return self._selections.get(version, (sql, _params_key(all_params)), select)

    def _hit_documents(
        self, connection: sqlite3.Connection, hits: list[tuple[int, float]], scale: Any
    ) -> list[Document]:
        """The documents of search ``hits`` (``(seq, score)``, in order), scores mapped through ``scale``."""
        if not hits:
            return []
        rows = connection.execute(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE seq IN (SELECT value FROM json_each(?))",
            (json.dumps([seq for seq, _score in hits]),),
        ).fetchall()
        by_seq = {row[0]: row for row in rows}
        return self._documents(
            connection,
            [by_seq[seq] for seq, _score in hits],
            [scale(score) if scale is not None else score for _seq, score in hits],
        )

    def embedding_search(
        self,
        query_embedding: list[float],
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
    ) -> list[Document]:
        """Top ``top_k`` documents nearest to ``query_embedding``; filters select candidates before ranking.

        Raises:
            DocumentStoreError: negative ``top_k``, or a query whose size differs from the stored embeddings'.
            FilterError: the filter is malformed.
        """
        check_top_k(top_k)
        self._where(filters)  # a malformed filter fails before the database is touched
        query = [float(value) for value in query_embedding]
        if not query or not all(math.isfinite(value) for value in query):
            raise DocumentStoreUsageError(
                "embedding_search: the query embedding must be a non-empty list of finite numbers."
            )

        def read(connection: sqlite3.Connection) -> list[Document]:
            stored_dim = read_setting(connection, "embedding_dim")
            dim = int(stored_dim) if stored_dim is not None else self.embedding_dim
            if dim is not None and len(query) != dim:
                raise DocumentStoreUsageError(
                    f"embedding_search: the query embedding has {len(query)} dimensions but the store "
                    f"holds {dim}-dimensional embeddings. Embed the query with the model used for the "
                    "documents."
                )
            if top_k == 0 or stored_dim is None or dim is None:
                return []
            self._load_vectors(connection, dim)
            candidates = None
            if filters:
                where, params = self._where(filters)
                version = int(read_setting(connection, "version") or 0)
                candidates = self._selected_seqs(
                    connection, version, f"embedding IS NOT NULL AND ({where})", params
                )
            hits = self._vectors.search(query, top_k, candidates)
            return self._hit_documents(connection, hits, self._scale if scale_score else None)

        return self._read_with_vectors(read)

    def _scale(self, score: float) -> float:
        if self.embedding_similarity_function == "cosine":
            return scale_cosine(score)
        return scale_dot_product(score)

    # ---------------------------------------------------------------------------------- serialization
    def to_dict(self) -> dict[str, Any]:
        """Serialize the store's settings (the documents stay in the database file)."""
        return {
            "type": f"{type(self).__module__}.{type(self).__qualname__}",
            "init_parameters": {
                "path": self.path,
                "embedding_dim": self.embedding_dim,
                "embedding_similarity_function": self.embedding_similarity_function,
                "analyzer": self.analyzer.to_dict(),
                "bm25_variant": self.bm25_variant,
                "bm25_k1": self.bm25_k1,
                "bm25_b": self.bm25_b,
                "bm25_delta": self.bm25_delta,
                "lock_timeout": self.lock_timeout,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SQLiteDocumentStore:
        """Build a store from :meth:`to_dict` output (same file, same settings)."""
        params = data.get("init_parameters", {})
        if not isinstance(params, dict):
            raise DocumentStoreUsageError(
                "SQLiteDocumentStore.from_dict: 'init_parameters' must be a mapping."
            )
        return cls(**params)

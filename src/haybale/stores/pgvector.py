"""PostgreSQL + pgvector document store: HNSW dense search, true BM25 in SQL, and native hybrid search.

The server store for production: many service replicas can share one PostgreSQL database. Design notes:

* **Connections** (:mod:`haybale.stores._pgvector_connections`): a ``psycopg_pool.ConnectionPool`` and one
  ``AsyncConnectionPool`` per event loop; connections are checked before use, so after a server restart the
  next call reconnects. Each sets ``hnsw.ef_search``, ``hnsw.iterative_scan = relaxed_order`` and
  ``hnsw.max_scan_tuples`` once.
* **Schema** (:mod:`haybale.stores._pgvector_schema`): created and migrated idempotently on first use, under
  an advisory lock, with applied versions recorded in ``<table>_migrations``.
* **BM25** (:mod:`haybale.stores._pgvector_bm25`): postings and corpus statistics maintained in the same
  transaction as the documents; scores computed by one SQL statement; same analyzer and formula as
  :class:`~haybale.stores.InMemoryDocumentStore`, so scores agree.
* **Writes** (:mod:`haybale.stores._pgvector_writes`): binary ``COPY``; every method is one transaction
  under the
  store's advisory lock; delete and update by filter are single statements.
* **Dense and hybrid search** (:mod:`haybale.stores._pgvector_search`): HNSW with iterative scans and an exact
  fallback for filtered queries; hybrid search fuses BM25 and dense rankings in one statement.

See docs/pgvector.md for the full design and its trade-offs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from haybale.core.secret import Secret, deserialize_secrets_inplace
from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUsageError
from haybale.stores._pgvector_bm25 import BM25Parameters
from haybale.stores._pgvector_bm25_plan import BM25Plan
from haybale.stores._pgvector_bulk import (
    check_memory_setting,
    drop_indexes_operation,
    rebuild_indexes_operation,
    vacuum_postings_operation,
)
from haybale.stores._pgvector_connections import PgvectorConnections
from haybale.stores._pgvector_queries import (
    SearchSettings,
    bm25_operation,
    count_operation,
    embedding_operation,
    filter_operation,
    hybrid_operation,
    where_clause,
)
from haybale.stores._pgvector_schema import VECTOR_FUNCTIONS, TableNames, ensure_schema
from haybale.stores._pgvector_writes import (
    Operation,
    delete_operation,
    prepare_documents,
    replace_operation,
    update_operation,
    write_operation,
)
from haybale.stores.protocol import DuplicatePolicy
from haybale.stores.text_analysis import Analyzer

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["PgvectorDocumentStore"]

SEARCH_STRATEGIES = ("hnsw", "exact")


def _positive_int(value: Any, name: str, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DocumentStoreUsageError(f"{name} must be a positive integer ({hint}), got {value!r}.")
    return value


def _choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise DocumentStoreUsageError(
            f"Unknown {name} {value!r}; use one of {', '.join(map(repr, options))}."
        )
    return str(value)


class PgvectorDocumentStore:
    """A document store on PostgreSQL with pgvector: HNSW or exact dense search, BM25 in SQL, hybrid search.

    Args:
        connection_string: PostgreSQL DSN (``postgresql://user:pass@host/db``) as a Secret; read from
            ``HAYBALE_PG_DSN`` by default. Only the reference is ever serialized.
        schema_name: PostgreSQL schema holding the tables (created if missing).
        table_name: name of the documents table; statistics and migration tables use it as a prefix.
        embedding_dimension: length of the embeddings stored.
        vector_function: "cosine_similarity", "inner_product" or "l2_distance".
        search_strategy: "hnsw" (approximate, indexed) or "exact" (sequential scan, no vector index).
        hnsw_m: HNSW graph degree.
        hnsw_ef_construction: HNSW candidate list size while building.
        hnsw_ef_search: HNSW candidate list size while searching (raised to ``top_k`` per query as needed).
        hnsw_max_scan_tuples: most index tuples an iterative scan visits before the exact fallback is used.
        recreate_table: drop and recreate the tables on first use (deletes all documents).
        analyzer: BM25 text analyzer settings (``Analyzer.to_dict()`` form) or an :class:`Analyzer`.
        bm25_k1: BM25 term-frequency saturation.
        bm25_b: BM25 length normalisation.
        bm25_single_pass_max_postings: a BM25 ranking whose query terms have at most this many postings
            (documents containing them) in total is computed in one pass over them, without the pruning
            stages, which only pay off on long postings lists (0: always prune).
        bm25_parallel_slices: a BM25 ranking over many postings is split into this many ranges of documents
            ranked at the same time on idle pooled connections (one core each) and merged; same results,
            lower latency when cores are free (1: never split). A split hybrid search also runs its dense
            side at the same time, on one more connection. Without an idle connection the ranking runs
            unsplit.
        bm25_parallel_min_postings: the query terms' postings from which a ranking is split.
        pool_max_size: most connections per pool.

    Raises:
        DocumentStoreError: an invalid parameter (the message names it and the allowed values).
    """

    def __init__(
        self,
        *,
        connection_string: Secret = Secret.from_env_var("HAYBALE_PG_DSN"),  # noqa: B008 - immutable
        schema_name: str = "public",
        table_name: str = "haybale_documents",
        embedding_dimension: int = 384,
        vector_function: str = "cosine_similarity",
        search_strategy: str = "hnsw",
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        hnsw_ef_search: int = 40,
        hnsw_max_scan_tuples: int = 20_000,
        recreate_table: bool = False,
        analyzer: Analyzer | dict[str, Any] | None = None,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        bm25_single_pass_max_postings: int = 5_000,
        bm25_parallel_slices: int = 2,
        bm25_parallel_min_postings: int = 30_000,
        pool_max_size: int = 10,
    ) -> None:
        if not isinstance(connection_string, Secret):
            raise DocumentStoreUsageError(
                "connection_string must be a Secret, e.g. Secret.from_env_var('HAYBALE_PG_DSN'); a "
                "plain string "
                "would end up in serialized pipelines."
            )
        self.connection_string = connection_string
        self._names = TableNames.build(schema_name, table_name)
        self.schema_name, self.table_name = schema_name, table_name
        self.embedding_dimension = _positive_int(embedding_dimension, "embedding_dimension", "e.g. 384")
        self.vector_function = _choice(vector_function, "vector_function", VECTOR_FUNCTIONS)
        self.search_strategy = _choice(search_strategy, "search_strategy", SEARCH_STRATEGIES)
        self.hnsw_m = _positive_int(hnsw_m, "hnsw_m", "16 is usual")
        self.hnsw_ef_construction = _positive_int(hnsw_ef_construction, "hnsw_ef_construction", "64 is usual")
        self.hnsw_ef_search = _positive_int(hnsw_ef_search, "hnsw_ef_search", "40 is usual")
        self.hnsw_max_scan_tuples = _positive_int(hnsw_max_scan_tuples, "hnsw_max_scan_tuples", "20000")
        self.recreate_table = bool(recreate_table)
        if analyzer is None:
            analyzer = Analyzer()
        elif isinstance(analyzer, dict):
            analyzer = Analyzer.from_dict(analyzer)
        if not isinstance(analyzer, Analyzer):
            raise DocumentStoreUsageError(
                f"analyzer must be an Analyzer or its to_dict() form, got {analyzer!r}."
            )
        self.analyzer = analyzer
        self._bm25 = BM25Parameters(bm25_k1, bm25_b)
        self._bm25_plan = BM25Plan(
            bm25_single_pass_max_postings, bm25_parallel_slices, bm25_parallel_min_postings
        )
        self.pool_max_size = _positive_int(pool_max_size, "pool_max_size", "10 is usual")
        self._settings = SearchSettings(
            self._names,
            self.vector_function,
            self.search_strategy == "exact",
            self._bm25,
            self.analyzer,
            self._bm25_plan,
        )
        self._connections = PgvectorConnections(
            connection_string,
            f"{schema_name}.{table_name}",
            self._prepare_schema,
            self._session_settings(),
            self.pool_max_size,
            # idle connections for split BM25 rankings, and hybrid search's dense side beside them
            min_size=self._bm25_plan.parallel_slices + 1,
        )

    # ----------------------------------------------------------------------------------------- connections
    def _prepare_schema(self, conn: Connection[Any]) -> None:
        ensure_schema(
            conn,
            self._names,
            dimension=self.embedding_dimension,
            vector_function=self.vector_function,
            search_strategy=self.search_strategy,
            hnsw_m=self.hnsw_m,
            hnsw_ef_construction=self.hnsw_ef_construction,
            recreate=self.recreate_table,
        )

    def _session_settings(self) -> str:
        # Integers validated in __init__; SET takes no bind parameters.
        return (
            f"SET hnsw.ef_search = {int(self.hnsw_ef_search)}; SET hnsw.iterative_scan = relaxed_order; "
            f"SET hnsw.max_scan_tuples = {int(self.hnsw_max_scan_tuples)}"
        )

    def _run(self, operation: Operation, where: str, transaction: bool = True) -> Any:
        return self._connections.run(operation, where, transaction)

    async def _run_async(self, operation: Operation, where: str, transaction: bool = True) -> Any:
        return await self._connections.run_async(operation, where, transaction)

    def warm_up(self) -> None:
        """Create or migrate the tables and open the connection pool (idempotent)."""
        self._connections.sync_pool()

    def close(self) -> None:
        """Close the sync connection pool (it reopens on the next call)."""
        self._connections.close()

    async def close_async(self) -> None:
        """Close the async connection pool of the running event loop."""
        await self._connections.close_async()

    @contextmanager
    def bulk_load(self, maintenance_work_mem: str = "1GB") -> Iterator[PgvectorDocumentStore]:
        """Write many documents fast: drop the HNSW and BM25 postings indexes, write, then rebuild them once.

        Use for initial loads and large re-indexing; ``write_documents`` calls inside the block behave as
        usual
        (same transactions, same duplicate policies). The indexes are rebuilt when the block ends, also when
        it raises. Meanwhile searches stay correct but slower (exact dense scans, unindexed postings).

        Args:
            maintenance_work_mem: memory PostgreSQL may use for the rebuild ("1GB"); the HNSW graph is built
                in memory when it fits, which is much faster.

        Raises:
            DocumentStoreError: an invalid ``maintenance_work_mem``.
        """
        check_memory_setting(maintenance_work_mem)
        self._run(drop_indexes_operation(self._names, self.vector_function), "bulk_load")
        try:
            yield self
        finally:
            rebuild = rebuild_indexes_operation(
                self._names,
                vector_function=self.vector_function,
                hnsw=self.search_strategy == "hnsw",
                m=self.hnsw_m,
                ef_construction=self.hnsw_ef_construction,
                maintenance_work_mem=maintenance_work_mem,
            )
            self._run(rebuild, "bulk_load")
            # Outside any transaction: VACUUM sets the visibility map, so BM25 reads postings index-only.
            self._run(vacuum_postings_operation(self._names), "bulk_load", transaction=False)

    # ------------------------------------------------------------------------------------------ protocol
    def count_documents(self, filters: dict[str, Any] | None = None) -> int:
        """Number of documents matching ``filters`` (all when None)."""
        return int(self._run(count_operation(self._settings, filters), "count_documents", False))

    async def count_documents_async(self, filters: dict[str, Any] | None = None) -> int:
        """Async :meth:`count_documents`."""
        return int(await self._run_async(count_operation(self._settings, filters), "count_documents", False))

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Documents matching ``filters`` (all when None), ordered by id."""
        return list(self._run(filter_operation(self._settings, filters), "filter_documents", False))

    async def filter_documents_async(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Async :meth:`filter_documents`."""
        return list(
            await self._run_async(filter_operation(self._settings, filters), "filter_documents", False)
        )

    def _write_op(self, documents: list[Document], policy: DuplicatePolicy) -> Operation:
        prepared = prepare_documents(documents, self.analyzer, self.embedding_dimension)
        return write_operation(self._names, prepared, policy)

    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Write ``documents`` in one transaction; returns how many were written.

        Raises:
            DuplicateDocumentError: an id exists (or repeats in the batch) under NONE / FAIL; nothing
            is written.
            DocumentStoreError: invalid documents (wrong embedding size, non-JSON metadata); nothing is
            written.
        """
        if isinstance(documents, list) and not documents:
            return 0
        return int(self._run(self._write_op(documents, policy), "write_documents"))

    async def write_documents_async(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Async :meth:`write_documents`."""
        if isinstance(documents, list) and not documents:
            return 0
        return int(await self._run_async(self._write_op(documents, policy), "write_documents"))

    def _ids_where(self, document_ids: list[str]) -> tuple[Any, list[Any]]:
        from psycopg import sql

        if not isinstance(document_ids, list) or not all(isinstance(i, str) for i in document_ids):
            raise DocumentStoreUsageError(
                f"delete_documents expects a list of id strings, got {document_ids!r}."
            )
        return sql.SQL("d.id = ANY(%s::text[])"), [document_ids]

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete documents by id; unknown ids are ignored."""
        where, params = self._ids_where(document_ids)
        if document_ids:
            self._run(delete_operation(self._names, where, params), "delete_documents")

    async def delete_documents_async(self, document_ids: list[str]) -> None:
        """Async :meth:`delete_documents`."""
        where, params = self._ids_where(document_ids)
        if document_ids:
            await self._run_async(delete_operation(self._names, where, params), "delete_documents")

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """Delete every document matching ``filters`` in one statement; returns how many were deleted."""
        where, params = where_clause(filters)
        return int(self._run(delete_operation(self._names, where, params), "delete_by_filter"))

    async def delete_by_filter_async(self, filters: dict[str, Any]) -> int:
        """Async :meth:`delete_by_filter`."""
        where, params = where_clause(filters)
        return int(await self._run_async(delete_operation(self._names, where, params), "delete_by_filter"))

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Merge ``meta`` into the metadata of every matching document; returns how many were updated."""
        where, params = self._update_args(filters, meta)
        return int(self._run(update_operation(self._names, where, params, meta), "update_by_filter"))

    async def update_by_filter_async(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Async :meth:`update_by_filter`."""
        where, params = self._update_args(filters, meta)
        return int(
            await self._run_async(update_operation(self._names, where, params, meta), "update_by_filter")
        )

    def _update_args(self, filters: dict[str, Any], meta: dict[str, Any]) -> tuple[Any, list[Any]]:
        if not isinstance(meta, dict):
            raise DocumentStoreUsageError(
                f"update_by_filter expects meta as a dict, got {type(meta).__name__}."
            )
        return where_clause(filters)

    def _replace_op(self, filters: dict[str, Any], documents: list[Document]) -> Operation:
        where, params = where_clause(filters)
        prepared = prepare_documents(documents, self.analyzer, self.embedding_dimension)
        return replace_operation(self._names, where, params, prepared)

    def replace_documents(self, filters: dict[str, Any], documents: list[Document]) -> tuple[int, int]:
        """Atomically delete what matches ``filters`` and write ``documents``; returns (deleted, written)."""
        deleted, written = self._run(self._replace_op(filters, documents), "replace_documents")
        return int(deleted), int(written)

    async def replace_documents_async(
        self, filters: dict[str, Any], documents: list[Document]
    ) -> tuple[int, int]:
        """Async :meth:`replace_documents`."""
        deleted, written = await self._run_async(self._replace_op(filters, documents), "replace_documents")
        return int(deleted), int(written)

    # -------------------------------------------------------------------------------------------- search
    def bm25_search(
        self,
        query: str,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
        *,
        corpus_filters: dict[str, Any] | None = None,
    ) -> list[Document]:
        """Top ``top_k`` documents by BM25 (computed in PostgreSQL), best first, with ``score`` set.

        Args:
            corpus_filters: search as if the store held only the matching documents: BM25 statistics
                (document count, average length, document frequencies) are theirs, and only they can be
                returned (``filters`` narrows the results without changing the statistics).
        """
        op = bm25_operation(self._settings, query, top_k, filters, scale_score, corpus_filters=corpus_filters)
        return list(self._run(op, "bm25_search", False))

    async def bm25_search_async(
        self,
        query: str,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
        *,
        corpus_filters: dict[str, Any] | None = None,
    ) -> list[Document]:
        """Async :meth:`bm25_search`."""
        op = bm25_operation(self._settings, query, top_k, filters, scale_score, corpus_filters=corpus_filters)
        return list(await self._run_async(op, "bm25_search", False))

    def embedding_search(
        self,
        query_embedding: list[float],
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
    ) -> list[Document]:
        """Top ``top_k`` documents nearest to ``query_embedding``, best first, with ``score`` set.

        Filtered searches return ``top_k`` documents whenever that many match (exact fallback).
        """
        op = embedding_operation(
            self._settings,
            query_embedding=query_embedding,
            dimension=self.embedding_dimension,
            top_k=top_k,
            filters=filters,
            scale_score=scale_score,
        )
        return list(self._run(op, "embedding_search", False))

    async def embedding_search_async(
        self,
        query_embedding: list[float],
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
    ) -> list[Document]:
        """Async :meth:`embedding_search`."""
        op = embedding_operation(
            self._settings,
            query_embedding=query_embedding,
            dimension=self.embedding_dimension,
            top_k=top_k,
            filters=filters,
            scale_score=scale_score,
        )
        return list(await self._run_async(op, "embedding_search", False))

    def hybrid_search(  # noqa: PLR0917 - positional order of the HybridSearchStore protocol
        self,
        query: str,
        query_embedding: list[float],
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        fusion: str = "reciprocal_rank_fusion",
        weights: list[float] | None = None,
        *,
        corpus_filters: dict[str, Any] | None = None,
    ) -> list[Document]:
        """BM25 and dense rankings fused in one SQL statement; each result has ``score_details``.

        Args:
            fusion: "reciprocal_rank_fusion" (k=60) or "weighted" (weighted sum of min-max normalised scores).
            weights: [bm25_weight, dense_weight]; default [1, 1] for RRF and [0.5, 0.5] for weighted.
            corpus_filters: as for :meth:`bm25_search`: both rankings see only the matching documents, and
                BM25 uses their statistics.
        """
        op = hybrid_operation(
            self._settings,
            query=query,
            query_embedding=query_embedding,
            dimension=self.embedding_dimension,
            top_k=top_k,
            filters=filters,
            fusion=fusion,
            weights=weights,
            corpus_filters=corpus_filters,
        )
        return list(self._run(op, "hybrid_search", False))

    async def hybrid_search_async(  # noqa: PLR0917 - same signature as hybrid_search
        self,
        query: str,
        query_embedding: list[float],
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        fusion: str = "reciprocal_rank_fusion",
        weights: list[float] | None = None,
        *,
        corpus_filters: dict[str, Any] | None = None,
    ) -> list[Document]:
        """Async :meth:`hybrid_search`."""
        op = hybrid_operation(
            self._settings,
            query=query,
            query_embedding=query_embedding,
            dimension=self.embedding_dimension,
            top_k=top_k,
            filters=filters,
            fusion=fusion,
            weights=weights,
            corpus_filters=corpus_filters,
        )
        return list(await self._run_async(op, "hybrid_search", False))

    # ----------------------------------------------------------------------------------- serialization
    def to_dict(self) -> dict[str, Any]:
        """Serialize as ``{"type", "init_parameters"}``; the connection string is written as its
        env-var reference."""
        return {
            "type": f"{type(self).__module__}.{type(self).__name__}",
            "init_parameters": {
                "connection_string": self.connection_string.to_dict(),
                "schema_name": self.schema_name,
                "table_name": self.table_name,
                "embedding_dimension": self.embedding_dimension,
                "vector_function": self.vector_function,
                "search_strategy": self.search_strategy,
                "hnsw_m": self.hnsw_m,
                "hnsw_ef_construction": self.hnsw_ef_construction,
                "hnsw_ef_search": self.hnsw_ef_search,
                "hnsw_max_scan_tuples": self.hnsw_max_scan_tuples,
                "recreate_table": self.recreate_table,
                "analyzer": self.analyzer.to_dict(),
                "bm25_k1": self._bm25.k1,
                "bm25_b": self._bm25.b,
                "bm25_single_pass_max_postings": self._bm25_plan.single_pass_max_postings,
                "bm25_parallel_slices": self._bm25_plan.parallel_slices,
                "bm25_parallel_min_postings": self._bm25_plan.parallel_min_postings,
                "pool_max_size": self.pool_max_size,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PgvectorDocumentStore:
        """Build a store from :meth:`to_dict` output."""
        params = dict(data.get("init_parameters") or {})
        deserialize_secrets_inplace(params, ["connection_string"])
        return cls(**params)

"""Read operations of the Pgvector store: count, filter, BM25, dense, hybrid.

Like the writes, each read is a step generator (see :mod:`haybale.stores._pgvector_writes`) so the sync
and async APIs share one definition. Filters are compiled by :func:`haybale.filters.compile_sql` into
parameterised SQL over the JSONB ``meta`` column: values and metadata keys are always bound parameters,
never SQL text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUsageError
from haybale.stores._pgvector_bm25 import BM25Parameters, Corpus, query_terms
from haybale.stores._pgvector_bm25_plan import BM25Plan, bm25_source
from haybale.stores._pgvector_search import (
    DOCUMENT_COLUMNS,
    FUSION_METHODS,
    RRF_K,
    bm25_sql,
    dense_score,
    dense_sql,
    hybrid_sql,
    known_rows_sql,
    nearest_sql,
    row_to_document,
    scale_bm25,
    scale_dense,
)
from haybale.stores._pgvector_writes import Execute, Operation
from haybale.stores.scoring import check_top_k

if TYPE_CHECKING:
    from psycopg.sql import Composable

    from haybale.stores._pgvector_schema import TableNames
    from haybale.stores.text_analysis import Analyzer

__all__ = [
    "SearchSettings",
    "bm25_operation",
    "corpus_restriction",
    "count_operation",
    "embedding_operation",
    "filter_operation",
    "hybrid_operation",
    "optional_where",
    "where_clause",
]

#: Each ranking in a hybrid search contributes at least this many candidates (more when top_k is larger).
HYBRID_MIN_CANDIDATES = 50


@dataclass(frozen=True)
class SearchSettings:
    """What the read operations need to know about the store."""

    names: TableNames
    vector_function: str
    exact: bool
    bm25: BM25Parameters
    analyzer: Analyzer
    bm25_plan: BM25Plan


def _implied_containment(node: Any) -> dict[str, Any]:
    """The ``meta @>`` document implied by the top-level ``==`` conditions on scalar metadata values.

    ``field == value`` on metadata implies ``meta @> {path: value}`` (the compiled filter tests exactly that
    plus the type); stating it at the top level of the WHERE clause lets PostgreSQL use the GIN index on
    ``meta``, which it cannot do through the compiled filter's COALESCE wrappers.
    """
    from haybale.filters import Condition, LogicalCondition

    if isinstance(node, LogicalCondition):
        conditions = list(node.conditions) if node.operator == "AND" else []
    else:
        conditions = [node]
    implied: dict[str, Any] = {}
    for cond in conditions:
        if not isinstance(cond, Condition) or cond.operator != "==" or not cond.meta_path:
            continue
        if cond.value is None or not isinstance(cond.value, (str, int, float, bool)):
            continue
        target = implied
        for key in cond.meta_path[:-1]:
            target = target.setdefault(key, {})
            if not isinstance(target, dict):
                break
        else:
            target.setdefault(cond.meta_path[-1], cond.value)
    return implied


def optional_where(filters: dict[str, Any] | None) -> tuple[Composable | None, list[Any]]:
    """Like :func:`where_clause`, but None instead of ``TRUE`` when ``filters`` select everything."""
    from psycopg import sql
    from psycopg.types.json import Jsonb

    from haybale.filters import compile_sql, parse_filters

    node = parse_filters(filters)
    text, params = compile_sql(
        node, "postgres", meta_column="d.meta", id_column="d.id", content_column="d.content"
    )
    if text == "TRUE" and not params:
        return None, []
    implied = _implied_containment(node)
    if implied:
        return sql.SQL("(d.meta @> %s::jsonb AND {filter})").format(filter=sql.SQL(text)), [
            Jsonb(implied),
            *params,
        ]
    return sql.SQL(text), list(params)


def where_clause(filters: dict[str, Any] | None) -> tuple[Composable, list[Any]]:
    """Compile ``filters`` into a SQL boolean expression over the documents table (alias ``d``) and its
    params.

    Raises:
        FilterError: a malformed filter (the message says where and what is allowed).
    """
    from psycopg import sql

    where, params = optional_where(filters)
    return (where if where is not None else sql.SQL("TRUE")), params


def corpus_restriction(
    filters: dict[str, Any] | None, corpus_filters: dict[str, Any] | None
) -> tuple[Composable | None, list[Any], Corpus | None]:
    """For a search with ``corpus_filters``: the condition on the documents it may return (``filters`` AND
    ``corpus_filters``; ``filters`` alone when it already implies the corpus, as a tenant-scoped store's
    filters do) with its parameters, and the corpus its statistics are computed over (None without
    ``corpus_filters``).

    Raises:
        FilterError: either filter is malformed.
    """
    from haybale.filters import LogicalCondition, filter_to_dict, parse_filters

    if corpus_filters is None:
        return (*optional_where(filters), None)
    corpus_node = parse_filters(corpus_filters, name="corpus_filters")
    if corpus_node is None:  # an empty corpus filter selects the whole store
        return (*optional_where(filters), None)
    user = parse_filters(filters)
    corpus_where, corpus_params = where_clause(filter_to_dict(corpus_node))
    if user is None or user == corpus_node:
        return corpus_where, corpus_params, Corpus(corpus_where, corpus_params, is_filter=True)
    implied = isinstance(user, LogicalCondition) and user.operator == "AND" and corpus_node in user.conditions
    both = filter_to_dict(user)
    if not implied:
        both = {"operator": "AND", "conditions": [both, filter_to_dict(corpus_node)]}
    return (*optional_where(both), Corpus(corpus_where, corpus_params))


def _check_embedding(embedding: Any, dimension: int) -> Any:
    import numpy as np

    if not isinstance(embedding, (list, tuple)) or len(embedding) != dimension:
        size = len(embedding) if isinstance(embedding, (list, tuple)) else type(embedding).__name__
        raise DocumentStoreUsageError(
            f"query_embedding must be a list of {dimension} floats (the store's embedding_dimension), got "
            f"{size}. Embed the query with the same model as the documents."
        )
    vector = np.asarray(embedding, dtype=np.float32)
    if not np.isfinite(vector).all():
        raise DocumentStoreUsageError("query_embedding contains NaN or infinite values.")
    return vector


def count_operation(settings: SearchSettings, filters: dict[str, Any] | None) -> Operation:
    """Count the documents matching ``filters``."""
    from psycopg import sql

    where, params = where_clause(filters)
    query = sql.SQL("SELECT count(*) FROM {docs} AS d WHERE {where}").format(
        docs=settings.names.documents, where=where
    )
    rows = yield Execute(query, params, fetch=True)
    return int(rows[0][0])


def filter_operation(settings: SearchSettings, filters: dict[str, Any] | None) -> Operation:
    """The documents matching ``filters``, ordered by id."""
    from psycopg import sql

    where, params = where_clause(filters)
    query = sql.SQL("SELECT {cols} FROM {docs} AS d WHERE {where} ORDER BY d.id").format(
        cols=sql.SQL(DOCUMENT_COLUMNS), docs=settings.names.documents, where=where
    )
    rows = yield Execute(query, params, fetch=True)
    return [row_to_document(row) for row in rows]


def bm25_operation(
    settings: SearchSettings,
    query: str,
    top_k: int,
    filters: dict[str, Any] | None,
    scale_score: bool,
    *,
    corpus_filters: dict[str, Any] | None = None,
) -> Operation:
    """Top ``top_k`` documents by BM25, best first (among ``corpus_filters``, with its statistics)."""
    if not isinstance(query, str):
        raise DocumentStoreUsageError(f"bm25_search expects the query as a str, got {type(query).__name__}.")
    top_k = check_top_k(top_k)
    where, params, corpus = corpus_restriction(filters, corpus_filters)
    terms, qtfs = query_terms(settings.analyzer.tokenize(query))
    if not terms or top_k == 0:
        return []
    source = yield from bm25_source(
        settings.names,
        settings.bm25,
        settings.bm25_plan,
        where=where,
        where_params=params,
        terms=terms,
        qtfs=qtfs,
        limit=top_k,
        corpus=corpus,
    )
    rows = yield Execute(*bm25_sql(settings.names, source), fetch=True)
    documents = []
    for rank, row in enumerate(rows, start=1):
        doc = row_to_document(row, scale_bm25(row[7]) if scale_score else float(row[7]))
        doc.score_details = {"bm25": {"rank": rank, "score": float(row[7])}}
        documents.append(doc)
    return documents


def embedding_operation(
    settings: SearchSettings,
    *,
    query_embedding: list[float],
    dimension: int,
    top_k: int,
    filters: dict[str, Any] | None,
    scale_score: bool,
) -> Operation:
    """Top ``top_k`` nearest documents; a filtered HNSW search that comes back short is repeated exactly."""
    top_k = check_top_k(top_k)
    vector = _check_embedding(query_embedding, dimension)
    where, params = optional_where(filters)
    if top_k == 0:
        return []

    def statement(exact: bool) -> tuple[Any, list[Any]]:
        return dense_sql(
            settings.names,
            vector_function=settings.vector_function,
            where=where,
            where_params=params,
            embedding=vector,
            top_k=top_k,
            exact=exact,
        )

    rows = yield Execute(*statement(settings.exact), fetch=True)
    if len(rows) < top_k and not settings.exact and where is not None:
        rows = yield Execute(*statement(True), fetch=True)
    documents = []
    for rank, row in enumerate(rows, start=1):
        score = dense_score(settings.vector_function, float(row[7]))
        doc = row_to_document(row, scale_dense(settings.vector_function, score) if scale_score else score)
        doc.score_details = {"dense": {"rank": rank, "score": score}}
        documents.append(doc)
    return documents


def _hybrid_weights(fusion: str, weights: list[float] | None) -> tuple[float, float]:
    if fusion not in FUSION_METHODS:
        raise DocumentStoreUsageError(
            f"Unknown fusion {fusion!r}; use one of {', '.join(map(repr, FUSION_METHODS))}."
        )
    if weights is None:
        return (1.0, 1.0) if fusion == "reciprocal_rank_fusion" else (0.5, 0.5)
    if (
        not isinstance(weights, (list, tuple))
        or len(weights) != 2
        or not all(
            isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w) for w in weights
        )
        or any(w < 0 for w in weights)
    ):
        raise DocumentStoreUsageError(
            f"weights must be two non-negative numbers [bm25_weight, dense_weight], got {weights!r}."
        )
    return float(weights[0]), float(weights[1])


def _score_details(
    settings: SearchSettings, row: tuple[Any, ...], fusion: str, weights: tuple[float, float]
) -> dict[str, Any]:
    bm25_rank, bm25_score, dense_rank, dense_distance, fused = row[7:12]
    details: dict[str, Any] = {}
    if bm25_rank is not None:
        details["bm25"] = {"rank": int(bm25_rank), "score": float(bm25_score)}
    if dense_rank is not None:
        details["dense"] = {
            "rank": int(dense_rank),
            "score": dense_score(settings.vector_function, float(dense_distance)),
        }
    method: dict[str, Any] = {"method": fusion, "weights": list(weights), "score": float(fused)}
    if fusion == "reciprocal_rank_fusion":
        method["k"] = RRF_K
    details["fusion"] = method
    return details


def hybrid_operation(
    settings: SearchSettings,
    *,
    query: str,
    query_embedding: list[float],
    dimension: int,
    top_k: int,
    filters: dict[str, Any] | None,
    fusion: str,
    weights: list[float] | None,
    corpus_filters: dict[str, Any] | None = None,
) -> Operation:
    """BM25 and dense rankings fused in one statement; results carry ``score_details``. With
    ``corpus_filters`` both rankings see only the matching documents and BM25 uses their statistics."""
    if not isinstance(query, str):
        raise DocumentStoreUsageError(
            f"hybrid_search expects the query as a str, got {type(query).__name__}."
        )
    top_k = check_top_k(top_k)
    fused_weights = _hybrid_weights(fusion, weights)
    vector = _check_embedding(query_embedding, dimension)
    where, params, corpus = corpus_restriction(filters, corpus_filters)
    terms, qtfs = query_terms(settings.analyzer.tokenize(query))
    candidates = max(top_k, HYBRID_MIN_CANDIDATES)
    if top_k == 0:
        return []

    def nearest(exact: bool) -> tuple[Any, list[Any]]:
        return nearest_sql(
            settings.names,
            vector_function=settings.vector_function,
            where=where,
            where_params=params,
            embedding=vector,
            limit=candidates,
            exact=exact,
        )

    source = yield from bm25_source(
        settings.names,
        settings.bm25,
        settings.bm25_plan,
        where=where,
        where_params=params,
        terms=terms,
        qtfs=qtfs,
        limit=candidates,
        corpus=corpus,
        alongside=Execute(*nearest(settings.exact), fetch=True),
    )

    def statement(exact: bool) -> tuple[Any, list[Any]]:
        found = source.alongside_rows if exact == settings.exact else None  # neighbours found beside BM25
        dense = nearest(exact) if found is None else known_rows_sql(found)
        return hybrid_sql(
            settings.names, bm25=source, nearest=dense, top_k=top_k, fusion=fusion, weights=fused_weights
        )

    rows = yield Execute(*statement(settings.exact), fetch=True)
    if len(rows) < top_k and not settings.exact and where is not None:
        rows = yield Execute(*statement(True), fetch=True)
    documents: list[Document] = []
    for row in rows:
        doc = row_to_document(row, float(row[11]))
        doc.score_details = _score_details(settings, row, fusion, fused_weights)
        documents.append(doc)
    return documents

"""SQL for dense, BM25 and hybrid search in :class:`~haybale.stores.pgvector.PgvectorDocumentStore`.

Dense search orders by pgvector's distance operator for the configured ``vector_function``, which lets the
planner use the HNSW index. Connections run with ``hnsw.iterative_scan = relaxed_order`` (pgvector >= 0.8),
so when a filter rejects most of the nearest neighbours (or more are asked for than ``hnsw.ef_search``) the
index scan keeps going (up to ``hnsw.max_scan_tuples``) instead of returning fewer rows. Relaxed order may
return rows slightly out of order, so they are re-sorted by exact distance afterwards, by ``distance + 0``:
sorting by the bare column, the planner would take the index scan's order as given (an incremental sort on
"presorted" distances, even from a materialized CTE since PostgreSQL 17) and the re-sort would not happen.
If a filtered search still returns fewer than ``top_k`` rows, the store repeats it as an exact scan
(:func:`dense_sql` with ``exact=True``), which is cheap precisely when the filter is selective. An exact
scan is written with ``OFFSET 0`` in a subquery, which keeps the planner from using the index.

Hybrid search is one statement: the BM25 CTEs chosen by :mod:`haybale.stores._pgvector_bm25_plan` (which
may have computed the ranking beforehand on several connections, and then the nearest neighbours beside it:
:func:`nearest_sql`), a dense CTE, and a ``FULL OUTER JOIN`` that fuses them by reciprocal rank fusion or by
a weighted sum of min-max normalised scores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from haybale.dataclasses import ByteStream, Document, SparseEmbedding
from haybale.stores._pgvector_schema import OPERATOR_CLASSES
from haybale.stores.scoring import (
    DOT_PRODUCT_SCALING_FACTOR,
    scale_bm25,
    scale_cosine,
    scale_dot_product,
    sigmoid,
)

if TYPE_CHECKING:
    from psycopg.sql import Composable, Composed

    from haybale.stores._pgvector_bm25_plan import BM25Source
    from haybale.stores._pgvector_schema import TableNames

__all__ = [
    "DOCUMENT_COLUMNS",
    "FUSION_METHODS",
    "RRF_K",
    "bm25_sql",
    "dense_score",
    "dense_sql",
    "hybrid_sql",
    "known_rows_sql",
    "nearest_sql",
    "row_to_document",
    "scale_bm25",
    "scale_dense",
]

#: Columns selected for every returned document, in the order :func:`row_to_document` reads them.
DOCUMENT_COLUMNS = "d.id, d.content, d.meta, d.embedding, d.sparse_embedding, d.blob, d.blob_meta"
FUSION_METHODS = ("reciprocal_rank_fusion", "weighted")
#: The constant k of reciprocal rank fusion (Cormack et al. 2009).
RRF_K = 60


def row_to_document(row: tuple[Any, ...], score: float | None = None) -> Document:
    """Build a Document from the first columns of ``row`` (in :data:`DOCUMENT_COLUMNS` order)."""
    doc_id, content, meta, embedding, sparse, blob, blob_meta = row[:7]
    blob_stream = None
    if blob is not None:
        info = blob_meta or {}
        blob_stream = ByteStream(
            data=bytes(blob), meta=info.get("meta") or {}, mime_type=info.get("mime_type")
        )
    return Document(
        id=doc_id,
        content=content,
        meta=meta if meta is not None else {},
        embedding=[float(x) for x in embedding.to_list()] if embedding is not None else None,
        sparse_embedding=SparseEmbedding.from_dict(sparse) if sparse is not None else None,
        blob=blob_stream,
        score=score,
    )


def dense_score(vector_function: str, distance: float) -> float:
    """The similarity reported for a pgvector distance: cosine similarity, inner product, or L2 distance."""
    if vector_function == "cosine_similarity":
        return 1.0 - distance
    if vector_function == "inner_product":
        return -distance
    return distance


def scale_dense(vector_function: str, score: float) -> float:
    """Scale a dense score into [0, 1] (higher is better) for ``scale_score=True``."""
    if vector_function == "cosine_similarity":
        return scale_cosine(score)
    if vector_function == "inner_product":
        return scale_dot_product(score)
    return 2.0 * (1.0 - sigmoid(max(score, 0.0) / DOT_PRODUCT_SCALING_FACTOR))


def _distance_expr(vector_function: str) -> Composable:
    from psycopg import sql

    return sql.SQL("d.embedding {op} %s::vector").format(op=sql.SQL(OPERATOR_CLASSES[vector_function][1]))


def _nearest_subquery(
    names: TableNames, vector_function: str, where: Composable | None, exact: bool
) -> Composed:
    """``(id, distance)`` of the nearest documents. Placeholders: vector, where-params, [vector], limit."""
    from psycopg import sql

    if where is None:
        where = sql.SQL("TRUE")
    distance = _distance_expr(vector_function)
    if exact:
        return sql.SQL(
            "SELECT x.id, x.distance FROM (SELECT d.id, {dist} AS distance FROM {docs} AS d "
            "WHERE d.embedding IS NOT NULL AND ({where}) OFFSET 0) AS x ORDER BY x.distance, x.id LIMIT %s"
        ).format(dist=distance, where=where, docs=names.documents)
    return sql.SQL(
        "SELECT d.id, {dist} AS distance FROM {docs} AS d WHERE d.embedding IS NOT NULL AND ({where}) "
        "ORDER BY {dist} LIMIT %s"
    ).format(dist=distance, where=where, docs=names.documents)


def _nearest_params(embedding: Any, where_params: list[Any], limit: int, exact: bool) -> list[Any]:
    if exact:
        return [embedding, *where_params, limit]
    return [embedding, *where_params, embedding, limit]


def nearest_sql(
    names: TableNames,
    *,
    vector_function: str,
    where: Composable | None,
    where_params: list[Any],
    embedding: Any,
    limit: int,
    exact: bool,
) -> tuple[Composed, list[Any]]:
    """``(id, distance)`` rows of the ``limit`` nearest documents (statement, parameters): hybrid search's
    dense side, run on its own or inside :func:`hybrid_sql`."""
    return _nearest_subquery(names, vector_function, where, exact), _nearest_params(
        embedding, where_params, limit, exact
    )


def known_rows_sql(rows: list[Any]) -> tuple[Composed, list[Any]]:
    """The ``(id, distance)`` rows of a :func:`nearest_sql` run beforehand, as a subquery for
    :func:`hybrid_sql` (statement, parameters)."""
    from psycopg import sql

    statement = sql.SQL("SELECT u.id, u.distance FROM unnest(%s::text[], %s::float8[]) AS u(id, distance)")
    return statement.format(), [[r[0] for r in rows], [r[1] for r in rows]]


def dense_sql(
    names: TableNames,
    *,
    vector_function: str,
    where: Composable | None,
    where_params: list[Any],
    embedding: Any,
    top_k: int,
    exact: bool,
) -> tuple[Composed, list[Any]]:
    """The dense search statement and its parameters; rows are DOCUMENT_COLUMNS + distance, nearest first."""
    from psycopg import sql

    inner = _nearest_subquery(names, vector_function, where, exact)
    query = sql.SQL(
        "SELECT {cols}, n.distance FROM ({inner}) AS n JOIN {docs} AS d ON d.id = n.id "
        "ORDER BY n.distance + 0, d.id"
    ).format(cols=sql.SQL(DOCUMENT_COLUMNS), inner=inner, docs=names.documents)
    return query, _nearest_params(embedding, where_params, top_k, exact)


def bm25_sql(names: TableNames, bm25: BM25Source) -> tuple[Composed, list[Any]]:
    """The BM25 search statement and its parameters; rows are DOCUMENT_COLUMNS + score, best first."""
    from psycopg import sql

    query = sql.SQL(
        "WITH {ctes} SELECT {cols}, b.score FROM bm25 AS b JOIN {docs} AS d ON d.id = b.id ORDER BY b.rank"
    ).format(ctes=bm25.ctes, cols=sql.SQL(DOCUMENT_COLUMNS), docs=names.documents)
    return query, list(bm25.params)


def _fusion_expr(fusion: str) -> Composable:
    from psycopg import sql

    if fusion == "reciprocal_rank_fusion":
        return sql.SQL(
            "%s::float8 * coalesce(1.0 / ({k} + b.rank), 0) + %s::float8 * coalesce(1.0 / ({k} + v.rank), 0)"
        ).format(k=sql.Literal(RRF_K))
    return sql.SQL("%s::float8 * coalesce(b.norm, 0) + %s::float8 * coalesce(v.norm, 0)")


def hybrid_sql(
    names: TableNames,
    *,
    bm25: BM25Source,
    nearest: tuple[Composed, list[Any]],
    top_k: int,
    fusion: str,
    weights: tuple[float, float],
) -> tuple[Composed, list[Any]]:
    """The hybrid search statement; rows are DOCUMENT_COLUMNS + bm25 rank/score, dense rank/distance, fused.

    ``bm25`` ranks the BM25 candidates; ``nearest`` (:func:`nearest_sql`, or :func:`known_rows_sql` for
    neighbours found beforehand) gives the dense candidates, same number; the fused ranking keeps ``top_k``.
    """
    from psycopg import sql

    nearest_statement, nearest_params = nearest
    query = sql.SQL(
        """
        WITH {bm25_ctes},
        bm25n AS (
            SELECT id, score, rank,
                   CASE WHEN max(score) OVER () > min(score) OVER ()
                        THEN (score - min(score) OVER ()) / (max(score) OVER () - min(score) OVER ())
                        ELSE 1.0 END AS norm
            FROM bm25
        ),
        dense AS (
            SELECT n.id, n.distance, row_number() OVER (ORDER BY n.distance + 0, n.id) AS rank,
                   CASE WHEN max(n.distance) OVER () > min(n.distance) OVER ()
                        THEN (max(n.distance) OVER () - n.distance)
                             / (max(n.distance) OVER () - min(n.distance) OVER ())
                        ELSE 1.0 END AS norm
            FROM ({nearest}) AS n
        ),
        fused AS (
            SELECT coalesce(b.id, v.id) AS id, b.rank AS bm25_rank, b.score AS bm25_score,
                   v.rank AS dense_rank, v.distance AS dense_distance, {fusion} AS fused
            FROM bm25n AS b FULL OUTER JOIN dense AS v ON b.id = v.id
            ORDER BY fused DESC, id
            LIMIT %s
        )
        SELECT {cols}, f.bm25_rank, f.bm25_score, f.dense_rank, f.dense_distance, f.fused
        FROM fused AS f JOIN {docs} AS d ON d.id = f.id
        ORDER BY f.fused DESC, f.id
        """
    ).format(
        bm25_ctes=bm25.ctes,
        nearest=nearest_statement,
        fusion=_fusion_expr(fusion),
        cols=sql.SQL(DOCUMENT_COLUMNS),
        docs=names.documents,
    )
    params = [
        *bm25.params,
        *nearest_params,
        weights[0],
        weights[1],
        top_k,
    ]
    return query, params

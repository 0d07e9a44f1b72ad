"""How :class:`~haybale.stores.pgvector.PgvectorDocumentStore` computes a BM25 ranking, chosen per query.

All three ways give the same ranking and the same scores (bit for bit: every final score is the sum of the
query terms' contributions in query-term order, with the formula of :mod:`haybale.stores._pgvector_bm25`);
they differ only in how much work PostgreSQL does and on how many cores:

* **single pass** (:func:`single_pass_cte`): score every posting of the query terms, sum per document,
  sort. Cheapest when the query terms have few postings in total (small stores, rare terms): the pruning
  stages cost more than they save on short postings lists.
* **pruned** (:func:`~haybale.stores._pgvector_bm25.bm25_ranked_cte`): exact max-score pruning in one
  statement; skips the frequent terms' postings that cannot change the top.
* **sliced**: the pruned ranking computed over disjoint ``seq`` ranges of the corpus at the same time, on
  separate pooled connections that share one MVCC snapshot (the runner's :class:`Concurrent` step), then
  merged. Every document of the global top ``k`` is in its own slice's top ``k`` (by the same (score desc,
  seq) order), and idf and avgdl are the whole corpus's in every slice, so the merge is exact. This puts a
  second core to work on one query; the runner falls back to the pruned statement when the pool has no idle
  connection to lend (under concurrent load every core is busy anyway).

The choice is made in Python from one small statement (:func:`probe_sql`): the query terms' total number of
postings (their document frequencies in ``<table>_term_stats``) and the ``seq`` range of the documents.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haybale.errors import DocumentStoreUsageError
from haybale.stores._pgvector_bm25 import (
    BM25Parameters,
    Corpus,
    avgdl_expr,
    bm25_ranked_cte,
    contribution_expr,
    corpus_ctes,
    idf_expr,
    ranked_tail_ctes,
    restriction_ctes,
)
from haybale.stores._pgvector_writes import Concurrent, Execute

if TYPE_CHECKING:
    from psycopg.sql import Composable, Composed

    from haybale.stores._pgvector_schema import TableNames

__all__ = ["BM25Plan", "BM25Source", "bm25_source", "probe_sql", "single_pass_cte", "slice_bounds"]

_INT8_MIN, _INT8_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class BM25Plan:
    """When each way of ranking is used, by the query terms' total postings (see the module docstring).

    ``single_pass_max_postings``: at most this many postings, the single-pass statement (0: never).
    ``parallel_slices``: how many ``seq`` slices a large query is split into (1: never split).
    ``parallel_min_postings``: at least this many postings before a query is split.
    """

    single_pass_max_postings: int = 5_000
    parallel_slices: int = 2
    parallel_min_postings: int = 30_000

    def __post_init__(self) -> None:
        for name, low in (
            ("bm25_single_pass_max_postings", 0),
            ("bm25_parallel_slices", 1),
            ("bm25_parallel_min_postings", 0),
        ):
            value = getattr(self, name.removeprefix("bm25_"))
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise DocumentStoreUsageError(f"{name} must be an integer >= {low}, got {value!r}.")


@dataclass(frozen=True)
class BM25Source:
    """The CTEs of a statement that end in ``bm25(id, score, rank)`` (best ``limit`` documents), and their
    parameters, which come first in the statement."""

    ctes: Composed
    params: list[Any]
    #: The rows of the ``alongside`` statement given to :func:`bm25_source`, when it ran together with the
    #: slices of a split ranking (None otherwise: the caller runs that work itself).
    alongside_rows: list[Any] | None = None


def probe_sql(names: TableNames) -> Composed:
    """One row: the total document frequency of the query terms (param: text[]), and the smallest and
    largest document ``seq`` (NULL when the store is empty)."""
    from psycopg import sql

    return sql.SQL(
        "SELECT coalesce(sum(ts.df), 0)::int8, (SELECT min(d.seq) FROM {docs} AS d), "
        "(SELECT max(d.seq) FROM {docs} AS d) FROM {term_stats} AS ts WHERE ts.term = ANY(%s::text[])"
    ).format(docs=names.documents, term_stats=names.term_stats)


def single_pass_cte(
    names: TableNames,
    where: Composable | None,
    params: BM25Parameters,
    corpus: Corpus | None = None,
) -> Composed:
    """CTEs ending in ``bm25(id, score, rank)`` that score every posting of the query terms.

    Same placeholders and results as :func:`~haybale.stores._pgvector_bm25.bm25_ranked_cte` (unsliced);
    the per-document sums run in query-term order, as that statement's final scores do.
    """
    from psycopg import sql

    filtered, restrict = restriction_ctes(names, where, sliced=False)
    statistics, term_stats, totals = corpus_ctes(names, corpus)
    return sql.SQL(
        """
        {filtered}
        {statistics}
        bm25_idf AS MATERIALIZED (
            SELECT q.ord, q.term, q.qtf::float8 AS qtf, {idf} AS idf, {avgdl} AS avgdl
            FROM unnest(%s::text[], %s::int[]) WITH ORDINALITY AS q(term, qtf, ord)
            JOIN {term_stats} AS ts ON ts.term = q.term AND ts.df > 0
            CROSS JOIN {corpus} AS cs
        ),
        bm25_limit AS MATERIALIZED (SELECT %s::int8 AS k),
        bm25_scored AS (
            SELECT p.doc_seq AS seq, sum({contribution} ORDER BY i.ord) AS score
            FROM bm25_idf AS i JOIN {postings} AS p ON p.term = i.term
            WHERE TRUE {restrict}
            GROUP BY p.doc_seq
        ),
        {tail}
        """
    ).format(
        filtered=filtered,
        restrict=restrict,
        idf=idf_expr(),
        avgdl=avgdl_expr(),
        contribution=contribution_expr(params),
        statistics=statistics,
        term_stats=term_stats,
        corpus=totals,
        postings=names.postings,
        tail=ranked_tail_ctes(names),
    )


def _merged_cte(names: TableNames) -> Composed:
    """``bm25(id, score, rank)`` from a ranking computed beforehand. Placeholders: seqs (int8[]), scores
    (float8[]), best first."""
    from psycopg import sql

    return sql.SQL(
        """
        bm25 AS (
            SELECT d.id, u.score, row_number() OVER (ORDER BY u.score DESC, u.seq) AS rank
            FROM unnest(%s::int8[], %s::float8[]) AS u(seq, score) JOIN {docs} AS d ON d.seq = u.seq
        )
        """
    ).format(docs=names.documents)


def _slice_sql(
    names: TableNames, where: Composable | None, params: BM25Parameters, corpus: Corpus | None
) -> Composed:
    """The pruned top ``limit`` ``(seq, score)`` of one ``seq`` slice (placeholders: lo, hi, then as
    :func:`~haybale.stores._pgvector_bm25.bm25_ranked_cte`)."""
    from psycopg import sql

    return sql.SQL("WITH {ctes} SELECT t.seq, t.score FROM bm25_top AS t").format(
        ctes=bm25_ranked_cte(names, where, params, sliced=True, corpus=corpus)
    )


def slice_bounds(first: int, last: int, slices: int) -> list[tuple[int, int]]:
    """Inclusive ``seq`` ranges covering every int8: ``slices`` near-equal parts of ``first..last`` (the
    documents present), the outer ones open-ended so documents written meanwhile are never missed."""
    width = (last - first + 1) / slices
    cuts = [first + round(width * i) for i in range(1, slices)]
    starts = [_INT8_MIN, *cuts]
    ends = [c - 1 for c in cuts] + [_INT8_MAX]
    return list(zip(starts, ends, strict=True))


def bm25_source(
    names: TableNames,
    bm25: BM25Parameters,
    plan: BM25Plan,
    *,
    where: Composable | None,
    where_params: list[Any],
    terms: list[str],
    qtfs: list[int],
    limit: int,
    corpus: Corpus | None = None,
    alongside: Execute | None = None,
) -> Generator[Execute | Concurrent, Any, BM25Source]:
    """Steps choosing and (for sliced rankings) computing the BM25 part of a search; returns its CTEs.

    ``where`` restricts which documents are ranked; ``corpus`` (from a search's ``corpus_filters``) makes
    the statistics those of the matching documents instead of the whole store's
    (:func:`~haybale.stores._pgvector_bm25.corpus_ctes`; ``where`` must then imply it).
    ``alongside`` is another read-only statement of the same search (hybrid search's nearest neighbours):
    when the ranking is split, it runs at the same time as the slices, on a connection of its own, and its
    rows come back in :attr:`BM25Source.alongside_rows`.
    """
    statistics = [] if corpus is None else corpus.statement_params(terms)
    ranked = [*where_params, *statistics, terms, qtfs, limit]
    if not terms:  # nothing to rank: no need to ask
        return BM25Source(single_pass_cte(names, where, bm25, corpus), ranked)
    rows = yield Execute(probe_sql(names), [terms], fetch=True)
    postings, first, last = rows[0]
    if postings <= plan.single_pass_max_postings:
        return BM25Source(single_pass_cte(names, where, bm25, corpus), ranked)
    if plan.parallel_slices > 1 and postings >= plan.parallel_min_postings and first is not None:
        statement = _slice_sql(names, where, bm25, corpus)
        bounds = slice_bounds(int(first), int(last), plan.parallel_slices)
        steps = tuple(Execute(statement, [lo, hi, *ranked], fetch=True) for lo, hi in bounds)
        results = yield Concurrent(steps if alongside is None else (alongside, *steps))
        if results is not None:
            extra = None if alongside is None else results[0]
            slices = results if alongside is None else results[1:]
            merged = sorted((row for rows in slices for row in rows), key=lambda r: (-r[1], r[0]))[:limit]
            return BM25Source(
                _merged_cte(names), [[r[0] for r in merged], [r[1] for r in merged]], alongside_rows=extra
            )
    return BM25Source(bm25_ranked_cte(names, where, bm25, corpus=corpus), ranked)

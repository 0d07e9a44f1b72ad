"""True BM25 computed inside PostgreSQL for :class:`~haybale.stores.pgvector.PgvectorDocumentStore`.

How it works
------------
Text is analysed in Python with the shared :class:`haybale.stores.text_analysis.Analyzer`, so the Pgvector,
in-memory and SQLite stores agree on what a term is. Each document row keeps its ``terms``, ``tfs`` and
``doc_len``; the inverted index ``<table>_postings`` holds one narrow row per (term, document) with ``tf``
and ``doc_len``, keyed by (term, doc_seq). Corpus statistics live in two small tables:
``<table>_term_stats`` (document frequency per term, and the per-term pruning bounds ``max_tf`` and
``min_len_ratio``) and ``<table>_corpus_stats`` (document count ``n`` and total length). Every write, delete
and replace updates them *in the same transaction* as the documents, and writers take a transaction-level
advisory lock on the store, so statistics never drift and concurrent writers cannot deadlock on term rows.
Readers take no lock: one BM25 query is one SQL statement and therefore reads one consistent MVCC snapshot
of documents, postings and statistics.

Scoring (Lucene / Okapi BM25, the default of the in-memory store)::

    idf(t)   = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
    score(d) = sum over query terms t in d of  idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| / avgdl))

with k1 = 1.2 and b = 0.75 by default. Filters are applied to the postings before ranking (so ``top_k``
results come back whenever that many matching documents contain a query term), and the top ``top_k`` is
found with exact max-score pruning (see :func:`bm25_ranked_cte`): postings of frequent terms that cannot
change the top are not scanned, and the ranking is the one scoring every posting would give.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haybale.errors import DocumentStoreUsageError

if TYPE_CHECKING:
    from psycopg.sql import Composable, Composed

    from haybale.stores._pgvector_schema import TableNames

__all__ = [
    "BM25Parameters",
    "Corpus",
    "DocumentPostings",
    "bm25_ranked_cte",
    "build_postings",
    "corpus_ctes",
    "delete_with_stats_sql",
    "insert_postings_sql",
    "query_terms",
    "ranked_tail_ctes",
    "update_stats_params",
    "update_stats_sql",
]


@dataclass(frozen=True)
class BM25Parameters:
    """BM25 constants: ``k1`` (term-frequency saturation) and ``b`` (length normalisation)."""

    k1: float = 1.2
    b: float = 0.75

    def __post_init__(self) -> None:
        if not isinstance(self.k1, (int, float)) or self.k1 < 0:
            raise DocumentStoreUsageError(f"bm25_k1 must be a number >= 0 (1.2 is usual), got {self.k1!r}.")
        if not isinstance(self.b, (int, float)) or not 0 <= self.b <= 1:
            raise DocumentStoreUsageError(
                f"bm25_b must be a number between 0 and 1 (0.75 is usual), got {self.b!r}."
            )


@dataclass(frozen=True)
class DocumentPostings:
    """The BM25 postings of one document: distinct terms, their frequencies, and the analysed length."""

    terms: list[str]
    tfs: list[int]
    length: int


def build_postings(tokens: list[str]) -> DocumentPostings:
    """Postings of a document from its analysed tokens."""
    counts = Counter(tokens)
    return DocumentPostings(list(counts), list(counts.values()), len(tokens))


def query_terms(tokens: list[str]) -> tuple[list[str], list[int]]:
    """Distinct query terms and how often each occurs in the query (each occurrence counts once in the
    score)."""
    counts = Counter(tokens)
    return list(counts), list(counts.values())


def update_stats_params(postings: list[DocumentPostings]) -> list[Any]:
    """Parameters for :func:`update_stats_sql` adding the given documents' postings: document frequencies,
    the per-term pruning bounds (largest tf, smallest doc_len / tf) and the corpus totals."""
    df: Counter[str] = Counter()
    max_tf: dict[str, int] = {}
    min_ratio: dict[str, float] = {}
    for posting in postings:
        df.update(posting.terms)
        for term, tf in zip(posting.terms, posting.tfs, strict=True):
            max_tf[term] = max(max_tf.get(term, 0), tf)
            ratio = posting.length / tf
            min_ratio[term] = min(min_ratio.get(term, ratio), ratio)
    terms = sorted(df)  # a stable order keeps row locks ordered
    return [
        terms,
        [df[t] for t in terms],
        [max_tf[t] for t in terms],
        [min_ratio[t] for t in terms],
        len(postings),
        sum(p.length for p in postings),
    ]


def update_stats_sql(names: TableNames) -> Composed:
    """One statement adding per-term document frequencies, widening the per-term pruning bounds, and
    adding to the corpus totals (params from update_stats_params)."""
    from psycopg import sql

    return sql.SQL(
        """
        WITH upsert AS (
            INSERT INTO {term_stats} AS ts (term, df, max_tf, min_len_ratio)
            SELECT u.term, u.df, u.max_tf, u.min_len_ratio
            FROM unnest(%s::text[], %s::bigint[], %s::int4[], %s::float8[])
                AS u(term, df, max_tf, min_len_ratio)
            ON CONFLICT (term) DO UPDATE SET df = ts.df + excluded.df,
                max_tf = greatest(ts.max_tf, excluded.max_tf),
                min_len_ratio = least(ts.min_len_ratio, excluded.min_len_ratio)
            RETURNING 1
        )
        UPDATE {corpus} SET n = n + %s, total_len = total_len + %s WHERE id = 1
        """
    ).format(term_stats=names.term_stats, corpus=names.corpus_stats)


def insert_postings_sql(names: TableNames) -> Composed:
    """One statement copying the postings of the given documents (param: ids) from their rows into the index.

    The per-term rows are generated inside PostgreSQL from the ``terms`` / ``tfs`` arrays just COPY'd, so
    Python never ships one row per (term, document).
    """
    from psycopg import sql

    return sql.SQL(
        """
        INSERT INTO {postings} (term, doc_seq, tf, doc_len)
        SELECT u.term, d.seq, u.tf, d.doc_len
        FROM {docs} AS d CROSS JOIN LATERAL unnest(d.terms, d.tfs) AS u(term, tf)
        WHERE d.id = ANY(%s::text[])
        ORDER BY u.term, d.seq
        """
    ).format(postings=names.postings, docs=names.documents)


def delete_with_stats_sql(names: TableNames, where: Composable) -> Composed:
    """One statement deleting the documents matching ``where`` with their postings, and updating statistics.

    Returns one row: the number of documents deleted.
    """
    from psycopg import sql

    return sql.SQL(
        """
        WITH del AS (DELETE FROM {docs} AS d WHERE {where} RETURNING d.seq, d.terms, d.doc_len),
        del_terms AS (SELECT del.seq, t.term FROM del CROSS JOIN LATERAL unnest(del.terms) AS t(term)),
        dp AS (DELETE FROM {postings} AS p USING del_terms AS x
               WHERE p.term = x.term AND p.doc_seq = x.seq RETURNING 1),
        agg AS (SELECT term, count(*) AS c FROM del_terms GROUP BY term),
        upd AS (UPDATE {term_stats} AS ts SET df = ts.df - agg.c FROM agg
                WHERE ts.term = agg.term RETURNING 1),
        cs AS (UPDATE {corpus} SET n = n - (SELECT count(*) FROM del),
                   total_len = total_len - (SELECT coalesce(sum(doc_len), 0) FROM del)
               WHERE id = 1 RETURNING 1)
        SELECT (SELECT count(*) FROM del), (SELECT count(*) FROM dp), (SELECT count(*) FROM upd),
               (SELECT count(*) FROM cs)
        """
    ).format(
        docs=names.documents,
        where=where,
        postings=names.postings,
        term_stats=names.term_stats,
        corpus=names.corpus_stats,
    )


def idf_expr() -> Composable:
    """idf of term-stats row ``ts`` in corpus ``cs``."""
    from psycopg import sql

    return sql.SQL(
        "ln(1.0::float8 + (cs.n::float8 - ts.df::float8 + 0.5::float8) / (ts.df::float8 + 0.5::float8))"
    )


def avgdl_expr() -> Composable:
    """Average document length of corpus ``cs`` (never 0)."""
    from psycopg import sql

    return sql.SQL("greatest(cs.total_len::float8 / greatest(cs.n, 1)::float8, 1e-9::float8)")


#: Relative slack of the pruning comparisons: bounds and partial sums are computed in floating point in
#: another order than the final scores, so a document is only skipped when its bound is below the threshold
#: by more than rounding could explain.
_PRUNING_SLACK = 1e-9


def contribution_expr(params: BM25Parameters) -> Composed:
    """One posting's BM25 contribution: term row ``i`` (qtf, idf, avgdl) and posting ``p`` (tf, doc_len)."""
    from psycopg import sql

    return sql.SQL(
        "i.qtf * i.idf * p.tf::float8 * {k1_plus_1} "
        "/ (p.tf::float8 + {k1} * ({one_minus_b} + {b} * p.doc_len::float8 / i.avgdl))"
    ).format(
        k1=sql.Literal(float(params.k1)),
        k1_plus_1=sql.Literal(float(params.k1) + 1.0),
        b=sql.Literal(float(params.b)),
        one_minus_b=sql.Literal(1.0 - float(params.b)),
    )


def _fastcontribution_expr() -> Composable:
    """The same contribution as :func:`contribution_expr` with the per-term factors of ``bm25_idf`` folded in
    (``w = qtf * idf * (k1 + 1)``, ``c1 = k1 (1 - b)``, ``c2 = k1 b / avgdl``): fewer operations per
    posting, equal up to rounding, so it only serves the pruning stages; final scores use
    :func:`contribution_expr`."""
    from psycopg import sql

    return sql.SQL("i.w * p.tf::float8 / (p.tf::float8 + i.c1 + i.c2 * p.doc_len::float8)")


def _upper_bound(params: BM25Parameters) -> Composed:
    """The largest contribution any posting of term row ``ts`` can make (scaled by ``qtf * idf``).

    ``tf (k1+1) / (tf + k1 (1-b) + k1 b dl/avgdl) = (k1+1) / (1 + k1 (1-b) / tf + k1 b (dl/tf) / avgdl)``
    grows with ``tf`` and shrinks with ``dl / tf``, so the term's largest ``tf`` and smallest ``dl / tf``
    bound it whatever ``avgdl`` is; deletes leave both as they are, which keeps the bound safe (only less
    tight). Missing bounds fall back to the limit ``k1 + 1``.
    """
    from psycopg import sql

    return sql.SQL(
        "q.qtf::float8 * {idf} * {k1_plus_1} / (1.0::float8 + coalesce({k1} * {one_minus_b} / ts.max_tf "
        "+ {k1} * {b} * ts.min_len_ratio / {avgdl}, 0.0::float8))"
    ).format(
        idf=idf_expr(),
        avgdl=avgdl_expr(),
        k1=sql.Literal(float(params.k1)),
        k1_plus_1=sql.Literal(float(params.k1) + 1.0),
        b=sql.Literal(float(params.b)),
        one_minus_b=sql.Literal(1.0 - float(params.b)),
    )


def restriction_ctes(
    names: TableNames, where: Composable | None, sliced: bool, whole_filter: bool = False
) -> tuple[Composable, Composable]:
    """The CTEs that restrict which documents are ranked (a filter, a ``seq`` slice) and the condition on
    postings ``p`` that applies them; both empty when every document is ranked. A slice's ``bm25_filter``
    holds only the slice's documents unless ``whole_filter`` (the corpus statistics read it too)."""
    from psycopg import sql

    ctes: list[Composable] = []
    conditions: list[Composable] = []
    in_slice = sql.SQL("")
    if sliced:
        # Bounds as a one-row CTE: the postings index scans take them as key bounds (term, doc_seq range).
        ctes.append(sql.SQL("bm25_slice AS MATERIALIZED (SELECT %s::int8 AS lo, %s::int8 AS hi),"))
        lo, hi = "(SELECT s.lo FROM bm25_slice AS s)", "(SELECT s.hi FROM bm25_slice AS s)"
        conditions.append(sql.SQL(f"AND p.doc_seq >= {lo} AND p.doc_seq <= {hi}"))
        in_slice = sql.SQL("" if whole_filter else f" AND d.seq >= {lo} AND d.seq <= {hi}")
    if where is not None:
        # Filter the documents first (the GIN index on meta serves equality filters), then keep only their
        # postings: a selective filter never pays for scoring documents it rejects. MATERIALIZED makes the
        # planner hash the matching set instead of probing the wide document rows once per posting.
        ctes.append(
            sql.SQL(
                "bm25_filter AS MATERIALIZED "
                "(SELECT d.seq, d.doc_len FROM {docs} AS d WHERE ({where}){in_slice}),"
            ).format(docs=names.documents, where=where, in_slice=in_slice)
        )
        conditions.append(sql.SQL("AND p.doc_seq IN (SELECT f.seq FROM bm25_filter AS f)"))
    return sql.SQL("\n").join(ctes), sql.SQL(" ").join(conditions)


@dataclass(frozen=True)
class Corpus:
    """The documents a search's BM25 statistics come from (its ``corpus_filters``): a condition on the
    documents table and its parameters. ``is_filter``: the condition is exactly the search's filter, so the
    ranking reads the documents its filter already selected instead of selecting them again."""

    where: Composable
    params: list[Any]
    is_filter: bool = False

    def statement_params(self, terms: list[str]) -> list[Any]:
        """The parameters of :func:`corpus_ctes` for these query terms."""
        return [terms] if self.is_filter else [*self.params, terms]


def corpus_ctes(names: TableNames, corpus: Corpus | None) -> tuple[Composable, Composable, Composable]:
    """The statistics a ranking reads: ``(ctes, term stats, corpus totals)``.

    Without ``corpus`` these are the store's tables (no CTEs). With it (a search's ``corpus_filters``), the
    CTEs compute the same columns over the matching documents only: ``df`` of each query term counted in
    their postings, ``n`` and ``total_len`` summed over them. The pruning bounds (``max_tf``,
    ``min_len_ratio``) stay the whole store's: bounds over a superset still bound every corpus document.
    Placeholders of the CTEs: :meth:`Corpus.statement_params`.
    """
    from psycopg import sql

    if corpus is None:
        return sql.SQL(""), names.term_stats, names.corpus_stats
    documents: Composable
    if corpus.is_filter:
        documents, source = sql.SQL(""), sql.SQL("bm25_filter")
    else:
        documents = sql.SQL(
            "bm25_corpus_docs AS MATERIALIZED (SELECT d.seq, d.doc_len FROM {docs} AS d WHERE ({where})),"
        ).format(docs=names.documents, where=corpus.where)
        source = sql.SQL("bm25_corpus_docs")
    ctes = sql.SQL(
        """
        {documents}
        bm25_corpus AS MATERIALIZED (
            SELECT count(*)::int8 AS n, coalesce(sum(c.doc_len), 0)::int8 AS total_len
            FROM {source} AS c
        ),
        bm25_corpus_terms AS MATERIALIZED (
            SELECT ts.term, x.df, ts.max_tf, ts.min_len_ratio
            FROM (SELECT p.term, count(*)::int8 AS df
                  FROM {postings} AS p JOIN {source} AS c ON c.seq = p.doc_seq
                  WHERE p.term = ANY(%s::text[]) GROUP BY p.term) AS x
            JOIN {term_stats} AS ts ON ts.term = x.term
        ),
        """
    ).format(documents=documents, source=source, postings=names.postings, term_stats=names.term_stats)
    return ctes, sql.SQL("bm25_corpus_terms"), sql.SQL("bm25_corpus")


def ranked_tail_ctes(names: TableNames) -> Composed:
    """The two CTEs every BM25 ranking ends with: ``bm25_top(seq, score)``, the best ``k`` rows of
    ``bm25_scored`` (score desc, then seq; ``k`` from ``bm25_limit``), and ``bm25(id, score, rank)``."""
    from psycopg import sql

    return sql.SQL(
        """
        bm25_top AS (
            SELECT s.seq, s.score FROM bm25_scored AS s ORDER BY s.score DESC, s.seq
            LIMIT (SELECT k FROM bm25_limit)
        ),
        bm25 AS (
            SELECT d.id, t.score, row_number() OVER (ORDER BY t.score DESC, t.seq) AS rank
            FROM bm25_top AS t JOIN {docs} AS d ON d.seq = t.seq
        )
        """
    ).format(docs=names.documents)


def bm25_ranked_cte(
    names: TableNames,
    where: Composable | None,
    params: BM25Parameters,
    sliced: bool = False,
    corpus: Corpus | None = None,
) -> Composed:
    """CTEs ending in ``bm25(id, score, rank)``: the exact BM25 top ``limit`` of documents matching ``where``.

    ``where`` None means no filter (the documents table is then only read for the final candidates).
    Placeholders, in order: the parameters of ``where``, those of the corpus statistics
    (:func:`corpus_ctes`, only with ``corpus``), query terms (text[]), their query frequencies (int[]), then
    the limit. ``sliced`` ranks only the documents whose ``seq`` lies in an inclusive range
    given by two more placeholders *before* all others (``bm25_top(seq, score)`` is then the slice's top
    ``limit``; idf and avgdl stay those of the whole corpus, so scores are the same as unsliced).

    Exact dynamic pruning (max-score): every term has an upper bound ``ub`` of its contribution
    (:func:`_upper_bound`).

    1. The postings of the term with the largest bound are scored; the ``limit``-th best of those
       contributions, ``theta1``, is a lower bound of the ``limit``-th best score.
    2. The terms with the smallest bounds whose bounds sum to less than ``theta1`` are *skipped*: a document
       holding only skipped terms cannot reach the top, so their (long) postings lists are not scanned.
    3. The postings of the other terms are summed per document (partial scores, lower bounds of the scores;
       their ``limit``-th best is ``theta2``). Documents whose partial score plus the skipped terms' bounds
       stays below ``theta2`` cannot reach the top either; the others survive.
    4. The skipped terms' postings of the survivors are read with one index scan per term over the sorted
       array of survivors (``doc_seq = ANY(...)``), which walks the index leaves instead of descending once
       per document.
    5. The documents whose summed score is within rounding of the ``limit``-th best get their final score
       from index lookups of every query term, summed in query-term order with the original formula, and
       are ranked by (score desc, seq) as always.

    Every comparison against a threshold keeps a relative slack (``_PRUNING_SLACK``) for floating-point
    rounding, and all thresholds are scores of real documents that pass the filter, so a document of the
    true top ``limit`` -- ties included -- is never dropped.
    """
    from psycopg import sql

    filtered, restrict = restriction_ctes(names, where, sliced, corpus is not None and corpus.is_filter)
    statistics, term_stats, totals = corpus_ctes(names, corpus)
    slack = sql.Literal(1.0 - _PRUNING_SLACK)
    return sql.SQL(
        """
        {filtered}
        {statistics}
        bm25_idf AS MATERIALIZED (
            SELECT q.ord, q.term, q.qtf::float8 AS qtf, {idf} AS idf, {avgdl} AS avgdl, {bound} AS ub,
                   q.qtf::float8 * {idf} * {k1_plus_1} AS w, {k1} * {one_minus_b} AS c1,
                   {k1} * {b} / {avgdl} AS c2
            FROM unnest(%s::text[], %s::int[]) WITH ORDINALITY AS q(term, qtf, ord)
            JOIN {term_stats} AS ts ON ts.term = q.term AND ts.df > 0
            CROSS JOIN {corpus} AS cs
        ),
        bm25_limit AS MATERIALIZED (SELECT %s::int8 AS k),
        bm25_lead AS (
            SELECT {fast} AS score
            FROM bm25_idf AS i JOIN {postings} AS p ON p.term = i.term
            WHERE i.ord = (SELECT x.ord FROM bm25_idf AS x ORDER BY x.ub DESC, x.ord LIMIT 1)
              AND (SELECT count(*) FROM bm25_idf) > 1 {restrict}
            ORDER BY score DESC LIMIT (SELECT k FROM bm25_limit)
        ),
        bm25_theta1 AS MATERIALIZED (
            SELECT CASE WHEN count(*) >= (SELECT k FROM bm25_limit) THEN min(l.score) ELSE 0.0 END AS theta
            FROM bm25_lead AS l
        ),
        bm25_split AS MATERIALIZED (
            SELECT i.*, sum(i.ub) OVER (ORDER BY i.ub, i.ord DESC ROWS UNBOUNDED PRECEDING)
                        < (SELECT t.theta FROM bm25_theta1 AS t) * {slack} AS skipped
            FROM bm25_idf AS i
        ),
        bm25_partial AS MATERIALIZED (
            SELECT p.doc_seq AS seq, sum({fast}) AS score
            FROM bm25_split AS i JOIN {postings} AS p ON p.term = i.term
            WHERE NOT i.skipped {restrict}
            GROUP BY p.doc_seq
        ),
        bm25_cut AS MATERIALIZED (
            SELECT coalesce((SELECT s.score FROM bm25_partial AS s ORDER BY s.score DESC
                             OFFSET (SELECT k FROM bm25_limit) - 1 LIMIT 1), 0.0) AS theta,
                   (SELECT coalesce(sum(x.ub), 0.0) FROM bm25_split AS x WHERE x.skipped) AS skipped_ub
        ),
        bm25_survivors AS MATERIALIZED (
            SELECT s.seq, s.score FROM bm25_partial AS s CROSS JOIN bm25_cut AS c
            WHERE s.score + c.skipped_ub >= c.theta * {slack}
        ),
        bm25_rest AS (
            SELECT p.doc_seq AS seq, sum({fast}) AS score
            FROM bm25_split AS i JOIN {postings} AS p ON p.term = i.term
            WHERE i.skipped
              AND p.doc_seq = ANY ((SELECT array_agg(v.seq ORDER BY v.seq) FROM bm25_survivors AS v)::int8[])
            GROUP BY p.doc_seq
        ),
        bm25_summed AS MATERIALIZED (
            SELECT v.seq, v.score + coalesce(r.score, 0.0) AS score
            FROM bm25_survivors AS v LEFT JOIN bm25_rest AS r ON r.seq = v.seq
        ),
        bm25_final_cut AS MATERIALIZED (
            SELECT coalesce((SELECT s.score FROM bm25_summed AS s ORDER BY s.score DESC
                             OFFSET (SELECT k FROM bm25_limit) - 1 LIMIT 1), 0.0) AS theta
        ),
        bm25_scored AS (
            SELECT s.seq,
                   (SELECT sum({contribution} ORDER BY i.ord)
                    FROM bm25_idf AS i JOIN {postings} AS p ON p.term = i.term AND p.doc_seq = s.seq) AS score
            FROM bm25_summed AS s CROSS JOIN bm25_final_cut AS c
            WHERE s.score >= c.theta * {slack}
        ),
        {tail}
        """
    ).format(
        term_stats=term_stats,
        corpus=totals,
        statistics=statistics,
        postings=names.postings,
        tail=ranked_tail_ctes(names),
        filtered=filtered,
        restrict=restrict,
        idf=idf_expr(),
        avgdl=avgdl_expr(),
        bound=_upper_bound(params),
        contribution=contribution_expr(params),
        fast=_fastcontribution_expr(),
        slack=slack,
        k1=sql.Literal(float(params.k1)),
        k1_plus_1=sql.Literal(float(params.k1) + 1.0),
        b=sql.Literal(float(params.b)),
        one_minus_b=sql.Literal(1.0 - float(params.b)),
    )

"""PgvectorDocumentStore's BM25 skips postings that cannot reach the top (max-score pruning), scores short
postings lists in a single pass, and splits long rankings into ``seq`` slices ranked at the same time on
several connections; these tests check, for each of the three ways forced on every query, that the ranking
stays exactly the exhaustive one: against the in-memory store (which scores every document, in float32,
hence the 1e-6 tolerance), with filters, after overwrites that raise a term's largest tf, after deletes that
leave the per-term bounds stale, for stores migrated from schema version 1, and for exact ties (also across
a slice boundary)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
import pytest

from haybale.dataclasses import Document
from haybale.stores import DuplicatePolicy, InMemoryDocumentStore
from haybale.stores._pgvector_connections import PgvectorConnections
from haybale.stores.pgvector import PgvectorDocumentStore

pytestmark = pytest.mark.pg

#: Store arguments forcing each way of ranking for every query.
PLANS = {
    "single_pass": {"bm25_single_pass_max_postings": 10**9, "bm25_parallel_slices": 1},
    "pruned": {"bm25_single_pass_max_postings": 0, "bm25_parallel_slices": 1},
    "sliced": {
        "bm25_single_pass_max_postings": 0,
        "bm25_parallel_slices": 2,
        "bm25_parallel_min_postings": 0,
    },
}


@pytest.fixture
def splits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records every ranking that really ran split (the connections it borrowed), sync or async."""
    seen: list[int] = []
    borrow, borrow_async = PgvectorConnections.borrow, PgvectorConnections.borrow_async

    @contextmanager
    def counting(self: PgvectorConnections, count: int) -> Iterator[list[Any]]:
        with borrow(self, count) as taken:
            seen.extend([len(taken)] if taken else [])
            yield taken

    @asynccontextmanager
    async def counting_async(self: PgvectorConnections, count: int) -> AsyncIterator[list[Any]]:
        async with borrow_async(self, count) as taken:
            seen.extend([len(taken)] if taken else [])
            yield taken

    monkeypatch.setattr(PgvectorConnections, "borrow", counting)
    monkeypatch.setattr(PgvectorConnections, "borrow_async", counting_async)
    return seen


@pytest.fixture(params=list(PLANS))
def plan(request: pytest.FixtureRequest, splits: list[int]) -> Iterator[dict[str, Any]]:
    """The store arguments of one plan; for the sliced plan, checks afterwards that rankings were split."""
    yield PLANS[request.param]
    if request.param == "sliced":
        assert splits, "no ranking ran split: the test did not exercise the sliced path"
    else:
        assert not splits


#: Zipf-like vocabulary: the first words are in most documents (long postings, small idf), the last in few.
VOCABULARY = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}q" for i in range(60)]
WEIGHTS = [1.0 / (rank + 1) for rank in range(len(VOCABULARY))]


def _text(rng: random.Random, bursts: bool = True) -> str:
    words = rng.choices(VOCABULARY, weights=WEIGHTS, k=rng.randint(3, 50))
    if bursts and rng.random() < 0.15:  # a burst: one word many times, which sets that term's largest tf
        words += [rng.choice(VOCABULARY)] * rng.randint(5, 25)
    rng.shuffle(words)
    return " ".join(words)


def _corpus(n: int, seed: int, bursts: bool = True) -> list[Document]:
    rng = random.Random(seed)
    return [Document(content=_text(rng, bursts), meta={"i": i, "even": i % 2 == 0}) for i in range(n)]


def _queries(seed: int, count: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        words = [rng.choice(VOCABULARY[:8])]  # always one frequent term, the kind pruning skips
        words += rng.sample(VOCABULARY, rng.randint(1, 3))
        queries.append((" ".join(words), rng.choice([1, 2, 5, 10])))
    return queries


def _assert_exact_top_k(
    pg: PgvectorDocumentStore, memory: InMemoryDocumentStore, queries: list[tuple[str, int]], **kw: Any
) -> None:
    """The pruned ranking returns the exhaustive top-k: the same score sequence, and every returned
    document carries its exhaustive score (a dropped top-k document changes the sequence)."""
    for query, top_k in queries:
        expected = memory.bm25_search(query, top_k=top_k, **kw)
        got = pg.bm25_search(query, top_k=top_k, **kw)
        assert [d.score for d in got] == pytest.approx([d.score for d in expected], rel=1e-6), query
        everything = {d.id: d.score for d in memory.bm25_search(query, top_k=10_000, **kw)}
        for doc in got:
            assert doc.score == pytest.approx(everything[doc.id], rel=1e-6), (query, doc.id)


def test_pruned_bm25_returns_the_exhaustive_top_k(pg_store_factory: Any, plan: dict[str, Any]) -> None:
    docs = _corpus(500, seed=3, bursts=False)  # tight bounds first: no term is repeated much
    pg, memory = pg_store_factory(**plan), InMemoryDocumentStore()
    pg.write_documents(docs)
    memory.write_documents(docs)
    queries = _queries(seed=4, count=80)
    _assert_exact_top_k(pg, memory, queries)
    _assert_exact_top_k(pg, memory, queries, filters={"field": "meta.even", "operator": "==", "value": True})
    # Overwrites with bursts raise terms' largest tf (the bounds must widen in the same transaction) ...
    rng = random.Random(5)
    bursts = [
        Document(
            id=d.id, content=" ".join([rng.choice(VOCABULARY[:10])] * 30 + [d.content or ""]), meta=d.meta
        )
        for d in docs[:40]
    ]
    # ... and deletes remove the documents that set them (the bounds stay, only looser).
    for store in (pg, memory):
        store.write_documents(bursts, DuplicatePolicy.OVERWRITE)
        store.delete_documents([d.id for d in docs[100:200] if "waaq" in (d.content or "")])
        store.delete_by_filter({"field": "meta.i", "operator": ">=", "value": 450})
    _assert_exact_top_k(pg, memory, queries)
    _assert_exact_top_k(pg, memory, queries, filters={"field": "meta.i", "operator": "<", "value": 120})


def test_store_migrated_from_version_1_computes_the_bounds(pg_server: Any, pg_store_factory: Any) -> None:
    docs = _corpus(300, seed=6)
    pg, memory = pg_store_factory(**PLANS["pruned"]), InMemoryDocumentStore()
    pg.write_documents(docs)
    memory.write_documents(docs)
    pg.close()
    table = pg.table_name
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:  # what a version-1 store looks like
        conn.execute(f"ALTER TABLE {table}_term_stats DROP COLUMN max_tf, DROP COLUMN min_len_ratio")
        conn.execute(f"DELETE FROM {table}_migrations WHERE version = 2")
    reopened = pg_store_factory(table_name=table, recreate_table=False, **PLANS["pruned"])
    _assert_exact_top_k(reopened, memory, _queries(seed=7, count=40))
    with psycopg.connect(pg_server.dsn) as conn:
        assert conn.execute(f"SELECT max(version) FROM {table}_migrations").fetchone() == (2,)
        missing = conn.execute(
            f"SELECT count(*) FROM {table}_term_stats "
            "WHERE df > 0 AND (max_tf IS NULL OR min_len_ratio IS NULL)"
        ).fetchone()
    assert missing == (0,)


def test_exact_ties_keep_write_order_and_hybrid_sees_the_same_ranking(
    pg_store_factory: Any, plan: dict[str, Any]
) -> None:
    store = pg_store_factory(**plan)
    rng = random.Random(8)
    filler = [Document(content=_text(rng), meta={"i": i}, embedding=[0.1] * 8) for i in range(200)]
    twins = [Document(content="waaq zzone zztwo", meta={"twin": k}, embedding=[0.2] * 8) for k in range(30)]
    store.write_documents(filler[:100])
    store.write_documents(twins)  # identical content: identical scores, ranked by write order; two slices
    # cut this corpus at seq 116, between twins 14 and 15
    store.write_documents(filler[100:])
    hits = store.bm25_search("zzone waaq zztwo", top_k=5)
    assert [d.meta["twin"] for d in hits] == [0, 1, 2, 3, 4]
    assert len({d.score for d in hits}) == 1
    across = store.bm25_search("zzone waaq zztwo", top_k=20)
    assert [d.meta["twin"] for d in across] == list(range(20))
    assert len({d.score for d in across}) == 1
    ranked = store.bm25_search("waaq wabq wbhq", top_k=50)
    fused = store.hybrid_search("waaq wabq wbhq", [0.3] * 8, top_k=50)
    expected = {d.id: (rank, d.score) for rank, d in enumerate(ranked, start=1)}
    seen = [d for d in fused if "bm25" in d.score_details]
    assert len(seen) >= 10
    for doc in seen:
        detail = doc.score_details["bm25"]
        assert (detail["rank"], detail["score"]) == expected[doc.id]


def test_a_document_carried_by_a_skipped_terms_later_burst_is_not_dropped(
    pg_store_factory: Any, plan: dict[str, Any]
) -> None:
    """``mid`` is in half the corpus with tf 1, so its bound is small and the query ``lead mid`` skips its
    postings; then a long document with ``lead`` once and ``mid`` 25 times is written. It ranks fifth only
    thanks to ``mid`` -- which the pruning sees only if that write widened ``mid``'s bound."""
    rng = random.Random(9)

    def filler(count: int) -> list[str]:
        return [f"f{rng.randrange(500)}x" for _ in range(count)]

    docs = [Document(content=" ".join(["mid"] * (i % 2) + filler(10 - i % 2))) for i in range(300)]
    docs += [Document(content=" ".join(["lead", "mid", *filler(8)])) for _ in range(4)]
    docs += [Document(content=" ".join(["lead", *filler(9)])) for _ in range(16)]
    burst = Document(content=" ".join(["lead"] + ["mid"] * 25 + filler(4)))
    pg, memory = pg_store_factory(**plan), InMemoryDocumentStore()
    for store in (pg, memory):
        store.write_documents(docs)
        store.write_documents([burst])
    assert burst.id in [d.id for d in memory.bm25_search("lead mid", top_k=5)]
    _assert_exact_top_k(pg, memory, [("lead mid", 5), ("mid lead", 5), ("lead mid", 6)])


def test_split_rankings_async_and_without_idle_connections_are_the_same(
    pg_store_factory: Any, splits: list[int]
) -> None:
    """The async API splits too (three slices here, and hybrid search's nearest neighbours beside them); a
    pool with no connection to lend runs the ranking unsplit; both return what the single-pass ranking
    returns, for BM25 and hybrid search."""
    docs = _corpus(400, seed=10)
    for doc in docs:
        doc.embedding = [random.Random(doc.id).random() for _ in range(8)]
    sliced = pg_store_factory(**{**PLANS["sliced"], "bm25_parallel_slices": 3})
    sliced.write_documents(docs)
    table = sliced.table_name
    starved = pg_store_factory(table_name=table, recreate_table=False, pool_max_size=1, **PLANS["sliced"])
    single = pg_store_factory(table_name=table, recreate_table=False, **PLANS["single_pass"])
    queries = _queries(seed=11, count=12)

    def ranked(hits: list[Document]) -> list[tuple[str, Any, Any]]:
        return [(d.id, d.score, d.score_details) for d in hits]

    async def split_async() -> list[Any]:
        out = []
        for query, top_k in queries:
            out.append(ranked(await sliced.bm25_search_async(query, top_k=top_k)))
            out.append(ranked(await sliced.hybrid_search_async(query, [0.5] * 8, top_k=top_k)))
        await sliced.close_async()
        return out

    expected = []
    for query, top_k in queries:
        expected.append(ranked(single.bm25_search(query, top_k=top_k)))
        expected.append(ranked(single.hybrid_search(query, [0.5] * 8, top_k=top_k)))
    assert not splits
    unsplit = []
    for query, top_k in queries:
        unsplit.append(ranked(starved.bm25_search(query, top_k=top_k)))
        unsplit.append(ranked(starved.hybrid_search(query, [0.5] * 8, top_k=top_k)))
    assert unsplit == expected
    assert not splits  # a pool of one connection has none to lend
    assert asyncio.run(split_async()) == expected
    # three slices: two borrowed connections for BM25, three for hybrid search (its dense side beside them)
    assert splits == [2, 3] * len(queries)


def test_corpus_filters_rank_as_a_store_holding_only_that_corpus(
    pg_store_factory: Any, plan: dict[str, Any]
) -> None:
    """Every way of ranking, with ``corpus_filters``: the exact top-k of a store holding only the corpus
    (its statistics: document count, lengths, document frequencies), also with a filter inside it and after
    deletes; the whole store's statistics would give other scores."""
    docs = _corpus(600, seed=11)
    corpus = {"field": "meta.i", "operator": "<", "value": 200}
    pg, alone = pg_store_factory(**plan), InMemoryDocumentStore()
    pg.write_documents(docs)
    alone.write_documents([d for d in docs if d.meta["i"] < 200])
    queries = _queries(seed=12, count=40)
    for query, top_k in queries:
        expected = alone.bm25_search(query, top_k=top_k)
        got = pg.bm25_search(query, top_k=top_k, corpus_filters=corpus)
        assert [d.score for d in got] == pytest.approx([d.score for d in expected], rel=1e-6), query
        assert all(d.meta["i"] < 200 for d in got)
    whole = pg.bm25_search(queries[0][0], top_k=1)[0]
    assert whole.score != pytest.approx(alone.bm25_search(queries[0][0], top_k=10_000)[0].score, rel=1e-3)
    even = {"field": "meta.even", "operator": "==", "value": True}
    for query, top_k in queries[:20]:
        expected = alone.bm25_search(query, top_k=top_k, filters=even)
        got = pg.bm25_search(query, top_k=top_k, filters=even, corpus_filters=corpus)
        assert [d.score for d in got] == pytest.approx([d.score for d in expected], rel=1e-6), query
    for store in (pg, alone):
        store.delete_by_filter({"field": "meta.i", "operator": "<", "value": 50})
    for query, top_k in queries[:20]:
        expected = alone.bm25_search(query, top_k=top_k)
        got = pg.bm25_search(query, top_k=top_k, corpus_filters=corpus)
        assert [d.score for d in got] == pytest.approx([d.score for d in expected], rel=1e-6), query

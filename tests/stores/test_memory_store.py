"""InMemoryDocumentStore: the shared conformance suite plus in-memory specifics (BM25 maths, incremental
index, dense search, snapshots, serialization)."""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from haybale.dataclasses import Document
from haybale.errors import DeserializationError, DocumentStoreError
from haybale.stores import DuplicatePolicy, InMemoryDocumentStore
from haybale.stores.text_analysis import Analyzer
from haybale.testing.document_store_conformance import DocumentStoreConformance


class TestInMemoryConformance(DocumentStoreConformance):
    @pytest.fixture
    def store(self) -> InMemoryDocumentStore:
        return InMemoryDocumentStore()


# ---------------------------------------------------------------------------------------------- BM25 maths
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
]


def _random_docs(count: int, seed: int) -> list[Document]:
    rng = random.Random(seed)
    return [
        Document(
            content=" ".join(
                rng.choice(WORDS[: rng.randint(3, len(WORDS))]) for _ in range(rng.randint(1, 30))
            ),
            meta={"n": i, "seed": seed},
        )
        for i in range(count)
    ]


def _reference_bm25(
    docs: list[Document], query: str, variant: str, *, k1: float, b: float, delta: float
) -> dict[str, float]:
    """BM25 computed the slow, obvious way from the formulas in haybale.stores._memory_bm25."""
    analyzer = Analyzer()
    tokens = {d.id: analyzer.tokenize(d.content or "") for d in docs}
    n = len(docs)
    avgdl = sum(len(t) for t in tokens.values()) / n
    df = Counter(term for t in tokens.values() for term in set(t))
    scores: dict[str, float] = {}
    for doc_id, terms in tokens.items():
        tf, dl, total = Counter(terms), len(terms), 0.0
        for term in analyzer.tokenize(query):
            if not tf[term]:
                continue
            norm = 1 - b + b * dl / avgdl
            if variant == "okapi":
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                total += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * norm)
            elif variant == "bm25l":
                c = tf[term] / norm
                total += math.log((n + 1) / (df[term] + 0.5)) * (k1 + 1) * (c + delta) / (k1 + c + delta)
            else:
                part = tf[term] * (k1 + 1) / (tf[term] + k1 * norm) + delta
                total += math.log((n + 1) / df[term]) * part
        if total > 0:
            scores[doc_id] = total
    return scores


@pytest.mark.parametrize("variant", ["okapi", "bm25l", "bm25+"])
def test_bm25_scores_match_the_reference_formula(variant: str) -> None:
    docs = _random_docs(60, seed=1)
    store = InMemoryDocumentStore(bm25_variant=variant, bm25_k1=1.3, bm25_b=0.6, bm25_delta=0.7)
    store.write_documents(docs)
    for query in ["alpha beta", "rho rho sigma", "kappa nothingknown"]:
        expected = _reference_bm25(docs, query, variant, k1=1.3, b=0.6, delta=0.7)
        got = {d.id: d.score for d in store.bm25_search(query, top_k=100)}
        assert got.keys() == expected.keys()
        for doc_id, score in expected.items():
            assert got[doc_id] == pytest.approx(score, rel=1e-5)
        ranked = store.bm25_search(query, top_k=5)
        assert [d.score for d in ranked] == sorted((d.score for d in ranked), reverse=True)
        assert all(d.score_details and d.score_details["bm25"]["variant"] == variant for d in ranked)


def test_incremental_index_equals_a_fresh_build_after_writes_overwrites_and_deletes() -> None:
    docs = _random_docs(200, seed=2)
    store = InMemoryDocumentStore()
    store.write_documents(docs[:120])
    store.delete_documents([d.id for d in docs[:120:3]])
    store.write_documents(docs[120:])  # reuses freed slots
    store.delete_by_filter({"field": "meta.n", "operator": ">", "value": 180})
    changed = [Document(content=d.content + " omega omega", meta=d.meta, id=d.id) for d in docs[121:130]]
    store.write_documents(changed, policy=DuplicatePolicy.OVERWRITE)
    survivors = store.filter_documents()
    fresh = InMemoryDocumentStore()
    fresh.write_documents(survivors)
    for query in ["alpha", "omega", "beta gamma rho", "xi pi"]:
        got = [(d.id, round(d.score or 0, 4)) for d in store.bm25_search(query, top_k=300)]
        want = [(d.id, round(d.score or 0, 4)) for d in fresh.bm25_search(query, top_k=300)]
        assert sorted(got) == sorted(want)
    assert {d.id for d in store.bm25_search("omega", top_k=50)} == {d.id for d in changed}


def test_deleted_documents_never_come_back_through_reused_slots() -> None:
    store = InMemoryDocumentStore()
    old = Document(content="zebra zebra zebra")
    store.write_documents([old])
    store.delete_documents([old.id])
    new = Document(content="unrelated words")
    store.write_documents([new])
    assert store.bm25_search("zebra") == []
    assert [d.id for d in store.bm25_search("unrelated")] == [new.id]


def test_bm25_filters_apply_before_ranking_and_scale_score_is_monotonic() -> None:
    store = InMemoryDocumentStore()
    docs = [Document(content="apple " * (i + 1), meta={"i": i}) for i in range(20)]
    store.write_documents(docs)
    top = store.bm25_search("apple", top_k=3, filters={"field": "meta.i", "operator": "<", "value": 5})
    assert len(top) == 3 and all(d.meta["i"] < 5 for d in top)
    raw = store.bm25_search("apple", top_k=20)
    scaled = store.bm25_search("apple", top_k=20, scale_score=True)
    assert [d.id for d in raw] == [d.id for d in scaled]
    for r, s in zip(raw, scaled, strict=True):
        assert s.score == pytest.approx(1 / (1 + math.exp(-(r.score or 0) / 8)))


# ---------------------------------------------------------------------------------------------- dense search
def _vector_docs(count: int, dim: int, seed: int) -> tuple[list[Document], np.ndarray]:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(count, dim)).astype(np.float32)
    docs = [
        Document(content=f"doc {i}", meta={"i": i}, embedding=row.tolist()) for i, row in enumerate(matrix)
    ]
    return docs, matrix


@pytest.mark.parametrize("similarity", ["cosine", "dot_product"])
def test_dense_search_equals_numpy_brute_force(similarity: str) -> None:
    docs, matrix = _vector_docs(300, 16, seed=3)
    store = InMemoryDocumentStore(embedding_similarity_function=similarity)
    store.write_documents(docs)
    query = np.random.default_rng(4).normal(size=16).astype(np.float32)
    scores = matrix @ query
    if similarity == "cosine":
        scores = scores / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    expected = np.argsort(-scores)[:10]
    result = store.embedding_search(query.tolist(), top_k=10)
    assert [d.meta["i"] for d in result] == expected.tolist()
    assert [d.score for d in result] == pytest.approx(scores[expected].tolist(), rel=1e-4)


def test_dense_filters_apply_before_ranking_and_docs_without_embeddings_are_skipped() -> None:
    docs, _ = _vector_docs(100, 8, seed=5)
    store = InMemoryDocumentStore()
    store.write_documents([*docs, Document(content="no vector", meta={"i": -1})])
    query = docs[0].embedding
    assert query is not None
    result = store.embedding_search(
        query, top_k=5, filters={"field": "meta.i", "operator": ">=", "value": 90}
    )
    assert len(result) == 5 and all(d.meta["i"] >= 90 for d in result)
    assert all(d.meta["i"] != -1 for d in store.embedding_search(query, top_k=200))
    best = store.embedding_search(query, top_k=1, scale_score=True)[0]
    assert best.meta["i"] == 0 and best.score == pytest.approx(1.0, abs=1e-5)


def test_embeddings_come_back_exactly_as_written() -> None:
    store = InMemoryDocumentStore()
    exact32 = Document(content="a", embedding=[0.5, 0.25, -1.0])
    float64 = Document(content="b", embedding=[0.1, 0.2, 0.3])  # not representable in float32
    store.write_documents([exact32, float64])
    got = {d.id: d.embedding for d in store.filter_documents()}
    assert got == {exact32.id: [0.5, 0.25, -1.0], float64.id: [0.1, 0.2, 0.3]}


def test_wrong_dimension_and_non_finite_embeddings_are_refused_and_nothing_is_written() -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document(content="a", embedding=[1.0, 0.0])])
    with pytest.raises(DocumentStoreError, match="dimensions"):
        store.write_documents([Document(content="b"), Document(content="c", embedding=[1.0, 0.0, 0.0])])
    with pytest.raises(DocumentStoreError, match="NaN"):
        store.write_documents([Document(content="d", embedding=[float("nan"), 0.0])])
    assert store.count_documents() == 1
    with pytest.raises(DocumentStoreError, match="dimensions"):
        store.embedding_search([1.0, 0.0, 0.0])


def test_returned_documents_are_copies() -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document(content="apple", meta={"tags": ["x"]}, embedding=[1.0, 0.0])])
    found = store.bm25_search("apple")[0]
    found.meta["tags"].append("y")
    assert found.embedding is not None
    found.embedding[0] = 5.0
    again = store.filter_documents()[0]
    assert again.meta == {"tags": ["x"]} and again.embedding == [1.0, 0.0] and again.score is None


async def test_async_search_variants_match_sync() -> None:
    docs, _ = _vector_docs(30, 4, seed=6)
    store = InMemoryDocumentStore()
    store.write_documents(docs)
    query = docs[3].embedding
    assert query is not None
    assert [d.id for d in await store.embedding_search_async(query, top_k=3)] == [
        d.id for d in store.embedding_search(query, top_k=3)
    ]
    assert [d.id for d in await store.bm25_search_async("doc 3", top_k=3)] == [
        d.id for d in store.bm25_search("doc 3", top_k=3)
    ]


def test_concurrent_writers_and_searchers_see_consistent_results() -> None:
    store = InMemoryDocumentStore()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        try:
            for batch in range(10):
                store.write_documents(_random_docs(20, seed * 100 + batch), policy=DuplicatePolicy.SKIP)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def searcher() -> None:
        try:
            for _ in range(50):
                for doc in store.bm25_search("alpha beta", top_k=5):
                    assert doc.content and ("alpha" in doc.content or "beta" in doc.content)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    fresh = InMemoryDocumentStore()
    fresh.write_documents(store.filter_documents())
    assert [d.id for d in store.bm25_search("gamma", top_k=20)] == [
        d.id for d in fresh.bm25_search("gamma", top_k=20)
    ]


# ---------------------------------------------------------------------------------------------- snapshots
def test_snapshot_round_trip(tmp_path: Path) -> None:
    docs, _ = _vector_docs(50, 8, seed=7)
    docs.append(Document(content="precise", embedding=[0.1] * 8, meta={"nested": {"a": [1, 2]}}))
    store = InMemoryDocumentStore(bm25_variant="bm25+", embedding_similarity_function="dot_product")
    store.write_documents(docs)
    path = os.path.join(str(tmp_path), "snap.npz")
    store.save(path)
    assert os.listdir(str(tmp_path)) == ["snap.npz"]  # no temporary file left behind
    loaded = InMemoryDocumentStore(bm25_variant="bm25+", embedding_similarity_function="dot_product")
    loaded.load(path)
    by_id = {d.id: d for d in loaded.filter_documents()}
    for doc in docs:
        assert by_id[doc.id].content == doc.content
        assert by_id[doc.id].meta == doc.meta
        assert by_id[doc.id].embedding == doc.embedding
    query = docs[1].embedding
    assert query is not None
    assert [(d.id, d.score) for d in loaded.embedding_search(query, top_k=5)] == [
        (d.id, d.score) for d in store.embedding_search(query, top_k=5)
    ]
    assert [(d.id, d.score) for d in loaded.bm25_search("doc 1", top_k=5)] == [
        (d.id, d.score) for d in store.bm25_search("doc 1", top_k=5)
    ]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_loading_a_bad_snapshot_raises_and_leaves_the_store_usable(tmp_path: Path, damage: str) -> None:
    path = os.path.join(str(tmp_path), "snap.npz")
    source = InMemoryDocumentStore()
    source.write_documents(_random_docs(30, seed=8))
    source.save(path)
    if damage == "garbage":
        with open(path, "wb") as handle:
            handle.write(b"not a snapshot at all")
    elif damage == "truncated":
        with open(path, "rb") as handle:
            data = handle.read()
        with open(path, "wb") as handle:
            handle.write(data[: len(data) // 2])
    else:
        os.remove(path)
    store = InMemoryDocumentStore()
    keep = Document(content="still here alpha")
    store.write_documents([keep])
    with pytest.raises(DocumentStoreError):
        store.load(path)
    assert [d.id for d in store.filter_documents()] == [keep.id]
    assert [d.id for d in store.bm25_search("alpha")] == [keep.id]


def test_save_replaces_an_existing_snapshot_atomically(tmp_path: Path) -> None:
    path = os.path.join(str(tmp_path), "snap.npz")
    store = InMemoryDocumentStore()
    store.write_documents([Document(content="first")])
    store.save(path)
    store.write_documents([Document(content="second")])
    store.save(path)
    loaded = InMemoryDocumentStore()
    loaded.load(path)
    assert loaded.count_documents() == 2


# ---------------------------------------------------------------------------------------------- settings
def test_to_dict_round_trip_and_validation() -> None:
    store = InMemoryDocumentStore(
        analyzer=Analyzer(stopwords=["foo"], stemming=False), bm25_variant="bm25l", bm25_k1=0.9, bm25_b=0.4
    )
    data = store.to_dict()
    assert data["type"] == "haybale.stores.memory.InMemoryDocumentStore"
    again = InMemoryDocumentStore.from_dict(data)
    assert again.to_dict() == data
    again.write_documents([Document(content="foo running")])
    assert again.bm25_search("foo") == [] and len(again.bm25_search("running")) == 1
    with pytest.raises(DocumentStoreError, match="bm25_variant"):
        InMemoryDocumentStore(bm25_variant="tfidf")
    with pytest.raises(DocumentStoreError, match="out of range"):
        InMemoryDocumentStore(bm25_b=2.0)
    with pytest.raises(DocumentStoreError, match="embedding_similarity_function"):
        InMemoryDocumentStore(embedding_similarity_function="l2")
    with pytest.raises(DeserializationError):
        InMemoryDocumentStore.from_dict(
            {"type": "haybale.stores.memory.InMemoryDocumentStore", "init_parameters": {"k": 1}}
        )


def test_async_helpers_do_not_block_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    store = InMemoryDocumentStore()
    store.write_documents(_random_docs(10, seed=9))
    search = store.bm25_search

    def slow_search(*args: Any, **kwargs: Any) -> list[Document]:
        time.sleep(0.3)  # a slow search: run on the event loop, it would stop every other coroutine
        return search(*args, **kwargs)

    monkeypatch.setattr(store, "bm25_search", slow_search)

    async def main() -> tuple[list[list[Document]], list[float]]:
        ticks: list[float] = []

        async def ticker() -> None:
            for _ in range(40):
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.01)

        searches = asyncio.gather(*(store.bm25_search_async("alpha", 3) for _ in range(4)))
        results, _ = await asyncio.gather(searches, ticker())
        return list(results), ticks

    results, ticks = asyncio.run(main())
    assert all([d.id for d in r] == [d.id for d in results[0]] for r in results)
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    assert max(gaps) < 0.2  # the loop kept ticking while the searches slept in worker threads


async def test_async_crud_helpers() -> None:
    store = InMemoryDocumentStore()
    docs = _random_docs(5, seed=10)
    assert await store.write_documents_async(docs) == 5
    assert await store.count_documents_async({"field": "meta.n", "operator": "<", "value": 2}) == 2
    await store.delete_documents_async([docs[0].id])
    assert {d.id for d in await store.filter_documents_async()} == {d.id for d in docs[1:]}


def test_bad_query_embedding_is_a_clear_error() -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document(content="a", embedding=[1.0, 0.0])])
    with pytest.raises(DocumentStoreError, match="list of floats"):
        store.embedding_search("not a vector")  # type: ignore[arg-type]
    with pytest.raises(DocumentStoreError, match="Invalid query_embedding"):
        store.embedding_search([float("inf"), 0.0])


def test_bulk_indexing_handles_nul_bytes_unicode_and_empty_texts_like_the_analyzer() -> None:
    texts = ["alpha\x00beta", "", "café Москва alpha", "\x00", "東京 beta beta", "x\u3000alpha"]
    docs = [Document(content=text, meta={"i": i}) for i, text in enumerate(texts)] + _random_docs(20, seed=12)
    store = InMemoryDocumentStore()
    store.write_documents(docs)
    with_content = [d for d in docs if d.content]
    for query in ["alpha", "beta", "cafe", "москва", "東京"]:
        expected = _reference_bm25(with_content, query, "okapi", k1=1.2, b=0.75, delta=0.5)
        got = {d.id: d.score for d in store.bm25_search(query, top_k=100)}
        assert got.keys() == expected.keys()
        assert all(got[i] == pytest.approx(s, rel=1e-5) for i, s in expected.items())


def test_unknown_stemmer_language_is_refused_at_init() -> None:
    with pytest.raises(DocumentStoreError, match="Snowball"):
        InMemoryDocumentStore(analyzer={"language": "klingon"})

"""PgvectorDocumentStore against a real PostgreSQL 18 + pgvector 0.8 (see tests/stores/conftest.py)."""

from __future__ import annotations

import asyncio
import math
import random
import threading
from typing import Any

import psycopg
import pytest

from haybale.core.secret import Secret
from haybale.dataclasses import ByteStream, Document, SparseEmbedding
from haybale.errors import DocumentStoreError, DuplicateDocumentError, FilterError
from haybale.stores import DuplicatePolicy, InMemoryDocumentStore
from haybale.stores.pgvector import PgvectorDocumentStore
from haybale.stores.text_analysis import Analyzer
from haybale.testing.document_store_conformance import DocumentStoreConformance

pytestmark = pytest.mark.pg

WORDS = (  # noqa: SIM905 - a word list reads best as one string
    "apple banana cherry delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
    "quebec "
    "romeo sierra tango uniform victor whiskey xray yankee zulu river mountain valley ocean forest desert "
    "running runner runs jumped jumping quickly slowly bright darker"
).split()


def _vector(rng: random.Random, dim: int = 8) -> list[float]:
    return [rng.uniform(-1.0, 1.0) for _ in range(dim)]


def _corpus(n: int, seed: int = 7, dim: int = 8) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40)))
        meta = {"i": i, "group": f"g{i % 25}", "even": i % 2 == 0}
        docs.append(Document(content=text, meta=meta, embedding=_vector(rng, dim)))
    return docs


def _table_exists(dsn: str, table: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone()[0]


class TestPgvectorConformance(DocumentStoreConformance):
    """The shared conformance suite, on a fresh table per test."""

    @pytest.fixture
    def store(self, pg_store_factory: Any) -> PgvectorDocumentStore:
        return pg_store_factory(embedding_dimension=4)


# ------------------------------------------------------------------------------------------------ init


def test_to_dict_round_trip_never_contains_the_dsn(pg_server: Any, pg_store_factory: Any) -> None:
    store = pg_store_factory(
        vector_function="inner_product",
        hnsw_m=8,
        analyzer={"language": "german"},
        bm25_single_pass_max_postings=5,
        bm25_parallel_slices=3,
        bm25_parallel_min_postings=7,
    )
    data = store.to_dict()
    assert {k: data["init_parameters"][k] for k in data["init_parameters"] if k.startswith("bm25_p")} == {
        "bm25_parallel_slices": 3,
        "bm25_parallel_min_postings": 7,
    }
    assert data["init_parameters"]["bm25_single_pass_max_postings"] == 5
    assert data["type"] == "haybale.stores.pgvector.PgvectorDocumentStore"
    assert data["init_parameters"]["connection_string"] == {
        "type": "env_var",
        "env_vars": ["HAYBALE_TEST_PG_DSN"],
        "strict": True,
    }
    assert pg_server.dsn not in repr(data)
    again = PgvectorDocumentStore.from_dict(data)
    assert again.to_dict() == data
    assert again.analyzer == Analyzer(language="german")


def test_token_secret_refuses_serialization(pg_server: Any) -> None:
    store = PgvectorDocumentStore(connection_string=Secret.from_token(pg_server.dsn), embedding_dimension=4)
    with pytest.raises(Exception, match="cannot be serialized"):
        store.to_dict()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table_name": "docs; DROP TABLE x"}, "Invalid table_name"),
        ({"schema_name": 'a"b'}, "Invalid schema_name"),
        ({"table_name": "x" * 41}, "Invalid table_name"),
        ({"vector_function": "manhattan"}, "Unknown vector_function"),
        ({"search_strategy": "ivf"}, "Unknown search_strategy"),
        ({"embedding_dimension": 0}, "embedding_dimension"),
        ({"hnsw_m": -1}, "hnsw_m"),
        ({"bm25_b": 2.0}, "bm25_b"),
        ({"bm25_parallel_slices": 0}, "bm25_parallel_slices must be an integer >= 1"),
        ({"bm25_single_pass_max_postings": -1}, "bm25_single_pass_max_postings"),
        ({"bm25_parallel_min_postings": 1.5}, "bm25_parallel_min_postings"),
        ({"connection_string": "postgresql://u:p@h/db"}, "must be a Secret"),
    ],
)
def test_invalid_parameters_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DocumentStoreError, match=message):
        PgvectorDocumentStore(**kwargs)


def test_migrations_are_recorded_and_concurrent_startup_is_safe(
    pg_server: Any, pg_store_factory: Any
) -> None:
    table = "t_replicas"
    stores = [pg_store_factory(table_name=table, recreate_table=False) for _ in range(6)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def start(store: PgvectorDocumentStore) -> None:
        try:
            barrier.wait()
            assert store.count_documents() == 0
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(pg_server.dsn) as conn:
        versions = conn.execute(f"SELECT version FROM {table}_migrations").fetchall()
        indexes = {
            r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))
        }
    assert versions == [(1,), (2,)]
    assert {f"{table}_meta_gin", f"{table}_hnsw_vector_cosine_ops"} <= indexes


def test_existing_table_with_other_dimension_is_reported(pg_store_factory: Any) -> None:
    first = pg_store_factory(embedding_dimension=8)
    first.write_documents([Document(content="x", embedding=[0.1] * 8)])
    other = pg_store_factory(table_name=first.table_name, embedding_dimension=16, recreate_table=False)
    with pytest.raises(DocumentStoreError, match="embedding_dimension=8"):
        other.count_documents()


# ------------------------------------------------------------------------------------------------ CRUD


def test_round_trip_of_every_document_field(pg_store_factory: Any) -> None:
    store = pg_store_factory(embedding_dimension=3)
    doc = Document(
        content="Grüße aus Köln 🚀",
        meta={"nested": {"a": [1, 2.5, None, "x"]}, "flag": True},
        embedding=[0.25, -0.5, 1.0],
        sparse_embedding=SparseEmbedding(indices=[1, 7], values=[0.5, 0.25]),
        blob=ByteStream(data=b"\x00\x01binary", mime_type="application/octet-stream", meta={"k": "v"}),
    )
    assert store.write_documents([doc]) == 1
    (stored,) = store.filter_documents()
    assert stored == doc


def test_duplicate_policies(pg_store_factory: Any) -> None:
    store = pg_store_factory()
    a = Document(id="a", content="first version")
    assert store.write_documents([a]) == 1
    with pytest.raises(DuplicateDocumentError, match="already exist"):
        store.write_documents([Document(id="b", content="b"), Document(id="a", content="second")])
    assert store.count_documents() == 1  # nothing of the failed batch was written
    assert store.write_documents([Document(id="a", content="second")], DuplicatePolicy.SKIP) == 0
    assert store.filter_documents()[0].content == "first version"
    assert store.write_documents([Document(id="a", content="second")], DuplicatePolicy.OVERWRITE) == 1
    assert store.filter_documents()[0].content == "second"
    assert store.bm25_search("second")[0].id == "a"
    assert store.bm25_search("first") == []


def test_bad_documents_write_nothing(pg_store_factory: Any) -> None:
    store = pg_store_factory()
    good = Document(content="fine", embedding=[0.0] * 8)
    with pytest.raises(DocumentStoreError, match="3-dimensional"):
        store.write_documents([good, Document(content="bad", embedding=[1.0, 2.0, 3.0])])
    with pytest.raises(DocumentStoreError, match="not JSON-serializable"):
        store.write_documents([good, Document(content="bad", meta={"x": object()})])
    with pytest.raises(DocumentStoreError, match="NUL"):
        store.write_documents([good, Document(content="bad\x00")])
    with pytest.raises(DocumentStoreError, match="not a Document"):
        store.write_documents([good, {"content": "dict"}])  # type: ignore[list-item]
    assert store.count_documents() == 0


def test_delete_update_replace(pg_store_factory: Any) -> None:
    store = pg_store_factory()
    store.write_documents(_corpus(50))
    assert store.delete_by_filter({"field": "meta.i", "operator": "<", "value": 10}) == 10
    assert store.count_documents() == 40
    assert store.update_by_filter({"group": "g12"}, {"reviewed": True}) == 2
    assert store.count_documents({"reviewed": True}) == 2
    new = [Document(content=f"replacement {k}", meta={"group": "g12", "v": 2}) for k in range(3)]
    assert store.replace_documents({"group": "g12"}, new) == (2, 3)
    assert store.count_documents({"group": "g12"}) == 3
    store.delete_documents([d.id for d in new] + ["unknown"])
    assert store.count_documents({"group": "g12"}) == 0


# ------------------------------------------------------------------------------------------------ BM25


def _assert_bm25_parity(pg: PgvectorDocumentStore, memory: InMemoryDocumentStore, queries: list[str]) -> None:
    for query in queries:
        expected = memory.bm25_search(query, top_k=15)
        got = pg.bm25_search(query, top_k=15)
        assert len(got) == len(expected) > 0
        # Same score sequence (ties at the cut may pick different ids), and the same score for every
        # shared id.
        assert [d.score for d in got] == pytest.approx([d.score for d in expected], abs=1e-4), query
        want = {d.id: d.score for d in expected}
        shared = [d for d in got if d.id in want]
        assert len(shared) >= len(got) // 2
        for doc in shared:
            assert doc.score == pytest.approx(want[doc.id], abs=1e-4), query
        assert [d.score for d in got] == sorted((d.score for d in got), reverse=True)


def test_bm25_scores_match_the_in_memory_store(pg_store_factory: Any) -> None:
    docs = _corpus(300)
    docs.append(Document(content="Running runners ran quickly: RUNNING!", meta={"i": -1}))
    pg, memory = pg_store_factory(), InMemoryDocumentStore()
    pg.write_documents(docs)
    memory.write_documents(docs)
    queries = ["apple banana", "running quickly", "river river ocean", "zulu", "the bright darker forest"]
    _assert_bm25_parity(pg, memory, queries)
    # Statistics stay exact through overwrites, deletes and replaces.
    changed = [Document(id=d.id, content="apple apple zulu", meta=d.meta) for d in docs[:20]]
    for store in (pg, memory):
        store.write_documents(changed, DuplicatePolicy.OVERWRITE)
        store.delete_by_filter({"field": "meta.i", "operator": ">", "value": 250})
        store.replace_documents(
            {"group": "g3"}, [Document(content="ocean forest ocean", meta={"group": "g3"})]
        )
        store.delete_documents([d.id for d in docs[30:40]])
    _assert_bm25_parity(pg, memory, queries)


def test_bm25_with_filters_scale_and_edge_cases(pg_store_factory: Any) -> None:
    store = pg_store_factory()
    store.write_documents(_corpus(200))
    hits = store.bm25_search("apple", top_k=5, filters={"even": True})
    assert len(hits) == 5 and all(d.meta["even"] for d in hits)
    scaled = store.bm25_search("apple", top_k=5, filters={"even": True}, scale_score=True)
    assert [d.id for d in scaled] == [d.id for d in hits]
    assert all(0.5 < d.score < 1 for d in scaled)
    for raw, scaled_doc in zip(hits, scaled, strict=True):  # the same sigmoid(s / 8) as the other stores
        assert scaled_doc.score == pytest.approx(1.0 / (1.0 + math.exp(-raw.score / 8.0)))
    assert store.bm25_search("the of and") == []  # only stop words
    assert store.bm25_search("unknownword") == []
    assert store.bm25_search("apple", top_k=0) == []
    with pytest.raises(DocumentStoreError, match="top_k"):
        store.bm25_search("apple", top_k=-1)


# ------------------------------------------------------------------------------------------------ dense


def _exact_top(docs: list[Document], query: list[float], k: int, keep: Any = None) -> list[str]:
    def cosine(a: list[float], b: list[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        return dot / ((sum(x * x for x in a) ** 0.5) * (sum(y * y for y in b) ** 0.5))

    pool = [d for d in docs if keep is None or keep(d)]
    pool.sort(key=lambda d: -cosine(d.embedding, query))
    return [d.id for d in pool[:k]]


def test_filtered_hnsw_query_returns_top_k(pg_store_factory: Any) -> None:
    docs = _corpus(3000, dim=8)
    store = pg_store_factory(hnsw_ef_search=10)
    store.write_documents(docs)
    query = _vector(random.Random(99))
    # 120 of 3000 documents match: a plain HNSW scan with ef_search=10 would find almost none of them.
    selective = {"group": "g7"}
    hits = store.embedding_search(query, top_k=20, filters=selective)
    assert len(hits) == 20
    assert [d.id for d in hits] == _exact_top(docs, query, 20, lambda d: d.meta["group"] == "g7")
    # A filter matching fewer documents than top_k returns all of them.
    few = store.embedding_search(query, top_k=10, filters={"field": "meta.i", "operator": "<", "value": 4})
    assert sorted(d.meta["i"] for d in few) == [0, 1, 2, 3]


def test_filtered_search_falls_back_to_exact_when_the_index_scan_gives_up(pg_store_factory: Any) -> None:
    docs = _corpus(2000, dim=8)
    store = pg_store_factory(hnsw_ef_search=10, hnsw_max_scan_tuples=20)
    store.write_documents(docs)
    query = _vector(random.Random(5))
    hits = store.embedding_search(query, top_k=15, filters={"group": "g3"})
    assert [d.id for d in hits] == _exact_top(docs, query, 15, lambda d: d.meta["group"] == "g3")


@pytest.mark.parametrize("vector_function", ["cosine_similarity", "inner_product", "l2_distance"])
@pytest.mark.parametrize("search_strategy", ["hnsw", "exact"])
def test_dense_search_orders_by_the_vector_function(
    pg_store_factory: Any, vector_function: str, search_strategy: str
) -> None:
    store = pg_store_factory(
        embedding_dimension=2, vector_function=vector_function, search_strategy=search_strategy
    )
    store.write_documents(
        [
            Document(id="near", content="a", embedding=[1.0, 0.1]),
            Document(id="mid", content="b", embedding=[0.5, 0.5]),
            Document(id="far", content="c", embedding=[-1.0, 0.0]),
            Document(id="none", content="no embedding"),
        ]
    )
    hits = store.embedding_search([1.0, 0.0], top_k=3)
    assert [d.id for d in hits] == ["near", "mid", "far"]
    if vector_function == "cosine_similarity":
        assert hits[0].score == pytest.approx(1.0 / (1.01**0.5), abs=1e-5)
    scaled = store.embedding_search([1.0, 0.0], top_k=3, scale_score=True)
    assert [d.id for d in scaled] == ["near", "mid", "far"]
    expected_scale = {
        "cosine_similarity": lambda s: (s + 1.0) / 2.0,
        "inner_product": lambda s: 1.0 / (1.0 + math.exp(-s / 100.0)),
        "l2_distance": lambda s: 2.0 * (1.0 - 1.0 / (1.0 + math.exp(-s / 100.0))),
    }[vector_function]
    assert [d.score for d in scaled] == pytest.approx([expected_scale(d.score) for d in hits], abs=1e-6)
    assert all(0.0 <= d.score <= 1.0 for d in scaled)
    with pytest.raises(DocumentStoreError, match="list of 2 floats"):
        store.embedding_search([1.0, 0.0, 0.0])


# ------------------------------------------------------------------------------------------------ hybrid


def test_hybrid_search_fuses_in_sql_with_score_details(pg_store_factory: Any) -> None:
    docs = _corpus(400)
    store = pg_store_factory()
    store.write_documents(docs)
    query_vec = docs[17].embedding
    results = store.hybrid_search("cherry ocean", query_vec, top_k=10)
    assert len(results) == 10
    bm25_rank = {d.id: r for r, d in enumerate(store.bm25_search("cherry ocean", top_k=50), start=1)}
    dense_rank = {d.id: r for r, d in enumerate(store.embedding_search(query_vec, top_k=50), start=1)}
    for doc in results:
        details = doc.score_details
        assert details["fusion"]["method"] == "reciprocal_rank_fusion" and details["fusion"]["k"] == 60
        expected = sum(1.0 / (60 + ranks[doc.id]) for ranks in (bm25_rank, dense_rank) if doc.id in ranks)
        assert doc.score == pytest.approx(expected) == details["fusion"]["score"]
        if doc.id in bm25_rank:
            assert details["bm25"]["rank"] == bm25_rank[doc.id]
        if doc.id in dense_rank:
            assert details["dense"]["rank"] == dense_rank[doc.id]
    assert results[0].id == docs[17].id or "bm25" in results[0].score_details
    weighted = store.hybrid_search("cherry", query_vec, top_k=5, fusion="weighted", weights=[0.0, 1.0])
    assert weighted[0].id == docs[17].id and weighted[0].score == pytest.approx(1.0)
    filtered = store.hybrid_search("cherry", query_vec, top_k=8, filters={"group": "g4"})
    assert len(filtered) == 8 and all(d.meta["group"] == "g4" for d in filtered)
    with pytest.raises(DocumentStoreError, match="Unknown fusion"):
        store.hybrid_search("cherry", query_vec, fusion="max")
    with pytest.raises(DocumentStoreError, match="weights"):
        store.hybrid_search("cherry", query_vec, weights=[1.0])


def test_hybrid_search_with_corpus_filters_is_that_of_a_store_holding_only_the_corpus(
    pg_store_factory: Any,
) -> None:
    docs = _corpus(400)
    corpus = {"field": "meta.group", "operator": "in", "value": ["g1", "g2", "g3"]}
    store, alone = pg_store_factory(), pg_store_factory()
    store.write_documents(docs)
    alone.write_documents([d for d in docs if d.meta["group"] in ("g1", "g2", "g3")])
    query_vec = docs[17].embedding
    for fusion in ("reciprocal_rank_fusion", "weighted"):
        got = store.hybrid_search("cherry ocean", query_vec, top_k=10, fusion=fusion, corpus_filters=corpus)
        expected = alone.hybrid_search("cherry ocean", query_vec, top_k=10, fusion=fusion)
        assert [d.id for d in got] == [d.id for d in expected]
        assert [d.score for d in got] == pytest.approx([d.score for d in expected], rel=1e-9)
        assert [d.score_details for d in got] == [d.score_details for d in expected]
    g2 = {"group": "g2"}
    narrowed = store.hybrid_search("cherry", query_vec, top_k=10, filters=g2, corpus_filters=corpus)
    assert narrowed and all(d.meta["group"] == "g2" for d in narrowed)
    for doc in narrowed:
        if "bm25" in doc.score_details:
            [same] = [d for d in alone.bm25_search("cherry", top_k=100) if d.id == doc.id]
            assert doc.score_details["bm25"]["score"] == pytest.approx(same.score, rel=1e-9)
    with pytest.raises(FilterError):
        store.hybrid_search("cherry", query_vec, corpus_filters={"field": "meta.group", "operator": "~"})


def test_rows_from_a_relaxed_order_index_scan_are_ranked_by_distance(pg_store_factory: Any) -> None:
    """Vectors that all point the same way (cosine distances to the query are rounding noise around 0) come
    out of the relaxed-order HNSW scan in no particular order; dense and hybrid search must still rank them
    by distance, nearest first, and hybrid search must see the ranks dense search reports."""
    rng = random.Random(12)
    docs = _corpus(400)
    for doc in docs:
        doc.embedding = [rng.uniform(0.1, 1.0)] * 8
    store = pg_store_factory()
    store.write_documents(docs)
    dense = store.embedding_search([0.5] * 8, top_k=50)
    distances = [1.0 - d.score for d in dense]
    assert distances == sorted(distances)
    fused = store.hybrid_search("cherry ocean", [0.5] * 8, top_k=50)
    ranks = {d.id: d.score_details["dense"]["rank"] for d in fused if "dense" in d.score_details}
    assert len(ranks) >= 20
    assert ranks == {d.id: rank for rank, d in enumerate(dense, start=1) if d.id in ranks}


# ------------------------------------------------------------------------------------------------ async


async def test_async_api_matches_sync(pg_store_factory: Any) -> None:
    store = pg_store_factory()
    docs = _corpus(60)
    assert await store.write_documents_async(docs) == 60
    assert await store.count_documents_async({"even": True}) == 30
    assert [d.id for d in await store.filter_documents_async({"group": "g1"})] == sorted(
        d.id for d in docs if d.meta["group"] == "g1"
    )
    sync_bm25 = await asyncio.to_thread(store.bm25_search, "apple", 5)
    assert [d.id for d in await store.bm25_search_async("apple", top_k=5)] == [d.id for d in sync_bm25]
    vec = docs[3].embedding
    assert (await store.embedding_search_async(vec, top_k=1))[0].id == docs[3].id
    assert len(await store.hybrid_search_async("apple", vec, top_k=4)) == 4
    assert await store.update_by_filter_async({"group": "g2"}, {"x": 1}) == 3
    assert await store.replace_documents_async(
        {"group": "g2"}, [Document(content="n", meta={"group": "g2"})]
    ) == (
        3,
        1,
    )
    assert await store.delete_by_filter_async({"group": "g2"}) == 1
    await store.delete_documents_async([docs[0].id])
    assert await store.count_documents_async() == 56
    await store.close_async()


# ------------------------------------------------------------------------------------------------ robustness


def test_server_restart_mid_session_then_next_call_succeeds(pg_server: Any, pg_store_factory: Any) -> None:
    if not pg_server.restartable:
        pytest.skip("external server from HAYBALE_TEST_PG_DSN cannot be restarted by the tests")
    store = pg_store_factory()
    store.write_documents(_corpus(10))
    assert store.count_documents() == 10
    pg_server.restart()
    assert store.count_documents() == 10
    assert store.write_documents([Document(content="after restart")]) == 1
    assert store.bm25_search("restart")[0].content == "after restart"


INJECTIONS = [
    "x'; DROP TABLE {table}; --",
    'x"); DROP TABLE {table}; --',
    "x') OR 1=1 --",
    "$$; DROP TABLE {table}; $$",
    "%s%s%(x)s",
]


def test_sql_injection_through_filters_and_meta_is_inert(pg_server: Any, pg_store_factory: Any) -> None:
    store = pg_store_factory()
    table = store.table_name
    evil = [s.format(table=table) for s in INJECTIONS]
    docs = [Document(content=f"doc {k}", meta={key: key, "plain": k}) for k, key in enumerate(evil)]
    store.write_documents(docs)
    for k, text in enumerate(evil):
        assert store.count_documents({"field": "meta.plain", "operator": "==", "value": text}) == 0
        assert store.count_documents({"field": f"meta.{text}", "operator": "==", "value": text}) == 1
        assert store.count_documents({"field": f"meta.{text}", "operator": "exists", "value": True}) == 1
        assert store.count_documents({"field": "meta.plain", "operator": "like", "value": text}) == 0
        assert (
            len(
                store.bm25_search(
                    "doc " + text, filters={"field": f"meta.{text}", "operator": "!=", "value": 1}
                )
            )
            == 5
        )
        assert store.delete_by_filter({"field": "content", "operator": "==", "value": text}) == 0
        assert (
            store.update_by_filter({"field": "meta.plain", "operator": "==", "value": k}, {text: text}) == 1
        )
    with pytest.raises(FilterError):
        store.count_documents({"field": "meta.x", "operator": "; DROP TABLE x", "value": 1})
    assert _table_exists(pg_server.dsn, table)
    assert store.count_documents() == len(evil)
    assert (
        store.filter_documents({"field": "meta.plain", "operator": "==", "value": 0})[0].meta[evil[0]]
        == evil[0]
    )


def test_concurrent_writers_replacing_one_source_never_mix_versions(pg_store_factory: Any) -> None:
    store = pg_store_factory(pool_max_size=8)
    source = {"field": "meta.source", "operator": "==", "value": "a.pdf"}

    def version(v: int) -> list[Document]:
        return [
            Document(content=f"chunk {c} of version {v}", meta={"source": "a.pdf", "v": v}) for c in range(6)
        ]

    store.write_documents(version(0))
    mixed: list[set[int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(worker: int) -> None:
        try:
            for round_ in range(8):
                assert store.replace_documents(source, version(worker * 100 + round_))[1] == 6
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        while not stop.is_set():
            docs = store.filter_documents(source)
            versions = {d.meta["v"] for d in docs}
            if len(versions) != 1 or len(docs) != 6:
                mixed.append(versions)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert mixed == []
    final = store.filter_documents(source)
    assert len(final) == 6 and len({d.meta["v"] for d in final}) == 1
    # The BM25 statistics are exact after all that churn.
    memory = InMemoryDocumentStore()
    memory.write_documents(final)
    _assert_bm25_parity(store, memory, ["chunk version", "chunk 3"])


# ------------------------------------------------------------------------------------------------ bulk load


def _index_names(dsn: str, table: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN (%s, %s)", (table, f"{table}_postings")
        ).fetchall()
    return {r[0] for r in rows}


def test_bulk_load_drops_and_rebuilds_indexes_and_stays_correct(
    pg_server: Any, pg_store_factory: Any
) -> None:
    docs = _corpus(400)
    store = pg_store_factory()
    table = store.table_name
    hnsw, postings = f"{table}_hnsw_vector_cosine_ops", f"{table}_postings_key"
    store.write_documents(docs[:100])
    assert {hnsw, postings} <= _index_names(pg_server.dsn, table)
    with store.bulk_load(maintenance_work_mem="256MB") as same:
        assert same is store
        assert not {hnsw, postings} & _index_names(pg_server.dsn, table)
        assert store.write_documents(docs[100:]) == 300
        during = [d.id for d in store.bm25_search("apple ocean", top_k=10)]
        assert [d.id for d in store.embedding_search(docs[5].embedding, top_k=1)] == [docs[5].id]
    assert {hnsw, postings} <= _index_names(pg_server.dsn, table)
    assert [d.id for d in store.bm25_search("apple ocean", top_k=10)] == during
    memory = InMemoryDocumentStore()
    memory.write_documents(docs)
    _assert_bm25_parity(store, memory, ["apple ocean", "zulu river"])


def test_bulk_load_rebuilds_indexes_when_the_block_raises(pg_server: Any, pg_store_factory: Any) -> None:
    store = pg_store_factory()
    store.write_documents(_corpus(20))
    with pytest.raises(DuplicateDocumentError), store.bulk_load():
        store.write_documents(_corpus(5))  # same ids again: the default policy refuses
    assert f"{store.table_name}_postings_key" in _index_names(pg_server.dsn, store.table_name)
    assert store.count_documents() == 20
    with (
        pytest.raises(DocumentStoreError, match="maintenance_work_mem"),
        store.bulk_load("1GB; DROP TABLE x"),
    ):
        pass


def test_interrupted_bulk_load_heals_on_next_start(pg_server: Any, pg_store_factory: Any) -> None:
    store = pg_store_factory()
    store.write_documents(_corpus(30))
    table = store.table_name
    with psycopg.connect(
        pg_server.dsn, autocommit=True
    ) as conn:  # what a crash inside bulk_load leaves behind
        conn.execute(f"DROP INDEX {table}_postings_key")
        conn.execute(f"DROP INDEX {table}_hnsw_vector_cosine_ops")
    restarted = pg_store_factory(table_name=table, recreate_table=False)
    assert restarted.count_documents() == 30
    assert {f"{table}_postings_key", f"{table}_hnsw_vector_cosine_ops"} <= _index_names(pg_server.dsn, table)

"""SQLiteDocumentStore: the conformance suite (in memory and on disk) plus durability and SQLite specifics."""

from __future__ import annotations

import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreError
from haybale.stores import DocumentStore, DuplicatePolicy, InMemoryDocumentStore, SQLiteDocumentStore
from haybale.testing import DocumentStoreConformance


class TestSQLiteInMemoryConformance(DocumentStoreConformance):
    @pytest.fixture
    def store(self):
        store = SQLiteDocumentStore(":memory:", embedding_dim=4)
        yield store
        store.close()


class TestSQLiteFileConformance(DocumentStoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path):
        store = SQLiteDocumentStore(tmp_path / "index.db")
        yield store
        store.close()


def test_lazy_import_from_haybale_stores():
    assert isinstance(SQLiteDocumentStore(), DocumentStore)


def test_documents_persist_across_instances(tmp_path: Path):
    path = tmp_path / "sub" / "dir" / "index.db"
    first = SQLiteDocumentStore(path)
    first.write_documents([Document(content="durable apple", meta={"n": 1}, embedding=[1.0, 0.0])])
    first.close()
    second = SQLiteDocumentStore.from_dict(first.to_dict())
    assert second.count_documents() == 1
    assert [d.content for d in second.bm25_search("apple")] == ["durable apple"]
    assert [d.meta for d in second.embedding_search([1.0, 0.0])] == [{"n": 1}]
    second.close()


def test_database_uses_wal(tmp_path: Path):
    store = SQLiteDocumentStore(tmp_path / "index.db")
    store.write_documents([Document(content="x")])
    store.close()
    with sqlite3.connect(tmp_path / "index.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_vector_index_follows_writes_from_another_process_instance(tmp_path: Path):
    path = tmp_path / "index.db"
    reader = SQLiteDocumentStore(path)
    writer = SQLiteDocumentStore(path)
    writer.write_documents([Document(id="a", content="a", embedding=[1.0, 0.0])])
    assert [d.id for d in reader.embedding_search([1.0, 0.0])] == ["a"]
    writer.write_documents([Document(id="b", content="b", embedding=[0.0, 1.0])])
    writer.delete_documents(["a"])
    assert [d.id for d in reader.embedding_search([1.0, 0.0])] == ["b"]
    reader.close()
    writer.close()


def test_analyzer_mismatch_is_refused(tmp_path: Path):
    path = tmp_path / "index.db"
    SQLiteDocumentStore(path).write_documents([Document(content="x")])
    other = SQLiteDocumentStore(path, analyzer={"language": "english", "stemming": False})
    with pytest.raises(DocumentStoreError, match="analyzer"):
        other.count_documents()


def test_bm25_uses_the_shared_analyzer():
    store = SQLiteDocumentStore()
    store.write_documents(
        [
            Document(id="run", content="The runners were RUNNING quickly"),
            Document(id="snake", content="snake_case identifiers"),
            Document(id="cafe", content="Un café crème"),
        ]
    )
    assert [d.id for d in store.bm25_search("run")] == ["run"]
    assert [d.id for d in store.bm25_search("SNAKE_CASE")] == ["snake"]
    assert [d.id for d in store.bm25_search("cafe")] == ["cafe"]
    assert store.bm25_search("the were") == []  # stop words only


def test_fts_query_syntax_is_inert():
    store = SQLiteDocumentStore()
    store.write_documents([Document(id="a", content="apple NEAR banana")])
    for query in ['"', "apple OR", "NEAR(", "a* -b", "content:apple", "') DROP TABLE documents; --"]:
        store.bm25_search(query)
    assert store.count_documents() == 1


def test_filter_injection_is_inert():
    store = SQLiteDocumentStore()
    store.write_documents([Document(id="a", content="x", meta={"k": "v"})])
    hostile = "x'); DROP TABLE documents; --"
    assert store.filter_documents({"field": f"meta.{hostile}", "operator": "==", "value": hostile}) == []
    assert store.count_documents({"field": "meta.k", "operator": "like", "value": hostile}) == 0
    assert store.count_documents() == 1


def test_embedding_dimension_mismatch_writes_nothing():
    store = SQLiteDocumentStore()
    store.write_documents([Document(id="a", content="a", embedding=[1.0, 0.0])])
    with pytest.raises(DocumentStoreError, match="2-dimensional"):
        store.write_documents([Document(id="b", content="b", embedding=[1.0, 0.0, 0.0])])
    with pytest.raises(DocumentStoreError):
        store.write_documents([Document(id="c", content="c", embedding=[float("nan"), 0.0])])
    assert store.count_documents() == 1


def test_a_database_locked_while_opening_is_unavailable_naming_the_file(tmp_path: Path):
    from haybale.errors import DocumentStoreUnavailableError

    path = tmp_path / "index.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a new file, not yet in WAL mode: no other connection can set it up
    store = SQLiteDocumentStore(path, lock_timeout=0.2)
    try:
        with pytest.raises(DocumentStoreUnavailableError, match=r"stayed locked.*Retry") as caught:
            store.count_documents()
        assert str(path) in str(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.count_documents() == 0
    store.close()


def test_non_json_meta_is_a_clear_error():
    store = SQLiteDocumentStore()
    with pytest.raises(DocumentStoreError, match="JSON"):
        store.write_documents([Document(content="x", meta={"when": object()})])
    assert store.count_documents() == 0


def test_invalid_settings():
    with pytest.raises(DocumentStoreError):
        SQLiteDocumentStore(embedding_similarity_function="l1")
    with pytest.raises(DocumentStoreError):
        SQLiteDocumentStore(embedding_dim=0)


def test_dot_product_similarity():
    store = SQLiteDocumentStore(embedding_similarity_function="dot_product")
    store.write_documents(
        [
            Document(id="long", content="l", embedding=[3.0, 3.0]),
            Document(id="unit", content="u", embedding=[1.0, 0.0]),
        ]
    )
    results = store.embedding_search([1.0, 0.0], top_k=2)
    assert [d.id for d in results] == ["long", "unit"]
    assert results[0].score == pytest.approx(3.0)
    cosine = SQLiteDocumentStore()
    cosine.write_documents(
        [
            Document(id="long", content="l", embedding=[3.0, 3.0]),
            Document(id="unit", content="u", embedding=[1.0, 0.0]),
        ]
    )
    assert [d.id for d in cosine.embedding_search([1.0, 0.0], top_k=2)] == ["unit", "long"]


def test_vector_index_survives_many_deletes():
    store = SQLiteDocumentStore()
    docs = [Document(id=f"d{i}", content=f"doc {i}", embedding=[1.0, i / 3000]) for i in range(3000)]
    store.write_documents(docs)
    store.delete_documents([f"d{i}" for i in range(2500)])
    results = store.embedding_search([0.0, 1.0], top_k=3)
    assert [d.id for d in results] == ["d2999", "d2998", "d2997"]
    assert store.embedding_search([0.0, 1.0], top_k=3, filters={"id": ["d10", "d2600"]})[0].id == "d2600"


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from haybale.dataclasses import Document
    from haybale.stores.sqlite import SQLiteDocumentStore

    store = SQLiteDocumentStore(sys.argv[1])
    store.write_documents([Document(id="before", content="committed earlier")])
    print("ready", flush=True)
    docs = [
        Document(content=f"document {i} with some words to index", meta={"i": i}, embedding=[float(i), 1.0])
        for i in range(50_000)
    ]
    store.write_documents(docs)
    print("done", flush=True)
    """
)


def test_sigkill_mid_batch_leaves_no_partial_batch(tmp_path: Path):
    path = tmp_path / "killed.db"
    with subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        # Kill inside the 50k-document write transaction: wait until it has spilled pages into the WAL.
        deadline = time.monotonic() + 60
        wal = Path(f"{path}-wal")
        while time.monotonic() < deadline and (not wal.exists() or wal.stat().st_size < 1_000_000):
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        finished = "done" in process.stdout.read()
    assert process.returncode == -signal.SIGKILL

    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = SQLiteDocumentStore(path)
    count = store.count_documents()
    assert count == (50_001 if finished else 1)
    assert store.count_documents({"id": "before"}) == 1
    if count == 1:
        assert store.bm25_search("document words") == []
        assert [d.id for d in store.embedding_search([1.0, 1.0])] == []
    store.write_documents([Document(id="after", content="written after the crash")])
    assert store.count_documents() == count + 1
    store.close()


# ------------------------------------------------------------------------------ BM25 agrees with in-memory
_BM25_QUERIES = [
    "apple",
    "apple banana",
    "Running RUNNERS",
    "café crème",
    "snake_case Identifier",
    "the quick brown fox",
    "zebra apple apple",
    "ΑΘΗΝΑ ελλάδα",
    "the of and",
]


def _bm25_corpus() -> list[Document]:
    words = ["apple", "banana", "cherry", "runner", "running", "fox", "quick", "brown", "zebra", "café"]
    docs = [
        Document(id=f"g{i}", content=" ".join(words[(i * j) % len(words)] for j in range(1, 3 + i % 17)))
        for i in range(120)
    ]
    docs += [
        Document(id="snake", content="snake_case Identifier in MixedCase CamelCase"),
        Document(id="greek", content="Αθήνα είναι στην Ελλάδα"),
        Document(id="stop", content="the of and to"),  # content, but no term: counts in N with length 0
        Document(id="empty", content=""),
        Document(id="none", content=None, embedding=[1.0, 0.0]),
        Document(id="cafe", content="Un café crème, s'il vous plaît, CAFÉ"),
    ]
    return docs


def _scores(store, query: str, **kwargs) -> dict[str, float]:
    return {d.id: d.score for d in store.bm25_search(query, top_k=1000, **kwargs)}


def _assert_bm25_agrees(sqlite_store, memory_store) -> None:
    for query in _BM25_QUERIES:
        got = _scores(sqlite_store, query)
        want = _scores(memory_store, query)
        assert got.keys() == want.keys(), query
        for doc_id, score in want.items():
            assert got[doc_id] == pytest.approx(score, rel=1e-6, abs=1e-6), (query, doc_id)
        # Same ranking (equal scores may order differently once deletes reuse in-memory slots).
        top = [d.score for d in sqlite_store.bm25_search(query, top_k=5)]
        assert top == pytest.approx([d.score for d in memory_store.bm25_search(query, top_k=5)], rel=1e-6)
        assert top == sorted(top, reverse=True)


@pytest.mark.parametrize(
    ("variant", "analyzer"),
    [
        ("okapi", None),
        ("bm25l", None),
        ("bm25+", {"language": "english", "stopwords": False, "stemming": False, "lowercase": False}),
    ],
)
def test_bm25_scores_agree_with_the_in_memory_store(tmp_path: Path, variant, analyzer):
    settings = {"bm25_variant": variant, "bm25_k1": 1.4, "bm25_b": 0.6, "bm25_delta": 0.7}
    memory = InMemoryDocumentStore(analyzer=analyzer, **settings)
    sqlite_store = SQLiteDocumentStore(tmp_path / "index.db", analyzer=analyzer, **settings)
    memory.write_documents(_bm25_corpus())
    sqlite_store.write_documents(_bm25_corpus())
    _assert_bm25_agrees(sqlite_store, memory)
    result = sqlite_store.bm25_search("apple", top_k=1)[0]
    assert result.score_details == {
        "bm25": {"score": result.score, "variant": variant, "k1": 1.4, "b": 0.6, "delta": 0.7}
    }
    # A fresh instance loads its index from the stored terms: same scores.
    reopened = SQLiteDocumentStore.from_dict(sqlite_store.to_dict())
    assert reopened.to_dict() == sqlite_store.to_dict()
    _assert_bm25_agrees(reopened, memory)
    sqlite_store.close()
    reopened.close()


def test_bm25_index_follows_deletes_updates_and_replace(tmp_path: Path):
    memory = InMemoryDocumentStore()
    sqlite_store = SQLiteDocumentStore(tmp_path / "index.db")
    for store in (memory, sqlite_store):
        store.write_documents(_bm25_corpus())
    _assert_bm25_agrees(sqlite_store, memory)  # loads the index; every change below is applied in place
    changes = [
        lambda s: s.delete_documents(["g1", "g2", "cafe", "stop", "none"]),
        lambda s: s.delete_by_filter({"field": "id", "operator": "in", "value": ["g3", "g4", "g5"]}),
        lambda s: s.update_by_filter({"id": "g6"}, {"tag": "x"}),
        lambda s: s.write_documents(
            [Document(id="g7", content="zebra zebra apple"), Document(id="new", content="apple banana")],
            policy=DuplicatePolicy.OVERWRITE,
        ),
        lambda s: s.replace_documents(
            {"field": "id", "operator": "in", "value": ["g8", "g9", "g10"]},
            [Document(id="r1", content="cherry fox fox"), Document(id="g11", content="brown quick café")],
        ),
        lambda s: s.write_documents([Document(id=f"late{i}", content=f"apple runner {i}") for i in range(5)]),
    ]
    for change in changes:
        change(memory)
        change(sqlite_store)
        _assert_bm25_agrees(sqlite_store, memory)
    assert [d.meta for d in sqlite_store.bm25_search("x", filters={"id": "g6"})] == []
    assert _scores(sqlite_store, "apple", filters={"tag": "x"}).keys() <= {"g6"}
    reopened = SQLiteDocumentStore(tmp_path / "index.db")  # a full reload sees the same state
    _assert_bm25_agrees(reopened, memory)
    sqlite_store.close()
    reopened.close()


def test_bm25_filters_select_candidates_before_ranking():
    memory = InMemoryDocumentStore()
    sqlite_store = SQLiteDocumentStore()
    docs = [Document(id=f"d{i}", content="apple " * (1 + i % 5) + "pie", meta={"i": i}) for i in range(50)]
    for store in (memory, sqlite_store):
        store.write_documents(docs)
    for filters in ({"field": "meta.i", "operator": "<", "value": 7}, {"i": [3, 49]}, {"i": 1000}):
        got = [(d.id, d.score) for d in sqlite_store.bm25_search("apple", top_k=4, filters=filters)]
        want = [(d.id, d.score) for d in memory.bm25_search("apple", top_k=4, filters=filters)]
        assert [i for i, _ in got] == [i for i, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-6)


def test_dense_search_with_a_narrow_filter_finds_exactly_its_embedded_documents(tmp_path: Path):
    """A filter matching a small share of a store (looked up among the live vectors by binary search):
    documents without an embedding, deleted ones and seqs past the last vector are skipped, as in memory."""
    memory = InMemoryDocumentStore()
    sqlite_store = SQLiteDocumentStore(tmp_path / "narrow.db")
    docs = [
        Document(
            id=f"d{i}",
            content=f"doc {i}",
            meta={"group": i % 40, "i": i},
            embedding=None if i % 3 == 0 else [math.cos(i), math.sin(i), 1.0 + i % 7],
        )
        for i in range(400)
    ]
    for store in (memory, sqlite_store):
        store.write_documents(docs)
        store.delete_documents([f"d{i}" for i in range(0, 400, 11)])
        store.write_documents([Document(id="late", content="no vector", meta={"group": 5})])
    query = [0.3, -0.2, 0.9]
    for filters in ({"group": 5}, {"i": [1, 2, 3, 11, 399]}, {"group": 1000}):
        got = [(d.id, d.score) for d in sqlite_store.embedding_search(query, top_k=20, filters=filters)]
        want = [(d.id, d.score) for d in memory.embedding_search(query, top_k=20, filters=filters)]
        assert [i for i, _ in got] == [i for i, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-6)
    assert {d.id for d in sqlite_store.embedding_search(query, top_k=20, filters={"group": 5})} == {
        f"d{i}" for i in range(5, 400, 40) if i % 3 and i % 11
    }


def test_a_write_blocked_past_lock_timeout_is_unavailable_and_writes_nothing(tmp_path: Path):
    from haybale.errors import DocumentStoreUnavailableError

    path = tmp_path / "locked.db"
    store = SQLiteDocumentStore(path, lock_timeout=0.2)
    store.write_documents([Document(id="kept", content="hay bales")])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in a write transaction
    try:
        started = time.monotonic()
        with pytest.raises(DocumentStoreUnavailableError, match=r"stayed locked.*nothing was written"):
            store.write_documents([Document(id="new", content="straw")])
        assert time.monotonic() - started < 5
        with pytest.raises(DocumentStoreUnavailableError, match=re.escape(path.name)):
            store.delete_documents(["kept"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert sorted(d.id for d in store.filter_documents()) == ["kept"]
    store.write_documents([Document(id="new", content="straw")])  # the retry succeeds
    assert store.count_documents() == 2
    assert SQLiteDocumentStore.from_dict(store.to_dict()).lock_timeout == 0.2
    with pytest.raises(DocumentStoreError, match="lock_timeout"):
        SQLiteDocumentStore(path, lock_timeout=0)


_BM25_WRITER_SCRIPT = textwrap.dedent(
    """
    import sys
    from haybale.dataclasses import Document
    from haybale.stores.sqlite import SQLiteDocumentStore

    store = SQLiteDocumentStore(sys.argv[1])
    store.delete_documents(["old"])
    store.write_documents([Document(id="fresh", content="quokka sightings in the park")])
    store.close()
    """
)


def test_bm25_sees_writes_from_another_process(tmp_path: Path):
    path = tmp_path / "index.db"
    reader = SQLiteDocumentStore(path)
    reader.write_documents([Document(id="old", content="quokka habitat"), Document(id="x", content="park")])
    assert [d.id for d in reader.bm25_search("quokka")] == ["old"]  # index loaded in this process
    subprocess.run(
        [sys.executable, "-c", _BM25_WRITER_SCRIPT, str(path)],
        check=True,
        timeout=60,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert [d.id for d in reader.bm25_search("quokka")] == ["fresh"]
    expected = InMemoryDocumentStore()
    expected.write_documents(reader.filter_documents())
    assert _scores(reader, "quokka park") == pytest.approx(_scores(expected, "quokka park"), rel=1e-6)
    reader.close()


def test_invalid_bm25_settings_are_refused():
    with pytest.raises(DocumentStoreError, match="bm25_variant"):
        SQLiteDocumentStore(bm25_variant="tfidf")
    with pytest.raises(DocumentStoreError, match="out of range"):
        SQLiteDocumentStore(bm25_b=2.0)


@pytest.mark.parametrize("similarity", ["cosine", "dot_product"])
def test_scale_score_maps_scores_like_the_in_memory_store(similarity: str):
    docs = [
        Document(id="a", content="apple apple banana", embedding=[3.0, 1.0]),
        Document(id="b", content="apple cherry", embedding=[1.0, 2.0]),
        Document(id="c", content="cherry date", embedding=[-2.0, 0.5]),
    ]
    sqlite_store = SQLiteDocumentStore(embedding_similarity_function=similarity)
    memory_store = InMemoryDocumentStore(embedding_similarity_function=similarity)
    for store in (sqlite_store, memory_store):
        store.write_documents(docs)

    raw = sqlite_store.bm25_search("apple cherry", top_k=3)
    scaled = sqlite_store.bm25_search("apple cherry", top_k=3, scale_score=True)
    assert [d.id for d in scaled] == [d.id for d in raw]
    assert [d.score for d in scaled] == pytest.approx([1.0 / (1.0 + math.exp(-d.score / 8.0)) for d in raw])
    memory_scaled = memory_store.bm25_search("apple cherry", top_k=3, scale_score=True)
    assert [d.score for d in scaled] == pytest.approx([d.score for d in memory_scaled], rel=1e-6)

    raw = sqlite_store.embedding_search([1.0, 1.0], top_k=3)
    scaled = sqlite_store.embedding_search([1.0, 1.0], top_k=3, scale_score=True)
    assert [d.id for d in scaled] == [d.id for d in raw]
    if similarity == "cosine":
        expected = [(d.score + 1.0) / 2.0 for d in raw]
    else:
        expected = [1.0 / (1.0 + math.exp(-d.score / 100.0)) for d in raw]
    assert [d.score for d in scaled] == pytest.approx(expected)
    assert all(0.0 <= d.score <= 1.0 for d in scaled)
    memory_scaled = memory_store.embedding_search([1.0, 1.0], top_k=3, scale_score=True)
    assert [d.score for d in scaled] == pytest.approx([d.score for d in memory_scaled], rel=1e-6)


@pytest.mark.parametrize("size", [3, 2500])  # a small write, and a bulk one (worker threads)
def test_sparse_embeddings_and_blobs_come_back_from_a_batch_mixed_with_plain_documents(
    tmp_path: Path, size: int
) -> None:
    from haybale.dataclasses import ByteStream, SparseEmbedding

    docs = [Document(id=f"p{i}", content=f"plain {i}", embedding=[float(i), 1.0]) for i in range(size)]
    docs[1] = Document(
        id="rich",
        content="rich text",
        meta={"k": "v"},
        embedding=[0.5, 0.25],
        sparse_embedding=SparseEmbedding(indices=[1, 7], values=[0.5, 0.25]),
        blob=ByteStream(data=b"\x00\x01binary", mime_type="application/octet-stream", meta={"page": 2}),
    )
    docs.append(Document(id="bare", content=None, blob=ByteStream(data=b"only a blob")))
    path = tmp_path / "mixed.db"
    SQLiteDocumentStore(path).write_documents(docs)
    reopened = SQLiteDocumentStore(path)
    assert reopened.filter_documents() == docs
    assert reopened.bm25_search("rich", top_k=1)[0].blob == docs[1].blob
    reopened.close()

"""SQLiteDocumentStore: the conformance suite (in memory and on disk) plus durability and SQLite specifics."""

from __future__ import annotations

import os
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
from haybale.stores import DocumentStore, SQLiteDocumentStore
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

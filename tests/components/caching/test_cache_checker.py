"""CacheChecker with real stores (InMemory, SQLite): hits and misses, one query per batch, serialization,
and a cache-then-fetch indexing pipeline against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from haybale.components.caching import CacheChecker
from haybale.components.converters import HTMLToDocument
from haybale.components.fetchers import LinkContentFetcher
from haybale.components.writers import DocumentWriter
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import Document
from haybale.errors import ComponentError, DeserializationError
from haybale.stores import InMemoryDocumentStore, SQLiteDocumentStore


class CountingMemoryStore(InMemoryDocumentStore):
    """A real in-memory store that also counts filter queries."""

    queries = 0

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        type(self).queries += 1
        return super().filter_documents(filters)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Each test runs against both an InMemoryDocumentStore and an SQLiteDocumentStore."""
    if request.param == "memory":
        yield InMemoryDocumentStore()
        return
    sqlite_store = SQLiteDocumentStore(path=tmp_path / "cache.db")
    try:
        yield sqlite_store
    finally:
        sqlite_store.close()


def seed(store: Any) -> list[Document]:
    docs = [
        Document(content="a, part 1", meta={"url": "https://a.example/", "part": 1}),
        Document(content="a, part 2", meta={"url": "https://a.example/", "part": 2}),
        Document(content="c", meta={"url": "https://c.example/"}),
        Document(content="file", meta={"file_path": "/data/report.pdf", "nested": {"key": 7}}),
        Document(content="no url"),
    ]
    store.write_documents(docs)
    return docs


# --- init -------------------------------------------------------------------------------------------------


def test_init_keeps_parameters(store: Any) -> None:
    checker = CacheChecker(store, cache_field="url")
    assert checker.document_store is store
    assert checker.cache_field == "url"


@pytest.mark.parametrize(
    ("store_arg", "field", "match"),
    [
        (object(), "url", "filter_documents"),
        (InMemoryDocumentStore, "url", "store instance"),
        (None, "url", "filter_documents"),
        ("memory", "", "non-empty string"),
        ("memory", "meta..url", "empty key"),
        ("memory", "embedding", "cannot be filtered"),
        ("memory", 3, "non-empty string"),
    ],
)
def test_init_refuses_bad_arguments(store_arg: Any, field: Any, match: str) -> None:
    if store_arg == "memory":
        store_arg = InMemoryDocumentStore()
    with pytest.raises(ComponentError, match=match):
        CacheChecker(store_arg, cache_field=field)


# --- to_dict / from_dict ----------------------------------------------------------------------------------


def test_round_trip_nests_the_store(store: Any) -> None:
    checker = CacheChecker(store, cache_field="meta.url")
    data = checker.to_dict()
    assert data == {
        "type": "haybale.components.caching.cache_checker.CacheChecker",
        "init_parameters": {"document_store": store.to_dict(), "cache_field": "meta.url"},
    }
    restored = CacheChecker.from_dict(data)
    assert type(restored.document_store) is type(store)
    assert restored.to_dict() == data
    if isinstance(store, SQLiteDocumentStore):
        seed(store)
        assert len(restored.run(items=["https://a.example/"])["hits"]) == 2  # the same database file
        restored.document_store.close()


def test_from_dict_refuses_foreign_or_missing_store() -> None:
    data = CacheChecker(InMemoryDocumentStore(), cache_field="url").to_dict()
    bad = {**data, "init_parameters": {**data["init_parameters"], "document_store": {"type": "os.system"}}}
    with pytest.raises(DeserializationError, match=r"os\.system"):
        CacheChecker.from_dict(bad)
    missing = {**data, "init_parameters": {"cache_field": "url"}}
    with pytest.raises(DeserializationError, match="document_store"):
        CacheChecker.from_dict(missing)


def test_yaml_round_trip_in_pipeline(tmp_path: Path) -> None:
    store = SQLiteDocumentStore(path=tmp_path / "yaml.db")
    seed(store)
    pipeline = Pipeline()
    pipeline.add_component("cache", CacheChecker(store, cache_field="url"))
    text = pipeline.dumps()
    loaded = Pipeline.loads(text)
    assert loaded.dumps() == text
    result = loaded.run({"cache": {"items": ["https://c.example/", "https://new.example/"]}})
    assert [d.content for d in result["cache"]["hits"]] == ["c"]
    assert result["cache"]["misses"] == ["https://new.example/"]
    loaded.get_component("cache").document_store.close()
    store.close()


# --- run --------------------------------------------------------------------------------------------------


def test_hits_and_misses_in_input_order(store: Any) -> None:
    seed(store)
    items = ["https://new.example/", "https://c.example/", "https://a.example/", "https://other.example/"]
    result = CacheChecker(store, cache_field="url").run(items=items)
    assert [d.content for d in result["hits"]] == ["c", "a, part 1", "a, part 2"]
    assert result["misses"] == ["https://new.example/", "https://other.example/"]


def test_repeated_items_keep_misses_and_return_documents_once(store: Any) -> None:
    seed(store)
    items = ["https://a.example/", "x", "https://a.example/", "x"]
    result = CacheChecker(store, cache_field="meta.url").run(items=items)
    assert sorted(d.content for d in result["hits"]) == ["a, part 1", "a, part 2"]
    assert result["misses"] == ["x", "x"]


def test_paths_nested_fields_ids_and_numbers(store: Any) -> None:
    docs = seed(store)
    by_path = CacheChecker(store, cache_field="file_path").run(items=[Path("/data/report.pdf"), "/other"])
    assert [d.content for d in by_path["hits"]] == ["file"]
    assert by_path["misses"] == ["/other"]
    nested = CacheChecker(store, cache_field="meta.nested.key").run(items=[7.0, 8])
    assert [d.content for d in nested["hits"]] == ["file"]
    assert nested["misses"] == [8]
    by_id = CacheChecker(store, cache_field="id").run(items=[docs[2].id, "missing-id"])
    assert [d.content for d in by_id["hits"]] == ["c"]
    assert by_id["misses"] == ["missing-id"]
    booleans = CacheChecker(store, cache_field="part").run(items=[True, 2])
    assert [d.content for d in booleans["hits"]] == ["a, part 2"]  # True is not the number 1
    assert booleans["misses"] == [True]


def test_empty_items_and_empty_store(store: Any) -> None:
    checker = CacheChecker(store, cache_field="url")
    assert checker.run(items=[]) == {"hits": [], "misses": []}
    assert checker.run(items=["https://a.example/"]) == {"hits": [], "misses": ["https://a.example/"]}


def test_one_query_per_batch_and_large_batches(store: Any) -> None:
    CountingMemoryStore.queries = 0
    counting = CountingMemoryStore()
    seed(counting)
    CacheChecker(counting, cache_field="url").run(items=[f"https://{i}.example/" for i in range(100)])
    assert CountingMemoryStore.queries == 1
    # Large batches are split (well below SQLite's parameter limit) and still find everything.
    store.write_documents([Document(content=f"doc {i}", meta={"url": f"u{i}"}) for i in range(1200)])
    items = [f"u{i}" for i in range(0, 2400, 2)]
    result = CacheChecker(store, cache_field="url").run(items=items)
    assert len(result["hits"]) == 600
    assert result["misses"] == [f"u{i}" for i in range(1200, 2400, 2)]


async def test_run_async_matches_run(store: Any) -> None:
    seed(store)
    checker = CacheChecker(store, cache_field="url")
    items = ["https://a.example/", "https://zzz.example/"]
    assert await checker.run_async(items=items) == checker.run(items=items)


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "match"),
    [
        ("https://a.example/", "items must be a list"),
        (None, "items must be a list"),
        (["ok", {"url": "x"}], r"items\[1\]"),
        ([None], r"items\[0\]"),
        ([["nested"]], r"items\[0\]"),
    ],
)
def test_bad_items_are_refused(store: Any, items: Any, match: str) -> None:
    with pytest.raises(ComponentError, match=match):
        CacheChecker(store, cache_field="url").run(items=items)


# --- in a pipeline: only cache misses are fetched ---------------------------------------------------------


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve two HTML pages from a temporary directory; yields the base URL and the paths requested."""
    (tmp_path / "one.html").write_text("<html><body><p>Page one</p></body></html>", encoding="utf-8")
    (tmp_path / "two.html").write_text("<html><body><p>Page two</p></body></html>", encoding="utf-8")
    requested: list[str] = []

    class Recording(_QuietFiles):
        def do_GET(self) -> None:
            requested.append(self.path)
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Recording, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_pipeline_fetches_only_misses(site: tuple[str, list[str]], tmp_path: Path) -> None:
    base, requested = site
    store = SQLiteDocumentStore(path=tmp_path / "index.db")
    pipeline = Pipeline()
    pipeline.add_component("cache", CacheChecker(store, cache_field="url"))
    pipeline.add_component("fetcher", LinkContentFetcher(allowed_hosts=["127.0.0.1"]))
    pipeline.add_component("converter", HTMLToDocument())
    pipeline.add_component("writer", DocumentWriter(store))
    pipeline.connect("cache.misses", "fetcher.urls")
    pipeline.connect("fetcher.streams", "converter.sources")
    pipeline.connect("converter.documents", "writer.documents")

    first = pipeline.run({"cache": {"items": [f"{base}/one.html"]}})
    assert first["writer"] == {"documents_written": 1}
    assert requested == ["/one.html"]

    second = pipeline.run({"cache": {"items": [f"{base}/one.html", f"{base}/two.html"]}})
    assert [d.content for d in second["cache"]["hits"]] == ["Page one"]
    assert second["writer"] == {"documents_written": 1}
    assert requested == ["/one.html", "/two.html"]  # the cached page was not fetched again
    assert store.count_documents() == 2
    assert Pipeline.loads(pipeline.dumps()).dumps() == pipeline.dumps()
    store.close()

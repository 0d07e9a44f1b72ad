"""Filtered searches remember their filter's selection until the next write: results always follow the data.

Every check compares a store that has searched (and so cached selections) with a fresh store holding the same
documents, after each kind of write; two SQLite stores share one file; a tenant-scoped view is checked too.
Whether the cache is used at all is observed without timing: SQLite statements through a trace callback, the
memory store's filter predicate through a counting wrapper.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import haybale.stores.sqlite as sqlite_module
from haybale.dataclasses import Document
from haybale.filters import evaluate
from haybale.stores import InMemoryDocumentStore, SQLiteDocumentStore
from haybale.stores.protocol import DuplicatePolicy
from haybale.stores.tenant_scope import TenantScopedStore, tenant_scope

RED = {"group": "red"}
RED_LATE = {"operator": "AND", "conditions": [RED, {"field": "meta.n", "operator": ">=", "value": 5}]}
QUERY = "fox river"


def _doc(n: int, group: str, words: str = "fox") -> Document:
    vector = [1.0, float(n % 7), float(n % 3), 0.5]
    return Document(
        id=f"d{n}",
        content=f"{words} " * (1 + n % 4) + "river",
        meta={"group": group, "n": n},
        embedding=vector,
    )


def _corpus() -> list[Document]:
    return [_doc(n, "red" if n % 2 else "blue") for n in range(12)]


StoreFactory = Callable[[], Any]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: Any, tmp_path: Path) -> Iterator[StoreFactory]:
    made: list[Any] = []

    def make() -> Any:
        store: Any
        if request.param == "memory":
            store = InMemoryDocumentStore()
        else:
            store = SQLiteDocumentStore(tmp_path / f"store{len(made)}.db")
        made.append(store)
        return store

    yield make
    for store in made:
        if isinstance(store, SQLiteDocumentStore):
            store.close()


def _searches(store: Any) -> dict[str, list[tuple[str, float]]]:
    """Every filtered search path, results as sorted (id, score) pairs."""
    results = {
        "bm25 filters": store.bm25_search(QUERY, top_k=100, filters=RED),
        "bm25 corpus": store.bm25_search(QUERY, top_k=100, corpus_filters=RED),
        "bm25 corpus + same filters": store.bm25_search(QUERY, top_k=100, filters=RED, corpus_filters=RED),
        "bm25 corpus + narrower filters": store.bm25_search(
            QUERY, top_k=100, filters=RED_LATE, corpus_filters=RED
        ),
        "embedding filters": store.embedding_search([1.0, 2.0, 1.0, 0.5], top_k=100, filters=RED),
        "embedding narrower filters": store.embedding_search(
            [1.0, 2.0, 1.0, 0.5], top_k=100, filters=RED_LATE
        ),
    }
    return {name: sorted((d.id, round(d.score, 5)) for d in docs) for name, docs in results.items()}


def _assert_like_fresh(store: Any, make_store: StoreFactory) -> None:
    fresh = make_store()
    fresh.write_documents(store.filter_documents())
    searched = _searches(store)
    assert searched == _searches(fresh)
    assert searched["bm25 filters"], "the check needs matching documents"


WRITES: dict[str, Callable[[Any], Any]] = {
    "write a matching document": lambda s: s.write_documents([_doc(21, "red")]),
    "overwrite a match into a non-match": lambda s: s.write_documents(
        [_doc(1, "blue")], policy=DuplicatePolicy.OVERWRITE
    ),
    "overwrite a match with other content": lambda s: s.write_documents(
        [_doc(3, "red", "fox fox fox fox fox")], policy=DuplicatePolicy.OVERWRITE
    ),
    "delete a match": lambda s: s.delete_documents(["d5"]),
    "delete by filter": lambda s: s.delete_by_filter({"field": "meta.n", "operator": "in", "value": [7, 9]}),
    "update a non-match into a match": lambda s: s.update_by_filter({"n": 2}, {"group": "red"}),
    "update a match out of the corpus": lambda s: s.update_by_filter({"n": 11}, {"group": "green"}),
    "replace the matches": lambda s: s.replace_documents(RED, [_doc(30, "red"), _doc(31, "red", "fox fox")]),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_cached_selections_follow_every_kind_of_write(make_store: StoreFactory, write: str) -> None:
    store = make_store()
    store.write_documents(_corpus())
    _searches(store)
    _assert_like_fresh(store, make_store)  # searched twice: the second round is served from the cache
    WRITES[write](store)
    _assert_like_fresh(store, make_store)


def test_a_sequence_of_writes_and_searches_stays_exact(make_store: StoreFactory) -> None:
    store = make_store()
    store.write_documents(_corpus())
    for write in WRITES.values():
        _searches(store)
        write(store)
        _assert_like_fresh(store, make_store)


def test_two_sqlite_stores_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    reader, writer = SQLiteDocumentStore(path), SQLiteDocumentStore(path)
    try:
        writer.write_documents(_corpus())
        for write in WRITES.values():
            _searches(reader)
            _searches(reader)
            write(writer)
            alone = SQLiteDocumentStore(tmp_path / f"alone{len(list(tmp_path.iterdir()))}.db")
            alone.write_documents(writer.filter_documents())
            assert _searches(reader) == _searches(alone)
            alone.close()
    finally:
        reader.close()
        writer.close()


def test_a_tenant_scoped_view_follows_writes_of_its_tenant_and_others(make_store: StoreFactory) -> None:
    inner = make_store()
    view = TenantScopedStore(inner)
    with tenant_scope("other"):
        view.write_documents([_doc(n, "red") for n in range(4)])
    with tenant_scope("t1"):
        view.write_documents(_corpus())

    def scoped() -> dict[str, list[tuple[str, float]]]:
        with tenant_scope("t1"):
            return _searches(view)

    def expected() -> dict[str, list[tuple[str, float]]]:
        fresh = make_store()
        with tenant_scope("t1"):
            mine = view.filter_documents()
        fresh.write_documents(mine)
        return _searches(fresh)

    scoped()
    assert scoped() == expected()
    with tenant_scope("t1"):
        view.update_by_filter({"n": 1}, {"group": "blue"})
        view.write_documents([_doc(40, "red", "fox fox")])
    assert scoped() == expected()
    with tenant_scope("other"):  # another tenant's writes change nothing the scoped searches return
        view.write_documents([_doc(41, "red")])
        view.delete_by_filter({"n": 0})
    assert scoped() == expected()
    with tenant_scope("t1"):
        view.replace_documents({"n": 3}, [_doc(42, "red")])
        view.delete_documents(["d5"])
    assert scoped() == expected()


def _trace_selections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every statement of SQLite connections opened from now on that selects candidate seqs (not the
    statements reading the hits' rows)."""
    statements: list[str] = []
    original = sqlite_module.connect

    def traced(path: str, *args: Any) -> sqlite3.Connection:
        connection = original(path, *args)
        connection.set_trace_callback(
            lambda sql: (
                statements.append(sql)
                if sql.startswith(("SELECT seq FROM", "SELECT seq, (", "SELECT seq, 1"))
                else None
            )
        )
        return connection

    monkeypatch.setattr(sqlite_module, "connect", traced)
    return statements


def test_sqlite_selects_once_per_filter_until_a_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    selections = _trace_selections(monkeypatch)
    path = tmp_path / "traced.db"
    store, other = SQLiteDocumentStore(path), SQLiteDocumentStore(path)
    try:
        store.write_documents(_corpus())
        selections.clear()
        first = _searches(store)
        selected = len(selections)
        assert selected == 5  # one scan per distinct selection (corpus + same filters reuses the corpus's)
        for _ in range(3):
            assert _searches(store) == first
        assert len(selections) == selected  # served from the cache
        store.bm25_search(QUERY, filters={"group": "blue"})
        assert len(selections) == selected + 1  # another filter is selected
        other.update_by_filter({"n": 0}, {"group": "red"})  # a write through another connection
        assert _searches(store) != first
        assert len(selections) == 2 * selected + 1
    finally:
        store.close()
        other.close()


def test_memory_store_evaluates_each_filter_once_until_a_write(monkeypatch: pytest.MonkeyPatch) -> None:
    evaluations = [0]
    original = evaluate.compile_predicate

    def counting(node: Any) -> Any:
        predicate = original(node)

        def counted(document: Document) -> bool:
            evaluations[0] += 1
            return predicate(document)

        return counted

    monkeypatch.setattr(evaluate, "compile_predicate", counting)
    store = InMemoryDocumentStore()
    store.write_documents(_corpus())
    first = _searches(store)
    assert evaluations[0] > 0
    cached = evaluations[0]
    for _ in range(3):
        assert _searches(store) == first
    assert evaluations[0] == cached
    store.update_by_filter({"n": 0}, {"group": "red"})
    assert _searches(store) != first
    assert evaluations[0] > cached


def test_memory_store_keeps_a_bounded_number_of_selections(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    original = evaluate.compile_predicate

    def recording(node: Any) -> Any:
        seen.append(node)
        return original(node)

    monkeypatch.setattr(evaluate, "compile_predicate", recording)
    store = InMemoryDocumentStore()
    store.write_documents(_corpus())
    filters = [{"n": n} for n in range(40)]
    for f in filters:
        store.embedding_search([1.0, 0.0, 0.0, 0.0], filters=f)
    assert len(seen) == 40
    store.embedding_search([1.0, 0.0, 0.0, 0.0], filters=filters[-1])  # recent: kept
    assert len(seen) == 40
    store.embedding_search([1.0, 0.0, 0.0, 0.0], filters=filters[0])  # oldest: dropped, selected again
    assert len(seen) == 41

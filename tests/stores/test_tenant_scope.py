"""TenantScopedStore: the whole store contract holds inside a tenant, and nothing crosses tenants."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from haybale.dataclasses import Document
from haybale.errors import DuplicateDocumentError, FilterError
from haybale.stores import InMemoryDocumentStore, SQLiteDocumentStore
from haybale.stores.protocol import BM25SearchStore, DuplicatePolicy, EmbeddingSearchStore, HybridSearchStore
from haybale.stores.tenant_scope import TenantScopedStore, TenantScopeError, current_tenant, tenant_scope
from haybale.testing.document_store_conformance import DocumentStoreConformance

OTHER_TENANT_DOCS = [
    Document(id="d1", content="The quick brown fox", meta={"year": 2020, "tag": ["a", "b"], "lang": "en"}),
    Document(
        content="quick brown fox jumps over the other tenant", meta={"year": 2020}, embedding=[1.0, 0, 0, 0]
    ),
]


def _seed_other_tenant(inner: Any) -> None:
    with tenant_scope("other"):
        TenantScopedStore(inner).write_documents(list(OTHER_TENANT_DOCS))


class ScopedConformance(DocumentStoreConformance):
    """The conformance suite through the view, in a tenant, next to another tenant's documents with clashing
    ids and matching content: every read, write, search and filter must behave as on a private store."""

    @staticmethod
    def scoped(inner: Any) -> Iterator[TenantScopedStore]:
        _seed_other_tenant(inner)
        with tenant_scope("t1"):
            yield TenantScopedStore(inner)

    def test_concurrent_writers_and_readers(self, store: Any) -> None:
        # Plain threads do not inherit the tenant: the view must refuse them rather than guess.
        errors: list[BaseException] = []

        def read() -> None:
            try:
                store.count_documents()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
        assert len(errors) == 1 and isinstance(errors[0], TenantScopeError)

    def test_concurrent_replace_of_one_source_never_mixes_versions(self, store: Any) -> None:
        # Threads that carry the tenant (asyncio.to_thread copies the context) work as on a plain store.
        async def both() -> None:
            for version in range(5):
                source = [Document(content=f"v{version} part {i}", meta={"source": "s"}) for i in range(3)]
                await asyncio.gather(
                    asyncio.to_thread(store.replace_documents, {"source": "s"}, source),
                    asyncio.to_thread(store.count_documents, {"source": "s"}),
                )
                versions = {d.content.split()[0] for d in store.filter_documents({"source": "s"})}
                assert versions == {f"v{version}"}

        asyncio.run(both())

    def test_to_dict_from_dict_round_trip(self, store: Any) -> None:
        assert store.to_dict() == store.inner.to_dict()  # a served pipeline saves the real store

    def test_bm25_scores_do_not_move_when_another_tenant_writes(self, store: Any) -> None:
        """BM25 statistics are the tenant's own: another tenant writing (or deleting) documents full of the
        query's terms changes nothing in this tenant's scores, not even the last bit."""
        store.write_documents(
            [Document(content=f"quick brown fox number {i} jumps {'fox ' * (i % 3)}") for i in range(6)]
        )
        query = "quick fox jumps"
        before = [(d.id, d.score) for d in store.bm25_search(query, top_k=10)]
        assert len(before) == 6
        neighbour = TenantScopedStore(store.inner)
        with tenant_scope("other"):
            neighbour.write_documents(
                [Document(content=f"fox fox quick {i} " + "jumps " * i) for i in range(1, 40)]
            )
        assert [(d.id, d.score) for d in store.bm25_search(query, top_k=10)] == before
        with tenant_scope("other"):
            neighbour.delete_by_filter({"field": "content", "operator": "like", "value": "%fox%"})
        assert [(d.id, d.score) for d in store.bm25_search(query, top_k=10)] == before
        if isinstance(store.inner, HybridSearchStore):
            fused = store.hybrid_search(query, [1.0, 0.0, 0.0, 0.0], top_k=10)
            assert {d.id: d.score_details["bm25"]["score"] for d in fused} == dict(before)


class TestScopedMemoryConformance(ScopedConformance):
    @pytest.fixture
    def store(self) -> Iterator[TenantScopedStore]:
        yield from self.scoped(InMemoryDocumentStore())


class TestScopedSQLiteConformance(ScopedConformance):
    @pytest.fixture
    def store(self, tmp_path: Any) -> Iterator[TenantScopedStore]:
        yield from self.scoped(SQLiteDocumentStore(path=str(tmp_path / "scoped.db")))


@pytest.mark.pg
class TestScopedPgvectorConformance(ScopedConformance):
    @pytest.fixture
    def store(self, pg_store_factory: Any) -> Iterator[TenantScopedStore]:
        yield from self.scoped(pg_store_factory(embedding_dimension=4))

    def test_native_hybrid_search_is_scoped(self, store: Any) -> None:
        assert isinstance(store, HybridSearchStore)
        store.write_documents([Document(content="quick brown fox of t1", embedding=[1.0, 0.0, 0.0, 0.0])])
        found = store.hybrid_search("quick brown fox", [1.0, 0.0, 0.0, 0.0], top_k=10)
        assert [d.content for d in found] == ["quick brown fox of t1"]


@pytest.fixture
def shared() -> InMemoryDocumentStore:
    inner = InMemoryDocumentStore()
    _seed_other_tenant(inner)
    return inner


def test_reads_never_see_another_tenant(shared: InMemoryDocumentStore) -> None:
    view = TenantScopedStore(shared)
    with tenant_scope("t1"):
        assert view.count_documents() == 0
        assert view.filter_documents({"field": "meta.tenant", "operator": "==", "value": "other"}) == []
        assert view.filter_documents({"field": "id", "operator": "==", "value": "d1"}) == []
        assert view.bm25_search("quick brown fox", top_k=10) == []
        assert view.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=10) == []
        escape = {"operator": "OR", "conditions": [{"field": "content", "operator": "like", "value": "%"}]}
        assert view.filter_documents(escape) == []
    with tenant_scope("other"):
        assert {d.id for d in view.filter_documents({"id": "d1"})} == {"d1"}


def test_writes_are_stamped_and_ids_are_per_tenant(shared: InMemoryDocumentStore) -> None:
    view = TenantScopedStore(shared)
    same_id = Document(id="d1", content="mine", meta={"year": 1})
    with tenant_scope("t1"):
        assert view.write_documents([same_id], policy=DuplicatePolicy.OVERWRITE) == 1
        [mine] = view.filter_documents()
        assert (mine.id, mine.content, mine.meta) == ("d1", "mine", {"year": 1})
        with pytest.raises(DuplicateDocumentError):  # duplicate policies work within the tenant
            view.write_documents([same_id])
    with tenant_scope("other"):
        [theirs] = view.filter_documents({"id": "d1"})
        assert theirs.content == "The quick brown fox"  # the OVERWRITE did not reach the other tenant
    stored = {
        d.meta["tenant"]
        for d in shared.filter_documents({"field": "content", "operator": "==", "value": "mine"})
    }
    assert stored == {"t1"}


def test_a_document_naming_another_tenant_is_refused(shared: InMemoryDocumentStore) -> None:
    view = TenantScopedStore(shared)
    before = shared.count_documents()
    with tenant_scope("t1"), pytest.raises(TenantScopeError, match="names tenant 'other'"):
        view.write_documents([Document(content="x", meta={"tenant": "other"})])
    with tenant_scope("t1"), pytest.raises(TenantScopeError, match="stay in their tenant"):
        view.update_by_filter({"year": 2020}, {"tenant": "other"})
    assert shared.count_documents() == before


def test_deletes_and_updates_stay_in_the_tenant(shared: InMemoryDocumentStore) -> None:
    view = TenantScopedStore(shared)
    before = shared.count_documents()
    with tenant_scope("t1"):
        view.delete_documents(["d1"])
        assert view.delete_by_filter({"year": 2020}) == 0
        assert view.update_by_filter({"year": 2020}, {"year": 1999}) == 0
        assert view.replace_documents({"year": 2020}, [Document(content="new")]) == (0, 1)
    assert shared.count_documents() == before + 1
    with tenant_scope("other"):
        assert view.count_documents({"year": 2020}) == 2


def test_outside_any_scope_every_call_fails_closed(shared: InMemoryDocumentStore) -> None:
    view = TenantScopedStore(shared)
    calls = [
        view.count_documents,
        view.filter_documents,
        lambda: view.write_documents([Document(content="x")]),
        lambda: view.delete_by_filter({"year": 2020}),
        lambda: view.bm25_search("fox"),
    ]
    for call in calls:
        with pytest.raises(TenantScopeError, match="outside any tenant scope"):
            call()
    with pytest.raises(TenantScopeError):
        current_tenant()


def test_single_tenant_mode_passes_through(shared: InMemoryDocumentStore) -> None:
    view = TenantScopedStore(shared)
    with tenant_scope(None):
        assert view.count_documents() == shared.count_documents()
        view.write_documents([Document(id="plain", content="no tenant")])
    assert "tenant" not in shared.filter_documents({"id": "plain"})[0].meta


def test_only_the_protocol_and_the_stores_capabilities_are_exposed(tmp_path: Any) -> None:
    memory = TenantScopedStore(InMemoryDocumentStore())
    assert isinstance(memory, BM25SearchStore) and isinstance(memory, EmbeddingSearchStore)
    assert not isinstance(memory, HybridSearchStore)  # the in-memory store has no native hybrid search
    for name in ("save", "load", "close", "_docs", "get_documents_by_id"):
        with pytest.raises(AttributeError, match="tenant-scoped store"):
            getattr(memory, name)
    sqlite = TenantScopedStore(SQLiteDocumentStore(path=str(tmp_path / "x.db")))
    with pytest.raises(AttributeError):
        sqlite.bulk_load


def test_async_methods_are_scoped_and_stay_coroutines(shared: InMemoryDocumentStore) -> None:
    import inspect

    view = TenantScopedStore(shared)
    assert inspect.iscoroutinefunction(view.filter_documents_async)

    async def read() -> list[Document]:
        with tenant_scope("t1"):
            await view.write_documents_async([Document(content="async fox")])
            return await view.bm25_search_async("fox", top_k=10)

    found = asyncio.run(read())
    assert [d.content for d in found] == ["async fox"]


def test_filters_are_still_validated_and_invalid_tenants_refused(shared: InMemoryDocumentStore) -> None:
    view = TenantScopedStore(shared)
    with tenant_scope("t1"), pytest.raises(FilterError, match="unknown operator"):
        view.filter_documents({"field": "meta.x", "operator": "between", "value": 1})
    for bad in ("", "a::b", "../x", "a b"):
        with pytest.raises(TenantScopeError, match="Invalid tenant name"), tenant_scope(bad):
            pass


def test_id_operators_match_within_the_tenant(shared: InMemoryDocumentStore) -> None:
    view = TenantScopedStore(shared)
    with tenant_scope("t_1"):  # "_" is a LIKE wildcard: the prefix must be matched literally
        view.write_documents([Document(id="abc-1", content="x"), Document(id="xyz-2", content="y")])
        assert [
            d.id for d in view.filter_documents({"field": "id", "operator": "like", "value": "abc%"})
        ] == ["abc-1"]
        assert [
            d.id for d in view.filter_documents({"field": "id", "operator": "contains", "value": "z-"})
        ] == ["xyz-2"]
        assert len(view.filter_documents({"field": "id", "operator": "contains", "value": "::"})) == 0
        assert [
            d.id for d in view.filter_documents({"field": "id", "operator": "in", "value": ["xyz-2", "d1"]})
        ] == ["xyz-2"]
        assert {d.id for d in view.filter_documents({"field": "id", "operator": "!=", "value": "abc-1"})} == {
            "xyz-2"
        }

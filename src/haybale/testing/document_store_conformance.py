"""The conformance suite every document store must pass.

Usage (in a test module)::

    import pytest
    from haybale.testing import DocumentStoreConformance

    class TestMyStore(DocumentStoreConformance):
        @pytest.fixture
        def store(self):
            return MyStore(embedding_dim=4)        # an EMPTY store accepting 4-dimensional embeddings

The ``store`` fixture must return a fresh, empty store for each test (it may ``yield`` and clean up). Search
tests run only when the store implements :class:`~haybale.stores.BM25SearchStore` /
:class:`~haybale.stores.EmbeddingSearchStore`; they use unit-length vectors, so cosine, dot product and L2
rank them the same way.

Contract checked here beyond the protocol's docstrings:

* ``write_documents``: NONE behaves as FAIL -- a duplicate (in the store *or twice in the batch*) raises
  :class:`~haybale.errors.DuplicateDocumentError` and nothing of the batch is written. SKIP keeps the stored
  document (and the first of in-batch duplicates) and returns how many were newly written; OVERWRITE replaces
  (the last in-batch duplicate wins) and returns how many documents were written. A non-Document in the batch
  raises (TypeError, ValueError or DocumentStoreError) and nothing is written.
* ``update_by_filter`` merges ``meta`` shallowly (top-level keys are replaced) and keeps ids, content and
  embeddings.
* ``replace_documents`` is atomic: a duplicate id inside the new set, an invalid document or a malformed
  filter raises and leaves the previous documents exactly as they were.
* Searches return only documents that match (BM25: at least one query term); ``top_k=0`` returns ``[]``,
  a negative ``top_k`` raises ValueError or DocumentStoreError, and filters apply *before* ranking.
* Malformed filters raise :class:`~haybale.errors.FilterError` from every method taking filters.

Filter expectations are hard-coded in :mod:`haybale.testing.filter_cases` (computed by hand).
"""

from __future__ import annotations

import inspect
import threading
from typing import Any, cast

import pytest

from haybale.dataclasses import ByteStream, Document
from haybale.errors import DocumentStoreError, DuplicateDocumentError, FilterError
from haybale.stores.protocol import BM25SearchStore, DocumentStore, DuplicatePolicy, EmbeddingSearchStore
from haybale.stores.tenant_scope import TenantScopedStore
from haybale.testing.filter_cases import FILTER_CASES, INVALID_FILTERS, LONG_IN_CASES, filter_corpus

__all__ = ["DocumentStoreConformance"]

_BAD_ARGUMENT = (ValueError, DocumentStoreError)
_BAD_DOCUMENT = (TypeError, ValueError, DocumentStoreError)


def _ids(documents: list[Document]) -> set[str]:
    return {doc.id for doc in documents}


def _by_id(documents: list[Document]) -> dict[str, Document]:
    return {doc.id: doc for doc in documents}


def _sourced(source: str, count: int, version: int = 0) -> list[Document]:
    return [
        Document(content=f"{source} chunk {i} version {version}", meta={"source": source, "version": version})
        for i in range(count)
    ]


def _bm25_corpus() -> list[Document]:
    return [
        Document(id="b1", content="apple apple apple banana", meta={"group": "x"}),
        Document(id="b2", content="apple cherry", meta={"group": "y"}),
        Document(id="b3", content="banana cherry date", meta={"group": "x"}),
        Document(id="b4", content="elderberry fig grape", meta={"group": "y"}),
        Document(id="b5", content="naïve café 東京", meta={"group": "z"}),
    ]


def _embedding_corpus() -> list[Document]:
    return [
        Document(id="e1", content="one", embedding=[1.0, 0.0, 0.0, 0.0], meta={"group": "near"}),
        Document(id="e2", content="two", embedding=[0.8, 0.6, 0.0, 0.0], meta={"group": "near"}),
        Document(id="e3", content="three", embedding=[0.6, 0.8, 0.0, 0.0], meta={"group": "far"}),
        Document(id="e4", content="four", embedding=[0.0, 0.0, 1.0, 0.0], meta={"group": "far"}),
        Document(id="e5", content="no embedding", meta={"group": "far"}),
    ]


class DocumentStoreConformance:
    """Subclass as ``Test*`` and provide a ``store`` fixture returning an empty store (see the module doc)."""

    # ----------------------------------------------------------------------------------------------- basics
    def test_satisfies_protocol(self, store: Any) -> None:
        assert isinstance(store, DocumentStore)

    def test_empty_store(self, store: Any) -> None:
        assert store.count_documents() == 0
        assert store.filter_documents() == []
        assert store.filter_documents({"field": "meta.year", "operator": "==", "value": 1}) == []
        store.delete_documents(["nope"])
        store.delete_documents([])
        assert store.delete_by_filter({"field": "meta.year", "operator": "==", "value": 1}) == 0
        assert store.update_by_filter({"field": "meta.year", "operator": "==", "value": 1}, {"a": 1}) == 0
        assert tuple(store.replace_documents({"source": "a"}, [])) == (0, 0)
        assert store.write_documents([]) == 0

    def test_write_and_read_round_trip(self, store: Any) -> None:
        doc = Document(
            content="round trip",
            meta={
                "int": 7,
                "float": 2.5,
                "whole_float": 2.0,
                "bool": True,
                "none": None,
                "list": [1, "two", False, None],
                "nested": {"a": {"b": [1.5]}},
                "unicode": "naïve 東京 🎉",
            },
            embedding=[0.5, 0.5, 0.5, 0.5],
            blob=ByteStream(data=b"\x00\x01binary\xff", mime_type="application/octet-stream"),
        )
        assert store.write_documents([doc]) == 1
        (stored,) = store.filter_documents()
        assert stored.id == doc.id
        assert stored.content == doc.content
        assert stored.meta == doc.meta
        assert type(stored.meta["int"]) is int
        assert type(stored.meta["bool"]) is bool
        assert isinstance(stored.meta["whole_float"], float)
        assert stored.embedding == pytest.approx(doc.embedding)
        assert stored.blob is not None
        assert stored.blob.data == doc.blob.data  # type: ignore[union-attr]
        assert stored.blob.mime_type == "application/octet-stream"

    def test_write_returns_number_written(self, store: Any) -> None:
        assert store.write_documents(filter_corpus()) == 6
        assert store.count_documents() == 6
        assert _ids(store.filter_documents()) == {"d1", "d2", "d3", "d4", "d5", "d6"}

    def test_write_rejects_non_documents_and_writes_nothing(self, store: Any) -> None:
        with pytest.raises(_BAD_DOCUMENT):
            store.write_documents([Document(content="ok"), {"content": "a dict, not a Document"}])
        assert store.count_documents() == 0

    # -------------------------------------------------------------------------------- duplicate policies
    @pytest.mark.parametrize("policy", [DuplicatePolicy.NONE, DuplicatePolicy.FAIL])
    def test_duplicate_fails_and_writes_nothing_of_the_batch(
        self, store: Any, policy: DuplicatePolicy
    ) -> None:
        store.write_documents([Document(id="x", content="v1")])
        with pytest.raises(DuplicateDocumentError):
            store.write_documents(
                [Document(id="new", content="new"), Document(id="x", content="v2")], policy=policy
            )
        assert _ids(store.filter_documents()) == {"x"}
        assert store.filter_documents()[0].content == "v1"

    def test_default_policy_fails_on_duplicates(self, store: Any) -> None:
        store.write_documents([Document(id="x", content="v1")])
        with pytest.raises(DuplicateDocumentError):
            store.write_documents([Document(id="x", content="v2")])
        assert store.filter_documents()[0].content == "v1"

    def test_duplicate_inside_one_batch_fails(self, store: Any) -> None:
        with pytest.raises(DuplicateDocumentError):
            store.write_documents(
                [Document(id="y", content="a"), Document(id="x", content="1"), Document(id="x", content="2")],
                policy=DuplicatePolicy.FAIL,
            )
        assert store.count_documents() == 0

    def test_duplicate_skip_keeps_stored(self, store: Any) -> None:
        store.write_documents([Document(id="x", content="v1")])
        written = store.write_documents(
            [Document(id="x", content="v2"), Document(id="new", content="new")], policy=DuplicatePolicy.SKIP
        )
        assert written == 1
        docs = _by_id(store.filter_documents())
        assert set(docs) == {"x", "new"}
        assert docs["x"].content == "v1"

    def test_duplicate_skip_inside_batch_keeps_first(self, store: Any) -> None:
        written = store.write_documents(
            [Document(id="x", content="first"), Document(id="x", content="second")],
            policy=DuplicatePolicy.SKIP,
        )
        assert written == 1
        assert store.filter_documents()[0].content == "first"

    def test_duplicate_overwrite_replaces(self, store: Any) -> None:
        store.write_documents([Document(id="x", content="v1", meta={"old": True})])
        written = store.write_documents(
            [Document(id="x", content="v2", meta={"new": True}), Document(id="new", content="new")],
            policy=DuplicatePolicy.OVERWRITE,
        )
        assert written == 2
        docs = _by_id(store.filter_documents())
        assert docs["x"].content == "v2"
        assert docs["x"].meta == {"new": True}
        assert store.count_documents() == 2

    def test_duplicate_overwrite_inside_batch_keeps_last(self, store: Any) -> None:
        store.write_documents(
            [Document(id="x", content="first"), Document(id="x", content="last")],
            policy=DuplicatePolicy.OVERWRITE,
        )
        assert store.count_documents() == 1
        assert store.filter_documents()[0].content == "last"

    # ----------------------------------------------------------------------------------------- deleting
    def test_delete_documents(self, store: Any) -> None:
        store.write_documents(filter_corpus())
        store.delete_documents(["d1", "d3", "unknown"])
        assert _ids(store.filter_documents()) == {"d2", "d4", "d5", "d6"}
        store.delete_documents([])
        assert store.count_documents() == 4

    def test_delete_by_filter(self, store: Any) -> None:
        store.write_documents(filter_corpus())
        deleted = store.delete_by_filter({"field": "meta.lang", "operator": "in", "value": ["en", "de"]})
        assert deleted == 3
        assert _ids(store.filter_documents()) == {"d3", "d5", "d6"}
        assert store.delete_by_filter({"field": "meta.lang", "operator": "==", "value": "en"}) == 0

    def test_delete_by_filter_with_missing_field_negation(self, store: Any) -> None:
        store.write_documents(filter_corpus())
        assert store.delete_by_filter({"field": "meta.rating", "operator": "!=", "value": None}) == 4
        assert _ids(store.filter_documents()) == {"d3", "d5"}

    def test_delete_by_invalid_filter_deletes_nothing(self, store: Any) -> None:
        store.write_documents(filter_corpus())
        with pytest.raises(FilterError):
            store.delete_by_filter({"field": "meta.lang", "operator": "===", "value": "en"})
        assert store.count_documents() == 6

    # ----------------------------------------------------------------------------------------- updating
    def test_update_by_filter_merges_meta(self, store: Any) -> None:
        store.write_documents(filter_corpus())
        updated = store.update_by_filter(
            {"field": "meta.lang", "operator": "==", "value": "en"}, {"lang": "xx", "reviewed": True}
        )
        assert updated == 2
        docs = _by_id(store.filter_documents())
        assert set(docs) == {"d1", "d2", "d3", "d4", "d5", "d6"}
        assert docs["d1"].meta["lang"] == "xx"
        assert docs["d1"].meta["reviewed"] is True
        assert docs["d1"].meta["author"] == {"name": "Ada", "age": 36}
        assert docs["d1"].content == "The quick brown fox"
        assert docs["d4"].meta["lang"] == "xx"
        assert "reviewed" not in docs["d2"].meta
        assert store.count_documents({"field": "meta.lang", "operator": "==", "value": "en"}) == 0
        assert store.count_documents({"field": "meta.reviewed", "operator": "==", "value": True}) == 2

    def test_update_by_filter_is_shallow_and_keeps_embeddings(self, store: Any) -> None:
        doc = Document(
            id="u", content="u", meta={"author": {"name": "Ada", "age": 36}}, embedding=[0.0, 1, 0, 0]
        )
        store.write_documents([doc])
        assert store.update_by_filter({"id": "u"}, {"author": {"name": "Eve"}}) == 1
        (stored,) = store.filter_documents()
        assert stored.meta == {"author": {"name": "Eve"}}
        assert stored.embedding == pytest.approx([0.0, 1.0, 0.0, 0.0])

    def test_update_by_invalid_filter_changes_nothing(self, store: Any) -> None:
        store.write_documents(filter_corpus())
        with pytest.raises(FilterError):
            store.update_by_filter({"field": "meta.lang", "operator": "in", "value": "en"}, {"lang": "zz"})
        assert store.count_documents({"lang": "zz"}) == 0

    # ---------------------------------------------------------------------------------------- replacing
    def test_replace_documents(self, store: Any) -> None:
        store.write_documents(_sourced("a", 3) + _sourced("b", 2))
        new = _sourced("a", 2, version=1)
        assert tuple(store.replace_documents({"source": "a"}, new)) == (3, 2)
        assert _ids(store.filter_documents({"source": "a"})) == _ids(new)
        assert store.count_documents({"source": "b"}) == 2
        assert store.count_documents() == 4

    def test_replace_keeps_unchanged_ids(self, store: Any) -> None:
        old = _sourced("a", 3)
        store.write_documents(old)
        new = [old[0], *_sourced("a", 1, version=1)]
        assert tuple(store.replace_documents({"source": "a"}, new)) == (3, 2)
        assert _ids(store.filter_documents()) == _ids(new)

    def test_replace_with_empty_set_deletes(self, store: Any) -> None:
        store.write_documents(_sourced("a", 3) + _sourced("b", 2))
        assert tuple(store.replace_documents({"source": "a"}, [])) == (3, 0)
        assert store.count_documents() == 2

    def test_replace_is_atomic_on_duplicate_in_new_set(self, store: Any) -> None:
        old = _sourced("a", 3)
        store.write_documents(old + _sourced("b", 2))
        dup = Document(id="same", content="dup", meta={"source": "a"})
        with pytest.raises(DuplicateDocumentError):
            store.replace_documents({"source": "a"}, [*_sourced("a", 2, version=1), dup, dup])
        assert _ids(store.filter_documents({"source": "a"})) == _ids(old)
        assert store.count_documents() == 5

    def test_replace_is_atomic_on_invalid_document(self, store: Any) -> None:
        old = _sourced("a", 3)
        store.write_documents(old)
        with pytest.raises(_BAD_DOCUMENT):
            store.replace_documents({"source": "a"}, [*_sourced("a", 2, version=1), "not a document"])
        assert _ids(store.filter_documents()) == _ids(old)

    def test_replace_with_invalid_filter_changes_nothing(self, store: Any) -> None:
        old = _sourced("a", 3)
        store.write_documents(old)
        with pytest.raises(FilterError):
            store.replace_documents({"operator": "AND", "conditions": []}, _sourced("a", 1, version=1))
        assert _ids(store.filter_documents()) == _ids(old)

    # ------------------------------------------------------------------------------------------ filters
    @pytest.mark.parametrize(
        "case", FILTER_CASES + LONG_IN_CASES, ids=[case.name for case in FILTER_CASES + LONG_IN_CASES]
    )
    def test_filter_case(self, store: Any, case: Any) -> None:
        store.write_documents(filter_corpus())
        assert _ids(store.filter_documents(case.filters)) == set(case.expected)
        assert store.count_documents(case.filters) == len(case.expected)

    @pytest.mark.parametrize("filters", list(INVALID_FILTERS.values()), ids=list(INVALID_FILTERS))
    def test_invalid_filter_raises(self, store: Any, filters: Any) -> None:
        store.write_documents(filter_corpus())
        with pytest.raises(FilterError):
            store.filter_documents(filters)
        with pytest.raises(FilterError):
            store.count_documents(filters)

    def test_empty_filter_means_all(self, store: Any) -> None:
        store.write_documents(filter_corpus())
        assert store.count_documents({}) == 6
        assert len(store.filter_documents(None)) == 6

    # ------------------------------------------------------------------------------- large and unicode
    def test_large_document(self, store: Any) -> None:
        content = ("lorem ipsum dolor sit amet " * 40_000)[:1_000_000] + " needle"
        doc = Document(content=content, meta={"size": "1MB"})
        store.write_documents([doc])
        (stored,) = store.filter_documents({"size": "1MB"})
        assert stored.content == content
        if isinstance(store, BM25SearchStore):
            assert [d.id for d in store.bm25_search("needle", top_k=3)] == [doc.id]

    def test_unicode_documents(self, store: Any) -> None:
        texts = {
            "emoji": "🎉 party 👩‍👩‍👧 family",
            "cjk": "東京は日本の首都です",
            "rtl": "مرحبا بالعالم",
            "combining": "e\u0301le\u0300ve",
            "zero_width": "a\u200bb",
            "greek": "Ἀθῆναι",
        }
        docs = [Document(content=text, meta={"kind": kind, "ключ": text}) for kind, text in texts.items()]
        store.write_documents(docs)
        stored = _by_id(store.filter_documents())
        for doc in docs:
            assert stored[doc.id].content == doc.content
            assert stored[doc.id].meta == doc.meta
        assert _ids(store.filter_documents({"meta.ключ": "مرحبا بالعالم"})) == {docs[2].id}
        assert _ids(store.filter_documents({"field": "content", "operator": "like", "value": "%首都%"})) == {
            docs[1].id
        }

    def test_many_documents(self, store: Any) -> None:
        docs = [
            Document(content=f"document number {i}", meta={"i": i, "even": i % 2 == 0}) for i in range(2000)
        ]
        assert store.write_documents(docs) == 2000
        assert store.count_documents() == 2000
        assert store.count_documents({"even": True}) == 1000
        assert store.count_documents({"field": "meta.i", "operator": ">=", "value": 1990}) == 10

    # ------------------------------------------------------------------------------------- concurrency
    def test_concurrent_writers_and_readers(self, store: Any) -> None:
        writers, batches, batch_size = 4, 8, 10
        done = threading.Event()
        errors: list[BaseException] = []
        observed: list[int] = []

        def write(worker: int) -> None:
            try:
                for batch in range(batches):
                    store.write_documents(
                        [
                            Document(content=f"w{worker} b{batch} d{i}", meta={"worker": worker})
                            for i in range(batch_size)
                        ]
                    )
            except BaseException as error:  # collected and re-raised in the main thread
                errors.append(error)

        def read() -> None:
            try:
                while not done.is_set():
                    observed.append(store.count_documents())
                    store.filter_documents({"field": "meta.worker", "operator": "==", "value": 0})
            except BaseException as error:
                errors.append(error)

        readers = [threading.Thread(target=read) for _ in range(2)]
        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for thread in readers + threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        done.set()
        for thread in readers:
            thread.join(timeout=120)
        assert not errors, errors
        assert store.count_documents() == writers * batches * batch_size
        # batches are atomic: a reader never sees part of one
        assert all(count % batch_size == 0 for count in observed)

    def test_concurrent_replace_of_one_source_never_mixes_versions(self, store: Any) -> None:
        store.write_documents(_sourced("s", 5, version=0) + _sourced("other", 2))
        errors: list[BaseException] = []
        snapshots: list[set[int]] = []
        done = threading.Event()

        def replace(worker: int) -> None:
            try:
                for round_ in range(4):
                    version = 1 + worker * 10 + round_
                    store.replace_documents({"source": "s"}, _sourced("s", 5, version=version))
            except BaseException as error:
                errors.append(error)

        def read() -> None:
            try:
                while not done.is_set():
                    docs = store.filter_documents({"source": "s"})
                    snapshots.append({doc.meta["version"] for doc in docs})
                    assert len(docs) == 5, len(docs)
            except BaseException as error:
                errors.append(error)

        reader = threading.Thread(target=read)
        threads = [threading.Thread(target=replace, args=(w,)) for w in range(3)]
        reader.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        done.set()
        reader.join(timeout=120)
        assert not errors, errors
        final = store.filter_documents({"source": "s"})
        assert len(final) == 5
        assert len({doc.meta["version"] for doc in final}) == 1
        assert all(len(versions) == 1 for versions in snapshots)
        assert store.count_documents({"source": "other"}) == 2

    # ------------------------------------------------------------------------------------------- BM25
    def _bm25_store(self, store: Any) -> Any:
        if not isinstance(store, BM25SearchStore):
            pytest.skip(f"{type(store).__name__} does not offer bm25_search")
        cast(DocumentStore, store).write_documents(_bm25_corpus())
        return store

    def test_bm25_ranks_by_term_frequency(self, store: Any) -> None:
        store = self._bm25_store(store)
        results = store.bm25_search("apple", top_k=10)
        assert [doc.id for doc in results] == ["b1", "b2"]
        assert all(doc.score is not None for doc in results)
        assert results[0].score > results[1].score
        assert results[0].content == "apple apple apple banana"
        assert results[0].meta == {"group": "x"}

    def test_bm25_filters_apply_before_ranking(self, store: Any) -> None:
        store = self._bm25_store(store)
        results = store.bm25_search("apple cherry", top_k=1, filters={"group": "x"})
        assert [doc.id for doc in results] == ["b1"]
        results = store.bm25_search(
            "apple", top_k=10, filters={"field": "meta.group", "operator": "==", "value": "y"}
        )
        assert [doc.id for doc in results] == ["b2"]

    def test_bm25_top_k_bounds(self, store: Any) -> None:
        store = self._bm25_store(store)
        assert store.bm25_search("apple", top_k=0) == []
        assert [doc.id for doc in store.bm25_search("apple", top_k=1)] == ["b1"]
        assert len(store.bm25_search("apple banana cherry", top_k=1000)) == 3
        with pytest.raises(_BAD_ARGUMENT):
            store.bm25_search("apple", top_k=-1)

    def test_bm25_no_match_and_empty_query(self, store: Any) -> None:
        store = self._bm25_store(store)
        assert store.bm25_search("zzzunknownzzz", top_k=5) == []
        assert store.bm25_search("", top_k=5) == []

    def test_bm25_unicode_query(self, store: Any) -> None:
        store = self._bm25_store(store)
        assert [doc.id for doc in store.bm25_search("café", top_k=5)] == ["b5"]

    def test_bm25_scale_score(self, store: Any) -> None:
        store = self._bm25_store(store)
        raw = store.bm25_search("apple", top_k=10)
        scaled = store.bm25_search("apple", top_k=10, scale_score=True)
        assert [d.id for d in scaled] == [d.id for d in raw]
        assert all(0.0 <= d.score <= 1.0 for d in scaled)
        scaled_scores = [d.score for d in scaled]
        assert scaled_scores == sorted(scaled_scores, reverse=True)  # the mapping is monotonic
        assert [d.score for d in raw] != scaled_scores  # raw BM25 scores of these matches exceed 1

    def test_bm25_invalid_filter(self, store: Any) -> None:
        store = self._bm25_store(store)
        with pytest.raises(FilterError):
            store.bm25_search("apple", filters={"field": "meta.group", "operator": "is", "value": "x"})

    def _corpus_filtered_store(self, store: Any) -> Any:
        inner = store.inner if isinstance(store, TenantScopedStore) else store
        search = getattr(inner, "bm25_search", None)
        if search is None or "corpus_filters" not in inspect.signature(search).parameters:
            pytest.skip(f"{type(inner).__name__}.bm25_search takes no corpus_filters")
        return self._bm25_store(store)

    def test_bm25_corpus_filters_score_as_a_store_holding_only_those_documents(self, store: Any) -> None:
        store = self._corpus_filtered_store(store)
        query = "apple banana cherry"
        whole = {d.id: d.score for d in store.bm25_search(query, top_k=10)}
        scoped = store.bm25_search(query, top_k=10, corpus_filters={"group": "x"})
        assert [d.id for d in scoped] == ["b1", "b3"]  # b2 matches the query but is not in the corpus
        assert scoped[0].score != pytest.approx(whole["b1"])  # statistics are the corpus's, not the store's
        store.delete_by_filter({"field": "meta.group", "operator": "in", "value": ["y", "z"]})
        alone = store.bm25_search(query, top_k=10)
        assert [d.id for d in alone] == [d.id for d in scoped]
        assert [d.score for d in scoped] == pytest.approx([d.score for d in alone], rel=1e-6)

    def test_bm25_corpus_filters_and_filters_both_apply(self, store: Any) -> None:
        store = self._corpus_filtered_store(store)
        corpus = {"field": "meta.group", "operator": "in", "value": ["x", "y"]}
        both = store.bm25_search("apple cherry", top_k=10, filters={"group": "y"}, corpus_filters=corpus)
        assert [d.id for d in both] == ["b2"]
        unfiltered = {d.id: d.score for d in store.bm25_search("apple cherry", corpus_filters=corpus)}
        assert both[0].score == pytest.approx(unfiltered["b2"], rel=1e-6)  # filters do not change statistics
        assert store.bm25_search("apple", filters={"group": "y"}, corpus_filters={"group": "z"}) == []
        assert store.bm25_search("apple", top_k=10, corpus_filters={"group": "nobody"}) == []
        scaled = store.bm25_search("apple", top_k=10, corpus_filters={"group": "x"}, scale_score=True)
        assert [d.id for d in scaled] == ["b1"]
        assert 0.0 < scaled[0].score < 1.0

    def test_bm25_malformed_corpus_filters(self, store: Any) -> None:
        store = self._corpus_filtered_store(store)
        with pytest.raises(FilterError):
            store.bm25_search("apple", corpus_filters={"field": "meta.group", "operator": "is", "value": "x"})

    def test_bm25_empty_store(self, store: Any) -> None:
        if not isinstance(store, BM25SearchStore):
            pytest.skip(f"{type(store).__name__} does not offer bm25_search")
        assert store.bm25_search("apple", top_k=5) == []

    def test_bm25_sees_writes_deletes_and_updates(self, store: Any) -> None:
        store = self._bm25_store(store)
        store.delete_documents(["b1"])
        assert [d.id for d in store.bm25_search("apple", top_k=5)] == ["b2"]
        store.write_documents([Document(id="b6", content="apple apple apple apple", meta={"group": "z"})])
        assert [d.id for d in store.bm25_search("apple", top_k=5)] == ["b6", "b2"]
        store.update_by_filter({"id": "b2"}, {"group": "z"})
        assert [d.id for d in store.bm25_search("apple", top_k=5, filters={"group": "z"})] == ["b6", "b2"]
        store.replace_documents({"group": "z"}, [])
        assert store.bm25_search("apple", top_k=5) == []

    # -------------------------------------------------------------------------------------- embeddings
    def _embedding_store(self, store: Any) -> Any:
        if not isinstance(store, EmbeddingSearchStore):
            pytest.skip(f"{type(store).__name__} does not offer embedding_search")
        cast(DocumentStore, store).write_documents(_embedding_corpus())
        return store

    def test_embedding_search_ranks_by_similarity(self, store: Any) -> None:
        store = self._embedding_store(store)
        results = store.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=3)
        assert [doc.id for doc in results] == ["e1", "e2", "e3"]
        scores = [doc.score for doc in results]
        assert all(score is not None for score in scores)
        assert scores == sorted(scores, reverse=True)
        assert results[0].content == "one"
        assert results[0].embedding == pytest.approx([1.0, 0.0, 0.0, 0.0])

    def test_embedding_search_filters_apply_before_ranking(self, store: Any) -> None:
        store = self._embedding_store(store)
        results = store.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=1, filters={"group": "far"})
        assert [doc.id for doc in results] == ["e3"]
        results = store.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=10, filters={"id": ["e2", "e4"]})
        assert [doc.id for doc in results] == ["e2", "e4"]

    def test_embedding_search_top_k_bounds(self, store: Any) -> None:
        store = self._embedding_store(store)
        assert store.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=0) == []
        assert _ids(store.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=100)) == {"e1", "e2", "e3", "e4"}
        with pytest.raises(_BAD_ARGUMENT):
            store.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=-1)

    def test_embedding_search_wrong_dimension(self, store: Any) -> None:
        store = self._embedding_store(store)
        with pytest.raises(_BAD_ARGUMENT):
            store.embedding_search([1.0, 0.0], top_k=3)

    def test_embedding_search_empty_store(self, store: Any) -> None:
        if not isinstance(store, EmbeddingSearchStore):
            pytest.skip(f"{type(store).__name__} does not offer embedding_search")
        assert store.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=3) == []

    def test_embedding_search_sees_writes_deletes_and_replace(self, store: Any) -> None:
        store = self._embedding_store(store)
        store.delete_documents(["e1"])
        assert [d.id for d in store.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=1)] == ["e2"]
        store.write_documents([Document(id="e9", content="nine", embedding=[0.99, 0.14, 0.0, 0.0])])
        assert [d.id for d in store.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=1)] == ["e9"]
        store.replace_documents({"id": "e9"}, [])
        store.delete_by_filter({"group": "near"})
        assert [d.id for d in store.embedding_search([1.0, 0.0, 0.0, 0.0], top_k=5)] == ["e3", "e4"]

    # --------------------------------------------------------------------------------- serialization
    def test_to_dict_from_dict_round_trip(self, store: Any) -> None:
        data = store.to_dict()
        assert set(data) >= {"type", "init_parameters"}
        restored = type(store).from_dict(data)
        assert restored.to_dict() == data

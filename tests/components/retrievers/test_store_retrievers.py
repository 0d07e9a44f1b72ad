"""BM25Retriever and EmbeddingRetriever: generic over the store protocol, filters, top_k, scale_score,
run_async, and round trips through to_dict and through YAML inside a Pipeline."""

from __future__ import annotations

from typing import Any

import pytest

from haybale.components.retrievers import BM25Retriever, EmbeddingRetriever, FilterPolicy
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import Document
from haybale.errors import ComponentError, DeserializationError
from haybale.stores import InMemoryDocumentStore
from haybale.stores.text_analysis import Analyzer


def _store() -> InMemoryDocumentStore:
    store = InMemoryDocumentStore(analyzer=Analyzer(stopwords=["qqq"]), bm25_k1=1.1)
    store.write_documents(
        [
            Document(
                id="a", content="red apple pie", meta={"lang": "en", "year": 2020}, embedding=[1.0, 0.0]
            ),
            Document(id="b", content="green apple", meta={"lang": "en", "year": 2023}, embedding=[0.8, 0.6]),
            Document(
                id="c", content="apple strudel", meta={"lang": "de", "year": 2024}, embedding=[0.0, 1.0]
            ),
            Document(id="d", content="pear", meta={"lang": "en", "year": 2024}, embedding=[-1.0, 0.0]),
        ]
    )
    return store


def test_bm25_retriever_returns_ranked_documents_and_respects_top_k() -> None:
    retriever = BM25Retriever(_store(), top_k=2)
    docs = retriever.run(query="apple pie")["documents"]
    assert [d.id for d in docs][:1] == ["a"] and len(docs) == 2
    assert len(retriever.run(query="apple", top_k=3)["documents"]) == 3
    assert retriever.run(query="apple", top_k=0)["documents"] == []
    assert retriever.run(query="nothing matches")["documents"] == []


def test_bm25_retriever_scale_score_init_and_run_override() -> None:
    scaled = BM25Retriever(_store(), scale_score=True).run(query="apple")["documents"]
    assert all(0.5 < (d.score or 0) < 1 for d in scaled)
    raw = BM25Retriever(_store(), scale_score=True).run(query="apple", scale_score=False)["documents"]
    assert all((d.score or 0) > 0 for d in raw) and [d.id for d in raw] == [d.id for d in scaled]


def test_filter_policy_replace_and_merge() -> None:
    store = _store()
    english = {"field": "meta.lang", "operator": "==", "value": "en"}
    recent = {"field": "meta.year", "operator": ">=", "value": 2023}
    replace = BM25Retriever(store, filters=english)
    assert {d.id for d in replace.run(query="apple")["documents"]} == {"a", "b"}
    assert {d.id for d in replace.run(query="apple", filters=recent)["documents"]} == {"b", "c"}
    merge = BM25Retriever(store, filters=english, filter_policy="merge")
    assert merge.filter_policy is FilterPolicy.MERGE
    assert {d.id for d in merge.run(query="apple", filters=recent)["documents"]} == {"b"}
    assert {d.id for d in merge.run(query="apple")["documents"]} == {"a", "b"}


def test_embedding_retriever_ranks_by_similarity_with_filters() -> None:
    retriever = EmbeddingRetriever(_store(), top_k=3)
    docs = retriever.run(query_embedding=[1.0, 0.0])["documents"]
    assert [d.id for d in docs] == ["a", "b", "c"]
    assert docs[0].score == pytest.approx(1.0)
    filtered = retriever.run(query_embedding=[1.0, 0.0], filters={"lang": "de"})["documents"]
    assert [d.id for d in filtered] == ["c"]
    scaled = EmbeddingRetriever(_store(), scale_score=True).run(query_embedding=[1.0, 0.0])["documents"]
    assert scaled[-1].id == "d" and scaled[-1].score == pytest.approx(0.0, abs=1e-6)


async def test_run_async_matches_run() -> None:
    store = _store()
    bm25 = BM25Retriever(store, top_k=3)
    dense = EmbeddingRetriever(store, top_k=3)
    assert [d.id for d in (await bm25.run_async(query="apple"))["documents"]] == [
        d.id for d in bm25.run(query="apple")["documents"]
    ]
    assert [d.id for d in (await dense.run_async(query_embedding=[0.0, 1.0]))["documents"]] == [
        d.id for d in dense.run(query_embedding=[0.0, 1.0])["documents"]
    ]


class CrudOnlyStore:
    """A store with CRUD but no search capability (the protocol allows that)."""

    def write_documents(self, documents: list[Document], policy: Any = None) -> int:
        return len(documents)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tests.CrudOnlyStore", "init_parameters": {}}


@pytest.mark.parametrize(
    ("cls", "missing"), [(BM25Retriever, "bm25_search"), (EmbeddingRetriever, "embedding_search")]
)
def test_store_without_the_capability_is_refused_at_init(cls: Any, missing: str) -> None:
    with pytest.raises(ComponentError, match=missing) as info:
        cls(CrudOnlyStore())
    assert "CrudOnlyStore" in str(info.value)
    with pytest.raises(ComponentError, match="class"):
        cls(InMemoryDocumentStore)


@pytest.mark.parametrize("cls", [BM25Retriever, EmbeddingRetriever])
def test_bad_settings_are_refused(cls: Any) -> None:
    with pytest.raises(ComponentError, match="top_k"):
        cls(_store(), top_k=-1)
    with pytest.raises(ComponentError, match="filter_policy"):
        cls(_store(), filter_policy="union")


@pytest.mark.parametrize("cls", [BM25Retriever, EmbeddingRetriever])
def test_to_dict_round_trip(cls: Any) -> None:
    retriever = cls(_store(), filters={"lang": "en"}, top_k=4, scale_score=True, filter_policy="merge")
    data = retriever.to_dict()
    assert data["init_parameters"]["document_store"] == _store().to_dict()
    assert data["init_parameters"]["filter_policy"] == "merge"
    again = cls.from_dict(data)
    assert again.to_dict() == data
    assert isinstance(again.document_store, InMemoryDocumentStore)


def test_from_dict_refuses_a_foreign_store_type() -> None:
    data = BM25Retriever(_store()).to_dict()
    data["init_parameters"]["document_store"] = {
        "type": "subprocess.Popen",
        "init_parameters": {"args": "ls"},
    }
    with pytest.raises(DeserializationError, match="not allow-listed"):
        BM25Retriever.from_dict(data)


def test_retrievers_round_trip_through_yaml_inside_a_pipeline() -> None:
    pipeline = Pipeline()
    pipeline.add_component("bm25", BM25Retriever(InMemoryDocumentStore(bm25_variant="bm25l"), top_k=3))
    pipeline.add_component(
        "dense", EmbeddingRetriever(InMemoryDocumentStore(embedding_similarity_function="dot_product"))
    )
    text = pipeline.dumps()
    loaded = Pipeline.loads(text)
    assert loaded.dumps() == text
    assert loaded.get_component("bm25").document_store.bm25_variant == "bm25l"
    loaded.get_component("bm25").document_store.write_documents([Document(content="hello world")])
    result = loaded.run({"bm25": {"query": "hello"}, "dense": {"query_embedding": [1.0, 0.0]}})
    assert [d.content for d in result["bm25"]["documents"]] == ["hello world"]
    assert result["dense"]["documents"] == []

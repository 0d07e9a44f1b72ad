"""DocumentWriter: writes through the store protocol with a duplicate policy; run_async; round trips."""

from __future__ import annotations

import pytest

from haybale.components.retrievers import BM25Retriever
from haybale.components.writers import DocumentWriter
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import Document
from haybale.errors import ComponentError, DuplicateDocumentError, PipelineRuntimeError
from haybale.stores import DuplicatePolicy, InMemoryDocumentStore


def test_writes_and_reports_count() -> None:
    store = InMemoryDocumentStore()
    writer = DocumentWriter(store)
    docs = [Document(content="one"), Document(content="two")]
    assert writer.run(documents=docs) == {"documents_written": 2}
    assert store.count_documents() == 2


def test_duplicate_policies() -> None:
    store = InMemoryDocumentStore()
    docs = [Document(content="one"), Document(content="two")]
    DocumentWriter(store).run(documents=docs)
    with pytest.raises(DuplicateDocumentError):
        DocumentWriter(store).run(documents=[*docs, Document(content="three")])
    assert store.count_documents() == 2
    assert DocumentWriter(store, policy="skip").run(documents=[*docs, Document(content="three")]) == {
        "documents_written": 1
    }
    assert DocumentWriter(store).run(documents=docs, policy=DuplicatePolicy.OVERWRITE) == {
        "documents_written": 2
    }
    assert store.count_documents() == 3


async def test_run_async() -> None:
    store = InMemoryDocumentStore()
    result = await DocumentWriter(store).run_async(documents=[Document(content="x")])
    assert result == {"documents_written": 1}
    assert store.count_documents() == 1


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ComponentError, match="write_documents"):
        DocumentWriter(object())
    with pytest.raises(ComponentError, match="duplicate policy"):
        DocumentWriter(InMemoryDocumentStore(), policy="ignore")


def test_round_trip_and_indexing_then_query_pipelines() -> None:
    store = InMemoryDocumentStore()
    writer = DocumentWriter(store, policy=DuplicatePolicy.SKIP)
    data = writer.to_dict()
    assert data["init_parameters"] == {"document_store": store.to_dict(), "policy": "skip"}
    assert DocumentWriter.from_dict(data).to_dict() == data

    indexing = Pipeline()
    indexing.add_component("writer", writer)
    text = indexing.dumps()
    assert Pipeline.loads(text).dumps() == text
    docs = [Document(content="haybale stores documents"), Document(content="needles in haystacks")]
    assert indexing.run({"writer": {"documents": docs}}) == {"writer": {"documents_written": 2}}

    query = Pipeline()
    query.add_component("retriever", BM25Retriever(store, top_k=1))
    found = query.run({"retriever": {"query": "needles"}})["retriever"]["documents"]
    assert [d.content for d in found] == ["needles in haystacks"]


def test_pipeline_surfaces_duplicate_error() -> None:
    store = InMemoryDocumentStore()
    pipeline = Pipeline()
    pipeline.add_component("writer", DocumentWriter(store))
    doc = Document(content="same")
    pipeline.run({"writer": {"documents": [doc]}})
    with pytest.raises(PipelineRuntimeError) as info:
        pipeline.run({"writer": {"documents": [doc]}})
    assert isinstance(info.value.__cause__, DuplicateDocumentError)

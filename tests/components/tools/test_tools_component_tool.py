"""ComponentTool: components and pipelines as tools, invoked through ToolInvoker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from haybale.components.retrievers import BM25Retriever
from haybale.components.tools import ComponentTool, ToolInvoker
from haybale.core.component import component
from haybale.core.pipeline import Pipeline
from haybale.core.serialization import allowed_modules_scope
from haybale.dataclasses import ChatMessage, Document, ToolCall
from haybale.errors import ComponentError
from haybale.stores import InMemoryDocumentStore


@pytest.fixture
def store() -> InMemoryDocumentStore:
    docs = [
        Document(content="Bees make honey from nectar.", meta={"source": "bees.txt"}),
        Document(content="Rust is a systems programming language.", meta={"source": "rust.txt"}),
    ]
    store = InMemoryDocumentStore()
    store.write_documents(docs)
    return store


@component
class WordCounter:
    """Counts the words of documents.

    More details that the model does not need.
    """

    @component.output_types(count=int)
    def run(self, documents: list[Document], minimum_length: int = 1) -> dict[str, Any]:
        words = [w for d in documents for w in (d.content or "").split() if len(w) >= minimum_length]
        return {"count": len(words)}


def test_schema_from_input_sockets(store: InMemoryDocumentStore) -> None:
    retriever_tool = ComponentTool(BM25Retriever(document_store=store), description="Search the notes.")
    assert retriever_tool.name == "bm25_retriever"
    props = retriever_tool.parameters["properties"]
    assert props["query"] == {"type": "string"}
    assert props["top_k"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert retriever_tool.parameters["required"] == ["query"]

    counter = ComponentTool(WordCounter())
    assert counter.name == "word_counter"
    assert counter.description == "Counts the words of documents."
    assert counter.parameters["properties"]["documents"]["type"] == "array"


def test_invoked_through_tool_invoker(store: InMemoryDocumentStore) -> None:
    retriever_tool = ComponentTool(BM25Retriever(document_store=store), name="search_notes")
    counter = ComponentTool(WordCounter())
    invoker = ToolInvoker(tools=[retriever_tool, counter], convert_result_to_json_string=True)
    calls = [
        ToolCall("search_notes", {"query": "honey bees", "top_k": 1}, id="s"),
        ToolCall("word_counter", {"documents": [{"content": "one two three"}, {"content": "four"}]}, id="c"),
    ]
    messages = invoker.run([ChatMessage.from_assistant(tool_calls=calls)])["tool_messages"]
    search = json.loads(messages[0].tool_call_result.result)
    assert [d["meta"]["source"] for d in search["documents"]] == ["bees.txt"]
    assert json.loads(messages[1].tool_call_result.result) == {"count": 4}


def test_a_pipeline_as_a_tool(store: InMemoryDocumentStore) -> None:
    pipeline = Pipeline(metadata={"description": "Search the notes and count the words found."})
    pipeline.add_component("retriever", BM25Retriever(document_store=store, top_k=1))
    pipeline.add_component("counter", WordCounter())
    pipeline.connect("retriever.documents", "counter.documents")
    pipeline_tool = ComponentTool(pipeline, name="count_words_found")
    assert pipeline_tool.description == "Search the notes and count the words found."
    assert pipeline_tool.parameters["required"] == ["query"]
    assert "documents" not in pipeline_tool.parameters["properties"]  # connected inside the pipeline
    assert pipeline_tool.invoke(query="rust language") == {"counter": {"count": 6}}


def test_round_trip(store: InMemoryDocumentStore) -> None:
    original = ComponentTool(BM25Retriever(document_store=store, top_k=3), name="search", description="d")
    data = original.to_dict()
    loaded = ComponentTool.from_dict(data)
    assert loaded.to_dict() == data
    assert loaded.parameters == original.parameters

    with allowed_modules_scope([__name__]):
        pipeline = Pipeline()
        pipeline.add_component("counter", WordCounter())
        pipeline_tool = ComponentTool(pipeline, name="p")
        assert ComponentTool.from_dict(pipeline_tool.to_dict()).to_dict() == pipeline_tool.to_dict()


def test_a_failing_component_is_a_tool_error(store: InMemoryDocumentStore) -> None:
    retriever_tool = ComponentTool(BM25Retriever(document_store=store), name="search")
    result = ToolInvoker(tools=[retriever_tool]).run(
        [ChatMessage.from_assistant(tool_calls=[ToolCall("search", {"query": "bees", "top_k": -5})])]
    )
    message = result["tool_messages"][0].tool_call_result
    assert message is not None and message.error and "top_k" in message.result


def test_non_components_are_rejected() -> None:
    with pytest.raises(ComponentError, match="@component class or a Pipeline"):
        ComponentTool(object())
    with pytest.raises(ComponentError, match="@component class or a Pipeline"):
        ComponentTool(WordCounter)

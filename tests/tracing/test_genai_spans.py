"""Span kinds, GenAI attributes, retrieved documents, tool-call and agent-step spans, under a real
OpenTelemetry SDK with an in-memory exporter, and a chat model behind a real OpenAI-compatible HTTP server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from haybale import Document, Pipeline, component
from haybale.components.agents import Agent
from haybale.components.builders import AnswerBuilder, ChatPromptBuilder, PromptBuilder
from haybale.components.embedders import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)
from haybale.components.joiners import DocumentJoiner
from haybale.components.rankers import LostInTheMiddleRanker, MetaFieldRanker
from haybale.components.retrievers import BM25Retriever, EmbeddingRetriever
from haybale.components.tools import ToolInvoker, tool
from haybale.dataclasses import ChatMessage, ToolCall
from haybale.stores import InMemoryDocumentStore
from haybale.tracing import InMemoryTracer, OpenTelemetryTracer, detect_span_kind, enable_tracing

TEMPLATE = (
    '{% message role="user" %}Sources:{% for d in documents %} [{{ loop.index }}] {{ d.content }}{% endfor %}'
    "\nQuestion: {{ query }}{% endmessage %}"
)


def _rag(generator: Any) -> Pipeline:
    store = InMemoryDocumentStore()
    store.write_documents(
        [
            Document(content="Hay is dried grass fed to cattle.", id="hay"),
            Document(content="Straw is the stalk left after the grain harvest.", id="straw"),
        ]
    )
    pipeline = Pipeline()
    pipeline.add_component("retriever", BM25Retriever(store, top_k=2))
    pipeline.add_component("prompt_builder", ChatPromptBuilder(template=TEMPLATE))
    pipeline.add_component("llm", generator)
    pipeline.add_component("answer_builder", AnswerBuilder())
    pipeline.connect("retriever.documents", "prompt_builder.documents")
    pipeline.connect("prompt_builder.prompt", "llm.messages")
    pipeline.connect("llm.replies", "answer_builder.replies")
    return pipeline


def _by_component(spans: list[Any]) -> dict[str, Any]:
    return {
        dict(s.attributes)["haybale.component.name"]: s
        for s in spans
        if "haybale.component.name" in dict(s.attributes or {})
    }


def test_rag_run_yields_span_tree_with_kinds_and_genai_attributes(
    otel: tuple[Any, Any], scripted_generator: Callable[..., Any]
) -> None:
    exporter, otel_tracer = otel
    _, generator = scripted_generator([ChatMessage.from_assistant("Hay is dried grass [1].")])
    enable_tracing(OpenTelemetryTracer(otel_tracer), content_tracing=False)
    result = _rag(generator).run({"query": "what is hay"})
    assert result["answer_builder"]["answers"][0].data == "Hay is dried grass [1]."

    spans = exporter.get_finished_spans()
    root = next(s for s in spans if s.name == "haybale.pipeline.run")
    components = _by_component(spans)
    assert {name: s.parent.span_id for name, s in components.items()} == dict.fromkeys(
        components, root.context.span_id
    )
    kinds = {name: dict(s.attributes)["openinference.span.kind"] for name, s in components.items()}
    assert kinds == {
        "retriever": "RETRIEVER",
        "prompt_builder": "CHAIN",
        "llm": "LLM",
        "answer_builder": "CHAIN",
    }
    assert dict(root.attributes)["openinference.span.kind"] == "CHAIN"

    llm = dict(components["llm"].attributes)
    assert llm["gen_ai.operation.name"] == "chat"
    assert llm["gen_ai.provider.name"] == "openai"
    assert llm["gen_ai.request.model"] == "scripted-model"
    assert llm["gen_ai.response.model"] == "scripted-model"
    assert llm["gen_ai.request.temperature"] == 0.0 and llm["gen_ai.request.max_tokens"] == 64
    assert llm["gen_ai.response.finish_reasons"] == ("stop",)
    # the scripted server counts words: 5 in the answer, and the rendered prompt's words
    assert llm["gen_ai.usage.output_tokens"] == 5
    assert llm["gen_ai.usage.input_tokens"] > 10
    assert "gen_ai.input.messages" not in llm  # content tracing is off

    retriever = dict(components["retriever"].attributes)
    assert retriever["retrieval.documents.0.document.id"] == "hay"
    assert isinstance(retriever["retrieval.documents.0.document.score"], float)
    assert not any(key.endswith(".document.content") for key in retriever)


def test_content_tracing_adds_prompt_answer_and_document_texts(
    otel: tuple[Any, Any], scripted_generator: Callable[..., Any]
) -> None:
    exporter, otel_tracer = otel
    _, generator = scripted_generator([ChatMessage.from_assistant("Dried grass.")])
    enable_tracing(OpenTelemetryTracer(otel_tracer), content_tracing=True)
    _rag(generator).run({"query": "what is hay"})
    components = _by_component(exporter.get_finished_spans())
    llm = dict(components["llm"].attributes)
    assert "Hay is dried grass fed to cattle." in llm["gen_ai.input.messages"]  # the rendered prompt
    assert '"content": "Dried grass."' in llm["gen_ai.output.messages"]
    retriever = dict(components["retriever"].attributes)
    assert retriever["retrieval.documents.0.document.content"] == "Hay is dried grass fed to cattle."


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first.
        b: second.
    """
    return a + b


def test_agent_has_a_span_per_step_model_call_and_tool_call(scripted_generator: Callable[..., Any]) -> None:
    calls = ChatMessage.from_assistant(
        tool_calls=[ToolCall("add", {"a": 1, "b": 2}, id="c1"), ToolCall("add", {"a": 3, "b": 4}, id="c2")]
    )
    _, generator = scripted_generator([calls, ChatMessage.from_assistant("3 and 7")])
    memory = InMemoryTracer()
    enable_tracing(memory, content_tracing=True)
    pipeline = Pipeline()
    pipeline.add_component("agent", Agent(chat_generator=generator, tools=[add]))
    pipeline.run({"agent": {"messages": [ChatMessage.from_user("add 1+2 and 3+4")]}})

    (agent,) = memory.component_spans("agent")
    assert agent.tags["openinference.span.kind"] == "AGENT"
    steps = memory.children(agent)
    assert [(s.operation_name, s.tags["haybale.agent.step"]) for s in steps] == [
        ("haybale.agent.step", 1),
        ("haybale.agent.step", 2),
    ]
    first = memory.children(steps[0])
    assert [s.tags["openinference.span.kind"] for s in first] == ["LLM", "TOOL", "TOOL"]
    llm_call, *tools = first
    assert llm_call.tags["haybale.llm.tool_calls"] == ["add", "add"]
    assert llm_call.tags["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert sorted(t.tags["gen_ai.tool.call.id"] for t in tools) == ["c1", "c2"]
    assert sorted(t.tags["gen_ai.tool.call.result"] for t in tools) == ["3", "7"]
    assert all(t.tags["haybale.tool.error"] is False for t in tools)
    assert all(t.trace_id == agent.trace_id for t in tools)
    (final_llm,) = memory.children(steps[1])
    assert final_llm.tags["gen_ai.usage.output_tokens"] == 3


def test_tool_invoker_in_a_pipeline_spans_each_call_and_marks_failures() -> None:
    memory = InMemoryTracer()
    enable_tracing(memory, content_tracing=False)
    pipeline = Pipeline()
    pipeline.add_component("tools", ToolInvoker([add]))
    message = ChatMessage.from_assistant(
        tool_calls=[ToolCall("add", {"a": 1, "b": 1}, id="ok"), ToolCall("nope", {}, id="bad")]
    )
    pipeline.run({"tools": {"messages": [message]}})
    (invoker,) = memory.component_spans("tools")
    assert invoker.tags["openinference.span.kind"] == "TOOL"
    calls = {s.tags["gen_ai.tool.call.id"]: s for s in memory.children(invoker)}
    assert calls["ok"].tags["haybale.tool.error"] is False
    assert calls["bad"].tags["haybale.tool.error"] is True
    assert "gen_ai.tool.call.arguments" not in calls["ok"].tags  # content tracing is off


@component
class _VectorOut:
    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, Any]:
        return {"embedding": [0.0]}


@component
class _QueryToDocuments:
    @component.output_types(documents=list[Document])
    def run(self, query: str) -> dict[str, Any]:
        return {"documents": []}


@component
class _Reorder:
    @component.output_types(documents=list[Document])
    def run(self, query: str, documents: list[Document]) -> dict[str, Any]:
        return {"documents": documents}


@component
class _Declared:
    __span_kind__ = "guardrail"

    @component.output_types(text=str)
    def run(self, text: str) -> dict[str, Any]:
        return {"text": text}


class _PlainGenerator:
    """Not a component: only its name tells."""


@pytest.mark.parametrize(
    ("instance", "kind"),
    [
        (BM25Retriever(InMemoryDocumentStore()), "RETRIEVER"),
        (EmbeddingRetriever(InMemoryDocumentStore()), "RETRIEVER"),
        (SentenceTransformersTextEmbedder(), "EMBEDDING"),
        (SentenceTransformersDocumentEmbedder(), "EMBEDDING"),
        (MetaFieldRanker(meta_field="rating"), "RERANKER"),
        (LostInTheMiddleRanker(), "RERANKER"),
        (PromptBuilder(template="{{ q }}"), "CHAIN"),
        (DocumentJoiner(), "CHAIN"),
        (ToolInvoker([add]), "TOOL"),
        (_VectorOut(), "EMBEDDING"),
        (_QueryToDocuments(), "RETRIEVER"),
        (_Reorder(), "RERANKER"),
        (_Declared(), "GUARDRAIL"),
        (_PlainGenerator(), "LLM"),
    ],
)
def test_span_kind_is_read_from_the_component_protocol(instance: Any, kind: str) -> None:
    assert detect_span_kind(instance) == kind

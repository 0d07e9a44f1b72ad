"""Span kinds and GenAI attributes for the engine's spans: :class:`GenAISpanEnricher`, plus the helpers that
turn a chat generator's request and replies, or a retriever's documents, into span tags.

``haybale.tracing.enable_tracing`` installs :class:`GenAISpanEnricher` by default. On every component span it
sets the kind (:func:`~haybale.tracing.component_roles.detect_span_kind`), and by kind:

- LLM: ``gen_ai.operation.name`` (chat), ``gen_ai.provider.name``, ``gen_ai.request.model`` and request
  parameters (temperature, max_tokens, ...); at the end ``gen_ai.response.model``,
  ``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens`` / ``output_tokens`` and the names of the
  tools the model asked for. Content tags: ``gen_ai.input.messages`` (the rendered prompt) and
  ``gen_ai.output.messages``.
- EMBEDDING: operation ``embeddings``, the model, token usage when the embedder reports it.
- RETRIEVER / RERANKER: each returned document's id and score (and content, as a content tag).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from haybale.core.tracing import COMPONENT_RUN, PIPELINE_RUN, Span
from haybale.dataclasses import ChatMessage, Document
from haybale.tracing import semconv
from haybale.tracing.component_roles import detect_span_kind

__all__ = [
    "GenAISpanEnricher",
    "document_tags",
    "llm_request_tags",
    "llm_response_tags",
    "messages_json",
    "provider_of",
    "set_llm_content",
]

#: the most documents listed on a retriever span (long lists would bloat every trace)
MAX_TRACED_DOCUMENTS = 50


def provider_of(instance: Any) -> str:
    """The ``gen_ai.provider.name`` of a generator or embedder: ``gen_ai_provider`` when it declares one,
    else read from its module (``openai``, ``llama_cpp``, ``sentence_transformers``), else the module name."""
    declared = getattr(instance, "gen_ai_provider", None)
    if isinstance(declared, str) and declared:
        return declared
    module = type(instance).__module__
    for known in ("openai", "llama_cpp", "sentence_transformers"):
        if known in module:
            return known
    return module.rsplit(".", 1)[-1]


def _model_name(instance: Any) -> str | None:
    for attribute in ("model", "model_name", "model_path"):
        value = getattr(instance, attribute, None)
        if isinstance(value, str) and value:
            return value
    return None


def llm_request_tags(instance: Any, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """GenAI request attributes of a chat-generator call: operation, provider, model, parameters."""
    tags: dict[str, Any] = {
        semconv.GEN_AI_OPERATION: "chat",
        semconv.GEN_AI_PROVIDER: provider_of(instance),
    }
    model = _model_name(instance)
    if model is not None:
        tags[semconv.GEN_AI_REQUEST_MODEL] = model
    kwargs = {
        **(getattr(instance, "generation_kwargs", None) or {}),
        **(inputs.get("generation_kwargs") or {}),
    }
    for name, attribute in semconv.GEN_AI_REQUEST_PARAMETERS.items():
        value = kwargs.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            tags[attribute] = value
    return tags


def _usage_number(usage: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = usage.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None


def llm_response_tags(replies: Sequence[Any]) -> dict[str, Any]:
    """GenAI response attributes from chat replies: response model, finish reasons, token usage (summed over
    the replies of one call, which share the call's usage: counted once), requested tool names."""
    messages = [reply for reply in replies if isinstance(reply, ChatMessage)]
    if not messages:
        return {}
    tags: dict[str, Any] = {}
    meta = messages[0].meta
    if isinstance(meta.get("model"), str):
        tags[semconv.GEN_AI_RESPONSE_MODEL] = meta["model"]
    reasons = [str(m.meta["finish_reason"]) for m in messages if m.meta.get("finish_reason")]
    if reasons:
        tags[semconv.GEN_AI_FINISH_REASONS] = reasons
    usage = meta.get("usage") or {}
    if isinstance(usage, Mapping):
        prompt = _usage_number(usage, "prompt_tokens", "input_tokens")
        completion = _usage_number(usage, "completion_tokens", "output_tokens")
        if prompt is not None:
            tags[semconv.GEN_AI_INPUT_TOKENS] = prompt
        if completion is not None:
            tags[semconv.GEN_AI_OUTPUT_TOKENS] = completion
    tool_names = [call.tool_name for m in messages for call in m.tool_calls]
    if tool_names:
        tags[semconv.LLM_TOOL_CALLS] = tool_names
    return tags


def messages_json(messages: Any) -> str:
    """Chat messages (or a prompt string) as JSON ``[{"role", "content", ...}]`` for content tags."""
    if isinstance(messages, str):
        return json.dumps([{"role": "user", "content": messages}], ensure_ascii=False)
    items = messages if isinstance(messages, list | tuple) else [messages]
    wire = []
    for message in items:
        if isinstance(message, ChatMessage):
            wire.append(message.to_openai_format())
        else:
            wire.append({"role": "user", "content": str(message)})
    return json.dumps(wire, ensure_ascii=False, default=str)


def set_llm_content(span: Span, inputs: Mapping[str, Any] | None, replies: Sequence[Any] | None) -> None:
    """The prompt the model saw and what it answered, as content tags (recorded only with content tracing)."""
    if inputs is not None:
        prompt = inputs.get("messages", inputs.get("prompt"))
        if prompt is not None:
            span.set_content_tag(semconv.GEN_AI_INPUT_MESSAGES, messages_json(prompt))
    if replies is not None:
        span.set_content_tag(semconv.GEN_AI_OUTPUT_MESSAGES, messages_json(list(replies)))


def document_tags(prefix: str, documents: Sequence[Any]) -> dict[str, Any]:
    """OpenInference document-list tags: ``<prefix>.<i>.document.id`` and ``.score`` (no content)."""
    tags: dict[str, Any] = {}
    for index, document in enumerate(documents[:MAX_TRACED_DOCUMENTS]):
        if not isinstance(document, Document):
            continue
        tags[f"{prefix}.{index}.document.id"] = document.id
        if document.score is not None:
            tags[f"{prefix}.{index}.document.score"] = float(document.score)
    return tags


def _set_documents(span: Span, prefix: str, documents: Any) -> None:
    if not isinstance(documents, list):
        return
    span.set_tags(document_tags(prefix, documents))
    for index, document in enumerate(documents[:MAX_TRACED_DOCUMENTS]):
        if isinstance(document, Document) and document.content is not None:
            span.set_content_tag(f"{prefix}.{index}.document.content", document.content)


def _embedding_usage(outputs: Mapping[str, Any]) -> dict[str, Any]:
    meta = outputs.get("meta")
    usage = meta.get("usage") if isinstance(meta, Mapping) else None
    if not isinstance(usage, Mapping):
        return {}
    tokens = _usage_number(usage, "prompt_tokens", "total_tokens", "input_tokens")
    return {} if tokens is None else {semconv.GEN_AI_INPUT_TOKENS: tokens}


class GenAISpanEnricher:
    """Tags pipeline and component spans with their kind and, by kind, GenAI / retrieval attributes (see the
    module docstring). Stateless: one instance serves every run and thread."""

    def on_start(self, operation_name: str, span: Span, instance: Any, inputs: Mapping[str, Any]) -> None:
        """Set the kind and the request attributes."""
        if operation_name == PIPELINE_RUN:
            span.set_tag(semconv.SPAN_KIND, semconv.CHAIN)
            return
        if operation_name != COMPONENT_RUN or instance is None:
            return
        kind = detect_span_kind(instance)
        span.set_tag(semconv.SPAN_KIND, kind)
        if kind == semconv.LLM:
            span.set_tags(llm_request_tags(instance, inputs))
            set_llm_content(span, inputs, None)
        elif kind == semconv.EMBEDDING:
            span.set_tag(semconv.GEN_AI_OPERATION, "embeddings")
            model = _model_name(instance)
            if model is not None:
                span.set_tags({semconv.GEN_AI_REQUEST_MODEL: model, semconv.EMBEDDING_MODEL: model})
        elif kind == semconv.RERANKER:
            model = _model_name(instance)
            if model is not None:
                span.set_tag(semconv.RERANKER_MODEL, model)
            _set_documents(span, semconv.RERANKER_INPUT_DOCUMENTS, inputs.get("documents"))

    def on_end(self, operation_name: str, span: Span, instance: Any, outputs: Any) -> None:
        """Set the response attributes: usage, finish reasons, returned documents."""
        if operation_name != COMPONENT_RUN or instance is None or not isinstance(outputs, Mapping):
            return
        kind = detect_span_kind(instance)
        if kind == semconv.LLM and isinstance(outputs.get("replies"), list):
            span.set_tags(llm_response_tags(outputs["replies"]))
            set_llm_content(span, None, outputs["replies"])
        elif kind == semconv.EMBEDDING:
            span.set_tags(_embedding_usage(outputs))
        elif kind == semconv.RETRIEVER:
            _set_documents(span, semconv.RETRIEVAL_DOCUMENTS, outputs.get("documents"))
        elif kind == semconv.RERANKER:
            _set_documents(span, semconv.RERANKER_OUTPUT_DOCUMENTS, outputs.get("documents"))

"""What role a component plays, read from its sockets: the span kind of its spans.

Detection goes by protocol, so components written outside haybale get the right kind too:

1. an explicit class attribute ``__span_kind__ = "RERANKER"`` wins;
2. then the sockets: ``replies`` out -> LLM; ``messages`` + ``last_message`` out -> AGENT; ``tool_messages``
   out -> TOOL; ``score`` + ``individual_scores`` out -> EVALUATOR; ``embedding``/``sparse_embedding`` out
   -> EMBEDDING; ``documents`` out from a ``query``/``query_embedding`` without ``documents`` in ->
   RETRIEVER; ``documents`` in and out plus a ``query`` in -> RERANKER; ``documents`` in and out with
   ``meta_fields_to_embed`` (the document-embedder convention) -> EMBEDDING;
3. then the class name (``*Embedder``, ``*Retriever``/``*WebSearch``, ``*Ranker``, ``*Generator``,
   ``*Evaluator``, ``Agent``, ``ToolInvoker``) for components whose sockets say nothing;
4. everything else (prompt builders, converters, joiners, routers) is CHAIN.
"""

from __future__ import annotations

from typing import Any

from haybale.core.component import get_input_sockets, get_output_sockets, is_component
from haybale.tracing import semconv

__all__ = ["detect_span_kind"]

_NAME_SUFFIXES = (
    ("Embedder", semconv.EMBEDDING),
    ("Retriever", semconv.RETRIEVER),
    ("WebSearch", semconv.RETRIEVER),
    ("Ranker", semconv.RERANKER),
    ("Generator", semconv.LLM),
    ("Evaluator", semconv.EVALUATOR),
    ("Agent", semconv.AGENT),
    ("ToolInvoker", semconv.TOOL),
)


def _kind_from_sockets(inputs: set[str], outputs: set[str], instance: Any) -> str | None:  # noqa: PLR0911
    if "replies" in outputs:
        return semconv.LLM
    if {"messages", "last_message"} <= outputs:
        return semconv.AGENT
    if "tool_messages" in outputs:
        return semconv.TOOL
    if {"score", "individual_scores"} <= outputs:
        return semconv.EVALUATOR
    if outputs & {"embedding", "sparse_embedding", "embeddings"}:
        return semconv.EMBEDDING
    if "documents" not in outputs:
        return None
    if "documents" not in inputs and inputs & {"query", "query_embedding", "query_sparse_embedding"}:
        return semconv.RETRIEVER
    if "documents" in inputs and "query" in inputs:
        return semconv.RERANKER
    if "documents" in inputs and hasattr(instance, "meta_fields_to_embed"):
        return semconv.EMBEDDING
    return None


def detect_span_kind(instance: Any) -> str:
    """The span kind of ``instance``'s spans (one of :data:`haybale.tracing.semconv.KINDS`); see the module
    docstring for the rules."""
    explicit = getattr(type(instance), "__span_kind__", None)
    if isinstance(explicit, str) and explicit:
        return explicit.upper()
    if is_component(instance):
        inputs = set(get_input_sockets(instance))
        outputs = set(get_output_sockets(instance))
        kind = _kind_from_sockets(inputs, outputs, instance)
        if kind is not None:
            return kind
    name = type(instance).__name__
    for suffix, kind in _NAME_SUFFIXES:
        if name.endswith(suffix):
            return kind
    return semconv.CHAIN

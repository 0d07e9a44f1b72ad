"""Tracing and metrics: see which component ran, with what, for how long, what it cost, and where it failed.

``enable_tracing(tracer)`` sends the engine's ``haybale.pipeline.run`` and ``haybale.component.run`` spans to
``tracer`` (see :mod:`haybale.core.tracing` for the tags) and, by default, tags each span with its kind
(CHAIN, EMBEDDING, RETRIEVER, RERANKER, LLM, TOOL, AGENT, EVALUATOR) and the OpenTelemetry GenAI attributes
(model, token usage, finish reasons; see :mod:`haybale.tracing.genai_attributes`). Tool calls and agent steps
get spans of their own. ``disable_tracing()`` goes back to the zero-cost path.

Tracers: :class:`LoggingTracer`, :class:`InMemoryTracer`, :class:`JsonlSpanTracer` (spans to a file, for
``haybale eval traces``), :class:`OpenTelemetryTracer` (needs ``opentelemetry-sdk``), :class:`MetricsTracer`
(counters, latency histograms and percentiles, token usage; Prometheus text). Logs: :class:`JsonLogFormatter`.
"""

from __future__ import annotations

from collections.abc import Iterable

from haybale.core.tracing import (
    CONTENT_TRACING_ENV_VAR,
    ProxyTracer,
    Span,
    SpanEnricher,
    Tracer,
    disable_tracing,
    is_tracing_enabled,
    tracer,
)
from haybale.core.tracing import enable_tracing as _enable_engine_tracing
from haybale.tracing.capturing_span import CapturingSpan
from haybale.tracing.component_roles import detect_span_kind
from haybale.tracing.genai_attributes import GenAISpanEnricher
from haybale.tracing.json_logs import JsonLogFormatter, configure_json_logging, span_ids
from haybale.tracing.logging_tracer import LoggingSpan, LoggingTracer
from haybale.tracing.memory import InMemoryTracer, RecordedSpan
from haybale.tracing.metrics import DEFAULT_BUCKETS, LatencyHistogram, MetricsTracer, PipelineMetrics
from haybale.tracing.opentelemetry_tracer import OpenTelemetrySpan, OpenTelemetryTracer
from haybale.tracing.span_file import JsonlSpanTracer, load_spans
from haybale.tracing.tag_values import coerce_tag_value

__all__ = [
    "CONTENT_TRACING_ENV_VAR",
    "DEFAULT_BUCKETS",
    "CapturingSpan",
    "GenAISpanEnricher",
    "InMemoryTracer",
    "JsonLogFormatter",
    "JsonlSpanTracer",
    "LatencyHistogram",
    "LoggingSpan",
    "LoggingTracer",
    "MetricsTracer",
    "OpenTelemetrySpan",
    "OpenTelemetryTracer",
    "PipelineMetrics",
    "ProxyTracer",
    "RecordedSpan",
    "Span",
    "SpanEnricher",
    "Tracer",
    "coerce_tag_value",
    "configure_json_logging",
    "detect_span_kind",
    "disable_tracing",
    "enable_tracing",
    "is_tracing_enabled",
    "load_spans",
    "span_ids",
    "tracer",
]


def enable_tracing(
    actual: Tracer, content_tracing: bool | None = None, enrichers: Iterable[SpanEnricher] | None = None
) -> None:
    """Send the engine's spans to ``actual``, tagged with span kinds and GenAI attributes.

    Args:
        actual: any :class:`Tracer`.
        content_tracing: record content tags (prompts, answers, documents); None reads
            ``HAYBALE_CONTENT_TRACING_ENABLED``.
        enrichers: the span enrichers; None means ``[GenAISpanEnricher()]``, ``[]`` the engine's bare spans.

    Raises:
        TypeError: ``actual`` is not a tracer, or an enricher lacks ``on_start``/``on_end``.
    """
    chosen = [GenAISpanEnricher()] if enrichers is None else list(enrichers)
    _enable_engine_tracing(actual, content_tracing=content_tracing, enrichers=chosen)

"""Tracing and metrics: see which component ran, with what, for how long, and where it failed.

``enable_tracing(tracer)`` sends the engine's ``haybale.pipeline.run`` and ``haybale.component.run`` spans to
``tracer`` (see :mod:`haybale.core.tracing` for the tags); ``disable_tracing()`` goes back to the zero-cost
path. Tracers: :class:`LoggingTracer`, :class:`InMemoryTracer`, :class:`OpenTelemetryTracer` (needs
``opentelemetry-sdk``), :class:`MetricsTracer` (counters and latency histograms, Prometheus text).
"""

from haybale.core.tracing import (
    CONTENT_TRACING_ENV_VAR,
    ProxyTracer,
    Span,
    Tracer,
    disable_tracing,
    enable_tracing,
    is_tracing_enabled,
    tracer,
)
from haybale.tracing.logging_tracer import LoggingSpan, LoggingTracer
from haybale.tracing.memory import InMemoryTracer, RecordedSpan
from haybale.tracing.metrics import DEFAULT_BUCKETS, LatencyHistogram, MetricsTracer, PipelineMetrics
from haybale.tracing.opentelemetry_tracer import OpenTelemetrySpan, OpenTelemetryTracer
from haybale.tracing.tag_values import coerce_tag_value

__all__ = [
    "CONTENT_TRACING_ENV_VAR",
    "DEFAULT_BUCKETS",
    "InMemoryTracer",
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
    "Tracer",
    "coerce_tag_value",
    "disable_tracing",
    "enable_tracing",
    "is_tracing_enabled",
    "tracer",
]

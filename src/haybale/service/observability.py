"""Tracing, pipeline metrics and live scoring of the service, as its settings ask.

:class:`ServiceObservability` builds the tracer chain once per app and installs it for the app's lifetime:

* always a :class:`~haybale.tracing.MetricsTracer`: per-component run/error counts, latency histograms and
  p50/p95/p99 over recent runs, and model token usage, all rendered into ``GET /metrics``;
* behind it the exporter ``tracing_exporter`` names: OTLP over HTTP (an OpenTelemetry SDK tracer provider of
  its own with ``service.name``, batching spans to ``otlp_endpoint``), the console, or a JSON-lines file;
* in front of it, when ``eval_sample_rate`` > 0, a :class:`~haybale.evaluation.live_scoring.LiveTraceScorer`
  that scores that fraction of runs in the background and attaches the scores to their traces.

Tracing is process-wide (the engine has one tracer); :meth:`start` remembers what was installed before and
:meth:`stop` puts it back, flushing the exporter.
"""

from __future__ import annotations

from typing import Any

from haybale.app.settings import Settings
from haybale.core import tracing as engine_tracing
from haybale.tracing import GenAISpanEnricher, MetricsTracer, PipelineMetrics

__all__ = ["ServiceObservability", "otlp_traces_url"]

DEFAULT_OTLP_TRACES_URL = "http://localhost:4318/v1/traces"


def otlp_traces_url(endpoint: str | None) -> str:
    """The OTLP/HTTP traces URL: ``/v1/traces`` added to a bare collector address."""
    if not endpoint:
        return DEFAULT_OTLP_TRACES_URL
    url = endpoint.rstrip("/")
    return url if url.endswith("/v1/traces") else f"{url}/v1/traces"


class ServiceObservability:
    """The service's tracer chain, metrics and live scorer (see the module docstring).

    Args:
        settings: the service settings.

    Raises:
        MissingDependencyError: the OTLP or console exporter is asked for without ``haybale[tracing]``.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = PipelineMetrics()
        self._provider: Any = None
        exporter = self._exporter_tracer()
        self.metrics_tracer = MetricsTracer(self.metrics, delegate=exporter)
        self.scorer: Any = None
        self.tracer: Any = self.metrics_tracer
        if settings.eval_sample_rate > 0:
            from haybale.evaluation.live_scoring import LiveTraceScorer
            from haybale.evaluation.trace_scoring import trace_rubric_evaluators

            self.scorer = LiveTraceScorer(
                self.metrics_tracer,
                sample_rate=settings.eval_sample_rate,
                evaluators=trace_rubric_evaluators(settings.eval_rubrics or None),
            )
            self.tracer = self.scorer
        self._previous: tuple[Any, bool, tuple[Any, ...]] | None = None

    def _exporter_tracer(self) -> Any:
        kind = self.settings.tracing_exporter
        if kind == "none":
            return None
        if kind == "jsonl":
            from haybale.tracing import JsonlSpanTracer

            return JsonlSpanTracer(self.settings.tracing_spans_file or "spans.jsonl")

        from haybale.errors import optional_dependency

        with optional_dependency("opentelemetry-sdk", extra="tracing", feature="Exporting traces"):
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
        if kind == "otlp":
            with optional_dependency(
                "opentelemetry-exporter-otlp-proto-http", extra="tracing", feature="The OTLP trace exporter"
            ):
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            span_exporter: Any = OTLPSpanExporter(endpoint=otlp_traces_url(self.settings.otlp_endpoint))
        else:
            span_exporter = ConsoleSpanExporter()
        from haybale.tracing import OpenTelemetryTracer

        self._provider = TracerProvider(
            resource=Resource.create({"service.name": self.settings.tracing_service_name})
        )
        self._provider.add_span_processor(BatchSpanProcessor(span_exporter))
        return OpenTelemetryTracer(self._provider.get_tracer("haybale"))

    def start(self) -> None:
        """Install the tracer chain process-wide (remembering what was installed)."""
        proxy = engine_tracing.tracer
        self._previous = (proxy.actual_tracer, proxy.is_content_tracing_enabled, proxy.enrichers)
        engine_tracing.enable_tracing(
            self.tracer, content_tracing=self.settings.content_tracing, enrichers=[GenAISpanEnricher()]
        )

    def stop(self) -> None:
        """Score what is queued, flush and shut down the exporter, and restore the previous tracer."""
        if self.scorer is not None:
            self.scorer.close()
        if self._provider is not None:
            self._provider.shutdown()
        previous, self._previous = self._previous, None
        if previous is None or engine_tracing.tracer.actual_tracer is not self.tracer:
            return
        actual, content, enrichers = previous
        if actual is None:
            engine_tracing.disable_tracing()
        else:
            engine_tracing.enable_tracing(actual, content_tracing=content, enrichers=enrichers)

    def render(self) -> str:
        """Pipeline metrics (component latency percentiles, token usage) and live scores, Prometheus text."""
        text = self.metrics.to_prometheus()
        if self.scorer is not None:
            text += self.scorer.to_prometheus()
        return text

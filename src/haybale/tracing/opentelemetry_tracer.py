"""OpenTelemetryTracer: sends haybale spans to an OpenTelemetry tracer (needs opentelemetry-sdk)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from haybale.core.tracing import Span
from haybale.errors import optional_dependency
from haybale.tracing.tag_values import coerce_tag_value

__all__ = ["OpenTelemetrySpan", "OpenTelemetryTracer"]


def _attribute_value(value: Any) -> Any:
    if isinstance(value, list | tuple) and value:
        first = type(value[0])
        if first in (str, bool, int, float) and all(type(item) is first for item in value):
            return tuple(value)
    return coerce_tag_value(value)


class OpenTelemetrySpan(Span):
    """Wraps an ``opentelemetry.trace.Span``; tag values are converted to OpenTelemetry attribute types."""

    def __init__(self, span: Any) -> None:
        self._span = span

    def set_tag(self, key: str, value: Any) -> None:
        """Set the attribute ``key``: primitives and lists of one primitive type as they are (OpenTelemetry
        array attributes, e.g. ``gen_ai.response.finish_reasons``), anything else as a JSON string."""
        self._span.set_attribute(key, _attribute_value(value))

    def raw_span(self) -> Any:
        """The OpenTelemetry span."""
        return self._span


class OpenTelemetryTracer:
    """Opens OpenTelemetry spans (``start_as_current_span``), so haybale spans nest into the caller's traces.

    Args:
        tracer: an ``opentelemetry.trace.Tracer``; None takes ``trace.get_tracer("haybale")`` from the global
            tracer provider.

    Raises:
        MissingDependencyError: ``opentelemetry-api`` is not installed.
    """

    def __init__(self, tracer: Any = None) -> None:
        with optional_dependency("opentelemetry-sdk", extra="tracing", feature="OpenTelemetryTracer"):
            from opentelemetry import trace
        self._trace_api = trace
        self.tracer = tracer if tracer is not None else trace.get_tracer("haybale")

    @contextlib.contextmanager
    def trace(
        self, operation_name: str, tags: Mapping[str, Any] | None = None
    ) -> Iterator[OpenTelemetrySpan]:
        """Open an OpenTelemetry span as the current span; an escaping exception is recorded on it."""
        with self.tracer.start_as_current_span(operation_name) as raw:
            span = OpenTelemetrySpan(raw)
            if tags:
                span.set_tags(tags)
            yield span

    @contextlib.contextmanager
    def activate(self, span: Span) -> Iterator[Span]:
        """Make ``span`` (even an ended one) the current span inside the block, so spans opened there become
        its children in the same trace."""
        with self._trace_api.use_span(span.raw_span(), end_on_exit=False):
            yield span

    def current_span(self) -> OpenTelemetrySpan | None:
        """The current OpenTelemetry span, None when there is no valid one."""
        raw = self._trace_api.get_current_span()
        if not raw.get_span_context().is_valid:
            return None
        return OpenTelemetrySpan(raw)

"""CapturingSpan: a span that keeps a copy of its tags while forwarding them to another tracer's span.

Tracers that wrap another one (:class:`~haybale.tracing.metrics.MetricsTracer`,
:class:`~haybale.tracing.live_scoring.LiveTraceScorer`) hand these out, so they can read the tags enrichers
and components set (token usage, kinds, prompts) when the span closes, whatever the wrapped backend is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from haybale.core.tracing import Span, tracer

__all__ = ["CapturingSpan"]


class CapturingSpan(Span):
    """Keeps every tag in :attr:`tags` and passes it on to ``inner`` (when there is one).

    Args:
        operation_name: the span's name.
        tags: the initial tags (already given to ``inner`` when it was opened).
        inner: the wrapped tracer's span, or None.
        capture_content: keep content tags even while content tracing is off (they are still forwarded
            only when it is on): for scoring a trace locally without exporting user data.
    """

    __slots__ = ("capture_content", "inner", "operation_name", "tags")

    def __init__(
        self,
        operation_name: str,
        tags: Mapping[str, Any] | None,
        inner: Span | None,
        capture_content: bool = False,
    ) -> None:
        self.operation_name = operation_name
        self.tags: dict[str, Any] = dict(tags or {})
        self.inner = inner
        self.capture_content = capture_content

    def set_tag(self, key: str, value: Any) -> None:
        """Keep the tag and forward it."""
        self.tags[key] = value
        if self.inner is not None:
            self.inner.set_tag(key, value)

    def set_content_tag(self, key: str, value: Any) -> None:
        """Keep the tag when content is traced or captured; forward it (the inner span applies the rule)."""
        if self.capture_content or tracer.is_content_tracing_enabled:
            self.tags[key] = value
        if self.inner is not None:
            self.inner.set_content_tag(key, value)

    def raw_span(self) -> Any:
        """The inner span's backend object (this span when there is none)."""
        return self if self.inner is None else self.inner.raw_span()

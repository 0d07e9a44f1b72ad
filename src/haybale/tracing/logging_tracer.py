"""LoggingTracer: writes each finished span and its tags to a ``logging`` logger (optionally coloured).

Each record also carries the span as structured data (``record.haybale_span``: name, trace and span ids,
parent, duration, kind, tags, error), so with :class:`~haybale.tracing.json_logs.JsonLogFormatter` every span
becomes one JSON log line that log pipelines can index by trace id.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import secrets
import time
from collections.abc import Iterator, Mapping
from typing import Any

from haybale.core.tracing import Span
from haybale.tracing import semconv
from haybale.tracing.tag_values import coerce_tag_value

__all__ = ["LoggingSpan", "LoggingTracer"]

_RESET = "\x1b[0m"


class LoggingSpan(Span):
    """A span that collects tags until it is logged at its end.

    Attributes:
        trace_id: 32 hex digits shared by the spans of one trace.
        span_id: 16 hex digits.
        parent_id: the enclosing span's id, None for a root.
    """

    def __init__(
        self, operation_name: str, tags: Mapping[str, Any] | None = None, parent: LoggingSpan | None = None
    ) -> None:
        self.operation_name = operation_name
        self.tags: dict[str, Any] = dict(tags or {})
        self.trace_id: str = secrets.token_hex(16) if parent is None else parent.trace_id
        self.span_id: str = secrets.token_hex(8)
        self.parent_id: str | None = None if parent is None else parent.span_id

    def set_tag(self, key: str, value: Any) -> None:
        """Record a tag (logged when the span ends)."""
        self.tags[key] = value


class LoggingTracer:
    """Logs ``Operation: <name> (<ms> ms)`` and one ``<tag>=<value>`` line per tag when a span ends.

    Args:
        logger_name: the logger to write to.
        level: the logging level of span records (errors are logged at ERROR).
        tag_colors: ANSI colour codes by tag name (e.g. ``{"haybale.component.name": "\\x1b[1;34m"}``);
            tags not listed are not coloured. None: no colours at all.
        max_value_length: longer tag values are cut to this many characters (0: never cut).
    """

    def __init__(
        self,
        logger_name: str = "haybale.tracing",
        level: int = logging.INFO,
        tag_colors: Mapping[str, str] | None = None,
        max_value_length: int = 2000,
    ) -> None:
        self.logger = logging.getLogger(logger_name)
        self.level = level
        self.tag_colors = dict(tag_colors or {})
        self.max_value_length = max_value_length
        self._current: contextvars.ContextVar[LoggingSpan | None] = contextvars.ContextVar(
            f"haybale_logging_span_{id(self)}", default=None
        )

    @contextlib.contextmanager
    def trace(self, operation_name: str, tags: Mapping[str, Any] | None = None) -> Iterator[LoggingSpan]:
        """Open a span; it is logged when the block exits (with the error, if one escaped)."""
        span = LoggingSpan(operation_name, tags, self._current.get())
        token = self._current.set(span)
        start = time.perf_counter()
        error: BaseException | None = None
        try:
            yield span
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._current.reset(token)
            self._log(span, time.perf_counter() - start, error)

    def current_span(self) -> LoggingSpan | None:
        """The innermost open span in the current context."""
        return self._current.get()

    @contextlib.contextmanager
    def activate(self, span: LoggingSpan) -> Iterator[LoggingSpan]:
        """Make ``span`` the current span inside the block (spans opened there join its trace)."""
        token = self._current.set(span)
        try:
            yield span
        finally:
            self._current.reset(token)

    def _format_value(self, value: Any) -> str:
        text = str(coerce_tag_value(value))
        if self.max_value_length and len(text) > self.max_value_length:
            text = text[: self.max_value_length] + f"... ({len(text)} chars)"
        return text

    def _log(self, span: LoggingSpan, seconds: float, error: BaseException | None) -> None:
        level = logging.ERROR if error is not None else self.level
        if not self.logger.isEnabledFor(level):
            return
        lines = [f"Operation: {span.operation_name} ({seconds * 1000:.3f} ms)"]
        for key, value in span.tags.items():
            color = self.tag_colors.get(key)
            line = f"{key}={self._format_value(value)}"
            lines.append(f"{color}{line}{_RESET}" if color else line)
        if error is not None:
            lines.append(f"error={error!r}")
        structured = {
            "name": span.operation_name,
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "parent_id": span.parent_id,
            "duration_ms": round(seconds * 1000, 3),
            "kind": span.tags.get(semconv.SPAN_KIND),
            "tags": {key: self._format_value(value) for key, value in span.tags.items()},
            "error": None if error is None else repr(error),
        }
        self.logger.log(level, "\n".join(lines), extra={"haybale_span": structured})

"""Structured JSON logs: one JSON object per log record, with the trace and span ids of the span open when it
was logged, so log lines join their traces.

``configure_json_logging()`` (what ``haybale serve`` does with ``HAYBALE_LOG_FORMAT=json``) puts
:class:`JsonLogFormatter` on the root logger. Fields: ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``,
``message``, ``trace_id`` / ``span_id`` (when a span is open: a haybale tracer's, or the current OpenTelemetry
span), ``exception`` (with a traceback), and ``span`` for the span records of
:class:`~haybale.tracing.logging_tracer.LoggingTracer` (name, ids, duration, kind, tags, error).
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any, TextIO

from haybale.core.tracing import Span, tracer

__all__ = ["JsonLogFormatter", "configure_json_logging", "span_ids"]


def _hex(value: int, digits: int) -> str:
    return f"{value:0{digits}x}"


def span_ids(span: Span | None) -> tuple[str, str] | None:
    """``(trace_id, span_id)`` of a haybale span (in-memory, logging, OpenTelemetry), None when unknown."""
    if span is None:
        return None
    trace_id = getattr(span, "trace_id", None)
    if isinstance(trace_id, str) and trace_id:
        return trace_id, str(getattr(span, "span_id", ""))
    raw = span.raw_span()
    context = getattr(raw, "get_span_context", None)
    if callable(context):
        ctx = context()
        if getattr(ctx, "is_valid", False):
            return _hex(ctx.trace_id, 32), _hex(ctx.span_id, 16)
    return None


def _otel_ids() -> tuple[str, str] | None:
    otel = sys.modules.get("opentelemetry.trace")
    if otel is None:  # never import OpenTelemetry just to log
        return None
    ctx = otel.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return _hex(ctx.trace_id, 32), _hex(ctx.span_id, 16)


def current_trace_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` of the span open in this thread/task, None outside any span."""
    return span_ids(tracer.current_span()) or _otel_ids()


class JsonLogFormatter(logging.Formatter):
    """Formats each record as one line of JSON (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, Any] = {
            "timestamp": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span = getattr(record, "haybale_span", None)
        ids = (span["trace_id"], span["span_id"]) if isinstance(span, dict) else current_trace_ids()
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        if isinstance(span, dict):
            entry["span"] = span
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_json_logging(level: int | str = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Log JSON lines to ``stream`` (default stderr) from the root logger, replacing its handlers.

    Returns:
        The installed handler.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler

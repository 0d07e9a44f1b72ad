"""LoggingTracer: writes each finished span and its tags to a ``logging`` logger (optionally coloured)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

from haybale.core.tracing import Span
from haybale.tracing.tag_values import coerce_tag_value

__all__ = ["LoggingSpan", "LoggingTracer"]

_RESET = "\x1b[0m"


class LoggingSpan(Span):
    """A span that collects tags until it is logged at its end."""

    def __init__(self, operation_name: str, tags: Mapping[str, Any] | None = None) -> None:
        self.operation_name = operation_name
        self.tags: dict[str, Any] = dict(tags or {})

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
        span = LoggingSpan(operation_name, tags)
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
        self.logger.log(level, "\n".join(lines))

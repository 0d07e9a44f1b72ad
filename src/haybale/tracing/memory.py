"""InMemoryTracer: records every span with its tags, parent, trace, timing and error (tests, evaluation).

Spans can also be handed to a callback as they finish (``on_finish``) instead of, or besides, being kept:
that is how :class:`~haybale.tracing.span_file.JsonlSpanTracer` stores spans for ``haybale eval traces``.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from haybale.core.tracing import COMPONENT_RUN, Span

__all__ = ["InMemoryTracer", "RecordedSpan"]


@dataclass
class RecordedSpan(Span):
    """One recorded span.

    Attributes:
        operation_name: e.g. ``"haybale.component.run"``.
        tags: the tags as given (values are not converted or copied).
        span_id: unique within the tracer.
        parent_id: the enclosing span's id, None for a root span.
        start: ``time.perf_counter()`` at open.
        end: ``time.perf_counter()`` at close, None while open.
        error: ``repr`` of the exception that escaped the span, None when it ended normally.
        trace_id: 32 hex digits shared by a root span and everything opened inside it.
        start_time: wall-clock time at open (seconds since the epoch).
    """

    operation_name: str
    tags: dict[str, Any] = field(default_factory=dict)
    span_id: int = 0
    parent_id: int | None = None
    start: float = 0.0
    end: float | None = None
    error: str | None = None
    trace_id: str = ""
    start_time: float = 0.0

    def set_tag(self, key: str, value: Any) -> None:
        """Record a tag."""
        self.tags[key] = value

    @property
    def duration(self) -> float | None:
        """Seconds the span was open, None while it still is."""
        return None if self.end is None else self.end - self.start


class InMemoryTracer:
    """Keeps spans in a list, in the order they were opened; safe across threads and asyncio tasks.

    Args:
        on_finish: called with each span when it closes (from the thread that closed it).
        keep: keep finished spans in :attr:`spans` (False: only ``on_finish`` sees them; open spans are
            still tracked so children find their parent).

    Example::

        from haybale.tracing import InMemoryTracer, enable_tracing
        memory = InMemoryTracer()
        enable_tracing(memory, content_tracing=True)
        pipeline.run({...})
        [s.tags["haybale.component.name"] for s in memory.component_spans()]
    """

    def __init__(self, on_finish: Callable[[RecordedSpan], None] | None = None, keep: bool = True) -> None:
        self.on_finish = on_finish
        self.keep = keep
        self._spans: list[RecordedSpan] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._current: contextvars.ContextVar[RecordedSpan | None] = contextvars.ContextVar(
            f"haybale_in_memory_span_{id(self)}", default=None
        )

    @contextlib.contextmanager
    def trace(self, operation_name: str, tags: Mapping[str, Any] | None = None) -> Iterator[RecordedSpan]:
        """Open a span; it is a child of the span open in the current context, if any."""
        parent = self._current.get()
        with self._lock:
            span = RecordedSpan(
                operation_name,
                dict(tags or {}),
                span_id=next(self._ids),
                parent_id=None if parent is None else parent.span_id,
                start=time.perf_counter(),
                trace_id=secrets.token_hex(16) if parent is None else parent.trace_id,
                start_time=time.time(),
            )
            if self.keep:
                self._spans.append(span)
        token = self._current.set(span)
        try:
            yield span
        except BaseException as exc:
            span.error = repr(exc)
            raise
        finally:
            span.end = time.perf_counter()
            self._current.reset(token)
            if self.on_finish is not None:
                self.on_finish(span)

    def current_span(self) -> RecordedSpan | None:
        """The innermost open span in the current context."""
        return self._current.get()

    @contextlib.contextmanager
    def activate(self, span: RecordedSpan) -> Iterator[RecordedSpan]:
        """Make ``span`` (even a finished one) the current span inside the block, so spans opened there
        become its children: how scores computed later are attached to a finished trace."""
        token = self._current.set(span)
        try:
            yield span
        finally:
            self._current.reset(token)

    @property
    def spans(self) -> list[RecordedSpan]:
        """A snapshot of all recorded spans, in opening order."""
        with self._lock:
            return list(self._spans)

    def find(
        self, operation_name: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> list[RecordedSpan]:
        """Spans with that operation name (any when None) whose tags include every item of ``tags``."""
        wanted = dict(tags or {})
        return [
            span
            for span in self.spans
            if (operation_name is None or span.operation_name == operation_name)
            and all(span.tags.get(key, _MISSING) == value for key, value in wanted.items())
        ]

    def component_spans(self, name: str | None = None) -> list[RecordedSpan]:
        """The ``haybale.component.run`` spans (of component ``name`` when given), in opening order."""
        return [
            span
            for span in self.spans
            if span.operation_name == COMPONENT_RUN
            and (name is None or span.tags.get("haybale.component.name") == name)
        ]

    def children(self, span: RecordedSpan) -> list[RecordedSpan]:
        """The spans opened directly inside ``span``."""
        return [s for s in self.spans if s.parent_id == span.span_id and s.trace_id == span.trace_id]

    def clear(self) -> None:
        """Forget all recorded spans."""
        with self._lock:
            self._spans.clear()


_MISSING = object()

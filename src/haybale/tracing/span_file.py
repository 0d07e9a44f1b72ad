"""Spans stored as JSON lines, for ``haybale eval traces`` and the live scorer to read back.

:class:`JsonlSpanTracer` appends each finished span to a file as one JSON object (``trace_id``, ``span_id``,
``parent_id``, ``name``, ``start_time``, ``duration_s``, ``tags``, ``error``); :func:`load_spans` reads such a
file (or any iterable of those dicts) back into :class:`~haybale.tracing.memory.RecordedSpan` objects.
Content tags (prompts, answers, document texts) are in the file only when content tracing is on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from haybale.errors import EvaluationError
from haybale.tracing.memory import InMemoryTracer, RecordedSpan
from haybale.tracing.tag_values import jsonable

__all__ = ["JsonlSpanTracer", "load_spans", "span_from_dict", "span_to_dict"]


def span_to_dict(span: RecordedSpan) -> dict[str, Any]:
    """One span as a JSON-ready dict."""
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_id": span.parent_id,
        "name": span.operation_name,
        "start_time": span.start_time,
        "duration_s": span.duration,
        "tags": span.tags,
        "error": span.error,
    }


def span_from_dict(data: Mapping[str, Any]) -> RecordedSpan:
    """Rebuild a span written by :func:`span_to_dict`.

    Raises:
        EvaluationError: a required key is missing or has the wrong type.
    """
    try:
        duration = data.get("duration_s")
        return RecordedSpan(
            str(data["name"]),
            dict(data.get("tags") or {}),
            span_id=int(data["span_id"]),
            parent_id=None if data.get("parent_id") is None else int(data["parent_id"]),
            start=0.0,
            end=None if duration is None else float(duration),
            error=data.get("error"),
            trace_id=str(data["trace_id"]),
            start_time=float(data.get("start_time") or 0.0),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise EvaluationError(
            f"Not a stored span (needs trace_id, span_id, name; got keys {sorted(data)}): {exc}. Store spans "
            "with haybale.tracing.JsonlSpanTracer."
        ) from exc


def load_spans(path: str | Path) -> list[RecordedSpan]:
    """Read a JSON-lines span file.

    Raises:
        EvaluationError: the file is missing or a line is not a stored span (the message gives the line).
    """
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvaluationError(f"Cannot read spans from {str(source)!r}: {exc.strerror or exc}.") from exc
    spans = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            spans.append(span_from_dict(json.loads(line)))
        except (json.JSONDecodeError, EvaluationError, AttributeError) as exc:
            raise EvaluationError(f"{source}:{number}: {exc}") from exc
    return spans


class JsonlSpanTracer(InMemoryTracer):
    """Appends every finished span to ``path`` as a JSON line (the file is created; existing lines stay).

    Spans are not kept in memory unless ``keep`` is True.

    Args:
        path: the JSON-lines file.
        keep: also keep spans in :attr:`spans`.
    """

    def __init__(self, path: str | Path, keep: bool = False) -> None:
        super().__init__(on_finish=self._write, keep=keep)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()

    def _write(self, span: RecordedSpan) -> None:
        line = json.dumps(span_to_dict(span), ensure_ascii=False, default=jsonable)
        with self._write_lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

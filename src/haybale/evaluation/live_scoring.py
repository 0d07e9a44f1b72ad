"""Scoring a sample of live traces, off the request path.

:class:`LiveTraceScorer` is a tracer that wraps another one (the exporter's). Every span goes to the wrapped
tracer as usual. For a random ``sample_rate`` fraction of pipeline runs it also keeps a copy of the spans'
tags, content included (kept in memory for scoring even when content tracing is off, so prompts are not
exported just to be scored). When the run's root span closes, the trace is queued; a background thread
scores it with the trace rubrics (:mod:`haybale.evaluation.trace_scoring`: deterministic first, a judge for
unsure rows when one is configured) and attaches the scores to the trace as an EVALUATOR span,
``haybale.evaluation``, a child of the run's root span, with one ``haybale.eval.<component>.<rubric>`` tag per
score. The request never waits for scoring: a full queue drops the trace (counted in ``dropped``).

Rolling means per component and rubric are kept for ``/metrics`` (:meth:`LiveTraceScorer.to_prometheus`): a
sustained drop there is the production alarm.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from haybale.core.tracing import PIPELINE_RUN, Span, Tracer
from haybale.errors import EvaluationError
from haybale.tracing import semconv
from haybale.tracing.capturing_span import CapturingSpan
from haybale.tracing.memory import RecordedSpan

__all__ = ["LiveTraceScorer", "RubricStats"]

logger = logging.getLogger(__name__)


@dataclass
class _Capture:
    trace_id: str
    spans: list[RecordedSpan] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))


@dataclass
class RubricStats:
    """Scores of one rubric on one component: all-time count and sum, and the recent window."""

    count: int = 0
    total: float = 0.0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=200))

    @property
    def rolling_mean(self) -> float | None:
        """The mean of the recent window (None before the first score)."""
        return sum(self.recent) / len(self.recent) if self.recent else None


class LiveTraceScorer:
    """Samples pipeline runs and scores them in the background (see the module docstring).

    Args:
        delegate: the tracer that receives every span (None: spans are only captured for scoring).
        sample_rate: the fraction of pipeline runs scored, 0 to 1.
        evaluators: rubric name -> evaluator; default the trace rubrics of
            :func:`~haybale.evaluation.trace_scoring.trace_rubric_evaluators` (deterministic).
        max_queue: traces waiting for scoring at most; more are dropped.
        window: recent scores per rubric the rolling mean covers.
        on_scored: called on the scoring thread with each trace's ``{metric key: score}``.
        seed: seed of the sampling decisions (reproducible tests).

    Raises:
        EvaluationError: a sample rate outside [0, 1] or a queue size below 1.
    """

    def __init__(
        self,
        delegate: Tracer | None = None,
        *,
        sample_rate: float = 0.1,
        evaluators: Mapping[str, Any] | None = None,
        max_queue: int = 100,
        window: int = 200,
        on_scored: Callable[[dict[str, float]], None] | None = None,
        seed: int | None = None,
    ) -> None:
        if (
            isinstance(sample_rate, bool)
            or not isinstance(sample_rate, int | float)
            or not 0 <= sample_rate <= 1
        ):
            raise EvaluationError(f"sample_rate must be a number from 0 to 1, got {sample_rate!r}.")
        if not isinstance(max_queue, int) or max_queue < 1:
            raise EvaluationError(f"max_queue must be a positive int, got {max_queue!r}.")
        self.delegate = delegate
        self.sample_rate = float(sample_rate)
        self.evaluators = evaluators
        self.window = window
        self.on_scored = on_scored
        self.sampled = 0
        self.scored = 0
        self.dropped = 0
        self.failed = 0
        self.stats: dict[tuple[str, str], RubricStats] = {}
        self._random = random.Random(seed)
        self._queue: queue.Queue[tuple[list[RecordedSpan], Span] | None] = queue.Queue(max_queue)
        self._capture: contextvars.ContextVar[_Capture | None] = contextvars.ContextVar(
            f"haybale_live_capture_{id(self)}", default=None
        )
        self._parent: contextvars.ContextVar[int | None] = contextvars.ContextVar(
            f"haybale_live_parent_{id(self)}", default=None
        )
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._pending = 0
        self._idle = threading.Condition(self._lock)

    # ---------------------------------------------------------------------------------------- tracing
    @contextlib.contextmanager
    def trace(self, operation_name: str, tags: Mapping[str, Any] | None = None) -> Iterator[Span]:
        """Open a span on the delegate; capture it when its run was sampled."""
        capture = self._capture.get()
        token = None
        if capture is None and operation_name == PIPELINE_RUN and self._sample():
            capture = _Capture(trace_id=f"{self._random.getrandbits(128):032x}")
            token = self._capture.set(capture)
        span = CapturingSpan(operation_name, tags, None, capture_content=capture is not None)
        record = self._open_record(capture, operation_name, span)
        parent_token = None if record is None else self._parent.set(record.span_id)
        try:
            if self.delegate is None:
                yield span
            else:
                with self.delegate.trace(operation_name, tags) as inner:
                    span.inner = inner
                    yield span
        except BaseException as exc:
            if record is not None:
                record.error = repr(exc)
            raise
        finally:
            if record is not None and parent_token is not None:
                record.end = time.perf_counter()
                self._parent.reset(parent_token)
            if token is not None:
                self._capture.reset(token)
                if capture is not None:
                    self._enqueue(capture.spans, span)

    def _sample(self) -> bool:
        return self.sample_rate > 0 and self._random.random() < self.sample_rate

    def _open_record(
        self, capture: _Capture | None, operation_name: str, span: CapturingSpan
    ) -> RecordedSpan | None:
        if capture is None:
            return None
        with self._lock:  # tool calls and async branches open spans of one run from several threads
            span_id = next(capture.ids)
        record = RecordedSpan(
            operation_name,
            span.tags,  # the same dict: tags set later are seen at scoring time
            span_id=span_id,
            parent_id=self._parent.get(),
            start=time.perf_counter(),
            trace_id=capture.trace_id,
            start_time=time.time(),
        )
        capture.spans.append(record)
        return record

    def current_span(self) -> Span | None:
        """The delegate's current span (None without a delegate)."""
        return None if self.delegate is None else self.delegate.current_span()

    # ---------------------------------------------------------------------------------------- scoring
    def _enqueue(self, spans: list[RecordedSpan], root: Span) -> None:
        with self._lock:
            self.sampled += 1
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="haybale-live-scoring", daemon=True)
                self._worker.start()
            try:
                self._queue.put_nowait((spans, root))
            except queue.Full:
                self.dropped += 1
                return
            self._pending += 1

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._score(*item)
            except Exception:  # scoring must never take the service down; the failure is counted and logged
                self.failed += 1
                logger.warning("Scoring a sampled trace failed", exc_info=True)
            finally:
                with self._lock:
                    self._pending -= 1
                    self._idle.notify_all()

    def _score(self, spans: list[RecordedSpan], root: Span) -> None:
        from haybale.evaluation.trace_scoring import score_traces, trace_rubric_evaluators

        if self.evaluators is None:
            self.evaluators = trace_rubric_evaluators()
        report = score_traces(spans, self.evaluators, name="live").report
        scores: dict[str, float] = {}
        escalated = 0
        for row in report.rows:
            for metric in report.metrics:
                value = row.scores.get(metric.key)
                if value is None:
                    continue
                scores[metric.key] = value
                escalated += bool(row.details.get(metric.key, {}).get("escalated"))
                with self._lock:
                    stats = self.stats.setdefault(
                        (metric.component, metric.metric), RubricStats(recent=deque(maxlen=self.window))
                    )
                    stats.count += 1
                    stats.total += value
                    stats.recent.append(value)
        self.scored += 1
        self._attach(root, scores, escalated)
        if self.on_scored is not None:
            self.on_scored(scores)

    def _attach(self, root: Span, scores: dict[str, float], escalated: int) -> None:
        if self.delegate is None or not scores:
            return
        tags: dict[str, Any] = {semconv.SPAN_KIND: semconv.EVALUATOR, "haybale.eval.escalated": escalated}
        tags.update({f"{semconv.EVALUATION_PREFIX}{key}": value for key, value in scores.items()})
        activate = getattr(self.delegate, "activate", None)
        inner = root.inner if isinstance(root, CapturingSpan) else root
        context = activate(inner) if callable(activate) and inner is not None else contextlib.nullcontext()
        with context, self.delegate.trace(semconv.EVALUATION, tags):
            pass

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued trace is scored; False when ``timeout`` seconds passed first."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Score what is queued (up to ``timeout`` seconds) and stop the scoring thread."""
        self.flush(timeout)
        worker = self._worker
        if worker is not None and worker.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=timeout)
            worker.join(timeout)

    # ---------------------------------------------------------------------------------------- export
    def to_prometheus(self, prefix: str = "haybale") -> str:
        """Rolling means and counts of the live scores, in the Prometheus text format."""
        name = f"{prefix}_live_rubric_score"
        lines = [
            f"# HELP {name} Rolling mean of the rubric scores of sampled live traces (last {self.window}).",
            f"# TYPE {name} gauge",
        ]
        with self._lock:
            stats = sorted(self.stats.items())
            counters = {
                "sampled": self.sampled,
                "scored": self.scored,
                "dropped": self.dropped,
                "failed": self.failed,
            }
        for (component, rubric), entry in stats:
            mean = entry.rolling_mean
            if mean is not None:
                lines.append(
                    f'{name}{{component="{_escape(component)}",rubric="{_escape(rubric)}"}} {mean!r}'
                )
        for counter, value in counters.items():
            metric = f"{prefix}_live_traces_{counter}_total"
            lines += [f"# HELP {metric} Live traces {counter} for scoring.", f"# TYPE {metric} counter"]
            lines.append(f"{metric} {value}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

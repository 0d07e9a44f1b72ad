"""In-process pipeline metrics: run/error counters and latency histograms per component and per pipeline.

:class:`MetricsTracer` fills a :class:`PipelineMetrics` from the engine's spans (optionally passing every span
on to another tracer); export with :meth:`PipelineMetrics.to_dict` or :meth:`PipelineMetrics.to_prometheus`.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from haybale.core.tracing import COMPONENT_RUN, PIPELINE_RUN, Span, Tracer
from haybale.tracing.memory import RecordedSpan

__all__ = ["DEFAULT_BUCKETS", "LatencyHistogram", "MetricsTracer", "PipelineMetrics"]

#: histogram upper bounds in seconds (Prometheus-style, cumulative; +Inf is implied)
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


@dataclass
class LatencyHistogram:
    """Counts of observations per latency bucket, plus their sum and count."""

    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.buckets) + 1)  # the last slot is +Inf

    def observe(self, seconds: float) -> None:
        """Add one observation."""
        self.counts[bisect.bisect_left(self.buckets, seconds)] += 1
        self.total += seconds
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, cumulative count)`` pairs, ending with ``("+Inf", count)``."""
        pairs: list[tuple[str, int]] = []
        running = 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            running += count
            pairs.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return pairs


@dataclass
class _Series:
    runs: int
    errors: int
    latency: LatencyHistogram


class PipelineMetrics:
    """Thread-safe counters and latency histograms keyed by component name (and one for whole runs).

    Args:
        buckets: histogram upper bounds in seconds, increasing.

    Raises:
        ValueError: the buckets are empty or not strictly increasing.
    """

    def __init__(self, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        bounds = tuple(float(b) for b in buckets)
        if not bounds or any(a >= b for a, b in itertools.pairwise(bounds)):
            raise ValueError(
                f"PipelineMetrics buckets must be non-empty and strictly increasing, got {buckets!r}."
            )
        self.buckets = bounds
        self._lock = threading.Lock()
        self._components: dict[str, _Series] = {}
        self._pipeline = _Series(0, 0, LatencyHistogram(bounds))

    def record_component(self, name: str, seconds: float, failed: bool = False) -> None:
        """Count one visit of component ``name`` that took ``seconds`` (and failed, if ``failed``)."""
        with self._lock:
            series = self._components.get(name)
            if series is None:
                series = self._components[name] = _Series(0, 0, LatencyHistogram(self.buckets))
            series.runs += 1
            series.errors += failed
            series.latency.observe(seconds)

    def record_pipeline(self, seconds: float, failed: bool = False) -> None:
        """Count one pipeline run that took ``seconds``."""
        with self._lock:
            self._pipeline.runs += 1
            self._pipeline.errors += failed
            self._pipeline.latency.observe(seconds)

    def reset(self) -> None:
        """Forget everything recorded."""
        with self._lock:
            self._components.clear()
            self._pipeline = _Series(0, 0, LatencyHistogram(self.buckets))

    @staticmethod
    def _series_dict(series: _Series) -> dict[str, Any]:
        count = series.latency.count
        return {
            "runs": series.runs,
            "errors": series.errors,
            "latency_seconds": {
                "count": count,
                "sum": series.latency.total,
                "mean": series.latency.total / count if count else 0.0,
                "buckets": dict(series.latency.cumulative()),
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """``{"pipeline": {...}, "components": {name: {"runs", "errors", "latency_seconds": {...}}}}``."""
        with self._lock:
            return {
                "pipeline": self._series_dict(self._pipeline),
                "components": {name: self._series_dict(s) for name, s in sorted(self._components.items())},
            }

    def to_prometheus(self, prefix: str = "haybale") -> str:
        """The metrics in the Prometheus text exposition format (version 0.0.4)."""
        with self._lock:
            pipeline = [("", self._pipeline)]
            components = [(f'component="{_escape(n)}"', s) for n, s in sorted(self._components.items())]
        lines: list[str] = []
        for scope, rows in (("pipeline", pipeline), ("component", components)):
            base = f"{prefix}_{scope}"
            lines += [f"# HELP {base}_runs_total Finished {scope} runs.", f"# TYPE {base}_runs_total counter"]
            lines += [f"{base}_runs_total{_labels(lab)} {s.runs}" for lab, s in rows]
            lines += [
                f"# HELP {base}_errors_total Failed {scope} runs.",
                f"# TYPE {base}_errors_total counter",
            ]
            lines += [f"{base}_errors_total{_labels(lab)} {s.errors}" for lab, s in rows]
            lines += [
                f"# HELP {base}_latency_seconds Duration of {scope} runs.",
                f"# TYPE {base}_latency_seconds histogram",
            ]
            for lab, s in rows:
                for le, count in s.latency.cumulative():
                    joined = f'{lab},le="{le}"' if lab else f'le="{le}"'
                    lines.append(f"{base}_latency_seconds_bucket{{{joined}}} {count}")
                lines.append(f"{base}_latency_seconds_sum{_labels(lab)} {s.latency.total!r}")
                lines.append(f"{base}_latency_seconds_count{_labels(lab)} {s.latency.count}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: str) -> str:
    return f"{{{labels}}}" if labels else ""


class MetricsTracer:
    """A tracer that times ``haybale.pipeline.run`` and ``haybale.component.run`` spans into metrics.

    Args:
        metrics: where to record; a new :class:`PipelineMetrics` when None.
        delegate: another tracer that also receives every span (e.g. an OpenTelemetryTracer); None: spans
            are only timed.
    """

    def __init__(self, metrics: PipelineMetrics | None = None, delegate: Tracer | None = None) -> None:
        self.metrics = metrics if metrics is not None else PipelineMetrics()
        self.delegate = delegate

    @contextlib.contextmanager
    def trace(self, operation_name: str, tags: Mapping[str, Any] | None = None) -> Iterator[Span]:
        """Open a span (on the delegate, if any) and record its duration when it closes."""
        start = time.perf_counter()
        failed = False
        try:
            if self.delegate is None:
                yield RecordedSpan(operation_name, dict(tags or {}))
            else:
                with self.delegate.trace(operation_name, tags) as span:
                    yield span
        except BaseException:
            failed = True
            raise
        finally:
            seconds = time.perf_counter() - start
            if operation_name == COMPONENT_RUN:
                name = str((tags or {}).get("haybale.component.name", "unknown"))
                self.metrics.record_component(name, seconds, failed)
            elif operation_name == PIPELINE_RUN:
                self.metrics.record_pipeline(seconds, failed)

    def current_span(self) -> Span | None:
        """The delegate's current span (None without a delegate)."""
        return None if self.delegate is None else self.delegate.current_span()

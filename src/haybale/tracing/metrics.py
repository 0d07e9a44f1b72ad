"""In-process pipeline metrics: run/error counters, latency histograms and recent-latency percentiles (p50,
p95, p99) per component and per pipeline, and token usage per component and model.

:class:`MetricsTracer` fills a :class:`PipelineMetrics` from the engine's spans (optionally passing every span
on to another tracer); export with :meth:`PipelineMetrics.to_dict` or :meth:`PipelineMetrics.to_prometheus`.
Token usage comes from the ``gen_ai.usage.*`` tags the GenAI enricher puts on model spans; a model call inside
a component (an agent's steps) counts for that component.
"""

from __future__ import annotations

import bisect
import contextlib
import contextvars
import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from haybale.core.tracing import COMPONENT_RUN, PIPELINE_RUN, Span, Tracer
from haybale.tracing import semconv
from haybale.tracing.capturing_span import CapturingSpan

__all__ = [
    "DEFAULT_BUCKETS",
    "PERCENTILES",
    "LatencyHistogram",
    "MetricsTracer",
    "PipelineMetrics",
    "percentile",
]

#: the latency percentiles reported, as (label, fraction)
PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))

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


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending, non-empty sequence (``fraction`` in (0, 1])."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


@dataclass
class _Series:
    runs: int
    errors: int
    latency: LatencyHistogram
    recent: deque[float]

    def percentiles(self) -> dict[str, float | None]:
        ordered = sorted(self.recent)
        return {label: percentile(ordered, q) if ordered else None for label, q in PERCENTILES}


class PipelineMetrics:
    """Thread-safe counters, latency histograms and recent-latency windows keyed by component name (and one
    for whole runs), plus token usage per component and model.

    Args:
        buckets: histogram upper bounds in seconds, increasing.
        window: how many most recent latencies per component the percentiles are computed over.

    Raises:
        ValueError: the buckets are empty or not strictly increasing, or the window is < 1.
    """

    def __init__(self, buckets: Sequence[float] = DEFAULT_BUCKETS, window: int = 1000) -> None:
        bounds = tuple(float(b) for b in buckets)
        if not bounds or any(a >= b for a, b in itertools.pairwise(bounds)):
            raise ValueError(
                f"PipelineMetrics buckets must be non-empty and strictly increasing, got {buckets!r}."
            )
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"PipelineMetrics window must be a positive int, got {window!r}.")
        self.buckets = bounds
        self.window = window
        self._lock = threading.Lock()
        self._components: dict[str, _Series] = {}
        self._pipeline = self._new_series()
        self._tokens: dict[tuple[str, str], list[int]] = {}

    def _new_series(self) -> _Series:
        return _Series(0, 0, LatencyHistogram(self.buckets), deque(maxlen=self.window))

    def record_component(self, name: str, seconds: float, failed: bool = False) -> None:
        """Count one visit of component ``name`` that took ``seconds`` (and failed, if ``failed``)."""
        with self._lock:
            series = self._components.get(name)
            if series is None:
                series = self._components[name] = self._new_series()
            series.runs += 1
            series.errors += failed
            series.latency.observe(seconds)
            series.recent.append(seconds)

    def record_pipeline(self, seconds: float, failed: bool = False) -> None:
        """Count one pipeline run that took ``seconds``."""
        with self._lock:
            self._pipeline.runs += 1
            self._pipeline.errors += failed
            self._pipeline.latency.observe(seconds)
            self._pipeline.recent.append(seconds)

    def record_tokens(
        self, component: str, model: str, input_tokens: int = 0, output_tokens: int = 0
    ) -> None:
        """Add token usage of one model call made by ``component`` with ``model``."""
        with self._lock:
            counts = self._tokens.setdefault((component, model), [0, 0])
            counts[0] += int(input_tokens)
            counts[1] += int(output_tokens)

    def latency_percentiles(self, component: str | None = None) -> dict[str, float | None]:
        """``{"p50", "p95", "p99"}`` seconds over the recent window of ``component`` (whole runs when None);
        None values when nothing was recorded.

        Raises:
            KeyError: no visit of ``component`` was recorded.
        """
        with self._lock:
            series = self._pipeline if component is None else self._components[component]
            return series.percentiles()

    def tokens(self) -> dict[str, dict[str, dict[str, int]]]:
        """``{component: {model: {"input": n, "output": m}}}``."""
        with self._lock:
            result: dict[str, dict[str, dict[str, int]]] = {}
            for (component, model), (inp, out) in sorted(self._tokens.items()):
                result.setdefault(component, {})[model] = {"input": inp, "output": out}
            return result

    def reset(self) -> None:
        """Forget everything recorded."""
        with self._lock:
            self._components.clear()
            self._pipeline = self._new_series()
            self._tokens.clear()

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
                **series.percentiles(),
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """``{"pipeline": {...}, "components": {name: {"runs", "errors", "latency_seconds": {..., "p50",
        "p95", "p99"}}}, "tokens": {component: {model: {"input", "output"}}}}``."""
        tokens = self.tokens()
        with self._lock:
            return {
                "pipeline": self._series_dict(self._pipeline),
                "components": {name: self._series_dict(s) for name, s in sorted(self._components.items())},
                "tokens": tokens,
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
            lines += _percentile_lines(base, scope, rows, self.window)
        lines += self._token_lines(prefix)
        return "\n".join(lines) + "\n"

    def _token_lines(self, prefix: str) -> list[str]:
        name = f"{prefix}_gen_ai_tokens_total"
        lines = [
            f"# HELP {name} Model tokens used, by component, model and type (input/output).",
            f"# TYPE {name} counter",
        ]
        for component, models in self.tokens().items():
            for model, counts in models.items():
                for kind in ("input", "output"):
                    labels = f'component="{_escape(component)}",model="{_escape(model)}",type="{kind}"'
                    lines.append(f"{name}{{{labels}}} {counts[kind]}")
        return lines


def _percentile_lines(base: str, scope: str, rows: list[tuple[str, _Series]], window: int) -> list[str]:
    name = f"{base}_latency_recent_seconds"
    lines = [
        f"# HELP {name} Latency percentiles of the last {window} {scope} runs.",
        f"# TYPE {name} summary",
    ]
    for lab, series in rows:
        ordered = sorted(series.recent)
        if not ordered:
            continue
        for _, q in PERCENTILES:
            joined = f'{lab},quantile="{q}"' if lab else f'quantile="{q}"'
            lines.append(f"{name}{{{joined}}} {percentile(ordered, q)!r}")
        lines.append(f"{name}_sum{_labels(lab)} {math.fsum(ordered)!r}")
        lines.append(f"{name}_count{_labels(lab)} {len(ordered)}")
    return lines


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: str) -> str:
    return f"{{{labels}}}" if labels else ""


class MetricsTracer:
    """A tracer that times ``haybale.pipeline.run`` and ``haybale.component.run`` spans into metrics and
    counts the token usage model spans report.

    Args:
        metrics: where to record; a new :class:`PipelineMetrics` when None.
        delegate: another tracer that also receives every span (e.g. an OpenTelemetryTracer); None: spans
            are only timed.
    """

    def __init__(self, metrics: PipelineMetrics | None = None, delegate: Tracer | None = None) -> None:
        self.metrics = metrics if metrics is not None else PipelineMetrics()
        self.delegate = delegate
        self._component: contextvars.ContextVar[str | None] = contextvars.ContextVar(
            f"haybale_metrics_component_{id(self)}", default=None
        )

    @contextlib.contextmanager
    def trace(self, operation_name: str, tags: Mapping[str, Any] | None = None) -> Iterator[Span]:
        """Open a span (on the delegate, if any) and record its duration and token usage when it closes."""
        given = tags or {}
        start = time.perf_counter()
        failed = False
        component = self._component.get()
        token = None
        if operation_name == COMPONENT_RUN:
            component = str(given.get("haybale.component.name", "unknown"))
            token = self._component.set(component)
        span = CapturingSpan(operation_name, given, None)
        try:
            if self.delegate is None:
                yield span
            else:
                with self.delegate.trace(operation_name, tags) as inner:
                    span.inner = inner
                    yield span
        except BaseException:
            failed = True
            raise
        finally:
            if token is not None:
                self._component.reset(token)
            self._record(operation_name, span, component, time.perf_counter() - start, failed)

    def _record(
        self, operation_name: str, span: CapturingSpan, component: str | None, seconds: float, failed: bool
    ) -> None:
        if operation_name == COMPONENT_RUN:
            self.metrics.record_component(component or "unknown", seconds, failed)
        elif operation_name == PIPELINE_RUN:
            self.metrics.record_pipeline(seconds, failed)
        tags = span.tags
        used_in, used_out = tags.get(semconv.GEN_AI_INPUT_TOKENS), tags.get(semconv.GEN_AI_OUTPUT_TOKENS)
        if used_in is None and used_out is None:
            return
        model = tags.get(semconv.GEN_AI_RESPONSE_MODEL) or tags.get(semconv.GEN_AI_REQUEST_MODEL) or "unknown"
        self.metrics.record_tokens(component or "unknown", str(model), int(used_in or 0), int(used_out or 0))

    def current_span(self) -> Span | None:
        """The delegate's current span (None without a delegate)."""
        return None if self.delegate is None else self.delegate.current_span()

    def activate(self, span: Span) -> contextlib.AbstractContextManager[Any]:
        """Make ``span`` current on the delegate (when it can), so later spans join its trace."""
        activate = getattr(self.delegate, "activate", None)
        inner = span.inner if isinstance(span, CapturingSpan) else span
        if callable(activate) and inner is not None:
            return activate(inner)  # type: ignore[no-any-return]
        return contextlib.nullcontext(span)

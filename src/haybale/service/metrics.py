"""Service metrics in the Prometheus text exposition format (``GET /metrics``), with no extra dependency.

Exposed series:

* ``haybale_http_requests_total{method, route, status}`` — requests answered, by route template (so
  ``/pipelines/{name}/run`` is one series, not one per name);
* ``haybale_http_request_duration_seconds{method, route}`` — a latency histogram;
* ``haybale_documents_indexed_total`` / ``haybale_documents_processed_total`` /
  ``haybale_documents_deleted_total`` — chunks written, files ingested, chunks deleted.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from haybale.tracing.metrics import LatencyHistogram

__all__ = ["LATENCY_BUCKETS", "ServiceMetrics"]

#: Histogram bucket upper bounds, in seconds.
LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels.items()) + "}"


class ServiceMetrics:
    """Thread-safe counters and histograms of one app instance."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._latency: dict[tuple[str, str], LatencyHistogram] = {}
        self._documents = {"indexed": 0, "processed": 0, "deleted": 0}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            histogram = self._latency.get((method, route))
            if histogram is None:
                histogram = self._latency[(method, route)] = LatencyHistogram(LATENCY_BUCKETS)
            histogram.observe(seconds)

    def count_documents(self, *, indexed: int = 0, processed: int = 0, deleted: int = 0) -> None:
        """Add to the document counters."""
        with self._lock:
            self._documents["indexed"] += indexed
            self._documents["processed"] += processed
            self._documents["deleted"] += deleted

    def render(self) -> str:
        """All metrics in the Prometheus text format (version 0.0.4)."""
        lines: list[str] = []
        with self._lock:
            lines += [
                "# HELP haybale_http_requests_total HTTP requests answered, by method, route and status.",
                "# TYPE haybale_http_requests_total counter",
            ]
            for (method, route, status), count in sorted(self._requests.items()):
                lines.append(
                    f"haybale_http_requests_total{_labels(method=method, route=route, status=status)} {count}"
                )
            lines += [
                "# HELP haybale_http_request_duration_seconds Request latency, by method and route.",
                "# TYPE haybale_http_request_duration_seconds histogram",
            ]
            name = "haybale_http_request_duration_seconds"
            for (method, route), histogram in sorted(self._latency.items()):
                for le, count in histogram.cumulative():
                    lines.append(f"{name}_bucket{_labels(method=method, route=route, le=le)} {count}")
                lines.append(f"{name}_sum{_labels(method=method, route=route)} {histogram.total}")
                lines.append(f"{name}_count{_labels(method=method, route=route)} {histogram.count}")
            for kind, help_text in (
                ("indexed", "Chunks written to the document store by /process."),
                ("processed", "Files converted and indexed by /process."),
                ("deleted", "Chunks deleted by /delete."),
            ):
                lines += [
                    f"# HELP haybale_documents_{kind}_total {help_text}",
                    f"# TYPE haybale_documents_{kind}_total counter",
                    f"haybale_documents_{kind}_total {self._documents[kind]}",
                ]
        return "\n".join(lines) + "\n"

"""What tracing produces besides spans: token usage and latency percentiles in the metrics, JSON log lines
that carry trace ids, and spans stored as JSON lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from haybale import Pipeline, component
from haybale.core import tracing as core_tracing
from haybale.dataclasses import ChatMessage
from haybale.errors import EvaluationError
from haybale.tracing import (
    InMemoryTracer,
    JsonLogFormatter,
    JsonlSpanTracer,
    LoggingTracer,
    MetricsTracer,
    PipelineMetrics,
    enable_tracing,
    load_spans,
)
from haybale.tracing.metrics import percentile

log = logging.getLogger("haybale.tests.component")


@component
class _Echo:
    @component.output_types(text=str)
    def run(self, text: str) -> dict[str, Any]:
        log.info("echoing %s", text)
        return {"text": text}


def _chat_pipeline(generator: Any) -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("llm", generator)
    return pipeline


def test_metrics_count_tokens_per_component_and_model(scripted_generator: Callable[..., Any]) -> None:
    _, generator = scripted_generator([ChatMessage.from_assistant("one two three")])
    metrics_tracer = MetricsTracer(delegate=InMemoryTracer())
    enable_tracing(metrics_tracer)
    pipeline = _chat_pipeline(generator)
    for _ in range(2):
        pipeline.run({"llm": {"messages": [ChatMessage.from_user("say three words")]}})
    tokens = metrics_tracer.metrics.to_dict()["tokens"]
    assert tokens == {"llm": {"scripted-model": {"input": 6, "output": 6}}}
    text = metrics_tracer.metrics.to_prometheus()
    assert 'haybale_gen_ai_tokens_total{component="llm",model="scripted-model",type="output"} 6' in text


def test_latency_percentiles_over_the_recent_window() -> None:
    metrics = PipelineMetrics(window=100)
    for millis in range(1, 201):  # only the last 100 (101..200 ms) count
        metrics.record_component("retriever", millis / 1000)
    assert metrics.latency_percentiles("retriever") == {"p50": 0.15, "p95": 0.195, "p99": 0.199}
    summary = metrics.to_dict()["components"]["retriever"]["latency_seconds"]
    assert summary["p99"] == 0.199 and summary["count"] == 200
    text = metrics.to_prometheus()
    assert "# TYPE haybale_component_latency_recent_seconds summary" in text
    assert 'haybale_component_latency_recent_seconds{component="retriever",quantile="0.95"} 0.195' in text
    assert metrics.latency_percentiles() == {"p50": None, "p95": None, "p99": None}
    assert percentile([1.0], 0.99) == 1.0
    with pytest.raises(ValueError, match="window"):
        PipelineMetrics(window=0)


def test_metrics_tracer_times_pipeline_components() -> None:
    metrics_tracer = MetricsTracer()
    enable_tracing(metrics_tracer)
    pipeline = Pipeline()
    pipeline.add_component("echo", _Echo())
    pipeline.run({"text": "x"})
    percentiles = metrics_tracer.metrics.latency_percentiles("echo")
    assert percentiles["p50"] is not None and percentiles["p50"] <= percentiles["p99"]  # type: ignore[operator]


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_logs_carry_the_trace_ids_of_the_open_span() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger("haybale")
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        enable_tracing(LoggingTracer(logger_name="haybale.tracing"))
        pipeline = Pipeline()
        pipeline.add_component("echo", _Echo())
        pipeline.run({"text": "hello"})
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    lines = _json_lines(stream)
    echo_log = next(line for line in lines if line["message"] == "echoing hello")
    by_name = {line["span"]["name"]: line for line in lines if "span" in line}
    component_span, pipeline_span = by_name["haybale.component.run"], by_name["haybale.pipeline.run"]
    assert echo_log["trace_id"] == component_span["trace_id"] == pipeline_span["trace_id"]
    assert echo_log["span_id"] == component_span["span_id"]
    assert component_span["span"]["parent_id"] == pipeline_span["span_id"]
    assert component_span["span"]["kind"] == "CHAIN"
    assert component_span["level"] == "INFO" and component_span["logger"] == "haybale.tracing"
    assert len(echo_log["trace_id"]) == 32


def test_json_logs_outside_spans_and_with_exceptions() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %d", (3,), None)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    entry = json.loads(JsonLogFormatter().format(record))
    assert entry["message"] == "failed 3" and "trace_id" not in entry
    assert "ValueError: boom" in entry["exception"]


def test_spans_stored_as_json_lines_load_back(tmp_path: Any) -> None:
    path = tmp_path / "spans" / "spans.jsonl"
    enable_tracing(JsonlSpanTracer(path), content_tracing=True)
    pipeline = Pipeline()
    pipeline.add_component("echo", _Echo())
    pipeline.run({"text": "stored"})
    pipeline.run({"text": "again"})
    spans = load_spans(path)
    assert [s.operation_name for s in spans] == ["haybale.component.run", "haybale.pipeline.run"] * 2
    first, root = spans[:2]
    assert first.parent_id == root.span_id and first.trace_id == root.trace_id != spans[2].trace_id
    assert first.tags["haybale.component.output"] == {"text": "stored"}
    assert first.duration is not None and first.duration >= 0
    path.write_text('{"name": "x"}\n', encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"spans.jsonl:1: Not a stored span"):
        load_spans(path)


class _BrokenEnricher:
    def on_start(self, operation_name: str, span: Any, instance: Any, inputs: Any) -> None:
        raise RuntimeError("enricher bug")

    def on_end(self, operation_name: str, span: Any, instance: Any, outputs: Any) -> None:
        raise RuntimeError("enricher bug")


def test_a_failing_enricher_never_breaks_the_run(caplog: pytest.LogCaptureFixture) -> None:
    memory = InMemoryTracer()
    enable_tracing(memory, enrichers=[_BrokenEnricher()])
    pipeline = Pipeline()
    pipeline.add_component("echo", _Echo())
    with caplog.at_level(logging.WARNING, logger="haybale.core.tracing"):
        assert pipeline.run({"text": "x"}) == {"echo": {"text": "x"}}
    assert any("enricher bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    with pytest.raises(TypeError, match="on_start"):
        core_tracing.enable_tracing(memory, enrichers=[object()])  # type: ignore[list-item]

"""Concrete tracers (in-memory, logging, metrics, OpenTelemetry) driven by a real pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from haybale import Document, Pipeline, component
from haybale.errors import PipelineRuntimeError
from haybale.tracing import (
    InMemoryTracer,
    LoggingTracer,
    MetricsTracer,
    OpenTelemetryTracer,
    PipelineMetrics,
    coerce_tag_value,
    disable_tracing,
    enable_tracing,
    is_tracing_enabled,
    tracer,
)


@component
class _Upper:
    @component.output_types(text=str)
    def run(self, text: str) -> dict[str, Any]:
        if text == "boom":
            raise ValueError("refusing boom")
        return {"text": text.upper()}


@component
class _Wrap:
    @component.output_types(documents=list[Document])
    def run(self, text: str) -> dict[str, Any]:
        return {"documents": [Document(content=text)]}


def _pipeline() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("upper", _Upper())
    pipeline.add_component("wrap", _Wrap())
    pipeline.connect("upper.text", "wrap.text")
    return pipeline


@pytest.fixture(autouse=True)
def _tracing_off() -> Iterator[None]:
    yield
    disable_tracing()


def test_in_memory_tracer_records_tree_timing_and_content() -> None:
    memory = InMemoryTracer()
    enable_tracing(memory, content_tracing=True)
    assert is_tracing_enabled()
    result = _pipeline().run({"text": "hi"})
    assert result["wrap"]["documents"][0].content == "HI"
    root = memory.find("haybale.pipeline.run")[0]
    assert [s.tags["haybale.component.name"] for s in memory.children(root)] == ["upper", "wrap"]
    upper = memory.component_spans("upper")[0]
    assert upper.tags["haybale.component.output"] == {"text": "HI"}
    assert upper.duration is not None and upper.duration >= 0
    assert root.duration is not None and root.duration >= upper.duration
    assert memory.find(tags={"haybale.component.name": "wrap"})[0].error is None
    memory.clear()
    assert memory.spans == []


def test_in_memory_tracer_async_and_errors() -> None:
    memory = InMemoryTracer()
    enable_tracing(memory, content_tracing=False)
    asyncio.run(_pipeline().run_async({"text": "hi"}))
    assert [s.tags.get("haybale.component.name") for s in memory.spans] == [None, "upper", "wrap"]
    assert "haybale.component.output" not in memory.spans[1].tags
    memory.clear()
    with pytest.raises(PipelineRuntimeError):
        _pipeline().run({"text": "boom"})
    (failed,) = memory.component_spans("upper")
    assert failed.error is not None and "refusing boom" in failed.error
    assert memory.component_spans("wrap") == []


def test_logging_tracer_logs_tags_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    enable_tracing(LoggingTracer(tag_colors={"haybale.component.name": "\x1b[1;34m"}), content_tracing=True)
    with caplog.at_level(logging.INFO, logger="haybale.tracing"):
        _pipeline().run({"text": "hi"})
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3  # two components, then the pipeline
    assert messages[0].startswith("Operation: haybale.component.run (")
    assert "\x1b[1;34mhaybale.component.name=upper\x1b[0m" in messages[0]
    assert 'haybale.component.output={"text": "HI"}' in messages[0]
    assert messages[2].startswith("Operation: haybale.pipeline.run")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="haybale.tracing"), pytest.raises(PipelineRuntimeError):
        _pipeline().run({"text": "boom"})
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "refusing boom" in errors[0].getMessage()


def test_logging_tracer_without_colour_cuts_long_values(caplog: pytest.LogCaptureFixture) -> None:
    logging_tracer = LoggingTracer(max_value_length=10)
    with caplog.at_level(logging.INFO, logger="haybale.tracing"), logging_tracer.trace("op", {"v": "x" * 50}):
        assert logging_tracer.current_span() is not None
    (message,) = [r.getMessage() for r in caplog.records]
    assert "v=xxxxxxxxxx... (50 chars)" in message
    assert "\x1b[" not in message


def test_metrics_tracer_counts_and_exports() -> None:
    metrics = PipelineMetrics(buckets=(0.5, 60.0))
    memory = InMemoryTracer()
    enable_tracing(MetricsTracer(metrics, delegate=memory))
    pipeline = _pipeline()
    pipeline.run({"text": "a"})
    pipeline.run({"text": "b"})
    with pytest.raises(PipelineRuntimeError):
        pipeline.run({"text": "boom"})
    assert len(memory.find("haybale.pipeline.run")) == 3  # the delegate saw every span
    data = metrics.to_dict()
    assert data["pipeline"]["runs"] == 3 and data["pipeline"]["errors"] == 1
    assert data["components"]["upper"]["runs"] == 3
    assert data["components"]["upper"]["errors"] == 1
    assert data["components"]["wrap"]["runs"] == 2
    latency = data["components"]["wrap"]["latency_seconds"]
    assert latency["count"] == 2 and latency["buckets"]["+Inf"] == 2 and latency["buckets"]["0.5"] == 2
    text = metrics.to_prometheus()
    assert "# TYPE haybale_component_runs_total counter" in text
    assert 'haybale_component_runs_total{component="upper"} 3' in text
    assert 'haybale_component_errors_total{component="upper"} 1' in text
    assert 'haybale_component_latency_seconds_bucket{component="wrap",le="+Inf"} 2' in text
    assert 'haybale_component_latency_seconds_count{component="wrap"} 2' in text
    assert "haybale_pipeline_runs_total 3" in text
    metrics.reset()
    assert metrics.to_dict()["components"] == {}


def test_metrics_histogram_buckets_and_validation() -> None:
    metrics = PipelineMetrics(buckets=(0.1, 1.0))
    metrics.record_component('we"ird\nname', 0.05)
    metrics.record_component('we"ird\nname', 0.5)
    metrics.record_component('we"ird\nname', 5.0, failed=True)
    buckets = metrics.to_dict()["components"]['we"ird\nname']["latency_seconds"]["buckets"]
    assert buckets == {"0.1": 1, "1.0": 2, "+Inf": 3}
    assert 'component="we\\"ird\\nname"' in metrics.to_prometheus()
    with pytest.raises(ValueError, match="strictly increasing"):
        PipelineMetrics(buckets=(1.0, 0.5))


def test_metrics_tracer_alone_hands_out_spans() -> None:
    metrics_tracer = MetricsTracer()
    enable_tracing(metrics_tracer)
    with tracer.trace("custom", {"a": 1}) as span:
        span.set_tag("b", 2)
    assert metrics_tracer.current_span() is None
    assert metrics_tracer.metrics.to_dict()["pipeline"]["runs"] == 0


def test_coerce_tag_value() -> None:
    assert coerce_tag_value(3) == 3
    assert coerce_tag_value(None) == ""
    assert coerce_tag_value({"a": [1, 2]}) == '{"a": [1, 2]}'
    text = coerce_tag_value([Document(content="x")])
    assert isinstance(text, str) and '"content": "x"' in text
    assert coerce_tag_value({2, 1}) == "[1, 2]"
    assert coerce_tag_value(object()).startswith('"<object object')  # type: ignore[union-attr]


def test_opentelemetry_tracer_exports_nested_spans() -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel = OpenTelemetryTracer(provider.get_tracer("test"))
    enable_tracing(otel, content_tracing=True)
    _pipeline().run({"text": "hi"})
    with pytest.raises(PipelineRuntimeError):
        _pipeline().run({"text": "boom"})
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans[:3]] == [
        "haybale.component.run",
        "haybale.component.run",
        "haybale.pipeline.run",
    ]
    upper, wrap, root = spans[:3]
    assert upper.parent is not None and root.context is not None
    assert upper.parent.span_id == root.context.span_id
    upper_tags, wrap_tags = dict(upper.attributes or {}), dict(wrap.attributes or {})
    assert wrap_tags["haybale.component.name"] == "wrap"
    assert upper_tags["haybale.component.input_sockets"] == ("text",)  # an OpenTelemetry string array
    assert upper_tags["haybale.component.output"] == '{"text": "HI"}'
    assert '"content": "HI"' in str(wrap_tags["haybale.component.output"])
    failed = next(s for s in spans[3:] if (s.attributes or {}).get("haybale.component.name") == "upper")
    assert not failed.status.is_ok
    assert any(event.name == "exception" for event in failed.events)
    with otel.trace("outside") as span:
        current = otel.current_span()
        assert current is not None and current.raw_span() is span.raw_span()
    assert otel.current_span() is None


def test_opentelemetry_tracer_without_the_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from haybale.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(MissingDependencyError, match=r"haybale\[tracing\]"):
        OpenTelemetryTracer()

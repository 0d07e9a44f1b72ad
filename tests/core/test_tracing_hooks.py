"""The engine's tracing hooks: a pipeline span per run, a component span per visit, content tags gated."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from haybale import GreedyVariadic, Pipeline, component
from haybale.core import tracing
from haybale.errors import PipelineRuntimeError

from .conftest import Runner


class _Span(tracing.Span):
    def __init__(self, name: str, tags: Mapping[str, Any] | None, parent: _Span | None) -> None:
        self.name = name
        self.tags = dict(tags or {})
        self.parent = parent
        self.error: BaseException | None = None

    def set_tag(self, key: str, value: Any) -> None:
        self.tags[key] = value


class _RecordingTracer:
    """A minimal Tracer written against the protocol only (no haybale.tracing)."""

    def __init__(self) -> None:
        self.spans: list[_Span] = []
        self._current: contextvars.ContextVar[_Span | None] = contextvars.ContextVar("t", default=None)

    @contextlib.contextmanager
    def trace(self, operation_name: str, tags: Mapping[str, Any] | None = None) -> Iterator[_Span]:
        span = _Span(operation_name, tags, self._current.get())
        self.spans.append(span)
        token = self._current.set(span)
        try:
            yield span
        except BaseException as exc:
            span.error = exc
            raise
        finally:
            self._current.reset(token)

    def current_span(self) -> _Span | None:
        return self._current.get()


@component
class _Add:
    def __init__(self, add: int = 1) -> None:
        self.add = add

    @component.output_types(result=int)
    def run(self, value: int) -> dict[str, Any]:
        return {"result": value + self.add}


@component
class _Fails:
    @component.output_types(result=int)
    def run(self, value: int) -> dict[str, Any]:
        raise ValueError(f"cannot handle {value}")


@pytest.fixture
def recorder() -> Iterator[_RecordingTracer]:
    recording = _RecordingTracer()
    tracing.enable_tracing(recording, content_tracing=True)
    yield recording
    tracing.disable_tracing()


def _line() -> Pipeline:
    pipeline = Pipeline(metadata={"name": "line"})
    pipeline.add_component("first", _Add(add=2))
    pipeline.add_component("second", _Add())
    pipeline.connect("first.result", "second.value")
    return pipeline


def test_pipeline_and_component_spans(recorder: _RecordingTracer, run_pipeline: Runner) -> None:
    result = run_pipeline(_line(), {"first": {"value": 1}})
    assert result == {"second": {"result": 4}}
    assert [s.name for s in recorder.spans] == [
        "haybale.pipeline.run",
        "haybale.component.run",
        "haybale.component.run",
    ]
    root, first, second = recorder.spans
    assert root.parent is None
    assert first.parent is root and second.parent is root
    assert root.tags["haybale.pipeline.metadata"] == {"name": "line"}
    assert root.tags["haybale.pipeline.max_runs_per_component"] == 100
    assert root.tags["haybale.pipeline.input_data"] == {"first": {"value": 1}}
    assert root.tags["haybale.pipeline.output_data"] == {"second": {"result": 4}}
    assert first.tags["haybale.component.name"] == "first"
    assert first.tags["haybale.component.type"].endswith("test_tracing_hooks._Add")
    assert first.tags["haybale.component.visits"] == 1
    assert first.tags["haybale.component.input_sockets"] == ["value"]
    assert first.tags["haybale.component.output_sockets"] == ["result"]
    assert first.tags["haybale.component.input"] == {"value": 1}
    assert first.tags["haybale.component.output"] == {"result": 3}
    assert second.tags["haybale.component.input"] == {"value": 3}


def test_mode_tag_tells_sync_from_async(recorder: _RecordingTracer) -> None:
    import asyncio

    pipeline = _line()
    pipeline.run({"value": 1})
    asyncio.run(pipeline.run_async({"value": 1}))
    modes = [s.tags["haybale.pipeline.mode"] for s in recorder.spans if s.name == "haybale.pipeline.run"]
    assert modes == ["sync", "async"]


def test_content_tags_need_content_tracing(run_pipeline: Runner) -> None:
    recording = _RecordingTracer()
    tracing.enable_tracing(recording, content_tracing=False)
    try:
        run_pipeline(_line(), {"value": 1})
    finally:
        tracing.disable_tracing()
    assert len(recording.spans) == 3
    for span in recording.spans:
        assert not any(key.endswith(("input", "output", "input_data", "output_data")) for key in span.tags)
    assert recording.spans[1].tags["haybale.component.name"] == "first"


def test_content_tracing_follows_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tracing.CONTENT_TRACING_ENV_VAR, "true")
    recording = _RecordingTracer()
    tracing.enable_tracing(recording)
    try:
        assert tracing.tracer.is_content_tracing_enabled
        _line().run({"value": 1})
    finally:
        tracing.disable_tracing()
    assert recording.spans[0].tags["haybale.pipeline.output_data"] == {"second": {"result": 4}}
    monkeypatch.setenv(tracing.CONTENT_TRACING_ENV_VAR, "false")
    tracing.enable_tracing(recording)
    tracing.disable_tracing()
    assert not tracing.tracer.is_content_tracing_enabled


@component
class _CountDown:
    @component.output_types(again=int, done=int)
    def run(self, value: int) -> dict[str, Any]:
        return {"again": value - 1} if value > 1 else {"done": value}


@component
class _Entry:
    @component.output_types(value=int)
    def run(self, value: GreedyVariadic[int]) -> dict[str, Any]:
        return {"value": value[0]}


def test_loop_visits_are_numbered(recorder: _RecordingTracer, run_pipeline: Runner) -> None:
    pipeline = Pipeline()
    pipeline.add_component("entry", _Entry())
    pipeline.add_component("count", _CountDown())
    pipeline.connect("entry.value", "count.value")
    pipeline.connect("count.again", "entry.value")
    assert run_pipeline(pipeline, {"entry": {"value": 3}}) == {"count": {"done": 1}}
    counted = [s for s in recorder.spans if s.tags.get("haybale.component.name") == "count"]
    assert [s.tags["haybale.component.visits"] for s in counted] == [1, 2, 3]
    assert [s.tags["haybale.component.input"] for s in counted] == [{"value": 3}, {"value": 2}, {"value": 1}]
    entries = [s for s in recorder.spans if s.tags.get("haybale.component.name") == "entry"]
    assert [s.tags["haybale.component.visits"] for s in entries] == [1, 2, 3]


def test_failing_component_span_records_error(recorder: _RecordingTracer, run_pipeline: Runner) -> None:
    pipeline = Pipeline()
    pipeline.add_component("boom", _Fails())
    with pytest.raises(PipelineRuntimeError) as info:
        run_pipeline(pipeline, {"value": 7})
    assert isinstance(info.value.__cause__, ValueError)
    root, failing = recorder.spans
    assert isinstance(failing.error, ValueError)
    assert "cannot handle 7" in str(failing.error)
    assert isinstance(root.error, PipelineRuntimeError)


def test_disabled_tracing_records_nothing_and_proxy_is_noop() -> None:
    tracing.disable_tracing()
    assert not tracing.is_tracing_enabled()
    assert _line().run({"value": 1}) == {"second": {"result": 4}}
    with tracing.tracer.trace("anything", {"a": 1}) as span:
        span.set_tag("b", 2)
        span.set_content_tag("c", 3)
    assert tracing.tracer.current_span() is None


def test_enable_tracing_rejects_non_tracers() -> None:
    with pytest.raises(TypeError, match="needs a Tracer"):
        tracing.enable_tracing(object())  # type: ignore[arg-type]
    assert not tracing.is_tracing_enabled()


def test_components_can_open_child_spans(recorder: _RecordingTracer, run_pipeline: Runner) -> None:
    @component
    class _Inner:
        @component.output_types(result=int)
        def run(self, value: int) -> dict[str, Any]:
            with tracing.tracer.trace("inner.work", {"size": value}):
                return {"result": value}

    pipeline = Pipeline()
    pipeline.add_component("inner", _Inner())
    run_pipeline(pipeline, {"value": 5})
    names = [s.name for s in recorder.spans]
    assert names == ["haybale.pipeline.run", "haybale.component.run", "inner.work"]
    assert recorder.spans[2].parent is recorder.spans[1]

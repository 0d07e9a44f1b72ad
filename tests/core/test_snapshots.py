"""Breakpoints, snapshots and resuming: a run stopped anywhere and resumed (from JSON, on a fresh pipeline)
returns what the uninterrupted run returns, and every visit runs exactly once across the two runs."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from haybale import Document, Pipeline, component
from haybale.core.breakpoints import Breakpoint
from haybale.core.snapshot import PipelineSnapshot
from haybale.errors import (
    BreakpointReached,
    DeserializationError,
    PipelineRuntimeError,
    PipelineValidationError,
    SerializationError,
)
from haybale.testing.sample_components import AddFixedValue, CallRecorder

from .scenarios import SCENARIOS

pytestmark = pytest.mark.snapshot


def _run(mode: str, pipeline: Pipeline, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    if mode == "run":
        return pipeline.run(data, **kwargs)
    return asyncio.run(pipeline.run_async(data, **kwargs))


def _stops() -> list[tuple[str, str, int]]:
    """Every (scenario, component, visit) of the behaviour scenarios."""
    stops = []
    for name, build in sorted(SCENARIOS.items()):
        for component_name, visits in sorted(build().calls.items()):
            stops.extend((name, component_name, visit) for visit in range(1, len(visits) + 1))
    return stops


STOPS = _stops()


def test_the_stops_cover_loops_branches_and_variadics() -> None:
    assert len(STOPS) > 100
    assert any(visit > 2 for _, _, visit in STOPS)  # loops
    assert {"nested_routers", "lazy_variadic_with_partial_inputs"} <= {name for name, _, _ in STOPS}


@pytest.mark.parametrize(
    ("stop_mode", "resume_mode"),
    [("run", "run"), ("run_async", "run_async"), ("run", "run_async"), ("run_async", "run")],
)
@pytest.mark.parametrize(
    ("name", "component_name", "visit"), STOPS, ids=[f"{n}-{c}-{v}" for n, c, v in STOPS]
)
def test_stopping_anywhere_and_resuming_from_json_equals_the_uninterrupted_run(
    name: str, component_name: str, visit: int, stop_mode: str, resume_mode: str
) -> None:
    first = SCENARIOS[name]()
    before = CallRecorder(first.pipeline)
    with pytest.raises(BreakpointReached) as stopped:
        _run(
            stop_mode,
            first.pipeline,
            copy.deepcopy(first.data),
            include_outputs_from=first.include,
            breakpoints=[Breakpoint(component_name, visit=visit)],
        )
    assert stopped.value.component_name == component_name
    text = stopped.value.snapshot.to_json()
    json.loads(text)  # strict JSON

    # A fresh pipeline (as in another process) resumes from the JSON text.
    second = SCENARIOS[name]()
    after = CallRecorder(second.pipeline)
    result = _run(resume_mode, second.pipeline, {}, snapshot=PipelineSnapshot.from_json(text))

    assert result == first.expected
    combined: dict[str, list[dict[str, Any]]] = {}
    for recorder in (before, after):
        for component_name_, calls in recorder.calls.items():
            combined.setdefault(component_name_, []).extend(calls)
    assert {k: len(v) for k, v in combined.items()} == {k: len(v) for k, v in first.calls.items()}
    if stop_mode == resume_mode == "run":  # the order of visits is only fixed for sync runs
        assert combined == first.calls


def test_a_breakpoint_on_every_visit_stops_at_each_one_and_the_chain_of_resumes_finishes() -> None:
    name = next(n for n, c, v in STOPS if v >= 3)
    scenario = SCENARIOS[name]()
    component_name = next(c for n, c, v in STOPS if n == name and v >= 3)
    visits = len(scenario.calls[component_name])
    point = Breakpoint(component_name, visit=None)
    stops = 0
    snapshot: PipelineSnapshot | None = None
    while True:
        try:
            if snapshot is None:
                result = scenario.pipeline.run(
                    copy.deepcopy(scenario.data), include_outputs_from=scenario.include, breakpoints=[point]
                )
            else:
                result = scenario.pipeline.run({}, breakpoints=[point], snapshot=snapshot)
            break
        except BreakpointReached as stop:
            stops += 1
            assert stop.snapshot.started[component_name].visit == stops
            snapshot = PipelineSnapshot.from_json(stop.snapshot.to_json())
    assert stops == visits
    assert result == scenario.expected


def _chain() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("first", AddFixedValue(add=1))
    pipeline.add_component("second", AddFixedValue(add=10))
    pipeline.add_component("third", AddFixedValue(add=100))
    pipeline.connect("first.result", "second.value")
    pipeline.connect("second.result", "third.value")
    return pipeline


def test_the_snapshot_shows_the_inputs_and_editing_them_changes_the_resumed_run() -> None:
    with pytest.raises(BreakpointReached) as stopped:
        _chain().run({"first": {"value": 1}}, breakpoints=Breakpoint("second"))
    snapshot = stopped.value.snapshot
    assert snapshot.next == "second"
    assert snapshot.reason == "breakpoint"
    assert snapshot.inputs == {"value": 2, "add": None}
    # the caller's inputs stay available to later visits (of loops), so they wait too
    assert snapshot.waiting_inputs() == {"first": {"value": 1}, "second": {"value": 2, "add": None}}
    snapshot.inputs["value"] = 1000
    assert _chain().run({}, snapshot=snapshot) == {"third": {"result": 1110}}


def test_a_snapshot_object_can_be_resumed_twice() -> None:
    with pytest.raises(BreakpointReached) as stopped:
        _chain().run({"first": {"value": 1}}, breakpoints=[Breakpoint("third")])
    snapshot = stopped.value.snapshot
    pipeline = _chain()
    assert pipeline.run({}, snapshot=snapshot) == {"third": {"result": 112}}
    assert pipeline.run({}, snapshot=snapshot) == {"third": {"result": 112}}


def test_breakpoint_save_to_writes_the_snapshot(tmp_path: Path) -> None:
    target = tmp_path / "stops" / "second.json"
    with pytest.raises(BreakpointReached, match="saved to"):
        _chain().run({"first": {"value": 1}}, breakpoints=[Breakpoint("second", save_to=target)])
    assert _chain().run({}, snapshot=PipelineSnapshot.load(target)) == {"third": {"result": 112}}


def test_resuming_refuses_another_pipeline_shape_and_new_inputs() -> None:
    with pytest.raises(BreakpointReached) as stopped:
        _chain().run({"first": {"value": 1}}, breakpoints=[Breakpoint("second")])
    snapshot = stopped.value.snapshot
    other = _chain()
    other.remove_component("third")
    with pytest.raises(PipelineValidationError, match=r"another shape.*third"):
        other.run({}, snapshot=snapshot)
    with pytest.raises(PipelineValidationError, match=r"run\(\{\}, snapshot=\.\.\.\)"):
        _chain().run({"first": {"value": 5}}, snapshot=snapshot)
    with pytest.raises(PipelineValidationError, match="PipelineSnapshot"):
        _chain().run({}, snapshot={"state": {}})  # type: ignore[arg-type]


def test_breakpoints_are_checked_before_anything_runs() -> None:
    recorder_pipeline = _chain()
    recorder = CallRecorder(recorder_pipeline)
    with pytest.raises(PipelineValidationError, match="unknown component 'fourth'"):
        recorder_pipeline.run({"first": {"value": 1}}, breakpoints=[Breakpoint("fourth")])
    with pytest.raises(PipelineValidationError, match="has no tool breakpoints"):
        recorder_pipeline.run({"first": {"value": 1}}, breakpoints=[Breakpoint("first", tool="search")])
    with pytest.raises(PipelineValidationError, match="counts from 1"):
        Breakpoint("first", visit=0)
    with pytest.raises(PipelineValidationError, match="not both"):
        Breakpoint("first", step=1, tool="x")
    assert recorder.calls == {}


@component
class FailsUntilFixed:
    """Fails while ``broken`` is set (a fault that is fixed before resuming)."""

    def __init__(self) -> None:
        self.broken = True

    @component.output_types(result=int)
    def run(self, value: int) -> dict[str, Any]:
        if self.broken:
            raise ConnectionError("the service is down")
        return {"result": value * 2}


def _failing_chain() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("first", AddFixedValue(add=1))
    pipeline.add_component("flaky", FailsUntilFixed())
    pipeline.add_component("last", AddFixedValue(add=100))
    pipeline.connect("first.result", "flaky.value")
    pipeline.connect("flaky.result", "last.value")
    return pipeline


@pytest.mark.parametrize("mode", ["run", "run_async"])
def test_a_failure_carries_a_snapshot_that_resumes_once_the_cause_is_fixed(mode: str) -> None:
    pipeline = _failing_chain()
    recorder = CallRecorder(pipeline)
    with pytest.raises(PipelineRuntimeError) as failed:
        _run(mode, pipeline, {"first": {"value": 1}})
    snapshot = failed.value.snapshot
    assert snapshot.reason == "failure"
    assert snapshot.next == "flaky"
    assert "the service is down" in snapshot.error
    assert snapshot.inputs == {"value": 2}
    pipeline.get_component("flaky").broken = False
    assert _run(mode, pipeline, {}, snapshot=PipelineSnapshot.from_json(snapshot.to_json())) == {
        "last": {"result": 104}
    }
    assert len(recorder.calls["first"]) == 1  # not run again


def test_failures_write_snapshots_into_haybale_snapshot_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAYBALE_SNAPSHOT_DIR", str(tmp_path))
    with pytest.raises(PipelineRuntimeError, match="snapshot taken before this visit was saved") as failed:
        _failing_chain().run({"first": {"value": 1}})
    saved = list(tmp_path.glob("*-flaky.json"))
    assert len(saved) == 1
    assert str(saved[0]) in str(failed.value)
    fixed = _failing_chain()
    fixed.get_component("flaky").broken = False
    assert fixed.run({}, snapshot=PipelineSnapshot.load(saved[0])) == {"last": {"result": 104}}


@pytest.mark.parametrize("mode", ["run", "run_async"])
def test_a_checkpoint_is_written_after_each_component_and_removed_on_success(
    mode: str, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "run.json"
    seen: list[dict[str, Any]] = []

    @component
    class Peek:
        @component.output_types(result=int)
        def run(self, value: int) -> dict[str, Any]:
            seen.append(json.loads(checkpoint.read_text()))
            return {"result": value}

    pipeline = _chain()
    pipeline.add_component("peek", Peek())
    pipeline.connect("third.result", "peek.value")
    assert _run(mode, pipeline, {"first": {"value": 1}}, checkpoint=checkpoint) == {"peek": {"result": 112}}
    assert seen[0]["reason"] == "checkpoint"
    assert seen[0]["state"]["visits"] == {"first": 1, "second": 1, "third": 1}  # written after "third"
    assert not checkpoint.exists()


def test_a_failed_run_with_a_checkpoint_leaves_the_failure_snapshot_there(tmp_path: Path) -> None:
    checkpoint = tmp_path / "run.json"
    with pytest.raises(PipelineRuntimeError, match="saved to"):
        _failing_chain().run({"first": {"value": 1}}, checkpoint=checkpoint)
    snapshot = PipelineSnapshot.load(checkpoint)
    assert snapshot.reason == "failure"
    fixed = _failing_chain()
    fixed.get_component("flaky").broken = False
    assert fixed.run({}, snapshot=snapshot, checkpoint=checkpoint) == {"last": {"result": 104}}
    assert not checkpoint.exists()


def test_snapshots_carry_documents_bytes_nan_and_numpy_through_json() -> None:
    import numpy as np

    @component
    class Emit:
        @component.output_types(documents=list[Document], extra=dict)
        def run(self, value: int) -> dict[str, Any]:
            document = Document(content="x", meta={"score": float("nan"), "raw": b"\x00\xff", "when": (1, 2)})
            return {"documents": [document], "extra": {"array": np.arange(3, dtype=np.float32), 1: {"a"}}}

    @component
    class Take:
        @component.output_types(documents=list[Document], extra=dict)
        def run(self, documents: list[Document], extra: dict) -> dict[str, Any]:
            return {"documents": documents, "extra": extra}

    def build() -> Pipeline:
        pipeline = Pipeline()
        pipeline.add_component("emit", Emit())
        pipeline.add_component("take", Take())
        pipeline.connect("emit.documents", "take.documents")
        pipeline.connect("emit.extra", "take.extra")
        return pipeline

    with pytest.raises(BreakpointReached) as stopped:
        build().run({"emit": {"value": 1}}, breakpoints=[Breakpoint("take")])
    restored = PipelineSnapshot.from_json(stopped.value.snapshot.to_json())
    document = restored.inputs["documents"][0]
    assert isinstance(document, Document)
    assert document.meta["raw"] == b"\x00\xff"
    assert document.meta["when"] == (1, 2)
    assert document.meta["score"] != document.meta["score"]  # NaN survives
    extra = restored.inputs["extra"]
    assert extra[1] == {"a"}
    assert extra["array"].dtype == np.float32
    assert extra["array"].tolist() == [0.0, 1.0, 2.0]


def test_a_value_without_an_encoding_is_named_when_writing_json() -> None:
    @component
    class Emit:
        @component.output_types(thing=object)
        def run(self, value: int) -> dict[str, Any]:
            return {"thing": object()}

    @component
    class Take:
        @component.output_types(ok=bool)
        def run(self, thing: object) -> dict[str, Any]:
            return {"ok": True}

    pipeline = Pipeline()
    pipeline.add_component("emit", Emit())
    pipeline.add_component("take", Take())
    pipeline.connect("emit.thing", "take.thing")
    with pytest.raises(BreakpointReached) as stopped:
        pipeline.run({"emit": {"value": 1}}, breakpoints=[Breakpoint("take")])
    with pytest.raises(SerializationError, match=r"inputs of 'take'.*thing.*builtins\.object"):
        stopped.value.snapshot.to_json()
    assert pipeline.run({}, snapshot=stopped.value.snapshot) == {
        "take": {"ok": True}
    }  # in-process resume works


def test_loading_a_snapshot_never_imports_types_outside_the_allow_list() -> None:
    with pytest.raises(BreakpointReached) as stopped:
        _chain().run({"first": {"value": 1}}, breakpoints=[Breakpoint("second")])
    data = stopped.value.snapshot.to_dict()
    data["started"]["second"]["inputs"]["value"] = {"$object": "subprocess.Popen", "data": {"args": ["true"]}}
    with pytest.raises(DeserializationError, match="not allow-listed"):
        PipelineSnapshot.from_dict(data)
    data["started"]["second"]["inputs"]["value"] = {"$evil": 1}
    with pytest.raises(DeserializationError, match="unknown tag"):
        PipelineSnapshot.from_dict(data)
    with pytest.raises(DeserializationError, match="must be JSON"):
        PipelineSnapshot.from_json("{not json")
    with pytest.raises(DeserializationError, match="Not a haybale pipeline snapshot"):
        PipelineSnapshot.from_json('{"format": "something else"}')


def test_a_process_killed_mid_run_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    checkpoint, log = tmp_path / "run.json", tmp_path / "visits.log"
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "tests.core.checkpoint_job"]
    child = subprocess.Popen([*command, "run", str(checkpoint), str(log)], cwd=root)
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{log}.ready").exists():
            assert child.poll() is None, "the job ended before reaching the slow component"
            assert time.monotonic() < deadline, "the job never reached the slow component"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert checkpoint.exists()
    assert PipelineSnapshot.load(checkpoint).state["visits"] == {"one": 1, "two": 1}

    resumed = subprocess.run(
        [*command, "resume", str(checkpoint), str(log)], cwd=root, capture_output=True, text=True, check=True
    )
    # uninterrupted: ((1 + 1 + 10) * 2 + 1 document) + 100
    assert json.loads(resumed.stdout) == {"last": 125}
    # the finished components did not run again; the killed one ran again from its inputs
    assert log.read_text().split() == ["step+1", "step+10", "slow", "slow", "step+100"]
    assert not checkpoint.exists()

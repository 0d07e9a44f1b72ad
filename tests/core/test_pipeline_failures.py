"""Failure behaviour (DESIGN §3.5, §3.8): each case through both run() and run_async()."""

from __future__ import annotations

import logging

import pytest

from haybale import (
    Pipeline,
    PipelineComponentsBlockedError,
    PipelineMaxComponentRuns,
    PipelineRuntimeError,
    PipelineValidationError,
)
from haybale.testing.sample_components import (
    AddFixedValue,
    CallRecorder,
    Double,
    Fail,
    FirstInt,
    NotADict,
    Parity,
    Repeat,
    SelfLoop,
    Subtract,
    Threshold,
)

from .conftest import Runner


def test_component_exception_names_component_and_visit(run_pipeline: Runner) -> None:
    p = Pipeline()
    p.add_component("add", AddFixedValue(add=1))
    p.add_component("fail", Fail(fail_on=2))
    p.connect("add.result", "fail.value")
    with pytest.raises(PipelineRuntimeError) as info:
        run_pipeline(p, {"add": {"value": 1}})
    assert info.value.component_name == "fail"
    assert info.value.visit == 1
    assert "'fail'" in str(info.value) and "visit 1" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
    assert "cannot handle 2" in str(info.value)


def test_exception_on_a_later_loop_visit_names_that_visit(run_pipeline: Runner) -> None:
    p = Pipeline()
    p.add_component("entry", FirstInt())
    p.add_component("fail", Fail(fail_on=9))
    p.add_component("add", AddFixedValue(add=1))
    p.add_component("threshold", Threshold(threshold=10))
    p.connect("entry.value", "fail.value").connect("fail.value", "add.value")
    p.connect("add.result", "threshold.value").connect("threshold.below", "entry.value")
    with pytest.raises(PipelineRuntimeError) as info:
        run_pipeline(p, {"entry": {"value": 7}})
    assert (info.value.component_name, info.value.visit) == ("fail", 3)
    assert isinstance(info.value.__cause__, ValueError)


def test_non_dict_return_is_a_runtime_error(run_pipeline: Runner) -> None:
    p = Pipeline()
    p.add_component("broken", NotADict())
    with pytest.raises(PipelineRuntimeError) as info:
        run_pipeline(p, {"broken": {"value": 1}})
    assert info.value.component_name == "broken"
    assert "returned a list" in str(info.value) and "must return a dict" in str(info.value)


def test_blocked_at_start_names_missing_inputs_and_runs_nothing(run_pipeline: Runner) -> None:
    p = Pipeline()
    p.add_component("add", AddFixedValue())
    p.add_component("double", Double())
    p.connect("add.result", "double.value")
    recorder = CallRecorder(p)
    with pytest.raises(PipelineComponentsBlockedError) as info:
        run_pipeline(p, {"add": {"add": 3}})
    assert "'add.value'" in str(info.value)
    assert "not connected, not given" in str(info.value)
    assert recorder.calls == {}


def test_blocked_at_start_with_no_inputs_at_all(run_pipeline: Runner) -> None:
    p = Pipeline()
    p.add_component("add", AddFixedValue())
    with pytest.raises(PipelineComponentsBlockedError, match=r"'add\.value'"):
        run_pipeline(p, {})


def test_blocked_pure_cycle_names_waiting_inputs(run_pipeline: Runner) -> None:
    p = Pipeline()
    p.add_component("a", Double())
    p.add_component("b", Double())
    p.connect("a.value", "b.value").connect("b.value", "a.value")
    with pytest.raises(PipelineComponentsBlockedError) as info:
        run_pipeline(p, {})
    assert "'a.value'" in str(info.value) and "'b.value'" in str(info.value)


def test_stuck_midway_returns_partial_results_and_logs(
    run_pipeline: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    p = Pipeline()
    p.add_component("repeat", Repeat(outputs=["x", "y"]))
    p.add_component("parity", Parity())
    p.add_component("sub", Subtract())
    p.connect("repeat.x", "parity.value").connect("repeat.y", "sub.first").connect(
        "parity.even", "sub.second"
    )
    with caplog.at_level(logging.WARNING, logger="haybale.pipeline"):
        result = run_pipeline(p, {"repeat": {"value": 3}})
    assert result == {"parity": {"odd": 3}}
    assert "'sub'" in caplog.text and "'sub.second'" in caplog.text and "'parity'" in caplog.text


def test_max_runs_per_component(run_pipeline: Runner) -> None:
    p = Pipeline(max_runs_per_component=5)
    p.add_component("loop", SelfLoop(target=-100))
    p.connect("loop.current_value", "loop.values")
    with pytest.raises(PipelineMaxComponentRuns, match=r"'loop'.*max_runs_per_component=5"):
        run_pipeline(p, {"loop": {"values": 3}})


def test_max_runs_allows_exactly_the_limit(run_pipeline: Runner) -> None:
    p = Pipeline(max_runs_per_component=3)
    p.add_component("loop", SelfLoop(target=0))
    p.connect("loop.current_value", "loop.values")
    assert run_pipeline(p, {"loop": {"values": 3}}) == {"loop": {"final_result": 0}}


def _linear() -> Pipeline:
    p = Pipeline()
    p.add_component("first", AddFixedValue())
    p.add_component("second", Double())
    p.connect("first.result", "second.value")
    return p


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nope": {"value": 1}, "first": {"value": 1}}, r"mix the nested form"),
        ({"first": {"valeu": 1}}, r"'first' has no input 'valeu'.*value \(int\)"),
        ({"valeu": 1}, r"No component has an unconnected input named 'valeu'.*\['add', 'value'\]"),
        ({"first": {"value": 1}, "second": {"nope": 1}}, r"'second' has no input 'nope'"),
    ],
)
def test_invalid_run_inputs(run_pipeline: Runner, data: dict[str, object], message: str) -> None:
    with pytest.raises(PipelineValidationError, match=message):
        run_pipeline(_linear(), data)


def test_run_inputs_must_be_a_mapping(run_pipeline: Runner) -> None:
    with pytest.raises(PipelineValidationError, match="must be a dict"):
        run_pipeline(_linear(), [1, 2])  # type: ignore[arg-type]


def test_unknown_include_outputs_from(run_pipeline: Runner) -> None:
    with pytest.raises(PipelineValidationError, match=r"unknown components \['third'\]"):
        run_pipeline(_linear(), {"value": 1}, include_outputs_from={"third"})


def test_concurrency_limit_must_be_positive() -> None:
    import asyncio

    with pytest.raises(PipelineValidationError, match="concurrency_limit"):
        asyncio.run(_linear().run_async({"value": 1}, concurrency_limit=0))

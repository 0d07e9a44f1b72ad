"""SuperComponent: a pipeline used as one component — mapped sockets, run/run_async, YAML, drawing, tracing,
breakpoints around it."""

from __future__ import annotations

from typing import Any

import pytest

from haybale import Pipeline, component
from haybale.core import tracing
from haybale.core.breakpoints import Breakpoint
from haybale.core.component import get_input_sockets, get_output_sockets
from haybale.core.super_component import SuperComponent
from haybale.errors import BreakpointReached, ComponentError, DeserializationError
from haybale.testing.sample_components import AddFixedValue, Double, Sum

from .conftest import Runner
from .test_tracing_hooks import _RecordingTracer


def _add_then_double() -> Pipeline:
    inner = Pipeline()
    inner.add_component("add", AddFixedValue(add=2))
    inner.add_component("double", Double())
    inner.connect("add.result", "double.value")
    return inner


def test_default_mapping_exposes_open_inputs_and_leaf_outputs(run_pipeline: Runner) -> None:
    wrapped = SuperComponent(_add_then_double())
    inputs = get_input_sockets(wrapped)
    assert {name: (s.type, s.is_mandatory) for name, s in inputs.items()} == {
        "value": (int, True),
        "add": (int | None, False),
    }
    assert {name: s.type for name, s in get_output_sockets(wrapped).items()} == {"value": int}

    outer = Pipeline()
    outer.add_component("pre", AddFixedValue(add=1))
    outer.add_component("wrapped", wrapped)
    outer.connect("pre.result", "wrapped.value")
    assert run_pipeline(outer, {"pre": {"value": 1}}) == {"wrapped": {"value": 8}}  # ((1+1)+2)*2
    # an optional input passes through to the inner socket
    assert run_pipeline(outer, {"pre": {"value": 1}, "wrapped": {"add": 10}}) == {"wrapped": {"value": 24}}


def test_one_input_can_feed_several_inner_sockets_and_outputs_are_renamed(run_pipeline: Runner) -> None:
    inner = Pipeline()
    inner.add_component("left", AddFixedValue(add=1))
    inner.add_component("right", AddFixedValue(add=100))
    inner.add_component("sum", Sum())
    inner.connect("left.result", "sum.values")
    inner.connect("right.result", "sum.values")
    wrapped = SuperComponent(
        inner,
        input_mapping={"number": ["left.value", "right.value"]},
        output_mapping={"sum.total": "total", "left.result": "left_result"},
    )
    outer = Pipeline()
    outer.add_component("wrapped", wrapped)
    assert run_pipeline(outer, {"wrapped": {"number": 5}}) == {"wrapped": {"total": 111, "left_result": 6}}


def test_bad_mappings_are_refused_with_what_can_be_mapped() -> None:
    with pytest.raises(ComponentError, match=r"Inputs that can be mapped: \['add.add', 'add.value'\]"):
        SuperComponent(_add_then_double(), input_mapping={"x": ["double.value"]})  # has a sender
    with pytest.raises(ComponentError, match=r"'component\.socket'"):
        SuperComponent(_add_then_double(), input_mapping={"x": ["nodot"]})
    with pytest.raises(ComponentError, match=r"has no output 'nope'"):
        SuperComponent(_add_then_double(), output_mapping={"double.nope": "x"})
    with pytest.raises(ComponentError, match="different types"):
        SuperComponent(_add_then_double(), input_mapping={"x": ["add.value", "add.add"]})
    with pytest.raises(ComponentError, match="both map to output"):
        SuperComponent(_add_then_double(), output_mapping={"double.value": "x", "add.result": "x"})
    two_leaves = Pipeline()
    two_leaves.add_component("a", Double())
    two_leaves.add_component("b", Double())
    with pytest.raises(ComponentError, match=r"output_mapping=.*a_value"):
        SuperComponent(two_leaves)
    with pytest.raises(ComponentError, match="wraps a Pipeline"):
        SuperComponent(object())  # type: ignore[arg-type]


def test_it_round_trips_through_yaml_and_loads_the_inner_pipeline_under_the_allow_list() -> None:
    outer = Pipeline()
    outer.add_component("wrapped", SuperComponent(_add_then_double(), input_mapping={"start": ["add.value"]}))
    text = outer.dumps()
    loaded = Pipeline.loads(text)
    assert loaded.dumps() == text
    assert loaded.run({"wrapped": {"start": 3}}) == {"wrapped": {"value": 10}}
    hostile = text.replace("haybale.testing.sample_components.Double", "subprocess.Popen")
    with pytest.raises(DeserializationError, match="not allow-listed"):
        Pipeline.loads(hostile)


def test_it_draws_as_a_nested_subgraph() -> None:
    outer = Pipeline()
    outer.add_component("pre", AddFixedValue())
    outer.add_component("wrapped", SuperComponent(_add_then_double()))
    outer.connect("pre.result", "wrapped.value")
    mermaid = outer.to_mermaid()
    assert 'subgraph c1 ["<b>wrapped</b><br/><i>SuperComponent</i>"]' in mermaid
    assert "c1_0 -- " in mermaid and "--> c1_1" in mermaid  # the inner edge, inside
    assert "c0 -- " in mermaid and "--> c1\n" in mermaid  # the outer edge reaches the subgraph


def test_tracing_shows_the_inner_run_under_the_wrapper(run_pipeline: Runner) -> None:
    recorder = _RecordingTracer()
    tracing.enable_tracing(recorder, content_tracing=False)
    try:
        outer = Pipeline()
        outer.add_component("wrapped", SuperComponent(_add_then_double()))
        run_pipeline(outer, {"wrapped": {"value": 1}})
    finally:
        tracing.disable_tracing()
    names = [(s.name, s.tags.get("haybale.component.name")) for s in recorder.spans]
    assert names == [
        ("haybale.pipeline.run", None),
        ("haybale.component.run", "wrapped"),
        ("haybale.pipeline.run", None),
        ("haybale.component.run", "add"),
        ("haybale.component.run", "double"),
    ]
    outer_run, wrapper, inner_run, add, double = recorder.spans
    assert wrapper.parent is outer_run and inner_run.parent is wrapper
    assert add.parent is inner_run and double.parent is inner_run


@component
class _Fails:
    @component.output_types(value=int)
    def run(self, value: int) -> dict[str, Any]:
        raise ValueError("bad value")


def test_breakpoints_and_failures_around_a_super_component() -> None:
    outer = Pipeline()
    outer.add_component("wrapped", SuperComponent(_add_then_double()))
    with pytest.raises(BreakpointReached) as stopped:
        outer.run({"wrapped": {"value": 1}}, breakpoints=[Breakpoint("wrapped")])
    assert stopped.value.snapshot.inputs == {"value": 1, "add": None}
    assert outer.run({}, snapshot=stopped.value.snapshot) == {"wrapped": {"value": 6}}

    inner = Pipeline()
    inner.add_component("fails", _Fails())
    failing = Pipeline()
    failing.add_component("wrapped", SuperComponent(inner))
    with pytest.raises(Exception, match=r"Component 'wrapped' failed.*Component 'fails' failed.*bad value"):
        failing.run({"wrapped": {"value": 1}})

"""Regression tests for gaps found by probing the public API the way a Haystack user would (DESIGN §2-§4)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from haybale import Document, GreedyVariadic, Pipeline, Secret, Variadic, component
from haybale.errors import (
    PipelineComponentsBlockedError,
    PipelineMaxComponentRuns,
    PipelineValidationError,
)

from .conftest import Runner


@component
class AddValue:
    """Adds ``add`` to ``value``."""

    def __init__(self, add: int = 1) -> None:
        self.add = add

    @component.output_types(result=int)
    def run(self, value: int) -> dict[str, Any]:
        return {"result": value + self.add}


@component
class Echo:
    """Passes ``value`` through."""

    @component.output_types(value=int)
    def run(self, value: int) -> dict[str, Any]:
        return {"value": value}


@component
class LoopEntry:
    """Greedy entry of a loop: forwards the first value that arrives."""

    @component.output_types(value=int)
    def run(self, value: GreedyVariadic[int]) -> dict[str, Any]:
        return {"value": value[0]}


@component
class CountDown:
    """Sends ``value - 1`` back into the loop until it reaches zero."""

    @component.output_types(again=int, done=int)
    def run(self, value: int) -> dict[str, Any]:
        return {"again": value - 1} if value > 0 else {"done": value}


@component
class Texts:
    """Takes a list of strings and a float."""

    @component.output_types(count=int)
    def run(self, texts: list[str], weight: float = 1.0, label: str | None = None) -> dict[str, Any]:
        return {"count": len(texts)}


@component
class TokenHolder:
    """Holds a secret; a token secret makes it unserializable."""

    def __init__(self, key: Secret) -> None:
        self.key = key

    @component.output_types(ok=bool)
    def run(self, value: int) -> dict[str, Any]:
        return {"ok": True}


def _linear() -> Pipeline:
    p = Pipeline()
    p.add_component("first", AddValue(add=2))
    p.add_component("second", AddValue())
    p.connect("first.result", "second.value")
    return p


def _countdown_loop() -> Pipeline:
    p = Pipeline()
    p.add_component("entry", LoopEntry())
    p.add_component("countdown", CountDown())
    p.connect("entry", "countdown")
    p.connect("countdown.again", "entry.value")
    return p


# ---------------------------------------------------------------- run inputs


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"first": {"value": "x"}}, r"'first\.value' expects int.*given a str: 'x'"),
        ({"value": None}, r"'first\.value' expects int.*given a NoneType"),
    ],
)
def test_wrong_input_type_is_a_validation_error_before_anything_runs(
    run_pipeline: Runner, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(PipelineValidationError, match=message):
        run_pipeline(_linear(), data)


def test_a_string_for_a_list_input_is_refused(run_pipeline: Runner) -> None:
    p = Pipeline()
    p.add_component("texts", Texts())
    with pytest.raises(PipelineValidationError, match=r"'texts\.texts' expects list\[str\]"):
        run_pipeline(p, {"texts": "one string"})


def test_input_type_check_is_lenient_where_values_are_compatible(run_pipeline: Runner) -> None:
    p = Pipeline()
    p.add_component("texts", Texts())
    # a tuple for list[str], an int for float, None for an Optional input
    result = run_pipeline(p, {"texts": {"texts": ("a", "b"), "weight": 2, "label": None}})
    assert result == {"texts": {"count": 2}}


def test_component_name_with_a_non_dict_value_is_explained(run_pipeline: Runner) -> None:
    with pytest.raises(
        PipelineValidationError, match=r"run input for component 'first' must be a dict"
    ) as info:
        run_pipeline(_linear(), {"first": 5})
    assert "no component is named" not in str(info.value)


def test_unknown_component_next_to_nested_inputs_is_named(run_pipeline: Runner) -> None:
    with pytest.raises(PipelineValidationError, match=r"no component named 'nope'") as info:
        run_pipeline(_linear(), {"first": {"value": 1}, "nope": {"value": 1}})
    assert "mix the nested form" in str(info.value)


def test_flat_input_reaches_the_greedy_entry_of_a_loop(run_pipeline: Runner) -> None:
    assert run_pipeline(_countdown_loop(), {"value": 3}) == {"countdown": {"done": 0}}


def test_flat_input_prefers_unconnected_inputs_over_connected_variadic_ones(run_pipeline: Runner) -> None:
    p = _countdown_loop()
    p.add_component("other", Echo())
    # 'other.value' is unconnected, so the flat value goes there only and the loop does not start
    assert run_pipeline(p, {"value": 3}) == {"other": {"value": 3}}


# ---------------------------------------------------------------- failure messages


def test_max_runs_message_uses_a_correct_ordinal(run_pipeline: Runner) -> None:
    p = Pipeline(max_runs_per_component=1)
    p.add_component("a", Echo())
    p.add_component("b", Echo())
    p.connect("a", "b")
    p.connect("b", "a")
    with pytest.raises(PipelineMaxComponentRuns, match=r"'a' was about to run for the 2nd time"):
        run_pipeline(p, {"a": {"value": 1}})


def test_blocked_loop_without_entry_says_how_to_start_it(run_pipeline: Runner) -> None:
    p = Pipeline()
    p.add_component("a", Echo())
    p.add_component("b", Echo())
    p.connect("a", "b")
    p.connect("b", "a")
    with pytest.raises(PipelineComponentsBlockedError) as info:
        run_pipeline(p, {})
    message = str(info.value)
    assert "'a.value' (int; from 'b')" in message
    assert "'b.value' (int; from 'a')" in message
    assert "loop" in message
    assert "run({'a': {'value': ...}})" in message


def test_blocked_message_gives_a_concrete_run_call(run_pipeline: Runner) -> None:
    with pytest.raises(PipelineComponentsBlockedError, match=r"run\(\{'first': \{'value': \.\.\.\}\}\)"):
        run_pipeline(_linear(), {})


# ---------------------------------------------------------------- equality and pickling


def test_pipelines_compare_by_their_serialized_form() -> None:
    assert _linear() == _linear()
    assert Pipeline() == Pipeline()
    changed = _linear()
    changed.remove_component("second")
    changed.add_component("second", AddValue(add=5))
    changed.connect("first.result", "second.value")
    assert changed != _linear()
    other = Pipeline(max_runs_per_component=7)
    assert other != Pipeline()
    assert _linear() != "not a pipeline"


def test_pipeline_round_trip_through_yaml_is_equal() -> None:
    p = _linear()
    assert Pipeline.loads(p.dumps(), allowed_modules=[__name__]) == p


def test_pipelines_holding_a_token_are_only_equal_to_themselves() -> None:
    p = Pipeline()
    p.add_component("holder", TokenHolder(Secret.from_token("t")))
    q = Pipeline()
    q.add_component("holder", TokenHolder(Secret.from_token("t")))
    assert p == p  # noqa: PLR0124 - identity is the point
    assert p != q


def test_pipelines_are_not_hashable() -> None:
    with pytest.raises(TypeError):
        hash(Pipeline())


def test_pipeline_survives_pickling() -> None:
    p = _linear()
    p.run({"value": 1})  # compile and warm before pickling
    clone = pickle.loads(pickle.dumps(p))
    assert clone == p
    assert clone.run({"value": 1}) == {"second": {"result": 4}}
    clone.add_component("third", AddValue())
    clone.connect("second", "third")
    assert clone.run({"value": 1}) == {"third": {"result": 5}}


def test_documents_from_two_senders_are_joined_in_order(run_pipeline: Runner) -> None:
    @component
    class Make:
        def __init__(self, prefix: str) -> None:
            self.prefix = prefix

        @component.output_types(documents=list[Document])
        def run(self, query: str) -> dict[str, Any]:
            return {"documents": [Document(content=f"{self.prefix}-{query}")]}

    @component
    class Collect:
        @component.output_types(documents=list[Document])
        def run(self, documents: list[Document]) -> dict[str, Any]:
            return {"documents": documents}

    p = Pipeline()
    p.add_component("a", Make("a"))
    p.add_component("b", Make("b"))
    p.add_component("join", Collect())
    p.connect("a", "join")
    p.connect("b", "join.documents")
    result = run_pipeline(p, {"query": "q"})
    assert [d.content for d in result["join"]["documents"]] == ["a-q", "b-q"]


def test_running_an_empty_pipeline_returns_nothing_and_warns(
    run_pipeline: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    # Haystack 2.x: an empty pipeline runs to {} with a warning.
    with caplog.at_level("WARNING", logger="haybale.pipeline"):
        assert run_pipeline(Pipeline(), {}) == {}
    assert "without components" in caplog.text and "add_component" in caplog.text


@component
class SumVariadic:
    """Sums a lazy variadic input that has a default."""

    @component.output_types(total=int)
    def run(self, values: Variadic[int] = 7) -> dict[str, Any]:  # type: ignore[assignment]
        assert isinstance(values, list), values  # a variadic input is always a list
        return {"total": sum(values)}


def test_variadic_default_arrives_as_a_one_element_list(run_pipeline: Runner) -> None:
    pipeline = Pipeline()
    pipeline.add_component("sum", SumVariadic())
    assert run_pipeline(pipeline, {}) == {"sum": {"total": 7}}
    assert run_pipeline(pipeline, {"sum": {"values": 3}}) == {"sum": {"total": 3}}


@component
class Words:
    """Emits a list of words."""

    @component.output_types(words=list[str])
    def run(self, text: str) -> dict[str, Any]:
        return {"words": text.split()}


@component
class Collect:
    """Receives a list of words."""

    @component.output_types(words=list[str])
    def run(self, words: list[str]) -> dict[str, Any]:
        return {"words": words}


def test_a_list_input_gets_the_callers_items_then_the_senders(run_pipeline: Runner) -> None:
    pipeline = Pipeline()
    pipeline.add_component("split", Words())
    pipeline.add_component("collect", Collect())
    pipeline.connect("split.words", "collect.words")
    result = run_pipeline(pipeline, {"split": {"text": "b c"}, "collect": {"words": ["a"]}})
    assert result == {"collect": {"words": ["a", "b", "c"]}}
    # Two senders: the list input joins both, still after the caller's items; the senders are ready
    # together, so they run (and deliver) in name order: "split" before "then".
    pipeline.add_component("then", Words())
    pipeline.connect("then.words", "collect.words")
    result = run_pipeline(
        pipeline, {"split": {"text": "b"}, "then": {"text": "c"}, "collect": {"words": ["a"]}}
    )
    assert result == {"collect": {"words": ["a", "b", "c"]}}


def test_a_joined_list_input_runs_when_every_sender_sent_an_empty_list(run_pipeline: Runner) -> None:
    pipeline = Pipeline()
    pipeline.add_component("one", Words())
    pipeline.add_component("two", Words())
    pipeline.add_component("collect", Collect())
    pipeline.connect("one.words", "collect.words")
    pipeline.connect("two.words", "collect.words")
    assert run_pipeline(pipeline, {"one": {"text": ""}, "two": {"text": " "}}) == {"collect": {"words": []}}


def test_one_instance_belongs_to_one_pipeline_and_untyped_inputs_are_refused() -> None:
    shared = Words()
    first = Pipeline()
    first.add_component("split", shared)
    second = Pipeline()
    with pytest.raises(PipelineValidationError, match="already part of another pipeline"):
        second.add_component("split", shared)
    first.remove_component("split")
    second.add_component("split", shared)  # free again once removed
    with pytest.raises(PipelineValidationError, match="reserved"):
        second.add_component("_debug", Words())
    from haybale.errors import ComponentError

    with pytest.raises(ComponentError, match="has no type annotation"):

        @component
        class Untyped:
            @component.output_types(value=int)
            def run(self, value) -> dict[str, Any]:  # type: ignore[no-untyped-def]
                return {"value": value}

        Pipeline().add_component("untyped", Untyped())

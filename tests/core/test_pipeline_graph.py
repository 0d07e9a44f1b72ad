"""Building the graph: add/remove/get components, connect (and its errors), inputs(), outputs(), walk()."""

from __future__ import annotations

from typing import Any

import pytest

from haybale import Document, Pipeline, PipelineConnectError, PipelineValidationError, Variadic, component
from haybale.testing.sample_components import AddFixedValue, Concatenate, Double, Hello, Sum


@component
class DocsOut:
    @component.output_types(documents=list[Document], count=int)
    def run(self, query: str) -> dict[str, Any]:
        return {"documents": [Document(content=query)], "count": 1}


@component
class OneDoc:
    @component.output_types(document=Document)
    def run(self, document: Document) -> dict[str, Any]:
        return {"document": document}


@component
class Warm:
    def __init__(self) -> None:
        self.warmed = 0

    def warm_up(self) -> None:
        self.warmed += 1

    @component.output_types(value=int)
    def run(self, value: int) -> dict[str, Any]:
        return {"value": value}


def test_connect_is_chainable_and_listed() -> None:
    p = Pipeline()
    p.add_component("a", AddFixedValue())
    p.add_component("b", Double())
    assert p.connect("a", "b") is p
    assert p.connections() == [("a.result", "b.value")]
    p.connect("a.result", "b.value")  # the same connection again is a no-op
    assert p.connections() == [("a.result", "b.value")]


def test_list_into_single_item_is_refused_with_the_fix() -> None:
    p = Pipeline()
    p.add_component("docs", DocsOut())
    p.add_component("one", OneDoc())
    with pytest.raises(PipelineConnectError) as info:
        p.connect("docs.documents", "one.document")
    message = str(info.value)
    assert "'docs.documents' (list[haybale.dataclasses.document.Document])" in message
    assert "'one.document' (Document)" in message
    assert "not compatible" in message
    assert "Outputs of 'docs': documents: list[" in message and "count: int" in message


def test_incompatible_types_suggest_the_working_call() -> None:
    p = Pipeline()
    p.add_component("a", AddFixedValue())
    p.add_component("hello", Hello())
    p.add_component("concat", Concatenate())
    with pytest.raises(PipelineConnectError) as info:
        p.connect("a.result", "hello.word")
    assert "'a.result' (int)" in str(info.value) and "'hello.word' (str)" in str(info.value)
    assert "No pair of these sockets is compatible" in str(info.value)
    with pytest.raises(PipelineConnectError) as info2:
        p.connect("hello.output", "concat.value_that_does_not_exist")
    assert "has no input 'value_that_does_not_exist'" in str(info2.value)
    assert "first: list[str]" in str(info2.value)


def test_connect_suggests_exact_call_when_names_do_not_match() -> None:
    p = Pipeline()
    p.add_component("hello", Hello())
    p.add_component("other", Hello())
    p.add_component("a", AddFixedValue())
    with pytest.raises(PipelineConnectError) as info:
        p.connect("hello.output", "a.value")
    assert "'hello.output' (str) to 'a.value' (int)" in str(info.value)
    # a str output fits the mandatory 'word' and the optional 'greeting': the mandatory one wins
    p.connect("hello", "other")
    assert p.connections() == [("hello.output", "other.word")]
    # a list[str] output fits two mandatory inputs: the error lists both exact calls
    p.add_component("c1", Concatenate())
    p.add_component("c2", Concatenate())
    with pytest.raises(PipelineConnectError) as amb:
        p.connect("c1", "c2")
    assert 'connect("c1.value", "c2.first")' in str(amb.value)
    assert 'connect("c1.value", "c2.second")' in str(amb.value)


def test_unknown_component_and_output() -> None:
    p = Pipeline()
    p.add_component("a", AddFixedValue())
    with pytest.raises(PipelineConnectError, match=r"no component named 'b'.*\['a'\]"):
        p.connect("a", "b.value")
    p.add_component("b", Double())
    with pytest.raises(PipelineConnectError, match=r"'a' has no output 'nope'.*result: int"):
        p.connect("a.nope", "b.value")


def test_second_sender_into_single_value_input_is_refused() -> None:
    p = Pipeline()
    p.add_component("a", AddFixedValue())
    p.add_component("b", AddFixedValue())
    p.add_component("c", Double())
    p.connect("a.result", "c.value")
    with pytest.raises(PipelineConnectError, match=r"already receives from 'a.result'.*Variadic"):
        p.connect("b.result", "c.value")


def test_variadic_and_list_inputs_take_several_senders() -> None:
    p = Pipeline()
    for name in ("a", "b"):
        p.add_component(name, AddFixedValue())
    p.add_component("sum", Sum())
    p.connect("a", "sum").connect("b", "sum")
    assert p.connections() == [("a.result", "sum.values"), ("b.result", "sum.values")]


def test_add_component_errors() -> None:
    p = Pipeline()
    p.add_component("a", AddFixedValue())
    with pytest.raises(PipelineValidationError, match="already exists"):
        p.add_component("a", AddFixedValue())
    with pytest.raises(PipelineValidationError, match="without dots"):
        p.add_component("a.b", AddFixedValue())
    with pytest.raises(PipelineValidationError, match=r"not a component.*@component"):
        p.add_component("x", object())
    with pytest.raises(PipelineValidationError, match="Pass an instance, not the class"):
        p.add_component("x", AddFixedValue)


def test_remove_and_get_component() -> None:
    p = Pipeline()
    a = AddFixedValue()
    p.add_component("a", a)
    p.add_component("b", Double())
    p.connect("a", "b")
    assert p.get_component("a") is a
    assert p.remove_component("a") is a
    assert p.connections() == []
    assert [name for name, _ in p.walk()] == ["b"]
    with pytest.raises(PipelineValidationError, match=r"No component named 'a'.*\['b'\]"):
        p.get_component("a")
    assert p.run({"value": 2}) == {"b": {"value": 4}}


def test_inputs_and_outputs() -> None:
    p = Pipeline()
    p.add_component("a", AddFixedValue())
    p.add_component("b", Double())
    p.connect("a", "b")
    assert p.inputs() == {
        "a": {
            "value": {"type": int, "is_mandatory": True},
            "add": {"type": int | None, "is_mandatory": False, "default": None},
        }
    }
    assert p.inputs(include_connected=True)["b"] == {"value": {"type": int, "is_mandatory": True}}
    assert p.outputs() == {"b": {"value": {"type": int}}}


def test_warm_up_runs_once_per_change() -> None:
    warm = Warm()
    p = Pipeline()
    p.add_component("warm", warm)
    p.run({"value": 1})
    p.run({"value": 1})
    assert warm.warmed == 1
    p.warm_up()
    assert warm.warmed == 2


def test_variadic_annotation_is_a_list_for_type_checkers() -> None:
    values: Variadic[int] = [1, 2]
    assert values == [1, 2]


def test_invalid_max_runs() -> None:
    with pytest.raises(PipelineValidationError, match="positive int"):
        Pipeline(max_runs_per_component=0)


def test_include_outputs_from_accepts_a_single_name() -> None:
    p = Pipeline()
    p.add_component("a", AddFixedValue())
    p.add_component("b", AddFixedValue())
    p.connect("a.result", "b.value")
    assert p.run({"a": {"value": 1}}, include_outputs_from="a") == {"b": {"result": 3}, "a": {"result": 2}}

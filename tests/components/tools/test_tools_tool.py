"""Tool, @tool and schema derivation from typed functions."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

import pytest

from haybale.components.tools import Tool, create_tool_from_function, tool
from haybale.core.serialization import allowed_modules_scope
from haybale.dataclasses import Document
from haybale.errors import ComponentError, DeserializationError, SerializationError


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclass
class Point:
    x: float
    y: float = 0.0


def forecast(city: str, days: int = 3, unit: Unit = Unit.CELSIUS, tags: list[str] | None = None) -> str:
    """Forecast the weather for a city.

    Longer explanation that is not the summary.

    Args:
        city: the city name,
            possibly with a country.
        days: how many days ahead.
        unit: temperature unit.
        tags: free labels.

    Returns:
        The forecast text.
    """
    return f"{city}:{days}:{unit.value}:{tags}"


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first.
        b: second.
    """
    return a + b


@tool(name="distance_to_origin", description="Distance of a point to (0, 0).")
def distance(point: Point, mode: Literal["euclid", "manhattan"] = "euclid") -> float:
    return (point.x**2 + point.y**2) ** 0.5 if mode == "euclid" else abs(point.x) + abs(point.y)


def test_schema_from_signature_and_google_docstring() -> None:
    derived = Tool.from_function(forecast)
    assert derived.name == "forecast"
    assert (
        derived.description
        == "Forecast the weather for a city.\n\nLonger explanation that is not the summary."
    )
    props = derived.parameters["properties"]
    assert props["city"] == {"type": "string", "description": "the city name, possibly with a country."}
    assert props["days"] == {"type": "integer", "description": "how many days ahead."}
    assert props["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert props["tags"]["anyOf"] == [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
    assert derived.parameters["required"] == ["city"]
    assert derived.invoke(city="Oslo", days=1) == "Oslo:1:celsius:None"


def test_decorator_forms() -> None:
    assert isinstance(add, Tool) and add.invoke(a=2, b=3) == 5
    assert add.tool_spec["function"]["parameters"]["required"] == ["a", "b"]
    assert distance.name == "distance_to_origin"
    point_schema = distance.parameters["properties"]["point"]
    assert point_schema["properties"]["x"] == {"type": "number"} and point_schema["required"] == ["x"]
    assert distance.parameters["properties"]["mode"] == {"enum": ["euclid", "manhattan"]}


def test_data_classes_with_from_dict_become_objects() -> None:
    def count_words(document: Document) -> int:
        return len((document.content or "").split())

    schema = create_tool_from_function(count_words).parameters["properties"]["document"]
    assert schema["type"] == "object" and "Document" in schema["description"]


def test_inputs_from_state_are_hidden_from_the_model() -> None:
    def lookup(query: str, documents: list[Document]) -> int:
        return len(documents)

    derived = create_tool_from_function(lookup, inputs_from_state={"documents": "documents"})
    assert list(derived.parameters["properties"]) == ["query"]


def test_serialization_round_trip() -> None:
    for original in (add, distance, Tool.from_function(forecast, outputs_to_state={"last": ""})):
        data = original.to_dict()
        with allowed_modules_scope([__name__]):
            loaded = Tool.from_dict(data)
        assert loaded.to_dict() == data
    assert add.to_dict()["data"]["function"].endswith(".add")


def test_loading_a_function_outside_the_allow_list_is_refused() -> None:
    data = add.to_dict()
    data["data"]["function"] = "os.system"
    with pytest.raises(DeserializationError, match="not allow-listed"):
        Tool.from_dict(data)


def test_lambdas_cannot_be_serialized() -> None:
    anonymous = Tool(name="anon", description="d", parameters={"type": "object"}, function=lambda: 1)
    with pytest.raises(SerializationError, match="module level"):
        anonymous.to_dict()


def test_invalid_tools_are_rejected() -> None:
    with pytest.raises(ComponentError, match="Invalid tool name"):
        Tool(name="has space", description="d", parameters={"type": "object"}, function=print)
    with pytest.raises(ComponentError, match="type 'object'"):
        Tool(name="t", description="d", parameters={"type": "string"}, function=print)
    with pytest.raises(ComponentError, match="callable"):
        Tool(name="t", description="d", parameters={"type": "object"}, function="print")  # type: ignore[arg-type]

    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(ComponentError, match="no type annotation"):
        create_tool_from_function(untyped)

    def odd(x: bytes) -> None:
        return None

    with pytest.raises(ComponentError, match="no JSON form"):
        create_tool_from_function(odd)

"""@component: socket discovery, dynamic sockets, init-parameter capture and decorator errors."""

from __future__ import annotations

from typing import Any

import pytest

from haybale import ComponentError, GreedyVariadic, Variadic, component
from haybale.core.component import get_init_parameters, get_input_sockets, get_output_sockets, is_component
from haybale.core.sockets import EMPTY, InputSocket, OutputSocket
from haybale.testing.sample_components import AddFixedValue, DynamicDefault, FString, Remainder


def test_sockets_from_run_signature() -> None:
    add = AddFixedValue(add=3)
    assert get_input_sockets(add) == {
        "value": InputSocket("value", int, EMPTY, None),
        "add": InputSocket("add", int | None, None, None),
    }
    assert get_output_sockets(add) == {"result": OutputSocket("result", int)}
    assert get_input_sockets(add)["value"].is_mandatory
    assert not get_input_sockets(add)["add"].is_mandatory


def test_variadic_sockets() -> None:
    @component
    class Both:
        @component.output_types(out=int)
        def run(
            self, lazy: Variadic[int], greedy: GreedyVariadic[str], plain: list[int] | None = None
        ) -> dict[str, Any]:
            return {"out": 1}

    sockets = get_input_sockets(Both())
    assert sockets["lazy"].variadic == "lazy" and sockets["lazy"].type is int
    assert sockets["greedy"].is_greedy and sockets["greedy"].type is str
    assert sockets["plain"].variadic is None
    assert sockets["lazy"].describe() == "lazy: Variadic[int]"
    assert sockets["plain"].describe() == "plain: list[int] | None (optional)"


def test_dynamic_sockets_are_per_instance() -> None:
    three, five = Remainder(divisor=3), Remainder(divisor=5)
    assert list(get_output_sockets(three)) == ["remainder_is_0", "remainder_is_1", "remainder_is_2"]
    assert len(get_output_sockets(five)) == 5
    fs = FString(template="{a}", variables=["a"])
    assert get_input_sockets(fs)["a"].is_mandatory
    dyn = DynamicDefault(default=4)
    assert get_input_sockets(dyn)["x"].default == 4
    assert get_output_sockets(dyn) == {"result": OutputSocket("result", int)}


def test_init_parameters_are_recorded_with_defaults() -> None:
    assert get_init_parameters(AddFixedValue()) == {"add": 1}
    assert get_init_parameters(AddFixedValue(7)) == {"add": 7}
    assert get_init_parameters(FString("{a}", ["a"])) == {"template": "{a}", "variables": ["a"]}


def test_auto_to_dict_round_trip() -> None:
    data = AddFixedValue(add=5).to_dict()
    assert data == {"type": "haybale.testing.sample_components.AddFixedValue", "init_parameters": {"add": 5}}
    assert AddFixedValue.from_dict(data).to_dict() == data


def test_is_component() -> None:
    assert is_component(AddFixedValue) and is_component(AddFixedValue())
    assert not is_component(object())


def test_decorator_errors() -> None:
    with pytest.raises(ComponentError, match="has no run"):

        @component
        class NoRun:
            pass

    with pytest.raises(ComponentError, match="run is async"):

        @component
        class AsyncRun:
            async def run(self) -> dict[str, Any]:
                return {}

    with pytest.raises(ComponentError, match="async def"):

        @component
        class SyncRunAsync:
            def run(self) -> dict[str, Any]:
                return {}

            def run_async(self) -> dict[str, Any]:
                return {}

    with pytest.raises(ComponentError, match="same parameters"):

        @component
        class Mismatch:
            def run(self, a: int) -> dict[str, Any]:
                return {}

            async def run_async(self, b: int) -> dict[str, Any]:
                return {}

    with pytest.raises(ComponentError, match="decorates classes"):
        component(len)  # type: ignore[type-var]


def test_positional_only_parameter_is_refused() -> None:
    @component
    class PosOnly:
        def run(self, a: int, /) -> dict[str, Any]:
            return {}

    with pytest.raises(ComponentError, match="positional-only"):
        get_input_sockets(PosOnly())


def test_set_input_types_needs_an_instance() -> None:
    with pytest.raises(ComponentError, match="component instance"):
        component.set_input_types(AddFixedValue, x=int)
    with pytest.raises(ComponentError, match="component instance"):
        component.set_output_types(object(), x=int)


def test_unresolvable_annotation_is_a_clear_error() -> None:
    @component
    class Broken:
        def run(self, a: DoesNotExist) -> dict[str, Any]:  # type: ignore[name-defined]  # noqa: F821
            return {}

    with pytest.raises(ComponentError, match="Cannot resolve the type annotations"):
        get_input_sockets(Broken())

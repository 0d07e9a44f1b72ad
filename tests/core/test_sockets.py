"""Sockets and the variadic markers."""

from __future__ import annotations

import pickle
from typing import Any

from haybale import Document, GreedyVariadic, Variadic
from haybale.core.sockets import EMPTY, InputSocket, OutputSocket, describe_type, unwrap_variadic


def test_unwrap_variadic() -> None:
    assert unwrap_variadic(Variadic[int]) == (int, "lazy")
    assert unwrap_variadic(GreedyVariadic[list[Document]]) == (list[Document], "greedy")
    assert unwrap_variadic(list[int]) == (list[int], None)
    assert unwrap_variadic(int) == (int, None)


def test_describe_type() -> None:
    assert describe_type(int) == "int"
    assert describe_type(Any) == "Any"
    assert describe_type(int | None) == "int | None"
    assert describe_type(list[str]) == "list[str]"


def test_socket_properties_and_descriptions() -> None:
    mandatory = InputSocket("value", int)
    optional = InputSocket("add", int | None, None)
    lazy = InputSocket("values", int, EMPTY, "lazy")
    greedy = InputSocket("first", int, EMPTY, "greedy")
    assert mandatory.is_mandatory and not optional.is_mandatory
    assert lazy.is_variadic and not lazy.is_greedy and greedy.is_greedy
    assert mandatory.describe() == "value: int"
    assert optional.describe() == "add: int | None (optional)"
    assert lazy.describe() == "values: Variadic[int]"
    assert greedy.describe() == "first: GreedyVariadic[int]"
    assert OutputSocket("result", int).describe() == "result: int"


def test_empty_is_a_singleton_that_survives_pickling() -> None:
    assert repr(EMPTY) == "EMPTY"
    assert pickle.loads(pickle.dumps(EMPTY)) is EMPTY
    assert EMPTY is not None

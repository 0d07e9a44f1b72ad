"""Connection type compatibility: never silently lossy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Optional, Union

import pytest

from haybale import Document
from haybale.core.types import find_conversion, types_compatible, wrap_in_list


class Base:
    pass


class Child(Base):
    pass


@pytest.mark.parametrize(
    ("sender", "receiver", "ok"),
    [
        (int, int, True),
        (int, str, False),
        (Any, int, True),
        (int, Any, True),
        (int, Optional[int], True),  # noqa: UP045 - the old spelling must work too
        (int, int | None, True),
        (int | None, int, False),
        (Optional[int], Optional[int], True),  # noqa: UP045 - the old spelling must work too
        (int | str, int | str | None, True),
        (int | str, int, False),
        (Union[int, str], str | int, True),  # noqa: UP007 - the old spelling must work too
        (bool, int, True),
        (int, float, True),
        (float, int, False),
        (int, bool, False),
        (Child, Base, True),
        (Base, Child, False),
        (list[int], list[int], True),
        (list[int], list[str], False),
        (list[Document], Document, False),
        (list[int], int, False),
        (list[int], Sequence[int], True),
        (list[int], list, True),
        (list, list[int], True),
        (list[Child], list[Base], True),
        (dict[str, int], dict[str, int], True),
        (dict[str, int], Mapping[str, int], True),
        (dict[str, int], dict[str, str], False),
        (dict[str, list[Document]], dict[str, list[Document]], True),
        (tuple[int, str], tuple[int, str], True),
        (tuple[int, int], tuple[int, ...], True),
        (tuple[int, ...], tuple[int, int], False),
        (tuple[int, str], tuple[int], False),
        (Literal["a", "b"], str, True),
        (Literal["a", "b"], Literal["a", "b", "c"], True),
        (Literal["a", "z"], Literal["a", "b"], False),
        (str, Literal["a"], False),
        (Callable[[int], str], Callable[[int], str], True),
        (Callable[[int], str], Callable[[str], str], False),
        (None, None, True),
        (type(None), int | None, True),
    ],
)
def test_compatibility_table(sender: Any, receiver: Any, ok: bool) -> None:
    assert types_compatible(sender, receiver) is ok


def test_item_into_list_is_the_only_conversion() -> None:
    assert find_conversion(str, list[str]) is wrap_in_list
    assert find_conversion(str, list[str] | None) is wrap_in_list
    assert find_conversion(Document, list[Document]) is wrap_in_list
    assert find_conversion(list[Document], Document) is None
    assert find_conversion(int, list[str]) is None
    assert find_conversion(Any, list[int]) is None
    assert wrap_in_list(3) == [3]

"""Evaluate a filter tree against documents in Python.

The tree is compiled once into nested closures (cached on the node), so filtering many documents does no
per-document dispatch on operator names. The semantics match the SQL compilers exactly; see
:mod:`haybale.filters`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from haybale.dataclasses import Document
from haybale.filters.tree import Condition, FilterNode, LogicalCondition, parse_filters

__all__ = [
    "Predicate",
    "compile_predicate",
    "document_matches",
    "filter_documents",
    "like_to_regex",
    "scalar_equals",
]

Predicate = Callable[[Document], bool]
_MISSING: Any = object()


def compile_predicate(node: FilterNode | dict[str, Any] | None) -> Predicate:
    """Return a function ``document -> bool`` for ``node`` (a parsed tree, a filter dict, or None for all)."""
    parsed = parse_filters(node)
    if parsed is None:
        return _always_true
    cached = parsed.__dict__.get("_predicate")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    predicate = _compile(parsed)
    # A frozen dataclass still has a __dict__; caching here makes repeated evaluation of one tree free.
    object.__setattr__(parsed, "_predicate", predicate)
    return predicate


def document_matches(node: FilterNode | dict[str, Any] | None, document: Document) -> bool:
    """True when ``document`` satisfies ``node`` (always True when ``node`` is None)."""
    return compile_predicate(node)(document)


def filter_documents(
    node: FilterNode | dict[str, Any] | None, documents: Iterable[Document]
) -> list[Document]:
    """The documents that satisfy ``node``, in their original order."""
    predicate = compile_predicate(node)
    return [document for document in documents if predicate(document)]


def _always_true(document: Document) -> bool:
    return True


def _compile(node: FilterNode) -> Predicate:
    if isinstance(node, LogicalCondition):
        children = [_compile(child) for child in node.conditions]
        if node.operator == "AND":
            return lambda doc: all(child(doc) for child in children)
        if node.operator == "OR":
            return lambda doc: any(child(doc) for child in children)
        return lambda doc: not all(child(doc) for child in children)
    getter = _field_getter(node)
    test = _value_test(node.operator, node.value)
    return lambda doc: test(getter(doc))


def _field_getter(condition: Condition) -> Callable[[Document], Any]:
    path = condition.meta_path
    if path is None:
        attribute = condition.field
        return lambda doc: getattr(doc, attribute)
    if len(path) == 1:
        key = path[0]
        return lambda doc: doc.meta.get(key, _MISSING)

    def nested(doc: Document) -> Any:
        value: Any = doc.meta
        for key in path:
            if not isinstance(value, dict):
                return _MISSING
            value = value.get(key, _MISSING)
            if value is _MISSING:
                return _MISSING
        return value

    return nested


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def scalar_equals(stored: Any, expected: Any) -> bool:
    """Typed equality: numbers equal numerically (1 == 1.0), booleans only booleans, strings only strings.

    ``expected`` None matches a missing (``_MISSING``) or null stored value; lists compare element by element.
    """
    if expected is None:
        return stored is None or stored is _MISSING
    if isinstance(expected, bool):
        return isinstance(stored, bool) and stored is expected
    if isinstance(expected, str):
        return isinstance(stored, str) and stored == expected
    if isinstance(expected, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(expected)
            and all(scalar_equals(item, want) for item, want in zip(stored, expected, strict=True))
        )
    return _is_number(stored) and stored == expected


def _ordering_test(operator: str, expected: Any) -> Callable[[Any], bool]:
    compare: Callable[[Any, Any], bool] = {
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }[operator]
    if isinstance(expected, str):
        return lambda stored: isinstance(stored, str) and compare(stored, expected)
    return lambda stored: _is_number(stored) and compare(stored, expected)


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a LIKE pattern (``%`` any run, ``_`` one character, ``\\`` escapes) to an anchored regex."""
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars)))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _contains_test(expected: Any) -> Callable[[Any], bool]:
    def test(stored: Any) -> bool:
        if isinstance(stored, list):
            return any(scalar_equals(item, expected) for item in stored)
        return isinstance(stored, str) and isinstance(expected, str) and expected in stored

    return test


def _negated(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda stored: not test(stored)


def _in_test(options: list[Any]) -> Callable[[Any], bool]:
    def test(stored: Any) -> bool:
        if isinstance(stored, list):  # a list-valued field is "in" the options when any element is
            return any(scalar_equals(item, option) for item in stored for option in options)
        return any(scalar_equals(stored, option) for option in options)

    return test


def _like_test(pattern: str) -> Callable[[Any], bool]:
    regex = like_to_regex(pattern)
    return lambda stored: isinstance(stored, str) and regex.fullmatch(stored) is not None


def _exists_test(expected: bool) -> Callable[[Any], bool]:
    return lambda stored: expected == (stored is not None and stored is not _MISSING)


def _equals_test(expected: Any) -> Callable[[Any], bool]:
    return lambda stored: scalar_equals(stored, expected)


_POSITIVE_TESTS: dict[str, Callable[[Any], Callable[[Any], bool]]] = {
    "==": _equals_test,
    "in": _in_test,
    "like": _like_test,
    "exists": _exists_test,
    "contains": _contains_test,
}
_NEGATIONS = {"!=": "==", "not in": "in", "not like": "like"}


def _value_test(operator: str, expected: Any) -> Callable[[Any], bool]:
    if operator in _NEGATIONS:
        return _negated(_POSITIVE_TESTS[_NEGATIONS[operator]](expected))
    if operator in (">", ">=", "<", "<="):
        return _ordering_test(operator, expected)
    return _POSITIVE_TESTS[operator](expected)

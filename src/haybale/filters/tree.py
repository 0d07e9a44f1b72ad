"""The typed filter tree and the parser that validates user filters into it.

A filter is either a comparison ``{"field": "meta.year", "operator": ">=", "value": 2020}``, a logical node
``{"operator": "AND" | "OR" | "NOT", "conditions": [...]}``, or the shorthand ``{"year": 2020, "tag": ["a"]}``
(an AND of ``==`` for scalar values and ``in`` for list values). See :mod:`haybale.filters` for the semantics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from haybale.errors import FilterError

__all__ = [
    "COMPARISON_OPERATORS",
    "DOCUMENT_FIELDS",
    "LOGICAL_OPERATORS",
    "MAX_FILTER_CONDITIONS",
    "MAX_FILTER_DEPTH",
    "UNFILTERABLE_FIELDS",
    "ComparisonOperator",
    "Condition",
    "FilterNode",
    "LogicalCondition",
    "LogicalOperator",
    "filter_to_dict",
    "normalize_field",
    "parse_filters",
    "validate_filters",
]

ComparisonOperator = Literal[
    "==", "!=", ">", ">=", "<", "<=", "in", "not in", "like", "not like", "exists", "contains"
]
LogicalOperator = Literal["AND", "OR", "NOT"]

COMPARISON_OPERATORS: tuple[str, ...] = (
    "==",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "in",
    "not in",
    "like",
    "not like",
    "exists",
    "contains",
)
LOGICAL_OPERATORS: tuple[str, ...] = ("AND", "OR", "NOT")

#: Document attributes that are filterable directly (everything else lives under ``meta``).
DOCUMENT_FIELDS: tuple[str, ...] = ("id", "content")
#: Document attributes that cannot be filtered on; naming one is a FilterError rather than a meta lookup.
UNFILTERABLE_FIELDS: frozenset[str] = frozenset(
    {"embedding", "sparse_embedding", "blob", "score", "score_details", "meta"}
)

#: SQLite and PostgreSQL bind 64-bit integers; larger ones would compare differently in each backend.
_MAX_INT = 2**63 - 1
#: How deeply AND/OR/NOT may nest. Real filters need a few levels; SQL parsers overflow on hundreds.
MAX_FILTER_DEPTH = 20
#: How many conditions one filter may hold (list values of ``in`` count once).
MAX_FILTER_CONDITIONS = 1000


@dataclass(frozen=True)
class Condition:
    """One comparison of a document field against a value.

    Attributes:
        field: canonical field name: ``"id"``, ``"content"`` or ``"meta.<key>[.<key>...]"``.
        operator: one of :data:`COMPARISON_OPERATORS`.
        value: the validated comparison value (lists stay lists).
    """

    field: str
    operator: str
    value: Any

    @property
    def meta_path(self) -> tuple[str, ...] | None:
        """The keys below ``meta`` this condition reads, or None for ``id`` / ``content``."""
        if self.field in DOCUMENT_FIELDS:
            return None
        return tuple(self.field.split(".")[1:])


@dataclass(frozen=True)
class LogicalCondition:
    """AND / OR / NOT over sub-conditions. NOT is true when the AND of its conditions is false."""

    operator: str
    conditions: tuple[FilterNode, ...]


FilterNode: TypeAlias = Condition | LogicalCondition


def parse_filters(filters: dict[str, Any] | FilterNode | None, *, name: str = "filters") -> FilterNode | None:
    """Validate ``filters`` and return its typed tree; None or ``{}`` (no filter) returns None.

    Args:
        filters: a filter dict in the full or shorthand form, an already-parsed node, or None.
        name: what the caller calls this argument (for example ``corpus_filters``); error messages start
            their path with it.

    Raises:
        FilterError: the filter is malformed; the message gives the path of the bad part (for example
            ``conditions[1].operator``), what was found and what is allowed.
    """
    if filters is None:
        return None
    if isinstance(filters, Condition | LogicalCondition):
        return filters
    if not isinstance(filters, dict):
        raise FilterError(
            f"{name}: expected a dict, got {type(filters).__name__} ({filters!r}). Use "
            '{"field": "meta.year", "operator": ">=", "value": 2020} or the shorthand {"year": 2020}.'
        )
    if not filters:
        return None
    budget = [MAX_FILTER_CONDITIONS]
    return _parse_node(filters, name, 1, budget)


def filter_to_dict(node: FilterNode) -> dict[str, Any]:
    """The full dict form of a parsed filter (what :func:`parse_filters` turns back into ``node``)."""
    if isinstance(node, LogicalCondition):
        return {"operator": node.operator, "conditions": [filter_to_dict(child) for child in node.conditions]}
    return {"field": node.field, "operator": node.operator, "value": node.value}


def validate_filters(filters: dict[str, Any] | FilterNode | None) -> None:
    """Raise :class:`FilterError` when ``filters`` is malformed; return None when it is valid."""
    parse_filters(filters)


def _parse_node(data: Any, where: str, depth: int, budget: list[int]) -> FilterNode:
    if depth > MAX_FILTER_DEPTH:
        raise FilterError(
            f"{where}: the filter nests more than {MAX_FILTER_DEPTH} levels of AND/OR/NOT. Flatten it: "
            "NOT(NOT(x)) is x, and AND/OR take any number of conditions at one level."
        )
    budget[0] -= max(1, len(data)) if isinstance(data, dict) and "operator" not in data else 1
    if budget[0] < 0:
        raise FilterError(
            f"{where}: the filter holds more than {MAX_FILTER_CONDITIONS} conditions. Combine values of one "
            'field into one condition: {"field": "meta.id", "operator": "in", "value": [...]}.'
        )
    if not isinstance(data, dict):
        raise FilterError(
            f"{where}: expected a condition dict, got {type(data).__name__} ({data!r}). A condition is "
            '{"field": ..., "operator": ..., "value": ...} or {"operator": "AND", "conditions": [...]}.'
        )
    if "operator" not in data:
        if "conditions" in data or "field" in data:
            raise FilterError(f"{where}: missing 'operator'. Allowed: {', '.join(_all_operators())}.")
        return _parse_shorthand(data, where)
    operator = data["operator"]
    if not isinstance(operator, str) or operator not in COMPARISON_OPERATORS + LOGICAL_OPERATORS:
        raise FilterError(
            f"{where}.operator: unknown operator {operator!r}. Allowed: {', '.join(_all_operators())}."
        )
    if operator in LOGICAL_OPERATORS:
        return _parse_logical(data, operator, where, depth, budget)
    return _parse_comparison(data, operator, where)


def _all_operators() -> list[str]:
    return [repr(op) for op in COMPARISON_OPERATORS + LOGICAL_OPERATORS]


def _parse_logical(
    data: dict[str, Any], operator: str, where: str, depth: int, budget: list[int]
) -> LogicalCondition:
    extra = set(data) - {"operator", "conditions"}
    if extra:
        raise FilterError(
            f"{where}: unexpected keys {sorted(extra)} in a {operator} condition; "
            "a logical condition has only 'operator' and 'conditions'."
        )
    conditions = data.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise FilterError(
            f"{where}.conditions: {operator} needs a non-empty list of conditions, got {conditions!r}."
        )
    children = tuple(
        _parse_node(child, f"{where}.conditions[{i}]", depth + 1, budget)
        for i, child in enumerate(conditions)
    )
    return LogicalCondition(operator=operator, conditions=children)


def _parse_comparison(data: dict[str, Any], operator: str, where: str) -> Condition:
    extra = set(data) - {"field", "operator", "value"}
    if extra:
        raise FilterError(
            f"{where}: unexpected keys {sorted(extra)} in a comparison; "
            "a comparison has only 'field', 'operator' and 'value'."
        )
    if "field" not in data:
        raise FilterError(f"{where}.field: missing; a {operator!r} comparison needs a 'field'.")
    if "value" not in data:
        raise FilterError(f"{where}.value: missing; a {operator!r} comparison needs a 'value'.")
    field = normalize_field(data["field"], f"{where}.field")
    value = _validate_value(operator, data["value"], f"{where}.value")
    return Condition(field=field, operator=operator, value=value)


def _parse_shorthand(data: dict[str, Any], where: str) -> FilterNode:
    conditions: list[FilterNode] = []
    for key, value in data.items():
        key_where = f"{where}[{key!r}]"
        field = normalize_field(key, key_where)
        if isinstance(value, list):
            conditions.append(Condition(field, "in", _validate_value("in", value, key_where)))
        elif isinstance(value, dict):
            raise FilterError(
                f"{key_where}: a shorthand value must be a scalar (==) or a list (in), got a dict. Use the "
                f'full form for other operators: {{"field": "{field}", "operator": ">=", "value": ...}}.'
            )
        else:
            conditions.append(Condition(field, "==", _validate_value("==", value, key_where)))
    if len(conditions) == 1:
        return conditions[0]
    return LogicalCondition(operator="AND", conditions=tuple(conditions))


def normalize_field(field: Any, where: str) -> str:
    """Return the canonical name of ``field``: ``id``, ``content`` or ``meta.<path>``.

    ``"meta.a.b"`` reads ``meta["a"]["b"]``; a bare name other than ``id`` / ``content`` (``"year"``,
    ``"a.b"``) is a metadata field, so ``"year"`` and ``"meta.year"`` are the same field.
    """
    if not isinstance(field, str) or not field:
        raise FilterError(f"{where}: a field must be a non-empty string, got {field!r}.")
    if "\x00" in field:
        raise FilterError(f"{where}: the field name {field!r} contains a NUL character (\\u0000); remove it.")
    if field in DOCUMENT_FIELDS:
        return field
    if field in UNFILTERABLE_FIELDS:
        raise FilterError(
            f"{where}: the document attribute {field!r} cannot be filtered on. Filterable: 'id', "
            "'content' and metadata fields ('meta.<key>', nested as 'meta.a.b')."
        )
    path = field[len("meta.") :] if field.startswith("meta.") else field
    keys = path.split(".")
    if any(not key for key in keys):
        raise FilterError(f"{where}: {field!r} has an empty key; write nested fields as 'meta.a.b'.")
    return "meta." + path


def _check_scalar(value: Any, where: str, *, allow_none: bool) -> Any:
    if value is None:
        if allow_none:
            return None
        raise FilterError(f"{where}: None is not allowed here.")
    if isinstance(value, str):
        if "\x00" in value:
            raise FilterError(
                f"{where}: the value {value!r} contains a NUL character (\\u0000), which no stored text can "
                "hold; remove it."
            )
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_INT:
            raise FilterError(f"{where}: integer {value} is outside the 64-bit range stores can compare.")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FilterError(f"{where}: {value!r} is not finite; filters compare finite numbers only.")
        return value
    raise FilterError(
        f"{where}: expected a string, number, boolean or None, got {type(value).__name__} ({value!r})."
    )


def _validate_equality_value(operator: str, value: Any, where: str) -> Any:
    if isinstance(value, list):
        return [_check_scalar(item, f"{where}[{i}]", allow_none=True) for i, item in enumerate(value)]
    return _check_scalar(value, where, allow_none=True)


def _validate_ordering_value(operator: str, value: Any, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FilterError(
            f"{where}: {operator!r} compares numbers or strings (ISO dates compare as strings), "
            f"got {type(value).__name__} ({value!r})."
        )
    return _check_scalar(value, where, allow_none=False)


def _validate_list_value(operator: str, value: Any, where: str) -> Any:
    if not isinstance(value, list):
        raise FilterError(
            f"{where}: {operator!r} needs a list of values, got {type(value).__name__} ({value!r}). "
            f"Wrap a single value in a list: [{value!r}]."
        )
    return [_check_scalar(item, f"{where}[{i}]", allow_none=True) for i, item in enumerate(value)]


def _validate_exists_value(operator: str, value: Any, where: str) -> Any:
    if not isinstance(value, bool):
        raise FilterError(f"{where}: 'exists' needs True or False, got {value!r}.")
    return value


def _validate_contains_value(operator: str, value: Any, where: str) -> Any:
    if value is None or isinstance(value, list | dict):
        raise FilterError(
            f"{where}: 'contains' needs a string, number or boolean (a list element or a substring), "
            f"got {type(value).__name__} ({value!r})."
        )
    return _check_scalar(value, where, allow_none=False)


def _validate_value(operator: str, value: Any, where: str) -> Any:
    validators = {
        "==": _validate_equality_value,
        "!=": _validate_equality_value,
        "in": _validate_list_value,
        "not in": _validate_list_value,
        "like": _validate_like_pattern,
        "not like": _validate_like_pattern,
        "exists": _validate_exists_value,
        "contains": _validate_contains_value,
    }
    validator = validators.get(operator, _validate_ordering_value)
    return validator(operator, value, where)


def _validate_like_pattern(operator: str, value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise FilterError(
            f"{where}: {operator!r} needs a string pattern (% = any run of characters, _ = one character, "
            f"\\ escapes), got {type(value).__name__} ({value!r})."
        )
    escaped = False
    for char in value:
        escaped = not escaped and char == "\\"
    if escaped:
        raise FilterError(
            f"{where}: the {operator!r} pattern {value!r} ends with a lone backslash; "
            "escape a literal backslash as \\\\."
        )
    return value

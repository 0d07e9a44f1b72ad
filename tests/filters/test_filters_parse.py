"""Parsing and validation of filters into the typed tree."""

from __future__ import annotations

import pytest

from haybale.errors import FilterError
from haybale.filters import Condition, LogicalCondition, parse_filters, validate_filters
from haybale.testing.filter_cases import INVALID_FILTERS


def test_full_comparison_form():
    node = parse_filters({"field": "meta.year", "operator": ">=", "value": 2020})
    assert node == Condition(field="meta.year", operator=">=", value=2020)
    assert node.meta_path == ("year",)


def test_logical_form_is_recursive():
    node = parse_filters(
        {
            "operator": "OR",
            "conditions": [
                {"field": "id", "operator": "==", "value": "a"},
                {
                    "operator": "NOT",
                    "conditions": [{"field": "meta.a.b", "operator": "exists", "value": True}],
                },
            ],
        }
    )
    assert isinstance(node, LogicalCondition)
    assert node.operator == "OR"
    assert node.conditions[0] == Condition("id", "==", "a")
    inner = node.conditions[1]
    assert isinstance(inner, LogicalCondition)
    assert inner.conditions[0].meta_path == ("a", "b")


def test_shorthand_is_and_of_equals_and_in():
    node = parse_filters({"year": 2020, "tag": ["a", "b"], "id": "x", "meta.lang": "en", "a.b": None})
    assert node == LogicalCondition(
        "AND",
        (
            Condition("meta.year", "==", 2020),
            Condition("meta.tag", "in", ["a", "b"]),
            Condition("id", "==", "x"),
            Condition("meta.lang", "==", "en"),
            Condition("meta.a.b", "==", None),
        ),
    )


def test_shorthand_single_key_is_one_condition():
    assert parse_filters({"content": "hello"}) == Condition("content", "==", "hello")


def test_bare_field_in_full_form_is_meta():
    assert parse_filters({"field": "year", "operator": "==", "value": 1}) == Condition("meta.year", "==", 1)


@pytest.mark.parametrize("empty", [None, {}])
def test_no_filter(empty):
    assert parse_filters(empty) is None
    validate_filters(empty)


def test_parsed_node_passes_through():
    node = Condition("meta.a", "==", 1)
    assert parse_filters(node) is node


@pytest.mark.parametrize("filters", list(INVALID_FILTERS.values()), ids=list(INVALID_FILTERS))
def test_invalid_filters_raise_filter_error(filters):
    with pytest.raises(FilterError):
        parse_filters(filters)
    with pytest.raises(ValueError):  # FilterError is a ValueError, so generic handlers still catch it
        validate_filters(filters)


def test_error_names_the_path_what_was_found_and_what_is_allowed():
    filters = {
        "operator": "AND",
        "conditions": [
            {"field": "meta.a", "operator": "==", "value": 1},
            {"operator": "OR", "conditions": [{"field": "meta.b", "operator": "=", "value": 1}]},
        ],
    }
    with pytest.raises(FilterError) as error:
        parse_filters(filters)
    message = str(error.value)
    assert "filters.conditions[1].conditions[0].operator" in message
    assert "'='" in message
    assert "'=='" in message and "'not in'" in message and "'NOT'" in message


def test_value_errors_name_the_value_path():
    with pytest.raises(FilterError, match=r"filters\.conditions\[0\]\.value: 'in' needs a list"):
        parse_filters({"operator": "OR", "conditions": [{"field": "meta.a", "operator": "in", "value": "x"}]})
    with pytest.raises(FilterError, match=r"filters\['tags'\]"):
        parse_filters({"tags": {"$in": ["a"]}})
    with pytest.raises(FilterError, match=r"value\[1\]"):
        parse_filters({"field": "meta.a", "operator": "in", "value": [1, [2]]})


def test_like_pattern_must_not_end_with_a_lone_backslash():
    with pytest.raises(FilterError, match="lone backslash"):
        parse_filters({"field": "content", "operator": "like", "value": "abc\\"})
    parse_filters({"field": "content", "operator": "like", "value": "abc\\\\"})


def test_integers_beyond_64_bits_are_refused():
    with pytest.raises(FilterError, match="64-bit"):
        parse_filters({"field": "meta.n", "operator": "==", "value": 2**70})


def test_unexpected_keys_are_refused():
    with pytest.raises(FilterError, match="unexpected keys"):
        parse_filters({"field": "meta.a", "operator": "==", "value": 1, "conditions": []})
    with pytest.raises(FilterError, match="unexpected keys"):
        parse_filters({"operator": "AND", "conditions": [{"a": 1}], "field": "x"})


def test_missing_operator_with_field_is_an_error_not_shorthand():
    with pytest.raises(FilterError, match="missing 'operator'"):
        parse_filters({"field": "meta.a", "value": 1})


def test_nesting_and_size_are_bounded_with_a_clear_message():
    from haybale.filters.tree import MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH

    node = {"field": "meta.a", "operator": "==", "value": 1}
    for _ in range(MAX_FILTER_DEPTH - 1):
        node = {"operator": "NOT", "conditions": [node]}
    validate_filters(node)  # the deepest allowed
    with pytest.raises(FilterError, match=f"more than {MAX_FILTER_DEPTH} levels"):
        validate_filters({"operator": "NOT", "conditions": [node]})
    many = [{"field": "meta.a", "operator": "==", "value": i} for i in range(MAX_FILTER_CONDITIONS + 1)]
    with pytest.raises(FilterError, match=f"more than {MAX_FILTER_CONDITIONS} conditions"):
        validate_filters({"operator": "OR", "conditions": many})
    with pytest.raises(FilterError, match="conditions"):
        validate_filters({f"k{i}": i for i in range(MAX_FILTER_CONDITIONS + 1)})


@pytest.mark.parametrize(
    "bad",
    [
        {"field": "meta.a\x00b", "operator": "==", "value": 1},
        {"field": "meta.a", "operator": "==", "value": "x\x00y"},
        {"field": "meta.a", "operator": "in", "value": ["ok", "no\x00"]},
    ],
)
def test_nul_characters_are_refused(bad):
    with pytest.raises(FilterError, match="NUL character"):
        validate_filters(bad)


def test_filter_to_dict_round_trips():
    from haybale.filters import filter_to_dict

    original = {"year": 2020, "tag": ["a", "b"], "meta.nested.x": {"not": "allowed"} and 1}
    parsed = parse_filters(original)
    assert parse_filters(filter_to_dict(parsed)) == parsed

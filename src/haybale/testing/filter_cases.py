"""A fixed corpus and filter cases with hand-computed expected ids, shared by the store conformance suite.

The expected ids were worked out by hand from the semantics documented in :mod:`haybale.filters` -- never by
running an evaluator -- so a store (or the Python evaluator itself) that disagrees is caught.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from haybale.dataclasses import Document

__all__ = ["ALL_IDS", "FILTER_CASES", "INVALID_FILTERS", "LONG_IN_CASES", "FilterCase", "filter_corpus"]

ALL_IDS = frozenset({"d1", "d2", "d3", "d4", "d5", "d6"})


def filter_corpus() -> list[Document]:
    """Six documents covering ints/floats/strings/bools, null vs missing, lists, nesting and unicode."""
    return [
        Document(
            id="d1",
            content="The quick brown fox",
            meta={
                "year": 2020,
                "tag": ["a", "b"],
                "lang": "en",
                "rating": 4.5,
                "published": True,
                "author": {"name": "Ada", "age": 36},
                "date": "2021-03-04",
            },
        ),
        Document(
            id="d2",
            content="Lazy dogs sleep",
            meta={
                "year": 2021,
                "tag": ["b", "c"],
                "lang": "de",
                "rating": 3,
                "published": False,
                "author": {"name": "Bob"},
                "date": "2020-12-31",
                "file name": "x.pdf",
            },
        ),
        Document(
            id="d3",
            content="Ünïcödé naïve café 東京",
            meta={
                "year": 2019,
                "tag": "a",
                "lang": "fr",
                "rating": None,
                "published": 1,
                "city": "東京",
                "date": "2022-01-01T10:00:00",
                "größe": 1.8,
            },
        ),
        Document(
            id="d4",
            content="100% pure_fun",
            meta={
                "year": "2020",
                "tag": [],
                "lang": "en",
                "rating": 5.0,
                "nested": {"deep": {"x": 1}},
                "count": 0,
            },
        ),
        Document(id="d5", content="Empty meta", meta={}),
        Document(
            id="d6",
            content="Mixed case FOX",
            meta={
                "year": 2022.0,
                "tag": ["A", "b", 1, True, None],
                "lang": "EN",
                "rating": 2,
                "published": None,
                "author": "Carol",
            },
        ),
    ]


class FilterCase(NamedTuple):
    """One filter and the ids of :func:`filter_corpus` documents it must match."""

    name: str
    filters: dict[str, Any]
    expected: frozenset[str]


def _c(field: str, operator: str, value: Any) -> dict[str, Any]:
    return {"field": field, "operator": operator, "value": value}


def _ids(*ids: str) -> frozenset[str]:
    return frozenset(ids)


def _all_but(*ids: str) -> frozenset[str]:
    return ALL_IDS - set(ids)


FILTER_CASES: list[FilterCase] = [
    # == and != : typed equality, numbers numerically, bools distinct from ints
    FilterCase("eq_int", _c("meta.year", "==", 2020), _ids("d1")),
    FilterCase("eq_numeric_string", _c("meta.year", "==", "2020"), _ids("d4")),
    FilterCase("eq_int_matches_float", _c("meta.year", "==", 2022), _ids("d6")),
    FilterCase("ne_int_includes_mismatched_types", _c("meta.year", "!=", 2020), _all_but("d1")),
    FilterCase("eq_true", _c("meta.published", "==", True), _ids("d1")),
    FilterCase("eq_false", _c("meta.published", "==", False), _ids("d2")),
    FilterCase("eq_one_is_not_true", _c("meta.published", "==", 1), _ids("d3")),
    FilterCase("ne_true", _c("meta.published", "!=", True), _all_but("d1")),
    FilterCase("eq_zero_is_not_false", _c("meta.count", "==", 0), _ids("d4")),
    FilterCase("eq_false_is_not_zero", _c("meta.count", "==", False), _ids()),
    FilterCase("eq_string_case_sensitive", _c("meta.lang", "==", "en"), _ids("d1", "d4")),
    FilterCase("eq_unicode_value", _c("meta.city", "==", "東京"), _ids("d3")),
    FilterCase("eq_unicode_key", _c("meta.größe", ">", 1.5), _ids("d3")),
    FilterCase("eq_key_with_space", _c("meta.file name", "==", "x.pdf"), _ids("d2")),
    FilterCase("eq_bare_field_is_meta", _c("lang", "==", "fr"), _ids("d3")),
    # None, missing and exists
    FilterCase("eq_none_matches_null_and_missing", _c("meta.rating", "==", None), _ids("d3", "d5")),
    FilterCase("ne_none", _c("meta.rating", "!=", None), _ids("d1", "d2", "d4", "d6")),
    FilterCase("eq_none_published", _c("meta.published", "==", None), _ids("d4", "d5", "d6")),
    FilterCase("exists_true", _c("meta.rating", "exists", True), _ids("d1", "d2", "d4", "d6")),
    FilterCase("exists_false", _c("meta.rating", "exists", False), _ids("d3", "d5")),
    FilterCase("missing_field_gt_is_false", _c("meta.missing", ">", 0), _ids()),
    FilterCase("missing_field_ne_is_true", _c("meta.missing", "!=", 1), ALL_IDS),
    FilterCase("missing_field_not_like_is_true", _c("meta.missing", "not like", "x"), ALL_IDS),
    FilterCase("content_exists_false", _c("content", "exists", False), _ids()),
    # ordering
    FilterCase("gt_int", _c("meta.year", ">", 2020), _ids("d2", "d6")),
    FilterCase("ge_int", _c("meta.year", ">=", 2020), _ids("d1", "d2", "d6")),
    FilterCase("lt_int", _c("meta.year", "<", 2020), _ids("d3")),
    FilterCase("le_int", _c("meta.year", "<=", 2020), _ids("d1", "d3")),
    FilterCase("gt_float", _c("meta.year", ">", 2020.5), _ids("d2", "d6")),
    FilterCase("gt_string_only_strings", _c("meta.year", ">", "2000"), _ids("d4")),
    FilterCase("gt_rating", _c("meta.rating", ">", 3), _ids("d1", "d4")),
    FilterCase("ge_rating", _c("meta.rating", ">=", 3), _ids("d1", "d2", "d4")),
    FilterCase("lt_rating", _c("meta.rating", "<", 4.5), _ids("d2", "d6")),
    FilterCase("le_rating", _c("meta.rating", "<=", 5), _ids("d1", "d2", "d4", "d6")),
    FilterCase("iso_date_ge", _c("meta.date", ">=", "2021-01-01"), _ids("d1", "d3")),
    FilterCase("iso_date_lt", _c("meta.date", "<", "2021"), _ids("d2")),
    FilterCase("content_gt_code_point_order", _c("content", ">", "M"), _ids("d1", "d3", "d6")),
    FilterCase("id_gt", _c("id", ">", "d4"), _ids("d5", "d6")),
    FilterCase("content_gt_number_is_false", _c("content", ">", 1), _ids()),
    # in / not in
    FilterCase("in_ints", _c("meta.year", "in", [2019, 2021]), _ids("d2", "d3")),
    FilterCase("in_mixed_types", _c("meta.year", "in", [2020, "2020"]), _ids("d1", "d4")),
    FilterCase("not_in_ints", _c("meta.year", "not in", [2019, 2021]), _ids("d1", "d4", "d5", "d6")),
    FilterCase("in_empty", _c("meta.year", "in", []), _ids()),
    FilterCase("not_in_empty", _c("meta.year", "not in", []), ALL_IDS),
    # `in` on a list-valued field means contains-any (Helix sends {"tags": [...]} this way)
    FilterCase("in_list_field_contains_any", _c("meta.tag", "in", ["a"]), _ids("d1", "d3")),
    FilterCase("in_list_field_any_of_several", _c("meta.tag", "in", ["c", "zzz"]), _ids("d2")),
    FilterCase("in_list_field_is_case_sensitive", _c("meta.tag", "in", ["A"]), _ids("d6")),
    FilterCase("in_list_field_number_element", _c("meta.tag", "in", [1]), _ids("d6")),
    FilterCase("in_list_field_bool_element", _c("meta.tag", "in", [True]), _ids("d6")),
    FilterCase("in_empty_list_field_matches_nothing", _c("meta.tag", "in", ["zzz"]), _ids()),
    FilterCase("not_in_list_field", _c("meta.tag", "not in", ["b"]), _ids("d3", "d4", "d5")),
    FilterCase("shorthand_list_field_contains_any", {"tag": ["c", "a"]}, _ids("d1", "d2", "d3")),
    FilterCase(
        "in_list_field_bulk_strings",
        _c("meta.tag", "in", [f"zz{i}" for i in range(20)] + ["c"]),
        _ids("d2"),
    ),
    FilterCase("in_bools", _c("meta.published", "in", [True, False]), _ids("d1", "d2")),
    FilterCase("in_none", _c("meta.rating", "in", [None]), _ids("d3", "d5")),
    FilterCase("not_in_none_and_int", _c("meta.rating", "not in", [None, 3]), _ids("d1", "d4", "d6")),
    FilterCase("id_in", _c("id", "in", ["d1", "d5", "nope"]), _ids("d1", "d5")),
    FilterCase("id_not_in", _c("id", "not in", ["d1", "d5"]), _ids("d2", "d3", "d4", "d6")),
    # lists: == compares whole lists, contains tests membership (or substring for strings)
    FilterCase("eq_list", _c("meta.tag", "==", ["a", "b"]), _ids("d1")),
    FilterCase("eq_list_order_matters", _c("meta.tag", "==", ["b", "a"]), _ids()),
    FilterCase("eq_empty_list", _c("meta.tag", "==", []), _ids("d4")),
    FilterCase("eq_mixed_list", _c("meta.tag", "==", ["A", "b", 1, True, None]), _ids("d6")),
    FilterCase("eq_scalar_vs_list", _c("meta.tag", "==", "a"), _ids("d3")),
    FilterCase("eq_list_vs_scalar_field", _c("meta.year", "==", [2020]), _ids()),
    FilterCase("ne_list", _c("meta.tag", "!=", ["a", "b"]), _all_but("d1")),
    FilterCase("contains_string_element_or_substring", _c("meta.tag", "contains", "a"), _ids("d1", "d3")),
    FilterCase("contains_b", _c("meta.tag", "contains", "b"), _ids("d1", "d2", "d6")),
    FilterCase("contains_case_sensitive", _c("meta.tag", "contains", "A"), _ids("d6")),
    FilterCase("contains_int", _c("meta.tag", "contains", 1), _ids("d6")),
    FilterCase("contains_bool", _c("meta.tag", "contains", True), _ids("d6")),
    FilterCase("contains_empty_string", _c("meta.tag", "contains", ""), _ids("d3")),
    FilterCase("contains_substring_meta", _c("meta.lang", "contains", "e"), _ids("d1", "d2", "d4")),
    FilterCase("content_contains", _c("content", "contains", "FOX"), _ids("d6")),
    FilterCase("content_contains_unicode", _c("content", "contains", "café"), _ids("d3")),
    FilterCase("content_contains_cjk", _c("content", "contains", "東京"), _ids("d3")),
    # like / not like
    FilterCase("like_prefix", _c("meta.lang", "like", "e%"), _ids("d1", "d4")),
    FilterCase("like_case_sensitive", _c("meta.lang", "like", "E%"), _ids("d6")),
    FilterCase("like_underscore", _c("meta.lang", "like", "_e"), _ids("d2")),
    FilterCase("not_like", _c("meta.lang", "not like", "e%"), _ids("d2", "d3", "d5", "d6")),
    FilterCase("like_suffix_content", _c("content", "like", "%fox"), _ids("d1")),
    FilterCase("like_escaped_wildcards", _c("content", "like", "100\\% pure\\_fun"), _ids("d4")),
    FilterCase("like_percent_literal_prefix", _c("content", "like", "100%"), _ids("d4")),
    FilterCase("like_any_nonempty", _c("content", "like", "%_%"), ALL_IDS),
    FilterCase("like_unicode", _c("content", "like", "Ünïcödé%"), _ids("d3")),
    FilterCase("like_nested", _c("meta.author.name", "like", "%o%"), _ids("d2")),
    FilterCase("like_glob_chars_are_literal", _c("content", "like", "%[*]?%"), _ids()),
    # id / content equality
    FilterCase("content_eq", _c("content", "==", "Lazy dogs sleep"), _ids("d2")),
    FilterCase("content_ne", _c("content", "!=", "Lazy dogs sleep"), _all_but("d2")),
    FilterCase("id_eq", _c("id", "==", "d3"), _ids("d3")),
    # nested fields
    FilterCase("nested_eq", _c("meta.author.name", "==", "Ada"), _ids("d1")),
    FilterCase("nested_exists", _c("meta.author.name", "exists", True), _ids("d1", "d2")),
    FilterCase("nested_not_exists", _c("meta.author.name", "exists", False), _ids("d3", "d4", "d5", "d6")),
    FilterCase("nested_ge", _c("meta.author.age", ">=", 36), _ids("d1")),
    FilterCase("deep_eq", _c("meta.nested.deep.x", "==", 1), _ids("d4")),
    FilterCase("deep_object_exists", _c("meta.nested.deep", "exists", True), _ids("d4")),
    FilterCase("scalar_where_object_was", _c("meta.author", "==", "Carol"), _ids("d6")),
    # logical
    FilterCase(
        "and",
        {"operator": "AND", "conditions": [_c("meta.year", ">=", 2020), _c("meta.lang", "==", "en")]},
        _ids("d1"),
    ),
    FilterCase(
        "or",
        {"operator": "OR", "conditions": [_c("meta.lang", "==", "de"), _c("meta.city", "exists", True)]},
        _ids("d2", "d3"),
    ),
    FilterCase(
        "not_single",
        {"operator": "NOT", "conditions": [_c("meta.lang", "==", "en")]},
        _ids("d2", "d3", "d5", "d6"),
    ),
    FilterCase(
        "not_negates_and",
        {"operator": "NOT", "conditions": [_c("meta.year", ">=", 2020), _c("meta.published", "==", True)]},
        _all_but("d1"),
    ),
    FilterCase(
        "and_or_not_nested",
        {
            "operator": "AND",
            "conditions": [
                {"operator": "OR", "conditions": [_c("meta.year", "==", 2019), _c("meta.year", "==", 2021)]},
                {"operator": "NOT", "conditions": [_c("meta.tag", "contains", "c")]},
            ],
        },
        _ids("d3"),
    ),
    FilterCase(
        "or_of_ands",
        {
            "operator": "OR",
            "conditions": [
                {"operator": "AND", "conditions": [_c("meta.lang", "==", "en"), _c("meta.rating", ">", 4.6)]},
                {
                    "operator": "AND",
                    "conditions": [_c("meta.lang", "==", "de"), _c("meta.published", "==", False)],
                },
            ],
        },
        _ids("d2", "d4"),
    ),
    FilterCase(
        "double_not",
        {"operator": "NOT", "conditions": [{"operator": "NOT", "conditions": [_c("meta.year", "==", 2020)]}]},
        _ids("d1"),
    ),
    FilterCase(
        "not_of_missing_comparison",
        {"operator": "NOT", "conditions": [_c("meta.missing", ">", 0)]},
        ALL_IDS,
    ),
    # shorthand
    FilterCase("shorthand_scalar", {"lang": "en"}, _ids("d1", "d4")),
    FilterCase("shorthand_two_keys", {"lang": "en", "year": 2020}, _ids("d1")),
    FilterCase("shorthand_list_is_in", {"lang": ["en", "de"]}, _ids("d1", "d2", "d4")),
    FilterCase("shorthand_nested", {"author.name": "Bob"}, _ids("d2")),
    FilterCase("shorthand_id", {"id": "d2"}, _ids("d2")),
    FilterCase("shorthand_meta_prefix", {"meta.lang": "fr"}, _ids("d3")),
    FilterCase("shorthand_none", {"rating": None}, _ids("d3", "d5")),
]

#: Malformed filters; each must raise :class:`haybale.errors.FilterError` (the key names what is wrong).
INVALID_FILTERS: dict[str, Any] = {
    "unknown_operator": _c("meta.year", "~=", 1),
    "unknown_logical": {"operator": "XOR", "conditions": [_c("meta.year", "==", 1)]},
    "missing_value": {"field": "meta.year", "operator": "=="},
    "missing_field": {"operator": "==", "value": 1},
    "empty_conditions": {"operator": "AND", "conditions": []},
    "conditions_not_list": {"operator": "OR", "conditions": _c("meta.year", "==", 1)},
    "in_not_list": _c("meta.year", "in", 2020),
    "gt_dict": _c("meta.year", ">", {"a": 1}),
    "gt_none": _c("meta.year", ">", None),
    "gt_bool": _c("meta.year", ">", True),
    "like_not_string": _c("meta.lang", "like", 1),
    "exists_not_bool": _c("meta.lang", "exists", "yes"),
    "contains_list": _c("meta.tag", "contains", ["a"]),
    "eq_dict": _c("meta.author", "==", {"name": "Ada"}),
    "empty_field": _c("", "==", 1),
    "empty_key": _c("meta..x", "==", 1),
    "unfilterable_field": _c("embedding", "==", 1),
    "nested_bad_operator": {"operator": "AND", "conditions": [_c("meta.a", "==", 1), _c("meta.b", "=", 1)]},
    "not_a_dict": ["meta.year", "==", 1],
    "shorthand_dict_value": {"year": {"$gte": 2020}},
    "nan_value": _c("meta.rating", ">", float("nan")),
}


#: `in` / `not in` with thousands of values: SQL compilers must bind them as arrays (SQLite refuses expression
#: trees deeper than 1000), and every dialect must still agree with the Python evaluator.
LONG_IN_CASES: list[FilterCase] = [
    FilterCase(
        "in_3000_strings",
        {"field": "meta.lang", "operator": "in", "value": [f"zz{i}" for i in range(3000)] + ["fr"]},
        _ids("d3"),
    ),
    FilterCase(
        "in_3000_ints",
        {"field": "meta.year", "operator": "in", "value": [*range(3000, 6000), 2021, 2022]},
        _ids("d2", "d6"),
    ),
    FilterCase(
        "in_numbers_float_and_none",
        {"field": "meta.rating", "operator": "in", "value": [*range(100, 120), 4.5, None]},
        _ids("d1", "d3", "d5"),
    ),
    FilterCase(
        "in_3000_strings_vs_number_field",
        {"field": "meta.year", "operator": "in", "value": [f"{y}" for y in range(1990, 2030)]},
        _ids("d4"),
    ),
    FilterCase(
        "in_bool_and_ints",
        {"field": "meta.published", "operator": "in", "value": [True, *range(50, 60)]},
        _ids("d1"),
    ),
    FilterCase(
        "id_in_2000",
        {"field": "id", "operator": "in", "value": [f"x{i}" for i in range(2000)] + ["d2", 7]},
        _ids("d2"),
    ),
    FilterCase(
        "not_in_2000_strings",
        {"field": "meta.lang", "operator": "not in", "value": [f"zz{i}" for i in range(2000)] + ["en", "de"]},
        _ids("d3", "d5", "d6"),
    ),
]

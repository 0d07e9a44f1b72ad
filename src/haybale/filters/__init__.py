"""One filter language for every document store: parse and validate, evaluate in Python, compile to SQL.

Forms::

    {"field": "meta.year", "operator": ">=", "value": 2020}              # a comparison
    {"operator": "AND" | "OR" | "NOT", "conditions": [...]}              # a logical node
    {"year": 2020, "tag": ["a", "b"]}                                     # shorthand: AND of == / in

Fields: ``"id"``, ``"content"``, ``"meta.<key>"`` and nested ``"meta.a.b"``. A bare name other than ``id`` /
``content`` is a metadata field (``"year"`` is ``"meta.year"``, ``"a.b"`` is ``"meta.a.b"``), in the full form
as in the shorthand. ``embedding``, ``blob``, ``score`` and the other non-metadata attributes cannot be
filtered on. ``{}`` and None mean "no filter".

Semantics (identical in Python, SQLite and PostgreSQL; every store's conformance suite checks them):

* **Missing and null are the same.** A field is *missing* when a key on its path is absent or an intermediate
  value is not an object. ``== None`` matches missing or null; ``exists: True`` means present and not null.
* **Typed comparisons, never errors mid-query.** Numbers compare numerically (``1 == 1.0``); booleans are not
  numbers (``True != 1``); strings compare by code point (ISO dates therefore compare correctly as strings). A
  comparison between different kinds (a number against a string, anything against a missing field) is false.
* **Negations are exact complements**: ``!=``, ``not in`` and ``not like`` are true exactly when ``==``,
  ``in`` and ``like`` are false -- so they also match documents where the field is missing.
* **NOT** is true when the AND of its conditions is false (Haystack 2 semantics). AND / OR / NOT need a
  non-empty ``conditions`` list.
* **Lists**: ``==`` with a list value compares a list field as a whole (same length, equal elements in order);
  ``in`` needs a list value and tests whether the field equals one of its elements, or -- for a list-valued
  field -- whether any element of the field does (contains-any: ``{"tags": ["a", "b"]}`` matches documents
  tagged "a" or "b"); ``not in`` is its complement; ``contains`` is true when a list field has an element
  equal to the value, or a string field has the (string) value as a case-sensitive substring.
* **like**: SQL LIKE semantics, case-sensitive in every store: ``%`` any run of characters, ``_`` exactly one,
  ``\\`` escapes the next character; only string fields match.
* **Values are checked when parsed**: ``>``/``>=``/``<``/``<=`` need a number or string; ``in``/``not in`` a
  list of scalars; ``exists`` a boolean; ``contains`` a scalar; ``like`` a string; ``==``/``!=`` a scalar,
  None, or a list of scalars. Dicts, non-finite floats, integers beyond 64 bits and NUL characters (in
  values or field names) are refused.
* **Size**: AND/OR/NOT nest at most 20 levels deep and a filter holds at most 1000 conditions (a long ``in``
  list is one condition).
* SQLite limitation: a metadata key containing a double quote cannot be addressed in SQL (FilterError).
"""

from __future__ import annotations

from haybale.filters.evaluate import compile_predicate, document_matches, filter_documents
from haybale.filters.sql import Dialect, compile_sql
from haybale.filters.tree import (
    COMPARISON_OPERATORS,
    LOGICAL_OPERATORS,
    Condition,
    FilterNode,
    LogicalCondition,
    filter_to_dict,
    normalize_field,
    parse_filters,
    validate_filters,
)

__all__ = [
    "COMPARISON_OPERATORS",
    "LOGICAL_OPERATORS",
    "Condition",
    "Dialect",
    "FilterNode",
    "LogicalCondition",
    "compile_predicate",
    "compile_sql",
    "document_matches",
    "filter_documents",
    "filter_to_dict",
    "normalize_field",
    "parse_filters",
    "validate_filters",
]

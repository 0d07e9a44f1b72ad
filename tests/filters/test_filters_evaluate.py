"""Evaluating filters in Python against the hand-computed expectations of the shared filter cases."""

from __future__ import annotations

import pytest

from haybale.dataclasses import Document
from haybale.filters import compile_predicate, document_matches, filter_documents, parse_filters
from haybale.testing.filter_cases import FILTER_CASES, filter_corpus


def test_there_are_at_least_sixty_cases():
    assert len(FILTER_CASES) >= 60
    assert len({case.name for case in FILTER_CASES}) == len(FILTER_CASES)


@pytest.mark.parametrize("case", FILTER_CASES, ids=[case.name for case in FILTER_CASES])
def test_filter_case(case):
    docs = filter_corpus()
    assert {doc.id for doc in filter_documents(case.filters, docs)} == set(case.expected)
    node = parse_filters(case.filters)
    assert {doc.id for doc in docs if document_matches(node, doc)} == set(case.expected)


def test_none_matches_everything_and_order_is_kept():
    docs = filter_corpus()
    assert filter_documents(None, docs) == docs
    assert document_matches(None, docs[0])


def test_compiled_predicate_is_cached_on_the_node():
    node = parse_filters({"field": "meta.year", "operator": ">", "value": 1})
    assert compile_predicate(node) is compile_predicate(node)


def test_like_treats_regex_metacharacters_literally():
    docs = [
        Document(id="dot", content="a.c"),
        Document(id="abc", content="abc"),
        Document(id="nl", content="a\nc"),
    ]
    assert [
        d.id for d in filter_documents({"field": "content", "operator": "like", "value": "a.c"}, docs)
    ] == ["dot"]
    assert [
        d.id for d in filter_documents({"field": "content", "operator": "like", "value": "a_c"}, docs)
    ] == [
        "dot",
        "abc",
        "nl",
    ]


def test_odd_stored_values_never_raise():
    docs = [
        Document(id="dict", content="x", meta={"v": {"a": 1}}),
        Document(id="list", content="x", meta={"v": [[1], {"a": 2}]}),
        Document(id="none_content", content=None, meta={"v": None}),
    ]
    for operator, value in [(">", 1), ("<", "a"), ("like", "%"), ("contains", 1), ("in", [1]), ("==", [1])]:
        assert filter_documents({"field": "meta.v", "operator": operator, "value": value}, docs) == []
    assert filter_documents({"field": "content", "operator": "contains", "value": "x"}, docs) == docs[:2]
    assert [d.id for d in filter_documents({"field": "meta.v.a", "operator": "==", "value": 1}, docs)] == [
        "dict"
    ]

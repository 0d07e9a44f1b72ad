"""Compiling filters to SQLite SQL: same answers as the hand-computed cases, NULL-free, injection-proof."""

from __future__ import annotations

import json
import sqlite3

import pytest

from haybale.errors import FilterError
from haybale.filters import compile_sql, filter_documents
from haybale.filters.sql import like_to_glob, sqlite_json_path
from haybale.testing.filter_cases import FILTER_CASES, LONG_IN_CASES, filter_corpus


@pytest.fixture(scope="module")
def database():
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE docs (doc_id TEXT PRIMARY KEY, body TEXT, attrs TEXT NOT NULL)")
    connection.executemany(
        "INSERT INTO docs VALUES (?, ?, ?)",
        [(d.id, d.content, json.dumps(d.meta, ensure_ascii=False)) for d in filter_corpus()],
    )
    yield connection
    connection.close()


def _compile(filters):
    return compile_sql(filters, "sqlite", meta_column="attrs", id_column="doc_id", content_column="body")


@pytest.mark.parametrize("case", FILTER_CASES, ids=[case.name for case in FILTER_CASES])
def test_filter_case(database, case):
    where, params = _compile(case.filters)
    assert where.count("?") == len(params)
    rows = database.execute(f"SELECT doc_id FROM docs WHERE {where}", params).fetchall()
    assert {row[0] for row in rows} == set(case.expected)
    # NULL-free: every row evaluates to true or false, so NOT and negations are exact complements
    nulls = database.execute(f"SELECT doc_id FROM docs WHERE ({where}) IS NULL", params).fetchall()
    assert nulls == []
    negated = database.execute(f"SELECT doc_id FROM docs WHERE NOT ({where})", params).fetchall()
    assert {row[0] for row in negated} == {"d1", "d2", "d3", "d4", "d5", "d6"} - set(case.expected)


def test_no_filter_is_true():
    assert compile_sql(None, "sqlite") == ("TRUE", [])
    assert compile_sql({}, "postgres") == ("TRUE", [])


def test_field_names_and_values_never_reach_the_sql_text(database):
    hostile = "x'); DROP TABLE docs; --"
    for dialect in ("sqlite", "postgres"):
        where, params = compile_sql(
            {
                "operator": "OR",
                "conditions": [
                    {"field": f"meta.{hostile}", "operator": "==", "value": hostile},
                    {"field": "meta.secretkey", "operator": "like", "value": hostile},
                    {"field": "content", "operator": "contains", "value": hostile},
                ],
            },
            dialect,
        )
        assert "DROP" not in where
        assert "secretkey" not in where
        assert any(hostile in str(param) for param in params)
    where, params = _compile({"field": f"meta.{hostile}", "operator": "==", "value": hostile})
    assert database.execute(f"SELECT doc_id FROM docs WHERE {where}", params).fetchall() == []
    assert database.execute("SELECT COUNT(*) FROM docs").fetchone()[0] == 6


def test_column_names_must_be_identifiers():
    with pytest.raises(FilterError, match="identifier"):
        compile_sql({"a": 1}, "sqlite", meta_column="meta; DROP TABLE x")
    compile_sql({"a": 1}, "sqlite", meta_column="d.meta")


def test_unknown_dialect():
    with pytest.raises(FilterError, match="dialect"):
        compile_sql({"a": 1}, "mysql")  # type: ignore[arg-type]


def test_sqlite_cannot_address_keys_with_quotes():
    with pytest.raises(FilterError, match="double quote"):
        compile_sql({'we"ird': 1}, "sqlite")
    _where, params = compile_sql({'we"ird': 1}, "postgres")
    assert 'we"ird' in params


def test_sqlite_json_path_quotes_every_key():
    assert sqlite_json_path(("a", "b.c", "ключ")) == '$."a"."b.c"."ключ"'


@pytest.mark.parametrize(
    ("pattern", "glob"),
    [
        ("a%b_c", "a*b?c"),
        ("100\\%", "100%"),
        ("x\\_y", "x_y"),
        ("*?[", "[*][?][[]"),
        ("\\\\", "\\"),
        ("]", "]"),
    ],
)
def test_like_to_glob(pattern, glob):
    assert like_to_glob(pattern) == glob


def test_postgres_placeholders_match_params():
    for case in FILTER_CASES:
        where, params = compile_sql(case.filters, "postgres")
        assert where.count("%s") == len(params), case.name
        assert "?" not in where


@pytest.mark.parametrize("case", LONG_IN_CASES, ids=[case.name for case in LONG_IN_CASES])
def test_long_in_lists_match_python_and_stay_shallow(database, case):
    filters, expected = case.filters, set(case.expected)
    assert {d.id for d in filter_documents(filters, filter_corpus())} == expected
    where, params = _compile(filters)
    assert len(params) < 40  # bound as arrays, not thousands of parameters
    rows = database.execute(f"SELECT doc_id FROM docs WHERE {where}", params).fetchall()
    assert {row[0] for row in rows} == expected
    negated = database.execute(f"SELECT doc_id FROM docs WHERE NOT ({where})", params).fetchall()
    assert {row[0] for row in negated} == {"d1", "d2", "d3", "d4", "d5", "d6"} - expected

"""Compiled PostgreSQL filters against a real server (JSONB metadata) give the hand-computed answers."""

from __future__ import annotations

import json
import uuid

import pytest

from haybale.filters import compile_sql
from haybale.testing.filter_cases import FILTER_CASES, LONG_IN_CASES, filter_corpus

pytestmark = pytest.mark.pg


@pytest.fixture(scope="module")
def pg_connection(pg_server):
    import psycopg

    dsn = pg_server.dsn
    table = "filters_" + uuid.uuid4().hex[:10]
    connection = psycopg.connect(dsn, autocommit=True)
    connection.execute(
        f"CREATE TABLE {table} (id TEXT PRIMARY KEY, content TEXT, meta JSONB NOT NULL DEFAULT '{{}}')"
    )
    connection.execute(f"CREATE INDEX ON {table} USING GIN (meta)")
    for doc in filter_corpus():
        connection.execute(
            f"INSERT INTO {table} VALUES (%s, %s, %s::jsonb)", (doc.id, doc.content, json.dumps(doc.meta))
        )
    yield connection, table
    connection.execute(f"DROP TABLE {table}")
    connection.close()


@pytest.mark.parametrize("case", FILTER_CASES, ids=[case.name for case in FILTER_CASES])
def test_filter_case(pg_connection, case):
    connection, table = pg_connection
    where, params = compile_sql(case.filters, "postgres")
    rows = connection.execute(f"SELECT id FROM {table} WHERE {where}", params).fetchall()
    assert {row[0] for row in rows} == set(case.expected)
    nulls = connection.execute(f"SELECT id FROM {table} WHERE ({where}) IS NULL", params).fetchall()
    assert nulls == []


def test_hostile_keys_and_values_are_inert(pg_connection):
    connection, table = pg_connection
    hostile = "x'); DROP TABLE documents; --"
    for filters in (
        {"field": f"meta.{hostile}", "operator": "==", "value": hostile},
        {"field": f'meta.we"ird.{hostile}', "operator": "contains", "value": hostile},
        {"field": "content", "operator": "like", "value": hostile},
        {"field": "meta.lang", "operator": ">", "value": hostile},
    ):
        where, params = compile_sql(filters, "postgres")
        assert connection.execute(f"SELECT id FROM {table} WHERE {where}", params).fetchall() == []
    assert connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 6


def test_long_in_lists_give_the_same_answers_in_postgres(pg_connection):
    connection, table = pg_connection
    for case in LONG_IN_CASES:
        filters, expected = case.filters, set(case.expected)
        where, params = compile_sql(filters, "postgres")
        rows = connection.execute(f"SELECT id FROM {table} WHERE {where}", params).fetchall()
        assert {row[0] for row in rows} == expected, filters
        negated = connection.execute(f"SELECT id FROM {table} WHERE NOT ({where})", params).fetchall()
        assert {row[0] for row in negated} == {"d1", "d2", "d3", "d4", "d5", "d6"} - expected, filters

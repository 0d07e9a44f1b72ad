"""Bulk loading for :class:`~haybale.stores.pgvector.PgvectorDocumentStore`: drop, load, rebuild indexes.

Maintaining an HNSW graph one inserted row at a time costs milliseconds per 384-d vector, and so does growing
the BM25 postings B-tree row by row; building either index once over the loaded rows is several times faster
(pgvector builds the HNSW graph in ``maintenance_work_mem`` with parallel workers). ``bulk_load()`` therefore
drops the HNSW and postings indexes, lets the caller write, and rebuilds both at the end -- also when the
block
raises, so the store is always left indexed.

While a bulk load runs, every method stays correct: dense search falls back to an exact scan, BM25 reads the
postings without their index, and concurrent writers of other replicas keep the statistics exact (they take
the same advisory lock). Only speed differs. If the process dies mid-load, the next store start (``warm_up``
or the first call) recreates the missing indexes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from haybale.errors import DocumentStoreUsageError
from haybale.stores._pgvector_schema import (
    hnsw_index_name,
    hnsw_index_sql,
    postings_index_name,
    postings_index_sql,
)
from haybale.stores._pgvector_writes import Execute, Operation, lock_step

if TYPE_CHECKING:
    from haybale.stores._pgvector_schema import TableNames

__all__ = [
    "check_memory_setting",
    "drop_indexes_operation",
    "rebuild_indexes_operation",
    "vacuum_postings_operation",
]

_MEMORY = re.compile(r"^[1-9][0-9]{0,6}(kB|MB|GB)$")


def check_memory_setting(value: Any) -> str:
    """Validate a PostgreSQL memory setting such as ``"1GB"``.

    Raises:
        DocumentStoreError: anything but digits followed by kB, MB or GB.
    """
    if not isinstance(value, str) or not _MEMORY.match(value):
        raise DocumentStoreUsageError(
            "maintenance_work_mem must look like '512MB' or '2GB' (digits, then kB, MB or GB), got "
            f"{value!r}."
        )
    return value


def drop_indexes_operation(names: TableNames, vector_function: str) -> Operation:
    """Drop the HNSW and postings indexes (under the store's advisory lock)."""
    from psycopg import sql

    yield lock_step(names)
    for index in (hnsw_index_name(names, vector_function), postings_index_name(names)):
        yield Execute(
            sql.SQL("DROP INDEX IF EXISTS {index}").format(index=sql.Identifier(names.schema, index)), []
        )


def rebuild_indexes_operation(
    names: TableNames,
    *,
    vector_function: str,
    hnsw: bool,
    m: int,
    ef_construction: int,
    maintenance_work_mem: str,
) -> Operation:
    """Rebuild the postings index and (when ``hnsw``) the HNSW index in one transaction."""
    from psycopg import sql

    yield lock_step(names)
    yield Execute(
        sql.SQL("SET LOCAL maintenance_work_mem = {mem}").format(
            mem=sql.Literal(check_memory_setting(maintenance_work_mem))
        ),
        [],
    )
    yield Execute(postings_index_sql(names), [])
    if hnsw:
        yield Execute(hnsw_index_sql(names, vector_function, m, ef_construction), [])
    yield Execute(sql.SQL("ANALYZE {t}").format(t=names.postings), [])


def vacuum_postings_operation(names: TableNames) -> Operation:
    """``VACUUM (ANALYZE)`` the postings table; must run outside a transaction."""
    from psycopg import sql

    yield Execute(sql.SQL("VACUUM (ANALYZE) {t}").format(t=names.postings), [])

"""Schema of :class:`~haybale.stores.pgvector.PgvectorDocumentStore`: tables, indexes and versioned
migrations.

Every store owns five tables in its PostgreSQL schema (``<table>`` is the configured table name):

``<table>``
    One row per document: ``id``, ``content``, ``meta`` (JSONB, GIN-indexed), ``embedding`` (pgvector
    ``vector(dim)``), ``sparse_embedding`` and ``blob`` columns, and the BM25 postings of the document:
    ``terms`` (distinct analyzed terms), ``tfs`` (their frequencies, same order) and ``doc_len`` (number of
    analyzed terms).
``<table>_postings``
    The inverted index: one row per (term, document) with ``tf`` and ``doc_len``, keyed by (term, doc_seq)
    with
    the other columns included, so BM25 reads a term's postings with an index-only scan of narrow rows.
    ``doc_seq`` is the document's compact surrogate key (``seq``, an identity column), not its 64-character
    id.
``<table>_term_stats``
    Document frequency of every term (``term``, ``df``), maintained in the same transaction as every write,
    and the term's pruning bounds (``max_tf``, the largest tf of any posting, and ``min_len_ratio``, the
    smallest doc_len / tf), widened by every write and left as they are by deletes (migration 2).
``<table>_corpus_stats``
    One row: number of documents ``n`` and total analyzed length ``total_len``, maintained the same way.
``<table>_migrations``
    The schema versions applied (``version``, ``description``, ``applied_at``).

:func:`ensure_schema` brings a database up to date idempotently. It runs in one transaction holding a
transaction-level advisory lock derived from the schema and table name, so any number of replicas may start at
once: the first applies the migrations, the others wait and then find nothing left to do.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haybale.errors import DocumentStoreUsageError

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.sql import Composed

__all__ = [
    "OPERATOR_CLASSES",
    "SCHEMA_VERSION",
    "VECTOR_FUNCTIONS",
    "TableNames",
    "advisory_lock_key",
    "drop_tables",
    "ensure_schema",
    "hnsw_index_name",
    "hnsw_index_sql",
    "postings_index_name",
    "postings_index_sql",
    "validate_identifier",
]

#: Longest table name accepted: PostgreSQL identifiers hold 63 bytes and the store appends suffixes to it.
_MAX_TABLE_NAME = 40
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: vector_function -> (HNSW operator class, distance operator).
OPERATOR_CLASSES: dict[str, tuple[str, str]] = {
    "cosine_similarity": ("vector_cosine_ops", "<=>"),
    "inner_product": ("vector_ip_ops", "<#>"),
    "l2_distance": ("vector_l2_ops", "<->"),
}
VECTOR_FUNCTIONS = tuple(OPERATOR_CLASSES)


def validate_identifier(value: Any, what: str, max_length: int = 63) -> str:
    """Return ``value`` when it is a plain SQL identifier (letters, digits, underscores; not starting
    with a digit).

    Identifiers are also quoted with ``psycopg.sql.Identifier`` wherever they are used; the check keeps names
    portable and the derived index and table names within PostgreSQL's 63-byte limit.

    Raises:
        DocumentStoreError: naming the parameter, the value and the rule.
    """
    if not isinstance(value, str) or not _IDENTIFIER.match(value) or len(value) > max_length:
        raise DocumentStoreUsageError(
            f"Invalid {what} {value!r}: use 1-{max_length} letters, digits or underscores, not starting "
            f"with a "
            "digit (for example 'haybale_documents')."
        )
    return value


@dataclass(frozen=True)
class TableNames:
    """The schema-qualified names of a store's tables and indexes."""

    schema: str
    table: str

    @classmethod
    def build(cls, schema: str, table: str) -> TableNames:
        """Validate ``schema`` and ``table`` and return their names."""
        return cls(
            validate_identifier(schema, "schema_name"),
            validate_identifier(table, "table_name", _MAX_TABLE_NAME),
        )

    def ident(self, suffix: str = "") -> Composed:
        """``"schema"."table<suffix>"`` as a quoted SQL fragment."""
        from psycopg import sql

        return sql.SQL(".").join([sql.Identifier(self.schema), sql.Identifier(self.table + suffix)])

    @property
    def documents(self) -> Composed:
        """The documents table."""
        return self.ident()

    @property
    def term_stats(self) -> Composed:
        """The per-term document frequency table."""
        return self.ident("_term_stats")

    @property
    def corpus_stats(self) -> Composed:
        """The one-row corpus statistics table."""
        return self.ident("_corpus_stats")

    @property
    def postings(self) -> Composed:
        """The BM25 postings table: (term, doc_id, tf, doc_len), clustered by its (term, doc_id) key."""
        return self.ident("_postings")

    @property
    def migrations(self) -> Composed:
        """The applied-migrations table."""
        return self.ident("_migrations")


def advisory_lock_key(names: TableNames) -> int:
    """A stable 63-bit advisory lock key for the store's tables (same in every process and replica)."""
    return zlib.crc32(f"haybale:{names.schema}.{names.table}".encode()) & 0x7FFFFFFF


def _migration_1(conn: Connection[Any], names: TableNames, dimension: int) -> None:
    from psycopg import sql

    conn.execute(
        sql.SQL(
            """
            CREATE TABLE IF NOT EXISTS {docs} (
                id text PRIMARY KEY,
                seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
                content text,
                meta jsonb NOT NULL DEFAULT '{{}}'::jsonb,
                embedding vector({dim}),
                sparse_embedding jsonb,
                blob bytea,
                blob_meta jsonb,
                terms text[] NOT NULL DEFAULT '{{}}',
                tfs int4[] NOT NULL DEFAULT '{{}}',
                doc_len int4 NOT NULL DEFAULT 0
            )
            """
        ).format(docs=names.documents, dim=sql.Literal(dimension))
    )
    conn.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS {name} ON {docs} USING gin (meta)").format(
            name=sql.Identifier(names.table + "_meta_gin"), docs=names.documents
        )
    )
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {t} (term text NOT NULL, doc_seq bigint NOT NULL, tf int4 NOT NULL, "
            "doc_len int4 NOT NULL)"
        ).format(t=names.postings)
    )
    conn.execute(
        sql.SQL("CREATE TABLE IF NOT EXISTS {t} (term text PRIMARY KEY, df bigint NOT NULL)").format(
            t=names.term_stats
        )
    )
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {t} (id int PRIMARY KEY CHECK (id = 1), n bigint NOT NULL, "
            "total_len bigint NOT NULL)"
        ).format(t=names.corpus_stats)
    )
    conn.execute(
        sql.SQL("INSERT INTO {t} (id, n, total_len) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING").format(
            t=names.corpus_stats
        )
    )
    # Tell the planner the statistics table has one row, so BM25 plans use the postings index per term.
    conn.execute(sql.SQL("ANALYZE {t}").format(t=names.corpus_stats))


def _migration_2(conn: Connection[Any], names: TableNames, dimension: int) -> None:
    """Per-term bounds for exact BM25 pruning: the largest tf and the smallest doc_len / tf of each term,
    computed from the postings already stored (one pass over the postings table)."""
    from psycopg import sql

    conn.execute(
        sql.SQL(
            "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS max_tf int4, "
            "ADD COLUMN IF NOT EXISTS min_len_ratio float8"
        ).format(t=names.term_stats)
    )
    conn.execute(
        sql.SQL(
            """
            UPDATE {t} AS ts SET max_tf = a.max_tf, min_len_ratio = a.min_len_ratio
            FROM (SELECT p.term, max(p.tf) AS max_tf, min(p.doc_len::float8 / p.tf::float8) AS min_len_ratio
                  FROM {postings} AS p GROUP BY p.term) AS a
            WHERE ts.term = a.term
            """
        ).format(t=names.term_stats, postings=names.postings)
    )


#: The ordered migrations: (version, description, function). Append new ones; never edit applied ones.
_MIGRATIONS: list[tuple[int, str, Callable[[Connection[Any], TableNames, int], None]]] = [
    (1, "documents, BM25 postings, term and corpus statistics, GIN index on meta", _migration_1),
    (2, "per-term BM25 bounds (max_tf, min_len_ratio) for exact top-k pruning", _migration_2),
]
SCHEMA_VERSION = _MIGRATIONS[-1][0]


def _check_dimension(conn: Connection[Any], names: TableNames, dimension: int) -> None:
    row = conn.execute(
        "SELECT a.atttypmod FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace s ON s.oid = c.relnamespace "
        "WHERE s.nspname = %s AND c.relname = %s AND a.attname = 'embedding' AND NOT a.attisdropped",
        (names.schema, names.table),
    ).fetchone()
    if row is not None and row[0] not in (-1, dimension):
        raise DocumentStoreUsageError(
            f"Table {names.schema}.{names.table} stores {row[0]}-dimensional embeddings but the store was "
            f"configured with embedding_dimension={dimension}. Use embedding_dimension={row[0]}, another "
            "table_name, or recreate_table=True (which deletes the stored documents)."
        )


def hnsw_index_name(names: TableNames, vector_function: str) -> str:
    """Name of the HNSW index for ``vector_function``."""
    return f"{names.table}_hnsw_{OPERATOR_CLASSES[vector_function][0]}"


def postings_index_name(names: TableNames) -> str:
    """Name of the unique (term, doc_seq) index of the postings table."""
    return f"{names.table}_postings_key"


def hnsw_index_sql(names: TableNames, vector_function: str, m: int, ef_construction: int) -> Composed:
    """``CREATE INDEX IF NOT EXISTS`` for the HNSW index with the operator class of ``vector_function``."""
    from psycopg import sql

    return sql.SQL(
        "CREATE INDEX IF NOT EXISTS {name} ON {docs} USING hnsw (embedding {opclass}) "
        "WITH (m = {m}, ef_construction = {efc})"
    ).format(
        name=sql.Identifier(hnsw_index_name(names, vector_function)),
        docs=names.documents,
        opclass=sql.SQL(OPERATOR_CLASSES[vector_function][0]),
        m=sql.Literal(m),
        efc=sql.Literal(ef_construction),
    )


def postings_index_sql(names: TableNames) -> Composed:
    """``CREATE UNIQUE INDEX IF NOT EXISTS`` for the postings key, covering tf and doc_len (index-only
    scans)."""
    from psycopg import sql

    return sql.SQL(
        "CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {t} (term, doc_seq) INCLUDE (tf, doc_len)"
    ).format(name=sql.Identifier(postings_index_name(names)), t=names.postings)


def drop_tables(conn: Connection[Any], names: TableNames) -> None:
    """Drop every table of the store (documents, statistics, migrations). Runs inside the caller's
    transaction."""
    from psycopg import sql

    for suffix in ("", "_postings", "_term_stats", "_corpus_stats", "_migrations"):
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {t}").format(t=names.ident(suffix)))


def ensure_schema(
    conn: Connection[Any],
    names: TableNames,
    *,
    dimension: int,
    vector_function: str,
    search_strategy: str,
    hnsw_m: int,
    hnsw_ef_construction: int,
    recreate: bool = False,
) -> list[int]:
    """Create or migrate the store's tables and indexes; returns the migration versions applied now.

    Runs in one transaction under an advisory lock, so concurrent callers are safe.

    Raises:
        DocumentStoreError: when an existing table holds embeddings of another dimension.
    """
    from psycopg import sql

    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_lock_key(names),))
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {s}").format(s=sql.Identifier(names.schema)))
        if recreate:
            drop_tables(conn, names)
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {t} (version int PRIMARY KEY, description text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(t=names.migrations)
        )
        done = {row[0] for row in conn.execute(sql.SQL("SELECT version FROM {t}").format(t=names.migrations))}
        _check_dimension(conn, names, dimension)
        for version, description, migrate in _MIGRATIONS:
            if version in done:
                continue
            migrate(conn, names, dimension)
            conn.execute(
                sql.SQL("INSERT INTO {t} (version, description) VALUES (%s, %s)").format(t=names.migrations),
                (version, description),
            )
            applied_now.append(version)
        # Indexes a bulk load drops are (re)created here too, so an interrupted bulk load heals on restart.
        conn.execute(postings_index_sql(names))
        if search_strategy == "hnsw":
            conn.execute(hnsw_index_sql(names, vector_function, hnsw_m, hnsw_ef_construction))
    return applied_now

"""Transactional write operations of :class:`~haybale.stores.pgvector.PgvectorDocumentStore`.

Each operation is a generator that yields database steps (:class:`Execute`, :class:`CopyRows`) and receives
their results, so one definition drives both the sync (``psycopg.Connection``) and the async
(``psycopg.AsyncConnection``) runners in :mod:`haybale.stores._pgvector_runner`. Every operation runs in one
transaction that first takes the store's advisory lock: writers are serialised per store, which keeps the
BM25 statistics exact and makes duplicate checks race-free; readers are never blocked.

Documents are loaded with binary ``COPY ... FROM STDIN``, the fastest bulk path PostgreSQL offers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUsageError, DuplicateDocumentError
from haybale.stores._pgvector_bm25 import (
    DocumentPostings,
    build_postings,
    delete_with_stats_sql,
    insert_postings_sql,
    update_stats_params,
    update_stats_sql,
)
from haybale.stores._pgvector_schema import advisory_lock_key
from haybale.stores.protocol import DuplicatePolicy

if TYPE_CHECKING:
    from psycopg.sql import SQL, Composable, Composed

    from haybale.stores._pgvector_schema import TableNames
    from haybale.stores.text_analysis import Analyzer

__all__ = [
    "Concurrent",
    "CopyRows",
    "Execute",
    "Operation",
    "PreparedDocument",
    "delete_operation",
    "lock_step",
    "prepare_documents",
    "replace_operation",
    "update_operation",
    "write_operation",
]

_COPY_COLUMNS = "id, content, meta, embedding, sparse_embedding, blob, blob_meta, terms, tfs, doc_len"
_COPY_TYPES = ["text", "text", "jsonb", "vector", "jsonb", "bytea", "jsonb", "text[]", "int4[]", "int4"]


@dataclass(frozen=True)
class Execute:
    """Run ``query`` with ``params``; ``fetch`` returns all rows (else None)."""

    query: SQL | Composed
    params: list[Any]
    fetch: bool = False


@dataclass(frozen=True)
class CopyRows:
    """``COPY`` ``rows`` (typed by ``types``) into a table with binary COPY."""

    query: SQL | Composed
    types: list[str]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Concurrent:
    """Run read-only ``steps`` at the same time on separate pooled connections, all in the MVCC snapshot of
    the operation's connection (which then stays in that read-only transaction until the operation ends).

    The result is each step's rows, in order, or None when the pool had no idle connection to lend (the
    operation then does the same work another way)."""

    steps: tuple[Execute, ...]


Operation = Generator[Execute | CopyRows | Concurrent, Any, Any]


@dataclass(frozen=True)
class PreparedDocument:
    """A document validated and analysed for writing: its COPY row and its BM25 postings."""

    id: str
    row: tuple[Any, ...]
    postings: DocumentPostings


def _check_json(value: Any, what: str, doc_id: str) -> Any:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DocumentStoreUsageError(
            f"Document {doc_id!r}: {what} is not JSON-serializable ({exc}). Keep metadata to str, int, "
            f"float, "
            "bool, None, lists and dicts of those."
        ) from exc
    if "\\u0000" in text:
        raise DocumentStoreUsageError(
            f"Document {doc_id!r}: {what} contains a NUL character (\\u0000), which PostgreSQL JSONB cannot "
            "store. Remove NUL characters (DocumentCleaner does) before writing."
        )
    return value


def prepare_documents(
    documents: list[Document], analyzer: Analyzer, dimension: int
) -> list[PreparedDocument]:
    """Validate ``documents`` and build their COPY rows and postings (CPU work done outside any transaction).

    Raises:
        DocumentStoreError: a non-Document item, a wrong embedding dimension, non-JSON metadata or a NUL
            character in the content; nothing is written.
    """
    import numpy as np
    from psycopg.types.json import Jsonb

    if not isinstance(documents, list):
        raise DocumentStoreUsageError(
            f"write_documents expects a list of Document, got {type(documents).__name__}. Wrap single "
            "documents in a list."
        )
    prepared: list[PreparedDocument] = []
    for position, doc in enumerate(documents):
        if not isinstance(doc, Document):
            raise DocumentStoreUsageError(
                f"write_documents: item {position} is a {type(doc).__name__}, not a Document. Build "
                f"documents "
                "with haybale.dataclasses.Document(content=..., meta=...)."
            )
        if doc.content is not None and "\x00" in doc.content:
            raise DocumentStoreUsageError(
                f"Document {doc.id!r} contains a NUL character, which PostgreSQL text cannot store. "
                f"Remove NUL "
                "characters (DocumentCleaner does) before writing."
            )
        embedding = None
        if doc.embedding is not None:
            if len(doc.embedding) != dimension:
                raise DocumentStoreUsageError(
                    f"Document {doc.id!r} has a {len(doc.embedding)}-dimensional embedding but the "
                    f"store holds "
                    f"{dimension}-dimensional ones. Embed with the model the store was created for, or set "
                    "embedding_dimension to match."
                )
            embedding = np.asarray(doc.embedding, dtype=np.float32)
        meta = Jsonb(_check_json(doc.meta, "meta", doc.id))
        sparse = Jsonb(doc.sparse_embedding.to_dict()) if doc.sparse_embedding is not None else None
        blob = blob_meta = None
        if doc.blob is not None:
            blob = bytes(doc.blob.data)
            blob_meta = Jsonb(
                _check_json({"mime_type": doc.blob.mime_type, "meta": doc.blob.meta}, "blob meta", doc.id)
            )
        postings = build_postings(analyzer.tokenize(doc.content or ""))
        row = (doc.id, doc.content, meta, embedding, sparse, blob, blob_meta, postings.terms, postings.tfs,
               postings.length)  # fmt: skip
        prepared.append(PreparedDocument(doc.id, row, postings))
    return prepared


def lock_step(names: TableNames) -> Execute:
    """The step taking the store's transaction-level advisory lock (serialises writers of one store)."""
    from psycopg import sql

    return Execute(sql.SQL("SELECT pg_advisory_xact_lock(%s)"), [advisory_lock_key(names)])


def _existing_ids(names: TableNames, ids: list[str]) -> Execute:
    from psycopg import sql

    query = sql.SQL("SELECT id FROM {docs} WHERE id = ANY(%s::text[])").format(docs=names.documents)
    return Execute(query, [ids], fetch=True)


def _delete_ids(names: TableNames, ids: list[str]) -> Execute:
    from psycopg import sql

    return Execute(delete_with_stats_sql(names, sql.SQL("d.id = ANY(%s::text[])")), [ids], fetch=True)


def _dedupe(prepared: list[PreparedDocument], keep_last: bool) -> list[PreparedDocument]:
    chosen: dict[str, PreparedDocument] = {}
    for item in prepared:
        if keep_last or item.id not in chosen:
            chosen[item.id] = item
    return list(chosen.values())


def _insert(names: TableNames, prepared: list[PreparedDocument]) -> Operation:
    from psycopg import sql

    if not prepared:
        return
    copy_sql = sql.SQL("COPY {docs} ({cols}) FROM STDIN (FORMAT BINARY)").format(
        docs=names.documents, cols=sql.SQL(_COPY_COLUMNS)
    )
    yield CopyRows(copy_sql, _COPY_TYPES, [p.row for p in prepared])
    yield Execute(insert_postings_sql(names), [[p.id for p in prepared]])
    yield Execute(update_stats_sql(names), update_stats_params([p.postings for p in prepared]))


def _write_locked(names: TableNames, prepared: list[PreparedDocument], policy: DuplicatePolicy) -> Operation:
    if policy in (DuplicatePolicy.NONE, DuplicatePolicy.FAIL):
        counts = Counter(p.id for p in prepared)
        repeated = sorted(doc_id for doc_id, count in counts.items() if count > 1)
        existing = [row[0] for row in (yield _existing_ids(names, [p.id for p in prepared]))]
        duplicates = sorted(set(existing) | set(repeated))
        if duplicates:
            shown = ", ".join(duplicates[:5]) + (" ..." if len(duplicates) > 5 else "")
            raise DuplicateDocumentError(
                f"{len(duplicates)} document id(s) already exist (or repeat within the batch): {shown}. "
                f"Nothing "
                "was written. Use policy=DuplicatePolicy.SKIP to keep the stored documents or "
                "DuplicatePolicy.OVERWRITE to replace them."
            )
        to_write = prepared
    elif policy == DuplicatePolicy.SKIP:
        unique = _dedupe(prepared, keep_last=False)
        existing_set = {row[0] for row in (yield _existing_ids(names, [p.id for p in unique]))}
        to_write = [p for p in unique if p.id not in existing_set]
    else:
        to_write = _dedupe(prepared, keep_last=True)
        yield _delete_ids(names, [p.id for p in to_write])
    yield from _insert(names, to_write)
    return len(to_write)


def _check_policy(policy: Any) -> DuplicatePolicy:
    try:
        return DuplicatePolicy(policy)
    except ValueError as exc:
        allowed = ", ".join(p.name for p in DuplicatePolicy)
        raise DocumentStoreUsageError(
            f"Unknown duplicate policy {policy!r}; use one of DuplicatePolicy.{allowed}."
        ) from exc


def write_operation(
    names: TableNames, prepared: list[PreparedDocument], policy: DuplicatePolicy
) -> Operation:
    """Write ``prepared`` documents under ``policy``; returns how many were written."""
    policy = _check_policy(policy)
    yield lock_step(names)
    return (yield from _write_locked(names, prepared, policy))


def delete_operation(names: TableNames, where: Composable, params: list[Any]) -> Operation:
    """Delete the documents matching ``where`` and update the BM25 statistics; returns how many were
    deleted."""
    yield lock_step(names)
    rows = yield Execute(delete_with_stats_sql(names, where), params, fetch=True)
    return int(rows[0][0])


def replace_operation(
    names: TableNames, where: Composable, params: list[Any], prepared: list[PreparedDocument]
) -> Operation:
    """Delete what matches ``where`` and write ``prepared`` (overwriting equal ids) as one step.

    Returns (deleted, written).

    Raises:
        DuplicateDocumentError: an id repeats within ``prepared``; nothing is deleted or written.
    """
    repeated = sorted(doc_id for doc_id, count in Counter(p.id for p in prepared).items() if count > 1)
    if repeated:
        raise DuplicateDocumentError(
            f"replace_documents: id(s) {', '.join(repeated[:5])} appear more than once in the new documents; "
            "nothing was replaced. Give each new document a distinct id."
        )
    yield lock_step(names)
    rows = yield Execute(delete_with_stats_sql(names, where), params, fetch=True)
    written = yield from _write_locked(names, prepared, DuplicatePolicy.OVERWRITE)
    return int(rows[0][0]), written


def update_operation(
    names: TableNames, where: Composable, params: list[Any], meta: dict[str, Any]
) -> Operation:
    """Merge ``meta`` into the metadata of every document matching ``where``; returns how many were
    updated."""
    from psycopg import sql
    from psycopg.types.json import Jsonb

    checked = Jsonb(_check_json(meta, "the update meta", "<update_by_filter>"))
    query = sql.SQL(
        "WITH u AS (UPDATE {docs} AS d SET meta = d.meta || %s::jsonb WHERE {where} RETURNING 1) "
        "SELECT count(*) FROM u"
    ).format(docs=names.documents, where=where)
    rows = yield Execute(query, [checked, *params], fetch=True)
    return int(rows[0][0])

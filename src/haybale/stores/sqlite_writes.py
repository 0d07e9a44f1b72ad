"""Write path of :class:`~haybale.stores.sqlite.SQLiteDocumentStore`: validating a batch, resolving duplicate
ids, and the row-level inserts and deletes one write transaction is made of.

Everything here runs inside the store's ``BEGIN IMMEDIATE`` transaction (or before it, for validation) and
records what it changed in a :class:`WriteDelta`, which the store applies to its in-process BM25 and vector
indexes only after ``COMMIT``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUsageError, DuplicateDocumentError
from haybale.stores.protocol import DuplicatePolicy
from haybale.stores.sqlite_schema import (
    DOCUMENT_COLUMNS,
    encode_document,
    fts_term,
    read_setting,
    write_setting,
)
from haybale.stores.text_analysis import Analyzer

__all__ = [
    "PreparedDocument",
    "WriteDelta",
    "dedupe",
    "delete_seqs",
    "existing_seqs",
    "insert_prepared",
    "prepare_documents",
]


@dataclass
class PreparedDocument:
    """A validated document ready to insert: row (without seq), terms (plain and FTS-encoded), embedding."""

    id: str
    row: tuple[Any, ...]
    plain_terms: str
    terms: str
    embedding: Any  # numpy float32 vector or None
    has_content: bool


@dataclass
class WriteDelta:
    """What one write transaction changed, applied to the in-process indexes after COMMIT."""

    version: int
    next_seq: int
    removed: list[int] = field(default_factory=list)
    added_keys: list[int] = field(default_factory=list)
    added_vectors: list[Any] = field(default_factory=list)
    #: FTS terms of removed rows, collected only while the BM25 index is loaded (else it is reloaded).
    removed_terms: dict[int, str] = field(default_factory=dict)
    bm25_complete: bool = True
    added_terms: list[tuple[int, str]] = field(default_factory=list)


def prepare_documents(
    documents: Any, operation: str, analyzer: Analyzer, embedding_dim: int | None
) -> list[PreparedDocument]:
    """Validate and encode a whole batch before anything is written.

    Raises:
        DocumentStoreError: ``documents`` is not a list, an item is not a Document, an embedding is invalid,
            or embeddings differ in size (from each other or from ``embedding_dim``).
    """
    import numpy as np

    if not isinstance(documents, list | tuple):
        raise DocumentStoreUsageError(
            f"{operation}: expected a list of Documents, got {type(documents).__name__}."
        )
    prepared: list[PreparedDocument] = []
    dims: set[int] = set()
    for position, document in enumerate(documents):
        if not isinstance(document, Document):
            raise DocumentStoreUsageError(
                f"{operation}: item {position} is a {type(document).__name__}, not a Document. "
                "Nothing was written; wrap your data as Document(content=..., meta=...)."
            )
        vector = None
        if document.embedding is not None:
            vector = np.asarray(document.embedding, dtype=np.float32)
            if vector.ndim != 1 or not len(vector) or not np.isfinite(vector).all():
                raise DocumentStoreUsageError(
                    f"{operation}: document {document.id!r} has an invalid embedding (it must be a "
                    "non-empty list of finite numbers). Nothing was written."
                )
            dims.add(len(vector))
        # One translate over the joined terms (fts_term leaves spaces alone): same as mapping each term.
        plain = " ".join(analyzer.tokenize(document.content or ""))
        row = encode_document(document, vector.tobytes() if vector is not None else None)
        prepared.append(
            PreparedDocument(document.id, row, plain, fts_term(plain), vector, bool(document.content))
        )
    expected = {embedding_dim} if embedding_dim is not None else set()
    if len(dims | expected) > 1:
        raise DocumentStoreUsageError(
            f"{operation}: embeddings of sizes {sorted(dims | expected)} in one store; every embedding "
            "must have the same size (embedding_dim). Nothing was written."
        )
    return prepared


def dedupe(prepared: list[PreparedDocument], policy: DuplicatePolicy) -> list[PreparedDocument]:
    """Resolve ids repeated within one batch: SKIP keeps the first, OVERWRITE the last.

    Raises:
        DuplicateDocumentError: a repeated id under ``DuplicatePolicy.NONE`` / ``FAIL``.
    """
    by_id: dict[str, PreparedDocument] = {}
    duplicates: list[str] = []
    for item in prepared:
        if item.id in by_id:
            duplicates.append(item.id)
            if policy is DuplicatePolicy.OVERWRITE:
                del by_id[item.id]  # re-inserted below so the last occurrence wins
            else:
                continue
        by_id[item.id] = item
    if duplicates and policy in (DuplicatePolicy.NONE, DuplicatePolicy.FAIL):
        raise DuplicateDocumentError(
            f"The batch contains the same document id more than once ({sorted(set(duplicates))[:5]}); "
            "nothing was written. Remove the duplicates or use DuplicatePolicy.SKIP / OVERWRITE."
        )
    return list(by_id.values())


def existing_seqs(connection: sqlite3.Connection, ids: list[str]) -> dict[str, int]:
    """``{id: seq}`` of the stored documents among ``ids``."""
    rows = connection.execute(
        "SELECT id, seq FROM documents WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def delete_seqs(
    connection: sqlite3.Connection, delta: WriteDelta, seqs: list[int], collect_terms: bool
) -> None:
    """Delete the rows ``seqs`` (documents and their FTS terms) and record them in ``delta``.

    ``collect_terms`` (true while the in-process BM25 index is loaded) keeps the deleted terms so the index
    can update itself in place; otherwise the delta is marked incomplete and the index reloads on next use.
    """
    if not seqs:
        return
    payload = (json.dumps(seqs),)
    if collect_terms:
        delta.removed_terms.update(
            connection.execute(
                "SELECT rowid, terms FROM documents_fts WHERE rowid IN (SELECT value FROM json_each(?))",
                payload,
            ).fetchall()
        )
    else:
        delta.bm25_complete = False
    connection.execute("DELETE FROM documents_fts WHERE rowid IN (SELECT value FROM json_each(?))", payload)
    connection.execute("DELETE FROM documents WHERE seq IN (SELECT value FROM json_each(?))", payload)
    delta.removed.extend(seqs)


def insert_prepared(
    connection: sqlite3.Connection, delta: WriteDelta, prepared: list[PreparedDocument]
) -> None:
    """Insert ``prepared`` with fresh seqs and record them in ``delta``.

    Raises:
        DocumentStoreError: the embeddings' size differs from the one the database already holds.
    """
    if not prepared:
        return
    dims = {len(item.embedding) for item in prepared if item.embedding is not None}
    if dims:
        (dim,) = dims
        stored = read_setting(connection, "embedding_dim")
        if stored is None:
            write_setting(connection, "embedding_dim", str(dim))
        elif int(stored) != dim:
            raise DocumentStoreUsageError(
                f"This store holds {stored}-dimensional embeddings; got {dim}-dimensional ones. "
                "Nothing was written. Use the same embedding model for every document in a store."
            )
    first = delta.next_seq
    seqs = range(first, first + len(prepared))
    connection.executemany(
        f"INSERT INTO documents ({DOCUMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((seq, *item.row) for seq, item in zip(seqs, prepared, strict=True)),
    )
    connection.executemany(
        "INSERT INTO documents_fts (rowid, terms) VALUES (?, ?)",
        ((seq, item.terms) for seq, item in zip(seqs, prepared, strict=True) if item.terms),
    )
    delta.next_seq = first + len(prepared)
    for seq, item in zip(seqs, prepared, strict=True):
        if item.embedding is not None:
            delta.added_keys.append(seq)
            delta.added_vectors.append(item.embedding)
        if item.has_content:
            delta.added_terms.append((seq, item.plain_terms))

"""Write path of :class:`~haybale.stores.sqlite.SQLiteDocumentStore`: validating a batch, resolving duplicate
ids, and the row-level inserts and deletes one write transaction is made of.

Everything here runs inside the store's ``BEGIN IMMEDIATE`` transaction (or before it, for validation) and
updates the persisted BM25 index (:mod:`haybale.stores._sqlite_bm25`) in the same transaction. Validation
before the transaction checks the embeddings' shape only; their values are converted (and checked) inside
it, straight into the vector file (:meth:`~haybale.stores._sqlite_vectors.VectorFile.fill`), so a bad
value fails the transaction, which rolls back and writes nothing. It records what
it changed in a :class:`WriteDelta`, which the store applies to its in-process vector index only after
``COMMIT``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUsageError, DuplicateDocumentError
from haybale.stores._bulk import embedding_length, float32_rows
from haybale.stores._sqlite_bm25 import analyse, delete_postings, index_documents
from haybale.stores._sqlite_rows import row_insert
from haybale.stores._sqlite_schema import encode_document, read_setting, write_setting
from haybale.stores._sqlite_vectors import PendingVectors, VectorFile, append_vectors, delete_vectors
from haybale.stores.protocol import DuplicatePolicy
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

_ROW = attrgetter("row")
_ID = attrgetter("id")
_CONTENT = attrgetter("content")
#: Batches at least this large are analysed for BM25 and their embeddings converted into the vector file in
#: worker threads, overlapping the row inserts.
_OVERLAP_MIN_TEXTS = 2048


@dataclass(slots=True)
class PreparedDocument:
    """A validated document ready to insert: its row (without seq, see
    :func:`~haybale.stores._sqlite_schema.encode_document`), content, and embedding.

    The embedding is kept as given (its shape checked): it is converted to float32 only inside the write
    transaction, straight into its rows of the vector file (:func:`insert_prepared`)."""

    id: str
    row: tuple[Any, ...]
    content: str | None
    embedding: Any  # None without one


@dataclass
class WriteDelta:
    """What one write transaction needs to carry over: the seq counter, and vector files to remove once it
    committed."""

    version: int
    next_seq: int
    obsolete_vector_files: list[int] = field(default_factory=list)


def prepare_documents(documents: Any, operation: str, embedding_dim: int | None) -> list[PreparedDocument]:
    """Validate and encode a whole batch before anything is written.

    The embeddings' values are checked when :func:`insert_prepared` converts them (a bad one fails the
    write transaction, which then writes nothing); here only their shape is.

    Raises:
        DocumentStoreError: ``documents`` is not a list, an item is not a Document, an embedding is not a
            non-empty list, or embeddings differ in size (from each other or from ``embedding_dim``).
    """
    if not isinstance(documents, list | tuple):
        raise DocumentStoreUsageError(
            f"{operation}: expected a list of Documents, got {type(documents).__name__}."
        )
    embedded: list[int] = []
    for position, document in enumerate(documents):
        if not isinstance(document, Document):
            raise DocumentStoreUsageError(
                f"{operation}: item {position} is a {type(document).__name__}, not a Document. "
                "Nothing was written; wrap your data as Document(content=..., meta=...)."
            )
        if document.embedding is not None:
            embedded.append(position)
    embeddings = [documents[i].embedding for i in embedded]
    try:
        dim = embedding_length(embeddings)
    except ValueError as exc:
        raise _invalid_embedding(operation, exc, [documents[i].id for i in embedded]) from exc
    if embedded and embedding_dim is not None and dim != embedding_dim:
        raise DocumentStoreUsageError(
            f"{operation}: embeddings of sizes {sorted({embedding_dim, dim})} in one store; "
            "every embedding must have the same size (embedding_dim). Nothing was written."
        )
    return [
        PreparedDocument(
            document.id,
            encode_document(document, document.embedding is not None),
            document.content,
            document.embedding,
        )
        for document in documents
    ]


def _invalid_embedding(operation: str, error: ValueError, ids: list[str]) -> DocumentStoreUsageError:
    """The error for a :func:`~haybale.stores._bulk.float32_rows` ``error`` among the embeddings of the
    documents ``ids``."""
    return DocumentStoreUsageError(
        f"{operation}: {error} (document {_document_named(error, ids)}); every embedding must be a non-empty "
        "list of finite numbers, all of the same size. Nothing was written."
    )


def _document_named(error: ValueError, ids: list[str]) -> str:
    """The id of the document a :func:`float32_rows` error points at ("embedding <n> is invalid")."""
    words = str(error).split()
    if len(words) > 1 and words[1].isdigit() and int(words[1]) < len(ids):
        return repr(ids[int(words[1])])
    return "?"


def dedupe(prepared: list[PreparedDocument], policy: DuplicatePolicy) -> list[PreparedDocument]:
    """Resolve ids repeated within one batch: SKIP keeps the first, OVERWRITE the last.

    Raises:
        DuplicateDocumentError: a repeated id under ``DuplicatePolicy.NONE`` / ``FAIL``.
    """
    if len(set(map(_ID, prepared))) == len(prepared):  # the usual batch: every id once
        return prepared
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
    if not connection.execute("SELECT EXISTS (SELECT 1 FROM documents)").fetchone()[0]:
        return {}  # an empty store (a first bulk load): no need to look up every id
    rows = connection.execute(
        "SELECT id, seq FROM documents WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def delete_seqs(
    connection: sqlite3.Connection,
    delta: WriteDelta,
    seqs: list[int],
    analyzer: Analyzer,
    vector_file: VectorFile,
) -> None:
    """Delete the rows ``seqs`` (documents, their BM25 postings and vector rows)."""
    if not seqs:
        return
    delete_postings(connection, analyzer, seqs)
    with_vectors = [
        row[0]
        for row in connection.execute(
            "SELECT seq FROM documents "
            "WHERE seq IN (SELECT value FROM json_each(?)) AND embedding IS NOT NULL",
            (json.dumps(seqs),),
        )
    ]
    obsolete = delete_vectors(connection, vector_file, with_vectors)
    if obsolete is not None:
        delta.obsolete_vector_files.append(obsolete)
    connection.execute(
        "DELETE FROM documents WHERE seq IN (SELECT value FROM json_each(?))", (json.dumps(seqs),)
    )


def insert_prepared(
    connection: sqlite3.Connection,
    delta: WriteDelta,
    prepared: list[PreparedDocument],
    analyzer: Analyzer,
    vector_file: VectorFile,
    *,
    operation: str,
) -> None:
    """Insert ``prepared`` with fresh seqs, index their content for BM25, append their embeddings to the
    vector file, and record them in ``delta``.

    Raises:
        DocumentStoreError: an embedding holds a value that is not a finite float32 number (naming the
            document, for ``operation``), or the embeddings' size differs from the one the database already
            holds. The caller's transaction then rolls back: nothing is written.
    """
    if not prepared:
        return
    first = delta.next_seq
    seqs, texts = _texts(first, prepared)
    embedded = [item for item in prepared if item.embedding is not None]
    if embedded:
        _check_embedding_dim(connection, len(embedded[0].embedding))
    # Large batches have their embeddings converted into the vector file (and flushed), and their texts
    # analysed for BM25, in worker threads while SQLite inserts the rows, so the insert overlaps with both
    # on a second core and with the disk. The conversion and the analysis hold the GIL for most of their
    # work (they take turns with each other), so once they run this thread only makes calls that release
    # the GIL for long (the one statement of a large insert: _sqlite_rows): each call that releases it
    # briefly waits for a worker to give it back (up to the 5 ms switch interval). The rows' JSON is encoded
    # before the workers start for that reason. The vector rows are recorded (with the inverse norms the
    # fill computed) once the fill and its flush completed, before this returns: COMMIT must not come
    # before the vectors its rows refer to are on disk.
    worker = ThreadPoolExecutor(max_workers=2) if len(prepared) >= _OVERLAP_MIN_TEXTS else None
    try:
        statement, parameters, many = row_insert(first, list(map(_ROW, prepared)))
        vectors = _append_batch_vectors(
            connection,
            delta,
            first,
            prepared,
            embedded,
            operation=operation,
            vector_file=vector_file,
            worker=worker,
        )
        pending = worker.submit(analyse, analyzer, texts) if worker is not None and texts else None
        (connection.executemany if many else connection.execute)(statement, parameters)
        analysis = pending.result() if pending is not None else None
        if vectors is not None:
            vectors.record()
    finally:
        if worker is not None:
            worker.shutdown(wait=True)
    delta.next_seq = first + len(prepared)
    index_documents(connection, analyzer, seqs, texts, analysis)


def _texts(first: int, prepared: list[PreparedDocument]) -> tuple[Sequence[int], list[str]]:
    """The seqs (numbered from ``first``) and texts of the documents of ``prepared`` that have content."""
    contents = list(map(_CONTENT, prepared))
    if all(contents):  # every document has text (the usual batch)
        return range(first, first + len(contents)), contents
    with_content = [(seq, text) for seq, text in enumerate(contents, first) if text]
    return [seq for seq, _ in with_content], [text for _, text in with_content]


def _check_embedding_dim(connection: sqlite3.Connection, dim: int) -> None:
    """Record the store's embedding size on its first embedded write; refuse a different one later.

    Raises:
        DocumentStoreError: the embeddings' size differs from the one the database already holds.
    """
    stored = read_setting(connection, "embedding_dim")
    if stored is None:
        write_setting(connection, "embedding_dim", str(dim))
    elif int(stored) != dim:
        raise DocumentStoreUsageError(
            f"This store holds {stored}-dimensional embeddings; got {dim}-dimensional ones. "
            "Nothing was written. Use the same embedding model for every document in a store."
        )


def _append_batch_vectors(
    connection: sqlite3.Connection,
    delta: WriteDelta,
    first: int,
    prepared: list[PreparedDocument],
    embedded: list[PreparedDocument],
    *,
    operation: str,
    vector_file: VectorFile,
    worker: Executor | None,
) -> PendingVectors | None:
    """Start appending the embeddings of ``embedded`` (the documents of ``prepared``, numbered from
    ``first``, that have one) to the vector file, converted on ``worker`` when given; returns the rows to
    record before COMMIT."""
    if not embedded:
        return None
    if len(embedded) == len(prepared):
        seqs = list(range(first, first + len(prepared)))
    else:
        seqs = [seq for seq, item in enumerate(prepared, first) if item.embedding is not None]
    embeddings = [item.embedding for item in embedded]

    def convert(rows: Any) -> None:
        try:
            float32_rows(embeddings, out=rows)
        except ValueError as exc:
            raise _invalid_embedding(operation, exc, [item.id for item in embedded]) from exc

    obsolete, pending = append_vectors(
        connection, vector_file, seqs, len(embeddings[0]), convert, background=worker
    )
    if obsolete is not None:
        delta.obsolete_vector_files.append(obsolete)
    return pending

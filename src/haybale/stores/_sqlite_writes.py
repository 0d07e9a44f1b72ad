"""Write path of :class:`~haybale.stores.sqlite.SQLiteDocumentStore`: validating a batch, resolving duplicate
ids, and the row-level inserts and deletes one write transaction is made of.

Everything here runs inside the store's ``BEGIN IMMEDIATE`` transaction (or before it, for validation) and
updates the persisted BM25 index (:mod:`haybale.stores._sqlite_bm25`) in the same transaction. It records what
it changed in a :class:`WriteDelta`, which the store applies to its in-process vector index only after
``COMMIT``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUsageError, DuplicateDocumentError
from haybale.stores._bulk import float32_rows
from haybale.stores._sqlite_bm25 import analyse, delete_postings, index_documents
from haybale.stores._sqlite_rows import row_insert
from haybale.stores._sqlite_schema import encode_document, read_setting, write_setting
from haybale.stores._sqlite_vectors import VectorFile, append_vectors, delete_vectors
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
#: Batches at least this large are analysed for BM25 and their vectors written in worker threads, overlapping
#: the row inserts.
_OVERLAP_MIN_TEXTS = 2048


@dataclass(slots=True)
class PreparedDocument:
    """A validated document ready to insert: its row (without seq, see
    :func:`~haybale.stores._sqlite_schema.encode_document`), content, and where its embedding is."""

    id: str
    row: tuple[Any, ...]
    content: str | None
    vectors: Any  # the float32 matrix of the batch's embeddings
    vector_index: int = -1  # the row of ``vectors`` holding this document's embedding; -1 without one


@dataclass
class WriteDelta:
    """What one write transaction needs to carry over: the seq counter, and vector files to remove once it
    committed."""

    version: int
    next_seq: int
    obsolete_vector_files: list[int] = field(default_factory=list)


def prepare_documents(documents: Any, operation: str, embedding_dim: int | None) -> list[PreparedDocument]:
    """Validate and encode a whole batch before anything is written.

    Raises:
        DocumentStoreError: ``documents`` is not a list, an item is not a Document, an embedding is invalid,
            or embeddings differ in size (from each other or from ``embedding_dim``).
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
    vectors = _embedding_rows(documents, embedded, operation, embedding_dim)
    vector_index: Sequence[int] = range(len(documents))  # a bulk load: every document has an embedding
    if len(embedded) < len(documents):
        vector_index = [-1] * len(documents)
        for index, position in enumerate(embedded):
            vector_index[position] = index
    return [
        PreparedDocument(document.id, encode_document(document, index >= 0), document.content, vectors, index)
        for document, index in zip(documents, vector_index, strict=True)
    ]


def _embedding_rows(documents: Any, embedded: list[int], operation: str, embedding_dim: int | None) -> Any:
    """The float32 matrix of the embeddings of ``documents[embedded]``, validated."""
    try:
        matrix = float32_rows([documents[i].embedding for i in embedded])
    except ValueError as exc:
        raise DocumentStoreUsageError(
            f"{operation}: {exc} (document {_document_named(exc, documents, embedded)}); every embedding "
            "must be a non-empty list of finite numbers, all of the same size. Nothing was written."
        ) from exc
    if not len(embedded):
        return matrix
    if embedding_dim is not None and matrix.shape[1] != embedding_dim:
        raise DocumentStoreUsageError(
            f"{operation}: embeddings of sizes {sorted({embedding_dim, matrix.shape[1]})} in one store; "
            "every embedding must have the same size (embedding_dim). Nothing was written."
        )
    return matrix


def _document_named(error: ValueError, documents: Any, embedded: list[int]) -> str:
    """The id of the document a :func:`float32_rows` error points at ("embedding <n> is invalid")."""
    words = str(error).split()
    if len(words) > 1 and words[1].isdigit() and int(words[1]) < len(embedded):
        return repr(documents[embedded[int(words[1])]].id)
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
) -> None:
    """Insert ``prepared`` with fresh seqs, index their content for BM25, and record them in ``delta``.

    Raises:
        DocumentStoreError: the embeddings' size differs from the one the database already holds.
    """
    if not prepared:
        return
    vector_rows = [item.vector_index for item in prepared]
    if max(vector_rows) >= 0:
        _check_embedding_dim(connection, int(prepared[0].vectors.shape[1]))
    first = delta.next_seq
    seqs, texts = _texts(first, prepared)
    # Large batches have their vectors written to the vector file and flushed, and their texts analysed for
    # BM25, in worker threads while SQLite inserts the rows, so the three overlap on a second core and
    # with the disk. The analysis holds the GIL for most of its work, so once it runs this thread only
    # makes calls that release the GIL for long (the one statement of a large insert: _sqlite_rows): each
    # call that releases it briefly waits for the analysis to give it back (up to the 5 ms switch
    # interval). The vectors (whose inverse norms are computed here) and the rows' JSON come first for
    # that reason. The flush completes before this returns: COMMIT must not come before the vectors its
    # rows refer to are on disk.
    worker = ThreadPoolExecutor(max_workers=2) if len(prepared) >= _OVERLAP_MIN_TEXTS else None
    try:
        written = _append_batch_vectors(
            connection, delta, first, vector_rows, prepared, vector_file=vector_file, worker=worker
        )
        statement, parameters, many = row_insert(first, list(map(_ROW, prepared)))
        pending = worker.submit(analyse, analyzer, texts) if worker is not None and texts else None
        (connection.executemany if many else connection.execute)(statement, parameters)
        analysis = pending.result() if pending is not None else None
        if written is not None:
            written.result()
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
    vector_rows: list[int],
    prepared: list[PreparedDocument],
    *,
    vector_file: VectorFile,
    worker: Executor | None,
) -> Future[None] | None:
    """Append the vectors of ``prepared`` (numbered from ``first``; ``vector_rows`` is each one's row of the
    batch matrix, -1 without an embedding) to the vector file; returns the future of the file write when it
    runs on ``worker``."""
    rows = np.asarray(vector_rows, dtype=np.int64)
    embedded = rows >= 0
    if not embedded.any():
        return None
    batch = prepared[0].vectors
    seqs = np.arange(first, first + len(rows), dtype=np.int64)
    if not embedded.all():
        seqs, rows = seqs[embedded], rows[embedded]
    in_order = len(rows) == len(batch) and bool((rows == np.arange(len(rows))).all())
    obsolete, written = append_vectors(
        connection, vector_file, seqs.tolist(), batch if in_order else batch[rows], worker
    )
    if obsolete is not None:
        delta.obsolete_vector_files.append(obsolete)
    return written

"""SQLiteDocumentStore converts a write's embeddings inside its transaction, straight into the reserved rows
of its vector file: a bad value found there, or a disk without room for the rows, fails the write and leaves
the store (and a reopened one) as it was, and the next write's vectors are right."""

from __future__ import annotations

import errno
import os
import random
from pathlib import Path
from typing import Any

import pytest

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUnavailableError, DocumentStoreUsageError
from haybale.stores import DuplicatePolicy, SQLiteDocumentStore

DIM = 8
_WORDS = ["apple", "banana", "cherry", "fox", "zebra"]


def _docs(count: int, start: int = 0, *, every_embedded: bool = True) -> list[Document]:
    rng = random.Random(start)
    return [
        Document(
            id=f"d{i}",
            content=" ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 6))),
            meta={"i": i},
            embedding=[rng.uniform(-1, 1) for _ in range(DIM)] if every_embedded or i % 3 else None,
        )
        for i in range(start, start + count)
    ]


def _answers(store: SQLiteDocumentStore) -> tuple[Any, ...]:
    """Everything a caller can read: the documents with their vectors, and dense and BM25 results."""
    queries = [[random.Random(seed).uniform(-1, 1) for _ in range(DIM)] for seed in range(3)]
    return (
        sorted((d.id, d.content, d.embedding) for d in store.filter_documents()),
        [[(d.id, d.score) for d in store.embedding_search(query, top_k=20)] for query in queries],
        [(d.id, d.score) for d in store.bm25_search("apple zebra", top_k=20)],
    )


def _vector_file(path: Path) -> Path:
    (found,) = path.parent.glob(f"{path.name}-vectors.*")
    return found


@pytest.mark.parametrize("count", [3, 2600])  # converted in the writing thread / in a worker
def test_a_bad_value_found_inside_the_write_changes_nothing_and_the_next_write_is_right(
    tmp_path: Path, count: int
) -> None:
    path = tmp_path / "store.db"
    committed = _docs(200)
    store = SQLiteDocumentStore(path)
    store.write_documents(committed)
    before = _answers(store)
    size = _vector_file(path).stat().st_size
    batch = _docs(count, start=1000)
    batch[-1].embedding = [*batch[-1].embedding[:-1], float("nan")]  # the last row: the others are filled
    with pytest.raises(DocumentStoreUsageError, match="Nothing was written") as raised:
        store.write_documents(batch)
    assert f"'d{999 + count}'" in str(raised.value)  # names the document
    # The failed write did reach the file, past the rows the database records.
    assert _vector_file(path).stat().st_size > size
    assert _answers(store) == before
    store.close()
    reopened = SQLiteDocumentStore(path)
    assert _answers(reopened) == before
    following = _docs(max(count // 2, 2), start=5000)  # fewer rows than the failed write left behind
    reopened.write_documents(following)
    fresh = SQLiteDocumentStore(tmp_path / "fresh.db")
    fresh.write_documents(committed)
    fresh.write_documents(following)
    assert _answers(reopened) == _answers(fresh)  # the same vectors, scores equal to the last bit
    reopened.close()
    assert _answers(SQLiteDocumentStore(path)) == _answers(fresh)


@pytest.mark.parametrize(("code", "count"), [(errno.ENOSPC, 2600), (errno.EDQUOT, 3)])
def test_a_disk_without_room_for_the_vectors_fails_the_write_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, count: int
) -> None:
    """Rows are reserved on disk before they are written: writing into a mapped file the disk has no room for
    would kill the process, where a refused reservation is an error naming the file and the fix."""
    path = tmp_path / "store.db"
    store = SQLiteDocumentStore(path)
    store.write_documents(_docs(50))
    before = _answers(store)
    refused: list[int] = []

    def full_disk(descriptor: int, offset: int, length: int) -> None:
        refused.append(length)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "posix_fallocate", full_disk, raising=False)
    batch = _docs(count, start=1000)
    with pytest.raises(DocumentStoreUnavailableError, match="nothing was written") as raised:
        store.write_documents(batch)
    assert refused == [count * DIM * 4]
    assert str(_vector_file(path)) in str(raised.value)
    assert "free space" in str(raised.value)
    assert _answers(store) == before
    assert _answers(SQLiteDocumentStore(path)) == before
    monkeypatch.undo()  # room again: the same write goes through
    store.write_documents(batch)
    assert store.count_documents() == 50 + count


def _writes(store: SQLiteDocumentStore) -> None:
    """A mixed history: bulk and small writes, documents without embeddings, SKIP and OVERWRITE subsets."""
    store.write_documents(_docs(2600, every_embedded=False))
    store.write_documents(_docs(5, start=3000))
    store.write_documents(_docs(40, start=2590), policy=DuplicatePolicy.SKIP)
    overwrite = _docs(2400, start=1000)
    for document in overwrite:
        document.embedding = [-value for value in document.embedding or [0.5] * DIM]
    store.write_documents(overwrite, policy=DuplicatePolicy.OVERWRITE)
    store.replace_documents({"field": "meta.i", "operator": "<", "value": 100}, _docs(30, start=4000))


def test_where_blocks_cannot_be_reserved_the_vectors_are_stored_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reserved = SQLiteDocumentStore(tmp_path / "reserved.db")
    _writes(reserved)
    refused: list[int] = []

    def unsupported(descriptor: int, offset: int, length: int) -> None:
        refused.append(length)
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(os, "posix_fallocate", unsupported, raising=False)
    refusing = SQLiteDocumentStore(tmp_path / "refusing.db")
    _writes(refusing)
    assert refused  # the filesystem's refusal was met, and the write went on without the reservation
    monkeypatch.delattr(os, "posix_fallocate")  # a platform without it (macOS)
    without = SQLiteDocumentStore(tmp_path / "without.db")
    _writes(without)
    assert _answers(refusing) == _answers(reserved)
    assert _answers(without) == _answers(reserved)
    for name in ("reserved", "refusing", "without"):
        assert _answers(SQLiteDocumentStore(tmp_path / f"{name}.db")) == _answers(reserved)

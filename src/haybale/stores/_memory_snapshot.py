"""Atomic on-disk snapshots of an InMemoryDocumentStore.

Format: one ``.npz`` archive (a zip file) holding three arrays and no pickled objects:

* ``header`` -- UTF-8 JSON: format name, version, the store's ``to_dict()`` and the document count;
* ``documents`` -- UTF-8 JSON lines, one ``Document.to_dict()`` per document; an embedding that float32 holds
  exactly is moved to the matrix and replaced by ``"embedding_row": n``;
* ``embeddings`` -- a float32 matrix of those rows.

The file is written next to its destination under a temporary name, flushed to disk, and moved into place with
``os.replace``, so a crash never leaves a half-written snapshot at ``path``. Reading never unpickles
(``allow_pickle=False``) and turns any defect into a :class:`~haybale.errors.DocumentStoreError`.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUnavailableError, DocumentStoreUsageError

__all__ = ["SNAPSHOT_FORMAT", "read_snapshot", "write_snapshot"]

SNAPSHOT_FORMAT = "haybale.in_memory_snapshot"
_VERSION = 1


def write_snapshot(
    path: str | os.PathLike[str], store_config: dict[str, Any], documents: list[Document]
) -> None:
    """Write ``documents`` to ``path`` atomically (see the module docstring for the format)."""
    target = os.fspath(path)
    lines: list[str] = []
    rows: list[list[float]] = []
    for doc in documents:
        data = doc.to_dict()
        embedding = data.get("embedding")
        if embedding is not None:
            as32 = np.asarray(embedding, dtype=np.float32)
            if as32.tolist() == embedding and (not rows or len(rows[0]) == len(embedding)):
                data["embedding"] = None
                data["embedding_row"] = len(rows)
                rows.append(embedding)
        lines.append(json.dumps(data, ensure_ascii=False, allow_nan=False))
    header = {"format": SNAPSHOT_FORMAT, "version": _VERSION, "store": store_config, "count": len(lines)}
    matrix = np.asarray(rows, dtype=np.float32) if rows else np.zeros((0, 0), dtype=np.float32)
    directory = os.path.dirname(os.path.abspath(target))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".snapshot-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise DocumentStoreUnavailableError(f"Cannot write snapshot to {target!r}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(
                handle,
                header=np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
                documents=np.frombuffer("\n".join(lines).encode("utf-8"), dtype=np.uint8),
                embeddings=matrix,
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, (OSError, ValueError)):
            raise DocumentStoreUnavailableError(f"Cannot write snapshot to {target!r}: {exc}") from exc
        raise


def read_snapshot(path: str | os.PathLike[str]) -> list[Document]:
    """Read the documents of a snapshot written by :func:`write_snapshot`; raises DocumentStoreError."""
    source = os.fspath(path)
    try:
        if not zipfile.is_zipfile(source):
            raise ValueError("the file is not a snapshot archive")
        with np.load(source, allow_pickle=False) as archive:
            header = json.loads(bytes(archive["header"]).decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != SNAPSHOT_FORMAT:
                raise ValueError("not a haybale in-memory snapshot")
            if header.get("version") != _VERSION:
                raise ValueError(f"unsupported snapshot version {header.get('version')!r}")
            text = bytes(archive["documents"]).decode("utf-8")
            matrix = archive["embeddings"]
    except FileNotFoundError as exc:
        raise DocumentStoreUsageError(
            f"No snapshot at {source!r}; write one with store.save(path) first."
        ) from exc
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, EOFError) as exc:
        raise DocumentStoreUsageError(
            f"Snapshot {source!r} is corrupt or not a haybale snapshot ({exc}); the store was left unchanged."
        ) from exc
    documents: list[Document] = []
    try:
        for line in text.split("\n") if text else []:
            data = json.loads(line)
            row = data.pop("embedding_row", None)
            if row is not None:
                data["embedding"] = matrix[int(row)].tolist()
            documents.append(Document.from_dict(data))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise DocumentStoreUsageError(
            f"Snapshot {source!r} holds a malformed document ({exc}); the store was left unchanged."
        ) from exc
    if len(documents) != header.get("count"):
        raise DocumentStoreUsageError(
            f"Snapshot {source!r} is truncated: header says {header.get('count')} documents, found "
            f"{len(documents)}; the store was left unchanged."
        )
    return documents

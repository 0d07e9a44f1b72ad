"""The Document: the unit of content that flows through indexing and retrieval."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

from haybale.dataclasses.byte_stream import ByteStream
from haybale.dataclasses.sparse_embedding import SparseEmbedding

__all__ = ["VOLATILE_META_KEYS", "Document", "compute_document_id"]

#: Metadata keys that describe *when* or *where from* a file was read rather than *what* it holds. They do not
#: enter the content-addressed id, so re-ingesting the same file (from a new temporary upload path, at a later
#: time) yields the same ids. Keys starting with an underscore are treated as volatile too.
VOLATILE_META_KEYS: frozenset[str] = frozenset(
    {
        "file_path",
        "temp_path",
        "tmp_path",
        "created_at",
        "updated_at",
        "modified_at",
        "indexed_at",
        "ingested_at",
        "timestamp",
        "mtime",
        "ctime",
    }
)


def _stable_meta(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k not in VOLATILE_META_KEYS and not str(k).startswith("_")}


def compute_document_id(content: str | None, meta: dict[str, Any], blob: ByteStream | None = None) -> str:
    """Return the content-addressed id of a document: sha256 over content, stable metadata and blob bytes.

    Embeddings and scores do not enter the id: embedding a chunk or retrieving it never changes who it is.
    """
    digest = hashlib.sha256()
    digest.update((content or "").encode("utf-8", "surrogatepass"))
    digest.update(b"\x00")
    digest.update(json.dumps(_stable_meta(meta), sort_keys=True, default=str, ensure_ascii=False).encode())
    if blob is not None:
        digest.update(b"\x00")
        digest.update(hashlib.sha256(blob.data).digest())
        digest.update((blob.mime_type or "").encode())
    return digest.hexdigest()


@dataclass
class Document:
    """A piece of content with metadata, optional embeddings, and (after retrieval) a score.

    Args:
        content: the text, or None for a binary-only document.
        meta: JSON-compatible metadata (source, file_name, page_number, ...).
        embedding: dense vector.
        sparse_embedding: sparse vector.
        blob: binary payload.
        score: relevance score set by retrievers and rankers.
        id: stable id; computed from content, stable metadata and blob when not given.
        score_details: how a retrieved document was scored (per retriever: rank and raw score; fusion method).
    """

    content: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    embedding: list[float] | None = None
    sparse_embedding: SparseEmbedding | None = None
    blob: ByteStream | None = None
    score: float | None = None
    id: str = ""
    score_details: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.meta is None:
            self.meta = {}
        if not isinstance(self.meta, dict):
            raise TypeError(
                f"Document.meta must be a dict, got {type(self.meta).__name__}. Pass metadata as a dict, "
                "for example Document(content='...', meta={'source': 'a.pdf'})."
            )
        if self.content is not None and not isinstance(self.content, str):
            raise TypeError(
                f"Document.content must be a str or None, got {type(self.content).__name__}. "
                "Put binary data in `blob=ByteStream(...)` instead."
            )
        if not self.id:
            self.id = compute_document_id(self.content, self.meta, self.blob)

    def __repr__(self) -> str:
        parts = [f"id={self.id[:12]}..."]
        if self.content is not None:
            text = self.content if len(self.content) <= 60 else self.content[:57] + "..."
            parts.append(f"content={text!r}")
        if self.meta:
            parts.append(f"meta={self.meta!r}")
        if self.score is not None:
            parts.append(f"score={self.score!r}")
        if self.embedding is not None:
            parts.append(f"embedding=<{len(self.embedding)} floats>")
        if self.blob is not None:
            parts.append(f"blob=<{len(self.blob.data)} bytes>")
        return f"Document({', '.join(parts)})"

    def to_dict(self, flatten: bool = False) -> dict[str, Any]:
        """Return a JSON-compatible dict.

        Args:
            flatten: when True, metadata keys are placed at the top level (Haystack 1.x style)
                instead of under ``"meta"``.
        """
        data: dict[str, Any] = {
            "id": self.id,
            "content": self.content,
            "meta": dict(self.meta),
            "embedding": list(self.embedding) if self.embedding is not None else None,
            "sparse_embedding": self.sparse_embedding.to_dict() if self.sparse_embedding else None,
            "blob": self.blob.to_dict() if self.blob is not None else None,
            "score": self.score,
            "score_details": self.score_details,
        }
        if flatten:
            meta = data.pop("meta")
            data.update(meta)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        """Build a Document from :meth:`to_dict` output (nested or flattened)."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        extra_meta = {k: v for k, v in data.items() if k not in known}
        meta = dict(kwargs.pop("meta", None) or {})
        meta.update(extra_meta)
        if isinstance(kwargs.get("blob"), dict):
            kwargs["blob"] = ByteStream.from_dict(kwargs["blob"])
        if isinstance(kwargs.get("sparse_embedding"), dict):
            kwargs["sparse_embedding"] = SparseEmbedding.from_dict(kwargs["sparse_embedding"])
        return cls(meta=meta, **kwargs)

"""Vectors for the chunks of converted batches: reused from the chunks they replace, or embedded in pools.

Reuse: each chunk carries a private ``_embedding_key`` (a hash of the embedder's settings and of the text it
embeds). Before a batch is embedded, the chunks it replaces are read back and those whose key matches lend
their vectors, so editing one paragraph re-embeds only the chunks that paragraph touches. Equal keys within a
pool are embedded once.

Pools: the chunks still needing vectors are embedded across several batches at once (at least
``pool_chunks`` of them when the run has that many). A transformer pads every batch to its longest text; the
embedder sorts what it is given by length, and the more chunks it can sort, the closer the lengths within each
of its batches -- with 32 files at a time (about 100 chunks) the model computed 12 % more positions than with
the whole run at once. The batches of a pool are still written one by one, each in its own atomic replace.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from haybale.dataclasses import Document

__all__ = ["EMBEDDING_KEY", "ChunkBatch", "embed_pool", "embedder_fingerprint", "embedding_key"]

#: Meta key holding a chunk's embedding key (private: keys starting with "_" never enter document ids).
EMBEDDING_KEY = "_embedding_key"


def embedder_fingerprint(embedder: Any) -> str | None:
    """A hash of everything that decides an embedder's vectors (its type and serialized settings: model,
    backend, prefix, ...), or None when it cannot be serialized (then nothing is reused)."""
    try:
        settings = embedder.to_dict()
        text = json.dumps(settings, sort_keys=True, default=str)
    except Exception:  # e.g. a Secret.from_token refuses to serialize: no cache rather than a wrong one
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embedding_key(fingerprint: str, chunk: Document, meta_fields: list[str]) -> str:
    """The cache key of ``chunk``'s embedding: the embedder's fingerprint, the content and the metadata the
    embedder embeds with it."""
    embedded = json.dumps([chunk.content, [chunk.meta.get(name) for name in meta_fields]], default=str)
    return hashlib.sha256(f"{fingerprint}\0{embedded}".encode()).hexdigest()[:32]


@dataclass
class ChunkBatch:
    """The chunks of one converted batch, on their way to the store.

    Attributes:
        chunks: the batch's chunks in writing order; keyed (``meta._embedding_key``) when ``keyed``.
        keyed: whether the embedder could be fingerprinted (else nothing is reused or shared).
        vectors: the vectors known so far, by embedding key (reused ones first, then those embedded).
        missing: the chunks that still need a vector (one per key; every chunk when not keyed).
        cause: the exception the embedder raised, if embedding failed (then nothing of the batch is
            written); its fault -- a dependency's or the input's -- decides how a service answers.
    """

    chunks: list[Document]
    keyed: bool = False
    vectors: dict[str, list[float] | None] = field(default_factory=dict)
    missing: list[Document] = field(default_factory=list)
    cause: BaseException | None = None

    @property
    def error(self) -> str | None:
        """Why embedding failed, if it did (from :attr:`cause`)."""
        if self.cause is None:
            return None
        return f"embedding failed: {type(self.cause).__name__}: {self.cause}"

    @classmethod
    def prepare(cls, chunks: list[Document], embedder: Any, store: Any, previous: Any) -> ChunkBatch:
        """Key ``chunks`` for ``embedder`` and take the vectors of matching chunks that ``previous`` (a
        filter, or None when the batch replaces nothing) selects in ``store``."""
        if embedder is None:
            return cls(chunks)
        fingerprint = embedder_fingerprint(embedder)
        if fingerprint is None:
            return cls(chunks, missing=list(chunks))
        fields = list(getattr(embedder, "meta_fields_to_embed", None) or [])
        keyed = [
            replace(chunk, meta={**chunk.meta, EMBEDDING_KEY: embedding_key(fingerprint, chunk, fields)})
            for chunk in chunks
        ]
        batch = cls(keyed, keyed=True)
        if previous is not None:
            for old in store.filter_documents(previous):
                key = old.meta.get(EMBEDDING_KEY)
                if isinstance(key, str) and old.embedding is not None:
                    batch.vectors[key] = old.embedding
        unique: dict[str, Document] = {}
        for chunk in keyed:
            if chunk.meta[EMBEDDING_KEY] not in batch.vectors:
                unique.setdefault(chunk.meta[EMBEDDING_KEY], chunk)
        batch.missing = list(unique.values())
        return batch

    def receive(self, embedded: list[Document]) -> None:
        """Take the embedder's output for :attr:`missing` (same order)."""
        if self.keyed:
            self.vectors.update((chunk.meta[EMBEDDING_KEY], chunk.embedding) for chunk in embedded)
        else:
            self.chunks = embedded
        self.missing = []

    def embedded_chunks(self) -> list[Document]:
        """The chunks with their vectors (once nothing is :attr:`missing`)."""
        if not self.keyed:
            return self.chunks
        chunks = []
        for chunk in self.chunks:
            vector = self.vectors[chunk.meta[EMBEDDING_KEY]]
            chunks.append(replace(chunk, embedding=None if vector is None else list(vector)))
        return chunks


def embed_pool(embedder: Any, pool: list[ChunkBatch]) -> None:
    """Embed the missing chunks of every batch in ``pool`` with one embedder call.

    A failing call is retried batch by batch, so one batch the embedder refuses fails alone; a batch whose own
    call fails gets its ``error`` set.
    """
    waiting = [batch for batch in pool if batch.missing]
    if not waiting:
        return
    documents = [chunk for batch in waiting for chunk in batch.missing]
    try:
        embedded = list(embedder.run(documents=documents)["documents"])
    except Exception as exc:  # each batch then stays as it was in the store, and is reported
        if len(waiting) > 1:
            for batch in waiting:
                embed_pool(embedder, [batch])
            return
        waiting[0].cause = exc
        return
    start = 0
    for batch in waiting:
        size = len(batch.missing)
        batch.receive(embedded[start : start + size])
        start += size

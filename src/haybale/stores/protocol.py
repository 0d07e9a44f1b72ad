"""The document store protocol every store implements, and the duplicate policy for writes.

Stores are defined by protocol, not inheritance: any class with these methods is a document store. Search
capabilities are separate protocols so retrievers can check what a store offers.

**Corpus filters.** A store's ``bm25_search`` (and ``hybrid_search``) may take a keyword-only
``corpus_filters`` argument: the search then runs as if the store held only the documents matching it. BM25's
corpus statistics (the number of documents, their average length and each query term's document frequency)
are computed over those documents, and only they can be returned (``filters`` narrows the results further but
does not change the statistics). Every store shipped with haybale takes it; the tenant-scoped view passes the
tenant as ``corpus_filters`` so that one tenant's scores never depend on another tenant's documents. ``None``
(the default) means the whole store.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol, runtime_checkable

from haybale.dataclasses import Document

__all__ = ["BM25SearchStore", "DocumentStore", "DuplicatePolicy", "EmbeddingSearchStore", "HybridSearchStore"]


class DuplicatePolicy(str, Enum):
    """What ``write_documents`` does when a document id already exists.

    NONE behaves as FAIL (the safe default); SKIP keeps the stored document; OVERWRITE replaces it; FAIL
    raises :class:`haybale.errors.DuplicateDocumentError` and writes nothing of the batch.
    """

    NONE = "none"
    SKIP = "skip"
    OVERWRITE = "overwrite"
    FAIL = "fail"


@runtime_checkable
class DocumentStore(Protocol):
    """CRUD over documents, filtered with the one filter language of :mod:`haybale.filters`."""

    def count_documents(self, filters: dict[str, Any] | None = None) -> int:
        """Number of documents matching ``filters`` (all when None)."""
        ...

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Documents matching ``filters`` (all when None)."""
        ...

    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Write ``documents`` in one transaction; returns how many were written."""
        ...

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete documents by id; unknown ids are ignored."""
        ...

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """Delete every document matching ``filters``; returns how many were deleted."""
        ...

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Merge ``meta`` into the metadata of every matching document; returns how many were updated."""
        ...

    def replace_documents(self, filters: dict[str, Any], documents: list[Document]) -> tuple[int, int]:
        """Atomically delete what matches ``filters`` and write ``documents``; returns (deleted, written)."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """Serialize as ``{"type": ..., "init_parameters": {...}}``."""
        ...


@runtime_checkable
class BM25SearchStore(Protocol):
    """A store that ranks documents by BM25 keyword relevance."""

    def bm25_search(
        self, query: str, top_k: int = 10, filters: dict[str, Any] | None = None, scale_score: bool = False
    ) -> list[Document]:
        """Top ``top_k`` documents for ``query``, best first, with ``score`` set (stores may also take
        ``corpus_filters``, see the module docstring)."""
        ...


@runtime_checkable
class EmbeddingSearchStore(Protocol):
    """A store that ranks documents by embedding similarity."""

    def embedding_search(
        self,
        query_embedding: list[float],
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
    ) -> list[Document]:
        """Top ``top_k`` documents nearest to ``query_embedding``, best first, with ``score`` set."""
        ...


@runtime_checkable
class HybridSearchStore(Protocol):
    """A store that fuses keyword and embedding search natively (one round trip)."""

    def hybrid_search(  # noqa: PLR0917 - positional order shared by every store's hybrid_search
        self,
        query: str,
        query_embedding: list[float],
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        fusion: str = "reciprocal_rank_fusion",
        weights: list[float] | None = None,
    ) -> list[Document]:
        """Top ``top_k`` fused results, each with ``score_details`` explaining its score."""
        ...

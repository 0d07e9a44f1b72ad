"""EmbeddingRetriever: dense retrieval from any store that implements ``embedding_search``."""

from __future__ import annotations

from typing import Any

from haybale.components.retrievers._store_search import StoreSearchRetriever
from haybale.components.retrievers.filter_policy import FilterPolicy
from haybale.core.component import component
from haybale.dataclasses import Document

__all__ = ["EmbeddingRetriever"]


@component
class EmbeddingRetriever(StoreSearchRetriever):
    """Retrieve the documents whose embeddings are most similar to a query embedding.

    Works with every store implementing :class:`~haybale.stores.EmbeddingSearchStore` (in-memory, SQLite,
    pgvector): swapping the store never means swapping the retriever.

    Args:
        document_store: the store to search; it must offer ``embedding_search``.
        filters: filters applied to every query (see ``filter_policy``).
        top_k: how many documents to return.
        scale_score: map similarities into [0, 1] (cosine: (s + 1) / 2; monotonic, rankings unchanged).
        filter_policy: "replace" (run-time filters replace ``filters``) or "merge" (both apply).
    """

    _component_name = "EmbeddingRetriever"
    _search_method = "embedding_search"
    _query_argument = "query_embedding"

    def __init__(
        self,
        document_store: Any,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = False,
        filter_policy: FilterPolicy | str = FilterPolicy.REPLACE,
    ) -> None:
        self._set_up(document_store, filters, top_k, scale_score, filter_policy)

    @component.output_types(documents=list[Document])
    def run(
        self,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
    ) -> dict[str, Any]:
        """Return ``{"documents": [...]}``, best first, each with its similarity ``score``.

        Args:
            query_embedding: the query vector (same model and size as the documents' embeddings).
            filters: metadata filters for this run (combined with the init filters per ``filter_policy``).
            top_k: overrides the init ``top_k`` for this run.
            scale_score: overrides the init ``scale_score`` for this run.
        """
        return self._search(query_embedding, filters, top_k, scale_score)

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
    ) -> dict[str, Any]:
        """Async :meth:`run`: the store's ``embedding_search_async`` when it has one, else a worker thread."""
        return await self._search_async(query_embedding, filters, top_k, scale_score)

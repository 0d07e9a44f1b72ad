"""BM25Retriever: keyword retrieval from any store that implements ``bm25_search``."""

from __future__ import annotations

from typing import Any

from haybale.components.retrievers._store_search import StoreSearchRetriever
from haybale.components.retrievers.filter_policy import FilterPolicy
from haybale.core.component import component
from haybale.dataclasses import Document

__all__ = ["BM25Retriever"]


@component
class BM25Retriever(StoreSearchRetriever):
    """Retrieve the documents that best match a query by BM25 keyword relevance.

    Works with every store implementing :class:`~haybale.stores.BM25SearchStore` (in-memory, SQLite,
    pgvector): swapping the store never means swapping the retriever.

    Args:
        document_store: the store to search; it must offer ``bm25_search``.
        filters: filters applied to every query (see ``filter_policy``).
        top_k: how many documents to return.
        scale_score: map raw BM25 scores into (0, 1) (monotonic, rankings unchanged).
        filter_policy: "replace" (run-time filters replace ``filters``) or "merge" (both apply).
    """

    _component_name = "BM25Retriever"
    _search_method = "bm25_search"
    _query_argument = "query"

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
        query: str,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
    ) -> dict[str, Any]:
        """Return ``{"documents": [...]}``, best first, each with its BM25 ``score``.

        Args:
            query: the keyword query.
            filters: metadata filters for this run (combined with the init filters per ``filter_policy``).
            top_k: overrides the init ``top_k`` for this run.
            scale_score: overrides the init ``scale_score`` for this run.
        """
        return self._search(query, filters, top_k, scale_score)

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
    ) -> dict[str, Any]:
        """Async :meth:`run`: the store's ``bm25_search_async`` when it has one, else a worker thread."""
        return await self._search_async(query, filters, top_k, scale_score)

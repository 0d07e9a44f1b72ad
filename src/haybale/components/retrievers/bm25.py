"""BM25Retriever: keyword retrieval from any store that implements ``bm25_search``."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from haybale.components.retrievers.filter_policy import FilterPolicy, apply_filter_policy
from haybale.components.retrievers.store_capability import check_top_k, load_store, require_capability
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document

_NAME = "BM25Retriever"


@component
class BM25Retriever:
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

    def __init__(
        self,
        document_store: Any,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = False,
        filter_policy: FilterPolicy | str = FilterPolicy.REPLACE,
    ) -> None:
        require_capability(document_store, "bm25_search", _NAME)
        check_top_k(top_k, _NAME)
        self.document_store = document_store
        self.filters = filters
        self.top_k = top_k
        self.scale_score = scale_score
        self.filter_policy = FilterPolicy.parse(filter_policy, _NAME)

    def _arguments(
        self, query: str, filters: dict[str, Any] | None, top_k: int | None, scale_score: bool | None
    ) -> dict[str, Any]:
        check_top_k(top_k, _NAME, allow_none=True)
        return {
            "query": query,
            "filters": apply_filter_policy(self.filter_policy, self.filters, filters),
            "top_k": self.top_k if top_k is None else top_k,
            "scale_score": self.scale_score if scale_score is None else scale_score,
        }

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
        return {
            "documents": self.document_store.bm25_search(
                **self._arguments(query, filters, top_k, scale_score)
            )
        }

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
    ) -> dict[str, Any]:
        """Async :meth:`run`: the store's ``bm25_search_async`` when it has one, else a worker thread."""
        arguments = self._arguments(query, filters, top_k, scale_score)
        search_async = getattr(self.document_store, "bm25_search_async", None)
        if search_async is not None and inspect.iscoroutinefunction(search_async):
            return {"documents": await search_async(**arguments)}
        return {"documents": await asyncio.to_thread(self.document_store.bm25_search, **arguments)}

    def to_dict(self) -> dict[str, Any]:
        """Serialize, with the store nested as ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            document_store=self.document_store.to_dict(),
            filters=self.filters,
            top_k=self.top_k,
            scale_score=self.scale_score,
            filter_policy=self.filter_policy.value,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BM25Retriever:
        """Load from :meth:`to_dict` output; the store type must be allow-listed."""
        params = dict(data.get("init_parameters") or {})
        params["document_store"] = load_store(params, _NAME)
        return default_from_dict(cls, {**data, "init_parameters": params})

"""The shared body of the retrievers that hand one search method of a document store a query."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, ClassVar, TypeVar

from haybale.components.retrievers.filter_policy import FilterPolicy, apply_filter_policy
from haybale.components.retrievers.store_capability import load_store, require_capability
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError
from haybale.stores.scoring import check_top_k

__all__ = ["StoreSearchRetriever"]

R = TypeVar("R", bound="StoreSearchRetriever")


class StoreSearchRetriever:
    """Base of BM25Retriever and EmbeddingRetriever: init checks, per-run arguments, sync and async search
    against the store, and serialization with the store nested.

    A subclass names its component (``_component_name``), the store method it calls (``_search_method``,
    whose ``<name>_async`` twin is used by the async path when the store has one) and the keyword the query
    goes to (``_query_argument``).
    """

    _component_name: ClassVar[str]
    _search_method: ClassVar[str]
    _query_argument: ClassVar[str]

    document_store: Any
    filters: dict[str, Any] | None
    top_k: int
    scale_score: bool
    filter_policy: FilterPolicy

    def _set_up(
        self,
        document_store: Any,
        filters: dict[str, Any] | None,
        top_k: int,
        scale_score: bool,
        filter_policy: FilterPolicy | str,
    ) -> None:
        """Check the init arguments and keep them on the instance."""
        require_capability(document_store, self._search_method, self._component_name)
        check_top_k(top_k, self._component_name, error=ComponentError)
        self.document_store = document_store
        self.filters = filters
        self.top_k = top_k
        self.scale_score = scale_score
        self.filter_policy = FilterPolicy.parse(filter_policy, self._component_name)

    def _arguments(
        self, query: Any, filters: dict[str, Any] | None, top_k: int | None, scale_score: bool | None
    ) -> dict[str, Any]:
        check_top_k(top_k, self._component_name, allow_none=True, error=ComponentError)
        return {
            self._query_argument: query,
            "filters": apply_filter_policy(self.filter_policy, self.filters, filters),
            "top_k": self.top_k if top_k is None else top_k,
            "scale_score": self.scale_score if scale_score is None else scale_score,
        }

    def _search(
        self, query: Any, filters: dict[str, Any] | None, top_k: int | None, scale_score: bool | None
    ) -> dict[str, Any]:
        search = getattr(self.document_store, self._search_method)
        return {"documents": search(**self._arguments(query, filters, top_k, scale_score))}

    async def _search_async(
        self, query: Any, filters: dict[str, Any] | None, top_k: int | None, scale_score: bool | None
    ) -> dict[str, Any]:
        arguments = self._arguments(query, filters, top_k, scale_score)
        search_async = getattr(self.document_store, f"{self._search_method}_async", None)
        documents: list[Document]
        if search_async is not None and inspect.iscoroutinefunction(search_async):
            documents = await search_async(**arguments)
        else:
            search = getattr(self.document_store, self._search_method)
            documents = await asyncio.to_thread(search, **arguments)
        return {"documents": documents}

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
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """Load from :meth:`to_dict` output; the store type must be allow-listed."""
        params = dict(data.get("init_parameters") or {})
        params["document_store"] = load_store(params, cls._component_name)
        return default_from_dict(cls, {**data, "init_parameters": params})

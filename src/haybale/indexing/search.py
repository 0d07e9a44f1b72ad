"""Search an index built by :class:`~haybale.indexing.Indexer`: BM25, dense or hybrid (``haybale query``).

Hybrid search goes through :class:`~haybale.components.retrievers.HybridRetriever`, which uses the store's
native ``hybrid_search`` when it has one and otherwise fuses BM25 and dense rankings with reciprocal rank
fusion; every result then carries ``score_details``.
"""

from __future__ import annotations

from typing import Any, Literal

from haybale.dataclasses import Document
from haybale.errors import ComponentError, DocumentStoreUsageError
from haybale.stores.scoring import check_top_k

__all__ = ["SEARCH_MODES", "SearchMode", "search_store"]

SearchMode = Literal["bm25", "dense", "hybrid"]
SEARCH_MODES: tuple[str, ...] = ("bm25", "dense", "hybrid")


def _require(store: Any, method: str, mode: str) -> None:
    if not callable(getattr(store, method, None)):
        raise DocumentStoreUsageError(
            f"{type(store).__name__} has no {method}(), which --mode {mode} needs. Use a store that supports "
            "it (sqlite, memory, postgresql) or another mode."
        )


def search_store(
    store: Any,
    query: str,
    *,
    mode: str = "hybrid",
    top_k: int = 10,
    filters: dict[str, Any] | None = None,
    text_embedder: Any = None,
) -> list[Document]:
    """The ``top_k`` documents best matching ``query``, best first, with ``score`` set.

    Args:
        store: the document store.
        query: the query text.
        mode: "bm25" (keywords), "dense" (embedding similarity) or "hybrid" (both, fused).
        top_k: how many results.
        filters: a filter in haybale's filter language restricting the candidates.
        text_embedder: a text embedder (``run(text=...) -> {"embedding": ...}``); needed for dense and hybrid.

    Raises:
        ComponentError: unknown mode, empty query, bad top_k, or no embedder for dense/hybrid.
        FilterError: ``filters`` is malformed.
    """
    if mode not in SEARCH_MODES:
        raise ComponentError(f"Unknown search mode {mode!r}; choose one of {list(SEARCH_MODES)}.")
    if not isinstance(query, str) or not query.strip():
        raise ComponentError("The query is empty; pass the text to search for.")
    check_top_k(top_k, "search", error=ComponentError)
    if mode == "bm25":
        _require(store, "bm25_search", mode)
        return list(store.bm25_search(query, top_k=top_k, filters=filters))
    if text_embedder is None:
        raise ComponentError(f"--mode {mode} needs a text embedder to embed the query; none was given.")
    if mode == "dense":
        _require(store, "embedding_search", mode)
        embedding = text_embedder.run(text=query)["embedding"]
        return list(store.embedding_search(embedding, top_k=top_k, filters=filters))
    from haybale.components.retrievers.hybrid import HybridRetriever

    retriever = HybridRetriever(document_store=store, text_embedder=text_embedder, top_k=top_k)
    return list(retriever.run(query=query, filters=filters, top_k=top_k)["documents"])

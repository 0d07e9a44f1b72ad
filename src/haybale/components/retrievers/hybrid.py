"""HybridRetriever: keyword (BM25) and dense retrieval fused into one ranked list, in one component."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import replace
from typing import Any

from haybale.components.joiners.fusion import JOIN_MODES, fuse_documents, normalize_weights
from haybale.components.retrievers.filter_policy import FilterPolicy, apply_filter_policy
from haybale.components.retrievers.store_capability import load_store
from haybale.core.component import component
from haybale.core.serialization import default_to_dict, deserialize_object
from haybale.dataclasses import Document
from haybale.errors import ComponentError, DeserializationError
from haybale.stores.protocol import BM25SearchStore, EmbeddingSearchStore, HybridSearchStore
from haybale.stores.scoring import check_top_k

__all__ = ["HYBRID_JOIN_MODES", "WEIGHTED_SCORE", "HybridRetriever", "weighted_score_fusion"]

_WHERE = "HybridRetriever"
#: The fusion the store protocol's ``hybrid_search`` guarantees; other join modes fuse in Python.
_NATIVE_FUSION = "reciprocal_rank_fusion"
#: Absolute-scale fusion: keyword scores relative to the best keyword match, semantic scores as cosine
#: similarity, weighted and summed (see :func:`weighted_score_fusion`).
WEIGHTED_SCORE = "weighted_score"
HYBRID_JOIN_MODES = (*JOIN_MODES, WEIGHTED_SCORE)


def _cosines(query: list[float], vectors: list[Any]) -> list[float]:
    """Cosine similarity of ``query`` to each vector (0 for a zero vector)."""
    import numpy as np

    matrix = np.asarray(vectors, dtype=np.float32)
    q = np.asarray(query, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(q))
    dots = matrix @ q
    return [float(d / n) if n > 0 else 0.0 for d, n in zip(dots, norms, strict=True)]


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


def weighted_score_fusion(
    bm25: list[Document],
    dense: list[Document],
    query_embedding: list[float],
    weights: list[float],
    top_k: int,
) -> list[Document]:
    """Fuse keyword and dense results on one absolute scale, the same on every store.

    * keyword score: the document's BM25 score divided by the best BM25 score among the candidates (the best
      keyword match scores 1; a document only found by dense search scores 0);
    * semantic score: cosine similarity to the query, clipped to [0, 1] (computed from the stored embedding
      for documents only found by keyword search);
    * score = ``weights[0] * keyword + weights[1] * semantic``, weights normalised to sum to 1.

    Unlike rank fusion the score reflects how well the best result matches, so a threshold keeps its meaning
    across queries and stores. ``score_details`` lists both parts with their raw scores.
    """
    keyword_weight, semantic_weight = normalize_weights(weights, 2, _WHERE)
    best = max((d.score or 0.0 for d in bm25), default=0.0)
    entries: dict[str, dict[str, Any]] = {}
    first_seen: dict[str, Document] = {}
    for rank, doc in enumerate(bm25, start=1):
        first_seen.setdefault(doc.id, doc)
        normalized = (doc.score or 0.0) / best if best > 0 else 0.0
        entries.setdefault(doc.id, {})["bm25"] = {
            "rank": rank,
            "score": doc.score,
            "normalized": normalized,
            "weight": keyword_weight,
        }
    for rank, doc in enumerate(dense, start=1):
        first_seen.setdefault(doc.id, doc)
        entries.setdefault(doc.id, {})["embedding"] = {
            "rank": rank,
            "score": doc.score,
            "normalized": _unit(doc.score or 0.0),
            "weight": semantic_weight,
        }
    keyword_only = [
        doc_id
        for doc_id, inputs in entries.items()
        if "embedding" not in inputs and len(first_seen[doc_id].embedding or ()) == len(query_embedding)
    ]
    if keyword_only:
        similarities = _cosines(query_embedding, [first_seen[i].embedding for i in keyword_only])
        for doc_id, similarity in zip(keyword_only, similarities, strict=True):
            entries[doc_id]["embedding"] = {
                "score": similarity,
                "normalized": _unit(similarity),
                "weight": semantic_weight,
            }
    scored = []
    for doc_id, inputs in entries.items():
        score = sum(part["normalized"] * part["weight"] for part in inputs.values())
        scored.append((score, doc_id))
    scored.sort(key=lambda item: item[0], reverse=True)
    results = []
    for score, doc_id in scored[:top_k]:
        details = {"method": WEIGHTED_SCORE, "score": score, "inputs": entries[doc_id]}
        doc = first_seen[doc_id]
        results.append(replace(doc, meta=dict(doc.meta), score=score, score_details=details))
    return results


@component
class HybridRetriever:
    """Retrieve with BM25 and with embeddings, and fuse both rankings; results explain their scores.

    The query is embedded with ``text_embedder`` (any component whose ``run(text=...)`` returns
    ``{"embedding": [...]}``, e.g. ``SentenceTransformersTextEmbedder``). When the store implements
    ``hybrid_search`` (``HybridSearchStore``, e.g. ``PgvectorDocumentStore``), ``join_mode`` is
    ``reciprocal_rank_fusion`` and no per-side candidate counts are set, the store fuses natively in one round
    trip. Otherwise the retriever runs ``bm25_search`` and ``embedding_search`` and fuses them with the
    :class:`~haybale.components.joiners.DocumentJoiner` logic. Each result's ``score_details`` holds the
    method, the fused score, and per side (``bm25``, ``embedding``) its rank and raw score.

    Args:
        document_store: a store with ``bm25_search`` and ``embedding_search`` (and optionally
        ``hybrid_search``).
        text_embedder: the component that embeds the query (warmed up by :meth:`warm_up`).
        top_k: number of fused results.
        filters: filters applied to every query (combined with run-time filters per ``filter_policy``).
        join_mode: ``reciprocal_rank_fusion`` (default), ``distribution_based_rank_fusion``, ``merge``,
            ``concatenate``, or ``weighted_score`` (an absolute scale: BM25 relative to the best keyword
            match plus cosine similarity, weighted; see :func:`weighted_score_fusion`).
        weights: ``[bm25_weight, embedding_weight]``; None = equal.
        bm25_top_k: BM25 candidates fetched before fusion (default ``top_k``).
        embedding_top_k: dense candidates fetched before fusion (default ``top_k``).
        filter_policy: "replace" (run-time filters replace ``filters``, the default) or "merge" (both apply).
    """

    def __init__(
        self,
        document_store: Any,
        text_embedder: Any,
        *,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        join_mode: str = "reciprocal_rank_fusion",
        weights: list[float] | None = None,
        bm25_top_k: int | None = None,
        embedding_top_k: int | None = None,
        filter_policy: FilterPolicy | str = FilterPolicy.REPLACE,
    ) -> None:
        if not isinstance(document_store, HybridSearchStore) and not (
            isinstance(document_store, BM25SearchStore) and isinstance(document_store, EmbeddingSearchStore)
        ):
            raise ComponentError(
                f"{_WHERE}: {type(document_store).__name__} offers neither hybrid_search nor both "
                "bm25_search and embedding_search. Use InMemoryDocumentStore, SQLiteDocumentStore or "
                "PgvectorDocumentStore."
            )
        if not callable(getattr(text_embedder, "run", None)):
            raise ComponentError(
                f"{_WHERE}: text_embedder must be a text embedder component (with run(text=...)), got "
                f"{type(text_embedder).__name__}."
            )
        if join_mode not in HYBRID_JOIN_MODES:
            raise ComponentError(
                f"{_WHERE}: unknown join_mode {join_mode!r}. Valid modes: {', '.join(HYBRID_JOIN_MODES)}."
            )
        fuses_in_python = join_mode != _NATIVE_FUSION or bm25_top_k is not None or embedding_top_k is not None
        if fuses_in_python and not (
            isinstance(document_store, BM25SearchStore) and isinstance(document_store, EmbeddingSearchStore)
        ):
            raise ComponentError(
                f"{_WHERE}: join_mode={join_mode!r} with per-side candidate counts needs bm25_search and "
                f"embedding_search, which {type(document_store).__name__} lacks; its native hybrid_search "
                f"only does {_NATIVE_FUSION!r} without bm25_top_k / embedding_top_k."
            )
        if weights is not None:
            normalize_weights(weights, 2, _WHERE)
        check_top_k(top_k, _WHERE, error=ComponentError)
        check_top_k(bm25_top_k, _WHERE, name="bm25_top_k", allow_none=True, error=ComponentError)
        check_top_k(embedding_top_k, _WHERE, name="embedding_top_k", allow_none=True, error=ComponentError)
        self.document_store: Any = document_store
        self.text_embedder = text_embedder
        self.top_k = top_k
        self.filters = filters
        self.join_mode = join_mode
        self.weights = list(weights) if weights is not None else None
        self.bm25_top_k = bm25_top_k
        self.embedding_top_k = embedding_top_k
        self.filter_policy = FilterPolicy.parse(filter_policy, _WHERE)

    def warm_up(self) -> None:
        """Warm up the text embedder (loads its model)."""
        warm_up = getattr(self.text_embedder, "warm_up", None)
        if callable(warm_up):
            warm_up()

    def _use_native(self) -> bool:
        return (
            isinstance(self.document_store, HybridSearchStore)
            and self.join_mode == _NATIVE_FUSION
            and self.bm25_top_k is None
            and self.embedding_top_k is None
        )

    @staticmethod
    def _embedding_from(output: Any) -> list[float]:
        embedding = output.get("embedding") if isinstance(output, dict) else None
        if not isinstance(embedding, list) or not embedding:
            raise ComponentError(
                f"{_WHERE}: the text embedder returned no 'embedding' list (got {type(output).__name__}). "
                "Use a text embedder (run(text=...) -> {'embedding': [...]}), not a document embedder."
            )
        return embedding

    def _prepare(self, query: Any, top_k: int | None) -> int:
        if not isinstance(query, str) or not query.strip():
            raise ComponentError(f"{_WHERE}: the query is empty; pass the question text as 'query'.")
        top_k = self.top_k if top_k is None else top_k
        check_top_k(top_k, _WHERE, error=ComponentError)
        return top_k

    def search(
        self, query: str, query_embedding: list[float], top_k: int, filters: dict[str, Any] | None = None
    ) -> list[Document]:
        """Hybrid search with an already computed query embedding (what ``run`` does after embedding).

        Returns:
            Up to ``top_k`` documents, best first, with ``score`` and ``score_details``.
        """
        if self._use_native():
            return list(
                self.document_store.hybrid_search(
                    query,
                    query_embedding,
                    top_k=top_k,
                    filters=filters,
                    fusion=_NATIVE_FUSION,
                    weights=self.weights,
                )
            )
        bm25 = self.document_store.bm25_search(query, top_k=self.bm25_top_k or top_k, filters=filters)
        dense = self.document_store.embedding_search(
            query_embedding, top_k=self.embedding_top_k or top_k, filters=filters
        )
        if self.join_mode == WEIGHTED_SCORE:
            return weighted_score_fusion(bm25, dense, query_embedding, self.weights or [1.0, 1.0], top_k)
        return self._fuse(bm25, dense, top_k)

    def _fuse(self, bm25: list[Document], dense: list[Document], top_k: int) -> list[Document]:
        return fuse_documents(
            [bm25, dense],
            join_mode=self.join_mode,
            weights=self.weights,
            names=["bm25", "embedding"],
            top_k=top_k,
        )

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, Any]:
        """Retrieve the documents most relevant to ``query``.

        Args:
            query: the question.
            filters: filters for this run (combined with the init filters per ``filter_policy``).
            top_k: overrides the init value.

        Returns:
            ``{"documents": [...]}``, best first; an empty list for an empty store.

        Raises:
            ComponentError: an empty query, a bad top_k, or an embedder that returns no embedding.
        """
        top_k = self._prepare(query, top_k)
        embedding = self._embedding_from(self.text_embedder.run(text=query))
        return {
            "documents": self.search(
                query, embedding, top_k, apply_filter_policy(self.filter_policy, self.filters, filters)
            )
        }

    @component.output_types(documents=list[Document])
    async def run_async(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, Any]:
        """Async :meth:`run`: the embedder's ``run_async`` when it has one, store calls in a worker thread."""
        top_k = self._prepare(query, top_k)
        embed_async = getattr(self.text_embedder, "run_async", None)
        if embed_async is not None and inspect.iscoroutinefunction(embed_async):
            output = await embed_async(text=query)
        else:
            output = await asyncio.to_thread(self.text_embedder.run, text=query)
        embedding = self._embedding_from(output)
        chosen = apply_filter_policy(self.filter_policy, self.filters, filters)
        documents = await asyncio.to_thread(self.search, query, embedding, top_k, chosen)
        return {"documents": documents}

    def to_dict(self) -> dict[str, Any]:
        """Serialize, with the store and the embedder as nested ``{"type", "init_parameters"}`` objects."""
        return default_to_dict(
            self,
            document_store=self.document_store.to_dict(),
            text_embedder=self.text_embedder.to_dict(),
            top_k=self.top_k,
            filters=self.filters,
            join_mode=self.join_mode,
            weights=self.weights,
            bm25_top_k=self.bm25_top_k,
            embedding_top_k=self.embedding_top_k,
            filter_policy=self.filter_policy.value,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HybridRetriever:
        """Load from :meth:`to_dict` output; nested types load through the allow-list."""
        params = dict(data.get("init_parameters") or {})
        params["document_store"] = load_store(params, _WHERE)
        if not isinstance(params.get("text_embedder"), dict):
            raise DeserializationError(
                f"{_WHERE}: init_parameters.text_embedder must be a serialized component "
                f"({{'type': ..., 'init_parameters': ...}}), got {params.get('text_embedder')!r}."
            )
        params["text_embedder"] = deserialize_object(params["text_embedder"])
        return cls(**params)

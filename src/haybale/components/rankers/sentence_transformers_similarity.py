"""SentenceTransformersSimilarityRanker: re-rank documents with a cross-encoder."""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from typing import Any

from haybale.components.embedders.sentence_transformers_backend import load_cross_encoder
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError
from haybale.stores.scoring import check_top_k

__all__ = ["DEFAULT_MODEL", "SentenceTransformersSimilarityRanker"]

DEFAULT_MODEL = "cross-encoder/ms-marco-MiniLM-L-6-v2"
_NAME = "SentenceTransformersSimilarityRanker"


@component
class SentenceTransformersSimilarityRanker:
    """Score each (query, document) pair with a cross-encoder and return the documents best first.

    The model is loaded in :meth:`warm_up` (or on first run) with ``sentence_transformers.CrossEncoder``,
    offline: pass a local path or a model already in the Hugging Face cache (haybale never downloads models).

    Args:
        model: model name or local path of a cross-encoder.
        top_k: keep at most this many documents.
        device: torch device ("cpu", "cuda", ...); None picks automatically.
        query_prefix: text prepended to the query (some models expect an instruction).
        document_prefix: text prepended to each document.
        meta_fields_to_embed: metadata fields whose values are prepended to the document text, joined by
            ``embedding_separator``.
        embedding_separator: separator between those meta values and the content.
        scale_score: map raw logits through a sigmoid to [0, 1].
        score_threshold: drop documents scoring below this (after scaling).
        batch_size: pairs scored per forward pass.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        top_k: int = 10,
        device: str | None = None,
        query_prefix: str = "",
        document_prefix: str = "",
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        scale_score: bool = True,
        score_threshold: float | None = None,
        batch_size: int = 16,
    ) -> None:
        check_top_k(top_k, _NAME, error=ComponentError)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ComponentError(
                "SentenceTransformersSimilarityRanker: batch_size must be a positive integer, got "
                f"{batch_size!r}."
            )
        self.model = model
        self.top_k = top_k
        self.device = device
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator
        self.scale_score = scale_score
        self.score_threshold = score_threshold
        self.batch_size = batch_size
        self._cross_encoder: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the cross-encoder (idempotent, thread-safe)."""
        with self._lock:
            if self._cross_encoder is not None:
                return
            self._cross_encoder = load_cross_encoder(self.model, self.device)

    def _document_text(self, doc: Document) -> str:
        fields = [str(doc.meta[key]) for key in self.meta_fields_to_embed if doc.meta.get(key) is not None]
        return self.document_prefix + self.embedding_separator.join([*fields, doc.content or ""])

    @component.output_types(documents=list[Document])
    def run(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        scale_score: bool | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, Any]:
        """Re-rank ``documents`` for ``query``.

        Returns:
            ``{"documents": [...]}``: copies, best first, with ``score`` set to the cross-encoder score and
            ``score_details`` recording it and the previous score.

        Raises:
            ComponentError: an empty query or a bad top_k.
        """
        top_k = check_top_k(self.top_k if top_k is None else top_k, _NAME, error=ComponentError)
        if not isinstance(query, str) or not query.strip():
            raise ComponentError(
                "SentenceTransformersSimilarityRanker: the query is empty; pass the question text."
            )
        if not documents:
            return {"documents": []}
        scale = self.scale_score if scale_score is None else scale_score
        threshold = self.score_threshold if score_threshold is None else score_threshold
        self.warm_up()

        import torch

        pairs = [[self.query_prefix + query, self._document_text(doc)] for doc in documents]
        logits = self._cross_encoder.predict(
            pairs,
            batch_size=self.batch_size,
            activation_fn=torch.nn.Identity(),
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        scored = []
        for doc, logit in zip(documents, logits.reshape(len(documents), -1)[:, 0].tolist(), strict=True):
            score = 1.0 / (1.0 + math.exp(-logit)) if scale else float(logit)
            if threshold is not None and score < threshold:
                continue
            details: dict[str, Any] = {"method": "cross_encoder", "model": self.model, "score": score}
            details["previous_score"] = doc.score
            if doc.score_details:
                details["previous_details"] = doc.score_details
            scored.append(replace(doc, meta=dict(doc.meta), score=score, score_details=details))
        scored.sort(key=lambda d: d.score if d.score is not None else -math.inf, reverse=True)
        return {"documents": scored[:top_k]}

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component."""
        return default_to_dict(
            self,
            model=self.model,
            top_k=self.top_k,
            device=self.device,
            query_prefix=self.query_prefix,
            document_prefix=self.document_prefix,
            meta_fields_to_embed=self.meta_fields_to_embed,
            embedding_separator=self.embedding_separator,
            scale_score=self.scale_score,
            score_threshold=self.score_threshold,
            batch_size=self.batch_size,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SentenceTransformersSimilarityRanker:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

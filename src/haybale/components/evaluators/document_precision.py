"""DocumentPrecisionEvaluator: precision@k, how much of what was retrieved is relevant?"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from haybale.components.evaluators._document_matching import check_comparison_field, evaluate_rankings
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError

__all__ = ["DocumentPrecisionEvaluator"]

_NAME = "DocumentPrecisionEvaluator"


@component
class DocumentPrecisionEvaluator:
    """Precision@k of retrieved documents against ground-truth documents, per query and averaged.

    Per query: the number of the first ``top_k`` retrieved documents that match a ground-truth document,
    divided by ``top_k`` (a retriever that returns fewer than k documents is not rewarded for it); with
    ``top_k=None``, divided by the number retrieved. A document retrieved twice counts once. A query with
    nothing retrieved scores 0.0.

    Args:
        top_k: the k of precision@k; None: every retrieved document.
        document_comparison_field: what makes two documents the same: "content", "id" or "meta.<key>".

    Raises:
        ComponentError: a ``top_k`` that is not a positive integer, or an unknown comparison field.
    """

    def __init__(self, top_k: int | None = None, document_comparison_field: str = "content") -> None:
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ComponentError(f"{_NAME}: top_k must be a positive integer or None, got {top_k!r}.")
        check_comparison_field(_NAME, document_comparison_field)
        self.top_k = top_k
        self.document_comparison_field = document_comparison_field

    def _precision(
        self, query: int, truths: list[Document], truth_keys: list[Hashable], retrieved: list[Hashable | None]
    ) -> float:
        ranked = retrieved[: self.top_k] if self.top_k is not None else retrieved
        if not ranked:
            return 0.0
        wanted = set(truth_keys)
        hits = {key for key in ranked if key is not None and key in wanted}
        return len(hits) / (self.top_k if self.top_k is not None else len(ranked))

    @component.output_types(score=float, individual_scores=list[float])
    def run(
        self, ground_truth_documents: list[list[Document]], retrieved_documents: list[list[Document]]
    ) -> dict[str, Any]:
        """Score each query's retrieved documents.

        Args:
            ground_truth_documents: per query, the relevant documents.
            retrieved_documents: per query, the retrieved documents, best first.

        Returns:
            ``{"score": mean precision@k, "individual_scores": [per query]}``.

        Raises:
            ComponentError: empty or mismatched lists, wrong types, or a ground-truth document without the
                comparison field.
        """
        return evaluate_rankings(
            _NAME,
            self.document_comparison_field,
            ground_truth_documents,
            retrieved_documents,
            self._precision,
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self, top_k=self.top_k, document_comparison_field=self.document_comparison_field
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentPrecisionEvaluator:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

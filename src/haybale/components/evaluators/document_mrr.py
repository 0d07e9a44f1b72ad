"""DocumentMRREvaluator: how high does the first relevant document rank?"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from haybale.components.evaluators.document_matching import check_comparison_field, evaluate_rankings
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document

__all__ = ["DocumentMRREvaluator"]

_NAME = "DocumentMRREvaluator"


def _reciprocal_rank(
    query: int, truths: list[Document], truth_keys: list[Hashable], retrieved: list[Hashable | None]
) -> float:
    wanted = set(truth_keys)
    for rank, key in enumerate(retrieved, start=1):
        if key is not None and key in wanted:
            return 1.0 / rank
    return 0.0


@component
class DocumentMRREvaluator:
    """Mean reciprocal rank: per query ``1 / rank`` of the first retrieved ground-truth document, averaged.

    A query where no ground-truth document was retrieved (or with no ground truth) scores 0.0.

    Args:
        document_comparison_field: what makes two documents the same: "content", "id" or "meta.<key>".

    Raises:
        ComponentError: an unknown comparison field.
    """

    def __init__(self, document_comparison_field: str = "content") -> None:
        check_comparison_field(_NAME, document_comparison_field)
        self.document_comparison_field = document_comparison_field

    @component.output_types(score=float, individual_scores=list[float])
    def run(
        self, ground_truth_documents: list[list[Document]], retrieved_documents: list[list[Document]]
    ) -> dict[str, Any]:
        """Score each query's ranking.

        Args:
            ground_truth_documents: per query, the relevant documents.
            retrieved_documents: per query, the retrieved documents, best first.

        Returns:
            ``{"score": MRR, "individual_scores": [reciprocal rank per query]}``.

        Raises:
            ComponentError: empty or mismatched lists, wrong types, or a ground-truth document without the
                comparison field.
        """
        return evaluate_rankings(
            _NAME,
            self.document_comparison_field,
            ground_truth_documents,
            retrieved_documents,
            _reciprocal_rank,
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, document_comparison_field=self.document_comparison_field)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentMRREvaluator:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

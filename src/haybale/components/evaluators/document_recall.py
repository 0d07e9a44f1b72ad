"""DocumentRecallEvaluator: did retrieval find the ground-truth documents?"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from haybale.components.evaluators._document_matching import (
    check_comparison_field,
    evaluate_rankings,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError

__all__ = ["DocumentRecallEvaluator"]

_NAME = "DocumentRecallEvaluator"
_MODES = ("single_hit", "multi_hit")


@component
class DocumentRecallEvaluator:
    """Recall of retrieved documents against ground-truth documents, per query and averaged.

    Modes:

    - ``"single_hit"``: 1.0 when at least one ground-truth document was retrieved, else 0.0 (is there
      anything relevant in the context at all?).
    - ``"multi_hit"``: the fraction of the distinct ground-truth documents that were retrieved. Duplicates
      on either side count once, so the score never exceeds 1.0.

    A query with no ground-truth documents, or with nothing retrieved, scores 0.0.

    Args:
        mode: "single_hit" or "multi_hit".
        document_comparison_field: what makes two documents the same: "content", "id" or "meta.<key>".

    Raises:
        ComponentError: an unknown mode or comparison field.
    """

    def __init__(self, mode: str = "single_hit", document_comparison_field: str = "content") -> None:
        mode = getattr(mode, "value", mode)  # accept an enum whose value is the mode name
        if mode not in _MODES:
            raise ComponentError(f"{_NAME}: mode must be one of {list(_MODES)}, got {mode!r}.")
        check_comparison_field(_NAME, document_comparison_field)
        self.mode = mode
        self.document_comparison_field = document_comparison_field

    def _recall(
        self, query: int, truths: list[Document], truth_keys: list[Hashable], retrieved: list[Hashable | None]
    ) -> float:
        wanted = set(truth_keys)
        if not wanted:
            return 0.0
        found = wanted.intersection(key for key in retrieved if key is not None)
        if self.mode == "single_hit":
            return 1.0 if found else 0.0
        return len(found) / len(wanted)

    @component.output_types(score=float, individual_scores=list[float])
    def run(
        self, ground_truth_documents: list[list[Document]], retrieved_documents: list[list[Document]]
    ) -> dict[str, Any]:
        """Score each query's retrieved documents against its ground truth.

        Args:
            ground_truth_documents: per query, the documents that should be retrieved.
            retrieved_documents: per query, the documents that were retrieved.

        Returns:
            ``{"score": mean recall, "individual_scores": [recall per query]}``.

        Raises:
            ComponentError: empty or mismatched lists, wrong types, or a ground-truth document without the
                comparison field.
        """
        return evaluate_rankings(
            _NAME, self.document_comparison_field, ground_truth_documents, retrieved_documents, self._recall
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, mode=self.mode, document_comparison_field=self.document_comparison_field)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentRecallEvaluator:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

"""DocumentMRREvaluator: how high does the first relevant document rank?"""

from __future__ import annotations

from collections.abc import Hashable

from haybale.components.evaluators._document_matching import RankingEvaluator
from haybale.core.component import component
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
class DocumentMRREvaluator(RankingEvaluator):
    """Mean reciprocal rank: per query ``1 / rank`` of the first retrieved ground-truth document, averaged.

    A query where no ground-truth document was retrieved (or with no ground truth) scores 0.0.

    Args:
        document_comparison_field: what makes two documents the same: "content", "id" or "meta.<key>".

    Raises:
        ComponentError: an unknown comparison field.
    """

    _component_name = _NAME
    _metric = staticmethod(_reciprocal_rank)

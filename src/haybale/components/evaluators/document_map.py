"""DocumentMAPEvaluator: mean average precision of retrieved rankings."""

from __future__ import annotations

from collections.abc import Hashable

from haybale.components.evaluators._document_matching import RankingEvaluator
from haybale.core.component import component
from haybale.dataclasses import Document

__all__ = ["DocumentMAPEvaluator"]

_NAME = "DocumentMAPEvaluator"


def _average_precision(
    query: int, truths: list[Document], truth_keys: list[Hashable], retrieved: list[Hashable | None]
) -> float:
    wanted = set(truth_keys)
    if not wanted:
        return 0.0
    found: set[Hashable] = set()
    precision_sum = 0.0
    for rank, key in enumerate(retrieved, start=1):
        # A repeat of an already-found document is not a new hit: it cannot raise precision or recall.
        if key is not None and key in wanted and key not in found:
            found.add(key)
            precision_sum += len(found) / rank
    return precision_sum / len(wanted)


@component
class DocumentMAPEvaluator(RankingEvaluator):
    """Mean average precision: per query, precision at each rank holding a new ground-truth document,
    summed and divided by the number of distinct ground-truth documents; averaged over queries.

    This is the standard (TREC) definition: relevant documents that were never retrieved count as misses, and
    a document retrieved twice counts once. (Haystack divides by the number of relevant documents *retrieved*
    instead, which scores a ranking that finds 1 of 10 relevant documents at rank 1 as perfect.)

    Args:
        document_comparison_field: what makes two documents the same: "content", "id" or "meta.<key>".

    Raises:
        ComponentError: an unknown comparison field.
    """

    _component_name = _NAME
    _metric = staticmethod(_average_precision)

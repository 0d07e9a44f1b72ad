"""DocumentNDCGEvaluator: normalized discounted cumulative gain, with graded or binary relevance."""

from __future__ import annotations

import math
from collections.abc import Hashable

from haybale.components.evaluators._document_matching import RankingEvaluator
from haybale.core.component import component
from haybale.dataclasses import Document
from haybale.errors import ComponentError

__all__ = ["DocumentNDCGEvaluator"]

_NAME = "DocumentNDCGEvaluator"


def _relevances(query: int, truths: list[Document], keys: list[Hashable]) -> dict[Hashable, float]:
    """Map each ground-truth key to its relevance: the document's ``score`` if graded, else 1.0."""
    scored = [document.score is not None for document in truths]
    if any(scored) and not all(scored):
        raise ComponentError(
            f"{_NAME}: ground_truth_documents[{query}] mixes documents with and without a 'score'. Give "
            "every ground-truth document of a query a relevance score (graded nDCG) or none of them (binary)."
        )
    relevance: dict[Hashable, float] = {}
    for position, (document, key) in enumerate(zip(truths, keys, strict=True)):
        value = 1.0 if document.score is None else document.score
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ComponentError(
                f"{_NAME}: ground_truth_documents[{query}][{position}].score must be a relevance >= 0, got "
                f"{document.score!r}."
            )
        # The same document listed twice keeps its highest grade rather than counting twice.
        relevance[key] = max(relevance.get(key, 0.0), float(value))
    return relevance


def _ndcg(
    query: int, truths: list[Document], truth_keys: list[Hashable], retrieved: list[Hashable | None]
) -> float:
    relevance = _relevances(query, truths, truth_keys)
    ideal = sorted(relevance.values(), reverse=True)
    ideal_gain = sum(grade / math.log2(rank + 1) for rank, grade in enumerate(ideal, start=1))
    if ideal_gain == 0:
        return 0.0
    seen: set[Hashable] = set()
    gain = 0.0
    for rank, key in enumerate(retrieved, start=1):
        if key is None or key in seen or key not in relevance:
            continue
        seen.add(key)  # a repeat earns nothing: its relevance was already collected
        gain += relevance[key] / math.log2(rank + 1)
    return gain / ideal_gain


@component
class DocumentNDCGEvaluator(RankingEvaluator):
    """nDCG of each query's ranking against its ground truth, averaged over queries.

    Relevance is graded when the ground-truth documents carry a ``score`` (for example 3 = perfect, 1 =
    partial), else binary (1 for every ground-truth document). Gains are linear (``relevance / log2(rank +
    1)``, rank from 1) and normalised by the ideal ordering of *all* ground-truth documents, as in Haystack,
    so a ranking scores 1.0 only if it retrieves every relevant document in the best order. A repeated
    document earns nothing the second time; a query with no ground truth, or whose grades are all 0, scores
    0.0.

    Args:
        document_comparison_field: what makes two documents the same: "content", "id" or "meta.<key>".

    Raises:
        ComponentError: an unknown comparison field; from ``run``, also a negative grade or a query mixing
            graded and ungraded ground truth.
    """

    _component_name = _NAME
    _metric = staticmethod(_ndcg)

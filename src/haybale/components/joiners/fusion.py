"""Fusion of ranked document lists: the scoring logic shared by DocumentJoiner and HybridRetriever.

Every fused document is a copy (inputs are never mutated) whose ``score`` is the fused score and whose
``score_details`` explains it::

    {"method": "reciprocal_rank_fusion", "score": 0.83,
     "inputs": {"bm25": {"rank": 1, "score": 12.4, "weight": 0.5},
                "embedding": {"rank": 3, "score": 0.71, "weight": 0.5}}}

Ranks are 1-based positions in each input list; ``score`` inside an input is the raw score that input gave.
An input that did not return the document has no entry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from haybale.dataclasses import Document
from haybale.errors import ComponentError
from haybale.stores.scoring import check_top_k

__all__ = ["JOIN_MODES", "RRF_K", "fuse_documents", "normalize_weights", "validate_join_mode"]

JOIN_MODES = ("concatenate", "merge", "reciprocal_rank_fusion", "distribution_based_rank_fusion")

#: The RRF constant from Cormack et al. (2009); 60 is the value used by most engines.
RRF_K = 60


def validate_join_mode(join_mode: str, where: str) -> str:
    """Return ``join_mode`` when it is known; raise ComponentError listing the valid modes otherwise."""
    if join_mode not in JOIN_MODES:
        raise ComponentError(
            f"{where}: unknown join_mode {join_mode!r}. Valid modes: {', '.join(JOIN_MODES)}."
        )
    return join_mode


def normalize_weights(weights: Sequence[float] | None, count: int, where: str) -> list[float]:
    """Return ``count`` weights summing to 1 (equal weights when None); raise ComponentError when invalid."""
    if weights is None:
        return [1.0 / count] * count if count else []
    if len(weights) != count:
        raise ComponentError(
            f"{where}: got {len(weights)} weights for {count} input lists. Pass one weight per input list "
            "(in the order the inputs arrive), or weights=None for equal weights."
        )
    if any(not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0 or math.isnan(w) for w in weights):
        raise ComponentError(f"{where}: weights must be non-negative numbers, got {list(weights)}.")
    total = float(sum(weights))
    if total <= 0:
        raise ComponentError(f"{where}: weights must not all be zero, got {list(weights)}.")
    return [float(w) / total for w in weights]


def _input_entry(doc: Document, rank: int, weight: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"rank": rank, "score": doc.score, "weight": weight}
    if doc.score_details:
        entry["details"] = doc.score_details
    return entry


def _distribution_normalized(documents: Sequence[Document]) -> list[float]:
    """Scores mapped to [0, 1] over mean ± 3 standard deviations of the list (DBSF, Qdrant-style)."""
    scores = [d.score if d.score is not None else 0.0 for d in documents]
    if not scores:
        return []
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    low, high = mean - 3 * std, mean + 3 * std
    if high - low <= 0:
        # All scores equal: the list carries no preference among its documents.
        return [1.0] * len(scores)
    return [min(1.0, max(0.0, (s - low) / (high - low))) for s in scores]


def _contribution(join_mode: str, raw: float, weight: float, position: int, normalized: list[float]) -> float:
    """What one input list adds to a document's fused score."""
    if join_mode == "concatenate":
        return raw
    if join_mode == "merge":
        return weight * raw
    if join_mode == "reciprocal_rank_fusion":
        # Scaled by (RRF_K + 1): rank 1 in every list (weights sum to 1) gives exactly 1.0.
        return weight * (RRF_K + 1) / (RRF_K + position + 1)
    return weight * normalized[position]


def _accumulate(join_mode: str, current: float | None, contribution: float) -> float:
    """Concatenate keeps the best raw score; every other mode sums the contributions."""
    if current is None:
        return contribution
    return max(current, contribution) if join_mode == "concatenate" else current + contribution


def fuse_documents(
    document_lists: Sequence[Sequence[Document]],
    join_mode: str = "reciprocal_rank_fusion",
    *,
    weights: Sequence[float] | None = None,
    names: Sequence[str] | None = None,
    top_k: int | None = None,
    sort_by_score: bool = True,
) -> list[Document]:
    """Fuse ranked lists into one, de-duplicated by document id, each result explaining its score.

    Args:
        document_lists: ranked lists, best first.
        join_mode: ``concatenate`` (keep each document once, with its best score), ``merge`` (weighted sum of
            raw scores), ``reciprocal_rank_fusion`` (weighted sum of 1/(60 + rank), scaled so a document
            ranked first everywhere scores 1), ``distribution_based_rank_fusion`` (each list's scores
            normalised over its mean ± 3 std to [0, 1], then a weighted sum).
        weights: one per list; normalised to sum to 1. None means equal weights.
        names: the key of each list in ``score_details["inputs"]``; defaults to "0", "1", ...
        top_k: keep at most this many results.
        sort_by_score: sort by fused score, best first (ties keep first-seen order). When False, results keep
            the order in which documents first appear across the inputs.

    Returns:
        Copies of the input documents with ``score`` and ``score_details`` set.

    Raises:
        ComponentError: unknown join mode, bad weights, or a bad ``top_k``.
    """
    where = "DocumentJoiner"
    validate_join_mode(join_mode, where)
    check_top_k(top_k, where, allow_none=True, error=ComponentError)
    lists = [list(docs) for docs in document_lists]
    norm_weights = normalize_weights(weights, len(lists), where)
    keys = list(names) if names is not None else [str(i) for i in range(len(lists))]
    if len(set(keys)) != len(keys):
        keys = [f"{key}#{i}" for i, key in enumerate(keys)]

    first_seen: dict[str, Document] = {}
    inputs: dict[str, dict[str, dict[str, Any]]] = {}
    fused: dict[str, float] = {}
    best_raw: dict[str, Document] = {}
    for key, weight, docs in zip(keys, norm_weights, lists, strict=True):
        normalized = _distribution_normalized(docs) if join_mode == "distribution_based_rank_fusion" else []
        for position, doc in enumerate(docs):
            doc_inputs = inputs.setdefault(doc.id, {})
            if key in doc_inputs:
                continue  # a list that repeats a document counts its best (first) occurrence only
            first_seen.setdefault(doc.id, doc)
            doc_inputs[key] = _input_entry(doc, position + 1, weight)
            raw = doc.score if doc.score is not None else 0.0
            if join_mode == "concatenate":
                current = best_raw.get(doc.id)
                if current is None or (current.score if current.score is not None else -math.inf) < raw:
                    best_raw[doc.id] = doc
            contribution = _contribution(join_mode, raw, weight, position, normalized)
            fused[doc.id] = _accumulate(join_mode, fused.get(doc.id), contribution)

    order = list(first_seen)
    if sort_by_score:
        order.sort(key=lambda doc_id: fused[doc_id], reverse=True)
    if top_k is not None:
        order = order[:top_k]

    results = []
    for doc_id in order:
        source = best_raw.get(doc_id, first_seen[doc_id])
        details = {"method": join_mode, "score": fused[doc_id], "inputs": inputs[doc_id]}
        results.append(replace(source, meta=dict(source.meta), score=fused[doc_id], score_details=details))
    return results

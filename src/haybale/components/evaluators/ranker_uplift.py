"""RankerUpliftEvaluator: did the ranker move the relevant documents up, leave them, or push them down?"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

from haybale.components.evaluators._document_matching import check_comparison_field, comparison_key
from haybale.components.evaluators._parallel_inputs import (
    check_document_lists,
    check_parallel_lists,
    check_string_list,
    mean_score,
)
from haybale.components.evaluators._text_support import support, terms
from haybale.components.evaluators.document_ndcg import DocumentNDCGEvaluator
from haybale.components.evaluators.document_recall import DocumentRecallEvaluator
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError

__all__ = ["RankerUpliftEvaluator"]

_NAME = "RankerUpliftEvaluator"
#: nDCG values closer than this are the same ranking of the relevant documents
_SAME = 1e-12
_SHOWN_MOVES = 3


def _ranks(documents: list[Document], field: str) -> dict[Hashable, int]:
    """Match key -> 1-based rank of its first occurrence."""
    ranks: dict[Hashable, int] = {}
    for rank, document in enumerate(documents, start=1):
        key = comparison_key(document, field)
        if key is not None:
            ranks.setdefault(key, rank)
    return ranks


def _moves(truths: list[Document], before: list[Document], after: list[Document], field: str) -> str:
    """The relevant documents' rank changes, as "rank 1 -> 4, rank 3 -> dropped"."""
    old, new = _ranks(before, field), _ranks(after, field)
    moves = []
    for key in dict.fromkeys(comparison_key(d, field) for d in truths):
        if key in old:
            moves.append(f"rank {old[key]} -> {new.get(key, 'dropped')}")
    shown = ", ".join(moves[:_SHOWN_MOVES])
    return shown + (f" (+{len(moves) - _SHOWN_MOVES} more)" if len(moves) > _SHOWN_MOVES else "")


def _relevance(question_terms: list[str], documents: list[Document]) -> float:
    """How on-topic a ranked list is: the share of the question's content words each document contains,
    averaged with the weights nDCG gives ranks (1 / log2(rank + 1)), so order counts as well as membership
    (0.0 without documents)."""
    weights = [1.0 / math.log2(rank + 1) for rank in range(1, len(documents) + 1)]
    if not weights:
        return 0.0
    shares = (support(question_terms, set(terms(d.content or ""))) for d in documents)
    return sum(w * share for w, share in zip(weights, shares, strict=True)) / sum(weights)


@component
class RankerUpliftEvaluator:
    """Whether a ranker helped: the ranking of the known-relevant documents before it (what it was handed)
    against after it (what it returned).

    Per row:

    - ``uplifts``: +1 when the ranker moved the relevant documents up, 0 when it left them where they were,
      -1 when it moved them down or dropped them. "Up" is judged by the nDCG of the relevant documents
      (:class:`DocumentNDCGEvaluator`, graded when the ground truth carries scores), so with several
      relevant documents the gains and losses are weighed by rank.
    - ``recall_before`` / ``recall_after``: recall@``top_k`` (the share of the relevant documents in the
      first ``top_k``), and ``recall_preserved``: whether the ranker kept at least as many of them there.
    - ``context_relevance_deltas`` (with ``questions``): how much more on-topic the first ``top_k``
      documents are after the ranker than before (-1 to 1). Each document is scored by the share of the
      question's content words (stems) it contains, the lexical support the other deterministic rubrics
      use, and the scores are averaged with rank weights (1 / log2(rank + 1)), so moving the on-topic
      document up within the top k counts too. None for a row without a question.
    - ``individual_scores``: 0.0 when the ranker hurt (uplift -1, or recall@``top_k`` lost), 0.5 when it
      changed nothing for the relevant documents, 1.0 when it helped; NaN when none of the relevant
      documents reached the ranker (there was nothing it could move, so nothing to judge). ``score`` is the
      mean over the rows that could be judged.
    - ``reasons``: the verdict and the relevant documents' rank changes, e.g. "downranked: rank 1 -> 4".

    Args:
        top_k: the k of recall@k and of the context relevance (the documents a prompt would carry).
        document_comparison_field: what makes two documents the same: "content", "id" or "meta.<key>".

    Raises:
        ComponentError: a ``top_k`` that is not a positive integer, or an unknown comparison field.
    """

    def __init__(self, top_k: int = 3, document_comparison_field: str = "content") -> None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ComponentError(f"{_NAME}: top_k must be a positive integer, got {top_k!r}.")
        check_comparison_field(_NAME, document_comparison_field)
        self.top_k = top_k
        self.document_comparison_field = document_comparison_field

    def _check(
        self,
        ground_truth_documents: list[list[Document]],
        source_documents: list[list[Document]],
        ranked_documents: list[list[Document]],
        questions: list[str] | None,
    ) -> None:
        lists: dict[str, Any] = {
            "ground_truth_documents": ground_truth_documents,
            "source_documents": source_documents,
            "ranked_documents": ranked_documents,
        }
        if questions is not None:
            lists["questions"] = questions
        check_parallel_lists(_NAME, **lists)
        for name in ("ground_truth_documents", "source_documents", "ranked_documents"):
            check_document_lists(_NAME, name, lists[name])
        if questions is not None:
            check_string_list(_NAME, "questions", questions)

    @component.output_types(
        score=float,
        individual_scores=list[float],
        uplifts=list[int],
        recall_before=list[float],
        recall_after=list[float],
        recall_preserved=list[bool],
        context_relevance_deltas=list[float | None],
        reasons=list[str],
    )
    def run(
        self,
        ground_truth_documents: list[list[Document]],
        source_documents: list[list[Document]],
        ranked_documents: list[list[Document]],
        questions: list[str] | None = None,
    ) -> dict[str, Any]:
        """Compare each row's ranking before and after the ranker.

        Args:
            ground_truth_documents: per row, the relevant documents.
            source_documents: per row, the documents the ranker was handed, in the order it got them.
            ranked_documents: per row, the documents the ranker returned, best first.
            questions: per row, the question (enables ``context_relevance_deltas``).

        Returns:
            ``{"score", "individual_scores", "uplifts", "recall_before", "recall_after", "recall_preserved",
            "context_relevance_deltas", "reasons"}`` (see the class docstring).

        Raises:
            ComponentError: empty or mismatched lists, entries that are not documents or strings, or a
                ground-truth document without the comparison field.
        """
        self._check(ground_truth_documents, source_documents, ranked_documents, questions)
        field = self.document_comparison_field
        ndcg_before, ndcg_after, recall_before, recall_after = self._ranking_metrics(
            ground_truth_documents, source_documents, ranked_documents
        )
        wanted = [terms(q) for q in questions] if questions is not None else [[] for _ in source_documents]
        result: dict[str, Any] = {
            "individual_scores": [],
            "uplifts": [],
            "recall_before": recall_before,
            "recall_after": recall_after,
            "recall_preserved": [],
            "context_relevance_deltas": [],
            "reasons": [],
        }
        for row, (before, after) in enumerate(zip(ndcg_before, ndcg_after, strict=True)):
            uplift = 0 if abs(after - before) <= _SAME else (1 if after > before else -1)
            recall_k = (recall_before[row], recall_after[row])
            preserved = recall_k[1] >= recall_k[0]
            moves = _moves(ground_truth_documents[row], source_documents[row], ranked_documents[row], field)
            result["uplifts"].append(uplift)
            result["recall_preserved"].append(preserved)
            result["individual_scores"].append(self._row_score(before, after, uplift, preserved))
            result["reasons"].append(self._reason(before, after, uplift, recall_k, moves))
            result["context_relevance_deltas"].append(
                self._relevance_delta(wanted[row], source_documents[row], ranked_documents[row])
            )
        result["score"] = mean_score(result["individual_scores"])
        return result

    def _ranking_metrics(
        self, truths: list[list[Document]], before: list[list[Document]], after: list[list[Document]]
    ) -> tuple[list[float], list[float], list[float], list[float]]:
        """nDCG before and after, recall@k before and after, per row."""
        k, field = self.top_k, self.document_comparison_field
        ndcg = DocumentNDCGEvaluator(document_comparison_field=field)
        recall = DocumentRecallEvaluator(mode="multi_hit", document_comparison_field=field)
        try:
            return (
                ndcg.run(truths, before)["individual_scores"],
                ndcg.run(truths, after)["individual_scores"],
                recall.run(truths, [d[:k] for d in before])["individual_scores"],
                recall.run(truths, [d[:k] for d in after])["individual_scores"],
            )
        except ComponentError as error:  # a ground truth the ranking metrics refuse; say who was called
            raise ComponentError(f"{_NAME}: {error}") from error

    def _relevance_delta(
        self, question_terms: list[str], before: list[Document], after: list[Document]
    ) -> float | None:
        """How much more on-topic the first k documents are after the ranker (None without a question)."""
        if not question_terms:
            return None
        k = self.top_k
        return _relevance(question_terms, after[:k]) - _relevance(question_terms, before[:k])

    @staticmethod
    def _row_score(before: float, after: float, uplift: int, preserved: bool) -> float:
        if before == 0.0 and after == 0.0:
            return math.nan  # no relevant document reached the ranker: nothing it could have moved
        if uplift < 0 or not preserved:
            return 0.0
        return 0.5 if uplift == 0 else 1.0

    def _reason(
        self, before: float, after: float, uplift: int, recall_k: tuple[float, float], moves: str
    ) -> str:
        if before == 0.0 and after == 0.0:
            return "no relevant document among those the ranker was handed: nothing to move"
        verdict = {1: "moved the relevant documents up", 0: "left the relevant documents in place"}.get(
            uplift, "downranked the relevant documents"
        )
        reason = f"{verdict}: {moves}" if moves else verdict
        if recall_k[1] < recall_k[0]:
            reason += f"; recall@{self.top_k} fell from {recall_k[0]:.2f} to {recall_k[1]:.2f}"
        return reason

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        field = self.document_comparison_field
        return default_to_dict(self, top_k=self.top_k, document_comparison_field=field)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RankerUpliftEvaluator:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

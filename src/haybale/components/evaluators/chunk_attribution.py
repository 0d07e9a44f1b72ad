"""ChunkAttributionEvaluator: does each chunk the answer cites (or leans on) support the claim it backs?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._llm_row_scores import check_contexts
from haybale.components.evaluators._parallel_inputs import check_parallel_lists, check_string_list
from haybale.components.evaluators._text_support import citations, sentences, support, terms
from haybale.components.evaluators.groundedness import check_support_threshold, quote
from haybale.components.evaluators.rubric import (
    RUBRIC_OUTPUTS,
    RubricEvaluator,
    RubricScore,
    margin_confidence,
)
from haybale.core.component import component

__all__ = ["ChunkAttributionEvaluator", "attribute_claims"]

_NAME = "ChunkAttributionEvaluator"


def attribute_claims(
    answer: str, contexts: list[str], threshold: float
) -> tuple[list[tuple[str, int, float]], list[bool]]:
    """Pair each claim of ``answer`` with the chunks it cites (``[n]``, 1-based), or, when it cites none,
    with the chunk that supports it best.

    Returns:
        ``([(claim, chunk index, support)], attributed)``: one entry per claim-chunk pair, and per chunk
        whether it supports at least one claim (support >= ``threshold``).
    """
    chunk_terms = [set(terms(chunk)) for chunk in contexts]
    pairs: list[tuple[str, int, float]] = []
    for claim in sentences(answer):
        claim_terms = terms(claim)
        cited = [n - 1 for n in citations(claim) if 1 <= n <= len(contexts)]
        if not cited and chunk_terms:
            cited = [max(range(len(contexts)), key=lambda i: support(claim_terms, chunk_terms[i]))]
        pairs.extend((claim, index, support(claim_terms, chunk_terms[index])) for index in cited)
    attributed = [False] * len(contexts)
    for _, index, value in pairs:
        attributed[index] = attributed[index] or value >= threshold
    return pairs, attributed


@component
class ChunkAttributionEvaluator(RubricEvaluator):
    """The share of claim-to-chunk attributions that hold: for each claim of the answer, the chunks it cites
    as ``[n]`` (numbered as the prompt numbered them), or, when it cites none, the chunk that supports it
    best, must contain at least ``support_threshold`` of the claim's content words.

    Also returns ``attributions``: per row, per chunk, whether the chunk supports any claim (chunks the
    answer did not use are False; a retriever whose chunks are rarely attributed returns noise).

    Args:
        support_threshold: share of a claim's terms a chunk must contain to support it.
        chat_generator: the judge for unsure rows; None: deterministic only.
        escalation_threshold: rows with a deterministic confidence below this go to the judge (1.0: all).
        raise_on_failure: raise on an unusable judge reply (True) or keep the deterministic score.
    """

    _component_name = _NAME
    _judge_instructions = (
        "You check citations. The chunks are numbered from 1. For every claim in the answer, take the chunks "
        "it cites as [n] (or, if it cites none, the chunk it relies on) and decide whether they support the "
        "claim. score = supported claim-chunk pairs / all pairs (0 if the answer makes no claim). reason: "
        "one sentence naming a claim whose chunk does not support it, or 'all attributions hold'."
    )
    _judge_inputs = [("chunks", list[list[str]]), ("answer", list[str])]
    _judge_examples = [
        {
            "inputs": {
                "chunks": ["Barley is used to brew beer.", "Rye bread is dense."],
                "answer": "Barley is brewed into beer [2].",
            },
            "outputs": {"score": 0.0, "reason": "chunk 2 is about rye bread, not barley beer"},
        }
    ]

    def __init__(
        self,
        support_threshold: float = 0.6,
        chat_generator: Any = None,
        escalation_threshold: float = 0.5,
        raise_on_failure: bool = True,
    ) -> None:
        self.support_threshold = check_support_threshold(_NAME, support_threshold)
        self._init_rubric(chat_generator, escalation_threshold, raise_on_failure)

    def _settings(self) -> dict[str, Any]:
        return {"support_threshold": self.support_threshold}

    def _cheap(self, row: dict[str, Any]) -> RubricScore:
        if not row["chunks"]:
            return RubricScore(0.0, 1.0, "no chunks were retrieved")
        pairs, _ = attribute_claims(row["answer"], row["chunks"], self.support_threshold)
        if not pairs:
            return RubricScore(0.0, 1.0, "the answer makes no claim a chunk could support")
        held = [value >= self.support_threshold for _, _, value in pairs]
        score = sum(held) / len(pairs)
        confidence = min(margin_confidence(value, self.support_threshold) for _, _, value in pairs)
        broken = [(claim, index) for (claim, index, _), ok in zip(pairs, held, strict=True) if not ok]
        reason = (
            f"{len(broken)} of {len(pairs)} attributions fail: chunk [{broken[0][1] + 1}] does not support "
            f"{quote(broken[0][0])}"
            if broken
            else f"all {len(pairs)} attributions hold"
        )
        return RubricScore(score, confidence, reason)

    @component.output_types(attributions=list[list[bool]], **RUBRIC_OUTPUTS)
    def run(self, contexts: list[list[str]], predicted_answers: list[str]) -> dict[str, Any]:
        """Check the attributions of each answer.

        Args:
            contexts: per row, the chunk texts in the order the prompt numbered them.
            predicted_answers: per row, the answer.

        Returns:
            The rubric outputs plus ``attributions`` (per row, per chunk: supports a claim).

        Raises:
            ComponentError: empty, mismatched or mistyped inputs; an unusable judge reply when
                ``raise_on_failure``.
        """
        check_parallel_lists(_NAME, contexts=contexts, predicted_answers=predicted_answers)
        check_contexts(_NAME, contexts)
        check_string_list(_NAME, "predicted_answers", predicted_answers)
        rows = [{"chunks": c, "answer": a} for c, a in zip(contexts, predicted_answers, strict=True)]
        result = self._evaluate(rows)
        result["attributions"] = [
            attribute_claims(a, c, self.support_threshold)[1]
            for c, a in zip(contexts, predicted_answers, strict=True)
        ]
        return result

"""ChunkUtilizationEvaluator: how much of the retrieved context did the answer use?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._llm_row_scores import check_contexts
from haybale.components.evaluators._parallel_inputs import check_parallel_lists, check_string_list
from haybale.components.evaluators._text_support import terms
from haybale.components.evaluators.groundedness import check_support_threshold
from haybale.components.evaluators.rubric import (
    RUBRIC_OUTPUTS,
    RubricEvaluator,
    RubricScore,
    margin_confidence,
)
from haybale.core.component import component

__all__ = ["ChunkUtilizationEvaluator"]

_NAME = "ChunkUtilizationEvaluator"


@component
class ChunkUtilizationEvaluator(RubricEvaluator):
    """The share of the retrieved context's distinct content words (stems) that the answer uses.

    Low utilization sustained over a dataset says the retriever hands the generator far more than it needs:
    ``top_k`` too high, or a ranker that lets noise through. Also returns ``chunk_utilization``: per row, the
    same share for each chunk. Word overlap misses paraphrase, so low scores are the unsure ones; the judge
    (if configured) looks at rows near ``pass_mark``.

    Args:
        pass_mark: the utilization below which the context counts as mostly unused (for the confidence).
        chat_generator: the judge for unsure rows; None: deterministic only.
        escalation_threshold: rows with a deterministic confidence below this go to the judge (1.0: all).
        raise_on_failure: raise on an unusable judge reply (True) or keep the deterministic score.
    """

    _component_name = _NAME
    _judge_instructions = (
        "You estimate how much of the retrieved chunks an answer actually uses. score = the fraction of the "
        "chunks' information that appears in the answer (0 when none, 1 when all). reason: one sentence "
        "naming the chunks that went unused."
    )
    _judge_inputs = [("chunks", list[list[str]]), ("answer", list[str])]
    _judge_examples = [
        {
            "inputs": {
                "chunks": ["Wheat is a grass.", "Spelt is an old wheat."],
                "answer": "Wheat is a grass.",
            },
            "outputs": {"score": 0.5, "reason": "the chunk about spelt is unused"},
        }
    ]

    def __init__(
        self,
        pass_mark: float = 0.3,
        chat_generator: Any = None,
        escalation_threshold: float = 0.5,
        raise_on_failure: bool = True,
    ) -> None:
        self.pass_mark = check_support_threshold(_NAME, pass_mark)
        self._init_rubric(chat_generator, escalation_threshold, raise_on_failure)

    def _settings(self) -> dict[str, Any]:
        return {"pass_mark": self.pass_mark}

    @staticmethod
    def _shares(chunks: list[str], answer: str) -> tuple[float, list[float]]:
        used = set(terms(answer))
        chunk_terms = [set(terms(chunk)) for chunk in chunks]
        every = set().union(*chunk_terms) if chunk_terms else set()
        per_chunk = [len(t & used) / len(t) if t else 0.0 for t in chunk_terms]
        return (len(every & used) / len(every) if every else 0.0), per_chunk

    def _cheap(self, row: dict[str, Any]) -> RubricScore:
        if not row["chunks"]:
            return RubricScore(0.0, 1.0, "no chunks were retrieved")
        score, per_chunk = self._shares(row["chunks"], row["answer"])
        unused = [str(i + 1) for i, share in enumerate(per_chunk) if share == 0.0]
        reason = f"uses {score:.0%} of the context's terms"
        if unused:
            reason += f"; chunks [{', '.join(unused)}] unused"
        return RubricScore(score, margin_confidence(score, self.pass_mark), reason)

    @component.output_types(chunk_utilization=list[list[float]], **RUBRIC_OUTPUTS)
    def run(self, contexts: list[list[str]], predicted_answers: list[str]) -> dict[str, Any]:
        """Measure how much of each row's context its answer uses.

        Args:
            contexts: per row, the chunk texts.
            predicted_answers: per row, the answer.

        Returns:
            The rubric outputs plus ``chunk_utilization`` (per row, per chunk share).

        Raises:
            ComponentError: empty, mismatched or mistyped inputs; an unusable judge reply when
                ``raise_on_failure``.
        """
        check_parallel_lists(_NAME, contexts=contexts, predicted_answers=predicted_answers)
        check_contexts(_NAME, contexts)
        check_string_list(_NAME, "predicted_answers", predicted_answers)
        rows = [{"chunks": c, "answer": a} for c, a in zip(contexts, predicted_answers, strict=True)]
        result = self._evaluate(rows)
        result["chunk_utilization"] = [
            self._shares(c, a)[1] for c, a in zip(contexts, predicted_answers, strict=True)
        ]
        return result

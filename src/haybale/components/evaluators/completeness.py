"""CompletenessEvaluator: does the answer cover everything the expected answer (or the question) asks for?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._parallel_inputs import question_answer_rows
from haybale.components.evaluators._text_support import terms
from haybale.components.evaluators.rubric import (
    RUBRIC_OUTPUTS,
    RubricEvaluator,
    RubricScore,
    margin_confidence,
)
from haybale.core.component import component

__all__ = ["CompletenessEvaluator"]

_NAME = "CompletenessEvaluator"
_SHOWN_TERMS = 6
#: covering the question's words says little about covering its answer: always worth a judge's look
_QUESTION_ONLY_CONFIDENCE = 0.3


@component
class CompletenessEvaluator(RubricEvaluator):
    """How much of what should be said the answer says.

    With a ground-truth answer for the row, the deterministic score is the share of its content words
    (stems) that the predicted answer contains: "Paris, on the Seine" against "Paris" scores 0.5. Without
    one, it is the share of the question's content words the answer addresses, a weak signal whose
    confidence is kept low, so a configured judge decides those rows.

    Args:
        chat_generator: the judge for unsure rows; None: deterministic only.
        escalation_threshold: rows with a deterministic confidence below this go to the judge (1.0: all).
        raise_on_failure: raise on an unusable judge reply (True) or keep the deterministic score.
    """

    _component_name = _NAME
    _judge_instructions = (
        "You check whether an answer is complete. score 1 when it covers every part of the question (and "
        "everything in the expected answer, when one is given), 0 when it covers none, in between for "
        "partial coverage. reason: one sentence naming what is missing, or 'complete'."
    )
    _judge_inputs = [("question", list[str]), ("expected_answer", list[str]), ("answer", list[str])]
    _judge_examples = [
        {
            "inputs": {
                "question": "Which two rivers meet in Koblenz?",
                "expected_answer": "The Rhine and the Moselle.",
                "answer": "The Rhine.",
            },
            "outputs": {"score": 0.5, "reason": "the Moselle is missing"},
        }
    ]

    def __init__(
        self, chat_generator: Any = None, escalation_threshold: float = 0.5, raise_on_failure: bool = True
    ) -> None:
        self._init_rubric(chat_generator, escalation_threshold, raise_on_failure)

    def _cheap(self, row: dict[str, Any]) -> RubricScore:
        answer = set(terms(row["answer"]))
        if not answer:
            return RubricScore(0.0, 1.0, "the answer states nothing")
        expected = list(dict.fromkeys(terms(row["expected_answer"])))
        reference, label = (
            (expected, "expected answer")
            if expected
            else (
                list(dict.fromkeys(terms(row["question"]))),
                "question",
            )
        )
        if not reference:
            return RubricScore(1.0, 0.0, "nothing to compare with: no expected answer, no question terms")
        missing = [term for term in reference if term not in answer]
        score = 1.0 - len(missing) / len(reference)
        confidence = margin_confidence(score)
        if not expected:
            confidence = min(confidence, _QUESTION_ONLY_CONFIDENCE)
        reason = (
            f"misses {len(missing)} of {len(reference)} {label} terms: {', '.join(missing[:_SHOWN_TERMS])}"
            if missing
            else f"covers every {label} term"
        )
        return RubricScore(score, confidence, reason)

    @component.output_types(**RUBRIC_OUTPUTS)
    def run(
        self,
        questions: list[str],
        predicted_answers: list[str],
        ground_truth_answers: list[str] | None = None,
    ) -> dict[str, Any]:
        """Score the completeness of each answer.

        Args:
            questions: per row, the question.
            predicted_answers: per row, the answer.
            ground_truth_answers: per row, the expected answer ("" where there is none).

        Returns:
            ``{"score", "individual_scores", "confidences", "escalated", "reasons", "meta"}``.

        Raises:
            ComponentError: empty, mismatched or mistyped inputs; an unusable judge reply when
                ``raise_on_failure``.
        """
        rows = question_answer_rows(_NAME, questions, predicted_answers, ground_truth_answers)
        return self._evaluate(rows)

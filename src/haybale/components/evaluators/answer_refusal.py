"""AnswerRefusalEvaluator: did the model answer, or refuse ("I don't know", "the sources do not say")?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._parallel_inputs import check_parallel_lists, check_string_list
from haybale.components.evaluators._refusal_detection import detect_refusal
from haybale.components.evaluators._text_support import prompt_text
from haybale.components.evaluators.groundedness import quote
from haybale.components.evaluators.rubric import RUBRIC_OUTPUTS, RubricEvaluator, RubricScore
from haybale.core.component import component

__all__ = ["AnswerRefusalEvaluator"]

_NAME = "AnswerRefusalEvaluator"
#: a refusal next to a prompt that may hold the answer might be over-cautious: the judge should decide
_REFUSAL_WITH_PROMPT_CONFIDENCE = 0.45


@component
class AnswerRefusalEvaluator(RubricEvaluator):
    """1.0 for an answer, 0.0 for a refusal or an empty reply, scored against the rendered prompt.

    The deterministic check recognises refusal phrasing (:mod:`..refusal_detection`). A refusal is only
    sometimes wrong: over-cautious when the prompt held the evidence, right when it did not. So when
    ``prompts`` are given, refused rows are unsure and go to the judge (if configured), which scores 1.0 for
    an answer or a justified refusal and 0.0 for a refusal the prompt's evidence did not warrant.

    Args:
        chat_generator: the judge for unsure rows; None: deterministic only.
        escalation_threshold: rows with a deterministic confidence below this go to the judge (1.0: all).
        raise_on_failure: raise on an unusable judge reply (True) or keep the deterministic score.
    """

    _component_name = _NAME
    _judge_instructions = (
        "You check whether a model answered or refused. score 1 if the answer answers the question in the "
        "prompt (even partly), or if it declines and the prompt really lacks the information. score 0 if it "
        "declines, says it does not know, or deflects although the prompt contains what is needed. reason: "
        "one sentence."
    )
    _judge_inputs = [("prompt", list[str]), ("answer", list[str])]
    _judge_examples = [
        {
            "inputs": {
                "prompt": "Source: The mill opened in 1802.\nQuestion: when did the mill open?",
                "answer": "I don't know.",
            },
            "outputs": {"score": 0.0, "reason": "the prompt says 1802, yet the model refused"},
        }
    ]

    def __init__(
        self, chat_generator: Any = None, escalation_threshold: float = 0.5, raise_on_failure: bool = True
    ) -> None:
        self._init_rubric(chat_generator, escalation_threshold, raise_on_failure)

    def _cheap(self, row: dict[str, Any]) -> RubricScore:
        finding = detect_refusal(row["answer"])
        if not finding.refused:
            return RubricScore(1.0, finding.confidence, "answered")
        if not finding.phrase:
            return RubricScore(0.0, 1.0, "empty answer")
        confidence = finding.confidence
        if row["prompt"]:
            confidence = min(confidence, _REFUSAL_WITH_PROMPT_CONFIDENCE)
        return RubricScore(0.0, confidence, f"refused: {quote(finding.phrase)}")

    @component.output_types(refusals=list[bool], **RUBRIC_OUTPUTS)
    def run(self, predicted_answers: list[str], prompts: list[Any] | None = None) -> dict[str, Any]:
        """Classify each answer.

        Args:
            predicted_answers: per row, the model's answer.
            prompts: per row, the rendered prompt the model saw (lets the judge tell over-cautious refusals
                from justified ones).

        Returns:
            The rubric outputs (see :mod:`haybale.components.evaluators.rubric`) plus ``refusals``: per row,
            whether the deterministic check saw a refusal.

        Raises:
            ComponentError: empty, mismatched or mistyped inputs; an unusable judge reply when
                ``raise_on_failure``.
        """
        if prompts is None:
            check_parallel_lists(_NAME, predicted_answers=predicted_answers)
            prompts = [None] * len(predicted_answers)
        else:
            check_parallel_lists(_NAME, predicted_answers=predicted_answers, prompts=prompts)
        check_string_list(_NAME, "predicted_answers", predicted_answers)
        rows = [
            {"prompt": prompt_text(p), "answer": a} for p, a in zip(prompts, predicted_answers, strict=True)
        ]
        result = self._evaluate(rows)
        result["refusals"] = [detect_refusal(a).refused for a in predicted_answers]
        return result

"""ContextAdherenceEvaluator: does the answer stay with the prompt's context, or drift into model priors?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._parallel_inputs import check_parallel_lists, check_string_list
from haybale.components.evaluators._text_support import prompt_text, terms
from haybale.components.evaluators.groundedness import check_support_threshold
from haybale.components.evaluators.rubric import (
    RUBRIC_OUTPUTS,
    RubricEvaluator,
    RubricScore,
    margin_confidence,
)
from haybale.core.component import component

__all__ = ["ContextAdherenceEvaluator"]

_NAME = "ContextAdherenceEvaluator"
_SHOWN_TERMS = 6


@component
class ContextAdherenceEvaluator(RubricEvaluator):
    """The share of the answer's wording that comes from the rendered prompt (its sources and question):
    1.0 when every content word of the answer is in the prompt, lower as the model brings in words (facts,
    names, numbers) the prompt never gave it.

    Where :class:`GroundednessEvaluator` asks whether each claim is supported, adherence measures drift word
    by word, so one invented number in a long answer lowers it only a little. The confidence of the
    deterministic check is lowest near ``pass_mark``; the judge (if configured) decides those rows.

    Args:
        pass_mark: the adherence below which a row counts as drifting (for the confidence).
        chat_generator: the judge for unsure rows; None: deterministic only.
        escalation_threshold: rows with a deterministic confidence below this go to the judge (1.0: all).
        raise_on_failure: raise on an unusable judge reply (True) or keep the deterministic score.
    """

    _component_name = _NAME
    _judge_instructions = (
        "You check whether an answer sticks to the context in the prompt. score 1 when everything in the "
        "answer comes from the prompt, 0 when the answer ignores the prompt and relies on outside knowledge, "
        "in between for partial drift. reason: one sentence naming what came from outside the prompt, or "
        "'stays with the context'."
    )
    _judge_inputs = [("prompt", list[str]), ("answer", list[str])]
    _judge_examples = [
        {
            "inputs": {
                "prompt": "Source: Oats grow in cool climates.\nQuestion: where do oats grow?",
                "answer": "Oats are native to Mars and taste of chocolate.",
            },
            "outputs": {"score": 0.0, "reason": "Mars and chocolate come from outside the prompt"},
        }
    ]

    def __init__(
        self,
        pass_mark: float = 0.7,
        chat_generator: Any = None,
        escalation_threshold: float = 0.5,
        raise_on_failure: bool = True,
    ) -> None:
        self.pass_mark = check_support_threshold(_NAME, pass_mark)
        self._init_rubric(chat_generator, escalation_threshold, raise_on_failure)

    def _settings(self) -> dict[str, Any]:
        return {"pass_mark": self.pass_mark}

    def _cheap(self, row: dict[str, Any]) -> RubricScore:
        answer_terms = list(dict.fromkeys(terms(row["answer"])))
        if not answer_terms:
            return RubricScore(0.0, 1.0, "the answer states nothing")
        source = set(terms(row["prompt"]))
        outside = [term for term in answer_terms if term not in source]
        score = 1.0 - len(outside) / len(answer_terms)
        reason = (
            f"{len(outside)} of {len(answer_terms)} answer terms are not in the prompt: "
            f"{', '.join(outside[:_SHOWN_TERMS])}"
            if outside
            else "every answer term is in the prompt"
        )
        return RubricScore(score, margin_confidence(score, self.pass_mark), reason)

    @component.output_types(**RUBRIC_OUTPUTS)
    def run(self, prompts: list[Any], predicted_answers: list[str]) -> dict[str, Any]:
        """Score how closely each answer keeps to its rendered prompt.

        Args:
            prompts: per row, the rendered prompt (a string, or the chat messages sent to the model).
            predicted_answers: per row, the model's answer.

        Returns:
            ``{"score", "individual_scores", "confidences", "escalated", "reasons", "meta"}``.

        Raises:
            ComponentError: empty, mismatched or mistyped inputs; an unusable judge reply when
                ``raise_on_failure``.
        """
        check_parallel_lists(_NAME, prompts=prompts, predicted_answers=predicted_answers)
        check_string_list(_NAME, "predicted_answers", predicted_answers)
        rows = [
            {"prompt": prompt_text(p), "answer": a} for p, a in zip(prompts, predicted_answers, strict=True)
        ]
        return self._evaluate(rows)

"""FactualAccuracyEvaluator: are the answer's claims about the world true, whatever was retrieved?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._checkable_facts import NAME, NUMBER, Fact, facts, mentions, numbers
from haybale.components.evaluators._parallel_inputs import question_answer_rows
from haybale.components.evaluators._text_support import terms
from haybale.components.evaluators.rubric import (
    RUBRIC_OUTPUTS,
    RubricEvaluator,
    RubricScore,
    margin_confidence,
)
from haybale.core.component import component

__all__ = ["FactualAccuracyEvaluator"]

_NAME = "FactualAccuracyEvaluator"
_SHOWN = 4
#: agreeing on every fact the reference states; a negation ("was not built in 1889") could still hide there
_AGREEMENT_CONFIDENCE = 0.9
#: a number or a proper name where the reference has another one
_CONTRADICTION_CONFIDENCE = 0.9
#: the disagreeing "name" is only a capitalised word at the start of a sentence: maybe an ordinary word
_WEAK_CONTRADICTION_CONFIDENCE = 0.45
#: right on the reference's facts, but adding numbers or names the reference cannot confirm (padding)
_UNVERIFIED_CONFIDENCE = 0.3


def _listed(found: list[Fact]) -> str:
    shown = ", ".join(f.text for f in found[:_SHOWN])
    return shown + (f" (+{len(found) - _SHOWN} more)" if len(found) > _SHOWN else "")


class _Text:
    """A text's numbers and terms, for :func:`~..checkable_facts.mentions`."""

    def __init__(self, text: str) -> None:
        self.numbers = numbers(text)
        self.terms = set(terms(text))

    def states(self, fact: Fact) -> bool:
        return mentions(fact, self.numbers, self.terms)


@component
class FactualAccuracyEvaluator(RubricEvaluator):
    """Whether what the answer claims is true, independent of the retrieved context: the rubric that catches
    a generator padding its answer with wrong facts from its own memory.

    Deterministic check, against the expected answer: the numbers and names (capitalised words) of each
    (:mod:`..checkable_facts`), leaving out those the question already mentions. A reference fact the
    answer states counts as correct. An answer fact the reference does not state contradicts it when the
    answer also leaves out a reference fact of the same kind ("1901" where the reference says "1889";
    "the Danube" where it says "the Moselle"). The row score is correct / (correct + contradicting): 0.0
    for an answer that gets the reference's facts wrong, 1.0 for one that agrees. Answer facts the
    reference says nothing about cannot be checked without a model: they lower the confidence, not the
    score, and so do answers whose only disagreeing name is a capitalised word starting a sentence.

    Without an expected answer (or without any number or name to compare) nothing can be checked
    deterministically: the row scores 1.0 (nothing contradicts it) with confidence 0, so a configured judge
    decides it from its own knowledge. An empty answer scores 0.0.

    Args:
        chat_generator: the judge for unsure rows; None: deterministic only.
        escalation_threshold: rows with a deterministic confidence below this go to the judge (1.0: all).
        raise_on_failure: raise on an unusable judge reply (True) or keep the deterministic score.
    """

    _component_name = _NAME
    _judge_instructions = (
        "You check the factual accuracy of an answer: whether its claims about the world are true, no "
        "matter where they came from. Use the expected answer as the truth when one is given, and your own "
        "knowledge for claims it does not cover. score = true claims / all claims (1 when every claim is "
        "true, 0 when the claims that matter are false). reason: one sentence naming a false claim, or "
        "'accurate'."
    )
    _judge_inputs = [("question", list[str]), ("expected_answer", list[str]), ("answer", list[str])]
    _judge_examples = [
        {
            "inputs": {
                "question": "When was the Eiffel Tower completed?",
                "expected_answer": "In 1889.",
                "answer": "It was completed in 1889 and is 330 metres tall. Napoleon opened it.",
            },
            "outputs": {"score": 0.67, "reason": "Napoleon did not open the Eiffel Tower"},
        }
    ]

    def __init__(
        self, chat_generator: Any = None, escalation_threshold: float = 0.5, raise_on_failure: bool = True
    ) -> None:
        self._init_rubric(chat_generator, escalation_threshold, raise_on_failure)

    def _cheap(self, row: dict[str, Any]) -> RubricScore:
        answer = _Text(row["answer"])
        if not answer.terms and not answer.numbers:
            return RubricScore(0.0, 1.0, "the answer states nothing")
        if not row["expected_answer"].strip():
            return RubricScore(1.0, 0.0, "no expected answer to check against: left to a judge")
        question, expected = _Text(row["question"]), _Text(row["expected_answer"])
        reference = [f for f in facts(row["expected_answer"]) if not question.states(f)]
        stated = [f for f in facts(row["answer"]) if not question.states(f)]
        correct = [f for f in reference if answer.states(f)]
        missing = [f for f in reference if not answer.states(f)]
        extra = [f for f in stated if not expected.states(f)]
        wrong: list[Fact] = []
        unverified: list[Fact] = []
        for kind in (NUMBER, NAME):
            of_kind = [f for f in extra if f.kind == kind]
            # another number (name) where the reference's number (name) is missing: a contradiction
            (wrong if any(f.kind == kind for f in missing) else unverified).extend(of_kind)
        if not correct and not wrong:
            return RubricScore(1.0, 0.0, _nothing_checked(reference, missing))
        score = len(correct) / (len(correct) + len(wrong))
        if wrong:
            proper = any(f.proper for f in wrong)
            confidence = _CONTRADICTION_CONFIDENCE if proper else _WEAK_CONTRADICTION_CONFIDENCE
            if correct:
                confidence = min(confidence, margin_confidence(score))
            wanted = [f for f in missing if f.kind in {w.kind for w in wrong}]
            reason = f"contradicts the expected answer: says {_listed(wrong)} where it says {_listed(wanted)}"
            return RubricScore(score, confidence, reason)
        reason = f"agrees with the expected answer on {_listed(correct)}"
        if unverified:
            reason += f"; adds {_listed(unverified)}, which the expected answer cannot confirm"
            return RubricScore(score, _UNVERIFIED_CONFIDENCE, reason)
        return RubricScore(score, _AGREEMENT_CONFIDENCE, reason)

    @component.output_types(**RUBRIC_OUTPUTS)
    def run(
        self,
        questions: list[str],
        predicted_answers: list[str],
        ground_truth_answers: list[str] | None = None,
    ) -> dict[str, Any]:
        """Score the factual accuracy of each answer.

        Args:
            questions: per row, the question (facts it mentions are not the answer's claims).
            predicted_answers: per row, the answer.
            ground_truth_answers: per row, the expected answer ("" where there is none: the judge decides).

        Returns:
            ``{"score", "individual_scores", "confidences", "escalated", "reasons", "meta"}``.

        Raises:
            ComponentError: empty, mismatched or mistyped inputs; an unusable judge reply when
                ``raise_on_failure``.
        """
        rows = question_answer_rows(_NAME, questions, predicted_answers, ground_truth_answers)
        return self._evaluate(rows)


def _nothing_checked(reference: list[Fact], missing: list[Fact]) -> str:
    if not reference:
        return "the expected answer holds no number or name to check against: left to a judge"
    return f"states none of the expected answer's facts ({_listed(missing)}) and contradicts none"

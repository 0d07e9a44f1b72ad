"""GroundednessEvaluator: is every claim of the answer supported by the prompt the model actually saw?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._parallel_inputs import check_parallel_lists, check_string_list
from haybale.components.evaluators._text_support import prompt_text, sentences, support, terms
from haybale.components.evaluators.rubric import (
    RUBRIC_OUTPUTS,
    RubricEvaluator,
    RubricScore,
    margin_confidence,
)
from haybale.core.component import component
from haybale.errors import ComponentError

__all__ = ["GroundednessEvaluator", "check_support_threshold", "quote"]

_NAME = "GroundednessEvaluator"


def quote(text: str, limit: int = 100) -> str:
    """``text`` in quotes, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return f'"{text if len(text) <= limit else text[: limit - 3] + "..."}"'


def check_support_threshold(name: str, value: Any) -> float:
    """Validate a support threshold (a number in (0, 1]).

    Raises:
        ComponentError: otherwise.
    """
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not 0.0 < value <= 1.0:
        raise ComponentError(
            f"{name}: support_threshold must be a number in (0, 1] (the share of a claim's words the source "
            f"must contain), got {value!r}."
        )
    return float(value)


@component
class GroundednessEvaluator(RubricEvaluator):
    """The share of the answer's claims that the rendered prompt supports, scored against what the model was
    actually given (after templating and any truncation), not against the retrieved documents.

    Deterministic check: the answer is split into sentences (claims); a claim is supported when at least
    ``support_threshold`` of its content words (stems, stop words removed) occur in the prompt. The row score
    is the supported fraction (0.0 for an answer that states nothing); the confidence is lowest for claims
    near the threshold, which the judge (if configured) then decides. See :mod:`..rubric` for the cascade.

    Args:
        support_threshold: share of a claim's terms the prompt must contain.
        chat_generator: the judge for unsure rows (any haybale chat generator); None: deterministic only.
        escalation_threshold: rows with a deterministic confidence below this go to the judge (1.0: all).
        raise_on_failure: raise on an unusable judge reply (True) or keep the deterministic score.
    """

    _component_name = _NAME
    _judge_instructions = (
        "You check whether an answer is grounded in the prompt the model was given. Split the answer into "
        "claims. A claim is supported when the prompt states or directly implies it. "
        "score = supported claims / all claims (0 when the answer makes no claim). "
        "reason: one sentence naming an unsupported claim, or 'all claims supported'."
    )
    _judge_inputs = [("prompt", list[str]), ("answer", list[str])]
    _judge_examples = [
        {
            "inputs": {
                "prompt": "Source: Hay is dried grass.\nQuestion: what is hay?",
                "answer": "Dried grass.",
            },
            "outputs": {"score": 1.0, "reason": "all claims supported"},
        },
        {
            "inputs": {
                "prompt": "Source: Hay is dried grass.\nQuestion: what is hay?",
                "answer": "Hay is dried grass. It was invented in 1850.",
            },
            "outputs": {"score": 0.5, "reason": "the prompt does not say hay was invented in 1850"},
        },
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

    def _cheap(self, row: dict[str, Any]) -> RubricScore:
        claims = sentences(row["answer"])
        if not claims:
            return RubricScore(0.0, 1.0, "the answer states nothing")
        source = set(terms(row["prompt"]))
        threshold = self.support_threshold
        supports = [support(terms(claim), source) for claim in claims]
        supported = [s >= threshold for s in supports]
        score = sum(supported) / len(claims)
        confidence = min(margin_confidence(s, threshold) for s in supports)
        unsupported = [claim for claim, ok in zip(claims, supported, strict=True) if not ok]
        reason = (
            f"{len(unsupported)} of {len(claims)} claims not in the prompt, e.g. {quote(unsupported[0])}"
            if unsupported
            else f"all {len(claims)} claims supported by the prompt"
        )
        return RubricScore(score, confidence, reason)

    @component.output_types(**RUBRIC_OUTPUTS)
    def run(self, prompts: list[Any], predicted_answers: list[str]) -> dict[str, Any]:
        """Score each answer against its rendered prompt.

        Args:
            prompts: per row, the rendered prompt (a string, or the chat messages sent to the model).
            predicted_answers: per row, the model's answer.

        Returns:
            ``{"score", "individual_scores", "confidences", "escalated", "reasons", "meta"}`` (see
            :mod:`haybale.components.evaluators.rubric`).

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

    def _settings(self) -> dict[str, Any]:
        return {"support_threshold": self.support_threshold}

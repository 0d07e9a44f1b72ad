"""FaithfulnessEvaluator: is each predicted answer supported by the context it was given?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._llm_json_protocol import InvalidReplyError
from haybale.components.evaluators._llm_row_scores import (
    LLMRowScoreEvaluator,
    check_contexts,
    require_string_list,
)
from haybale.components.evaluators._parallel_inputs import check_parallel_lists, check_string_list
from haybale.core.component import component

__all__ = ["FaithfulnessEvaluator"]

_NAME = "FaithfulnessEvaluator"

_INSTRUCTIONS = (
    "You check whether an answer is grounded in the context it was given. First split the predicted answer "
    "into short, self-contained factual statements. Then judge each statement: 1 if the context states or "
    "directly implies it, 0 if the context does not support it (even if it is true in general). Return the "
    "statements and, in the same order, their 0/1 scores."
)

DEFAULT_FAITHFULNESS_EXAMPLES: list[dict[str, Any]] = [
    {
        "inputs": {
            "questions": "When was the Eiffel Tower finished, and how tall is it?",
            "contexts": ["The Eiffel Tower in Paris was completed in 1889 for the World's Fair."],
            "predicted_answers": "The Eiffel Tower was finished in 1889. It is 330 metres tall.",
        },
        "outputs": {
            "statements": ["The Eiffel Tower was finished in 1889.", "The Eiffel Tower is 330 metres tall."],
            "statement_scores": [1, 0],
        },
    },
    {
        "inputs": {
            "questions": "What do koalas eat?",
            "contexts": ["Koalas feed almost exclusively on eucalyptus leaves.", "Koalas live in Australia."],
            "predicted_answers": "Koalas eat eucalyptus leaves.",
        },
        "outputs": {"statements": ["Koalas eat eucalyptus leaves."], "statement_scores": [1]},
    },
]


def _faithfulness_of(result: dict[str, Any]) -> float:
    statements = require_string_list(result, "statements")
    scores = result.get("statement_scores")
    valid = isinstance(scores, list) and all(
        not isinstance(score, bool) and isinstance(score, int | float) and score in (0, 1) for score in scores
    )
    if not valid or len(scores) != len(statements):  # type: ignore[arg-type]
        raise InvalidReplyError(
            f"'statement_scores' must be a list of 0/1, one per statement ({len(statements)}), got {scores!r}"
        )
    if not statements:
        return 0.0  # an answer that states nothing is not grounded in anything
    return sum(scores) / len(statements)  # type: ignore[arg-type]


@component
class FaithfulnessEvaluator(LLMRowScoreEvaluator):
    """How much of each predicted answer is supported by its context, judged by a chat model.

    For each row the model splits the answer into statements and marks each 1 (supported by the contexts) or
    0 (not supported); the row's score is the fraction of supported statements (0.0 when the answer states
    nothing). Built on :class:`LLMEvaluator`; see it for the failure policy.

    Args:
        chat_generator: the judging chat generator; None means OpenAI ``gpt-4o-mini`` in JSON mode.
        examples: worked examples replacing the built-in ones, each ``{"inputs": {"questions": str,
            "contexts": [str], "predicted_answers": str}, "outputs": {"statements": [str],
            "statement_scores": [0 or 1]}}``.
        raise_on_failure: raise on an unusable reply (True) or record it as a NaN score and a ``meta`` error.
    """

    _component_name = _NAME
    _row_score = staticmethod(_faithfulness_of)

    def __init__(
        self,
        chat_generator: Any = None,
        examples: list[dict[str, Any]] | None = None,
        raise_on_failure: bool = True,
    ) -> None:
        self._init_judge(
            instructions=_INSTRUCTIONS,
            inputs=[
                ("questions", list[str]),
                ("contexts", list[list[str]]),
                ("predicted_answers", list[str]),
            ],
            outputs=["statements", "statement_scores"],
            default_examples=DEFAULT_FAITHFULNESS_EXAMPLES,
            examples=examples,
            chat_generator=chat_generator,
            raise_on_failure=raise_on_failure,
        )

    def _check(self, questions: list[str], contexts: list[list[str]], predicted_answers: list[str]) -> None:
        check_parallel_lists(
            _NAME, questions=questions, contexts=contexts, predicted_answers=predicted_answers
        )
        check_string_list(_NAME, "questions", questions)
        check_contexts(_NAME, contexts)
        check_string_list(_NAME, "predicted_answers", predicted_answers)

    @component.output_types(
        score=float,
        individual_scores=list[float],
        results=list[dict[str, Any] | None],
        meta=list[dict[str, Any]],
    )
    def run(
        self, questions: list[str], contexts: list[list[str]], predicted_answers: list[str]
    ) -> dict[str, Any]:
        """Judge every answer.

        Args:
            questions: the question per row.
            contexts: the context passages per row.
            predicted_answers: the answer per row.

        Returns:
            ``{"score": mean faithfulness, "individual_scores": [per row; NaN if failed], "results": [parsed
            reply with "score", or None], "meta": [reply meta, with "error" for failed rows]}``.

        Raises:
            ComponentError: empty, mismatched or mistyped inputs; an unusable reply when raise_on_failure.
        """
        self._check(questions, contexts, predicted_answers)
        output = self._judge.run(questions=questions, contexts=contexts, predicted_answers=predicted_answers)
        return self._scores(output)

    async def run_async(
        self, questions: list[str], contexts: list[list[str]], predicted_answers: list[str]
    ) -> dict[str, Any]:
        """Async :meth:`run`: several rows are judged concurrently."""
        self._check(questions, contexts, predicted_answers)
        output = await self._judge.run_async(
            questions=questions, contexts=contexts, predicted_answers=predicted_answers
        )
        return self._scores(output)

"""ContextRelevanceEvaluator: does the retrieved context hold anything relevant to the question?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._llm_row_scores import (
    LLMRowScoreEvaluator,
    check_contexts,
    require_string_list,
)
from haybale.components.evaluators._parallel_inputs import check_parallel_lists, check_string_list
from haybale.core.component import component

__all__ = ["ContextRelevanceEvaluator"]

_NAME = "ContextRelevanceEvaluator"

_INSTRUCTIONS = (
    "You judge whether retrieved context is relevant to a question. Copy, word for word, every statement "
    "from the context that helps answer the question. If nothing in the context helps, return an empty list. "
    "Do not answer the question and do not add statements that are not in the context."
)

DEFAULT_CONTEXT_RELEVANCE_EXAMPLES: list[dict[str, Any]] = [
    {
        "inputs": {
            "questions": "Which river flows through Vienna?",
            "contexts": [
                "Vienna is the capital of Austria. The Danube flows through the city.",
                "Graz is green.",
            ],
        },
        "outputs": {"relevant_statements": ["The Danube flows through the city."]},
    },
    {
        "inputs": {
            "questions": "Who wrote Hamlet?",
            "contexts": ["Bananas are rich in potassium.", "The Pacific is the largest ocean."],
        },
        "outputs": {"relevant_statements": []},
    },
]


def _relevance_of(result: dict[str, Any]) -> float:
    return 1.0 if require_string_list(result, "relevant_statements") else 0.0


@component
class ContextRelevanceEvaluator(LLMRowScoreEvaluator):
    """Whether each question's context contains something relevant, judged by a chat model.

    For each row the model extracts the context statements relevant to the question; the row scores 1.0 if
    there is at least one, else 0.0, and the score is the fraction of questions with relevant context.
    Built on :class:`LLMEvaluator`; see it for the failure policy.

    Args:
        chat_generator: the judging chat generator; None means OpenAI ``gpt-4o-mini`` in JSON mode.
        examples: worked examples replacing the built-in ones, each ``{"inputs": {"questions": str,
            "contexts": [str]}, "outputs": {"relevant_statements": [str]}}``.
        raise_on_failure: raise on an unusable reply (True) or record it as a NaN score and a ``meta`` error.
    """

    _component_name = _NAME
    _row_score = staticmethod(_relevance_of)

    def __init__(
        self,
        chat_generator: Any = None,
        examples: list[dict[str, Any]] | None = None,
        raise_on_failure: bool = True,
    ) -> None:
        self._init_judge(
            instructions=_INSTRUCTIONS,
            inputs=[("questions", list[str]), ("contexts", list[list[str]])],
            outputs=["relevant_statements"],
            default_examples=DEFAULT_CONTEXT_RELEVANCE_EXAMPLES,
            examples=examples,
            chat_generator=chat_generator,
            raise_on_failure=raise_on_failure,
        )

    def _check(self, questions: list[str], contexts: list[list[str]]) -> None:
        check_parallel_lists(_NAME, questions=questions, contexts=contexts)
        check_string_list(_NAME, "questions", questions)
        check_contexts(_NAME, contexts)

    @component.output_types(
        score=float,
        individual_scores=list[float],
        results=list[dict[str, Any] | None],
        meta=list[dict[str, Any]],
    )
    def run(self, questions: list[str], contexts: list[list[str]]) -> dict[str, Any]:
        """Judge every question's context.

        Args:
            questions: the question per row.
            contexts: the retrieved context passages per row.

        Returns:
            ``{"score": fraction with relevant context, "individual_scores": [1.0/0.0 per row; NaN if failed],
            "results": [parsed reply with "score", or None], "meta": [reply meta, "error" for failed rows]}``.

        Raises:
            ComponentError: empty, mismatched or mistyped inputs; an unusable reply when raise_on_failure.
        """
        self._check(questions, contexts)
        output = self._judge.run(questions=questions, contexts=contexts)
        return self._scores(output)

    async def run_async(self, questions: list[str], contexts: list[list[str]]) -> dict[str, Any]:
        """Async :meth:`run`: several rows are judged concurrently."""
        self._check(questions, contexts)
        output = await self._judge.run_async(questions=questions, contexts=contexts)
        return self._scores(output)

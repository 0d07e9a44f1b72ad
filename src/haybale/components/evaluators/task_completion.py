"""TaskCompletionEvaluator: did the agent finish the task, or loop, quit early, or give up?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._parallel_inputs import check_parallel_lists
from haybale.components.evaluators._refusal_detection import detect_refusal
from haybale.components.evaluators._text_support import terms
from haybale.components.evaluators.groundedness import quote
from haybale.components.evaluators.rubric import (
    RUBRIC_OUTPUTS,
    RubricEvaluator,
    RubricScore,
    margin_confidence,
)
from haybale.core.component import component
from haybale.dataclasses import ChatMessage, ChatRole
from haybale.errors import ComponentError

__all__ = ["TaskCompletionEvaluator", "transcript"]

_NAME = "TaskCompletionEvaluator"
#: finishing with a text reply shows the loop ended well, not that the task was done
_UNVERIFIED_CONFIDENCE = 0.4
_UNVERIFIED_SCORE = 0.75


def transcript(messages: list[ChatMessage]) -> str:
    """A conversation as text (``role: text``, tool calls and results included), for the judge."""
    lines = []
    for message in messages:
        role = message.role.value if isinstance(message.role, ChatRole) else str(message.role)
        for call in message.tool_calls:
            lines.append(f"{role}: calls {call.tool_name}({call.arguments})")
        for result in message.tool_call_results:
            lines.append(f"tool {result.origin.tool_name}: {'ERROR ' if result.error else ''}{result.result}")
        if message.text:
            lines.append(f"{role}: {message.text}")
    return "\n".join(lines)


def _task_of(messages: list[ChatMessage]) -> str:
    return next((m.text or "" for m in messages if m.is_from(ChatRole.USER)), "")


def _structural_failure(messages: list[ChatMessage]) -> str | None:
    if not messages:
        return "no conversation"
    last = messages[-1]
    if not last.is_from(ChatRole.ASSISTANT):
        return "the run ended on a tool result: the step budget ran out or the loop was cut"
    if last.tool_calls and not (last.text or "").strip():
        return "the run ended on a tool call that never ran"
    if not (last.text or "").strip():
        return "the final reply is empty"
    return None


@component
class TaskCompletionEvaluator(RubricEvaluator):
    """Whether each agent run completed its task.

    Deterministic checks first: a run that ends on a tool result (step budget exhausted), on an unexecuted
    tool call, or with an empty reply scores 0.0; a final reply that gives up ("I cannot ...") scores 0.0.
    With an expected answer, the final reply scores 1.0 when it contains it and otherwise the share of its
    content words it has. Without one, a run that ended with a text reply scores 0.75 with low confidence:
    whether that reply accomplishes the task is the judge's call (if configured).

    Args:
        chat_generator: the judge for unsure rows; None: deterministic only.
        escalation_threshold: rows with a deterministic confidence below this go to the judge (1.0: all).
        raise_on_failure: raise on an unusable judge reply (True) or keep the deterministic score.
    """

    _component_name = _NAME
    _judge_instructions = (
        "You judge whether an agent completed the task it was given, reading its whole transcript (tool "
        "calls and results included). score 1 when the final answer accomplishes the task, 0 when the agent "
        "failed, looped, quit early or gave a wrong result, in between for partial success. reason: one "
        "sentence."
    )
    _judge_inputs = [("task", list[str]), ("transcript", list[str]), ("expected_answer", list[str])]
    _judge_examples = [
        {
            "inputs": {
                "task": "What is 2 + 3?",
                "transcript": "user: What is 2 + 3?\nassistant: calls add({'a': 2, 'b': 3})\ntool add: 5\n"
                "assistant: 2 + 3 = 5",
                "expected_answer": "",
            },
            "outputs": {"score": 1.0, "reason": "the agent used the add tool and answered 5"},
        }
    ]

    def __init__(
        self, chat_generator: Any = None, escalation_threshold: float = 0.5, raise_on_failure: bool = True
    ) -> None:
        self._init_rubric(chat_generator, escalation_threshold, raise_on_failure)

    def _cheap(self, row: dict[str, Any]) -> RubricScore:
        messages: list[ChatMessage] = row["messages"]
        failure = _structural_failure(messages)
        if failure is not None:
            return RubricScore(0.0, 1.0, failure)
        final = messages[-1].text or ""
        refusal = detect_refusal(final)
        if refusal.refused:
            return RubricScore(0.0, refusal.confidence, f"gave up: {quote(refusal.phrase)}")
        expected = row["expected_answer"]
        if not expected:
            return RubricScore(_UNVERIFIED_SCORE, _UNVERIFIED_CONFIDENCE, "finished with a text reply")
        if " ".join(expected.split()).casefold() in " ".join(final.split()).casefold():
            return RubricScore(1.0, 1.0, "the final reply contains the expected answer")
        wanted = list(dict.fromkeys(terms(expected)))
        got = set(terms(final))
        score = sum(term in got for term in wanted) / len(wanted) if wanted else 0.0
        return RubricScore(
            score, margin_confidence(score), f"final reply lacks the expected answer {quote(expected)}"
        )

    def _judge_row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "task": row["task"],
            "transcript": transcript(row["messages"]),
            "expected_answer": row["expected_answer"],
        }

    @component.output_types(**RUBRIC_OUTPUTS)
    def run(
        self,
        messages: list[list[ChatMessage]],
        questions: list[str] | None = None,
        ground_truth_answers: list[str] | None = None,
    ) -> dict[str, Any]:
        """Judge each agent run by its conversation.

        Args:
            messages: per row, the whole conversation the agent produced (its ``messages`` output).
            questions: per row, the task (default: the first user message).
            ground_truth_answers: per row, the expected final answer ("" where there is none).

        Returns:
            ``{"score", "individual_scores", "confidences", "escalated", "reasons", "meta"}``.

        Raises:
            ComponentError: empty, mismatched or mistyped inputs; an unusable judge reply when
                ``raise_on_failure``.
        """
        count = check_parallel_lists(_NAME, messages=messages)
        tasks = questions if questions is not None else [None] * count
        expected = ground_truth_answers if ground_truth_answers is not None else [""] * count
        check_parallel_lists(_NAME, messages=messages, questions=tasks, ground_truth_answers=expected)
        rows = []
        for index, (conversation, task, answer) in enumerate(zip(messages, tasks, expected, strict=True)):
            if not isinstance(conversation, list) or not all(
                isinstance(m, ChatMessage) for m in conversation
            ):
                raise ComponentError(f"{_NAME}: 'messages[{index}]' must be a list of ChatMessages.")
            rows.append(
                {
                    "messages": conversation,
                    "task": task if isinstance(task, str) else _task_of(conversation),
                    "expected_answer": answer or "",
                }
            )
        return self._evaluate(rows)

"""Validation shared by the evaluators: per-query input lists must be non-empty, of one length, well typed.

Every evaluator takes parallel lists (entry ``i`` of each list belongs to query ``i``). A length mismatch
almost always means a pipeline wired the wrong outputs together, so it fails loudly with both names and
lengths rather than being truncated by ``zip``.
"""

from __future__ import annotations

import math
from typing import Any

from haybale.dataclasses import Document
from haybale.errors import ComponentError

__all__ = [
    "check_document_lists",
    "check_parallel_lists",
    "check_string_list",
    "mean_score",
    "question_answer_rows",
]


def check_parallel_lists(component_name: str, **inputs: Any) -> int:
    """Check every input is a non-empty list and all have the same length; return that length.

    Raises:
        ComponentError: an input is not a list, is empty, or the lengths differ (the message lists every
            input with its length).
    """
    for name, value in inputs.items():
        if not isinstance(value, list):
            raise ComponentError(
                f"{component_name}: '{name}' must be a list with one entry per query, got "
                f"{type(value).__name__}."
            )
    lengths = {name: len(value) for name, value in inputs.items()}
    described = ", ".join(f"'{name}' has {length}" for name, length in lengths.items())
    if any(length == 0 for length in lengths.values()):
        raise ComponentError(
            f"{component_name}: nothing to evaluate: {described} entries. Pass at least one entry per input."
        )
    if len(set(lengths.values())) > 1:
        raise ComponentError(
            f"{component_name}: the inputs must have one entry per query, all of the same length, but "
            f"{described} entries. Check that the pipeline connects matching lists."
        )
    return next(iter(lengths.values()))


def check_document_lists(component_name: str, name: str, value: list[Any]) -> None:
    """Check ``value`` is a list of lists of :class:`Document`.

    Raises:
        ComponentError: naming the input and the position of the first wrong entry.
    """
    for index, documents in enumerate(value):
        if not isinstance(documents, list):
            raise ComponentError(
                f"{component_name}: '{name}[{index}]' must be a list of Document, got "
                f"{type(documents).__name__}."
            )
        for position, document in enumerate(documents):
            if not isinstance(document, Document):
                raise ComponentError(
                    f"{component_name}: '{name}[{index}][{position}]' must be a Document, got "
                    f"{type(document).__name__}."
                )


def check_string_list(component_name: str, name: str, value: list[Any]) -> None:
    """Check ``value`` is a list of strings.

    Raises:
        ComponentError: naming the input and the position of the first entry that is not a string.
    """
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ComponentError(
                f"{component_name}: '{name}[{index}]' must be a string, got {type(item).__name__} ({item!r})."
            )


def question_answer_rows(
    component_name: str,
    questions: list[Any],
    predicted_answers: list[Any],
    ground_truth_answers: list[Any] | None,
) -> list[dict[str, str]]:
    """Check the inputs of an answer rubric and pair them up as rows ``{"question", "expected_answer",
    "answer"}`` (``expected_answer`` is "" where there is none).

    Raises:
        ComponentError: empty or mismatched lists, or an entry that is not a string.
    """
    expected = ground_truth_answers if ground_truth_answers is not None else [""] * len(questions)
    check_parallel_lists(
        component_name,
        questions=questions,
        predicted_answers=predicted_answers,
        ground_truth_answers=expected,
    )
    for name, values in (("questions", questions), ("predicted_answers", predicted_answers)):
        check_string_list(component_name, name, values)
    if not all(isinstance(value, str) for value in expected):
        raise ComponentError(f"{component_name}: 'ground_truth_answers' must hold strings ('' for none).")
    return [
        {"question": q, "expected_answer": e, "answer": a}
        for q, e, a in zip(questions, expected, predicted_answers, strict=True)
    ]


def mean_score(scores: list[float]) -> float:
    """Mean of the scores that are not NaN; NaN when every score is NaN (each one failed)."""
    valid = [score for score in scores if not math.isnan(score)]
    return sum(valid) / len(valid) if valid else float("nan")

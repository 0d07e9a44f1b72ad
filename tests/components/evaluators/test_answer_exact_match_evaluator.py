"""AnswerExactMatchEvaluator: exact string equality per question."""

from __future__ import annotations

import pytest

from haybale.components.evaluators import AnswerExactMatchEvaluator
from haybale.errors import ComponentError


def test_round_trip() -> None:
    data = AnswerExactMatchEvaluator().to_dict()
    assert data == {
        "type": "haybale.components.evaluators.answer_exact_match.AnswerExactMatchEvaluator",
        "init_parameters": {},
    }
    assert AnswerExactMatchEvaluator.from_dict(data).to_dict() == data


def test_exact_match_is_character_exact() -> None:
    result = AnswerExactMatchEvaluator().run(
        ground_truth_answers=["Berlin", "Paris", "Rome", "", "Oslo"],
        predicted_answers=["Berlin", "paris", "Rome ", "", "Bergen"],
    )
    assert result["individual_scores"] == [1, 0, 0, 1, 0]
    assert result["score"] == pytest.approx(0.4)


def test_mismatched_empty_and_wrong_types() -> None:
    evaluator = AnswerExactMatchEvaluator()
    with pytest.raises(
        ComponentError, match="'ground_truth_answers' has 1, 'predicted_answers' has 2 entries"
    ):
        evaluator.run(ground_truth_answers=["a"], predicted_answers=["a", "b"])
    with pytest.raises(ComponentError, match="nothing to evaluate"):
        evaluator.run(ground_truth_answers=[], predicted_answers=[])
    with pytest.raises(ComponentError, match=r"'predicted_answers\[1\]' must be a string, got NoneType"):
        evaluator.run(ground_truth_answers=["a", "b"], predicted_answers=["a", None])  # type: ignore[list-item]
    with pytest.raises(ComponentError, match="'ground_truth_answers' must be a list"):
        evaluator.run(ground_truth_answers="a", predicted_answers=["a"])  # type: ignore[arg-type]

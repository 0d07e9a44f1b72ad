"""AnswerExactMatchEvaluator: is the predicted answer exactly the expected one?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._parallel_inputs import (
    check_parallel_lists,
    check_string_list,
    mean_score,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict

__all__ = ["AnswerExactMatchEvaluator"]

_NAME = "AnswerExactMatchEvaluator"


@component
class AnswerExactMatchEvaluator:
    """1.0 per question whose predicted answer equals the ground-truth answer character for character, else
    0.0; the score is the fraction of exact matches.

    No normalisation is applied (case and whitespace count): normalise upstream if you want lenient matching,
    or use :class:`SASEvaluator` for meaning rather than form.
    """

    @component.output_types(score=float, individual_scores=list[int])
    def run(self, ground_truth_answers: list[str], predicted_answers: list[str]) -> dict[str, Any]:
        """Compare answers pairwise.

        Args:
            ground_truth_answers: the expected answer per question.
            predicted_answers: the predicted answer per question.

        Returns:
            ``{"score": fraction of exact matches, "individual_scores": [1 or 0 per question]}``.

        Raises:
            ComponentError: empty or mismatched lists, or entries that are not strings.
        """
        check_parallel_lists(
            _NAME, ground_truth_answers=ground_truth_answers, predicted_answers=predicted_answers
        )
        check_string_list(_NAME, "ground_truth_answers", ground_truth_answers)
        check_string_list(_NAME, "predicted_answers", predicted_answers)
        matches = [
            int(truth == predicted)
            for truth, predicted in zip(ground_truth_answers, predicted_answers, strict=True)
        ]
        return {"score": mean_score([float(match) for match in matches]), "individual_scores": matches}

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerExactMatchEvaluator:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

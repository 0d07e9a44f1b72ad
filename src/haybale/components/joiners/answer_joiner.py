"""AnswerJoiner: join the answers of several generators or answer builders."""

from __future__ import annotations

import math
from typing import Any

from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.core.sockets import Variadic
from haybale.dataclasses import GeneratedAnswer
from haybale.errors import ComponentError
from haybale.stores.scoring import check_top_k

__all__ = ["ANSWER_JOIN_MODES", "AnswerJoiner"]

ANSWER_JOIN_MODES = ("concatenate",)


def _answer_score(answer: Any) -> float:
    score = getattr(answer, "score", None)
    if score is None:
        score = (getattr(answer, "meta", None) or {}).get("score")
    return float(score) if isinstance(score, (int, float)) else -math.inf


@component
class AnswerJoiner:
    """Join lists of answers into one list.

    Args:
        join_mode: ``concatenate`` (the only mode: answers are kept in arrival order).
        top_k: keep at most this many answers.
        sort_by_score: sort by score, best first; the score is read from ``answer.score`` or
            ``answer.meta["score"]`` (answers without one go last).
    """

    def __init__(
        self, join_mode: str = "concatenate", top_k: int | None = None, sort_by_score: bool = False
    ) -> None:
        if join_mode not in ANSWER_JOIN_MODES:
            raise ComponentError(
                f"AnswerJoiner: unknown join_mode {join_mode!r}; valid modes: {', '.join(ANSWER_JOIN_MODES)}."
            )
        check_top_k(top_k, "AnswerJoiner", allow_none=True, error=ComponentError)
        self.join_mode = join_mode
        self.top_k = top_k
        self.sort_by_score = sort_by_score

    @component.output_types(answers=list[GeneratedAnswer])
    def run(self, answers: Variadic[list[GeneratedAnswer]], top_k: int | None = None) -> dict[str, Any]:
        """Return ``{"answers": [...]}``: every received answer, optionally sorted and cut to ``top_k``."""
        joined = [answer for answer_list in answers for answer in answer_list]
        if self.sort_by_score:
            joined.sort(key=_answer_score, reverse=True)
        top_k = self.top_k if top_k is None else top_k
        return {"answers": joined[:top_k] if top_k is not None else joined}

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component."""
        return default_to_dict(
            self, join_mode=self.join_mode, top_k=self.top_k, sort_by_score=self.sort_by_score
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerJoiner:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

"""The cheap-first cascade shared by the rubric evaluators (groundedness, context adherence, completeness,
answer refusal, chunk attribution and utilization, task completion).

Every row is first scored by the rubric's deterministic check, which also says how sure it is
(``confidence`` in [0, 1]: near 1 far from the pass mark, near 0 on it). When a judge is configured
(``chat_generator``: any haybale chat generator, e.g. :class:`OpenAIChatGenerator` for an OpenAI-compatible
server, or the local SmolLM2), rows whose confidence is below ``escalation_threshold`` are sent to it (every
row at 1.0, none at 0.0), and its score replaces the cheap one. Every evaluator returns, besides ``score``
and ``individual_scores``: ``confidences``, ``escalated`` (one bool per row), ``reasons`` (why a row scored
as it did: what failed, for reports and clustering) and ``meta`` (``escalated_count``; per-row judge
errors).

The judge answers one JSON object per row: ``{"score": <0..1>, "reason": "<one sentence>"}``. A judge reply
that cannot be used is an error with ``raise_on_failure=True``; with False the row keeps its cheap score and
``meta["errors"]`` says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from haybale.components.evaluators._llm_json_protocol import InvalidReplyError
from haybale.components.evaluators._parallel_inputs import mean_score
from haybale.components.evaluators.llm_evaluator import LLMEvaluator, deserialize_chat_generator
from haybale.core.serialization import default_to_dict
from haybale.errors import ComponentError, DeserializationError

__all__ = ["RUBRIC_OUTPUTS", "RubricEvaluator", "RubricScore", "margin_confidence"]

R = TypeVar("R", bound="RubricEvaluator")

#: the pass mark the confidence of a continuous score is measured against
PASS_MARK = 0.5

#: the output sockets of every rubric evaluator: ``@component.output_types(**RUBRIC_OUTPUTS)``
RUBRIC_OUTPUTS: dict[str, Any] = {
    "score": float,
    "individual_scores": list[float],
    "confidences": list[float],
    "escalated": list[bool],
    "reasons": list[str],
    "meta": dict[str, Any],
}


@dataclass(frozen=True)
class RubricScore:
    """One row's deterministic result: the score, how sure the check is, and why."""

    score: float
    confidence: float
    reason: str


def margin_confidence(score: float, pass_mark: float = PASS_MARK) -> float:
    """Confidence of a continuous score: 0 on the pass mark, 1 at 0.0 or 1.0 (linear in between)."""
    span = pass_mark if score < pass_mark else 1.0 - pass_mark
    return 1.0 if span <= 0 else min(1.0, abs(score - pass_mark) / span)


def _judge_score(result: Mapping[str, Any]) -> tuple[float, str]:
    raw = result.get("score")
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise InvalidReplyError(f"'score' must be a number from 0 to 1, got {raw!r}") from None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0.0 <= float(raw) <= 1.0:
        raise InvalidReplyError(f"'score' must be a number from 0 to 1, got {raw!r}")
    reason = result.get("reason")
    return float(raw), reason if isinstance(reason, str) else ""


class RubricEvaluator:
    """Base of the rubric evaluators: the deterministic check (``_cheap``), the judge, the cascade and
    serialization. A subclass defines ``_component_name``, ``_judge_instructions``, ``_judge_inputs`` (the
    row keys the judge reads, with their types) and ``_judge_examples``, and calls :meth:`_init_rubric`."""

    _component_name: ClassVar[str]
    _judge_instructions: ClassVar[str]
    _judge_inputs: ClassVar[list[tuple[str, Any]]]
    _judge_examples: ClassVar[list[dict[str, Any]]]

    def _init_rubric(self, chat_generator: Any, escalation_threshold: float, raise_on_failure: bool) -> None:
        name = self._component_name
        threshold = escalation_threshold
        number = isinstance(threshold, int | float) and not isinstance(threshold, bool)
        if not number or not 0.0 <= threshold <= 1.0:
            raise ComponentError(
                f"{name}: escalation_threshold must be a number from 0 to 1 (rows whose deterministic "
                f"confidence is below it go to the judge), got {escalation_threshold!r}."
            )
        self.escalation_threshold = float(threshold)
        self.raise_on_failure = bool(raise_on_failure)
        self.chat_generator = chat_generator
        self._judge: LLMEvaluator | None = None
        if chat_generator is not None:
            self._judge = LLMEvaluator(
                instructions=self._judge_instructions,
                inputs=self._judge_inputs,
                outputs=["score", "reason"],
                examples=self._judge_examples,
                chat_generator=chat_generator,
                raise_on_failure=raise_on_failure,
            )
            self._judge.error_label = name

    def warm_up(self) -> None:
        """Warm up the judge's chat generator, if there is one (idempotent)."""
        if self._judge is not None:
            self._judge.warm_up()

    if TYPE_CHECKING:

        def _cheap(self, row: dict[str, Any]) -> RubricScore:
            """The deterministic check of one row (defined by every subclass)."""

    def _judge_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """The judge's inputs for a row (default: the row's values for the judge's input names)."""
        return {key: row[key] for key, _ in self._judge_inputs}

    def _evaluate(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Score rows (each a dict of one row's inputs): cheap check, then the judge for unsure rows."""
        cheap = [self._cheap(row) for row in rows]
        scores = [c.score for c in cheap]
        reasons = [c.reason for c in cheap]
        escalated = [False] * len(rows)
        errors: dict[int, str] = {}
        if self._judge is not None:
            everything = self.escalation_threshold >= 1.0
            chosen = [
                i for i, c in enumerate(cheap) if everything or c.confidence < self.escalation_threshold
            ]
            if chosen:
                output = self._ask_judge(self._judge, [rows[i] for i in chosen])
                self._apply_judgements(output, chosen, scores, reasons, escalated, errors)
        meta: dict[str, Any] = {"escalated_count": sum(escalated), "rows": len(rows)}
        if errors:
            meta["errors"] = errors
        return {
            "score": mean_score(scores),
            "individual_scores": scores,
            "confidences": [1.0 if escalated[i] else c.confidence for i, c in enumerate(cheap)],
            "escalated": escalated,
            "reasons": reasons,
            "meta": meta,
        }

    def _ask_judge(self, judge: LLMEvaluator, rows: list[dict[str, Any]]) -> dict[str, Any]:
        judge_rows = [self._judge_row(row) for row in rows]
        return judge.run(**{key: [r[key] for r in judge_rows] for key, _ in self._judge_inputs})

    def _apply_judgements(  # noqa: PLR0917 - fills the per-row lists in place
        self,
        output: dict[str, Any],
        chosen: list[int],
        scores: list[float],
        reasons: list[str],
        escalated: list[bool],
        errors: dict[int, str],
    ) -> None:
        for position, index in enumerate(chosen):
            result, meta = output["results"][position], output["meta"][position]
            if result is None:
                errors[index] = str(meta.get("error", "the judge failed"))
                continue
            try:
                score, reason = _judge_score(result)
            except InvalidReplyError as error:
                message = f"{self._component_name}: row {index}: the judge's reply is unusable: {error}"
                if self.raise_on_failure:
                    raise ComponentError(
                        f"{message}. Set raise_on_failure=False to keep the deterministic score instead."
                    ) from error
                errors[index] = message
                continue
            scores[index], escalated[index] = score, True
            reasons[index] = f"judge: {reason}" if reason else reasons[index]

    def _rubric_init_parameters(self) -> dict[str, Any]:
        return {
            "chat_generator": None if self.chat_generator is None else self.chat_generator.to_dict(),
            "escalation_threshold": self.escalation_threshold,
            "raise_on_failure": self.raise_on_failure,
        }

    def _settings(self) -> dict[str, Any]:
        """The subclass's own init parameters, for :meth:`to_dict`."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}`` (the judge's generator nested)."""
        return default_to_dict(self, **self._settings(), **self._rubric_init_parameters())

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """Load from :meth:`to_dict` output (a judge's generator type is allow-list checked).

        Raises:
            DeserializationError: malformed data or a refused generator type.
        """
        params = dict(data.get("init_parameters") or {})
        if params.get("chat_generator") is not None:
            params["chat_generator"] = deserialize_chat_generator(params["chat_generator"])
        try:
            return cls(**params)
        except (TypeError, ComponentError) as error:
            raise DeserializationError(
                f"Cannot load {cls._component_name} from {sorted(params)}: {error}"
            ) from error

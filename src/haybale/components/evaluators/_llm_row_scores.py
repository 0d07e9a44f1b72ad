"""Turn an :class:`LLMEvaluator`'s parsed replies into per-row scores, with the same failure policy.

Used by the ready-made LLM evaluators (faithfulness, context relevance): a reply can be valid JSON with the
right keys and still make no sense (three statements, two scores). Such rows fail like unparsable ones:
raised, or recorded as a NaN score with a ``meta["error"]`` entry when ``raise_on_failure`` is False.
:class:`LLMRowScoreEvaluator` is the shared body of those evaluators.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from haybale.components.evaluators._llm_json_protocol import InvalidReplyError
from haybale.components.evaluators._parallel_inputs import check_string_list, mean_score
from haybale.components.evaluators.llm_evaluator import LLMEvaluator, deserialize_chat_generator
from haybale.core.serialization import default_to_dict
from haybale.errors import ComponentError, DeserializationError

__all__ = ["LLMRowScoreEvaluator", "check_contexts", "require_string_list", "score_rows"]

L = TypeVar("L", bound="LLMRowScoreEvaluator")


def require_string_list(result: dict[str, Any], key: str) -> list[str]:
    """``result[key]`` as a list of strings.

    Raises:
        InvalidReplyError: it is not one.
    """
    value = result.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidReplyError(f"'{key}' must be a list of strings, got {value!r}")
    return value


def check_contexts(component_name: str, contexts: list[Any]) -> None:
    """Check ``contexts`` is a list (one per question) of lists of strings.

    Raises:
        ComponentError: naming the first wrong entry.
    """
    for index, context in enumerate(contexts):
        if not isinstance(context, list):
            raise ComponentError(
                f"{component_name}: 'contexts[{index}]' must be a list of strings (the context passages of "
                f"question {index}), got {type(context).__name__}."
            )
        check_string_list(component_name, f"contexts[{index}]", context)


def score_rows(
    component_name: str,
    llm_output: dict[str, Any],
    row_score: Callable[[dict[str, Any]], float],
    raise_on_failure: bool,
) -> dict[str, Any]:
    """Score each parsed reply with ``row_score`` and average.

    Returns:
        ``{"score", "individual_scores", "results", "meta"}``; each result is the parsed reply plus its
        ``"score"`` (None for failed rows, whose individual score is NaN). ``score`` averages the rows that
        did not fail (NaN when all failed): failures are reported in ``meta``, not counted as zeros.

    Raises:
        ComponentError: a reply whose content does not make sense, when ``raise_on_failure`` is True.
    """
    scores: list[float] = []
    results: list[dict[str, Any] | None] = []
    metas = [dict(meta) for meta in llm_output["meta"]]
    for index, result in enumerate(llm_output["results"]):
        if result is None:  # already failed and recorded by LLMEvaluator
            scores.append(math.nan)
            results.append(None)
            continue
        try:
            score = float(row_score(result))
        except InvalidReplyError as error:
            message = f"{component_name}: row {index} failed: the model's reply is unusable: {error}"
            if raise_on_failure:
                raise ComponentError(
                    f"{message}. Set raise_on_failure=False to record failed rows and evaluate the rest."
                ) from error
            metas[index]["error"] = message
            scores.append(math.nan)
            results.append(None)
            continue
        scores.append(score)
        results.append({**result, "score": score})
    return {"score": mean_score(scores), "individual_scores": scores, "results": results, "meta": metas}


class LLMRowScoreEvaluator:
    """Base of the ready-made LLM evaluators: the wrapped :class:`LLMEvaluator` judge, warm-up, scoring of
    its replies with ``_row_score`` (given as ``staticmethod(...)``) and serialization with the chat
    generator nested. A subclass names itself in ``_component_name``."""

    _component_name: ClassVar[str]
    _row_score: ClassVar[Callable[..., float]]

    def _init_judge(
        self,
        *,
        instructions: str,
        inputs: list[tuple[str, Any]],
        outputs: list[str],
        default_examples: list[dict[str, Any]],
        chat_generator: Any,
        examples: list[dict[str, Any]] | None,
        raise_on_failure: bool,
    ) -> None:
        """Keep the init parameters and build the judge (``examples=None`` means ``default_examples``)."""
        self.examples = examples
        self.raise_on_failure = bool(raise_on_failure)
        self._judge = LLMEvaluator(
            instructions=instructions,
            inputs=inputs,
            outputs=outputs,
            examples=default_examples if examples is None else examples,
            chat_generator=chat_generator,
            raise_on_failure=raise_on_failure,
        )
        self._judge.error_label = self._component_name
        self.chat_generator = self._judge.chat_generator

    def warm_up(self) -> None:
        """Warm up the chat generator (idempotent)."""
        self._judge.warm_up()

    def _scores(self, llm_output: dict[str, Any]) -> dict[str, Any]:
        return score_rows(self._component_name, llm_output, type(self)._row_score, self.raise_on_failure)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}`` with the chat generator nested."""
        return default_to_dict(
            self,
            chat_generator=self.chat_generator.to_dict(),
            examples=self.examples,
            raise_on_failure=self.raise_on_failure,
        )

    @classmethod
    def from_dict(cls: type[L], data: dict[str, Any]) -> L:
        """Load from :meth:`to_dict` output (the generator type is allow-list checked).

        Raises:
            DeserializationError: malformed data or a refused generator type.
        """
        params = dict(data.get("init_parameters") or {})
        params["chat_generator"] = deserialize_chat_generator(params.get("chat_generator"))
        try:
            return cls(**params)
        except (TypeError, ComponentError) as error:
            raise DeserializationError(
                f"Cannot load {cls._component_name} from {sorted(params)}: {error}"
            ) from error

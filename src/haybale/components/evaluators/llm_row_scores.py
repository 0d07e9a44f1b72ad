"""Turn an :class:`LLMEvaluator`'s parsed replies into per-row scores, with the same failure policy.

Used by the ready-made LLM evaluators (faithfulness, context relevance): a reply can be valid JSON with the
right keys and still make no sense (three statements, two scores). Such rows fail like unparsable ones:
raised, or recorded as a NaN score with a ``meta["error"]`` entry when ``raise_on_failure`` is False.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from haybale.components.evaluators.llm_json_protocol import InvalidReplyError
from haybale.components.evaluators.parallel_inputs import check_string_list, mean_score
from haybale.errors import ComponentError

__all__ = ["check_contexts", "require_string_list", "score_rows"]


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

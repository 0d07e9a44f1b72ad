"""ToolCallCorrectnessEvaluator: did the model call the expected tools with the expected arguments?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from haybale.components.evaluators._parallel_inputs import check_parallel_lists, mean_score
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import ChatMessage, ToolCall
from haybale.errors import ComponentError

__all__ = ["ToolCallCorrectnessEvaluator", "tool_calls_of"]

_NAME = "ToolCallCorrectnessEvaluator"


def tool_calls_of(value: Any) -> list[ToolCall]:
    """The tool calls in ``value``: ToolCalls as they are, and those of assistant ChatMessages."""
    items = value if isinstance(value, list | tuple) else [value]
    calls: list[ToolCall] = []
    for item in items:
        if isinstance(item, ToolCall):
            calls.append(item)
        elif isinstance(item, ChatMessage):
            calls.extend(item.tool_calls)
    return calls


def _normal_text(value: str) -> Any:
    stripped = value.strip()
    try:
        return float(stripped)
    except ValueError:
        return stripped.casefold()


def _normal(value: Any) -> Any:
    """Compare arguments by value: 3 == 3.0 == "3", key order and whitespace ignored."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return _normal_text(value)
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def _expected(row: int, item: Any) -> tuple[str, dict[str, Any] | None]:
    if isinstance(item, ToolCall):
        return item.tool_name, item.arguments
    name = item.get("tool_name", item.get("name")) if isinstance(item, Mapping) else None
    arguments = item.get("arguments") if isinstance(item, Mapping) else None
    if not isinstance(name, str) or not (arguments is None or isinstance(arguments, Mapping)):
        raise ComponentError(
            f"{_NAME}: expected_tool_calls[{row}] entries must be ToolCalls or dicts like "
            f"{{'tool_name': 'search', 'arguments': {{'query': '...'}}}} (arguments optional), "
            f"got {item!r:.80}."
        )
    return name, None if arguments is None else dict(arguments)


def _matches(call: ToolCall, name: str, arguments: dict[str, Any] | None, exact: bool) -> bool:
    if call.tool_name != name:
        return False
    if arguments is None:
        return True
    made = {key: _normal(value) for key, value in call.arguments.items()}
    wanted = {key: _normal(value) for key, value in arguments.items()}
    if exact:
        return made == wanted
    return all(key in made and made[key] == value for key, value in wanted.items())


@component
class ToolCallCorrectnessEvaluator:
    """F1 of the tool calls made against the expected ones, per row.

    A made call matches an expected one when the tool name is the same and the arguments agree: every
    expected argument present with an equal value (numbers compared as numbers, strings case- and
    whitespace-insensitively), or exactly the same arguments with ``exact_arguments``. An expected call
    without ``arguments`` matches on the name alone. Each call matches at most once; with ``in_order`` the
    matched calls must also come in the expected order (a longest common subsequence). A row expecting no
    calls scores 1.0 when none were made, else 0.0. Deterministic.

    Args:
        exact_arguments: require exactly the expected arguments (no extra ones).
        in_order: require the expected order.
    """

    def __init__(self, exact_arguments: bool = False, in_order: bool = False) -> None:
        self.exact_arguments = bool(exact_arguments)
        self.in_order = bool(in_order)

    def _matched(self, made: list[ToolCall], expected: list[tuple[str, dict[str, Any] | None]]) -> int:
        if self.in_order:  # longest common subsequence under the match relation
            table = [[0] * (len(expected) + 1) for _ in range(len(made) + 1)]
            for i, call in enumerate(made, start=1):
                for j, (name, arguments) in enumerate(expected, start=1):
                    hit = _matches(call, name, arguments, self.exact_arguments)
                    table[i][j] = table[i - 1][j - 1] + 1 if hit else max(table[i - 1][j], table[i][j - 1])
            return table[-1][-1]
        free = list(range(len(made)))
        count = 0
        for name, arguments in expected:
            found = next((i for i in free if _matches(made[i], name, arguments, self.exact_arguments)), None)
            if found is not None:
                free.remove(found)
                count += 1
        return count

    def _row(
        self, made: list[ToolCall], expected: list[tuple[str, dict[str, Any] | None]]
    ) -> tuple[float, str]:
        if not expected:
            return (
                (1.0, "no call expected, none made") if not made else (0.0, f"{len(made)} unexpected calls")
            )
        matched = self._matched(made, expected)
        if not made or not matched:
            names = ", ".join(call.tool_name for call in made) or "none"
            return 0.0, f"no expected call made (expected {expected[0][0]}; made {names})"
        precision, recall = matched / len(made), matched / len(expected)
        score = 2 * precision * recall / (precision + recall)
        reason = f"{matched} of {len(expected)} expected calls made correctly, {len(made) - matched} extra"
        return score, reason

    @component.output_types(score=float, individual_scores=list[float], reasons=list[str])
    def run(self, tool_calls: list[list[Any]], expected_tool_calls: list[list[Any]]) -> dict[str, Any]:
        """Score each row's tool calls.

        Args:
            tool_calls: per row, the calls made (ToolCalls, or the ChatMessages holding them).
            expected_tool_calls: per row, the expected calls (ToolCalls or ``{"tool_name", "arguments"}``).

        Returns:
            ``{"score": mean F1, "individual_scores": [F1 per row], "reasons": [...]}``.

        Raises:
            ComponentError: empty or mismatched inputs, or a malformed expected call.
        """
        check_parallel_lists(_NAME, tool_calls=tool_calls, expected_tool_calls=expected_tool_calls)
        scores, reasons = [], []
        for row, (made, expected) in enumerate(zip(tool_calls, expected_tool_calls, strict=True)):
            if not isinstance(expected, list | tuple):
                raise ComponentError(f"{_NAME}: expected_tool_calls[{row}] must be a list of expected calls.")
            score, reason = self._row(tool_calls_of(made), [_expected(row, item) for item in expected])
            scores.append(score)
            reasons.append(reason)
        return {"score": mean_score(scores), "individual_scores": scores, "reasons": reasons}

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, exact_arguments=self.exact_arguments, in_order=self.in_order)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCallCorrectnessEvaluator:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

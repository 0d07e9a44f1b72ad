"""Human-in-the-loop confirmation of tool calls: a policy per tool, and the decisions an agent records.

Policies (``Agent(tool_confirmation={"delete_file": "ask", "*": "always"})``):

* ``"always"``: the tool always runs, nobody is asked;
* ``"never"``: the tool never runs; the model gets a tool error saying the call was refused;
* ``"ask"``: someone decides each call. With a ``confirm`` callback, the agent calls it and waits. Without
  one, the run pauses: the pipeline raises ``BreakpointReached`` whose snapshot's ``question`` lists the
  calls, and ``pipeline.run({}, snapshot=snapshot.answer(...))`` continues with the caller's decisions.

Every decision (who decided, what, when, with which arguments) is recorded as a :class:`ToolDecision` in the
agent's ``tool_decisions`` output and in the ``meta["decision"]`` of the tool message sent to the model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from haybale.dataclasses import ToolCall
from haybale.errors import ComponentError

__all__ = [
    "ConfirmCallback",
    "ConfirmationPolicy",
    "ToolDecision",
    "decisions_from_answer",
    "policy_for",
    "validate_policies",
]

ConfirmationPolicy = Literal["always", "never", "ask"]
ConfirmCallback = Callable[[ToolCall], "ToolDecision | bool"]

_POLICIES: Final = frozenset(get_args(ConfirmationPolicy))
DEFAULT_KEY: Final = "*"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class ToolDecision:
    """Whether one tool call may run, who said so, and with which arguments.

    Attributes:
        tool_name: the tool the model called.
        approved: True when the call runs.
        arguments: the arguments it runs with (a reviewer may change them); None keeps the model's.
        tool_call_id: the id of the model's call (decisions are matched to calls by it, then by position).
        reason: why (shown to the model when refused).
        decided_by: ``"policy"``, ``"callback"`` or ``"caller"`` (an answer given when resuming).
        policy: the policy that applied to the tool.
        decided_at: when (UTC, ISO 8601).
    """

    tool_name: str
    approved: bool
    arguments: dict[str, Any] | None = None
    tool_call_id: str | None = None
    reason: str | None = None
    decided_by: str = "caller"
    policy: str = "ask"
    decided_at: str = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (recorded in tool messages and snapshots)."""
        return {
            "tool_name": self.tool_name,
            "approved": self.approved,
            "arguments": None if self.arguments is None else dict(self.arguments),
            "tool_call_id": self.tool_call_id,
            "reason": self.reason,
            "decided_by": self.decided_by,
            "policy": self.policy,
            "decided_at": self.decided_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolDecision:
        """Build from :meth:`to_dict` output."""
        known = {
            "tool_name",
            "approved",
            "arguments",
            "tool_call_id",
            "reason",
            "decided_by",
            "policy",
            "decided_at",
        }
        return cls(**{k: v for k, v in data.items() if k in known})


def validate_policies(policies: Mapping[str, Any] | None, tool_names: list[str]) -> dict[str, str]:
    """Check a ``tool_confirmation`` mapping.

    Raises:
        ComponentError: an unknown policy, or a key that is neither a tool name nor ``"*"``.
    """
    checked: dict[str, str] = {}
    for key, policy in (policies or {}).items():
        if policy not in _POLICIES:
            raise ComponentError(
                f"Agent: tool_confirmation[{key!r}] is {policy!r}; use one of {sorted(_POLICIES)} "
                "('always' runs "
                "the tool, 'never' refuses it, 'ask' asks a person)."
            )
        if key != DEFAULT_KEY and key not in tool_names:
            raise ComponentError(
                f"Agent: tool_confirmation names {key!r}, which is not one of the agent's tools "
                f"{tool_names}; "
                f"use a tool name, or {DEFAULT_KEY!r} for every other tool."
            )
        checked[key] = str(policy)
    return checked


def policy_for(policies: Mapping[str, str], tool_name: str) -> str:
    """The policy that applies to ``tool_name`` (its own, else ``"*"``, else ``"always"``)."""
    return policies.get(tool_name) or policies.get(DEFAULT_KEY) or "always"


def decision_from(value: Any, call: ToolCall, policy: str, decided_by: str) -> ToolDecision:
    """Normalize a callback's or caller's answer for one call (a bool or a ToolDecision).

    Raises:
        ComponentError: the answer is neither.
    """
    if isinstance(value, bool):
        return ToolDecision(call.tool_name, value, None, call.id, None, decided_by, policy)
    if isinstance(value, ToolDecision):
        return ToolDecision(
            call.tool_name,
            bool(value.approved),
            None if value.arguments is None else dict(value.arguments),
            call.id,
            value.reason,
            decided_by,
            policy,
            value.decided_at,
        )
    raise ComponentError(
        f"A tool confirmation must be True/False or a ToolDecision, got {type(value).__name__} for the call "
        f"to {call.tool_name!r}."
    )


def decisions_from_answer(
    answer: Any, calls: list[ToolCall], policy: Mapping[str, str]
) -> dict[int, ToolDecision]:
    """Turn the caller's answer to a confirmation question into one decision per asked call (by position).

    The answer may be True/False (for every call), one ToolDecision (for a single call), a list (one entry per
    asked call, in order), or a dict keyed by tool call id.

    Raises:
        ComponentError: the answer does not cover every asked call, or has an unusable shape.
    """
    if isinstance(answer, bool | ToolDecision):
        if isinstance(answer, ToolDecision) and len(calls) > 1:
            raise ComponentError(
                f"One ToolDecision answers one call, but {len(calls)} calls wait for confirmation; "
                "answer with a "
                "list (one per call, in order) or a dict keyed by tool call id."
            )
        return {
            i: decision_from(answer, call, policy[call.tool_name], "caller") for i, call in enumerate(calls)
        }
    if isinstance(answer, list):
        if len(answer) != len(calls):
            raise ComponentError(
                f"The answer lists {len(answer)} decisions, but {len(calls)} calls wait for confirmation "
                f"({[c.tool_name for c in calls]}); give one per call, in order."
            )
        return {
            i: decision_from(value, call, policy[call.tool_name], "caller")
            for i, (call, value) in enumerate(zip(calls, answer, strict=True))
        }
    if isinstance(answer, dict):
        missing = [c.id for c in calls if c.id not in answer]
        if missing:
            raise ComponentError(
                f"The answer has no decision for the tool call ids {missing}; keys must be the ids of "
                "the asked "
                "calls (snapshot.question lists them)."
            )
        return {i: decision_from(answer[c.id], c, policy[c.tool_name], "caller") for i, c in enumerate(calls)}
    raise ComponentError(
        f"Answer a tool confirmation with True/False, a ToolDecision, a list or a dict by call id; got "
        f"{type(answer).__name__}."
    )

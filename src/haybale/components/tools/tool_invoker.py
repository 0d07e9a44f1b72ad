"""ToolInvoker: run the tool calls a model asked for and turn the results into tool messages."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import ChatMessage, ToolCall
from haybale.errors import ComponentError
from haybale.tools import Tool, deserialize_tools, serialize_tools
from haybale.tracing.operation_spans import record_tool_result, tool_call_span

__all__ = ["ToolCallOutcome", "ToolInvoker", "result_to_text"]

logger = logging.getLogger(__name__)


def _json_default(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def result_to_text(result: Any, as_json: bool) -> str:
    """Turn a tool's return value into the text sent to the model.

    Strings pass through unchanged. Otherwise, with ``as_json`` the value is JSON-encoded (objects with a
    ``to_dict()`` method, such as Documents, are encoded through it); anything JSON cannot represent, and
    every non-string value when ``as_json`` is False, is converted with ``str()``.
    """
    if isinstance(result, str):
        return result
    if as_json:
        try:
            return json.dumps(result, ensure_ascii=False, default=_json_default)
        except (TypeError, ValueError):
            logger.debug("Tool result of type %s is not JSON serializable; using str().", type(result))
    return str(result)


@dataclass
class ToolCallOutcome:
    """What invoking one tool call produced: the message for the model and, for agents, state updates."""

    message: ChatMessage
    state_updates: dict[str, Any] = field(default_factory=dict)


@component
class ToolInvoker:
    """Invokes the tools requested in assistant messages and returns one tool message per call.

    Calls run in parallel on a thread pool (``max_workers``); the tool messages keep the order of the calls.
    Failures never crash the run unless ``raise_on_failure`` is set: they come back to the model as tool
    messages with ``error=True`` whose text says what went wrong and how to call correctly:

    - a tool that raises: the exception type and message;
    - a call to an unknown tool: the names of the available tools;
    - arguments that are not a JSON object (``meta["invalid_tool_calls"]`` of the reply), or missing /
      unexpected arguments: the expected parameters.

    Results: strings are sent as they are; other values are JSON-encoded when
    ``convert_result_to_json_string`` is True (objects with ``to_dict()``, such as Documents, through it), and
    converted with ``str()`` otherwise or when JSON cannot represent them.

    Args:
        tools: the tools the model may call (names must be unique).
        raise_on_failure: raise :class:`ComponentError` instead of returning a tool error message.
        convert_result_to_json_string: JSON-encode non-string results instead of using ``str()``.
        max_workers: threads used for parallel tool calls.

    Raises:
        ComponentError: no tools, duplicate names, or ``max_workers`` < 1.
    """

    def __init__(
        self,
        tools: list[Tool],
        raise_on_failure: bool = False,
        convert_result_to_json_string: bool = False,
        max_workers: int = 4,
    ) -> None:
        if not tools:
            raise ComponentError("ToolInvoker needs at least one tool; got none.")
        names = [t.name for t in tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ComponentError(f"ToolInvoker: tool names must be unique; duplicated: {duplicates}.")
        if not isinstance(max_workers, int) or max_workers < 1:
            raise ComponentError(f"ToolInvoker: max_workers must be an int >= 1, got {max_workers!r}.")
        self.tools = list(tools)
        self.raise_on_failure = raise_on_failure
        self.convert_result_to_json_string = convert_result_to_json_string
        self.max_workers = max_workers
        self._by_name = {t.name: t for t in self.tools}

    # -- one call --------------------------------------------------------------------------------------------
    def _error(self, call: ToolCall, text: str, cause: BaseException | None = None) -> ToolCallOutcome:
        if self.raise_on_failure:
            raise ComponentError(f"ToolInvoker: {text}") from cause
        return ToolCallOutcome(ChatMessage.from_tool(text, origin=call, error=True))

    def _argument_problem(self, tool: Tool, arguments: dict[str, Any]) -> str | None:
        schema_props = tool.parameters.get("properties") or {}
        missing = [name for name in tool.parameters.get("required") or [] if name not in arguments]
        unexpected = [name for name in arguments if schema_props and name not in schema_props]
        if not missing and not unexpected:
            return None
        parts = []
        if missing:
            parts.append(f"missing required argument(s) {missing}")
        if unexpected:
            parts.append(f"unexpected argument(s) {unexpected}")
        return (
            f"Tool {tool.name!r} was called with {'; '.join(parts)}. Expected parameters: "
            f"{sorted(schema_props)} (required: {tool.parameters.get('required') or []})."
        )

    def invoke_call(
        self, call: ToolCall, state: dict[str, Any] | None = None, invalid: dict[str, Any] | None = None
    ) -> ToolCallOutcome:
        """Invoke one tool call, in a TOOL span; ``state`` feeds the tool's ``inputs_from_state`` and receives
        its outputs.

        Args:
            call: the model's tool call.
            state: agent state to read from (not modified; updates are returned).
            invalid: the reply's ``invalid_tool_calls`` entry for this call, when its arguments did not parse.
        """
        with tool_call_span(call) as span:
            outcome = self._invoke(call, state, invalid)
            record_tool_result(span, outcome.message)
            return outcome

    def _invoke(
        self, call: ToolCall, state: dict[str, Any] | None, invalid: dict[str, Any] | None
    ) -> ToolCallOutcome:
        tool = self._by_name.get(call.tool_name)
        if tool is None:
            known = ", ".join(sorted(self._by_name))
            return self._error(
                call, f"Tool {call.tool_name!r} does not exist. Available tools: {known}. Call one of those."
            )
        if invalid is not None:
            return self._error(
                call,
                f"The arguments of the call to tool {tool.name!r} could not be used: {invalid.get('error')}. "
                f"Received: {invalid.get('arguments')!r}. Send a JSON object matching the tool's parameters.",
            )
        problem = self._argument_problem(tool, call.arguments)
        if problem is not None:
            return self._error(call, problem)
        arguments = dict(call.arguments)
        for state_key, parameter in tool.inputs_from_state.items():
            if state is not None and state_key in state and parameter not in arguments:
                arguments[parameter] = state[state_key]
        try:
            result = tool.invoke(**arguments)
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
        except Exception as error:
            logger.info("Tool %r raised %s: %s", tool.name, type(error).__name__, error)
            return self._error(
                call, f"Tool {tool.name!r} failed: {type(error).__name__}: {error}", cause=error
            )
        updates = _state_updates(tool, result)
        text = result_to_text(result, self.convert_result_to_json_string)
        return ToolCallOutcome(ChatMessage.from_tool(text, origin=call), updates)

    def invoke_messages(
        self, messages: list[ChatMessage], state: dict[str, Any] | None = None
    ) -> list[ToolCallOutcome]:
        """Invoke every tool call in the assistant messages of ``messages`` (in parallel when several)."""
        jobs: list[tuple[ToolCall, dict[str, Any] | None]] = []
        for message in messages:
            if not isinstance(message, ChatMessage):
                raise ComponentError(
                    f"ToolInvoker.run expects ChatMessages, got {type(message).__name__}. Connect it to a "
                    "chat generator's `replies` output."
                )
            invalid_by_id = {entry.get("id"): entry for entry in message.meta.get("invalid_tool_calls") or []}
            jobs.extend((call, invalid_by_id.get(call.id)) for call in message.tool_calls)
        return self.invoke_calls(jobs, state)

    def invoke_calls(
        self, jobs: list[tuple[ToolCall, dict[str, Any] | None]], state: dict[str, Any] | None = None
    ) -> list[ToolCallOutcome]:
        """Invoke tool calls (each with its ``invalid_tool_calls`` entry or None), in parallel when several;
        the outcomes keep the order of ``jobs``."""
        if len(jobs) <= 1:
            return [self.invoke_call(call, state, invalid) for call, invalid in jobs]
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(jobs))) as pool:
            # each call runs in a copy of this context, so its tool span nests under the current span
            futures = [
                pool.submit(contextvars.copy_context().run, self.invoke_call, call, state, invalid)
                for call, invalid in jobs
            ]
            return [future.result() for future in futures]

    # -- component API ---------------------------------------------------------------------------------------
    @component.output_types(tool_messages=list[ChatMessage])
    def run(self, messages: list[ChatMessage]) -> dict[str, Any]:
        """Invoke the tool calls found in ``messages``.

        Returns:
            ``{"tool_messages": [ChatMessage]}``: one tool message per call, in call order (empty when the
            messages hold no tool calls).

        Raises:
            ComponentError: with ``raise_on_failure``, on the first failing call; always, when an item is not
                a ChatMessage.
        """
        return {"tool_messages": [outcome.message for outcome in self.invoke_messages(messages)]}

    @component.output_types(tool_messages=list[ChatMessage])
    async def run_async(self, messages: list[ChatMessage]) -> dict[str, Any]:
        """Async :meth:`run`: the calls run on worker threads, off the event loop."""
        return await asyncio.to_thread(self.run, messages)

    def to_dict(self) -> dict[str, Any]:
        """Serialize, tools included (functions by import path)."""
        return default_to_dict(
            self,
            tools=serialize_tools(self.tools),
            raise_on_failure=self.raise_on_failure,
            convert_result_to_json_string=self.convert_result_to_json_string,
            max_workers=self.max_workers,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolInvoker:
        """Build from :meth:`to_dict` output."""
        params = dict(data.get("init_parameters") or {})
        params["tools"] = deserialize_tools(params.get("tools"))
        return default_from_dict(cls, {**data, "init_parameters": params})


def _state_updates(tool: Tool, result: Any) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    for state_key, result_key in tool.outputs_to_state.items():
        if not result_key:
            updates[state_key] = result
        elif isinstance(result, dict) and result_key in result:
            updates[state_key] = result[result_key]
    return updates


async def _await(awaitable: Any) -> Any:
    return await awaitable

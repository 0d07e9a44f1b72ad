"""The OpenAI chat-completions wire format: messages and tools out, replies and streamed deltas back in.

Shared by :class:`OpenAIChatGenerator` and :class:`LlamaCppChatGenerator` (llama-cpp-python returns the same
shapes as plain dicts).

Malformed tool-call arguments: when a model sends arguments that are not a JSON object, the reply still holds
the :class:`ToolCall` (with empty arguments) and its ``meta["invalid_tool_calls"]`` lists
``{"id", "tool_name", "arguments", "error"}`` for it. :class:`~haybale.components.tools.ToolInvoker` answers
such calls with a tool error message quoting the raw text, so the model can retry instead of the run crashing.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from haybale.dataclasses import ChatMessage, StreamingChunk, ToolCall
from haybale.errors import ComponentError
from haybale.tools import Tool

__all__ = [
    "ChatStreamAssembler",
    "StreamingCallback",
    "check_sync_callback",
    "forward_chunk",
    "messages_to_openai",
    "parse_tool_arguments",
    "reply_from_openai_choice",
    "tools_to_openai",
]

#: Receives each :class:`StreamingChunk` as it arrives (``run_async`` awaits async callbacks).
StreamingCallback = Callable[[StreamingChunk], Awaitable[None] | None]


def check_sync_callback(callback: StreamingCallback | None, where: str) -> None:
    """Refuse an async streaming callback in a synchronous ``run`` (it could never be awaited there).

    Raises:
        ComponentError: naming ``where`` and the fix.
    """
    target = getattr(callback, "__call__", None) if callback is not None else None  # noqa: B004
    if callback is not None and (
        inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(target)
    ):
        raise _async_callback_error(where)


def _async_callback_error(where: str) -> ComponentError:
    return ComponentError(
        f"{where}.run got an async streaming_callback; use run_async for async callbacks, or pass "
        "a plain function."
    )


def forward_chunk(callback: StreamingCallback, chunk: StreamingChunk, where: str) -> None:
    """Call a synchronous streaming callback; an awaitable result is closed and refused."""
    outcome = callback(chunk)
    if inspect.isawaitable(outcome):
        close = getattr(outcome, "close", None)
        if callable(close):
            close()  # never awaited: close it so no "coroutine was never awaited" warning leaks
        raise _async_callback_error(where)


def messages_to_openai(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Convert chat messages to the OpenAI wire format.

    Raises:
        TypeError: when an item is not a ChatMessage (names its position).
    """
    out = []
    for position, message in enumerate(messages):
        if not isinstance(message, ChatMessage):
            raise TypeError(
                f"messages[{position}] is a {type(message).__name__}, not a ChatMessage. Build messages with "
                "ChatMessage.from_user('...') / from_system / from_assistant."
            )
        out.append(message.to_openai_format())
    return out


def tools_to_openai(tools: list[Tool] | None) -> list[dict[str, Any]] | None:
    """Convert tools to the OpenAI ``tools`` parameter (None when there are none)."""
    if not tools:
        return None
    names = [t.name for t in tools]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Tool names must be unique; duplicated: {duplicates}. Rename one of them.")
    return [t.tool_spec for t in tools]


def parse_tool_arguments(raw: str | dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """Parse a tool call's arguments into ``(arguments, error)``; ``error`` says why parsing failed."""
    if isinstance(raw, dict):
        return raw, None
    if raw is None or not raw.strip():
        return {}, None
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        return {}, f"arguments are not valid JSON ({error.msg} at position {error.pos})"
    if not isinstance(parsed, dict):
        return {}, f"arguments must be a JSON object, got {type(parsed).__name__}"
    return parsed, None


def _tool_calls_from_wire(
    wire_calls: Iterable[dict[str, Any]],
) -> tuple[list[ToolCall], list[dict[str, Any]]]:
    calls: list[ToolCall] = []
    invalid: list[dict[str, Any]] = []
    for wire in wire_calls:
        function = wire.get("function") or {}
        name = function.get("name") or ""
        raw = function.get("arguments")
        arguments, error = parse_tool_arguments(raw)
        call = ToolCall(tool_name=name, arguments=arguments, id=wire.get("id"))
        calls.append(call)
        if error is not None:
            invalid.append({"id": call.id, "tool_name": name, "arguments": raw, "error": error})
    return calls, invalid


def reply_from_openai_choice(
    choice: dict[str, Any], model: str | None, usage: dict[str, Any] | None
) -> ChatMessage:
    """Build the assistant reply from one non-streamed ``choices[i]`` dict."""
    message = choice.get("message") or {}
    calls, invalid = _tool_calls_from_wire(message.get("tool_calls") or [])
    meta: dict[str, Any] = {
        "model": model,
        "index": choice.get("index", 0),
        "finish_reason": choice.get("finish_reason"),
        "usage": dict(usage or {}),
    }
    if invalid:
        meta["invalid_tool_calls"] = invalid
    return ChatMessage.from_assistant(text=message.get("content"), meta=meta, tool_calls=calls)


@dataclass
class _PartialToolCall:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChatStreamAssembler:
    """Turns streamed chat-completion chunks (as dicts) into :class:`StreamingChunk` s and the final reply.

    One assembler per request: feed every chunk to :meth:`add` (it returns the increment to stream, if any),
    then call :meth:`reply`.
    """

    def __init__(self) -> None:
        self._text: list[str] = []
        self._calls: dict[int, _PartialToolCall] = {}
        self._finish_reason: str | None = None
        self._model: str | None = None
        self._usage: dict[str, Any] = {}

    def add(self, chunk: dict[str, Any]) -> StreamingChunk | None:
        """Consume one ``chat.completion.chunk`` dict; return the increment to stream (None when empty)."""
        increment: StreamingChunk | None = None
        self._model = chunk.get("model") or self._model
        if chunk.get("usage"):
            self._usage = dict(chunk["usage"])
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content") or ""
            if text:
                self._text.append(text)
            for wire in delta.get("tool_calls") or []:
                self._add_tool_call_delta(wire)
            finish = choice.get("finish_reason")
            if finish:
                self._finish_reason = finish
            if text or finish:
                completed = self._completed_calls() if finish else None
                increment = StreamingChunk(
                    content=text,
                    meta={"model": self._model, "index": 0},
                    finish_reason=finish,
                    tool_calls=completed or None,
                )
        return increment

    def _add_tool_call_delta(self, wire: dict[str, Any]) -> None:
        partial = self._calls.setdefault(int(wire.get("index", len(self._calls))), _PartialToolCall())
        if wire.get("id"):
            partial.id = wire["id"]
        function = wire.get("function") or {}
        if function.get("name"):
            partial.name += function["name"]
        if function.get("arguments"):
            partial.arguments.append(function["arguments"])

    def _wire_calls(self) -> list[dict[str, Any]]:
        return [
            {"id": p.id, "function": {"name": p.name, "arguments": "".join(p.arguments)}}
            for _, p in sorted(self._calls.items())
        ]

    def _completed_calls(self) -> list[ToolCall]:
        calls, _ = _tool_calls_from_wire(self._wire_calls())
        return calls

    def reply(self) -> ChatMessage:
        """The assembled assistant reply with model, finish_reason and usage in its meta."""
        calls, invalid = _tool_calls_from_wire(self._wire_calls())
        meta: dict[str, Any] = {
            "model": self._model,
            "index": 0,
            "finish_reason": self._finish_reason,
            "usage": dict(self._usage),
        }
        if invalid:
            meta["invalid_tool_calls"] = invalid
        text = "".join(self._text) if self._text or not calls else None
        return ChatMessage.from_assistant(text=text, meta=meta, tool_calls=calls)

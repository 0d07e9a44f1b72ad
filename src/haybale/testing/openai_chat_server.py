"""Chat completions for the OpenAI-compatible test server: ``POST /v1/chat/completions`` and its backends.

:func:`add_chat_completions_routes` serves the chat-completions wire protocol (non-streaming JSON, and SSE
streaming with ``tool_calls`` deltas split the way real servers split them), so the official ``openai`` client
and :class:`~haybale.components.generators.OpenAIChatGenerator` talk to it exactly as to a production server.
:func:`haybale.testing.openai_compatible_server.create_openai_compatible_app` installs it when given
``chat_backend=``. Replies come from a backend:

- :class:`ChatGeneratorBackend` wraps any haybale chat generator (for example the local SmolLM2
  :class:`~haybale.components.generators.LlamaCppChatGenerator`): real generation.
- :class:`ScriptedChatBackend` returns prepared replies in order (text or tool calls) and records every
  request: for testing the tool-call protocol and agents deterministically, since small local models do not
  call tools reliably.

Usage::

    backend = ScriptedChatBackend([ChatMessage.from_assistant("hi")])
    with OpenAICompatibleServer(create_openai_compatible_app(chat_backend=backend)) as server:
        OpenAIChatGenerator(api_key=Secret.from_token("x"), base_url=server.base_url, model="m").run(...)

A scripted :class:`ToolCall` whose arguments hold ``{"__raw__": "<text>"}`` is sent with that raw text as its
arguments, to test how clients handle malformed JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from haybale.dataclasses import ChatMessage, ChatRole, ToolCall

__all__ = [
    "ChatBackend",
    "ChatGeneratorBackend",
    "ScriptedChatBackend",
    "add_chat_completions_routes",
    "message_from_openai",
    "serve_chat_backend",
]

#: A backend answers ``(messages, tools_in_wire_format, generation_kwargs)`` with one assistant reply.
ChatBackend = Callable[[list[ChatMessage], list[dict[str, Any]] | None, dict[str, Any]], ChatMessage]


def message_from_openai(wire: dict[str, Any], known_calls: dict[str, ToolCall]) -> ChatMessage:
    """Convert one wire-format message to a ChatMessage; ``known_calls`` maps tool-call ids seen so far."""
    role = ChatRole.from_str(wire["role"])
    content = wire.get("content")
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if role == ChatRole.TOOL:
        call_id = wire.get("tool_call_id")
        origin = known_calls.get(call_id or "", ToolCall(tool_name="", id=call_id))
        return ChatMessage.from_tool(content or "", origin)
    if role == ChatRole.ASSISTANT:
        calls = []
        for wire_call in wire.get("tool_calls") or []:
            function = wire_call.get("function") or {}
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except json.JSONDecodeError:
                arguments = {}
            call = ToolCall(function.get("name", ""), arguments if isinstance(arguments, dict) else {})
            call.id = wire_call.get("id")
            known_calls[call.id or ""] = call
            calls.append(call)
        return ChatMessage.from_assistant(content, tool_calls=calls, name=wire.get("name"))
    if role == ChatRole.SYSTEM:
        return ChatMessage.from_system(content or "", name=wire.get("name"))
    return ChatMessage.from_user(content or "", name=wire.get("name"))


class ChatGeneratorBackend:
    """Answers with a haybale chat generator (anything with ``run(messages, generation_kwargs=...)``)."""

    def __init__(self, generator: Any) -> None:
        self.generator = generator
        # The wrapped generator may not be thread-safe; uvicorn serves sync endpoints from a thread pool.
        self._lock = threading.Lock()

    def __call__(
        self,
        messages: list[ChatMessage],
        tools: list[dict[str, Any]] | None,
        generation_kwargs: dict[str, Any],
    ) -> ChatMessage:
        """Generate one reply."""
        with self._lock:
            result = self.generator.run(messages=messages, generation_kwargs=generation_kwargs)
        reply: ChatMessage = result["replies"][0]
        return reply


class ScriptedChatBackend:
    """Answers with prepared replies, in order, and records each request.

    Args:
        script: replies (ChatMessage) or functions ``(messages, tools) -> ChatMessage`` computing a reply
            from the request. When the script is used up, the last step repeats.

    Attributes:
        requests: every request received: ``{"messages": [ChatMessage], "tools": [...], "kwargs": {...}}``.
    """

    def __init__(self, script: list[Any]) -> None:
        if not script:
            raise ValueError("ScriptedChatBackend needs at least one scripted reply.")
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(
        self,
        messages: list[ChatMessage],
        tools: list[dict[str, Any]] | None,
        generation_kwargs: dict[str, Any],
    ) -> ChatMessage:
        """Return the next scripted reply."""
        with self._lock:
            step = self.script[min(len(self.requests), len(self.script) - 1)]
            self.requests.append({"messages": messages, "tools": tools, "kwargs": generation_kwargs})
        if callable(step):
            reply: ChatMessage = step(messages, tools)
            return reply
        return step  # type: ignore[no-any-return]


def _arguments_text(call: ToolCall) -> str:
    # A scripted call may carry raw (possibly malformed) argument text under the "__raw__" key.
    raw = call.arguments.get("__raw__")
    return raw if isinstance(raw, str) else json.dumps(call.arguments)


def _usage(messages: list[ChatMessage], reply: ChatMessage) -> dict[str, int]:
    usage = reply.meta.get("usage") or {}
    if usage.get("prompt_tokens") is not None:
        prompt, completion = int(usage["prompt_tokens"]), int(usage.get("completion_tokens") or 0)
    else:  # scripted replies: count words, which is all a test double can honestly claim
        prompt = sum(len(" ".join(m.texts).split()) for m in messages)
        completion = len(" ".join(reply.texts).split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _finish_reason(reply: ChatMessage) -> str:
    if reply.tool_calls:
        return "tool_calls"
    return str(reply.meta.get("finish_reason") or "stop")


def _completion_body(model: str, messages: list[ChatMessage], reply: ChatMessage) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "\n".join(reply.texts) if reply.texts else None,
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id or f"call_{index}",
                "type": "function",
                "function": {"name": call.tool_name, "arguments": _arguments_text(call)},
            }
            for index, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": _finish_reason(reply), "logprobs": None}
        ],
        "usage": _usage(messages, reply),
    }


def _stream_events(
    model: str, messages: list[ChatMessage], reply: ChatMessage, include_usage: bool
) -> Iterator[str]:
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def event(delta: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None) -> str:
        body: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage:
            body["usage"] = usage
        return f"data: {json.dumps(body)}\n\n"

    yield event({"role": "assistant", "content": ""})
    text = "\n".join(reply.texts)
    pieces = text.split(" ")
    for index, piece in enumerate(pieces):
        if piece or index:
            yield event({"content": piece if index == 0 else " " + piece})
    for index, call in enumerate(reply.tool_calls):
        arguments = _arguments_text(call)
        half = len(arguments) // 2
        # Like real servers: the id and name arrive first, the arguments in several fragments.
        yield event(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call.id or f"call_{index}",
                        "type": "function",
                        "function": {"name": call.tool_name, "arguments": ""},
                    }
                ]
            }
        )
        for fragment in (arguments[:half], arguments[half:]):
            yield event({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    yield event({}, finish=_finish_reason(reply))
    if include_usage:
        yield event({}, usage=_usage(messages, reply))
    yield "data: [DONE]\n\n"


def add_chat_completions_routes(app: Any, backend: ChatBackend, model_name: str = "haybale-local") -> None:
    """Serve ``POST /v1/chat/completions`` on ``app`` from ``backend``."""
    from fastapi.responses import JSONResponse, StreamingResponse

    generation_keys = ("max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "seed")

    def invalid(message: str) -> Any:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
        return JSONResponse(body, status_code=400)

    async def chat_completions(request: Any) -> Any:
        try:
            body = await request.json()
        except ValueError:
            return invalid("The request body is not valid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
            return invalid("'messages' must be a non-empty list.")
        known: dict[str, ToolCall] = {}
        try:
            messages = [message_from_openai(m, known) for m in body["messages"]]
        except (KeyError, ValueError, TypeError, AttributeError) as error:
            return invalid(f"Invalid message: {error}")
        kwargs = {k: body[k] for k in generation_keys if body.get(k) is not None}
        if "max_completion_tokens" in kwargs:
            kwargs["max_tokens"] = kwargs.pop("max_completion_tokens")
        reply = await asyncio.to_thread(backend, messages, body.get("tools"), kwargs)
        model = body.get("model") or model_name
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = _stream_events(model, messages, reply, include_usage)
            return StreamingResponse(events, media_type="text/event-stream")
        return JSONResponse(_completion_body(model, messages, reply))

    app.router.add_route("/v1/chat/completions", chat_completions, methods=["POST"])


@contextlib.contextmanager
def serve_chat_backend(
    backend: ChatBackend, model_name: str = "haybale-local", faults: Any = None, api_key: str | None = None
) -> Iterator[Any]:
    """Serve ``backend`` on a free 127.0.0.1 port; yield the running
    :class:`~haybale.testing.openai_compatible_server.OpenAICompatibleServer` (use its ``base_url``).

    Args:
        backend: answers chat requests.
        model_name: listed by ``/v1/models`` and used when a request names no model.
        faults: a :class:`~haybale.testing.openai_compatible_server.FaultInjection` (failures, stalls).
        api_key: require this bearer key.
    """
    from haybale.testing.openai_compatible_server import OpenAICompatibleServer, create_openai_compatible_app

    app = create_openai_compatible_app(
        chat_backend=backend, model_names=[model_name], faults=faults, api_key=api_key
    )
    with OpenAICompatibleServer(app) as server:
        yield server

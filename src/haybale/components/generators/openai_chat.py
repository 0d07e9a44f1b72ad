"""OpenAIChatGenerator: chat completions from OpenAI or any OpenAI-compatible server (vLLM, Ollama, ...)."""

from __future__ import annotations

import inspect
import threading
from typing import Any

from haybale.components.generators.chat_serialization import (
    deserialize_callback_and_tools,
    serialize_streaming_callback,
)
from haybale.components.generators.openai_format import (
    ChatStreamAssembler,
    StreamingCallback,
    check_sync_callback,
    forward_chunk,
    messages_to_openai,
    reply_from_openai_choice,
    tools_to_openai,
)
from haybale.core.component import component
from haybale.core.secret import Secret, deserialize_secrets_inplace
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import ChatMessage
from haybale.errors import ComponentError, ExternalServiceError, optional_dependency
from haybale.tools import Tool, serialize_tools

__all__ = ["ChatEndpointError", "OpenAIChatGenerator"]

_OPENAI_DEFAULT_MAX_RETRIES = 2
_NAME = "OpenAIChatGenerator"
# Sent when the key secret is optional and unset: local servers ignore it, the client insists on one.
_PLACEHOLDER_KEY = "no-key-set"


#: Statuses by which a server refuses the request itself (its content), not this generator's configuration.
_REQUEST_REFUSED = frozenset({400, 413, 422})
#: Statuses meaning the generator's settings (key, permissions, model, URL) are wrong: a retry cannot help.
_MISCONFIGURED = frozenset({401, 403, 404})


class ChatEndpointError(ExternalServiceError):
    """An OpenAI-compatible chat endpoint failed: unreachable or timing out after the retries, a server
    error, or an answer meaning the generator is misconfigured (``retryable`` is then False)."""


@component
class OpenAIChatGenerator:
    """Generates chat replies through the official ``openai`` client.

    Works with OpenAI and any server speaking the chat-completions API: set ``base_url`` (for example
    ``http://localhost:8000/v1`` for vLLM, ``http://localhost:11434/v1`` for Ollama).

    Replies carry ``meta["model"]``, ``meta["finish_reason"]`` and ``meta["usage"]``. Tool calls come back as
    :class:`ToolCall` parts; arguments that are not a JSON object are reported in
    ``meta["invalid_tool_calls"]`` (see :mod:`haybale.components.generators.openai_format`).

    Failures name the endpoint. A server that is down or keeps timing out fails after ``max_retries``
    retries (the client backs off between attempts) with a :class:`ChatEndpointError`, as do 5xx, 429 and
    the answers that mean this generator is misconfigured (401, 403, 404: ``retryable`` False); the server
    refusing the request itself (400, 413, 422: a prompt too long, a parameter out of range) is a
    :class:`ComponentError`. HTTP errors name the status and the server's message.

    Args:
        api_key: the API key. With ``Secret.from_env_var(..., strict=False)`` and the variable unset, a
            placeholder is sent (servers without authentication ignore it).
        model: the model name the server knows.
        base_url: the server's ``/v1`` URL; None means api.openai.com (or ``OPENAI_BASE_URL``).
        streaming_callback: called with each :class:`StreamingChunk`; can be overridden per run.
        generation_kwargs: defaults for ``chat.completions.create`` (``max_tokens``, ``temperature``, ...).
        timeout: seconds per request attempt; None uses the client default (600 s).
        max_retries: retries after a connection error, timeout, 429 or 5xx; None uses the client default (2).
        tools: tools offered to the model.
        http_client_kwargs: keyword arguments for the underlying HTTP client (proxies, limits, verify, ...).
    """

    def __init__(  # noqa: PLR0917 - positional order mirrors Haystack's generator so ports keep working
        self,
        api_key: Secret = Secret.from_env_var("OPENAI_API_KEY"),  # noqa: B008 - immutable dataclass
        model: str = "gpt-4o-mini",
        base_url: str | None = None,
        streaming_callback: StreamingCallback | None = None,
        generation_kwargs: dict[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        tools: list[Tool] | None = None,
        http_client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(api_key, Secret):
            raise ComponentError(
                "OpenAIChatGenerator: api_key must be a Secret, e.g. Secret.from_env_var('OPENAI_API_KEY'); "
                f"got {type(api_key).__name__}."
            )
        if max_retries is not None and (not isinstance(max_retries, int) or max_retries < 0):
            raise ComponentError(
                f"OpenAIChatGenerator: max_retries must be an int >= 0, got {max_retries!r}."
            )
        if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
            raise ComponentError(f"OpenAIChatGenerator: timeout must be a positive number, got {timeout!r}.")
        self.api_key = api_key
        self.model = model
        self.base_url = base_url
        self.streaming_callback = streaming_callback
        self.generation_kwargs = dict(generation_kwargs or {})
        self.timeout = timeout
        self.max_retries = max_retries
        self.tools = list(tools) if tools else None
        self.http_client_kwargs = dict(http_client_kwargs) if http_client_kwargs else None
        tools_to_openai(self.tools)  # validates unique names now rather than at the first request
        self._client: Any = None
        self._warm_lock = threading.Lock()

    # -- clients ---------------------------------------------------------------------------------------------
    def _client_kwargs(self) -> dict[str, Any]:
        try:
            key = self.api_key.resolve_value()
        except ValueError as error:
            raise ComponentError(f"OpenAIChatGenerator has no API key: {error}") from error
        kwargs: dict[str, Any] = {"api_key": key or _PLACEHOLDER_KEY}
        if self.base_url is not None:
            kwargs["base_url"] = self.base_url
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        if self.max_retries is not None:
            kwargs["max_retries"] = self.max_retries
        return kwargs

    def warm_up(self) -> None:
        """Create the sync client (idempotent; no network traffic).

        The async client is created per :meth:`run_async` call and closed at its end: an HTTP connection pool
        belongs to one event loop, and one component instance may serve several loops.

        Raises:
            MissingDependencyError: the ``openai`` package is missing.
            ComponentError: the API key secret cannot be resolved.
        """
        with self._warm_lock:
            if self._client is not None:
                return
            openai = _import_openai()
            extra = self.http_client_kwargs or {}
            sync_http = openai.DefaultHttpxClient(**extra) if extra else None
            self._client = openai.OpenAI(**self._client_kwargs(), http_client=sync_http)

    def _new_async_client(self) -> Any:
        openai = _import_openai()
        extra = self.http_client_kwargs or {}
        async_http = openai.DefaultAsyncHttpxClient(**extra) if extra else None
        return openai.AsyncOpenAI(**self._client_kwargs(), http_client=async_http)

    def _endpoint(self) -> str:
        return self.base_url or "the OpenAI API (https://api.openai.com/v1)"

    def _translate_error(self, error: Exception) -> Exception:
        import openai

        retries = _OPENAI_DEFAULT_MAX_RETRIES if self.max_retries is None else self.max_retries
        attempts = f"{retries + 1} attempt(s) ({retries} retries)"
        where = self._endpoint()
        if isinstance(error, openai.APITimeoutError):
            return ChatEndpointError(
                f"OpenAIChatGenerator: requests to {where} timed out after {attempts}, "
                f"timeout={self.timeout if self.timeout is not None else 'client default'} s each. Check the "
                "server is healthy, or raise `timeout` / `max_retries`."
            )
        if isinstance(error, openai.APIConnectionError):
            return ChatEndpointError(
                f"OpenAIChatGenerator: cannot connect to {where} after {attempts}: {error}. Check the server "
                "is running and `base_url` is right (for `haybale ask`: HAYBALE_LLM_BASE_URL), e.g. "
                "base_url='http://localhost:8000/v1'."
            )
        if isinstance(error, openai.APIStatusError):
            hint = {
                401: "Check the API key (api_key / HAYBALE_LLM_API_KEY / OPENAI_API_KEY).",
                403: "The key lacks permission for this model.",
                404: f"Check the model name ({self.model!r}) and that base_url ends in /v1.",
                429: "Rate limited: slow down or raise max_retries.",
            }.get(error.status_code, "See the server's message above.")
            message = (
                f"OpenAIChatGenerator: {where} answered HTTP {error.status_code} for model {self.model!r}: "
                f"{error.message}. {hint}"
            )
            if error.status_code in _REQUEST_REFUSED:
                return ComponentError(message)
            return ChatEndpointError(
                message, status_code=error.status_code, retryable=error.status_code not in _MISCONFIGURED
            )
        return error

    def _request(
        self,
        messages: list[ChatMessage],
        generation_kwargs: dict[str, Any] | None,
        tools: list[Tool] | None,
        stream: bool,
    ) -> dict[str, Any]:
        if not messages:
            raise ComponentError("OpenAIChatGenerator.run needs at least one message; got an empty list.")
        request: dict[str, Any] = {
            **self.generation_kwargs,
            **(generation_kwargs or {}),
            "model": self.model,
            "messages": messages_to_openai(messages),
        }
        wire_tools = tools_to_openai(tools if tools is not None else self.tools)
        if wire_tools:
            request["tools"] = wire_tools
        if stream:
            request["stream"] = True
            request.setdefault("stream_options", {"include_usage": True})
        return request

    @staticmethod
    def _replies(completion: dict[str, Any]) -> dict[str, Any]:
        model, usage = completion.get("model"), completion.get("usage")
        return {
            "replies": [reply_from_openai_choice(c, model, usage) for c in completion.get("choices") or []]
        }

    # -- run -------------------------------------------------------------------------------------------------
    @component.output_types(replies=list[ChatMessage])
    def run(
        self,
        messages: list[ChatMessage],
        streaming_callback: StreamingCallback | None = None,
        generation_kwargs: dict[str, Any] | None = None,
        tools: list[Tool] | None = None,
    ) -> dict[str, Any]:
        """Send ``messages`` and return the model's replies.

        Args:
            messages: the conversation.
            streaming_callback: receives each chunk as it arrives (overrides the init one); enables streaming.
            generation_kwargs: per-run overrides of the init generation_kwargs.
            tools: per-run tools (override the init ones).

        Returns:
            ``{"replies": [ChatMessage, ...]}`` (one per choice; streaming returns one).

        Raises:
            ComponentError: empty messages, no API key, or the server refused the request (HTTP 400/413/422).
            ChatEndpointError: the endpoint is unreachable or timing out after the retries, or answered
                another HTTP error.
        """
        callback = streaming_callback or self.streaming_callback
        check_sync_callback(callback, _NAME)
        request = self._request(messages, generation_kwargs, tools, stream=callback is not None)
        if self._client is None:
            self.warm_up()
        openai = _import_openai()

        try:
            if callback is None:
                return self._replies(self._client.chat.completions.create(**request).model_dump())
            assembler = ChatStreamAssembler()
            with self._client.chat.completions.create(**request) as stream:
                for chunk in stream:
                    increment = assembler.add(chunk.model_dump())
                    if increment is not None:
                        forward_chunk(callback, increment, _NAME)
        except openai.OpenAIError as error:
            raise self._translate_error(error) from error
        return {"replies": [assembler.reply()]}

    @component.output_types(replies=list[ChatMessage])
    async def run_async(
        self,
        messages: list[ChatMessage],
        streaming_callback: StreamingCallback | None = None,
        generation_kwargs: dict[str, Any] | None = None,
        tools: list[Tool] | None = None,
    ) -> dict[str, Any]:
        """Async :meth:`run` on the async client; the callback may be a plain or an async function."""
        callback = streaming_callback or self.streaming_callback
        request = self._request(messages, generation_kwargs, tools, stream=callback is not None)
        openai = _import_openai()
        try:
            async with self._new_async_client() as client:
                if callback is None:
                    completion = await client.chat.completions.create(**request)
                    return self._replies(completion.model_dump())
                assembler = ChatStreamAssembler()
                stream = await client.chat.completions.create(**request)
                async with stream:
                    async for chunk in stream:
                        increment = assembler.add(chunk.model_dump())
                        if increment is not None:
                            outcome = callback(increment)
                            if inspect.isawaitable(outcome):
                                await outcome
        except openai.OpenAIError as error:
            raise self._translate_error(error) from error
        return {"replies": [assembler.reply()]}

    # -- serialization ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Serialize; the key is stored as an env-var reference, the callback by import path."""
        return default_to_dict(
            self,
            api_key=self.api_key.to_dict(),
            model=self.model,
            base_url=self.base_url,
            streaming_callback=serialize_streaming_callback(self.streaming_callback),
            generation_kwargs=self.generation_kwargs,
            timeout=self.timeout,
            max_retries=self.max_retries,
            tools=serialize_tools(self.tools),
            http_client_kwargs=self.http_client_kwargs,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenAIChatGenerator:
        """Build from :meth:`to_dict` output."""
        params = dict(data.get("init_parameters") or {})
        data = {**data, "init_parameters": params}
        deserialize_secrets_inplace(params, keys=["api_key"])
        deserialize_callback_and_tools(params)
        return default_from_dict(cls, data)


def _import_openai() -> Any:
    with optional_dependency("openai", extra="openai", feature="OpenAIChatGenerator"):
        import openai
    return openai

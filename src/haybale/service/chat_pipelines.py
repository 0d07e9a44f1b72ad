"""Served YAML pipelines as OpenAI chat models: which pipelines can chat, what a conversation feeds them, and
what their reply is.

A served pipeline can be chatted with (``"model": "<pipeline name>"`` on ``/v1/chat/completions``) when the
conversation can fill every input it requires:

* a free input typed as a list of :class:`~haybale.dataclasses.ChatMessage` receives the whole conversation;
* a free text input named like a question (``query``, ``question``, ``prompt``, ``text``, ``user_message``,
  ``message``) receives the last user message;
* a free ``generation_kwargs`` input receives the request's sampling options (``max_tokens``,
  ``temperature``...).

The reply is the first ``replies`` output (chat messages or strings) of the result, else the first
``answers`` output; ``documents`` outputs become the response's ``sources``. A pipeline whose required inputs
a conversation cannot fill is not listed by ``/v1/models`` and is refused with the inputs it needs, pointing
to ``POST /pipelines/{name}/run``.
"""

from __future__ import annotations

import typing
from typing import Any

from haybale.dataclasses import ChatMessage
from haybale.service.errors import ServiceError

__all__ = ["QUESTION_INPUTS", "can_chat", "chat_run_data", "conversation_messages", "reply_of", "sources_of"]

#: Free text inputs that receive the last user message.
QUESTION_INPUTS = frozenset({"query", "question", "prompt", "text", "user_message", "message"})
_ROLES = {"system", "user", "assistant"}


def conversation_messages(messages: list[Any]) -> list[ChatMessage]:
    """The request's messages as haybale chat messages (system, user and assistant text)."""
    converted = []
    for index, message in enumerate(messages):
        if message.role not in _ROLES:
            raise ServiceError(
                422,
                f"messages[{index}] has role {message.role!r}; pipeline models take the roles "
                f"{sorted(_ROLES)} (tool results belong to the pipeline's own agent loop).",
            )
        make = {
            "system": ChatMessage.from_system,
            "user": ChatMessage.from_user,
            "assistant": ChatMessage.from_assistant,
        }[message.role]
        converted.append(make(message.text()))
    return converted


def _mentions(annotation: Any, kind: type) -> bool:
    if annotation is kind:
        return True
    return any(_mentions(arg, kind) for arg in typing.get_args(annotation))


def _takes_messages(annotation: Any) -> bool:
    return typing.get_origin(annotation) is list and _mentions(annotation, ChatMessage)


def _takes_text(annotation: Any) -> bool:
    return annotation is Any or _mentions(annotation, str)


def _chat_sockets(pipeline: Any) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The free inputs a conversation fills, as ``(component, socket, kind)`` with kind ``messages``,
    ``question`` or ``generation_kwargs``, and the mandatory inputs it cannot fill."""
    fed: list[tuple[str, str, str]] = []
    unfilled: list[str] = []
    for component, sockets in pipeline.inputs().items():
        for socket, info in sockets.items():
            annotation = info.get("type", Any)
            if _takes_messages(annotation):
                fed.append((component, socket, "messages"))
            elif socket in QUESTION_INPUTS and _takes_text(annotation):
                fed.append((component, socket, "question"))
            elif socket == "generation_kwargs" and not info.get("is_mandatory"):
                fed.append((component, socket, "generation_kwargs"))
            elif info.get("is_mandatory"):
                unfilled.append(f"{component}.{socket}")
    return fed, unfilled


def _feeds(fed: list[tuple[str, str, str]], unfilled: list[str]) -> bool:
    return not unfilled and any(kind != "generation_kwargs" for _, _, kind in fed)


def can_chat(pipeline: Any) -> bool:
    """Whether a conversation fills every input ``pipeline`` requires (and feeds it something)."""
    return _feeds(*_chat_sockets(pipeline))


def chat_run_data(
    pipeline: Any, name: str, messages: list[ChatMessage], generation_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Nested run inputs that feed a conversation to ``pipeline``.

    Raises:
        ServiceError: 422 when the pipeline requires inputs a conversation cannot fill (named in the
            message).
    """
    fed, unfilled = _chat_sockets(pipeline)
    if not _feeds(fed, unfilled):
        needs = f"it requires {', '.join(unfilled)}" if unfilled else "it takes no question or messages"
        raise ServiceError(
            422,
            f"The pipeline {name!r} cannot be used as a chat model: {needs}, which a conversation does not "
            "fill. Chat inputs are a list[ChatMessage] input or text inputs named "
            f"{sorted(QUESTION_INPUTS)}. "
            f"Run it with POST /pipelines/{name}/run instead.",
        )
    question = next((m.text or "" for m in reversed(messages) if m.role.value == "user"), "")
    data: dict[str, dict[str, Any]] = {}
    for component, socket, kind in fed:
        if kind == "messages":
            data.setdefault(component, {})[socket] = list(messages)
        elif kind == "question":
            data.setdefault(component, {})[socket] = question
        elif generation_kwargs:
            data.setdefault(component, {})[socket] = dict(generation_kwargs)
    return data


def _outputs(result: dict[str, Any], key: str) -> list[Any]:
    return [outputs[key] for outputs in result.values() if isinstance(outputs, dict) and key in outputs]


def reply_of(result: dict[str, Any]) -> tuple[str, ChatMessage | None]:
    """The reply text of a pipeline result, and the chat message it came from (for usage and finish
    reason)."""
    for replies in _outputs(result, "replies"):
        if isinstance(replies, list) and replies:
            first = replies[0]
            if isinstance(first, ChatMessage):
                return first.text or "", first
            return str(first), None
    for answers in _outputs(result, "answers"):
        if isinstance(answers, list) and answers:
            data = getattr(answers[0], "data", answers[0])
            return ("" if data is None else str(data)), None
    return "", None


def sources_of(result: dict[str, Any]) -> list[Any]:
    """The documents a pipeline result returned (every ``documents`` output, in order)."""
    found: list[Any] = []
    for documents in _outputs(result, "documents"):
        if isinstance(documents, list):
            found.extend(documents)
    return found

"""Chat messages for chat generators, tools and agents: text, tool calls and tool results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["ChatMessage", "ChatRole", "ContentPart", "TextContent", "ToolCall", "ToolCallResult"]


class ChatRole(str, Enum):
    """Who authored a chat message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"

    @classmethod
    def from_str(cls, value: str) -> ChatRole:
        """Parse a role name; raises ValueError listing the valid roles."""
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(r.value for r in cls)
            raise ValueError(f"Unknown chat role {value!r}; valid roles are: {valid}.") from None


@dataclass
class ToolCall:
    """A model's request to call a tool with arguments."""

    tool_name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        return {"tool_name": self.tool_name, "arguments": dict(self.arguments), "id": self.id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        """Build from :meth:`to_dict` output."""
        return cls(
            tool_name=data["tool_name"], arguments=dict(data.get("arguments") or {}), id=data.get("id")
        )


@dataclass
class ToolCallResult:
    """The result of invoking a tool, sent back to the model. ``error`` marks a failed invocation."""

    result: str
    origin: ToolCall
    error: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        return {"result": self.result, "origin": self.origin.to_dict(), "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCallResult:
        """Build from :meth:`to_dict` output."""
        return cls(
            result=data["result"], origin=ToolCall.from_dict(data["origin"]), error=bool(data.get("error"))
        )


@dataclass
class TextContent:
    """A text part of a message."""

    text: str


ContentPart = TextContent | ToolCall | ToolCallResult


@dataclass
class ChatMessage:
    """One message of a conversation. Build with the ``from_*`` class methods.

    Attributes:
        role: the author.
        content: ordered parts: text, tool calls (assistant) or a tool result (tool).
        name: optional author name.
        meta: free metadata (model, usage, finish_reason, ...).
    """

    role: ChatRole
    content: list[ContentPart] = field(default_factory=list)
    name: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    # -- constructors -------------------------------------------------------------------------------------
    @classmethod
    def from_user(cls, text: str, meta: dict[str, Any] | None = None, name: str | None = None) -> ChatMessage:
        """A user message."""
        return cls(ChatRole.USER, [TextContent(text)], name=name, meta=dict(meta or {}))

    @classmethod
    def from_system(
        cls, text: str, meta: dict[str, Any] | None = None, name: str | None = None
    ) -> ChatMessage:
        """A system message."""
        return cls(ChatRole.SYSTEM, [TextContent(text)], name=name, meta=dict(meta or {}))

    @classmethod
    def from_assistant(
        cls,
        text: str | None = None,
        meta: dict[str, Any] | None = None,
        name: str | None = None,
        tool_calls: list[ToolCall] | None = None,
    ) -> ChatMessage:
        """An assistant message: text, tool calls, or both."""
        parts: list[ContentPart] = []
        if text is not None:
            parts.append(TextContent(text))
        parts.extend(tool_calls or [])
        return cls(ChatRole.ASSISTANT, parts, name=name, meta=dict(meta or {}))

    @classmethod
    def from_tool(
        cls, tool_result: str, origin: ToolCall, error: bool = False, meta: dict[str, Any] | None = None
    ) -> ChatMessage:
        """A tool message carrying the result of ``origin``."""
        return cls(ChatRole.TOOL, [ToolCallResult(tool_result, origin, error)], meta=dict(meta or {}))

    # -- accessors ----------------------------------------------------------------------------------------
    @property
    def texts(self) -> list[str]:
        """All text parts."""
        return [p.text for p in self.content if isinstance(p, TextContent)]

    @property
    def text(self) -> str | None:
        """The first text part, or None."""
        texts = self.texts
        return texts[0] if texts else None

    @property
    def tool_calls(self) -> list[ToolCall]:
        """All tool calls."""
        return [p for p in self.content if isinstance(p, ToolCall)]

    @property
    def tool_call(self) -> ToolCall | None:
        """The first tool call, or None."""
        calls = self.tool_calls
        return calls[0] if calls else None

    @property
    def tool_call_results(self) -> list[ToolCallResult]:
        """All tool results."""
        return [p for p in self.content if isinstance(p, ToolCallResult)]

    @property
    def tool_call_result(self) -> ToolCallResult | None:
        """The first tool result, or None."""
        results = self.tool_call_results
        return results[0] if results else None

    def is_from(self, role: ChatRole | str) -> bool:
        """Whether the message was authored by ``role``."""
        return self.role == (ChatRole.from_str(role) if isinstance(role, str) else role)

    # -- serialization ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        parts: list[dict[str, Any]] = []
        for part in self.content:
            if isinstance(part, TextContent):
                parts.append({"text": part.text})
            elif isinstance(part, ToolCall):
                parts.append({"tool_call": part.to_dict()})
            else:
                parts.append({"tool_call_result": part.to_dict()})
        return {"role": self.role.value, "content": parts, "name": self.name, "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatMessage:
        """Build from :meth:`to_dict` output; also accepts ``{"role": ..., "content": "plain text"}``."""
        role = ChatRole.from_str(data["role"])
        raw = data.get("content")
        parts: list[ContentPart] = []
        if isinstance(raw, str):
            parts.append(TextContent(raw))
        else:
            for item in raw or []:
                if "text" in item:
                    parts.append(TextContent(item["text"]))
                elif "tool_call" in item:
                    parts.append(ToolCall.from_dict(item["tool_call"]))
                elif "tool_call_result" in item:
                    parts.append(ToolCallResult.from_dict(item["tool_call_result"]))
                else:
                    raise ValueError(
                        f"Unknown chat message content part {sorted(item)}; expected one of "
                        "'text', 'tool_call', 'tool_call_result'."
                    )
        return cls(role, parts, name=data.get("name"), meta=dict(data.get("meta") or {}))

    def to_openai_format(self) -> dict[str, Any]:
        """Return the message in the OpenAI chat-completions wire format."""
        out: dict[str, Any] = {"role": self.role.value}
        if self.name:
            out["name"] = self.name
        if self.role == ChatRole.TOOL:
            result = self.tool_call_result
            if result is None:
                raise ValueError(
                    "A tool message needs a ToolCallResult; build it with ChatMessage.from_tool()."
                )
            out["content"] = result.result
            out["tool_call_id"] = result.origin.id
            return out
        out["content"] = "\n".join(self.texts) if self.texts else None
        if self.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.tool_name, "arguments": json.dumps(call.arguments)},
                }
                for call in self.tool_calls
            ]
        return out

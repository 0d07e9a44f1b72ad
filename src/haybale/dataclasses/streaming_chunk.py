"""A piece of streamed model output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from haybale.dataclasses.chat_message import ToolCall

__all__ = ["StreamingChunk"]


@dataclass
class StreamingChunk:
    """One increment of a streamed reply.

    Attributes:
        content: the new text (may be empty for tool-call or final chunks).
        meta: model, index, usage, ...
        component_name: the pipeline component that produced it, when streamed through a pipeline.
        finish_reason: set on the last chunk ("stop", "length", "tool_calls").
        tool_calls: tool calls completed in this chunk.
    """

    content: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    component_name: str | None = None
    finish_reason: str | None = None
    tool_calls: list[ToolCall] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        return {
            "content": self.content,
            "meta": dict(self.meta),
            "component_name": self.component_name,
            "finish_reason": self.finish_reason,
            "tool_calls": [c.to_dict() for c in self.tool_calls] if self.tool_calls else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamingChunk:
        """Build from :meth:`to_dict` output."""
        calls = data.get("tool_calls")
        return cls(
            content=data.get("content", ""),
            meta=dict(data.get("meta") or {}),
            component_name=data.get("component_name"),
            finish_reason=data.get("finish_reason"),
            tool_calls=[ToolCall.from_dict(c) for c in calls] if calls else None,
        )

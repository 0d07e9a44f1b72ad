"""Serialization of the init parameters every chat generator shares: the streaming callback and the tools."""

from __future__ import annotations

from typing import Any

from haybale.tools import deserialize_tools
from haybale.tools.tool import deserialize_callable, serialize_callable

__all__ = ["deserialize_callback_and_tools", "serialize_streaming_callback"]


def serialize_streaming_callback(callback: Any) -> Any:
    """The streaming callback as its import path, or None when there is none."""
    return None if callback is None else serialize_callable(callback, "streaming_callback")


def deserialize_callback_and_tools(init_parameters: dict[str, Any]) -> None:
    """Load ``streaming_callback`` (from its import path) and ``tools`` in place in a generator's init
    parameters, as written by its ``to_dict``."""
    if init_parameters.get("streaming_callback"):
        init_parameters["streaming_callback"] = deserialize_callable(
            init_parameters["streaming_callback"], "streaming_callback"
        )
    init_parameters["tools"] = deserialize_tools(init_parameters.get("tools"))

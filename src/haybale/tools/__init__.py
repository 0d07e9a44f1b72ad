"""Tools that chat models can call: :class:`Tool`, the :func:`tool` decorator and schema derivation."""

from haybale.tools.from_function import create_tool_from_function, tool
from haybale.tools.tool import Tool, deserialize_tools, serialize_tools

__all__ = ["Tool", "create_tool_from_function", "deserialize_tools", "serialize_tools", "tool"]

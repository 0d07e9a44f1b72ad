"""Tools for chat models: :class:`Tool`, :func:`tool`, :class:`ComponentTool` and :class:`ToolInvoker`."""

from haybale.components.tools.component_tool import ComponentTool
from haybale.components.tools.tool_invoker import ToolInvoker, result_to_text
from haybale.tools import Tool, create_tool_from_function, tool

__all__ = [
    "Agent",
    "ComponentTool",
    "Tool",
    "ToolInvoker",
    "create_tool_from_function",
    "result_to_text",
    "tool",
]


def __getattr__(name: str) -> object:
    # DESIGN §7 lists Agent with the tools; it lives in haybale.components.agents (imported on demand, since
    # the agent module itself imports ToolInvoker from here).
    if name == "Agent":
        from haybale.components.agents import Agent

        return Agent
    raise AttributeError(f"module 'haybale.components.tools' has no attribute {name!r}")

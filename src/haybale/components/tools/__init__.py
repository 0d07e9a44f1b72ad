"""Tools for chat models: :class:`Tool`, :func:`tool`, :class:`ComponentTool`, :class:`ToolInvoker`, and the
tools of MCP servers (:class:`MCPTool`, :class:`MCPToolset`)."""

from typing import TYPE_CHECKING

from haybale._lazy_exports import lazy_exports
from haybale.components.tools.component_tool import ComponentTool
from haybale.components.tools.mcp_connection import MCPConnectionError
from haybale.components.tools.mcp_servers import MCPHttpServer, MCPStdioServer
from haybale.components.tools.mcp_tool import MCPTool, MCPToolError, MCPToolset
from haybale.components.tools.tool_invoker import ToolInvoker, result_to_text
from haybale.tools import Tool, create_tool_from_function, tool

if TYPE_CHECKING:
    from haybale.components.agents import Agent

__all__ = [
    "Agent",
    "ComponentTool",
    "MCPConnectionError",
    "MCPHttpServer",
    "MCPStdioServer",
    "MCPTool",
    "MCPToolError",
    "MCPToolset",
    "Tool",
    "ToolInvoker",
    "create_tool_from_function",
    "result_to_text",
    "tool",
]


# DESIGN §7 lists Agent with the tools; it lives in haybale.components.agents, which itself imports
# ToolInvoker from here, so it loads on first use.
__getattr__, __dir__ = lazy_exports(__name__, {"Agent": "haybale.components.agents"})

"""A small MCP server built with the official SDK, started by the MCP tool tests over stdio.

Run as ``python mcp_weather_server.py``; it answers on standard input/output until its input closes.
"""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("weather")
NOTES: list[str] = []


@server.tool()
def weather(city: str, unit: str = "celsius") -> str:
    """Current weather in a city.

    Args:
        city: the city.
        unit: celsius or fahrenheit.
    """
    degrees = "21 °C" if unit == "celsius" else "70 °F"
    return f"{city}: {degrees} and sunny (answered by process {os.getpid()})"


@server.tool()
def add_note(text: str) -> dict[str, object]:
    """Save a note; returns how many notes there are."""
    NOTES.append(text)
    return {"saved": text, "count": len(NOTES)}


@server.tool(name="station.status")
def station_status() -> str:
    """A tool whose name has a dot."""
    return "all stations up"


@server.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ToolError(f"cannot do that: {reason}")


if __name__ == "__main__":
    server.run("stdio")

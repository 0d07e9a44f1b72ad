"""Tools of external MCP servers for haybale agents: :class:`MCPTool` (one tool) and :class:`MCPToolset` (all
or some tools of one server).

Each tool's name, description and JSON schema come from the server's ``tools/list``; calling the tool sends
``tools/call`` and returns what the server answered. Tools of the same server share one connection
(:class:`~haybale.components.tools.mcp_connection.MCPConnection`).
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, overload

from haybale.components.tools.mcp_connection import MCPConnection
from haybale.components.tools.mcp_servers import MCPServer, server_from_dict
from haybale.core.serialization import type_name_of
from haybale.errors import ComponentError, DeserializationError, ExternalServiceError, SerializationError
from haybale.tools.tool import Tool

__all__ = ["MCPStructuredResult", "MCPTool", "MCPToolError", "MCPToolset"]

_INVALID_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")
_shared_lock = threading.Lock()
_shared: weakref.WeakValueDictionary[str, MCPConnection] = weakref.WeakValueDictionary()


class MCPToolError(ExternalServiceError):
    """An MCP server answered a tool call with an error result; the message is the server's text."""


class MCPStructuredResult(dict[str, Any]):
    """A tool result with structured content: the dict the server sent, whose ``str()`` is the text content
    the server sent with it (what the model reads). ``outputs_to_state`` can pick keys from the dict."""

    def __init__(self, structured: dict[str, Any], text: str) -> None:
        super().__init__(structured)
        self.text = text

    def __str__(self) -> str:
        return self.text


def shared_connection(server: MCPServer, timeout: float) -> MCPConnection:
    """The connection to ``server`` that tools built for the same server (and timeout) share."""
    try:
        key = json.dumps([server.to_dict(), timeout], sort_keys=True, default=str)
    except SerializationError:  # a server holding a token secret: share by identity only
        key = f"id:{id(server)}:{timeout}"
    with _shared_lock:
        connection = _shared.get(key)
        if connection is None:
            connection = MCPConnection(server, timeout)
            _shared[key] = connection
        return connection


async def _list_all_tools(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor: str | None = None
    for _ in range(1000):  # a server whose cursors never end cannot hang the listing
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _content_text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        return (
            str(text) if text is not None else f"[resource {resource.uri} ({resource.mime_type or 'binary'})]"
        )
    if kind == "resource_link":
        return f"[resource link {block.uri}]"
    if kind in ("image", "audio"):
        return f"[{kind} ({block.mime_type}), {len(block.data)} base64 characters]"
    return f"[{kind} content]"


def result_of(result: Any, tool_name: str) -> Any:
    """What a tool call returns: the text content, or :class:`MCPStructuredResult` when there is structured
    content.

    Raises:
        MCPToolError: the server marked the result as an error.
    """
    text = "\n".join(_content_text(block) for block in result.content or [])
    if result.is_error:
        raise MCPToolError(f"The MCP tool {tool_name!r} reported an error: {text or 'no details given'}")
    structured = result.structured_content
    if isinstance(structured, dict):
        return MCPStructuredResult(
            structured, text or json.dumps(structured, ensure_ascii=False, default=str)
        )
    return text


class MCPTool(Tool):
    """One tool of an MCP server, callable by haybale agents like any :class:`Tool`.

    Building it connects to the server to read the tool's description and input schema. Calls go through a
    connection shared with the other tools of the same server; a call the server answers with an error
    raises :class:`MCPToolError` (the :class:`ToolInvoker` turns it into a tool error message for the model).

    Args:
        name: the tool's name on the server. The model sees it with characters outside ``A-Za-z0-9_-``
            replaced by ``_`` (the OpenAI API allows no others).
        server: an :class:`~haybale.components.tools.MCPStdioServer` or
            :class:`~haybale.components.tools.MCPHttpServer`.
        description: overrides the server's description of the tool.
        timeout: seconds to wait for the connection and for each call.
        inputs_from_state: see :class:`Tool`.
        outputs_to_state: see :class:`Tool` (a structured result is a dict: its keys can be picked).

    Raises:
        ComponentError: the server has no tool of that name (the message lists those it has).
        MCPConnectionError: the server cannot be reached.
    """

    def __init__(  # noqa: PLR0917 - name and server first, like the other tools' name and function
        self,
        name: str,
        server: MCPServer,
        description: str | None = None,
        timeout: float = 30.0,
        inputs_from_state: dict[str, str] | None = None,
        outputs_to_state: dict[str, str] | None = None,
        *,
        _spec: Any = None,
    ) -> None:
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ComponentError(f"MCPTool: timeout must be a positive number of seconds, got {timeout!r}.")
        self.server = server
        self.timeout = float(timeout)
        self.connection = shared_connection(server, self.timeout)
        spec = _spec if _spec is not None else self._find(name)
        self.remote_name = spec.name
        self._given_description = description
        schema = dict(spec.input_schema or {})
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        super().__init__(
            name=_INVALID_NAME_CHARACTERS.sub("_", spec.name)[:64],
            description=description or spec.description or spec.title or spec.name,
            parameters=schema,
            function=self._call_remote,
            inputs_from_state=dict(inputs_from_state or {}),
            outputs_to_state=dict(outputs_to_state or {}),
        )

    def _find(self, name: str) -> Any:
        listing = self.connection.run(_list_all_tools, "Listing the tools")
        for spec in listing:
            if spec.name == name:
                return spec
        available = sorted(spec.name for spec in listing)
        raise ComponentError(
            f"{self.server.describe().capitalize()} has no tool named {name!r}. Its tools: "
            f"{available or 'none'}."
        )

    def _call_remote(self, **arguments: Any) -> Any:
        async def call(client: Any) -> Any:
            return await client.call_tool(self.remote_name, arguments)

        result = self.connection.run(call, f"Calling the MCP tool {self.remote_name!r}")
        return result_of(result, self.remote_name)

    def warm_up(self) -> None:
        """Open the connection now rather than on the first call (idempotent)."""
        self.connection.run(_list_all_tools, "Listing the tools")

    def close(self) -> None:
        """Close the connection this tool shares (the next call reconnects)."""
        self.connection.close()

    def to_dict(self) -> dict[str, Any]:
        """Serialize: the server and the tool's name (the schema is read from the server when loaded)."""
        return {
            "type": type_name_of(self),
            "data": {
                "name": self.remote_name,
                "server": self.server.to_dict(),
                "description": self._given_description,
                "timeout": self.timeout,
                "inputs_from_state": dict(self.inputs_from_state),
                "outputs_to_state": dict(self.outputs_to_state),
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MCPTool:
        """Build from :meth:`to_dict` output (connects to the server).

        Raises:
            DeserializationError: malformed data, or a stdio server whose command is not allow-listed.
        """
        body = data.get("data") if isinstance(data, dict) else None
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise DeserializationError(
                f"Cannot load an MCPTool from {data!r}: expected {{'type': ..., 'data': {{'name': ..., "
                "'server': {...}}}}."
            )
        return cls(
            name=body["name"],
            server=server_from_dict(body.get("server")),
            description=body.get("description"),
            timeout=body.get("timeout", 30.0),
            inputs_from_state=body.get("inputs_from_state"),
            outputs_to_state=body.get("outputs_to_state"),
        )


class MCPToolset(Sequence[Tool]):
    """The tools of one MCP server (all of them, or those named), as a sequence of :class:`MCPTool`.

    Pass it wherever a list of tools goes: ``Agent(chat_generator, tools=MCPToolset(server))``, or combine
    it: ``tools=[*MCPToolset(server), my_tool]``. Use it as a context manager (or call :meth:`close`) to
    close the connection (and stop a stdio server) when done.

    Args:
        server: an :class:`~haybale.components.tools.MCPStdioServer` or
            :class:`~haybale.components.tools.MCPHttpServer`.
        tool_names: only these tools (all when None).
        timeout: seconds to wait for the connection and for each call.

    Raises:
        ComponentError: ``tool_names`` names tools the server does not have.
        MCPConnectionError: the server cannot be reached.
    """

    def __init__(self, server: MCPServer, tool_names: list[str] | None = None, timeout: float = 30.0) -> None:
        self.server = server
        self.tool_names = list(tool_names) if tool_names is not None else None
        self.timeout = float(timeout)
        self.connection = shared_connection(server, self.timeout)
        listing = self.connection.run(_list_all_tools, "Listing the tools")
        available = [spec.name for spec in listing]
        if self.tool_names is not None:
            missing = sorted(set(self.tool_names) - set(available))
            if missing:
                raise ComponentError(
                    f"{server.describe().capitalize()} has no tools named {missing}. Its tools: "
                    f"{sorted(available)}."
                )
        chosen = [spec for spec in listing if self.tool_names is None or spec.name in self.tool_names]
        self.tools: list[Tool] = [
            MCPTool(spec.name, server, timeout=self.timeout, _spec=spec) for spec in chosen
        ]

    @overload
    def __getitem__(self, index: int) -> Tool: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Tool]: ...

    def __getitem__(self, index: int | slice) -> Tool | Sequence[Tool]:
        return self.tools[index]

    def __len__(self) -> int:
        return len(self.tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools)

    def __repr__(self) -> str:
        return f"MCPToolset({self.server!r}, tools={[t.name for t in self.tools]})"

    def close(self) -> None:
        """Close the connection (the tools reconnect if called again)."""
        self.connection.close()

    def __enter__(self) -> MCPToolset:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def to_dict(self) -> dict[str, Any]:
        """Serialize: the server and the chosen tool names."""
        return {
            "type": type_name_of(self),
            "init_parameters": {
                "server": self.server.to_dict(),
                "tool_names": self.tool_names,
                "timeout": self.timeout,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MCPToolset:
        """Build from :meth:`to_dict` output (connects to the server)."""
        params = dict(data.get("init_parameters") or {})
        return cls(
            server=server_from_dict(params.get("server")),
            tool_names=params.get("tool_names"),
            timeout=params.get("timeout", 30.0),
        )

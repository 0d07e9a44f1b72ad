"""Where an MCP server is: :class:`MCPStdioServer` (a command haybale starts) or :class:`MCPHttpServer` (a
URL).

Both serialize, so agents and pipelines that use MCP tools save to YAML. A stdio server is a command that
runs on this machine, so loading one from YAML or JSON is refused unless its command is allow-listed in
``HAYBALE_MCP_ALLOWED_COMMANDS`` (comma-separated executables): a pipeline file must not be able to start
arbitrary programs. Building one in Python is always allowed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from haybale.core.secret import Secret
from haybale.core.serialization import default_to_dict, type_name_of
from haybale.errors import ComponentError, DeserializationError, MissingDependencyError

__all__ = ["MCP_ALLOWED_COMMANDS_ENV_VAR", "MCPHttpServer", "MCPServer", "MCPStdioServer", "server_from_dict"]

#: Environment variable listing the commands a serialized stdio MCP server may run.
MCP_ALLOWED_COMMANDS_ENV_VAR = "HAYBALE_MCP_ALLOWED_COMMANDS"


def _import_mcp() -> Any:
    try:
        import mcp
    except ImportError as exc:
        raise MissingDependencyError.for_extra("mcp", "mcp", "Connecting to an MCP server") from exc
    return mcp


def _resolve(value: str | Secret) -> str:
    if isinstance(value, Secret):
        resolved = value.resolve_value()
        return "" if resolved is None else resolved
    return value


class MCPStdioServer:
    """An MCP server started as a subprocess, spoken to over its standard input and output.

    Args:
        command: the executable (``python``, ``npx``, ``haybale``...).
        args: its arguments.
        env: extra environment variables for it (values may be :class:`Secret`\\ s, resolved when it starts);
            it also inherits a small safe set (``PATH``, ``HOME``...), not the whole environment.
        cwd: its working directory.

    Raises:
        ComponentError: an empty command.
    """

    def __init__(
        self,
        command: str,
        args: list[str] | None = None,
        env: dict[str, str | Secret] | None = None,
        cwd: str | None = None,
    ) -> None:
        if not isinstance(command, str) or not command.strip():
            raise ComponentError("MCPStdioServer needs a command to run, e.g. command='python'.")
        self.command = command
        self.args = [str(a) for a in args or []]
        self.env = dict(env or {})
        self.cwd = cwd

    def __repr__(self) -> str:
        return f"MCPStdioServer(command={self.command!r}, args={self.args!r})"

    def describe(self) -> str:
        """A short description for messages."""
        return f"the MCP server started with {' '.join([self.command, *self.args])!r}"

    @contextlib.asynccontextmanager
    async def client(self, timeout: float) -> AsyncIterator[Any]:
        """An entered ``mcp.Client`` on a fresh subprocess (stopped when the block ends)."""
        mcp = _import_mcp()
        parameters = mcp.StdioServerParameters(
            command=self.command,
            args=self.args,
            env={key: _resolve(value) for key, value in self.env.items()} or None,
            cwd=self.cwd,
        )
        async with mcp.Client(parameters, read_timeout_seconds=timeout) as client:
            yield client

    def to_dict(self) -> dict[str, Any]:
        """Serialize; env values that are secrets stay references (token secrets refuse to serialize)."""
        env = {
            key: value.to_dict() if isinstance(value, Secret) else value for key, value in self.env.items()
        }
        return default_to_dict(
            self, command=self.command, args=list(self.args), env=env or None, cwd=self.cwd
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MCPStdioServer:
        """Build from :meth:`to_dict` output, if the command is allow-listed.

        Raises:
            DeserializationError: the command is not in ``HAYBALE_MCP_ALLOWED_COMMANDS``, or the data is
                malformed.
        """
        params = dict(data.get("init_parameters") or {})
        command = params.get("command")
        allowed = [
            c.strip() for c in os.environ.get(MCP_ALLOWED_COMMANDS_ENV_VAR, "").split(",") if c.strip()
        ]
        if not isinstance(command, str) or (command not in allowed and Path(command).name not in allowed):
            raise DeserializationError(
                f"The MCP stdio server command {command!r} is not allow-listed, so it was not started: "
                "loading a file must not run programs it names. If you trust it, add it to "
                f"{MCP_ALLOWED_COMMANDS_ENV_VAR} (comma-separated), e.g. {MCP_ALLOWED_COMMANDS_ENV_VAR}="
                f"{Path(str(command)).name}."
            )
        env = {
            key: Secret.from_dict(value) if isinstance(value, dict) else value
            for key, value in (params.get("env") or {}).items()
        }
        return cls(command=command, args=params.get("args"), env=env, cwd=params.get("cwd"))


class MCPHttpServer:
    """An MCP server reached over streamable HTTP at ``url`` (for example ``http://host:8000/mcp``).

    Args:
        url: the MCP endpoint.
        api_key: sent as ``Authorization: Bearer <key>`` (a ``haybale mcp`` server with API keys needs it).
        headers: extra HTTP headers (for example ``X-Haybale-Tenant``).

    Raises:
        ComponentError: a URL that is not http(s).
    """

    def __init__(
        self, url: str, api_key: Secret | None = None, headers: dict[str, str] | None = None
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ComponentError(
                f"MCPHttpServer needs an http(s) URL such as 'http://127.0.0.1:8000/mcp', got {url!r}."
            )
        if api_key is not None and not isinstance(api_key, Secret):
            raise ComponentError(
                "MCPHttpServer: pass the API key as a Secret, e.g. "
                "api_key=Secret.from_env_var('MCP_API_KEY'), so it is never written into a saved pipeline."
            )
        self.url = url
        self.api_key = api_key
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"MCPHttpServer(url={self.url!r})"

    def describe(self) -> str:
        """A short description for messages."""
        return f"the MCP server at {self.url}"

    @contextlib.asynccontextmanager
    async def client(self, timeout: float) -> AsyncIterator[Any]:
        """An entered ``mcp.Client`` on a streamable HTTP connection (closed when the block ends)."""
        mcp = _import_mcp()
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        headers = dict(self.headers)
        key = self.api_key.resolve_value() if self.api_key is not None else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        http_timeout = httpx2.Timeout(timeout, read=max(timeout, 300.0))
        async with httpx2.AsyncClient(headers=headers, timeout=http_timeout) as http:
            transport = streamable_http_client(self.url, http_client=http)
            async with mcp.Client(transport, read_timeout_seconds=timeout) as client:
                yield client

    def to_dict(self) -> dict[str, Any]:
        """Serialize (the API key as an environment-variable reference; token secrets refuse)."""
        return default_to_dict(
            self,
            url=self.url,
            api_key=None if self.api_key is None else self.api_key.to_dict(),
            headers=dict(self.headers) or None,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MCPHttpServer:
        """Build from :meth:`to_dict` output."""
        params = dict(data.get("init_parameters") or {})
        key = params.get("api_key")
        return cls(
            url=params.get("url", ""),
            api_key=Secret.from_dict(key) if isinstance(key, dict) else None,
            headers=params.get("headers"),
        )


#: Either kind of server.
MCPServer = MCPStdioServer | MCPHttpServer


def server_from_dict(data: Any) -> MCPServer:
    """Load a server serialized by ``to_dict()`` (only the two server types are accepted).

    Raises:
        DeserializationError: anything else.
    """
    kinds: dict[str, type[MCPStdioServer] | type[MCPHttpServer]] = {
        type_name_of(MCPStdioServer): MCPStdioServer,
        type_name_of(MCPHttpServer): MCPHttpServer,
    }
    kind = kinds.get(str(data.get("type"))) if isinstance(data, dict) else None
    if kind is None:
        raise DeserializationError(
            f"Cannot load an MCP server from {data!r}: expected the to_dict() of an MCPStdioServer or an "
            "MCPHttpServer."
        )
    return kind.from_dict(data)

"""``haybale mcp``: serve YAML pipelines as MCP tools, over stdio or streamable HTTP.

See :mod:`haybale.service.mcp_server` for what is served and how calls are checked.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["mcp_command", "register"]

_TRANSPORTS = ("stdio", "http")


def _prepare(
    transport: str,
    settings_overrides: dict[str, Any],
    pipelines: list[str] | None,
) -> tuple[Any, Any, Any]:
    """Settings, the checked pipeline tools and the stdio caller (None over HTTP).

    Raises:
        HaybaleError: invalid settings, no or broken pipelines, a missing or invalid key for stdio.
    """
    from haybale.app.settings import Settings
    from haybale.errors import MissingDependencyError, SettingsError
    from haybale.service.auth import AuthError, Caller, authenticate
    from haybale.service.mcp_server import PipelineTools
    from haybale.service.pipeline_registry import PipelineRegistry

    if transport not in _TRANSPORTS:
        raise SettingsError(f"--transport must be one of {list(_TRANSPORTS)}, got {transport!r}.")
    try:
        import mcp  # noqa: F401 - checked here so the message names the extra
    except ImportError as exc:
        raise MissingDependencyError.for_extra("mcp", "mcp", "haybale mcp") from exc
    settings = Settings.load(**settings_overrides, mcp_pipelines=tuple(pipelines) if pipelines else None)
    registry = PipelineRegistry(settings.pipelines_dir, settings.allowed_modules)
    tools = PipelineTools(registry, list(settings.mcp_pipelines) or None)
    caller: Caller | None = None
    if transport == "stdio":
        key = settings.mcp_api_key
        try:
            caller = authenticate(settings.api_keys, f"Bearer {key}" if key else None, None)
        except AuthError as exc:
            raise SettingsError(
                f"{exc.detail} For the stdio transport, give the key with --api-key or HAYBALE_MCP_API_KEY "
                "(the MCP client sets it in the server's environment)."
            ) from None
    tools.check()
    return settings, tools, caller


def mcp_command(
    *,
    pipelines_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of <name>.yaml pipelines (default: HAYBALE_PIPELINES_DIR)."),
    ] = None,
    pipeline: Annotated[
        list[str] | None,
        typer.Option(help="A pipeline to serve (repeat the option); default: every pipeline of the folder."),
    ] = None,
    transport: Annotated[str, typer.Option(help="stdio (for a client that starts this command) or http.")] = (
        "stdio"
    ),
    host: Annotated[str, typer.Option(help="HTTP: interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP: port to listen on.")] = 8000,
    api_keys_file: Annotated[
        Path | None,
        typer.Option(help="File of 'key:tenant' lines; with keys, every request needs one."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="stdio: the API key this server runs under (default: HAYBALE_MCP_API_KEY)."),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="Log level (default: LOG_LEVEL or HAYBALE_LOG_LEVEL, else info).")
    ] = None,
) -> None:
    """Serve pipelines as MCP tools: one tool per pipeline, its inputs as the tool's arguments.

    Over HTTP the endpoint is http://HOST:PORT/mcp and each request sends 'Authorization: Bearer <key>' when
    API keys are configured; over stdio the key is given at start. Runs are scoped to the key's tenant, as in
    `haybale serve`. Logs go to standard error. Exit code 2 for invalid settings or pipelines.
    """
    from haybale.errors import HaybaleError

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # haybale never downloads models
    overrides = {
        "pipelines_dir": pipelines_dir,
        "api_keys_file": api_keys_file,
        "mcp_api_key": api_key,
        "log_level": log_level,
    }
    try:
        settings, tools, caller = _prepare(transport, overrides, pipeline)
    except HaybaleError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    level = settings.log_level.upper()
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    served = ", ".join(tools.served())
    auth = f"{len(settings.api_keys)} API keys" if settings.api_keys else "no API keys (open access)"
    if transport == "stdio":
        typer.echo(f"haybale mcp: serving {served} over stdio, {auth}", err=True)
        _serve_stdio(tools, caller)
    else:
        typer.echo(f"haybale mcp: serving {served} at http://{host}:{port}/mcp, {auth}", err=True)
        _serve_http(tools, settings, host, port)


def _serve_stdio(tools: Any, caller: Any) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    from haybale.service.mcp_server import build_mcp_server

    server = build_mcp_server(tools, lambda ctx: caller)

    async def serve() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(serve)


def _serve_http(tools: Any, settings: Any, host: str, port: int) -> None:
    import uvicorn

    from haybale.service.mcp_http import create_mcp_http_app
    from haybale.service.mcp_server import build_mcp_server, http_caller

    server = build_mcp_server(tools, http_caller(settings.api_keys))
    app = create_mcp_http_app(server, settings.api_keys, host, settings.max_upload_bytes)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())


def register(app: typer.Typer) -> None:
    """Add the ``mcp`` command to the ``haybale`` Typer app."""
    app.command("mcp")(mcp_command)

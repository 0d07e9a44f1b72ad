"""YAML pipelines served as MCP tools (``haybale mcp``), with the service's safety rules.

Each chosen pipeline of the pipelines folder becomes one tool named after its file. The pipelines are loaded
by the service's :class:`~haybale.service.pipeline_registry.PipelineRegistry` (allow-listed types only,
warmed up, every document store bound to the tenant scope). A tool's input schema is the pipeline's free
inputs by name (as :class:`~haybale.components.tools.ComponentTool` offers a pipeline to a model); its
description is the pipeline's ``metadata.description``. A call runs through the same function as the
``/pipelines/{name}/run`` route (:func:`haybale.service.pipeline_runs.run_served_pipeline`: arguments
routed like a JSON body, documents and messages accepted as JSON, file inputs never given server paths, the
run inside ``tenant_scope(caller.tenant)``), and the result is returned as JSON: as structured content and as
text.

Who calls: over HTTP each request carries its API key, checked as the service checks it
(:func:`haybale.service.auth.authenticate`); over stdio the key is given when the server starts. Failures come
back as tool results with ``isError`` and the message the service would answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from haybale.errors import ComponentError, HaybaleError, UsageError
from haybale.service.auth import TENANT_HEADER, Caller, authenticate
from haybale.service.pipeline_registry import PipelineRegistry

__all__ = ["PipelineTools", "UnservablePipelineError", "build_mcp_server", "http_caller"]

logger = logging.getLogger("haybale.mcp")

#: Resolves who makes an MCP request, from the SDK's request context.
CallerResolver = Callable[[Any], Caller]


class UnservablePipelineError(UsageError):
    """A pipeline cannot be offered as an MCP tool (an input without a JSON form, or a bad name)."""


class PipelineTools:
    """The chosen pipelines of a registry, as MCP tool descriptions and calls.

    Args:
        registry: the pipelines folder.
        names: the pipelines to serve; None serves every pipeline in the folder.
    """

    def __init__(self, registry: PipelineRegistry, names: list[str] | None = None) -> None:
        self.registry = registry
        self.names = list(names) if names else None

    def served(self) -> list[str]:
        """The names served now (the chosen ones, or every pipeline of the folder)."""
        return self.names if self.names is not None else self.registry.names()

    def describe(self, name: str) -> Any:
        """The ``mcp.types.Tool`` of pipeline ``name`` (loading and warming it up on first use).

        Raises:
            UnknownPipelineError / PipelineUnavailableError: as the registry raises them.
            UnservablePipelineError: an input the pipeline needs has no JSON form (files, for example).
        """
        from mcp import types

        from haybale.components.tools.component_tool import input_schema

        pipeline = self.registry.get(name)
        try:
            schema, _ = input_schema(pipeline, name)
        except ComponentError as exc:
            raise UnservablePipelineError(
                f"The pipeline {name!r} cannot be served as an MCP tool: {exc} MCP tools take JSON "
                "arguments; serve pipelines that need files with `haybale serve` (multipart uploads)."
            ) from exc
        metadata = pipeline.metadata or {}
        description = str(metadata.get("description") or f"Run the haybale pipeline {name!r}.")
        return types.Tool(name=name, description=description, input_schema=schema)

    def check(self) -> list[Any]:
        """Load every served pipeline now and return their tools (``haybale mcp`` does it before serving).

        Raises:
            UsageError: no pipelines to serve, or the first problem with one of them.
            PipelineUnavailableError: a pipeline file cannot be loaded.
        """
        names = self.served()
        if not names:
            folder = self.registry.folder
            raise UsageError(
                f"No pipelines to serve: the folder {str(folder)!r} holds no <name>.yaml files. Point "
                "--pipelines-dir (HAYBALE_PIPELINES_DIR) at a folder of pipelines."
                if folder is not None
                else "No pipelines to serve: give --pipelines-dir (or HAYBALE_PIPELINES_DIR)."
            )
        return [self.describe(name) for name in names]

    def list_tools(self) -> list[Any]:
        """The tools of the served pipelines; one that fails to load is left out (and logged)."""
        tools = []
        for name in self.served():
            try:
                tools.append(self.describe(name))
            except HaybaleError as exc:
                logger.error("Pipeline %r is not offered as an MCP tool: %s", name, exc)
        return tools

    async def call(self, name: str, arguments: dict[str, Any], caller: Caller) -> Any:
        """Run pipeline ``name`` with ``arguments`` for ``caller``; returns an ``mcp.types.CallToolResult``
        (``isError`` with the reason when the pipeline cannot be run or fails)."""
        import asyncio

        from mcp import types

        from haybale.service.errors import log_failure, status_and_detail
        from haybale.service.pipeline_runs import run_served_pipeline

        try:
            if name not in self.served():
                raise UsageError(f"No tool named {name!r} is served. Available: {self.served() or 'none'}.")
            pipeline = await asyncio.to_thread(self.registry.get, name)
            payload = await run_served_pipeline(pipeline, dict(arguments), {}, caller.tenant)
        except Exception as exc:
            status, detail = status_and_detail(exc)
            log_failure("MCP tools/call", name, status, exc)
            text = detail if isinstance(detail, str) else json.dumps(detail, default=str)
            return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
        text = json.dumps(payload, ensure_ascii=False)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=payload
        )


def http_caller(api_keys: dict[str, str]) -> CallerResolver:
    """Resolve the caller of an MCP request over HTTP from its own headers (each request is checked)."""

    def resolve(ctx: Any) -> Caller:
        request = getattr(ctx, "request", None)
        headers = getattr(request, "headers", None) or {}
        return authenticate(api_keys, headers.get("authorization"), headers.get(TENANT_HEADER))

    return resolve


def build_mcp_server(tools: PipelineTools, resolve_caller: CallerResolver) -> Any:
    """The MCP server (``mcp.server.lowlevel.Server``) offering ``tools``.

    Args:
        tools: the served pipelines.
        resolve_caller: who makes a request (raises :class:`~haybale.service.auth.AuthError` to refuse it).
    """
    import asyncio

    from mcp import types
    from mcp.server.lowlevel import Server

    from haybale import __version__

    async def list_tools(ctx: Any, params: Any) -> Any:
        resolve_caller(ctx)
        return types.ListToolsResult(tools=await asyncio.to_thread(tools.list_tools))

    async def call_tool(ctx: Any, params: Any) -> Any:
        caller = resolve_caller(ctx)
        return await tools.call(params.name, dict(params.arguments or {}), caller)

    return Server(
        "haybale",
        version=__version__,
        instructions="Each tool runs one haybale pipeline and returns its outputs as JSON.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )

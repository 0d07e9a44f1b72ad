"""``haybale mcp``: YAML pipelines served as MCP tools, checked with the official MCP SDK client over
streamable HTTP (real uvicorn) and stdio (the real ``haybale mcp`` command as a subprocess): listing, calling,
API keys, and tenant isolation through a tool."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from haybale.app.settings import Settings
from haybale.components.retrievers import BM25Retriever
from haybale.components.tools import MCPHttpServer, MCPToolset
from haybale.core.pipeline import Pipeline
from haybale.core.secret import Secret
from haybale.dataclasses import Document
from haybale.errors import UsageError
from haybale.service.mcp_http import create_mcp_http_app
from haybale.service.mcp_server import PipelineTools, build_mcp_server, http_caller
from haybale.service.pipeline_registry import PipelineRegistry
from haybale.stores import SQLiteDocumentStore
from haybale.stores.tenant_scope import TenantScopedStore, tenant_scope
from haybale.testing.openai_compatible_server import OpenAICompatibleServer

pytestmark = pytest.mark.mcp

KEYS = {"key-alpha": "alpha", "key-beta": "beta"}

ADD_PIPELINE = """
metadata:
  description: Add 12 to a number.
components:
  first:
    type: haybale.testing.sample_components.AddFixedValue
    init_parameters: {add: 2}
  second:
    type: haybale.testing.sample_components.AddFixedValue
    init_parameters: {add: 10}
connections:
  - {sender: first.result, receiver: second.value}
"""

FILES_PIPELINE = """
components:
  converter:
    type: haybale.components.converters.text_converter.TextFileToDocument
    init_parameters: {}
connections: []
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pipelines ``add`` and ``search`` (BM25 over a SQLite store holding both tenants' documents)."""
    root = tmp_path_factory.mktemp("mcp")
    pipelines = root / "pipelines"
    pipelines.mkdir()
    (pipelines / "add.yaml").write_text(ADD_PIPELINE, encoding="utf-8")
    store = SQLiteDocumentStore(str(root / "docs.db"))
    scoped = TenantScopedStore(store)
    for tenant in ("alpha", "beta"):
        with tenant_scope(tenant):
            scoped.write_documents(
                [Document(content=f"The {tenant} hay bale report is confidential to {tenant}.")]
            )
    store.close()
    search = Pipeline(metadata={"description": "Search the hay documents."})
    search.add_component("retriever", BM25Retriever(SQLiteDocumentStore(str(root / "docs.db")), top_k=10))
    search.dump(pipelines / "search.yaml")
    return pipelines


@pytest.fixture(scope="module")
def mcp_url(folder: Path) -> Iterator[str]:
    """The MCP endpoint of the pipelines, served over real HTTP with API keys."""
    settings = Settings(pipelines_dir=folder, api_keys=KEYS, embed=False)
    tools = PipelineTools(PipelineRegistry(settings.pipelines_dir), None)
    tools.check()
    app = create_mcp_http_app(build_mcp_server(tools, http_caller(KEYS)), KEYS, "127.0.0.1", 1 << 20)
    with OpenAICompatibleServer(app) as server:
        yield f"http://127.0.0.1:{server.port}/mcp"


async def _session(
    url: str, key: str | None, calls: list[tuple[str, dict[str, Any]]]
) -> tuple[Any, list[Any]]:
    """List the tools and make ``calls`` with the SDK client, as ``key``."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        listing = await client.list_tools()
        results = [await client.call_tool(name, arguments) for name, arguments in calls]
    return listing, results


def _contents(result: Any) -> list[str]:
    return [d["content"] for d in result.structured_content["retriever"]["documents"]]


def test_http_lists_and_calls_the_served_pipelines(mcp_url: str) -> None:
    listing, [added] = asyncio.run(_session(mcp_url, "key-alpha", [("add", {"value": 1})]))
    tools = {tool.name: tool for tool in listing.tools}
    assert sorted(tools) == ["add", "search"]
    assert tools["add"].description == "Add 12 to a number."
    assert tools["add"].input_schema["required"] == ["value"]
    assert tools["search"].input_schema["properties"]["query"] == {"type": "string"}
    assert not added.is_error
    assert added.structured_content == {"second": {"result": 13}}
    assert added.content[0].text == '{"second": {"result": 13}}'


def test_http_needs_a_valid_key(mcp_url: str) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    missing = httpx.post(mcp_url, json=initialize, headers=headers)
    assert missing.status_code == 401 and "Missing API key" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = httpx.post(mcp_url, json=initialize, headers={**headers, "Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "Invalid API key" in wrong.json()["detail"]
    claim = {**headers, "Authorization": "Bearer key-alpha", "X-Haybale-Tenant": "beta"}
    forbidden = httpx.post(mcp_url, json=initialize, headers=claim)
    assert forbidden.status_code == 403 and "belongs to tenant 'alpha'" in forbidden.json()["detail"]
    with pytest.raises(Exception):  # noqa: B017 - the SDK client surfaces the 401 as its own error type
        asyncio.run(_session(mcp_url, None, []))


def test_one_tenant_never_sees_another_tenants_documents(mcp_url: str) -> None:
    beta_filter = {"field": "meta.tenant", "operator": "==", "value": "beta"}
    _, [alpha, alpha_attack] = asyncio.run(
        _session(
            mcp_url,
            "key-alpha",
            [("search", {"query": "hay bale report"}), ("search", {"query": "beta", "filters": beta_filter})],
        )
    )
    assert _contents(alpha) == ["The alpha hay bale report is confidential to alpha."]
    assert _contents(alpha_attack) == []  # a filter naming the other tenant is ANDed with the caller's own
    _, [beta] = asyncio.run(_session(mcp_url, "key-beta", [("search", {"query": "hay bale report"})]))
    assert _contents(beta) == ["The beta hay bale report is confidential to beta."]
    assert all("tenant" not in d["meta"] for d in beta.structured_content["retriever"]["documents"])


def test_bad_calls_are_tool_errors_with_the_reason(mcp_url: str) -> None:
    _, [wrong_type, unknown] = asyncio.run(
        _session(mcp_url, "key-alpha", [("add", {"value": "one"}), ("subtract", {"value": 1})])
    )
    assert wrong_type.is_error and "expects int" in wrong_type.content[0].text
    assert unknown.is_error and "No tool named 'subtract'" in unknown.content[0].text


def test_haybale_agents_call_served_pipelines_through_mcp_toolset(
    mcp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_MCP_KEY", "key-beta")
    with MCPToolset(MCPHttpServer(mcp_url, api_key=Secret.from_env_var("TEST_MCP_KEY"))) as tools:
        search = {t.name: t for t in tools}["search"]
        found = search.invoke(query="report")
    assert [d["content"] for d in found["retriever"]["documents"]] == [
        "The beta hay bale report is confidential to beta."
    ]


def test_pipelines_that_need_files_are_refused_before_serving(tmp_path: Path, folder: Path) -> None:
    (tmp_path / "convert.yaml").write_text(FILES_PIPELINE, encoding="utf-8")
    with pytest.raises(UsageError, match=r"'convert' cannot be served as an MCP tool.*haybale serve"):
        PipelineTools(PipelineRegistry(tmp_path)).check()
    with pytest.raises(UsageError, match="No pipelines to serve"):
        PipelineTools(PipelineRegistry(tmp_path / "empty")).check()


def _stdio_env(folder: Path, **extra: str) -> dict[str, str]:
    return {
        "HAYBALE_PIPELINES_DIR": str(folder),
        "HAYBALE_API_KEYS": ",".join(f"{k}:{t}" for k, t in KEYS.items()),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join(sys.path),
        **extra,
    }


def test_stdio_server_runs_as_its_keys_tenant(folder: Path) -> None:
    from mcp import Client, StdioServerParameters

    command = [sys.executable, "-m", "haybale.cli.main", "mcp", "--pipeline", "search", "--pipeline", "add"]
    parameters = StdioServerParameters(
        command=command[0], args=command[1:], env=_stdio_env(folder, HAYBALE_MCP_API_KEY="key-beta")
    )

    async def session() -> tuple[Any, Any, Any]:
        async with Client(parameters) as client:
            listing = await client.list_tools()
            found = await client.call_tool("search", {"query": "hay bale report"})
            added = await client.call_tool("add", {"value": 30})
            return listing, found, added

    listing, found, added = asyncio.run(session())
    assert sorted(t.name for t in listing.tools) == ["add", "search"]
    assert _contents(found) == ["The beta hay bale report is confidential to beta."]
    assert added.structured_content == {"second": {"result": 42}}


def test_stdio_server_refuses_to_start_without_a_key(folder: Path) -> None:
    environment = {**os.environ, **_stdio_env(folder)}
    environment.pop("HAYBALE_MCP_API_KEY", None)
    started = subprocess.run(
        [sys.executable, "-m", "haybale.cli.main", "mcp"],
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 2
    assert "Missing API key" in started.stderr and "HAYBALE_MCP_API_KEY" in started.stderr
    assert started.stdout == ""  # nothing reached the protocol stream


def test_http_command_serves_the_pipelines(folder: Path) -> None:
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, **_stdio_env(folder)}
    command = [sys.executable, "-m", "haybale.cli.main", "mcp", "--transport", "http", "--port", str(port)]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        deadline = time.monotonic() + 90
        while True:
            try:
                status = httpx.post(url, json={}, timeout=5).status_code
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "haybale mcp did not start"
                time.sleep(0.3)
        assert status == 401  # keys are configured: nothing without one
        listing, [added] = asyncio.run(_session(url, "key-alpha", [("add", {"value": 0})]))
        assert sorted(t.name for t in listing.tools) == ["add", "search"]
        assert added.structured_content == {"second": {"result": 12}}
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
    assert f"at http://127.0.0.1:{port}/mcp, 2 API keys" in errors.decode()

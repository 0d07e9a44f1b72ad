"""MCPTool / MCPToolset against a real MCP server (built with the official SDK, started over stdio by the
test): listing, calling, errors, serialization with the command allow-list, and an agent using an MCP tool."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haybale.components.agents import Agent
from haybale.components.generators import OpenAIChatGenerator
from haybale.components.tools import (
    MCPConnectionError,
    MCPHttpServer,
    MCPStdioServer,
    MCPTool,
    MCPToolset,
    ToolInvoker,
)
from haybale.core.secret import Secret
from haybale.dataclasses import ChatMessage, ToolCall
from haybale.errors import ComponentError, DeserializationError
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

pytestmark = pytest.mark.mcp

SERVER_SCRIPT = Path(__file__).with_name("mcp_weather_server.py")


def _weather_server() -> MCPStdioServer:
    return MCPStdioServer(sys.executable, [str(SERVER_SCRIPT)])


@pytest.fixture(scope="module")
def toolset() -> Iterator[MCPToolset]:
    with MCPToolset(_weather_server()) as tools:
        yield tools


def _by_name(tools: MCPToolset) -> dict[str, Any]:
    return {t.name: t for t in tools}


def test_toolset_offers_the_servers_tools_with_their_schemas(toolset: MCPToolset) -> None:
    tools = _by_name(toolset)
    assert sorted(tools) == ["add_note", "fail", "station_status", "weather"]
    weather = tools["weather"]
    assert weather.description.startswith("Current weather in a city.")
    assert weather.parameters["required"] == ["city"]
    assert set(weather.parameters["properties"]) == {"city", "unit"}
    # a name the OpenAI API would refuse is offered with '_' but called by its real name
    assert tools["station_status"].remote_name == "station.status"
    assert str(tools["station_status"].invoke()) == "all stations up"


def test_calls_return_the_servers_answer(toolset: MCPToolset) -> None:
    tools = _by_name(toolset)
    answer = tools["weather"].invoke(city="Paris", unit="fahrenheit")
    assert str(answer).startswith("Paris: 70 °F and sunny")
    note = tools["add_note"].invoke(text="buy hay")
    assert note["saved"] == "buy hay" and note["count"] >= 1  # structured content, as a dict
    assert '"saved": "buy hay"' in str(note)  # what the model reads: the server's text
    second = tools["add_note"].invoke(text="feed goats")
    assert second["count"] == note["count"] + 1  # one server process keeps its state between calls


def test_server_errors_reach_the_model_as_tool_errors(toolset: MCPToolset) -> None:
    invoker = ToolInvoker(list(toolset))
    reply = ChatMessage.from_assistant(
        tool_calls=[ToolCall("fail", {"reason": "no goats"}, id="1"), ToolCall("weather", {}, id="2")]
    )
    failed, missing = invoker.run(messages=[reply])["tool_messages"]
    assert failed.tool_call_result.error
    assert "MCPToolError" in failed.tool_call_result.result
    assert "cannot do that: no goats" in failed.tool_call_result.result
    assert missing.tool_call_result.error and "missing required argument(s) ['city']" in (
        missing.tool_call_result.result
    )


def test_unknown_tools_and_unreachable_servers_are_clear_errors(toolset: MCPToolset) -> None:
    with pytest.raises(ComponentError, match=r"has no tool named 'forecast'.*'weather'"):
        MCPTool("forecast", _weather_server())
    with pytest.raises(ComponentError, match=r"has no tools named \['forecast'\]"):
        MCPToolset(_weather_server(), tool_names=["weather", "forecast"])
    with pytest.raises(MCPConnectionError, match="Could not connect to the MCP server started with"):
        MCPToolset(MCPStdioServer(sys.executable, ["-c", "import sys; sys.exit(3)"]), timeout=20)
    with pytest.raises(
        MCPConnectionError, match=r"Could not connect to the MCP server at http://127\.0\.0\.1:9/mcp"
    ):
        MCPToolset(MCPHttpServer("http://127.0.0.1:9/mcp"), timeout=5)


def test_a_closed_connection_is_reopened_on_the_next_call() -> None:
    with MCPToolset(_weather_server(), tool_names=["weather"]) as tools:
        first = str(tools[0].invoke(city="Oslo"))
        tools.close()  # stops the server process
        second = str(tools[0].invoke(city="Oslo"))
    assert first.split("process ")[1] != second.split("process ")[1]  # a new server process answered


def test_serialized_stdio_servers_need_an_allow_listed_command(monkeypatch: pytest.MonkeyPatch) -> None:
    tool = MCPTool("weather", _weather_server(), description="Weather now.")
    data = tool.to_dict()
    assert data["data"]["server"]["init_parameters"]["command"] == sys.executable
    monkeypatch.delenv("HAYBALE_MCP_ALLOWED_COMMANDS", raising=False)
    with pytest.raises(DeserializationError, match="HAYBALE_MCP_ALLOWED_COMMANDS"):
        MCPTool.from_dict(data)
    monkeypatch.setenv("HAYBALE_MCP_ALLOWED_COMMANDS", f"npx, {Path(sys.executable).name}")
    loaded = MCPTool.from_dict(data)
    assert loaded.to_dict() == data and loaded.description == "Weather now."
    assert str(loaded.invoke(city="Rome")).startswith("Rome: 21 °C")
    with pytest.raises(ComponentError, match="as a Secret"):
        MCPHttpServer("http://127.0.0.1:8000/mcp", api_key="plain-text-key")  # type: ignore[arg-type]


def test_agent_uses_a_tool_of_the_mcp_server(toolset: MCPToolset) -> None:
    def answer(messages: list[ChatMessage], tools: object) -> ChatMessage:
        result = messages[-1].tool_call_result
        return ChatMessage.from_assistant(f"The weather: {result.result if result else '?'}")

    backend = ScriptedChatBackend(
        [ChatMessage.from_assistant(tool_calls=[ToolCall("weather", {"city": "Lima"}, id="c1")]), answer]
    )
    with serve_chat_backend(backend) as server:
        generator = OpenAIChatGenerator(
            api_key=Secret.from_token("k"), model="scripted", base_url=server.base_url
        )
        agent = Agent(generator, tools=toolset, system_prompt="Use the tools.")
        result = agent.run(messages=[ChatMessage.from_user("Weather in Lima?")])
    offered = {spec["function"]["name"] for spec in backend.requests[0]["tools"] or []}
    assert offered == {"add_note", "fail", "station_status", "weather"}  # the MCP tools reached the model
    tool_message = result["messages"][-2]
    assert tool_message.tool_call_result.result.startswith("Lima: 21 °C and sunny (answered by process")
    assert result["last_message"].text.startswith("The weather: Lima: 21 °C and sunny")

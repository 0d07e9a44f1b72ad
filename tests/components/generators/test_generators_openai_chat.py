"""OpenAIChatGenerator against a real OpenAI-compatible server on 127.0.0.1 (the real openai client)."""

from __future__ import annotations

import socket
import time

import pytest

from haybale.components.generators import LlamaCppChatGenerator, OpenAIChatGenerator
from haybale.components.generators.openai_chat import ChatEndpointError
from haybale.core.pipeline import Pipeline
from haybale.core.secret import Secret
from haybale.core.serialization import allowed_modules_scope
from haybale.dataclasses import ChatMessage, StreamingChunk, ToolCall
from haybale.errors import ComponentError
from haybale.testing.openai_chat_server import ChatGeneratorBackend, ScriptedChatBackend, serve_chat_backend
from haybale.testing.openai_compatible_server import FaultInjection
from haybale.tools import Tool, tool

KEY = Secret.from_token("test-key")


@tool
def get_weather(city: str, unit: str = "celsius") -> str:
    """Get the current weather.

    Args:
        city: the city name.
        unit: celsius or fahrenheit.
    """
    return f"sunny in {city}"


def print_chunk(chunk: StreamingChunk) -> None:
    """A module-level streaming callback (serializable)."""


def _generator(base_url: str, **kwargs: object) -> OpenAIChatGenerator:
    return OpenAIChatGenerator(api_key=KEY, model="scripted", base_url=base_url, **kwargs)  # type: ignore[arg-type]


# -- init and serialization --------------------------------------------------------------------------------
def test_init_defaults() -> None:
    generator = OpenAIChatGenerator()
    assert generator.model == "gpt-4o-mini"
    assert generator.api_key == Secret.from_env_var("OPENAI_API_KEY")
    assert generator.base_url is None and generator.tools is None


def test_to_dict_from_dict_round_trip() -> None:
    generator = OpenAIChatGenerator(
        api_key=Secret.from_env_var("MY_KEY"),
        model="m",
        base_url="http://127.0.0.1:1/v1",
        streaming_callback=print_chunk,
        generation_kwargs={"max_tokens": 5},
        timeout=3.0,
        max_retries=1,
        tools=[get_weather],
    )
    data = generator.to_dict()
    assert data["init_parameters"]["api_key"] == {"type": "env_var", "env_vars": ["MY_KEY"], "strict": True}
    assert data["init_parameters"]["streaming_callback"].endswith(".print_chunk")
    with allowed_modules_scope([__name__]):
        loaded = OpenAIChatGenerator.from_dict(data)
    assert loaded.to_dict() == data
    assert loaded.tools is not None and loaded.tools[0].invoke(city="Oslo") == "sunny in Oslo"
    pipeline = Pipeline()
    pipeline.add_component("llm", generator)
    assert Pipeline.loads(pipeline.dumps(), allowed_modules=[__name__]).to_dict() == pipeline.to_dict()


def test_token_secret_refuses_to_serialize() -> None:
    from haybale.errors import SerializationError

    with pytest.raises(SerializationError):
        OpenAIChatGenerator(api_key=KEY).to_dict()


def test_bad_init_values_are_rejected() -> None:
    with pytest.raises(ComponentError, match="api_key must be a Secret"):
        OpenAIChatGenerator(api_key="sk-plain-string")  # type: ignore[arg-type]
    with pytest.raises(ComponentError, match="max_retries"):
        OpenAIChatGenerator(api_key=KEY, max_retries=-1)
    with pytest.raises(ComponentError, match="timeout"):
        OpenAIChatGenerator(api_key=KEY, timeout=0)


# -- run against the scripted server -----------------------------------------------------------------------
def test_run_returns_reply_with_meta() -> None:
    backend = ScriptedChatBackend([ChatMessage.from_assistant("Paris is the capital.")])
    with serve_chat_backend(backend) as server:
        result = _generator(server.base_url, generation_kwargs={"temperature": 0.0}).run(
            [ChatMessage.from_system("Be brief."), ChatMessage.from_user("Capital of France?")]
        )
    reply = result["replies"][0]
    assert reply.text == "Paris is the capital."
    assert reply.meta["model"] == "scripted"
    assert reply.meta["finish_reason"] == "stop"
    assert reply.meta["usage"]["completion_tokens"] == 4
    sent = backend.requests[0]
    assert [m.role.value for m in sent["messages"]] == ["system", "user"]
    assert sent["kwargs"] == {"temperature": 0.0}


def test_streaming_assembles_chunks_and_calls_callback() -> None:
    backend = ScriptedChatBackend([ChatMessage.from_assistant("one two three four")])
    chunks: list[StreamingChunk] = []
    with serve_chat_backend(backend) as server:
        result = _generator(server.base_url).run(
            [ChatMessage.from_user("count")], streaming_callback=chunks.append
        )
    reply = result["replies"][0]
    assert reply.text == "one two three four"
    assert "".join(c.content for c in chunks) == "one two three four"
    assert len([c for c in chunks if c.content]) == 4
    assert chunks[-1].finish_reason == "stop"
    assert reply.meta["usage"]["total_tokens"] > 0  # stream_options.include_usage honoured


def test_tool_calls_are_sent_and_parsed_non_streaming_and_streaming() -> None:
    call = ToolCall("get_weather", {"city": "Paris"}, id="call_1")
    backend = ScriptedChatBackend([ChatMessage.from_assistant(tool_calls=[call])])
    streamed: list[StreamingChunk] = []
    with serve_chat_backend(backend) as server:
        generator = _generator(server.base_url, tools=[get_weather])
        plain = generator.run([ChatMessage.from_user("Weather in Paris?")])["replies"][0]
        stream = generator.run([ChatMessage.from_user("Weather?")], streaming_callback=streamed.append)
    for reply in (plain, stream["replies"][0]):
        assert reply.tool_calls == [call]
        assert reply.meta["finish_reason"] == "tool_calls"
    assert streamed[-1].tool_calls == [call]
    wire_tools = backend.requests[0]["tools"]
    assert wire_tools[0]["function"]["name"] == "get_weather"
    assert wire_tools[0]["function"]["parameters"]["required"] == ["city"]


def test_tool_results_round_trip_over_the_wire() -> None:
    call = ToolCall("get_weather", {"city": "Paris"}, id="call_9")
    backend = ScriptedChatBackend([ChatMessage.from_assistant("It is sunny.")])
    conversation = [
        ChatMessage.from_user("Weather?"),
        ChatMessage.from_assistant(tool_calls=[call]),
        ChatMessage.from_tool("sunny", origin=call),
    ]
    with serve_chat_backend(backend) as server:
        _generator(server.base_url).run(conversation)
    received = backend.requests[0]["messages"]
    assert received[1].tool_calls == [call]
    assert received[2].tool_call_result is not None
    assert received[2].tool_call_result.origin.id == "call_9"
    assert received[2].tool_call_result.result == "sunny"


def test_malformed_tool_arguments_are_reported_not_raised() -> None:
    bad = ToolCall("get_weather", {"__raw__": '{"city": "Par'}, id="call_bad")
    backend = ScriptedChatBackend([ChatMessage.from_assistant(tool_calls=[bad])])
    with serve_chat_backend(backend) as server:
        reply = _generator(server.base_url).run([ChatMessage.from_user("x")])["replies"][0]
    assert reply.tool_calls[0].tool_name == "get_weather"
    assert reply.tool_calls[0].arguments == {}
    invalid = reply.meta["invalid_tool_calls"][0]
    assert invalid["id"] == "call_bad"
    assert invalid["arguments"] == '{"city": "Par'
    assert "not valid JSON" in invalid["error"]


async def test_run_async_streams_with_async_callback() -> None:
    backend = ScriptedChatBackend([ChatMessage.from_assistant("hello async world")])
    seen: list[str] = []

    async def collect(chunk: StreamingChunk) -> None:
        seen.append(chunk.content)

    with serve_chat_backend(backend) as server:
        generator = _generator(server.base_url)
        result = await generator.run_async([ChatMessage.from_user("hi")], streaming_callback=collect)
        plain = await generator.run_async([ChatMessage.from_user("hi")])
    assert result["replies"][0].text == "hello async world"
    assert "".join(seen) == "hello async world"
    assert plain["replies"][0].text == "hello async world"


# -- bad input and failures --------------------------------------------------------------------------------
def test_empty_messages_are_rejected() -> None:
    with pytest.raises(ComponentError, match="at least one message"):
        _generator("http://127.0.0.1:9/v1").run([])


def test_endpoint_down_fails_clearly_after_retries() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    generator = _generator(base_url, max_retries=1, timeout=2.0)
    with pytest.raises(ChatEndpointError) as info:
        generator.run([ChatMessage.from_user("hi")])
    message = str(info.value)
    assert base_url in message
    assert "2 attempt(s) (1 retries)" in message
    assert "base_url" in message and "HAYBALE_LLM_BASE_URL" in message


def test_timeout_fails_clearly_after_the_configured_retries() -> None:
    faults = FaultInjection(stall_first=10, stall_s=1.5)
    backend = ScriptedChatBackend([ChatMessage.from_assistant("too late")])
    with serve_chat_backend(backend, faults=faults) as server:
        generator = _generator(server.base_url, max_retries=1, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(ChatEndpointError) as info:
            generator.run([ChatMessage.from_user("hi")])
        elapsed = time.monotonic() - started
    assert "timed out after 2 attempt(s)" in str(info.value)
    assert server.base_url in str(info.value)
    assert faults.requests_seen == 2  # the first try and exactly one retry
    assert elapsed < 5


def test_retries_recover_from_transient_server_errors() -> None:
    faults = FaultInjection(fail_first=2, status_code=503)
    backend = ScriptedChatBackend([ChatMessage.from_assistant("recovered")])
    with serve_chat_backend(backend, faults=faults) as server:
        reply = _generator(server.base_url, max_retries=2).run([ChatMessage.from_user("hi")])["replies"][0]
    assert reply.text == "recovered"
    assert faults.requests_seen == 3


def test_http_error_names_status_and_fix() -> None:
    backend = ScriptedChatBackend([ChatMessage.from_assistant("never")])
    with serve_chat_backend(backend, api_key="right-key") as server:
        generator = OpenAIChatGenerator(
            api_key=Secret.from_token("wrong"), model="m", base_url=server.base_url
        )
        with pytest.raises(ChatEndpointError, match="HTTP 401") as info:
            generator.run([ChatMessage.from_user("hi")])
    assert "API key" in str(info.value)
    assert info.value.retryable is False and info.value.status_code == 401  # the key must be fixed


def test_missing_api_key_env_var_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAYBALE_TEST_ABSENT_KEY", raising=False)
    generator = OpenAIChatGenerator(
        api_key=Secret.from_env_var("HAYBALE_TEST_ABSENT_KEY"), base_url="http://x/v1"
    )
    with pytest.raises(ComponentError, match="HAYBALE_TEST_ABSENT_KEY"):
        generator.run([ChatMessage.from_user("hi")])


def test_duplicate_tool_names_are_rejected() -> None:
    twin = Tool(name="get_weather", description="d", parameters={"type": "object"}, function=print)
    with pytest.raises(ValueError, match="unique"):
        OpenAIChatGenerator(api_key=KEY, tools=[get_weather, twin])


# -- real model behind the server --------------------------------------------------------------------------
@pytest.mark.slow
def test_real_smollm2_behind_the_openai_compatible_server() -> None:
    local = LlamaCppChatGenerator(generation_kwargs={"max_tokens": 8, "temperature": 0.0})
    chunks: list[StreamingChunk] = []
    with serve_chat_backend(ChatGeneratorBackend(local), model_name="smollm2") as server:
        generator = OpenAIChatGenerator(api_key=KEY, model="smollm2", base_url=server.base_url)
        plain = generator.run([ChatMessage.from_user("What is the capital of France?")])["replies"][0]
        streamed = generator.run(
            [ChatMessage.from_user("What is the capital of France?")], streaming_callback=chunks.append
        )["replies"][0]
    assert plain.text and plain.meta["usage"]["completion_tokens"] > 0
    assert plain.meta["finish_reason"] in ("stop", "length")
    assert streamed.text == plain.text  # temperature 0: same answer both ways
    assert "".join(c.content for c in chunks) == streamed.text


def test_sync_run_refuses_an_async_callback() -> None:
    async def collect(chunk: StreamingChunk) -> None:
        return None

    with pytest.raises(ComponentError, match="use run_async"):
        _generator("http://127.0.0.1:9/v1").run([ChatMessage.from_user("hi")], streaming_callback=collect)
    with pytest.raises(ComponentError, match="use run_async"):
        LlamaCppChatGenerator().run([ChatMessage.from_user("hi")], streaming_callback=collect)

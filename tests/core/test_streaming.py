"""stream_pipeline: chunks from streaming components of a real pipeline, then the final result."""

from __future__ import annotations

import asyncio
import socket

import pytest

from haybale.components.builders import ChatPromptBuilder
from haybale.components.generators import OpenAIChatGenerator
from haybale.core.pipeline import Pipeline
from haybale.core.secret import Secret
from haybale.core.streaming import stream_pipeline, streaming_components
from haybale.dataclasses import ChatMessage, StreamingChunk
from haybale.errors import PipelineError, PipelineRuntimeError, PipelineValidationError
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend


def _echo_question(messages: list[ChatMessage], tools: object) -> ChatMessage:
    return ChatMessage.from_assistant(f"You asked: {messages[-1].text}")


def _pipeline(base_url: str, max_retries: int | None = None) -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("prompt", ChatPromptBuilder(template=[ChatMessage.from_user("{{ question }}")]))
    pipeline.add_component(
        "llm",
        OpenAIChatGenerator(
            api_key=Secret.from_token("k"), model="m", base_url=base_url, max_retries=max_retries
        ),
    )
    pipeline.connect("prompt.prompt", "llm.messages")
    return pipeline


async def test_streams_chunks_then_exposes_the_result() -> None:
    with serve_chat_backend(ScriptedChatBackend([_echo_question])) as server:
        pipeline = _pipeline(server.base_url)
        assert streaming_components(pipeline) == ["llm"]
        stream = stream_pipeline(pipeline, {"question": "why is the sky blue?"})
        with pytest.raises(PipelineError, match="not finished"):
            _ = stream.result
        chunks = [chunk async for chunk in stream]
    assert all(isinstance(c, StreamingChunk) and c.component_name == "llm" for c in chunks)
    assert "".join(c.content for c in chunks) == "You asked: why is the sky blue?"
    assert chunks[-1].finish_reason == "stop"
    reply = stream.result["llm"]["replies"][0]
    assert reply.text == "You asked: why is the sky blue?"


async def test_concurrent_streams_over_one_pipeline_stay_separate() -> None:
    with serve_chat_backend(ScriptedChatBackend([_echo_question])) as server:
        pipeline = _pipeline(server.base_url)

        async def collect(question: str) -> tuple[str, str]:
            stream = stream_pipeline(pipeline, {"prompt": {"question": question}})
            text = "".join([chunk.content async for chunk in stream])
            return text, stream.result["llm"]["replies"][0].text

        results = await asyncio.gather(*(collect(f"question number {i}") for i in range(4)))
    for i, (streamed, final) in enumerate(results):
        assert streamed == final == f"You asked: question number {i}"


async def test_a_user_callback_still_receives_chunks() -> None:
    seen: list[str] = []
    with serve_chat_backend(ScriptedChatBackend([ChatMessage.from_assistant("a b")])) as server:
        pipeline = _pipeline(server.base_url)
        data = {"prompt": {"question": "q"}, "llm": {"streaming_callback": lambda c: seen.append(c.content)}}
        chunks = [c.content async for c in stream_pipeline(pipeline, data)]
    assert "".join(seen) == "".join(chunks) == "a b"


async def test_a_failing_run_raises_after_the_stream() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pipeline = _pipeline(f"http://127.0.0.1:{port}/v1", max_retries=0)
    stream = stream_pipeline(pipeline, {"question": "q"})
    with pytest.raises(PipelineRuntimeError, match="llm"):
        async for _ in stream:
            pass


async def test_stopping_early_cancels_the_run() -> None:
    backend = ScriptedChatBackend([ChatMessage.from_assistant("one two three four five")])
    with serve_chat_backend(backend) as server:
        async with stream_pipeline(_pipeline(server.base_url), {"question": "q"}) as stream:
            first = await stream.__anext__()
        assert first.component_name == "llm"
        assert stream.done  # cancelled (or, on a fast machine, already finished): nothing left running


async def test_flat_inputs_are_routed_as_run_routes_them() -> None:
    from haybale.testing.sample_components import FirstInt, SelfLoop

    with serve_chat_backend(ScriptedChatBackend([_echo_question])) as server:
        pipeline = _pipeline(server.base_url)
        pipeline.add_component("entry", FirstInt())
        pipeline.add_component("loop", SelfLoop(target=0))
        pipeline.connect("entry.value", "loop.values")
        pipeline.connect("loop.current_value", "entry.value")
        # no unconnected socket is named "value": like run(), the stream gives it to the loop entry
        stream = stream_pipeline(pipeline, {"question": "why?", "value": 3})
        chunks = [chunk.content async for chunk in stream]
    assert "".join(chunks) == "You asked: why?"
    assert stream.result["loop"] == {"final_result": 0}
    assert stream.result["llm"]["replies"][0].text == "You asked: why?"


def test_bad_input_is_rejected_before_running() -> None:
    pipeline = _pipeline("http://127.0.0.1:9/v1")
    with pytest.raises(PipelineValidationError, match="only components with a free 'streaming_callback'"):
        stream_pipeline(pipeline, {"question": "q"}, components=["prompt"])
    with pytest.raises(PipelineValidationError, match="no_such_input"):
        stream_pipeline(pipeline, {"no_such_input": 1})


async def test_an_agent_streams_every_step() -> None:
    from haybale.components.agents import Agent
    from haybale.dataclasses import ToolCall
    from haybale.tools import Tool

    def shout(text: str) -> str:
        return text.upper()

    shout_tool = Tool.from_function(shout, description="Upper-case a text.")
    script = [
        ChatMessage.from_assistant(tool_calls=[ToolCall("shout", {"text": "hay"}, id="c1")]),
        lambda messages, tools: ChatMessage.from_assistant(f"Done: {messages[-1].tool_call_result.result}"),
    ]
    with serve_chat_backend(ScriptedChatBackend(script)) as server:
        generator = OpenAIChatGenerator(api_key=Secret.from_token("k"), model="m", base_url=server.base_url)
        pipeline = Pipeline()
        pipeline.add_component("agent", Agent(chat_generator=generator, tools=[shout_tool]))
        stream = stream_pipeline(pipeline, {"messages": [ChatMessage.from_user("shout hay")]})
        chunks = [chunk async for chunk in stream]
    assert {c.component_name for c in chunks} == {"agent"}
    assert [c.tool_calls for c in chunks if c.tool_calls] == [[ToolCall("shout", {"text": "hay"}, id="c1")]]
    assert "".join(c.content for c in chunks) == "Done: HAY"
    assert stream.result["agent"]["last_message"].text == "Done: HAY"

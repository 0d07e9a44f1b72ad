"""Agent: the generate / invoke-tools loop over a real OpenAI-compatible server, and SmolLM2."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from haybale.components.agents import Agent
from haybale.components.generators import LlamaCppChatGenerator, OpenAIChatGenerator
from haybale.components.tools import Tool, tool
from haybale.core.pipeline import Pipeline
from haybale.core.secret import Secret
from haybale.core.serialization import allowed_modules_scope
from haybale.dataclasses import ChatMessage, Document, StreamingChunk, ToolCall
from haybale.errors import ComponentError, SerializationError
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first.
        b: second.
    """
    return a + b


@tool
def broken(x: int) -> int:
    """Always fails."""
    raise ValueError(f"cannot handle {x}")


def _remember(note: str, notes: list[str]) -> dict[str, Any]:
    """Store a note."""
    return {"saved": note, "count": len(notes) + 1}


remember = Tool.from_function(
    _remember, name="remember", inputs_from_state={"notes": "notes"}, outputs_to_state={"notes": "saved"}
)


@tool
def final_answer(answer: str) -> str:
    """Give the final answer.

    Args:
        answer: the answer.
    """
    return answer


def _last_tool_results(messages: list[ChatMessage]) -> list[str]:
    results: list[str] = []
    for message in reversed(messages):
        if not message.is_from("tool"):
            break
        results.insert(0, message.tool_call_result.result if message.tool_call_result else "")
    return results


def _call(name: str, **arguments: Any) -> ChatMessage:
    return ChatMessage.from_assistant(tool_calls=[ToolCall(name, arguments, id=f"call_{name}")])


def _answer_with_tool_results(messages: list[ChatMessage], tools: object) -> ChatMessage:
    return ChatMessage.from_assistant(f"Result: {', '.join(_last_tool_results(messages))}")


@pytest.fixture
def serve() -> Iterator[Any]:
    def start(script: list[Any]) -> tuple[ScriptedChatBackend, OpenAIChatGenerator]:
        backend = ScriptedChatBackend(script)
        server = stack.enter_context(serve_chat_backend(backend))
        generator = OpenAIChatGenerator(
            api_key=Secret.from_token("k"), model="scripted", base_url=server.base_url
        )
        return backend, generator

    import contextlib

    with contextlib.ExitStack() as stack:
        yield start


def test_init_validation() -> None:
    generator = OpenAIChatGenerator(api_key=Secret.from_token("k"))
    with pytest.raises(ComponentError, match="chat generator"):
        Agent(chat_generator=object())
    with pytest.raises(ComponentError, match="exit_conditions"):
        Agent(chat_generator=generator, tools=[add], exit_conditions=["finish"])
    with pytest.raises(ComponentError, match="max_steps"):
        Agent(chat_generator=generator, max_steps=0)
    with pytest.raises(ComponentError, match="clash"):
        Agent(chat_generator=generator, state_schema={"messages": list})


def test_round_trip() -> None:
    agent = Agent(
        chat_generator=OpenAIChatGenerator(api_key=Secret.from_env_var("KEY"), model="m"),
        tools=[add, remember],
        system_prompt="You add numbers.",
        exit_conditions=["text", "add"],
        max_steps=4,
        state_schema={"notes": list[str], "documents": list[Document]},
    )
    data = agent.to_dict()
    assert (
        data["init_parameters"]["state_schema"]["documents"] == "list[haybale.dataclasses.document.Document]"
    )
    with allowed_modules_scope([__name__]):
        loaded = Agent.from_dict(data)
    assert loaded.to_dict() == data
    pipeline = Pipeline()
    pipeline.add_component("agent", agent)
    with allowed_modules_scope([__name__]):
        assert Pipeline.loads(pipeline.dumps()).to_dict() == pipeline.to_dict()


def print_chunk(chunk: StreamingChunk) -> None:
    """A module-level streaming callback, importable by path."""
    print(chunk.content, end="")


def test_round_trip_keeps_the_streaming_callback() -> None:
    generator = OpenAIChatGenerator(api_key=Secret.from_env_var("KEY"), model="m")
    agent = Agent(chat_generator=generator, streaming_callback=print_chunk)
    data = agent.to_dict()
    assert data["init_parameters"]["streaming_callback"] == f"{__name__}.print_chunk"
    with allowed_modules_scope([__name__]):
        loaded = Agent.from_dict(data)
    assert loaded.streaming_callback is print_chunk
    assert loaded.tools is None
    assert loaded.to_dict() == data
    with pytest.raises(SerializationError, match="lambdas"):
        Agent(chat_generator=generator, streaming_callback=lambda chunk: None).to_dict()


def test_tool_loop_until_text(serve: Any) -> None:
    backend, generator = serve([_call("add", a=2, b=3), _answer_with_tool_results])
    agent = Agent(chat_generator=generator, tools=[add], system_prompt="Use tools.")
    result = agent.run([ChatMessage.from_user("What is 2 + 3?")])
    roles = [m.role.value for m in result["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    assert result["last_message"].text == "Result: 5"
    assert backend.requests[0]["tools"][0]["function"]["name"] == "add"
    assert backend.requests[1]["messages"][-1].tool_call_result.result == "5"


def test_exit_on_a_named_tool(serve: Any) -> None:
    backend, generator = serve([_call("final_answer", answer="42"), ChatMessage.from_assistant("never sent")])
    agent = Agent(chat_generator=generator, tools=[add, final_answer], exit_conditions=["final_answer"])
    result = agent.run([ChatMessage.from_user("answer?")])
    assert len(backend.requests) == 1
    assert result["last_message"].tool_call_result.result == "42"


def test_tool_errors_go_back_to_the_model(serve: Any) -> None:
    _backend, generator = serve([_call("broken", x=7), _call("no_such_tool", q=1), _answer_with_tool_results])
    agent = Agent(chat_generator=generator, tools=[add, broken])
    result = agent.run([ChatMessage.from_user("go")])
    errors = [m.tool_call_result for m in result["messages"] if m.tool_call_result]
    assert [e.error for e in errors] == [True, True]
    assert "ValueError: cannot handle 7" in errors[0].result
    assert "'no_such_tool' does not exist" in errors[1].result and "add, broken" in errors[1].result
    assert result["last_message"].text.startswith("Result: Tool 'no_such_tool' does not exist")


def test_max_steps_stops_the_loop(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    backend, generator = serve([_call("add", a=1, b=1)])  # the model never stops calling tools
    agent = Agent(chat_generator=generator, tools=[add], max_steps=3)
    with caplog.at_level(logging.WARNING, logger="haybale.components.agents.agent"):
        result = agent.run([ChatMessage.from_user("loop")])
    assert len(backend.requests) == 3
    assert result["last_message"].is_from("tool")
    assert "max_steps=3" in caplog.text


def test_state_is_read_and_written_by_tools(serve: Any) -> None:
    backend, generator = serve(
        [_call("remember", note="milk"), _call("remember", note="eggs"), _answer_with_tool_results]
    )
    agent = Agent(chat_generator=generator, tools=[remember], state_schema={"notes": list[str]})
    result = agent.run([ChatMessage.from_user("remember things")], notes=["bread"])
    assert result["notes"] == ["bread", "milk", "eggs"]
    assert "'count': 3" in result["last_message"].text  # the tool saw the state written by the previous step
    assert backend.requests[0]["tools"][0]["function"]["parameters"]["required"] == ["note"]
    with pytest.raises(ComponentError, match="unknown state keys"):
        agent.run([ChatMessage.from_user("x")], colour="red")


def test_streaming_and_pipeline_state_sockets(serve: Any) -> None:
    _backend, generator = serve([_call("add", a=20, b=22), _answer_with_tool_results])
    agent = Agent(chat_generator=generator, tools=[add], state_schema={"notes": list[str]})
    chunks: list[StreamingChunk] = []
    pipeline = Pipeline()
    pipeline.add_component("agent", agent)
    output = pipeline.run(
        {"agent": {"messages": [ChatMessage.from_user("20+22?")], "streaming_callback": chunks.append}}
    )
    assert output["agent"]["last_message"].text == "Result: 42"
    assert "".join(c.content for c in chunks) == "Result: 42"
    assert any(c.tool_calls for c in chunks)  # the tool-call step streamed too


async def test_run_async(serve: Any) -> None:
    _backend, generator = serve([_call("add", a=1, b=2), _answer_with_tool_results])
    agent = Agent(chat_generator=generator, tools=[add])
    result = await agent.run_async([ChatMessage.from_user("1+2?")])
    assert result["last_message"].text == "Result: 3"


def test_empty_messages_are_rejected() -> None:
    agent = Agent(chat_generator=OpenAIChatGenerator(api_key=Secret.from_token("k")))
    with pytest.raises(ComponentError, match="non-empty list"):
        agent.run([])


@pytest.mark.slow
def test_real_smollm2_agent_without_tools_answers_in_one_step() -> None:
    generator = LlamaCppChatGenerator(n_ctx=512, generation_kwargs={"max_tokens": 8, "temperature": 0.0})
    agent = Agent(chat_generator=generator, system_prompt="Answer in one short sentence.")
    result = agent.run([ChatMessage.from_user("What colour is the sky?")])
    assert [m.role.value for m in result["messages"]] == ["system", "user", "assistant"]
    assert result["last_message"].text

"""An agent inside a pipeline: breakpoints on its steps and tool calls, snapshots that resume its loop, and
human-in-the-loop confirmation of tool calls (policies, a callback, or a pause answered by the caller).

The model is a scripted OpenAI-compatible server reached over real HTTP by the real ``openai`` client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from haybale.components.agents import Agent, ToolDecision
from haybale.components.generators import OpenAIChatGenerator
from haybale.components.tools import tool
from haybale.core.breakpoints import Breakpoint, ComponentPaused
from haybale.core.pipeline import Pipeline
from haybale.core.secret import Secret
from haybale.core.serialization import allowed_modules_scope
from haybale.core.snapshot import PipelineSnapshot
from haybale.dataclasses import ChatMessage, ToolCall
from haybale.errors import BreakpointReached, ComponentError, PipelineRuntimeError, PipelineValidationError
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

pytestmark = pytest.mark.snapshot

DELETED: list[str] = []


@tool
def search(query: str) -> str:
    """Search the notes.

    Args:
        query: what to look for.
    """
    return f"found: {query}"


@tool
def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path: the file.
    """
    DELETED.append(path)
    return f"deleted {path}"


def approve_searches_only(call: ToolCall) -> bool:
    """A module-level confirm callback (serializable by import path)."""
    return call.tool_name == "search"


def _calls(*calls: tuple[str, dict[str, Any]]) -> ChatMessage:
    return ChatMessage.from_assistant(
        tool_calls=[
            ToolCall(name, arguments, id=f"call_{i}_{name}") for i, (name, arguments) in enumerate(calls)
        ]
    )


SCRIPT = [
    _calls(("search", {"query": "invoices"})),
    _calls(("delete_file", {"path": "/tmp/a.txt"}), ("search", {"query": "b"})),
    ChatMessage.from_assistant("All done."),
]


@pytest.fixture
def server() -> Iterator[Any]:
    with contextlib.ExitStack() as stack:

        def start() -> tuple[ScriptedChatBackend, str]:
            backend = ScriptedChatBackend(list(SCRIPT))
            running = stack.enter_context(serve_chat_backend(backend))
            return backend, running.base_url

        yield start


def _pipeline(base_url: str, **agent_options: Any) -> Pipeline:
    generator = OpenAIChatGenerator(api_key=Secret.from_token("k"), model="scripted", base_url=base_url)
    pipeline = Pipeline()
    pipeline.add_component(
        "agent", Agent(chat_generator=generator, tools=[search, delete_file], **agent_options)
    )
    return pipeline


def _run(mode: str, pipeline: Pipeline, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    if mode == "run":
        return pipeline.run(data, **kwargs)
    return asyncio.run(pipeline.run_async(data, **kwargs))


DATA = {"agent": {"messages": [ChatMessage.from_user("Tidy up my files.")]}}


def _texts(messages: list[ChatMessage]) -> list[str]:
    out = []
    for message in messages:
        if message.tool_call_result is not None:
            out.append(f"{message.role.value}:{message.tool_call_result.result}")
        elif message.tool_calls:
            out.append(f"{message.role.value}:calls {[c.tool_name for c in message.tool_calls]}")
        else:
            out.append(f"{message.role.value}:{message.text}")
    return out


@pytest.fixture(autouse=True)
def _clear_deleted() -> None:
    DELETED.clear()


@pytest.mark.parametrize("mode", ["run", "run_async"])
@pytest.mark.parametrize(
    "point",
    [Breakpoint("agent", step=1), Breakpoint("agent", step=2), Breakpoint("agent", tool="delete_file")],
)
def test_an_agent_stopped_inside_its_loop_resumes_to_the_same_conversation(
    server: Any, mode: str, point: Breakpoint
) -> None:
    backend, url = server()
    uninterrupted = _run(mode, _pipeline(url), DATA)
    expected = _texts(uninterrupted["agent"]["messages"])
    backend.requests.clear()

    with pytest.raises(BreakpointReached, match="Agent 'agent' stopped before") as stopped:
        _run(mode, _pipeline(url), DATA, breakpoints=[point])
    generated_before = len(backend.requests)
    snapshot = PipelineSnapshot.from_json(stopped.value.snapshot.to_json())
    resume = snapshot.started["agent"].resume
    assert resume["steps"] == (point.step - 1 if point.step else 2)
    assert len(DELETED) == 1  # from the uninterrupted run only: the stopped one did not reach the tool

    resumed = _run(mode, _pipeline(url), {}, snapshot=snapshot)

    assert _texts(resumed["agent"]["messages"]) == expected
    assert len(backend.requests) == 3  # no generation ran twice across the stop
    assert generated_before == (point.step - 1 if point.step else 2)
    assert DELETED == ["/tmp/a.txt", "/tmp/a.txt"]


def test_policies_always_and_never_are_applied_and_recorded(server: Any) -> None:
    _, url = server()
    pipeline = _pipeline(url, tool_confirmation={"delete_file": "never", "*": "always"})
    result = pipeline.run(DATA)["agent"]
    decisions = result["tool_decisions"]
    assert [(d.tool_name, d.approved, d.decided_by, d.policy) for d in decisions] == [
        ("search", True, "policy", "always"),
        ("delete_file", False, "policy", "never"),
        ("search", True, "policy", "always"),
    ]
    assert DELETED == []
    refused = next(m for m in result["messages"] if m.tool_call_result and m.tool_call_result.error)
    assert "was not run" in refused.tool_call_result.result
    assert refused.meta["decision"]["policy"] == "never"


def test_a_confirm_callback_decides_ask_calls(server: Any) -> None:
    _, url = server()
    pipeline = _pipeline(url, tool_confirmation={"*": "ask"}, confirm=approve_searches_only)
    result = pipeline.run(DATA)["agent"]
    assert [(d.tool_name, d.approved, d.decided_by) for d in result["tool_decisions"]] == [
        ("search", True, "callback"),
        ("delete_file", False, "callback"),
        ("search", True, "callback"),
    ]
    assert DELETED == []


@pytest.mark.parametrize("mode", ["run", "run_async"])
def test_ask_without_a_callback_pauses_and_the_callers_answer_is_applied(server: Any, mode: str) -> None:
    backend, url = server()
    options = {"tool_confirmation": {"delete_file": "ask"}}
    with pytest.raises(BreakpointReached, match="waits for confirmation of 1 tool call") as stopped:
        _run(mode, _pipeline(url, **options), DATA)
    snapshot = PipelineSnapshot.from_json(stopped.value.snapshot.to_json())
    assert snapshot.reason == "paused"
    asked = snapshot.question["tool_calls"]
    assert [(c.tool_name, c.arguments) for c in asked] == [("delete_file", {"path": "/tmp/a.txt"})]
    assert DELETED == []

    # The reviewer approves, but redirects the deletion to another path.
    decision = ToolDecision("delete_file", approved=True, arguments={"path": "/tmp/b.txt"}, reason="checked")
    result = _run(mode, _pipeline(url, **options), {}, snapshot=snapshot.answer(decision))["agent"]

    assert DELETED == ["/tmp/b.txt"]
    recorded = [(d.tool_name, d.approved, d.decided_by, d.arguments) for d in result["tool_decisions"]]
    assert recorded == [
        ("search", True, "policy", None),
        ("delete_file", True, "caller", {"path": "/tmp/b.txt"}),
        ("search", True, "policy", None),
    ]
    assert result["last_message"].text == "All done."
    assert len(backend.requests) == 3


def test_a_declined_call_reaches_the_model_as_a_refusal(server: Any) -> None:
    backend, url = server()
    options = {"tool_confirmation": {"delete_file": "ask"}}
    with pytest.raises(BreakpointReached) as stopped:
        _pipeline(url, **options).run(DATA)
    snapshot = stopped.value.snapshot
    with pytest.raises(PipelineValidationError, match="no question to answer"):
        PipelineSnapshot(pipeline={}, state={}).answer(True)
    result = _pipeline(url, **options).run({}, snapshot=snapshot.answer(False))["agent"]
    assert DELETED == []
    sent = backend.requests[-1]["messages"]
    # (the wire protocol carries the text; the error flag stays on haybale's side)
    refusal = [
        m for m in sent if m.tool_call_result is not None and "was not run" in m.tool_call_result.result
    ]
    assert len(refusal) == 1
    assert "delete_file" in refusal[0].tool_call_result.result
    assert result["tool_decisions"][1].approved is False


def test_an_answer_that_does_not_fit_the_question_is_refused(server: Any) -> None:
    _, url = server()
    options = {"tool_confirmation": {"*": "ask"}}
    # the first step asks about one call; answer it, then the second step asks about two
    first = _first_pause(url, options)
    assert len(first.question["tool_calls"]) == 1
    with pytest.raises(BreakpointReached) as second:
        _pipeline(url, **options).run({}, snapshot=first.answer(True))
    snapshot = second.value.snapshot
    assert len(snapshot.question["tool_calls"]) == 2
    with pytest.raises(PipelineRuntimeError, match="lists 1 decisions, but 2 calls"):
        _pipeline(url, **options).run({}, snapshot=copy_of(snapshot).answer([True]))
    by_id = {call.id: call.tool_name == "search" for call in snapshot.question["tool_calls"]}
    result = _pipeline(url, **options).run({}, snapshot=copy_of(snapshot).answer(by_id))["agent"]
    assert [d.approved for d in result["tool_decisions"]] == [True, False, True]


def _first_pause(url: str, options: dict[str, Any]) -> PipelineSnapshot:
    with pytest.raises(BreakpointReached) as stopped:
        _pipeline(url, **options).run(DATA)
    return stopped.value.snapshot


def copy_of(snapshot: PipelineSnapshot) -> PipelineSnapshot:
    return PipelineSnapshot.from_json(snapshot.to_json())


def test_outside_a_pipeline_ask_without_a_callback_says_how_to_proceed(server: Any) -> None:
    _, url = server()
    generator = OpenAIChatGenerator(api_key=Secret.from_token("k"), model="scripted", base_url=url)
    agent = Agent(chat_generator=generator, tools=[search], tool_confirmation={"search": "ask"})
    with pytest.raises(ComponentPaused, match="confirm= callback"):
        agent.run([ChatMessage.from_user("hi")])


def test_confirmation_settings_are_checked_and_serialized() -> None:
    generator = OpenAIChatGenerator(api_key=Secret.from_env_var("KEY"), model="m")
    with pytest.raises(ComponentError, match="'always' runs"):
        Agent(chat_generator=generator, tools=[search], tool_confirmation={"search": "sometimes"})
    with pytest.raises(ComponentError, match="not one of the agent's tools"):
        Agent(chat_generator=generator, tools=[search], tool_confirmation={"serch": "ask"})
    agent = Agent(
        chat_generator=generator,
        tools=[search, delete_file],
        tool_confirmation={"delete_file": "ask", "*": "always"},
        confirm=approve_searches_only,
    )
    data = agent.to_dict()
    assert data["init_parameters"]["confirm"].endswith("test_agent_pause_and_confirm.approve_searches_only")
    with allowed_modules_scope([__name__]):
        loaded = Agent.from_dict(data)
    assert loaded.to_dict() == data
    assert loaded.confirm is approve_searches_only

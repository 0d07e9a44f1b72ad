"""ToolInvoker: parallel calls, failures as tool error messages, result conversion, serialization."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from haybale.components.generators import OpenAIChatGenerator
from haybale.components.tools import Tool, ToolInvoker, tool
from haybale.core.secret import Secret
from haybale.core.serialization import allowed_modules_scope
from haybale.dataclasses import ChatMessage, Document, ToolCall
from haybale.errors import ComponentError
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers.

    Args:
        a: first factor.
        b: second factor.
    """
    return a * b


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"boom: {reason}")


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque thing>"


@tool
def make_opaque() -> dict[str, Any]:
    """Returns something JSON cannot encode."""
    return {"value": Opaque()}


@tool
def find_docs(query: str) -> list[Document]:
    """Return documents.

    Args:
        query: what to look for.
    """
    return [Document(content=f"about {query}", meta={"source": "a.txt"})]


_barrier = threading.Barrier(3, timeout=5)


@tool
def wait_for_peers(name: str) -> str:
    """Blocks until three calls run at once (proves the calls are parallel).

    Args:
        name: a label.
    """
    _barrier.wait()
    return name


def _calls(*calls: ToolCall) -> list[ChatMessage]:
    return [ChatMessage.from_assistant(tool_calls=list(calls))]


def test_init_validation() -> None:
    with pytest.raises(ComponentError, match="at least one tool"):
        ToolInvoker(tools=[])
    with pytest.raises(ComponentError, match="unique"):
        ToolInvoker(tools=[multiply, multiply])
    with pytest.raises(ComponentError, match="max_workers"):
        ToolInvoker(tools=[multiply], max_workers=0)


def test_round_trip() -> None:
    invoker = ToolInvoker(tools=[multiply, explode], convert_result_to_json_string=True, max_workers=2)
    data = invoker.to_dict()
    with allowed_modules_scope([__name__]):
        loaded = ToolInvoker.from_dict(data)
    assert loaded.to_dict() == data


def test_invokes_calls_in_order_with_origin() -> None:
    first, second = (
        ToolCall("multiply", {"a": 6, "b": 7}, id="1"),
        ToolCall("multiply", {"a": 2, "b": 2}, id="2"),
    )
    messages = ToolInvoker(tools=[multiply]).run(_calls(first, second))["tool_messages"]
    assert [m.tool_call_result.result for m in messages if m.tool_call_result] == ["42", "4"]
    assert [m.tool_call_result.origin for m in messages if m.tool_call_result] == [first, second]
    assert all(m.is_from("tool") for m in messages)


def test_parallel_calls_run_concurrently() -> None:
    calls = [ToolCall("wait_for_peers", {"name": n}, id=n) for n in ("a", "b", "c")]
    started = time.monotonic()
    messages = ToolInvoker(tools=[wait_for_peers], max_workers=3).run(_calls(*calls))["tool_messages"]
    assert [m.tool_call_result.result for m in messages if m.tool_call_result] == ["a", "b", "c"]
    assert time.monotonic() - started < 5  # a sequential run would break the barrier instead


def test_no_tool_calls_gives_no_messages() -> None:
    assert ToolInvoker(tools=[multiply]).run([ChatMessage.from_assistant("just text")]) == {
        "tool_messages": []
    }


# -- bad input -----------------------------------------------------------------------------------------------
def test_a_tool_that_raises_becomes_a_tool_error_message() -> None:
    result = ToolInvoker(tools=[explode]).run(_calls(ToolCall("explode", {"reason": "x"}, id="e")))
    message = result["tool_messages"][0].tool_call_result
    assert message is not None and message.error
    assert message.result == "Tool 'explode' failed: RuntimeError: boom: x"


def test_raise_on_failure_raises_with_the_cause() -> None:
    invoker = ToolInvoker(tools=[explode], raise_on_failure=True)
    with pytest.raises(ComponentError, match="boom") as info:
        invoker.run(_calls(ToolCall("explode", {"reason": "y"})))
    assert isinstance(info.value.__cause__, RuntimeError)


def test_unknown_tool_names_the_known_tools() -> None:
    result = ToolInvoker(tools=[multiply, explode]).run(_calls(ToolCall("divide", {"a": 1}, id="d")))
    message = result["tool_messages"][0].tool_call_result
    assert message is not None and message.error
    assert "'divide' does not exist" in message.result
    assert "explode, multiply" in message.result


def test_missing_and_unexpected_arguments_are_explained() -> None:
    result = ToolInvoker(tools=[multiply]).run(_calls(ToolCall("multiply", {"a": 1, "c": 2})))
    message = result["tool_messages"][0].tool_call_result
    assert message is not None and message.error
    assert "missing required argument(s) ['b']" in message.result
    assert "unexpected argument(s) ['c']" in message.result


def test_non_json_results_fall_back_to_str() -> None:
    call = ToolCall("make_opaque", {}, id="o")
    as_json = ToolInvoker(tools=[make_opaque], convert_result_to_json_string=True).run(_calls(call))
    as_str = ToolInvoker(tools=[make_opaque]).run(_calls(call))
    for result in (as_json, as_str):
        message = result["tool_messages"][0].tool_call_result
        assert message is not None and not message.error
        assert message.result == "{'value': <Opaque thing>}"


def test_json_results_use_to_dict() -> None:
    result = ToolInvoker(tools=[find_docs], convert_result_to_json_string=True).run(
        _calls(ToolCall("find_docs", {"query": "bees"}))
    )
    text = result["tool_messages"][0].tool_call_result.result
    assert '"content": "about bees"' in text and '"source": "a.txt"' in text


def test_items_must_be_chat_messages() -> None:
    with pytest.raises(ComponentError, match="expects ChatMessages"):
        ToolInvoker(tools=[multiply]).run(["not a message"])  # type: ignore[list-item]


def test_malformed_arguments_from_a_real_server_become_a_tool_error() -> None:
    bad = ToolCall("multiply", {"__raw__": "{a: 1"}, id="bad")
    backend = ScriptedChatBackend([ChatMessage.from_assistant(tool_calls=[bad])])
    with serve_chat_backend(backend) as server:
        generator = OpenAIChatGenerator(api_key=Secret.from_token("k"), model="m", base_url=server.base_url)
        replies = generator.run([ChatMessage.from_user("6 times 7?")], tools=[multiply])["replies"]
    message = ToolInvoker(tools=[multiply]).run(replies)["tool_messages"][0].tool_call_result
    assert message is not None and message.error
    assert "not valid JSON" in message.result and "{a: 1" in message.result


async def test_run_async_matches_run() -> None:
    invoker = ToolInvoker(tools=[multiply, explode])
    messages = _calls(ToolCall("multiply", {"a": 3, "b": 3}, id="m"), ToolCall("explode", {"reason": "z"}))
    result = await invoker.run_async(messages)
    assert [m.tool_call_result.error for m in result["tool_messages"] if m.tool_call_result] == [False, True]


def test_async_tool_functions_are_awaited() -> None:
    async def fetch(url: str) -> str:
        return f"fetched {url}"

    async_tool = Tool.from_function(fetch)
    result = ToolInvoker(tools=[async_tool]).run(_calls(ToolCall("fetch", {"url": "x"})))
    assert result["tool_messages"][0].tool_call_result.result == "fetched x"

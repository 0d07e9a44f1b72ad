"""Tool-call confirmation decisions of an agent are recorded in tracing: one ``haybale.tool.confirmation``
span per decision, beside the tool call spans of the same step, and the refused tool never runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from haybale.components.agents import Agent, ToolDecision
from haybale.components.generators import OpenAIChatGenerator
from haybale.components.tools import tool
from haybale.core.secret import Secret
from haybale.dataclasses import ChatMessage, ToolCall
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend
from haybale.tracing import InMemoryTracer, disable_tracing, enable_tracing

RAN: list[str] = []


@tool
def transfer(amount: int, to: str) -> str:
    """Transfer money.

    Args:
        amount: how much.
        to: to whom.
    """
    RAN.append(f"transfer {amount} to {to}")
    return f"sent {amount} to {to}"


@tool
def balance() -> int:
    """The account balance."""
    RAN.append("balance")
    return 100


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    RAN.clear()
    yield
    disable_tracing()


def _review(call: ToolCall) -> ToolDecision:
    amount = call.arguments["amount"]
    if amount > 50:
        return ToolDecision(call.tool_name, False, reason="above 50 needs a manager")
    return ToolDecision(call.tool_name, True)


def test_each_decision_gets_a_span_with_policy_outcome_and_reason() -> None:
    memory = InMemoryTracer()
    enable_tracing(memory, content_tracing=True)
    reply = ChatMessage.from_assistant(
        tool_calls=[
            ToolCall("transfer", {"amount": 10, "to": "ann"}, id="small"),
            ToolCall("transfer", {"amount": 500, "to": "bob"}, id="large"),
            ToolCall("balance", {}, id="bal"),
        ]
    )
    backend = ScriptedChatBackend([reply, ChatMessage.from_assistant("Done.")])
    with serve_chat_backend(backend) as server:
        generator = OpenAIChatGenerator(api_key=Secret.from_token("k"), model="m", base_url=server.base_url)
        agent = Agent(
            generator, tools=[transfer, balance], tool_confirmation={"transfer": "ask"}, confirm=_review
        )
        result = agent.run(messages=[ChatMessage.from_user("Pay ann 10 and bob 500.")])
    assert sorted(RAN) == ["balance", "transfer 10 to ann"]
    assert [d.approved for d in result["tool_decisions"]] == [True, False, True]
    spans = {span.tags["gen_ai.tool.call.id"]: span for span in memory.find("haybale.tool.confirmation")}
    assert set(spans) == {"small", "large", "bal"}
    large = spans["large"].tags
    assert large["haybale.tool.confirmation.policy"] == "ask"
    assert large["haybale.tool.confirmation.approved"] is False
    assert large["haybale.tool.confirmation.decided_by"] == "callback"
    assert large["haybale.tool.confirmation.reason"] == "above 50 needs a manager"
    assert spans["small"].tags["haybale.tool.confirmation.approved"] is True
    assert spans["bal"].tags["haybale.tool.confirmation.decided_by"] == "policy"
    # the decisions sit in the same agent step as the tool calls that ran
    step = {span.parent_id for span in spans.values()}
    tool_spans = memory.find("haybale.tool.call")
    assert len(step) == 1 and {span.parent_id for span in tool_spans} == step
    assert sorted(span.tags["gen_ai.tool.call.id"] for span in tool_spans) == ["bal", "small"]


def test_reasons_stay_out_of_traces_without_content_tracing() -> None:
    memory = InMemoryTracer()
    enable_tracing(memory, content_tracing=False)
    reply = ChatMessage.from_assistant(tool_calls=[ToolCall("transfer", {"amount": 99, "to": "eve"}, id="c")])
    backend = ScriptedChatBackend([reply, ChatMessage.from_assistant("Not sent.")])
    with serve_chat_backend(backend) as server:
        generator = OpenAIChatGenerator(api_key=Secret.from_token("k"), model="m", base_url=server.base_url)
        agent = Agent(generator, tools=[transfer], tool_confirmation={"transfer": "never"})
        agent.run(messages=[ChatMessage.from_user("Pay eve 99.")])
    [span] = memory.find("haybale.tool.confirmation")
    assert span.tags["haybale.tool.confirmation.approved"] is False
    assert "haybale.tool.confirmation.reason" not in span.tags
    assert RAN == []

"""ChatMessage, ToolCall, ToolCallResult, StreamingChunk, GeneratedAnswer."""

import pytest

from haybale.dataclasses import (
    ChatMessage,
    ChatRole,
    Document,
    GeneratedAnswer,
    StreamingChunk,
    ToolCall,
    ToolCallResult,
)


def test_constructors_and_accessors():
    call = ToolCall("weather", {"city": "Oslo"}, id="call_1")
    assistant = ChatMessage.from_assistant("checking", tool_calls=[call], meta={"model": "m"})
    assert assistant.role is ChatRole.ASSISTANT
    assert assistant.text == "checking" and assistant.tool_call == call
    tool = ChatMessage.from_tool("12°C", origin=call)
    assert tool.tool_call_result == ToolCallResult("12°C", call, error=False)
    assert tool.text is None and tool.tool_calls == []
    assert ChatMessage.from_user("hi").is_from("user")
    assert ChatMessage.from_system("be brief").is_from(ChatRole.SYSTEM)


@pytest.mark.parametrize(
    "message",
    [
        ChatMessage.from_user("hello", name="ann"),
        ChatMessage.from_assistant(tool_calls=[ToolCall("f", {"x": [1, 2]}, "c")]),
        ChatMessage.from_tool("boom", ToolCall("f", {}, "c"), error=True),
    ],
)
def test_round_trip(message):
    assert ChatMessage.from_dict(message.to_dict()) == message


def test_from_dict_accepts_plain_text_content():
    assert ChatMessage.from_dict({"role": "user", "content": "hi"}).text == "hi"


def test_unknown_role_and_part_are_clear_errors():
    with pytest.raises(ValueError, match="valid roles are: system, user, assistant, tool"):
        ChatMessage.from_dict({"role": "robot", "content": "x"})
    with pytest.raises(ValueError, match="Unknown chat message content part"):
        ChatMessage.from_dict({"role": "user", "content": [{"image": "x"}]})


def test_openai_format():
    call = ToolCall("add", {"a": 1}, id="c1")
    assert ChatMessage.from_assistant(tool_calls=[call]).to_openai_format() == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
        ],
    }
    assert ChatMessage.from_tool("2", call).to_openai_format() == {
        "role": "tool",
        "content": "2",
        "tool_call_id": "c1",
    }


def test_streaming_chunk_and_answer_round_trip():
    chunk = StreamingChunk("tok", meta={"index": 0}, component_name="llm", tool_calls=[ToolCall("f", {})])
    assert StreamingChunk.from_dict(chunk.to_dict()) == chunk
    answer = GeneratedAnswer("42", "q?", documents=[Document(content="d")], meta={"refs": [1]})
    assert GeneratedAnswer.from_dict(answer.to_dict()) == answer

"""BranchJoiner, StringJoiner, ListJoiner, AnswerJoiner: init, serialization, run, bad input."""

from __future__ import annotations

import pytest

from haybale.components.joiners import AnswerJoiner, BranchJoiner, ListJoiner, StringJoiner
from haybale.core.component import get_input_sockets, get_output_sockets
from haybale.dataclasses import ChatMessage, Document, GeneratedAnswer
from haybale.errors import ComponentError, DeserializationError


def test_branch_joiner_sockets_and_round_trip() -> None:
    joiner = BranchJoiner(list[ChatMessage])
    socket = get_input_sockets(joiner)["value"]
    assert (socket.type, socket.variadic) == (list[ChatMessage], "greedy")
    assert get_output_sockets(joiner)["value"].type == list[ChatMessage]
    data = joiner.to_dict()
    assert data["init_parameters"] == {"type_": "list[haybale.dataclasses.chat_message.ChatMessage]"}
    loaded = BranchJoiner.from_dict(data)
    assert loaded.type_ == list[ChatMessage]
    assert loaded.to_dict() == data


def test_branch_joiner_run_and_bad_input() -> None:
    joiner = BranchJoiner(int)
    assert joiner.run(value=[3]) == {"value": 3}
    with pytest.raises(ComponentError, match="exactly one value per run, got 2"):
        joiner.run(value=[1, 2])
    with pytest.raises(DeserializationError, match="not allow-listed"):
        BranchJoiner.from_dict({"type": "x", "init_parameters": {"type_": "subprocess.Popen"}})
    with pytest.raises(DeserializationError, match="Unsupported syntax"):
        BranchJoiner.from_dict({"type": "x", "init_parameters": {"type_": "__import__('os')"}})


def test_string_joiner() -> None:
    joiner = StringJoiner()
    assert StringJoiner.from_dict(joiner.to_dict()).to_dict() == joiner.to_dict()
    assert joiner.run(strings=["a", "b"]) == {"strings": ["a", "b"]}


def test_list_joiner() -> None:
    untyped = ListJoiner()
    assert untyped.run(values=[[1], [2, 3]]) == {"values": [1, 2, 3]}
    typed = ListJoiner(list[Document])
    assert get_output_sockets(typed)["values"].type == list[Document]
    assert get_input_sockets(typed)["values"].type == list[Document]
    for joiner in (untyped, typed):
        assert ListJoiner.from_dict(joiner.to_dict()).to_dict() == joiner.to_dict()
    with pytest.raises(ComponentError, match="value 1 is a str, not a list"):
        untyped.run(values=[[1], "x"])


def test_answer_joiner() -> None:
    a = GeneratedAnswer(data="a", query="q", meta={"score": 0.2})
    b = GeneratedAnswer(data="b", query="q", meta={"score": 0.9})
    c = GeneratedAnswer(data="c", query="q")
    joiner = AnswerJoiner()
    assert AnswerJoiner.from_dict(joiner.to_dict()).to_dict() == joiner.to_dict()
    assert [x.data for x in joiner.run(answers=[[a, c], [b]])["answers"]] == ["a", "c", "b"]
    ranked = AnswerJoiner(sort_by_score=True, top_k=2).run(answers=[[a, c], [b]])["answers"]
    assert [x.data for x in ranked] == ["b", "a"]
    with pytest.raises(ComponentError, match="unknown join_mode"):
        AnswerJoiner(join_mode="merge")

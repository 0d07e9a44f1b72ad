"""AnswerBuilder: init, serialization, reference parsing, cited documents, bad input."""

from __future__ import annotations

import pytest

from haybale.components.builders import AnswerBuilder
from haybale.dataclasses import ChatMessage, Document
from haybale.errors import ComponentError


@pytest.fixture
def docs() -> list[Document]:
    return [Document(content=f"doc {i}") for i in range(1, 4)]


def test_init_and_round_trip() -> None:
    builder = AnswerBuilder(pattern=r"Answer: (.*)", reference_pattern=r"\[(\d+)\]", last_message_only=True)
    data = builder.to_dict()
    assert data["init_parameters"] == {
        "pattern": r"Answer: (.*)",
        "reference_pattern": r"\[(\d+)\]",
        "last_message_only": True,
    }
    assert AnswerBuilder.from_dict(data).to_dict() == data


def test_cited_documents_attached_in_citation_order(docs) -> None:
    answers = AnswerBuilder().run(query="q", replies=["Yes [3], see also [1] and [3]."], documents=docs)[
        "answers"
    ]
    answer = answers[0]
    assert answer.data == "Yes [3], see also [1] and [3]."
    assert [d.content for d in answer.documents] == ["doc 3", "doc 1"]
    assert answer.meta["referenced_documents"] == [1, 3]


def test_no_references_attaches_all_and_invalid_are_reported(docs) -> None:
    answer = AnswerBuilder().run(query="q", replies=["No idea [7]."], documents=docs)["answers"][0]
    assert answer.documents == docs
    assert answer.meta["referenced_documents"] == []
    assert answer.meta["invalid_references"] == [7]


def test_chat_replies_pattern_meta_and_last_only(docs) -> None:
    replies = [
        ChatMessage.from_assistant("Answer: first [1]", meta={"model": "m"}),
        ChatMessage.from_assistant("Answer: second [2]", meta={"model": "m"}),
    ]
    answers = AnswerBuilder(pattern=r"Answer: (.*)").run(
        query="q", replies=replies, documents=docs, meta=[{"a": 1}, {"a": 2}]
    )["answers"]
    assert [a.data for a in answers] == ["first [1]", "second [2]"]
    assert answers[1].meta == {"model": "m", "a": 2, "referenced_documents": [2]}
    last = AnswerBuilder(last_message_only=True).run(query="q", replies=replies)["answers"]
    assert [a.data for a in last] == ["Answer: second [2]"]
    custom = AnswerBuilder().run(
        query="q", replies=["see doc-2"], documents=docs, reference_pattern=r"doc-(\d+)"
    )
    assert [d.content for d in custom["answers"][0].documents] == ["doc 2"]


def test_bad_input(docs) -> None:
    with pytest.raises(ComponentError, match="not a valid regular expression"):
        AnswerBuilder(pattern="(")
    with pytest.raises(ComponentError, match="at most one"):
        AnswerBuilder(reference_pattern=r"(\d)(\d)")
    with pytest.raises(ComponentError, match="2 replies but 1 meta"):
        AnswerBuilder().run(query="q", replies=["a", "b"], meta=[{}])
    with pytest.raises(ComponentError, match="strings or ChatMessage"):
        AnswerBuilder().run(query="q", replies=[42])  # type: ignore[list-item]

"""Builders inside a Pipeline (sockets wired by name), including a YAML round trip."""

from __future__ import annotations

from typing import Any

import pytest

from haybale.components.builders import AnswerBuilder, ChatPromptBuilder, PromptBuilder
from haybale.core.component import component
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import ChatMessage, Document
from haybale.errors import PipelineRuntimeError


@component
class CitingEcho:
    """Replies by citing the first document, as a grounded generator would."""

    @component.output_types(replies=list[str])
    def run(self, prompt: str) -> dict[str, Any]:
        return {"replies": [f"Answer from prompt of {len(prompt)} chars [1]."]}


def test_prompt_and_answer_builders_in_pipeline() -> None:
    p = Pipeline()
    p.add_component(
        "prompt",
        PromptBuilder(
            "{{ query }}: {% for d in documents %}[{{ loop.index }}] {{ d.content }} {% endfor %}",
            required_variables=["query"],
        ),
    )
    p.add_component("llm", CitingEcho())
    p.add_component("answers", AnswerBuilder())
    p.connect("prompt.prompt", "llm.prompt")
    p.connect("llm.replies", "answers.replies")
    docs = [Document(content="one"), Document(content="two")]
    result = p.run({"query": "Q", "documents": docs})
    answer = result["answers"]["answers"][0]
    assert answer.query == "Q"
    assert answer.documents == [docs[0]]
    loaded = Pipeline.loads(p.dumps(), allowed_modules=[__name__])
    assert loaded.to_dict() == p.to_dict()
    assert loaded.run({"query": "Q", "documents": docs})["answers"]["answers"][0].data == answer.data


def test_chat_prompt_builder_in_pipeline_and_injection_fails_the_run() -> None:
    p = Pipeline()
    p.add_component("chat", ChatPromptBuilder([ChatMessage.from_user("Hi {{ name }}")]))
    assert p.run({"chat": {"name": "Ann"}})["chat"]["prompt"][0].text == "Hi Ann"
    assert Pipeline.loads(p.dumps()).to_dict() == p.to_dict()
    with pytest.raises(PipelineRuntimeError, match="chat") as info:
        p.run({"chat": {"name": "Ann", "template": [ChatMessage.from_user("{{ name.__class__ }}")]}})
    assert "refused" in str(info.value.__cause__) or "__class__" in str(info.value.__cause__)

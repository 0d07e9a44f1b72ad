"""Joiners inside a Pipeline, including a YAML round trip of the pipeline."""

from __future__ import annotations

from typing import Any

from haybale.components.builders import AnswerBuilder
from haybale.components.joiners import AnswerJoiner, BranchJoiner, DocumentJoiner, ListJoiner, StringJoiner
from haybale.core.component import component
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import Document


@component
class RankedList:
    """Emits a fixed ranked list, as a retriever would."""

    def __init__(self, texts: list[str], name: str) -> None:
        self.texts = texts
        self.name = name

    @component.output_types(documents=list[Document])
    def run(self, query: str) -> dict[str, Any]:
        docs = [
            Document(content=t, score=1.0 / (i + 1), score_details={self.name: {"query": query}})
            for i, t in enumerate(self.texts)
        ]
        return {"documents": docs}


@component
class Echo:
    """Emits its input as a string and as a one-element list."""

    @component.output_types(text=str, items=list[str])
    def run(self, text: str) -> dict[str, Any]:
        return {"text": text, "items": [text]}


def _hybrid_pipeline() -> Pipeline:
    p = Pipeline()
    p.add_component("bm25", RankedList(["a", "b", "c"], "bm25"))
    p.add_component("dense", RankedList(["c", "a", "d"], "embedding"))
    p.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=3))
    p.connect("bm25.documents", "joiner.documents")
    p.connect("dense.documents", "joiner.documents")
    return p


def test_document_joiner_in_pipeline_and_yaml_round_trip() -> None:
    pipeline = _hybrid_pipeline()
    result = pipeline.run({"query": "q"})
    docs = result["joiner"]["documents"]
    assert [d.content for d in docs] == ["a", "c", "b"]
    assert set(docs[0].score_details["inputs"]) == {"bm25", "embedding"}
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=[__name__])
    assert loaded.to_dict() == pipeline.to_dict()
    assert [d.content for d in loaded.run({"query": "q"})["joiner"]["documents"]] == ["a", "c", "b"]


def test_small_joiners_in_pipeline() -> None:
    p = Pipeline()
    p.add_component("one", Echo())
    p.add_component("two", Echo())
    p.add_component("strings", StringJoiner())
    p.add_component("lists", ListJoiner(list[str]))
    p.add_component("branch", BranchJoiner(str))
    for name in ("one", "two"):
        p.connect(f"{name}.text", "strings.strings")
        p.connect(f"{name}.items", "lists.values")
    result = p.run({"one": {"text": "x"}, "two": {"text": "y"}, "branch": {"value": "z"}})
    assert sorted(result["strings"]["strings"]) == ["x", "y"]
    assert sorted(result["lists"]["values"]) == ["x", "y"]
    assert result["branch"] == {"value": "z"}
    loaded = Pipeline.loads(p.dumps(), allowed_modules=[__name__])
    assert loaded.to_dict() == p.to_dict()


def test_answer_joiner_in_pipeline() -> None:
    p = Pipeline()
    p.add_component("first", AnswerBuilder())
    p.add_component("second", AnswerBuilder())
    p.add_component("answers", AnswerJoiner())
    p.connect("first.answers", "answers.answers")
    p.connect("second.answers", "answers.answers")
    result = p.run({"first": {"query": "q", "replies": ["a"]}, "second": {"query": "q", "replies": ["b"]}})
    assert sorted(a.data for a in result["answers"]["answers"]) == ["a", "b"]

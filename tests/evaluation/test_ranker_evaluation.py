"""A ranker in a RAG pipeline is scored on what it did to the relevant documents it was handed: a ranker that
keeps them on top passes, one that reverses the order gets uplift -1 and the blame, while the retriever
before it and the generator after it are not blamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from haybale import Document, component
from haybale.components.rankers import LostInTheMiddleRanker
from haybale.evaluation import EvaluationReport, EvaluationRun
from haybale.evaluation.rubric_catalog import default_rubrics
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

from .rag_fixtures import answer_from_first_source, rag_pipeline

#: questions whose relevant document BM25 ranks first, among two or three hits
RANKER_DATASET: list[dict[str, Any]] = [
    {"id": key, "inputs": {"query": question}, "ground_truth_document_ids": [key]}
    for key, question in {
        "hay": "hay fodder",
        "baler": "cut hay into bales",
        "straw": "dry stalk of cereal plants and grain",
        "silage": "fermented fodder from green crops",
    }.items()
]


@component
class OrderRanker:
    """A test ranker: keeps the order it was handed (healthy: the retriever's is right here) or reverses it
    (deliberately broken)."""

    def __init__(self, reverse: bool = False) -> None:
        self.reverse = reverse

    @component.output_types(documents=list[Document])
    def run(self, query: str, documents: list[Document]) -> dict[str, Any]:
        """Return ``documents``, reversed when the ranker is broken."""
        return {"documents": documents[::-1] if self.reverse else list(documents)}


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    with serve_chat_backend(ScriptedChatBackend([answer_from_first_source]), model_name="scripted") as server:
        yield server.base_url


def _run(url: str, reverse: bool) -> EvaluationReport:
    pipeline = rag_pipeline(url, ranker=OrderRanker(reverse=reverse), top_k=3)
    rubrics = default_rubrics(pipeline, RANKER_DATASET)
    return EvaluationRun(pipeline, rubrics, name="reversed" if reverse else "kept").run(RANKER_DATASET)


def test_a_ranker_gets_uplift_and_a_layout_reorder_does_not(llm_url: str) -> None:
    pipeline = rag_pipeline(llm_url, ranker=OrderRanker(), top_k=3)
    rubrics = default_rubrics(pipeline, RANKER_DATASET)
    assert [s.metric for s in rubrics["ranker"]] == ["recall", "precision", "mrr", "ndcg", "ranker_uplift"]
    assert rubrics["ranker"][-1].blame
    layout = rag_pipeline(llm_url, ranker=LostInTheMiddleRanker(), top_k=3)
    assert "ranker_uplift" not in [s.metric for s in default_rubrics(layout, RANKER_DATASET)["ranker"]]


def test_a_ranker_that_keeps_the_relevant_document_on_top_passes(llm_url: str) -> None:
    report = _run(llm_url, reverse=False)
    assert report.scores()["ranker.ranker_uplift"] == 0.5  # left in place: neither helped nor hurt
    assert report.blame() == []
    assert all(
        row.details["ranker.ranker_uplift"]["reason"] == "left the relevant documents in place: rank 1 -> 1"
        for row in report.rows
    )


def test_a_ranker_that_reverses_the_order_is_blamed(llm_url: str) -> None:
    healthy, broken = _run(llm_url, reverse=False), _run(llm_url, reverse=True)
    scores = broken.scores()
    assert scores["retriever.recall"] == 1.0 and scores["ranker.recall"] == 1.0  # nothing was lost...
    assert scores["ranker.ranker_uplift"] == 0.0  # ...but every relevant document went down
    findings = broken.blame()
    assert len(findings) == len(RANKER_DATASET)
    assert {(f["component"], f["metric"]) for f in findings} == {("ranker", "ranker.ranker_uplift")}
    by_row = {f["row"]: f["reason"] for f in findings}
    assert by_row["hay"] == "ranker_uplift 0.0000 < 0.5: downranked the relevant documents: rank 1 -> 3"
    assert "rank 1 -> 2" in by_row["straw"]  # two hits: the relevant one went to second place
    details = [row.details["ranker.ranker_uplift"] for row in broken.rows]
    assert [d["uplift"] for d in details] == [-1] * len(RANKER_DATASET)
    assert all(d["recall_preserved"] for d in details)  # all three still in the top 3, in the wrong order
    assert all(d["context_relevance_delta"] < 0 for d in details)  # the question's words sank
    assert {f["component"] for f in broken.blame(baseline=healthy)} == {"ranker"}

"""evaluate_pipeline on a small RAG-like pipeline: each component scored on its own, hand-computed scores.

Corpus (BM25, InMemoryDocumentStore): d1 "Paris is the capital of France", d2 "Berlin ... Germany",
d3 "Madrid ... Spain", d4 "France is famous for cheese and wine", d5 "Rome ... Italy". The answerer
answers with the first word of the first document in its prompt, so a retrieval miss becomes a wrong answer.

Rows (top_k=1 | top_k=3 retrieved):
  q1 "capital France"   truth [d1, d4], "Paris" -> [d1] | [d1, d4, d2]: recall 0.5 | 1.0, MRR 1,
                        nDCG 1/(1+1/log2 3) | 1.0, answer "Paris" (exact match 1)
  q2 "Germany capital"  truth [d2], "Berlin"    -> [d2]: recall 1, MRR 1, nDCG 1, match 1
  q3 "cheese wine"      truth [d1], "Paris"     -> [d4]: recall 0, MRR 0, nDCG 0, answer "France": match 0
  q4 "capital Italy"    truth [d5], "Roma"      -> [d5]: recall 1, MRR 1, nDCG 1, answer "Rome": match 0
  q5 "zebra"            nothing retrieved -> the answerer raises: the row fails, blamed on "answerer"
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest

from haybale import Document, Pipeline, component
from haybale.components.builders import AnswerBuilder, PromptBuilder
from haybale.components.evaluators import (
    AnswerExactMatchEvaluator,
    DocumentMRREvaluator,
    DocumentNDCGEvaluator,
    DocumentRecallEvaluator,
)
from haybale.components.retrievers import BM25Retriever
from haybale.errors import EvaluationError
from haybale.evaluation import EvaluationRun, EvaluatorSpec, evaluate_pipeline, evaluate_pipeline_async
from haybale.stores import InMemoryDocumentStore

TEXTS = [
    "Paris is the capital of France",
    "Berlin is the capital of Germany",
    "Madrid is the capital of Spain",
    "France is famous for cheese and wine",
    "Rome is the capital of Italy",
]
D1, D2, D3, D4, D5 = TEXTS
NDCG_HALF = 1 / (1 + 1 / math.log2(3))  # one of two relevant documents, at rank 1

DATASET: list[dict[str, Any]] = [
    {
        "id": "q1",
        "inputs": {"query": "capital France"},
        "ground_truth_documents": [D1, D4],
        "ground_truth_answer": "Paris",
    },
    {
        "id": "q2",
        "inputs": {"query": "Germany capital"},
        "ground_truth_documents": [D2],
        "ground_truth_answer": "Berlin",
    },
    {
        "id": "q3",
        "inputs": {"query": "cheese wine"},
        "ground_truth_documents": [D1],
        "ground_truth_answer": "Paris",
    },
    {
        "id": "q4",
        "inputs": {"query": "capital Italy"},
        "ground_truth_documents": [D5],
        "ground_truth_answer": "Roma",
    },
    {
        "id": "q5",
        "inputs": {"query": "zebra"},
        "ground_truth_documents": [D1],
        "ground_truth_answer": "Paris",
    },
]


@component
class FirstWordAnswerer:
    """A deterministic stand-in for a generator: answers with the first word of the first context line."""

    @component.output_types(replies=list[str])
    def run(self, prompt: str) -> dict[str, Any]:
        context = prompt.split("Context:\n", 1)[1].strip()
        if not context:
            raise ValueError("no context to answer from")
        return {"replies": [context.split()[0]]}


def _rag(top_k: int) -> Pipeline:
    store = InMemoryDocumentStore()
    store.write_documents([Document(content=text) for text in TEXTS])
    pipeline = Pipeline()
    pipeline.add_component("retriever", BM25Retriever(store, top_k=top_k))
    pipeline.add_component(
        "prompt_builder",
        PromptBuilder(
            template="Q: {{ query }}\nContext:\n{% for d in documents %}{{ d.content }}\n{% endfor %}"
        ),
    )
    pipeline.add_component("answerer", FirstWordAnswerer())
    pipeline.add_component("answer_builder", AnswerBuilder())
    pipeline.connect("retriever.documents", "prompt_builder.documents")
    pipeline.connect("prompt_builder.prompt", "answerer.prompt")
    pipeline.connect("answerer.replies", "answer_builder.replies")
    return pipeline


def _evaluators() -> dict[str, Any]:
    return {
        "retriever": [
            DocumentRecallEvaluator(mode="multi_hit"),
            DocumentMRREvaluator(),
            DocumentNDCGEvaluator(),
        ],
        "answer_builder": [AnswerExactMatchEvaluator()],
    }


def test_scores_every_component_on_its_own() -> None:
    report = evaluate_pipeline(_rag(top_k=1), DATASET, _evaluators(), name="top1")
    scores = report.scores()
    assert list(scores) == [
        "retriever.recall",
        "retriever.mrr",
        "retriever.ndcg",
        "answer_builder.exact_match",
    ]
    assert scores["retriever.recall"] == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    assert scores["retriever.mrr"] == pytest.approx(3 / 4)
    assert scores["retriever.ndcg"] == pytest.approx((NDCG_HALF + 1 + 0 + 1) / 4)
    assert scores["answer_builder.exact_match"] == pytest.approx(2 / 4)
    assert report.component_scores() == {
        "retriever": {"recall": scores["retriever.recall"], "mrr": 0.75, "ndcg": scores["retriever.ndcg"]},
        "answer_builder": {"exact_match": 0.5},
    }
    rows = {row["row"]: row for row in report.to_rows()}
    assert rows["q1"]["retriever.recall"] == 0.5
    assert rows["q1"]["retriever.ndcg"] == pytest.approx(NDCG_HALF)
    assert rows["q3"]["retriever.mrr"] == 0.0 and rows["q3"]["answer_builder.exact_match"] == 0.0
    assert rows["q4"]["retriever.recall"] == 1.0 and rows["q4"]["answer_builder.exact_match"] == 0.0
    assert rows["q5"]["retriever.recall"] is None
    assert rows["q5"]["failed_component"] == "answerer"
    assert "no context to answer from" in rows["q5"]["error"]


def test_every_component_output_is_kept_per_row() -> None:
    report = evaluate_pipeline(_rag(top_k=1), DATASET[:1], _evaluators())
    outputs = report.rows[0].outputs
    assert outputs is not None
    assert set(outputs) == {"retriever", "prompt_builder", "answerer", "answer_builder"}
    assert [d.content for d in outputs["retriever"]["documents"]] == [D1]
    assert outputs["answerer"] == {"replies": ["Paris"]}
    assert outputs["answer_builder"]["answers"][0].data == "Paris"
    lean = evaluate_pipeline(_rag(top_k=1), DATASET[:1], _evaluators(), keep_outputs=False)
    assert lean.rows[0].outputs is None
    assert lean.scores() == report.scores()


def test_blame_traces_bad_answers_to_the_component_that_caused_them() -> None:
    report = evaluate_pipeline(_rag(top_k=1), DATASET, _evaluators())
    blame = {finding["row"]: finding for finding in report.blame(threshold=0.75)}
    assert set(blame) == {"q1", "q3", "q4", "q5"}
    assert blame["q1"]["component"] == "retriever" and blame["q1"]["metric"] == "retriever.recall"
    assert blame["q3"]["component"] == "retriever"  # the answer is wrong because retrieval missed
    assert blame["q4"]["component"] == "answer_builder"  # retrieval was right; the answer was not
    assert blame["q4"]["metric"] == "answer_builder.exact_match"
    assert blame["q5"]["component"] == "answerer" and blame["q5"]["metric"] is None
    assert {f["row"] for f in report.blame(threshold=0.5)} == {"q3", "q4", "q5"}


def test_worst_rows() -> None:
    report = evaluate_pipeline(_rag(top_k=1), DATASET, _evaluators())
    assert [row.row_id for row in report.worst(2, "recall")] == ["q3", "q1"]
    assert [row.row_id for row in report.worst(10, "retriever.mrr")] == ["q3", "q1", "q2", "q4"]
    assert [row.row_id for row in report.worst(1, "exact_match")] == ["q3"]
    with pytest.raises(EvaluationError, match="unknown"):
        report.worst(1, "bleu")
    with pytest.raises(EvaluationError, match="positive"):
        report.worst(0, "recall")


def test_compare_two_retriever_settings() -> None:
    top1 = evaluate_pipeline(_rag(top_k=1), DATASET, _evaluators(), name="top1")
    top3 = evaluate_pipeline(_rag(top_k=3), DATASET, _evaluators(), name="top3")
    comparison = top1.compare(top3)
    deltas = comparison.deltas()
    assert deltas["retriever.recall"] == pytest.approx(0.5 / 4)  # q1 finds both France documents
    assert deltas["retriever.ndcg"] == pytest.approx((1 - NDCG_HALF) / 4)
    assert deltas["retriever.mrr"] == pytest.approx(0.0)
    assert deltas["answer_builder.exact_match"] == pytest.approx(0.0)
    assert comparison.changed_rows("recall") == [{"row": "q1", "before": 0.5, "after": 1.0, "delta": 0.5}]
    table = comparison.to_rows()
    assert table[0] == {
        "metric": "retriever.recall",
        "top1": 0.625,
        "top3": 0.75,
        "delta": pytest.approx(0.125),
    }
    markdown = comparison.to_markdown()
    assert "| metric | top1 | top3 | delta |" in markdown
    assert "| retriever.recall | 0.6250 | 0.7500 | 0.1250 |" in markdown


def test_compare_needs_shared_metrics() -> None:
    retrieval_only = evaluate_pipeline(
        _rag(1), DATASET[:2], {"retriever": DocumentRecallEvaluator()}, name="a"
    )
    answers_only = evaluate_pipeline(
        _rag(1), DATASET[:2], {"answer_builder": AnswerExactMatchEvaluator()}, name="b"
    )
    with pytest.raises(EvaluationError, match="share no metric"):
        retrieval_only.compare(answers_only)


def test_markdown_and_json_outputs() -> None:
    report = evaluate_pipeline(_rag(top_k=1), DATASET, _evaluators(), name="top1")
    markdown = report.to_markdown(include_rows=True)
    assert markdown.startswith("### Evaluation: top1 (5 rows)")
    assert "| component | output | metric | score | rows_scored |" in markdown
    assert "| retriever | documents | recall | 0.6250 | 4 |" in markdown
    assert "| answer_builder | answers | exact_match | 0.5000 | 4 |" in markdown
    assert "| q5 | n/a | n/a | n/a | n/a |" in markdown
    data = json.loads(report.to_json())
    assert data["name"] == "top1"
    assert data["scores"]["retriever.mrr"] == 0.75
    assert data["components"]["answer_builder"] == {"exact_match": 0.5}
    assert [row["row"] for row in data["rows"]] == ["q1", "q2", "q3", "q4", "q5"]


def test_socket_targets_specs_and_document_ids() -> None:
    store_docs = {text: Document(content=text).id for text in TEXTS}
    dataset = [
        {
            "inputs": {"query": "capital France"},
            "ground_truth_document_ids": [store_docs[D1]],
            "answer": "Paris",
        },
        {
            "inputs": {"query": "cheese wine"},
            "ground_truth_document_ids": [store_docs[D1]],
            "answer": "Paris",
        },
    ]
    report = evaluate_pipeline(
        _rag(top_k=1),
        dataset,
        {
            "retriever.documents": [
                EvaluatorSpec(DocumentRecallEvaluator(document_comparison_field="id"), name="recall_by_id")
            ],
            "answerer.replies": [
                EvaluatorSpec(AnswerExactMatchEvaluator(), inputs={"ground_truth_answers": "answer"})
            ],
        },
    )
    assert report.scores() == {"retriever.documents.recall_by_id": 0.5, "answerer.replies.exact_match": 0.5}
    assert [row.row_id for row in report.rows] == [0, 1]
    with pytest.raises(EvaluationError, match="document_comparison_field='id'"):
        evaluate_pipeline(_rag(1), dataset, {"retriever": DocumentRecallEvaluator()})


@pytest.mark.parametrize(
    ("evaluators", "message"),
    [
        ({"generator": DocumentRecallEvaluator()}, "no component 'generator'"),
        ({"retriever.answers": DocumentRecallEvaluator()}, "has no output 'answers'"),
        ({"retriever": "recall"}, "must be an evaluator component"),
        ({"retriever": [DocumentRecallEvaluator(), DocumentRecallEvaluator()]}, "both called 'recall'"),
        ({}, "at least one evaluator"),
    ],
)
def test_bad_setup_is_explained(evaluators: dict[str, Any], message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        EvaluationRun(_rag(1), evaluators)


def test_bad_dataset_is_explained() -> None:
    run = EvaluationRun(_rag(1), _evaluators())
    with pytest.raises(EvaluationError, match="non-empty list"):
        run.run([])
    with pytest.raises(EvaluationError, match="row 1 must be a dict with an 'inputs'"):
        run.run([DATASET[0], {"query": "no inputs key"}])
    with pytest.raises(EvaluationError, match="row 0 has none of"):
        run.run([{"inputs": {"query": "capital France"}, "ground_truth_answer": "Paris"}])


def test_run_async_matches_run() -> None:
    sync_report = evaluate_pipeline(_rag(top_k=3), DATASET, _evaluators(), name="sync")
    async_report = asyncio.run(
        evaluate_pipeline_async(_rag(top_k=3), DATASET, _evaluators(), name="async", concurrency_limit=2)
    )
    assert async_report.scores() == pytest.approx(sync_report.scores())
    assert async_report.to_rows() == sync_report.to_rows()
    assert async_report.compare(sync_report).deltas() == pytest.approx(
        dict.fromkeys(sync_report.scores(), 0.0)
    )

"""Document retrieval metrics (recall, MRR, MAP, nDCG) against hand-computed values."""

from __future__ import annotations

import math
from typing import Any

import pytest

from haybale.components.evaluators import (
    DocumentMAPEvaluator,
    DocumentMRREvaluator,
    DocumentNDCGEvaluator,
    DocumentRecallEvaluator,
)
from haybale.dataclasses import Document
from haybale.errors import ComponentError, DeserializationError

A, B, C, D = (Document(content=text) for text in ("alpha", "bravo", "charlie", "delta"))
X, Y = Document(content="x-ray"), Document(content="yankee")
ALL_METRICS = [DocumentRecallEvaluator, DocumentMRREvaluator, DocumentMAPEvaluator, DocumentNDCGEvaluator]


def graded(document: Document, score: float) -> Document:
    return Document(content=document.content, meta=dict(document.meta), score=score)


# -- init and serialization --------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL_METRICS)
def test_defaults_and_round_trip(cls: Any) -> None:
    evaluator = cls(document_comparison_field="meta.source")
    data = evaluator.to_dict()
    assert data["type"] == f"{cls.__module__}.{cls.__name__}"
    assert data["init_parameters"]["document_comparison_field"] == "meta.source"
    assert cls.from_dict(data).to_dict() == data
    assert cls().document_comparison_field == "content"


def test_recall_round_trips_its_mode() -> None:
    data = DocumentRecallEvaluator(mode="multi_hit").to_dict()
    assert data["init_parameters"] == {"mode": "multi_hit", "document_comparison_field": "content"}
    assert DocumentRecallEvaluator.from_dict(data).mode == "multi_hit"


@pytest.mark.parametrize("cls", ALL_METRICS)
@pytest.mark.parametrize("field", ["title", "meta.", "", None, "meta"])
def test_bad_comparison_field_is_rejected(cls: type, field: object) -> None:
    with pytest.raises(
        ComponentError, match=r"document_comparison_field must be 'content', 'id' or 'meta\.<key>'"
    ):
        cls(document_comparison_field=field)


def test_bad_recall_mode_is_rejected() -> None:
    with pytest.raises(ComponentError, match=r"mode must be one of \['single_hit', 'multi_hit'\]"):
        DocumentRecallEvaluator(mode="any_hit")
    with pytest.raises(DeserializationError, match="Accepted parameters"):
        DocumentRecallEvaluator.from_dict({"init_parameters": {"mode": "single_hit", "k": 1}})


# -- recall ------------------------------------------------------------------------------------------------
def test_single_hit_recall() -> None:
    result = DocumentRecallEvaluator(mode="single_hit").run(
        ground_truth_documents=[[A, B], [C], [D], []],
        retrieved_documents=[[X, B], [X, Y], [], [A]],
    )
    assert result["individual_scores"] == [1.0, 0.0, 0.0, 0.0]
    assert result["score"] == pytest.approx(0.25)


def test_multi_hit_recall_counts_distinct_documents() -> None:
    result = DocumentRecallEvaluator(mode="multi_hit").run(
        ground_truth_documents=[[A, B, C], [A, A, B], [C]],
        retrieved_documents=[[B, X, A, A], [A, A], [X]],
    )
    # 2 of 3; duplicates on both sides count once: 1 of 2; nothing found.
    assert result["individual_scores"] == pytest.approx([2 / 3, 1 / 2, 0.0])
    assert result["score"] == pytest.approx((2 / 3 + 1 / 2) / 3)


def test_single_hit_and_multi_hit_differ_on_partial_retrieval() -> None:
    inputs = {"ground_truth_documents": [[A, B, C, D]], "retrieved_documents": [[D]]}
    assert DocumentRecallEvaluator(mode="single_hit").run(**inputs)["score"] == 1.0
    assert DocumentRecallEvaluator(mode="multi_hit").run(**inputs)["score"] == 0.25


def test_comparison_on_meta_and_id() -> None:
    truth = Document(content="the first chunk", meta={"source": "a.pdf"})
    other_chunk = Document(content="another chunk", meta={"source": "a.pdf"})
    same_text_other_file = Document(content="the first chunk", meta={"source": "b.pdf"})
    no_meta = Document(content="the first chunk")
    gts = [[truth], [truth], [truth]]
    retrieved = [[other_chunk], [same_text_other_file], [no_meta]]
    by_content = DocumentRecallEvaluator().run(ground_truth_documents=gts, retrieved_documents=retrieved)
    by_source = DocumentRecallEvaluator(document_comparison_field="meta.source").run(
        ground_truth_documents=gts, retrieved_documents=retrieved
    )
    by_id = DocumentRecallEvaluator(document_comparison_field="id").run(
        ground_truth_documents=gts, retrieved_documents=retrieved
    )
    assert by_content["individual_scores"] == [0.0, 1.0, 1.0]
    assert by_source["individual_scores"] == [1.0, 0.0, 0.0]  # a document without the field matches nothing
    assert by_id["individual_scores"] == [0.0, 0.0, 0.0]  # ids hash content and meta


def test_meta_values_that_are_lists_compare_by_value() -> None:
    truth = Document(content="t", meta={"tags": ["a", "b"]})
    hit = Document(content="r", meta={"tags": ["a", "b"]})
    miss = Document(content="r", meta={"tags": ["b", "a"]})
    result = DocumentRecallEvaluator(document_comparison_field="meta.tags").run(
        ground_truth_documents=[[truth], [truth]], retrieved_documents=[[hit], [miss]]
    )
    assert result["individual_scores"] == [1.0, 0.0]


@pytest.mark.parametrize("cls", ALL_METRICS)
def test_ground_truth_without_the_comparison_field_is_an_error(cls: Any) -> None:
    with pytest.raises(
        ComponentError, match=r"ground_truth_documents\[1\]\[0\] has no value for .*'meta.source'"
    ):
        cls(document_comparison_field="meta.source").run(
            ground_truth_documents=[[Document(content="a", meta={"source": "s"})], [A]],
            retrieved_documents=[[A], [A]],
        )


# -- MRR ---------------------------------------------------------------------------------------------------
def test_mrr_uses_the_first_relevant_rank() -> None:
    result = DocumentMRREvaluator().run(
        ground_truth_documents=[[A, B], [A], [C], [D]],
        retrieved_documents=[[X, Y, B, A], [A, A], [X, Y], []],
    )
    assert result["individual_scores"] == pytest.approx([1 / 3, 1.0, 0.0, 0.0])
    assert result["score"] == pytest.approx((1 / 3 + 1.0) / 4)


def test_mrr_ranks_by_position_not_by_tied_scores() -> None:
    tied = [Document(content=d.content, score=0.5) for d in (X, B, A)]
    result = DocumentMRREvaluator().run(ground_truth_documents=[[A, B]], retrieved_documents=[tied])
    assert result["individual_scores"] == [0.5]


# -- MAP ---------------------------------------------------------------------------------------------------
def test_map_is_standard_average_precision() -> None:
    result = DocumentMAPEvaluator().run(
        ground_truth_documents=[[A, B, C], [A, B], [A], [B]],
        retrieved_documents=[[A, X, B, Y], [A, A, B], [X], []],
    )
    # (1/1 + 2/3) / 3; the repeated A is not a new hit: (1/1 + 2/3) / 2; no hits; empty retrieval.
    expected = [(1 + 2 / 3) / 3, (1 + 2 / 3) / 2, 0.0, 0.0]
    assert result["individual_scores"] == pytest.approx(expected)
    assert result["score"] == pytest.approx(sum(expected) / 4)


def test_map_counts_unretrieved_relevant_documents_as_misses() -> None:
    result = DocumentMAPEvaluator().run(ground_truth_documents=[[A, B, C, D]], retrieved_documents=[[A]])
    assert result["score"] == pytest.approx(0.25)


# -- nDCG --------------------------------------------------------------------------------------------------
def test_binary_ndcg() -> None:
    result = DocumentNDCGEvaluator().run(
        ground_truth_documents=[[A, B], [A, B], [A, B], [A]],
        retrieved_documents=[[X, A, B], [A, A, B], [B, A], []],
    )
    ideal = 1 + 1 / math.log2(3)
    expected = [
        (1 / math.log2(3) + 1 / math.log2(4)) / ideal,
        (1 + 1 / math.log2(4)) / ideal,  # the repeated A earns nothing
        1.0,
        0.0,
    ]
    assert result["individual_scores"] == pytest.approx(expected)
    assert result["score"] == pytest.approx(sum(expected) / 4)


def test_graded_ndcg_uses_ground_truth_scores() -> None:
    truths = [graded(A, 3), graded(B, 1)]
    result = DocumentNDCGEvaluator().run(
        ground_truth_documents=[truths, truths, truths], retrieved_documents=[[B, A], [A, B], [X, B]]
    )
    ideal = 3 + 1 / math.log2(3)
    expected = [(1 + 3 / math.log2(3)) / ideal, 1.0, (1 / math.log2(3)) / ideal]
    assert result["individual_scores"] == pytest.approx(expected)


def test_graded_ndcg_with_tied_grades_is_order_independent_among_ties() -> None:
    truths = [graded(A, 2), graded(B, 2), graded(C, 1)]
    result = DocumentNDCGEvaluator().run(
        ground_truth_documents=[truths, truths, truths], retrieved_documents=[[A, B, C], [B, A, C], [C, A, B]]
    )
    ideal = 2 + 2 / math.log2(3) + 1 / math.log2(4)
    worse = (1 + 2 / math.log2(3) + 2 / math.log2(4)) / ideal
    assert result["individual_scores"] == pytest.approx([1.0, 1.0, worse])


def test_ndcg_zero_grades_and_duplicate_ground_truth() -> None:
    result = DocumentNDCGEvaluator().run(
        ground_truth_documents=[[graded(A, 0)], [graded(A, 1), graded(A, 3)]],
        retrieved_documents=[[A], [A]],
    )
    assert result["individual_scores"] == [0.0, 1.0]  # all-zero grades; a repeated truth keeps its best grade


def test_ndcg_rejects_mixed_and_negative_grades() -> None:
    with pytest.raises(ComponentError, match=r"ground_truth_documents\[0\] mixes documents with and without"):
        DocumentNDCGEvaluator().run(ground_truth_documents=[[graded(A, 1), B]], retrieved_documents=[[A]])
    with pytest.raises(
        ComponentError, match=r"ground_truth_documents\[0\]\[0\].score must be a relevance >= 0"
    ):
        DocumentNDCGEvaluator().run(ground_truth_documents=[[graded(A, -1)]], retrieved_documents=[[A]])


# -- bad input ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL_METRICS)
def test_mismatched_lengths_name_both_inputs(cls: Any) -> None:
    with pytest.raises(
        ComponentError, match="'ground_truth_documents' has 2, 'retrieved_documents' has 1 entries"
    ):
        cls().run(ground_truth_documents=[[A], [B]], retrieved_documents=[[A]])


@pytest.mark.parametrize("cls", ALL_METRICS)
def test_empty_inputs_are_rejected(cls: Any) -> None:
    with pytest.raises(ComponentError, match="nothing to evaluate"):
        cls().run(ground_truth_documents=[], retrieved_documents=[])


@pytest.mark.parametrize("cls", ALL_METRICS)
def test_wrong_types_are_rejected(cls: Any) -> None:
    with pytest.raises(ComponentError, match=r"'retrieved_documents\[0\]\[1\]' must be a Document, got str"):
        cls().run(ground_truth_documents=[[A]], retrieved_documents=[[A, "bravo"]])
    with pytest.raises(ComponentError, match=r"'ground_truth_documents\[0\]' must be a list of Document"):
        cls().run(ground_truth_documents=[A], retrieved_documents=[[A]])
    with pytest.raises(ComponentError, match="'retrieved_documents' must be a list with one entry per query"):
        cls().run(ground_truth_documents=[[A]], retrieved_documents="abc")

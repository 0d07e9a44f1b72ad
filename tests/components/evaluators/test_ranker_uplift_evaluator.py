"""RankerUpliftEvaluator: a ranker that moves the relevant documents up scores 1, one that leaves them 0.5,
one that pushes them down or out of the top k 0; rows with nothing to move are not judged."""

from __future__ import annotations

import math
from typing import Any

import pytest

from haybale.components.evaluators import RankerUpliftEvaluator
from haybale.core.serialization import deserialize_object
from haybale.dataclasses import Document
from haybale.errors import ComponentError

TEXTS = {
    "hay": "Hay is grass that is cut, dried and stored as fodder.",
    "straw": "Straw is the dry stalk of cereal plants.",
    "opera": "Opera singers train their voices for years.",
    "comet": "A comet is an icy body that releases gas near the sun.",
    "x": "Bananas are rich in potassium.",
    "y": "The Pacific is the largest ocean.",
}


def _docs(*keys: str) -> list[Document]:
    return [Document(id=key, content=TEXTS.get(key, key)) for key in keys]


def test_uplift_per_row_up_unchanged_down_dropped() -> None:
    relevant = _docs("hay")
    result = RankerUpliftEvaluator(top_k=2).run(
        ground_truth_documents=[relevant] * 4,
        source_documents=[_docs("comet", "opera", "hay"), *[_docs("hay", "opera", "comet")] * 3],
        ranked_documents=[
            _docs("hay", "comet", "opera"),  # up from rank 3 to 1
            _docs("hay", "comet", "opera"),  # stays first
            _docs("comet", "opera", "hay"),  # pushed to the end
            _docs("opera", "comet"),  # cut off
        ],
    )
    assert result["uplifts"] == [1, 0, -1, -1]
    assert result["individual_scores"] == [1.0, 0.5, 0.0, 0.0]
    assert result["score"] == pytest.approx(0.375)
    assert result["recall_before"] == [0.0, 1.0, 1.0, 1.0]
    assert result["recall_after"] == [1.0, 1.0, 0.0, 0.0]
    assert result["recall_preserved"] == [True, True, False, False]
    assert result["reasons"][0] == "moved the relevant documents up: rank 3 -> 1"
    assert (
        result["reasons"][2]
        == "downranked the relevant documents: rank 1 -> 3; recall@2 fell from 1.00 to 0.00"
    )
    assert result["reasons"][3].startswith("downranked the relevant documents: rank 1 -> dropped")
    assert result["context_relevance_deltas"] == [None] * 4  # no questions given


def test_losing_top_k_recall_fails_even_when_the_best_document_moves_up() -> None:
    relevant = _docs("hay", "straw", "comet")
    result = RankerUpliftEvaluator(top_k=3).run(
        ground_truth_documents=[relevant],
        source_documents=[_docs("x", "hay", "straw", "comet", "y")],
        ranked_documents=[_docs("hay", "x", "y", "straw", "comet")],
    )
    assert result["uplifts"] == [1]  # nDCG rose: "hay" went from rank 2 to 1
    assert result["recall_preserved"] == [False] and result["individual_scores"] == [0.0]
    assert "recall@3 fell from 0.67 to 0.33" in result["reasons"][0]


def test_a_row_without_relevant_documents_is_not_judged() -> None:
    result = RankerUpliftEvaluator().run(
        ground_truth_documents=[_docs("hay"), _docs("hay")],
        source_documents=[_docs("opera", "comet"), _docs("comet", "hay")],
        ranked_documents=[_docs("comet", "opera"), _docs("hay", "comet")],
    )
    assert math.isnan(result["individual_scores"][0]) and result["uplifts"][0] == 0
    assert "nothing to move" in result["reasons"][0]
    assert result["score"] == 1.0  # the mean over the rows that could be judged


def test_context_relevance_delta_of_the_top_k() -> None:
    question = "what is hay"
    result = RankerUpliftEvaluator(top_k=1).run(
        questions=[question, question, "the of"],
        ground_truth_documents=[_docs("hay")] * 3,
        source_documents=[_docs("opera", "hay")] * 3,
        ranked_documents=[_docs("hay", "opera"), _docs("opera", "hay"), _docs("hay", "opera")],
    )
    assert result["context_relevance_deltas"] == [1.0, 0.0, None]  # "the of" has no content word
    # within the top k, order counts: the on-topic document moving from rank 2 to 1 is a gain
    within = RankerUpliftEvaluator(top_k=2).run(
        questions=[question, question],
        ground_truth_documents=[_docs("hay")] * 2,
        source_documents=[_docs("opera", "hay"), _docs("hay", "opera")],
        ranked_documents=[_docs("hay", "opera"), _docs("opera", "hay")],
    )
    gain, loss = within["context_relevance_deltas"]
    assert gain > 0.2 and loss == pytest.approx(-gain)


def test_graded_ground_truth_and_id_comparison() -> None:
    graded = [Document(id="hay", score=3.0), Document(id="straw", score=1.0)]
    evaluator = RankerUpliftEvaluator(document_comparison_field="id")
    result = evaluator.run(
        ground_truth_documents=[graded, graded],
        source_documents=[_docs("straw", "hay"), _docs("hay", "straw")],
        ranked_documents=[_docs("hay", "straw"), _docs("straw", "hay")],
    )
    assert result["uplifts"] == [1, -1]  # the better-graded document counts more


def test_round_trip() -> None:
    evaluator = RankerUpliftEvaluator(top_k=5, document_comparison_field="meta.source_id")
    data = evaluator.to_dict()
    assert data["init_parameters"] == {"top_k": 5, "document_comparison_field": "meta.source_id"}
    assert deserialize_object(data).to_dict() == data


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"top_k": 0}, "top_k must be a positive integer"), ({"document_comparison_field": "x"}, "meta.<key>")],
)
def test_bad_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        RankerUpliftEvaluator(**settings)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source_documents": [_docs("hay"), _docs("hay")]}, "same length"),
        ({"ranked_documents": [["hay"]]}, r"'ranked_documents\[0\]\[0\]' must be a Document"),
        ({"questions": [3]}, r"'questions\[0\]' must be a string"),
        (
            {"ground_truth_documents": [[Document(content=None)]]},
            "^RankerUpliftEvaluator: .*has no value for document_comparison_field",
        ),
    ],
)
def test_bad_input_names_the_problem(kwargs: dict[str, Any], message: str) -> None:
    inputs: dict[str, Any] = {
        "ground_truth_documents": [_docs("hay")],
        "source_documents": [_docs("hay")],
        "ranked_documents": [_docs("hay")],
        **kwargs,
    }
    with pytest.raises(ComponentError, match=message):
        RankerUpliftEvaluator().run(**inputs)

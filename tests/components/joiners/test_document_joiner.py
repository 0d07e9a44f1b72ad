"""DocumentJoiner: init, serialization, every join mode with score provenance, bad input."""

from __future__ import annotations

import pytest

from haybale.components.joiners import DocumentJoiner
from haybale.dataclasses import Document
from haybale.errors import ComponentError


def _docs(*pairs: tuple[str, float]) -> list[Document]:
    return [Document(content=text, score=score) for text, score in pairs]


@pytest.fixture
def lists() -> tuple[list[Document], list[Document]]:
    bm25 = _docs(("a", 9.0), ("b", 6.0), ("c", 3.0))
    dense = _docs(("b", 0.9), ("d", 0.8), ("a", 0.1))
    return bm25, dense


def test_init_defaults() -> None:
    joiner = DocumentJoiner()
    assert (joiner.join_mode, joiner.weights, joiner.top_k, joiner.sort_by_score) == (
        "concatenate",
        None,
        None,
        True,
    )


def test_round_trip() -> None:
    joiner = DocumentJoiner(join_mode="reciprocal_rank_fusion", weights=[2, 1], top_k=5, sort_by_score=False)
    data = joiner.to_dict()
    assert data == {
        "type": "haybale.components.joiners.document_joiner.DocumentJoiner",
        "init_parameters": {
            "join_mode": "reciprocal_rank_fusion",
            "weights": [2, 1],
            "top_k": 5,
            "sort_by_score": False,
        },
    }
    assert DocumentJoiner.from_dict(data).to_dict() == data


def test_concatenate_keeps_best_score_per_id(lists) -> None:
    result = DocumentJoiner(join_mode="concatenate").run(documents=list(lists))["documents"]
    assert [d.content for d in result] == ["a", "b", "c", "d"]
    assert [d.score for d in result] == [9.0, 6.0, 3.0, 0.8]
    assert result[1].score_details["inputs"]["1"] == {"rank": 1, "score": 0.9, "weight": 0.5}


def test_merge_sums_weighted_scores(lists) -> None:
    result = DocumentJoiner(join_mode="merge", weights=[1, 3]).run(documents=list(lists))["documents"]
    scores = {d.content: d.score for d in result}
    assert scores == pytest.approx(
        {"a": 9 * 0.25 + 0.1 * 0.75, "b": 6 * 0.25 + 0.9 * 0.75, "c": 0.75, "d": 0.6}
    )


def test_rrf_ranks_agreement_first_and_explains_itself(lists) -> None:
    result = DocumentJoiner(join_mode="reciprocal_rank_fusion").run(documents=list(lists))["documents"]
    assert [d.content for d in result] == ["b", "a", "d", "c"]
    top = result[0]
    expected = 0.5 * 61 / 62 + 0.5 * 61 / 61
    assert top.score == pytest.approx(expected)
    assert top.score_details == {
        "method": "reciprocal_rank_fusion",
        "score": pytest.approx(expected),
        "inputs": {
            "0": {"rank": 2, "score": 6.0, "weight": 0.5},
            "1": {"rank": 1, "score": 0.9, "weight": 0.5},
        },
    }
    # a document found by one input only has one entry
    assert set(result[2].score_details["inputs"]) == {"1"}


def test_rrf_first_everywhere_scores_one() -> None:
    doc = Document(content="x", score=1.0)
    result = DocumentJoiner(join_mode="reciprocal_rank_fusion").run(documents=[[doc], [doc]])["documents"]
    assert result[0].score == pytest.approx(1.0)


def test_dbsf_normalizes_each_list(lists) -> None:
    result = DocumentJoiner(join_mode="distribution_based_rank_fusion").run(documents=list(lists))[
        "documents"
    ]
    assert all(0.0 <= d.score <= 1.0 for d in result)
    assert result[0].score_details["method"] == "distribution_based_rank_fusion"
    assert {d.content for d in result} == {"a", "b", "c", "d"}


def test_retriever_names_from_score_details() -> None:
    bm25 = [Document(content="a", score=2.0, score_details={"bm25": {"score": 2.0}})]
    dense = [Document(content="a", score=0.5, score_details={"embedding": {"score": 0.5}})]
    result = DocumentJoiner(join_mode="reciprocal_rank_fusion").run(documents=[bm25, dense])["documents"]
    inputs = result[0].score_details["inputs"]
    assert set(inputs) == {"bm25", "embedding"}
    assert inputs["bm25"]["details"] == {"bm25": {"score": 2.0}}


def test_top_k_sort_and_inputs_untouched(lists) -> None:
    before = [[(d.id, d.score, d.score_details) for d in docs] for docs in lists]
    result = DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=2).run(documents=list(lists))[
        "documents"
    ]
    assert len(result) == 2
    assert [[(d.id, d.score, d.score_details) for d in docs] for docs in lists] == before
    assert all(r is not d for r in result for docs in lists for d in docs)
    unsorted = DocumentJoiner(join_mode="merge", sort_by_score=False).run(documents=list(lists))["documents"]
    assert [d.content for d in unsorted] == ["a", "b", "c", "d"]
    assert len(DocumentJoiner(top_k=3).run(documents=list(lists), top_k=1)["documents"]) == 1


def test_empty_inputs() -> None:
    assert DocumentJoiner(join_mode="reciprocal_rank_fusion").run(documents=[[], []]) == {"documents": []}
    assert DocumentJoiner().run(documents=[]) == {"documents": []}


def test_bad_input(lists) -> None:
    with pytest.raises(ComponentError, match=r"unknown join_mode 'rrf'.*reciprocal_rank_fusion"):
        DocumentJoiner(join_mode="rrf")
    with pytest.raises(ComponentError, match="non-negative"):
        DocumentJoiner(weights=[1, -1])
    with pytest.raises(ComponentError, match="top_k"):
        DocumentJoiner(top_k=-1)
    with pytest.raises(ComponentError, match="got 3 weights for 2 input lists"):
        DocumentJoiner(weights=[1, 1, 1]).run(documents=list(lists))

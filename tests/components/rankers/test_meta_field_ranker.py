"""MetaFieldRanker: init, serialization, ranking modes, missing meta, value parsing, bad input."""

from __future__ import annotations

import pytest

from haybale.components.rankers import MetaFieldRanker
from haybale.dataclasses import Document
from haybale.errors import ComponentError


def _docs() -> list[Document]:
    return [
        Document(content="a", meta={"rating": 1}, score=0.9),
        Document(content="b", meta={"rating": 3}, score=0.5),
        Document(content="c", score=0.4),
        Document(content="d", meta={"rating": 2}, score=0.1),
    ]


def test_round_trip() -> None:
    ranker = MetaFieldRanker(
        "rating",
        weight=0.5,
        top_k=3,
        ranking_mode="linear_score",
        sort_order="ascending",
        missing_meta="drop",
        meta_value_type="int",
    )
    data = ranker.to_dict()
    assert data["init_parameters"] == {
        "meta_field": "rating",
        "weight": 0.5,
        "top_k": 3,
        "ranking_mode": "linear_score",
        "sort_order": "ascending",
        "missing_meta": "drop",
        "meta_value_type": "int",
    }
    assert MetaFieldRanker.from_dict(data).to_dict() == data


def test_weight_one_sorts_by_meta_and_missing_go_bottom() -> None:
    result = MetaFieldRanker("rating").run(documents=_docs())["documents"]
    assert [d.content for d in result] == ["b", "d", "a", "c"]
    assert result[0].score_details["meta_rank"] == 1 and result[0].score_details["previous_rank"] == 2
    assert result[-1].score == 0.4  # passed through unchanged


def test_missing_top_drop_ascending_and_top_k() -> None:
    docs = _docs()
    assert [
        d.content for d in MetaFieldRanker("rating", missing_meta="top").run(documents=docs)["documents"]
    ] == ["c", "b", "d", "a"]
    dropped = MetaFieldRanker("rating", missing_meta="drop", sort_order="ascending", top_k=2).run(
        documents=docs
    )
    assert [d.content for d in dropped["documents"]] == ["a", "d"]


def test_weight_zero_keeps_previous_order_and_linear_mode() -> None:
    docs = _docs()
    kept = MetaFieldRanker("rating", weight=0.0, missing_meta="drop").run(documents=docs)["documents"]
    assert [d.content for d in kept] == ["a", "b", "d"]
    linear = MetaFieldRanker("rating", weight=0.5, ranking_mode="linear_score", missing_meta="drop")
    result = linear.run(documents=docs)["documents"]
    scores = {d.content: d.score for d in result}
    assert scores == pytest.approx(
        {"a": 0.5 * 0.9 + 0.5 * 1 / 3, "b": 0.5 * 0.5 + 0.5, "d": 0.05 + 0.5 * 2 / 3}
    )
    assert docs[0].score == 0.9  # inputs untouched


def test_meta_value_type_parses_strings() -> None:
    docs = [Document(content=str(v), meta={"date": v}) for v in ["2021-05-01", "2023-01-01", "2019-12-31"]]
    result = MetaFieldRanker("date", meta_value_type="date").run(documents=docs)["documents"]
    assert [d.content for d in result] == ["2023-01-01", "2021-05-01", "2019-12-31"]
    floats = [Document(content=v, meta={"x": v}) for v in ["10", "9.5"]]
    assert [
        d.content for d in MetaFieldRanker("x", meta_value_type="float").run(documents=floats)["documents"]
    ] == ["10", "9.5"]


def test_bad_input() -> None:
    with pytest.raises(ComponentError, match="weight must be a number in \\[0, 1\\]"):
        MetaFieldRanker("x", weight=2)
    with pytest.raises(ComponentError, match="ranking_mode must be one of"):
        MetaFieldRanker("x", ranking_mode="bogus")
    with pytest.raises(ComponentError, match="missing_meta must be one of"):
        MetaFieldRanker("x").run(documents=[], missing_meta="middle")
    mixed = [Document(content="1", meta={"x": 1}), Document(content="2", meta={"x": "two"})]
    with pytest.raises(ComponentError, match=r"cannot be compared.*meta_value_type"):
        MetaFieldRanker("x").run(documents=mixed)
    with pytest.raises(ComponentError, match="not a valid float"):
        MetaFieldRanker("x", meta_value_type="float").run(documents=mixed)
    with pytest.raises(ComponentError, match="has no score"):
        MetaFieldRanker("x", ranking_mode="linear_score").run(
            documents=[Document(content="a", meta={"x": 1})]
        )

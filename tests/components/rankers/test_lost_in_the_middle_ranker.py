"""LostInTheMiddleRanker: init, serialization, ordering, thresholds, bad input."""

from __future__ import annotations

import pytest

from haybale.components.rankers import LostInTheMiddleRanker
from haybale.dataclasses import ByteStream, Document
from haybale.errors import ComponentError


def _docs(n: int) -> list[Document]:
    return [Document(content=f"w{i} " * 3) for i in range(1, n + 1)]


def test_round_trip() -> None:
    ranker = LostInTheMiddleRanker(word_count_threshold=10, top_k=4)
    data = ranker.to_dict()
    assert data["init_parameters"] == {"word_count_threshold": 10, "top_k": 4}
    assert LostInTheMiddleRanker.from_dict(data).to_dict() == data


def test_best_documents_at_the_edges() -> None:
    docs = _docs(7)
    result = LostInTheMiddleRanker().run(documents=docs)["documents"]
    assert [docs.index(d) + 1 for d in result] == [1, 3, 5, 7, 6, 4, 2]
    assert LostInTheMiddleRanker().run(documents=[]) == {"documents": []}


def test_top_k_and_word_threshold() -> None:
    docs = _docs(6)
    assert [docs.index(d) + 1 for d in LostInTheMiddleRanker(top_k=3).run(documents=docs)["documents"]] == [
        1,
        3,
        2,
    ]
    # 3 words each: the 3rd document crosses a threshold of 7 words and is kept, the rest are not
    result = LostInTheMiddleRanker(word_count_threshold=7).run(documents=docs)["documents"]
    assert [docs.index(d) + 1 for d in result] == [1, 3, 2]
    assert len(LostInTheMiddleRanker().run(documents=docs, top_k=2)["documents"]) == 2


def test_bad_input() -> None:
    with pytest.raises(ComponentError, match="top_k must be a non-negative integer"):
        LostInTheMiddleRanker(top_k=-1)
    assert LostInTheMiddleRanker(top_k=0).run(documents=[Document(content="a")])["documents"] == []
    with pytest.raises(ComponentError, match="word_count_threshold"):
        LostInTheMiddleRanker(word_count_threshold=-5)
    with pytest.raises(ComponentError, match="has no text content"):
        LostInTheMiddleRanker().run(documents=[Document(blob=ByteStream(data=b"x"))])

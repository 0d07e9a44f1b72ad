"""search_store: the search behind `haybale query` (bm25, dense, hybrid) and its input checks."""

from __future__ import annotations

import pytest

from haybale.dataclasses import Document
from haybale.errors import ComponentError, DocumentStoreError, FilterError
from haybale.indexing.search import search_store
from haybale.stores import InMemoryDocumentStore


class AxisEmbedder:
    """A deterministic text embedder: 'lava' texts point along x, everything else along y."""

    def run(self, text: str) -> dict[str, list[float]]:
        return {"embedding": [1.0, 0.0] if "lava" in text else [0.0, 1.0]}


@pytest.fixture
def store() -> InMemoryDocumentStore:
    store = InMemoryDocumentStore()
    store.write_documents(
        [
            Document(content="lava flows from the volcano", meta={"year": 2020}, embedding=[1.0, 0.0]),
            Document(content="bread rises in the oven", meta={"year": 2021}, embedding=[0.0, 1.0]),
            Document(content="trains run on rails", meta={"year": 2022}, embedding=[0.6, 0.8]),
        ]
    )
    return store


def test_bm25_mode(store: InMemoryDocumentStore) -> None:
    results = search_store(store, "oven bread", mode="bm25", top_k=1)
    assert [d.content for d in results] == ["bread rises in the oven"]


def test_dense_mode_uses_the_embedder(store: InMemoryDocumentStore) -> None:
    results = search_store(store, "hot lava", mode="dense", top_k=2, text_embedder=AxisEmbedder())
    assert results[0].content == "lava flows from the volcano"
    assert results[0].score >= results[1].score


def test_hybrid_mode_explains_scores(store: InMemoryDocumentStore) -> None:
    results = search_store(store, "lava volcano", mode="hybrid", top_k=3, text_embedder=AxisEmbedder())
    assert results[0].content == "lava flows from the volcano"
    assert results[0].score_details is not None


def test_filters_apply(store: InMemoryDocumentStore) -> None:
    results = search_store(
        store, "lava", mode="dense", top_k=3, filters={"year": 2021}, text_embedder=AxisEmbedder()
    )
    assert [d.meta["year"] for d in results] == [2021]


def test_bad_filters_raise_filter_error(store: InMemoryDocumentStore) -> None:
    with pytest.raises(FilterError):
        search_store(store, "lava", mode="bm25", filters={"field": "meta.year", "operator": "~", "value": 1})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "fuzzy"}, "Unknown search mode"),
        ({"query": "  "}, "empty"),
        ({"top_k": -1}, "top_k"),
        ({"mode": "dense"}, "needs a text embedder"),
    ],
)
def test_bad_arguments_are_clear_errors(store: InMemoryDocumentStore, kwargs: dict, match: str) -> None:
    params = {"query": "lava", "mode": "bm25", **kwargs}
    query = params.pop("query")
    with pytest.raises(ComponentError, match=match):
        search_store(store, query, **params)


def test_store_without_bm25_is_refused() -> None:
    class CrudOnly:
        pass

    with pytest.raises(DocumentStoreError, match="bm25_search"):
        search_store(CrudOnly(), "lava", mode="bm25")

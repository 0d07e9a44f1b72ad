"""The metric evaluators wired into a pipeline and round-tripped through YAML."""

from __future__ import annotations

import pytest

from haybale.components.evaluators import (
    AnswerExactMatchEvaluator,
    DocumentMAPEvaluator,
    DocumentMRREvaluator,
    DocumentNDCGEvaluator,
    DocumentRecallEvaluator,
    SASEvaluator,
)
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import Document
from haybale.errors import PipelineRuntimeError


def evaluation_pipeline() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("recall", DocumentRecallEvaluator(mode="multi_hit"))
    pipeline.add_component("mrr", DocumentMRREvaluator(document_comparison_field="meta.source"))
    pipeline.add_component("map", DocumentMAPEvaluator(document_comparison_field="id"))
    pipeline.add_component("ndcg", DocumentNDCGEvaluator())
    pipeline.add_component("exact", AnswerExactMatchEvaluator())
    pipeline.add_component("sas", SASEvaluator(batch_size=8))
    return pipeline


def test_yaml_round_trip_keeps_every_setting() -> None:
    pipeline = evaluation_pipeline()
    text = pipeline.dumps()
    assert "multi_hit" in text and "meta.source" in text
    loaded = Pipeline.loads(text)
    assert loaded.to_dict() == pipeline.to_dict()
    recall = loaded.get_component("recall")
    assert isinstance(recall, DocumentRecallEvaluator) and recall.mode == "multi_hit"


def test_metric_evaluators_share_flat_inputs_in_a_pipeline() -> None:
    pipeline = Pipeline()
    for name, evaluator in [
        ("recall", DocumentRecallEvaluator()),
        ("mrr", DocumentMRREvaluator()),
        ("map", DocumentMAPEvaluator()),
        ("ndcg", DocumentNDCGEvaluator()),
    ]:
        pipeline.add_component(name, evaluator)
    a, b, x = Document(content="a"), Document(content="b"), Document(content="x")
    result = Pipeline.loads(pipeline.dumps()).run(
        {"ground_truth_documents": [[a], [b]], "retrieved_documents": [[x, a], [b]]}
    )
    assert result["recall"] == {"score": 1.0, "individual_scores": [1.0, 1.0]}
    assert result["mrr"]["individual_scores"] == [0.5, 1.0]
    assert result["map"]["score"] == pytest.approx(0.75)
    assert result["ndcg"]["individual_scores"] == pytest.approx([1 / 1.584962500721156, 1.0])


def test_bad_input_in_a_pipeline_names_the_component() -> None:
    pipeline = Pipeline()
    pipeline.add_component("exact", AnswerExactMatchEvaluator())
    with pytest.raises(PipelineRuntimeError, match="exact") as caught:
        pipeline.run({"exact": {"ground_truth_answers": ["a", "b"], "predicted_answers": ["a"]}})
    assert "'ground_truth_answers' has 2, 'predicted_answers' has 1" in str(caught.value.__cause__)

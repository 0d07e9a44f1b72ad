"""SASEvaluator with the real bundled all-MiniLM-L6-v2 model."""

from __future__ import annotations

import pytest

from haybale.components.evaluators import SASEvaluator
from haybale.errors import ComponentError, ModelUnavailableError


def test_init_defaults_round_trip_and_no_loading() -> None:
    evaluator = SASEvaluator()
    assert evaluator.model == "sentence-transformers/all-MiniLM-L6-v2"
    assert evaluator._encoder is None  # lazy: nothing loaded before warm_up / run
    data = SASEvaluator(model="all-MiniLM-L6-v2", batch_size=4, device="cpu").to_dict()
    assert data["init_parameters"] == {"model": "all-MiniLM-L6-v2", "batch_size": 4, "device": "cpu"}
    assert SASEvaluator.from_dict(data).to_dict() == data


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True])
def test_bad_batch_size(batch_size: object) -> None:
    with pytest.raises(ComponentError, match="batch_size must be a positive integer"):
        SASEvaluator(batch_size=batch_size)  # type: ignore[arg-type]


def test_bad_input_fails_before_loading_the_model() -> None:
    evaluator = SASEvaluator(model="/nonexistent/model/folder")
    with pytest.raises(
        ComponentError, match="'ground_truth_answers' has 2, 'predicted_answers' has 1 entries"
    ):
        evaluator.run(ground_truth_answers=["a", "b"], predicted_answers=["a"])
    with pytest.raises(ComponentError, match=r"'predicted_answers\[0\]' must be a string, got NoneType"):
        evaluator.run(ground_truth_answers=["a"], predicted_answers=[None])  # type: ignore[list-item]
    with pytest.raises(ComponentError, match="nothing to evaluate"):
        evaluator.run(ground_truth_answers=[], predicted_answers=[])


def test_unknown_model_gives_an_offline_error() -> None:
    with pytest.raises(ModelUnavailableError, match="haybale never downloads models"):
        SASEvaluator(model="/nonexistent/model/folder").run(
            ground_truth_answers=["a"], predicted_answers=["a"]
        )


@pytest.mark.slow
def test_similarity_orders_paraphrases_above_unrelated_answers() -> None:
    evaluator = SASEvaluator(batch_size=2)
    evaluator.warm_up()
    result = evaluator.run(
        ground_truth_answers=[
            "The capital of France is Paris.",
            "The capital of France is Paris.",
            "The capital of France is Paris.",
        ],
        predicted_answers=[
            "The capital of France is Paris.",
            "Paris is France's capital city.",
            "Bananas are rich in potassium.",
        ],
    )
    same, paraphrase, unrelated = result["individual_scores"]
    assert same == pytest.approx(1.0, abs=1e-5)
    assert 0.7 < paraphrase < same
    assert unrelated < 0.3
    assert result["score"] == pytest.approx((same + paraphrase + unrelated) / 3)
    assert all(isinstance(score, float) for score in result["individual_scores"])


@pytest.mark.slow
def test_sas_shares_the_loaded_model_with_the_embedders() -> None:
    from haybale.components.embedders import SentenceTransformersTextEmbedder

    evaluator, embedder = SASEvaluator(), SentenceTransformersTextEmbedder()
    evaluator.warm_up()
    embedder.warm_up()
    assert evaluator._encoder is embedder._encoder


@pytest.mark.slow
async def test_run_async_matches_run() -> None:
    evaluator = SASEvaluator()
    inputs = {"ground_truth_answers": ["A cat sat."], "predicted_answers": ["A dog ran."]}
    assert (await evaluator.run_async(**inputs))["score"] == pytest.approx(evaluator.run(**inputs)["score"])

"""LiveTraceScorer: a sample of pipeline runs scored in the background, scores attached to their traces as
EVALUATOR spans, rolling means for /metrics; the request never waits for scoring."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from haybale.components.evaluators import GroundednessEvaluator
from haybale.errors import EvaluationError
from haybale.evaluation.live_scoring import LiveTraceScorer
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend
from haybale.tracing import (
    InMemoryTracer,
    MetricsTracer,
    OpenTelemetryTracer,
    disable_tracing,
    enable_tracing,
)

from .rag_fixtures import DATASET, answer_from_first_source, rag_pipeline


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    with serve_chat_backend(ScriptedChatBackend([answer_from_first_source]), model_name="scripted") as server:
        yield server.base_url


@pytest.fixture(autouse=True)
def _tracing_off() -> Iterator[None]:
    yield
    disable_tracing()


def test_sampled_runs_get_scores_attached_without_exporting_content(llm_url: str) -> None:
    memory = InMemoryTracer()
    scorer = LiveTraceScorer(memory, sample_rate=1.0, seed=1)
    enable_tracing(scorer, content_tracing=False)
    rag_pipeline(llm_url).run(DATASET[0]["inputs"])
    rag_pipeline(llm_url, broken_template=True).run(DATASET[1]["inputs"])
    assert scorer.flush(30)
    evaluations = memory.find("haybale.evaluation")
    assert len(evaluations) == 2
    healthy, broken = evaluations
    roots = memory.find("haybale.pipeline.run")
    assert [e.parent_id for e in evaluations] == [r.span_id for r in roots]
    assert [e.trace_id for e in evaluations] == [r.trace_id for r in roots]
    assert healthy.tags["openinference.span.kind"] == "EVALUATOR"
    assert healthy.tags["haybale.eval.llm.groundedness"] == 1.0
    assert broken.tags["haybale.eval.llm.groundedness"] == 0.0
    assert broken.tags["haybale.eval.llm.refusal"] == 1.0
    # the exported spans carry no content: the prompt was kept for scoring only
    (llm,) = [s for s in memory.component_spans("llm") if s.trace_id == roots[0].trace_id]
    assert "gen_ai.input.messages" not in llm.tags
    assert scorer.stats[("llm", "groundedness")].rolling_mean == 0.5
    text = scorer.to_prometheus()
    assert 'haybale_live_rubric_score{component="llm",rubric="groundedness"} 0.5' in text
    assert "haybale_live_traces_scored_total 2" in text
    scorer.close()


def test_sample_rate_decides_how_many_runs_are_scored(llm_url: str) -> None:
    nothing = LiveTraceScorer(InMemoryTracer(), sample_rate=0.0)
    enable_tracing(nothing)
    pipeline = rag_pipeline(llm_url)
    pipeline.run(DATASET[0]["inputs"])
    assert nothing.flush(5) and nothing.sampled == 0
    some = LiveTraceScorer(None, sample_rate=0.5, seed=7)
    enable_tracing(some)
    for _ in range(20):
        pipeline.run(DATASET[0]["inputs"])
    assert some.flush(30)
    assert 3 <= some.sampled <= 17 and some.scored == some.sampled
    with pytest.raises(EvaluationError, match="sample_rate"):
        LiveTraceScorer(sample_rate=1.5)


class _BlockingGroundedness(GroundednessEvaluator):
    """Groundedness that waits for a signal: proves scoring happens off the request path."""

    gate = threading.Event()

    def run(self, prompts: list[Any], predicted_answers: list[str]) -> dict[str, Any]:  # type: ignore[override]
        assert self.gate.wait(30)
        return super().run(prompts=prompts, predicted_answers=predicted_answers)


def test_the_request_never_waits_for_scoring(llm_url: str) -> None:
    scorer = LiveTraceScorer(
        InMemoryTracer(), sample_rate=1.0, evaluators={"groundedness": _BlockingGroundedness()}
    )
    enable_tracing(scorer)
    result = rag_pipeline(llm_url).run(DATASET[0]["inputs"])  # returns while scoring is blocked
    assert result["answer_builder"]["answers"]
    assert scorer.scored == 0
    _BlockingGroundedness.gate.set()
    assert scorer.flush(30) and scorer.scored == 1
    scorer.close()


def test_scores_join_the_opentelemetry_trace_through_the_metrics_tracer(llm_url: str, otel: Any) -> None:
    exporter, otel_tracer = otel
    metrics = MetricsTracer(delegate=OpenTelemetryTracer(otel_tracer))
    scorer = LiveTraceScorer(metrics, sample_rate=1.0)
    enable_tracing(scorer)
    rag_pipeline(llm_url).run(DATASET[0]["inputs"])
    assert scorer.flush(30)
    spans = exporter.get_finished_spans()
    root = next(s for s in spans if s.name == "haybale.pipeline.run")
    evaluation = next(s for s in spans if s.name == "haybale.evaluation")
    assert evaluation.context.trace_id == root.context.trace_id
    assert evaluation.parent is not None and evaluation.parent.span_id == root.context.span_id
    assert dict(evaluation.attributes)["haybale.eval.llm.groundedness"] == 1.0
    assert metrics.metrics.to_dict()["components"]["llm"]["runs"] == 1
    scorer.close()

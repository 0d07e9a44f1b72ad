"""Default rubrics by component role on a RAG pipeline: generator rubrics scored against the rendered prompt,
blame landing on a deliberately broken retriever or prompt template, regressions against a baseline, gates,
saved runs, the rendered report and failure clusters."""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haybale.components.generators import OpenAIChatGenerator
from haybale.core.secret import Secret
from haybale.dataclasses import ChatMessage
from haybale.errors import EvaluationError
from haybale.evaluation import EvaluationReport, EvaluationRun
from haybale.evaluation.clustering import cluster_failures
from haybale.evaluation.gates import check_gates, parse_gate
from haybale.evaluation.report_files import ReportExtras, write_report
from haybale.evaluation.rubric_catalog import build_rubric, default_rubrics
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

from .rag_fixtures import DATASET, answer_from_first_source, rag_pipeline


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    with serve_chat_backend(ScriptedChatBackend([answer_from_first_source]), model_name="scripted") as server:
        yield server.base_url


def _run(url: str, name: str, **broken: bool) -> EvaluationReport:
    pipeline = rag_pipeline(url, **broken)
    return EvaluationRun(pipeline, default_rubrics(pipeline, DATASET), name=name).run(DATASET)


@pytest.fixture(scope="module")
def healthy(llm_url: str) -> EvaluationReport:
    return _run(llm_url, "healthy")


def test_default_rubrics_follow_component_roles(llm_url: str) -> None:
    pipeline = rag_pipeline(llm_url)
    rubrics = {name: [s.metric for s in specs] for name, specs in default_rubrics(pipeline, DATASET).items()}
    assert rubrics == {
        "retriever": ["recall", "precision", "mrr", "ndcg"],
        "prompt_builder": ["prompt_coverage"],
        "llm": [
            "groundedness",
            "refusal",
            "context_adherence",
            "completeness",
            "factual_accuracy",
            "chunk_attribution",
            "chunk_utilization",
        ],
    }
    llm = {s.metric: s for s in default_rubrics(pipeline, DATASET)["llm"]}
    assert llm["chunk_attribution"].inputs == {"contexts": "@retriever.documents"}
    # no expected answers in the rows: reported, never blamed
    assert not llm["completeness"].blame and not llm["factual_accuracy"].blame
    answered = [{**row, "ground_truth_answer": "dried grass"} for row in DATASET]
    llm = {s.metric: s for s in default_rubrics(pipeline, answered)["llm"]}
    assert llm["completeness"].blame and llm["factual_accuracy"].blame
    assert default_rubrics(pipeline, [{"inputs": {"query": "q"}}]).get("retriever") is None


def test_healthy_pipeline_passes_every_rubric(healthy: EvaluationReport) -> None:
    scores = healthy.scores()
    for key in ("retriever.recall", "prompt_builder.prompt_coverage", "llm.groundedness", "llm.refusal"):
        assert scores[key] == 1.0, key
    assert healthy.blame() == []


def test_broken_retriever_is_blamed(llm_url: str, healthy: EvaluationReport) -> None:
    report = _run(llm_url, "broken retriever", broken_retriever=True)
    findings = report.blame()
    assert len(findings) == len(DATASET)
    assert {f["component"] for f in findings} == {"retriever"}
    # with nothing retrieved the model makes things up, yet the blame goes upstream, where it started
    assert report.scores()["llm.groundedness"] == 0.0
    assert {f["component"] for f in report.blame(baseline=healthy)} == {"retriever"}


def test_broken_template_is_blamed_on_the_prompt_builder(llm_url: str, healthy: EvaluationReport) -> None:
    report = _run(llm_url, "broken template", broken_template=True)
    findings = report.blame()
    assert {f["component"] for f in findings} == {"prompt_builder"} and len(findings) == len(DATASET)
    assert "2 of 2 documents missing" in findings[0]["reason"]
    scores = report.scores()
    assert scores["retriever.recall"] == 1.0
    # scored against the rendered prompt (the question only), the made-up answers are not grounded
    assert scores["llm.groundedness"] == 0.0
    assert {f["component"] for f in report.blame(baseline=healthy)} == {"prompt_builder"}


def test_gates_and_deltas_against_a_baseline(llm_url: str, healthy: EvaluationReport) -> None:
    broken = _run(llm_url, "broken template", broken_template=True)
    gates = [
        parse_gate(g) for g in ("retriever.recall>=0.8", "groundedness>=0.9", "delta(prompt_coverage)>=-0.05")
    ]
    results = check_gates(broken, gates, baseline=healthy)
    assert [(r.metric_key, r.passed) for r in results] == [
        ("retriever.recall", True),
        ("llm.groundedness", False),
        ("prompt_builder.prompt_coverage", False),
    ]
    assert results[2].value is not None and results[2].value < -0.8  # question words overlap a little
    assert all(r.passed for r in check_gates(healthy, gates[:2]))
    with pytest.raises(EvaluationError, match="baseline"):
        check_gates(broken, gates)
    with pytest.raises(EvaluationError, match="Cannot read the gate"):
        parse_gate("recall is high")
    with pytest.raises(EvaluationError, match="unknown"):
        check_gates(broken, [parse_gate("nope>=1")])


def test_saved_run_round_trips(healthy: EvaluationReport) -> None:
    loaded = EvaluationReport.from_dict(json.loads(healthy.to_json()))
    assert loaded.scores() == healthy.scores()
    assert loaded.to_dict() == healthy.to_dict()
    with pytest.raises(EvaluationError, match="Not a saved evaluation report"):
        EvaluationReport.from_dict({"name": "x"})


def test_report_renders_markdown_html_and_plots(
    llm_url: str, healthy: EvaluationReport, tmp_path: Path
) -> None:
    broken = _run(llm_url, "broken template", broken_template=True)
    gates = check_gates(broken, [parse_gate("groundedness>=0.9")])
    extras = ReportExtras(gates=gates, comparison=healthy.compare(broken))
    paths = write_report(tmp_path, broken, extras)
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "## Gates" in markdown and "| groundedness>=0.9 | llm.groundedness | 0.0000 | FAIL |" in markdown
    assert "## Delta against the baseline" in markdown
    assert "4 of 4 rows: a score below 0.5 or a failed run; blamed: prompt_builder 4 (100%)." in markdown
    assert "![scores-llm](plots/scores-llm.svg)" in markdown and "![blame](plots/blame.svg)" in markdown
    for plot in ("scores-retriever", "scores-prompt-builder", "scores-llm", "blame", "regressions"):
        svg = (tmp_path / "plots" / f"{plot}.svg").read_text(encoding="utf-8")
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    html = paths["html"].read_text(encoding="utf-8")
    assert html.count("<svg") == 5 and "prompt_builder 4 (100%)" in html and 'class="fail"' in html


def _vectors(texts: list[str]) -> list[list[float]]:
    """Two well-separated directions: failures mentioning the template vs the rest."""
    return [[1.0, 0.0] if "documents missing" in t else [0.0, 1.0] for t in texts]


def test_failures_cluster_into_named_groups(llm_url: str) -> None:
    template = _run(llm_url, "broken template", broken_template=True)
    retriever = _run(llm_url, "broken retriever", broken_retriever=True)
    merged = EvaluationReport(
        "mixed",
        template.metrics,
        [*template.rows, *[_renamed(row, f"r-{row.row_id}") for row in retriever.rows]],
        template.component_order,
    )
    clusters = cluster_failures(merged, embed=_vectors)
    assert sorted((c.component, len(c.rows)) for c in clusters) == [("prompt_builder", 4), ("retriever", 4)]
    names = {c.component: c.name for c in clusters}
    assert names["retriever"].startswith("retriever: recall") and names["prompt_builder"].startswith(
        "prompt_builder: prompt_coverage"
    )
    assert cluster_failures(_run(llm_url, "ok")) == []


def _renamed(row: Any, row_id: str) -> Any:
    row.row_id = row_id
    return row


def test_rubric_errors_name_the_fix(llm_url: str) -> None:
    pipeline = rag_pipeline(llm_url)
    with pytest.raises(EvaluationError, match="Unknown rubric 'nope'"):
        build_rubric("nope", pipeline, "llm", DATASET)
    with pytest.raises(EvaluationError, match="no component upstream"):
        build_rubric("chunk_attribution", pipeline, "retriever", DATASET)
    with pytest.raises(EvaluationError, match="judged by a model only"):
        build_rubric("faithfulness", pipeline, "llm", DATASET)


@pytest.fixture
def judge_url() -> Iterator[str]:
    verdict = ChatMessage.from_assistant(json.dumps({"score": 1.0, "reason": "answers the question"}))
    with serve_chat_backend(ScriptedChatBackend([verdict]), model_name="judge") as server:
        yield server.base_url
        # The openai client keeps itself alive in a reference cycle, so its pooled socket is only freed by the
        # cycle collector, in no set order; collect it here, quietly, rather than at some later test.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def test_escalations_are_counted_in_the_report(llm_url: str, judge_url: str) -> None:
    judge = OpenAIChatGenerator(api_key=Secret.from_token("k"), model="judge", base_url=judge_url)
    pipeline = rag_pipeline(llm_url)
    refusal = build_rubric("refusal", pipeline, "llm", DATASET, judge=judge, escalate_below=1.0)
    report = EvaluationRun(pipeline, {"llm": [refusal]}, name="judged").run(DATASET)
    (summary,) = report.summary_rows()
    assert summary["escalated"] == len(DATASET) and summary["score"] == 1.0
    assert all(row.details["llm.refusal"]["reason"] == "judge: answers the question" for row in report.rows)

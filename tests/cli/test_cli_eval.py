"""`haybale eval DATASET --pipeline X.yaml` and `haybale eval traces SPANS.jsonl`: gates and exit codes,
baselines, saved runs, reports, Rich progress off a terminal, and errors that name the fix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluation.rag_fixtures import DATASET, answer_from_first_source, rag_pipeline
from haybale.cli.main import app
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend
from haybale.tracing import JsonlSpanTracer, disable_tracing, enable_tracing

runner = CliRunner()


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    with serve_chat_backend(ScriptedChatBackend([answer_from_first_source]), model_name="scripted") as server:
        yield server.base_url


@pytest.fixture
def files(tmp_path: Path, llm_url: str) -> dict[str, Path]:
    dataset = tmp_path / "golden.jsonl"
    dataset.write_text("\n".join(json.dumps(row) for row in DATASET) + "\n", encoding="utf-8")
    healthy, broken = tmp_path / "rag.yaml", tmp_path / "rag-broken.yaml"
    rag_pipeline(llm_url, db=tmp_path / "healthy.db").dump(healthy)
    rag_pipeline(llm_url, broken_template=True, db=tmp_path / "broken.db").dump(broken)
    return {"dataset": dataset, "healthy": healthy, "broken": broken, "dir": tmp_path}


def _eval(*args: str) -> object:
    return runner.invoke(app, ["eval", *map(str, args)])


def test_gate_passes_then_a_regression_exits_1_with_a_report(files: dict[str, Path]) -> None:
    baseline = files["dir"] / "runs" / "main.json"
    ok = _eval(
        files["dataset"],
        "--pipeline",
        files["healthy"],
        "--gate",
        "retriever.recall>=0.8",
        "--gate",
        "llm.groundedness>=0.9",
        "--save-run",
        baseline,
        "--name",
        "main",
    )
    assert ok.exit_code == 0, ok.output
    assert "gate retriever.recall>=0.8: 1.0000 pass" in ok.output
    assert json.loads(baseline.read_text())["name"] == "main"

    report_dir = files["dir"] / "report"
    failed = _eval(
        files["dataset"],
        "--pipeline",
        files["broken"],
        "--baseline",
        baseline,
        "--gate",
        "delta(llm.groundedness)>=-0.05",
        "--gate",
        "retriever.recall>=0.8",
        "--report-dir",
        report_dir,
        "--no-cluster",
    )
    assert failed.exit_code == 1, failed.output
    assert "gate delta(llm.groundedness)>=-0.05: -1.0000 FAIL" in failed.output
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "## Delta against the baseline" in markdown and "## Regressions" in markdown
    assert "blamed: prompt_builder 4 (100%)" in markdown
    assert (report_dir / "report.html").is_file() and (report_dir / "plots" / "blame.svg").is_file()


def test_named_rubrics(files: dict[str, Path]) -> None:
    result = _eval(
        files["dataset"],
        "--pipeline",
        files["healthy"],
        "--rubric",
        "retriever=recall,mrr",
        "--rubric",
        "llm=refusal",
        "--gate",
        "refusal>=1",
    )
    assert result.exit_code == 0, result.output
    assert "mrr" in result.output and "groundedness" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.jsonl", "--pipeline", "{healthy}"], "Cannot read the dataset"),
        (["{dataset}", "--pipeline", "{healthy}", "--gate", "recall is high"], "Cannot read the gate"),
        (["{dataset}", "--pipeline", "{healthy}", "--rubric", "llm=nope"], "Unknown rubric 'nope'"),
        (["{dataset}", "--pipeline", "{healthy}", "--rubric", "llm"], "COMPONENT=RUBRIC"),
        (["{dataset}", "--pipeline", "{healthy}", "--gate", "delta(recall)>=0"], "baseline"),
    ],
)
def test_bad_input_exits_2_naming_the_fix(files: dict[str, Path], args: list[str], message: str) -> None:
    result = _eval(*(a.format(**{k: str(v) for k, v in files.items()}) for a in args))
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_eval_traces_scores_stored_spans(files: dict[str, Path], llm_url: str) -> None:
    spans = files["dir"] / "spans.jsonl"
    enable_tracing(JsonlSpanTracer(spans), content_tracing=True)
    try:
        for variant in ({}, {"broken_template": True}):
            pipeline = rag_pipeline(llm_url, **variant)
            for row in DATASET[:2]:
                pipeline.run(row["inputs"])
    finally:
        disable_tracing()
    report_dir = files["dir"] / "traces-report"
    result = _eval("traces", spans, "--gate", "groundedness>=0.9", "--report-dir", report_dir, "--no-cluster")
    assert result.exit_code == 1, result.output  # two of the four traces answered without sources
    assert "gate groundedness>=0.9: 0.5000 FAIL" in result.output
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "2 of 4 rows" in markdown and "blamed: llm 2 (100%)" in markdown

    bare = files["dir"] / "bare.jsonl"
    enable_tracing(JsonlSpanTracer(bare), content_tracing=False)
    try:
        rag_pipeline(llm_url).run(DATASET[0]["inputs"])
    finally:
        disable_tracing()
    empty = _eval("traces", bare)
    assert empty.exit_code == 2 and "HAYBALE_CONTENT_TRACING_ENABLED" in empty.output


def test_help_shows_the_dataset_form() -> None:
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0 and "haybale eval DATASET --pipeline" in result.output

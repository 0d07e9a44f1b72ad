"""Evaluation: run a dataset through a pipeline, score every component's output on its own, report, compare,
gate, and score stored or live traces with the same rubrics.

Example::

    from haybale.components.evaluators import AnswerExactMatchEvaluator, DocumentRecallEvaluator
    from haybale.evaluation import evaluate_pipeline

    report = evaluate_pipeline(
        pipeline,
        [{"inputs": {"query": "..."}, "ground_truth_documents": ["..."], "ground_truth_answer": "..."}],
        {"retriever": [DocumentRecallEvaluator()], "answer_builder": [AnswerExactMatchEvaluator()]},
    )
    print(report.to_markdown())
    report.blame()          # which component made each bad row bad

``default_rubrics(pipeline, rows)`` picks rubrics per component role; ``check_gates`` turns scores into a CI
verdict; ``write_report`` renders Markdown + HTML with plots; ``cluster_failures`` names groups of failing
rows; ``score_traces`` scores stored spans. ``haybale eval`` drives all of it from the command line.
"""

from haybale.evaluation.clustering import FailureCluster, cluster_failures
from haybale.evaluation.dataset_file import load_dataset
from haybale.evaluation.gates import Gate, GateResult, check_gates, parse_gate
from haybale.evaluation.report import EvaluationReport, MetricInfo, ReportComparison, RowResult
from haybale.evaluation.report_files import ReportExtras, render_html, render_markdown, write_report
from haybale.evaluation.rubric_catalog import RUBRIC_NAMES, build_rubric, default_rubrics
from haybale.evaluation.runner import EvaluationRun, evaluate_pipeline, evaluate_pipeline_async
from haybale.evaluation.spec import EvaluatorSpec
from haybale.evaluation.trace_scoring import TraceScores, score_traces, trace_rubric_evaluators

__all__ = [
    "RUBRIC_NAMES",
    "EvaluationReport",
    "EvaluationRun",
    "EvaluatorSpec",
    "FailureCluster",
    "Gate",
    "GateResult",
    "MetricInfo",
    "ReportComparison",
    "ReportExtras",
    "RowResult",
    "TraceScores",
    "build_rubric",
    "check_gates",
    "cluster_failures",
    "default_rubrics",
    "evaluate_pipeline",
    "evaluate_pipeline_async",
    "load_dataset",
    "parse_gate",
    "render_html",
    "render_markdown",
    "score_traces",
    "trace_rubric_evaluators",
    "write_report",
]

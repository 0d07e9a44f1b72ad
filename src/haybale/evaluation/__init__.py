"""Evaluation: run a dataset through a pipeline, score every component's output on its own, report, compare.

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
"""

from haybale.evaluation.report import EvaluationReport, MetricInfo, ReportComparison, RowResult
from haybale.evaluation.runner import EvaluationRun, evaluate_pipeline, evaluate_pipeline_async
from haybale.evaluation.spec import EvaluatorSpec

__all__ = [
    "EvaluationReport",
    "EvaluationRun",
    "EvaluatorSpec",
    "MetricInfo",
    "ReportComparison",
    "RowResult",
    "evaluate_pipeline",
    "evaluate_pipeline_async",
]

"""Scoring traces instead of dataset runs: the same rubrics over spans that were recorded in production.

A trace holds what each model call saw and said when content tracing was on: the LLM span's
``gen_ai.input.messages`` (the rendered prompt) and ``gen_ai.output.messages`` (the answer), and the
retriever spans' documents. :func:`score_traces` turns every model call of every trace into a row and scores
it with the generator rubrics that need no ground truth: groundedness, answer refusal and context adherence
against the rendered prompt, chunk attribution and utilization against the documents retrieved in the same
trace. The result is an :class:`EvaluationReport` (rows = traces), so reports, gates, blame and clustering
work the same. Traces recorded without content cannot be scored; they are counted in ``skipped``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from haybale.core.tracing import COMPONENT_RUN, PIPELINE_RUN
from haybale.evaluation.report import EvaluationReport, MetricInfo, RowResult
from haybale.evaluation.runner import row_details
from haybale.tracing import semconv
from haybale.tracing.memory import RecordedSpan

__all__ = ["TRACE_RUBRICS", "TraceScores", "group_traces", "score_traces", "trace_rubric_evaluators"]

#: rubric name -> whether it needs the retrieved documents
TRACE_RUBRICS: dict[str, bool] = {
    "groundedness": False,
    "refusal": False,
    "context_adherence": False,
    "chunk_attribution": True,
    "chunk_utilization": True,
}
_DESCRIPTIVE = {"context_adherence", "chunk_attribution", "chunk_utilization"}


def group_traces(spans: Iterable[RecordedSpan]) -> list[list[RecordedSpan]]:
    """Spans grouped by trace id, traces in the order they first appear."""
    traces: dict[str, list[RecordedSpan]] = {}
    for span in spans:
        traces.setdefault(span.trace_id, []).append(span)
    return list(traces.values())


def _messages(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [{"role": "user", "content": value}]
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content") or "") for m in messages)


def _documents(span: RecordedSpan) -> list[str]:
    texts: dict[int, str] = {}
    prefix = f"{semconv.RETRIEVAL_DOCUMENTS}."
    for key, value in span.tags.items():
        if key.startswith(prefix) and key.endswith(".document.content"):
            index = key[len(prefix) :].split(".", 1)[0]
            if index.isdigit():
                texts[int(index)] = str(value)
    return [texts[i] for i in sorted(texts)]


def _question(root: RecordedSpan | None) -> str | None:
    data = None if root is None else root.tags.get("haybale.pipeline.input_data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError:
            return None
    if not isinstance(data, Mapping):
        return None
    for scope in (data, *(v for v in data.values() if isinstance(v, Mapping))):
        for key in ("query", "question"):
            if isinstance(scope.get(key), str):
                return str(scope[key])
    return None


@dataclass
class _Call:
    trace_id: str
    component: str
    question: str | None
    prompt: str
    answer: str
    contexts: list[str] | None


def _calls(trace: list[RecordedSpan]) -> tuple[list[_Call], bool]:
    """The scorable model calls of a trace, and whether it had a model call without recorded content."""
    root = next((s for s in trace if s.operation_name == PIPELINE_RUN), None)
    documents: list[str] | None = None
    calls: list[_Call] = []
    unscorable = False
    by_id = {s.span_id: s for s in trace}
    for span in sorted(trace, key=lambda s: s.start_time):
        kind = span.tags.get(semconv.SPAN_KIND)
        if kind == semconv.RETRIEVER and _documents(span):
            documents = _documents(span)
        if kind != semconv.LLM:
            continue
        prompt, answer = (
            span.tags.get(semconv.GEN_AI_INPUT_MESSAGES),
            span.tags.get(semconv.GEN_AI_OUTPUT_MESSAGES),
        )
        if prompt is None or answer is None:
            unscorable = True
            continue
        owner = span
        while owner.operation_name != COMPONENT_RUN and owner.parent_id in by_id:
            owner = by_id[owner.parent_id]
        component = str(owner.tags.get("haybale.component.name", span.operation_name))
        calls.append(
            _Call(
                span.trace_id,
                component,
                _question(root),
                _text(_messages(prompt)),
                _text(_messages(answer)),
                documents,
            )
        )
    return calls, unscorable


def trace_rubric_evaluators(
    names: Sequence[str] | None = None, judge: Any = None, escalate_below: float = 0.5
) -> dict[str, Any]:
    """The trace rubrics by name (default: all of :data:`TRACE_RUBRICS`), with an optional judge."""
    from haybale.errors import EvaluationError
    from haybale.evaluation.rubric_catalog import rubric_evaluator

    chosen = list(names) if names else list(TRACE_RUBRICS)
    unknown = [n for n in chosen if n not in TRACE_RUBRICS]
    if unknown:
        raise EvaluationError(f"Unknown trace rubrics {unknown}; trace rubrics: {list(TRACE_RUBRICS)}.")
    return {name: rubric_evaluator(name, judge, escalate_below) for name in chosen}


@dataclass
class TraceScores:
    """The report over traces, and the traces that could not be scored (no content recorded)."""

    report: EvaluationReport
    skipped: list[str] = field(default_factory=list)


def _columns(name: str, calls: list[_Call]) -> dict[str, list[Any]]:
    if name == "refusal":
        return {"predicted_answers": [c.answer for c in calls], "prompts": [c.prompt for c in calls]}
    if TRACE_RUBRICS[name]:
        return {"contexts": [c.contexts or [] for c in calls], "predicted_answers": [c.answer for c in calls]}
    return {"prompts": [c.prompt for c in calls], "predicted_answers": [c.answer for c in calls]}


def score_traces(
    spans: Iterable[RecordedSpan], evaluators: Mapping[str, Any] | None = None, name: str = "traces"
) -> TraceScores:
    """Score every model call in ``spans`` (see the module docstring).

    Args:
        spans: recorded spans (:func:`haybale.tracing.load_spans`, an :class:`InMemoryTracer`'s ``spans``).
        evaluators: rubric name -> evaluator (default :func:`trace_rubric_evaluators`).
        name: the report's name.
    """
    chosen = dict(evaluators) if evaluators is not None else trace_rubric_evaluators()
    calls: list[_Call] = []
    skipped: list[str] = []
    for trace in group_traces(spans):
        found, unscorable = _calls(trace)
        calls += found
        if unscorable and not found:
            skipped.append(trace[0].trace_id)
    components = list(dict.fromkeys(c.component for c in calls))
    metrics = [
        MetricInfo(f"{component}.{rubric}", component, "replies", rubric, rubric not in _DESCRIPTIVE)
        for component in components
        for rubric in chosen
    ]
    rows = [
        RowResult(index=i, row_id=c.trace_id, scores={m.key: None for m in metrics}, query=c.question)
        for i, c in enumerate(calls)
    ]
    for metric in metrics:
        picked = [
            i
            for i, c in enumerate(calls)
            if c.component == metric.component and (not TRACE_RUBRICS.get(metric.metric) or c.contexts)
        ]
        if not picked:
            continue
        result = chosen[metric.metric].run(**_columns(metric.metric, [calls[i] for i in picked]))
        details = row_details(result, len(picked))
        for i, score, detail in zip(picked, result["individual_scores"], details, strict=True):
            rows[i].scores[metric.key] = float(score)
            rows[i].details[metric.key] = detail
    return TraceScores(EvaluationReport(name, metrics, rows, components), skipped)

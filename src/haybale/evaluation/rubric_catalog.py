"""Rubrics by name, and the default rubric set of a pipeline, chosen per component by its role.

Names (``haybale eval --rubric component=name,name``): ``recall``, ``precision``, ``mrr``, ``ndcg``, ``map``,
``ranker_uplift`` (need ground-truth documents), ``prompt_coverage``, ``groundedness``, ``context_adherence``,
``refusal``, ``completeness``, ``factual_accuracy``, ``chunk_attribution``, ``chunk_utilization``,
``exact_match`` and ``sas`` (need ground-truth answers), ``task_completion``, ``tool_call_correctness``
(needs ``expected_tool_calls``), ``faithfulness`` and ``context_relevance`` (judge only).

The default set follows the component's span kind (:func:`haybale.tracing.detect_span_kind`): retrievers and
rankers get recall (the pass/fail criterion), precision, MRR and nDCG when rows carry ground-truth documents,
and a ranker that ranks by relevance to a query (a ``documents`` and a ``query`` input) also gets ranker
uplift (what it did to the relevant documents it was handed); a prompt builder with a ``documents`` input
gets prompt coverage; a chat generator gets groundedness, answer refusal and context adherence against its
rendered prompt, completeness and factual accuracy, and chunk attribution and utilization against the
documents upstream of it; an agent gets task completion (and tool-call correctness when rows carry
``expected_tool_calls``). Descriptive metrics are reported but do not take the blame; completeness and
factual accuracy are descriptive unless rows carry expected answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from haybale.core.component import get_input_sockets, get_output_sockets
from haybale.errors import EvaluationError
from haybale.evaluation.spec import EvaluatorSpec

__all__ = ["RUBRIC_NAMES", "build_rubric", "default_rubrics", "rubric_evaluator", "upstream_documents"]

_LLM_RUBRICS = ("groundedness", "refusal", "context_adherence", "completeness", "factual_accuracy")
#: weak signals without an expected answer: reported, not blamed, when rows carry none
_NEED_ANSWERS_TO_BLAME = {"completeness", "factual_accuracy"}
_CHUNK_RUBRICS = ("chunk_attribution", "chunk_utilization")
#: reported, but no pass/fail criterion for blame
_DESCRIPTIVE = {"precision", "mrr", "ndcg", "map", "context_adherence", *_CHUNK_RUBRICS}


def _document_field(rows: Sequence[Mapping[str, Any]]) -> str | None:
    if rows and all("ground_truth_document_ids" in row for row in rows):
        return "id"
    if rows and all("ground_truth_documents" in row for row in rows):
        return "content"
    return None


def _has_answers(rows: Sequence[Mapping[str, Any]]) -> bool:
    return bool(rows) and all("ground_truth_answer" in row or "ground_truth_answers" in row for row in rows)


def _factories(judge: Any, escalate_below: float, field: str) -> dict[str, Callable[[], Any]]:
    from haybale.components import evaluators as ev

    cascade = {"chat_generator": judge, "escalation_threshold": escalate_below}
    return {
        "recall": lambda: ev.DocumentRecallEvaluator(document_comparison_field=field),
        "precision": lambda: ev.DocumentPrecisionEvaluator(document_comparison_field=field),
        "mrr": lambda: ev.DocumentMRREvaluator(document_comparison_field=field),
        "ndcg": lambda: ev.DocumentNDCGEvaluator(document_comparison_field=field),
        "map": lambda: ev.DocumentMAPEvaluator(document_comparison_field=field),
        "ranker_uplift": lambda: ev.RankerUpliftEvaluator(document_comparison_field=field),
        "prompt_coverage": ev.PromptCoverageEvaluator,
        "groundedness": lambda: ev.GroundednessEvaluator(**cascade),
        "context_adherence": lambda: ev.ContextAdherenceEvaluator(**cascade),
        "refusal": lambda: ev.AnswerRefusalEvaluator(**cascade),
        "completeness": lambda: ev.CompletenessEvaluator(**cascade),
        "factual_accuracy": lambda: ev.FactualAccuracyEvaluator(**cascade),
        "chunk_attribution": lambda: ev.ChunkAttributionEvaluator(**cascade),
        "chunk_utilization": lambda: ev.ChunkUtilizationEvaluator(**cascade),
        "task_completion": lambda: ev.TaskCompletionEvaluator(**cascade),
        "tool_call_correctness": ev.ToolCallCorrectnessEvaluator,
        "exact_match": ev.AnswerExactMatchEvaluator,
        "sas": ev.SASEvaluator,
        "faithfulness": lambda: ev.FaithfulnessEvaluator(chat_generator=_need_judge(judge, "faithfulness")),
        "context_relevance": lambda: ev.ContextRelevanceEvaluator(
            chat_generator=_need_judge(judge, "context_relevance")
        ),
    }


RUBRIC_NAMES: tuple[str, ...] = tuple(_factories(None, 0.5, "id"))


def rubric_evaluator(
    name: str, judge: Any = None, escalate_below: float = 0.5, field: str = "content"
) -> Any:
    """A new evaluator for rubric ``name`` (documents compared on ``field``).

    Raises:
        EvaluationError: an unknown name, or a judge-only rubric without a judge.
    """
    factories = _factories(judge, escalate_below, field)
    if name not in factories:
        raise EvaluationError(f"Unknown rubric {name!r}. Rubrics: {', '.join(factories)}.")
    return factories[name]()


def _need_judge(judge: Any, name: str) -> Any:
    if judge is None:
        raise EvaluationError(
            f"The rubric '{name}' is judged by a model only: configure a judge (--judge-url / --judge-model)."
        )
    return judge


def upstream_documents(pipeline: Any, component: str) -> str | None:
    """``"@name.documents"`` of the nearest component upstream of ``component`` that outputs documents."""
    senders: dict[str, set[str]] = {}
    for sender, receiver in pipeline.connections():
        senders.setdefault(receiver.split(".", 1)[0], set()).add(sender.split(".", 1)[0])
    frontier, seen = [component], {component}
    while frontier:
        following = []
        for name in frontier:
            for upstream in sorted(senders.get(name, ())):
                if upstream in seen:
                    continue
                seen.add(upstream)
                if "documents" in get_output_sockets(pipeline.get_component(upstream)):
                    return f"@{upstream}.documents"
                following.append(upstream)
        frontier = following
    return None


def build_rubric(
    name: str,
    pipeline: Any,
    component: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    judge: Any = None,
    escalate_below: float = 0.5,
) -> EvaluatorSpec:
    """The :class:`EvaluatorSpec` of rubric ``name`` scoring ``component``.

    Raises:
        EvaluationError: an unknown name, or a rubric whose ground truth the rows lack.
    """
    evaluator = rubric_evaluator(name, judge, escalate_below, _document_field(rows) or "content")
    inputs: dict[str, str] = {}
    if name in _CHUNK_RUBRICS:
        source = upstream_documents(pipeline, component)
        if source is None:
            raise EvaluationError(
                f"The rubric '{name}' on '{component}' needs the retrieved documents, but no component "
                "upstream of it outputs 'documents'."
            )
        inputs["contexts"] = source
    return EvaluatorSpec(evaluator, name=name, inputs=inputs, blame=name not in _DESCRIPTIVE)


def _names_for(kind: str, instance: Any, rows: Sequence[Mapping[str, Any]], has_docs: bool) -> list[str]:
    outputs, inputs = get_output_sockets(instance), get_input_sockets(instance)
    if kind in ("RETRIEVER", "RERANKER") and "documents" in outputs:
        if not _document_field(rows):
            return []
        # uplift asks "more relevant to the query?": a ranker without a query input (LostInTheMiddleRanker,
        # MetaFieldRanker) reorders by something else on purpose
        by_relevance = kind == "RERANKER" and {"documents", "query"} <= set(inputs)
        return ["recall", "precision", "mrr", "ndcg", *(["ranker_uplift"] if by_relevance else [])]
    if kind == "CHAIN" and "prompt" in outputs and "documents" in inputs:
        return ["prompt_coverage"]
    if kind == "LLM":
        return [*_LLM_RUBRICS, *(_CHUNK_RUBRICS if has_docs else ())]
    if kind == "AGENT":
        expected = bool(rows) and all("expected_tool_calls" in row for row in rows)
        return ["task_completion", *(["tool_call_correctness"] if expected else [])]
    return []


def default_rubrics(
    pipeline: Any, rows: Sequence[Mapping[str, Any]], judge: Any = None, escalate_below: float = 0.5
) -> dict[str, list[EvaluatorSpec]]:
    """The default rubric set of ``pipeline`` (see the module docstring): ``{component: [spec, ...]}``."""
    from haybale.tracing.component_roles import detect_span_kind

    chosen: dict[str, list[EvaluatorSpec]] = {}
    for name, instance in pipeline.walk():
        kind = detect_span_kind(instance)
        has_docs = upstream_documents(pipeline, name) is not None
        names = _names_for(kind, instance, rows, has_docs)
        specs = [
            build_rubric(n, pipeline, name, rows, judge=judge, escalate_below=escalate_below) for n in names
        ]
        if kind == "LLM" and not _has_answers(rows):
            specs = [_descriptive(s) if s.name in _NEED_ANSWERS_TO_BLAME else s for s in specs]
        if specs:
            chosen[name] = specs
    return chosen


def _descriptive(spec: EvaluatorSpec) -> EvaluatorSpec:
    """Without expected answers completeness and factual accuracy are weak signals: report them, do not blame
    on them."""
    return EvaluatorSpec(spec.evaluator, name=spec.name, inputs=spec.inputs, blame=False)

"""What to score and with what: an evaluator component bound to one component's output.

How each evaluator input is filled per dataset row is described in :mod:`haybale.evaluation.evaluator_inputs`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from haybale.dataclasses import Document
from haybale.errors import EvaluationError

__all__ = [
    "EvaluatorSpec",
    "as_spec",
    "default_metric_name",
    "output_as_documents",
    "output_as_text",
]


@dataclass(frozen=True)
class EvaluatorSpec:
    """One evaluator applied to one component's output.

    Attributes:
        evaluator: an evaluator component (``DocumentRecallEvaluator()``, ``SASEvaluator()``, ...).
        name: the metric name in reports; defaults to a short name from the class (``recall``, ``mrr``,
            ``ndcg``, ``map``, ``exact_match``, ``sas``, ``faithfulness``...).
        inputs: evaluator socket -> dataset row key, or ``"@component.output"`` for another component's
            output in the same run (e.g. ``{"predicted_answers": "@llm.replies"}`` when scoring a retriever's
            chunks against the answer).
        blame: whether a low score on this metric can make the component the culprit of a row in
            :meth:`EvaluationReport.blame` (False for descriptive metrics such as nDCG or chunk utilization,
            which are reported but are no pass/fail criterion).
    """

    evaluator: Any
    name: str | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    blame: bool = True

    @property
    def metric(self) -> str:
        """The metric name used in reports."""
        return self.name or default_metric_name(self.evaluator)


def as_spec(value: Any, target: str) -> EvaluatorSpec:
    """Accept an :class:`EvaluatorSpec` or a bare evaluator component.

    Raises:
        EvaluationError: ``value`` has no ``run`` method.
    """
    spec = value if isinstance(value, EvaluatorSpec) else EvaluatorSpec(value)
    if not callable(getattr(spec.evaluator, "run", None)):
        raise EvaluationError(
            f"The evaluator for '{target}' must be an evaluator component (e.g. DocumentRecallEvaluator()) "
            f"or an EvaluatorSpec, got {type(spec.evaluator).__name__}."
        )
    return spec


def default_metric_name(evaluator: Any) -> str:
    """``DocumentRecallEvaluator`` -> ``recall``, ``AnswerExactMatchEvaluator`` -> ``exact_match``."""
    name = type(evaluator).__name__
    name = name.removesuffix("Evaluator")
    for prefix in ("Document", "Answer"):
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix) :]
            break
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    return snake or type(evaluator).__name__.lower()


def output_as_documents(value: Any) -> list[Document]:
    """The documents in a component output (a list of documents, or the documents of generated answers)."""
    if value is None:
        return []
    if isinstance(value, Document):
        return [value]
    documents: list[Document] = []
    for item in value if isinstance(value, list | tuple) else [value]:
        if isinstance(item, Document):
            documents.append(item)
        elif isinstance(getattr(item, "documents", None), list):
            documents.extend(d for d in item.documents if isinstance(d, Document))
    return documents


def output_as_text(value: Any) -> str:
    """The answer text in a component output: a string, the first answer's ``data`` or reply's ``text``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return output_as_text(value[0]) if value else ""
    for attribute in ("data", "text", "content"):
        text = getattr(value, attribute, None)
        if isinstance(text, str):
            return text
    return str(value)

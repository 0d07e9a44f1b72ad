"""What to score and with what: an evaluator component bound to one component's output.

The evaluator's input sockets are filled per dataset row:

- ``retrieved_documents`` / ``contexts``: the scored output, as documents / their contents;
- ``predicted_answers``: the scored output as text (the first ``GeneratedAnswer.data``, reply text or string);
- ``ground_truth_documents``: the row's ``ground_truth_documents`` (``Document`` objects, or strings taken as
  ids when the evaluator compares by ``"id"`` and as contents otherwise) or ``ground_truth_document_ids``;
- ``ground_truth_answers``: the row's ``ground_truth_answer`` (one string) or ``ground_truth_answers``
  (the first is scored);
- ``questions``: the row's ``question`` or ``query``;
- anything else: ``EvaluatorSpec.inputs`` maps a socket to a row key.
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
    "evaluator_input",
    "ground_truth_documents",
    "output_as_documents",
    "output_as_text",
]

#: dataset row keys holding ground truths, most specific first
_DOCUMENT_KEYS = ("ground_truth_documents", "ground_truth_document_ids")
_ANSWER_KEYS = ("ground_truth_answer", "ground_truth_answers")
_QUESTION_KEYS = ("question", "query")


@dataclass(frozen=True)
class EvaluatorSpec:
    """One evaluator applied to one component's output.

    Attributes:
        evaluator: an evaluator component (``DocumentRecallEvaluator()``, ``SASEvaluator()``, ...).
        name: the metric name in reports; defaults to a short name from the class (``recall``, ``mrr``,
            ``ndcg``, ``map``, ``exact_match``, ``sas``, ``faithfulness``...).
        inputs: evaluator socket -> dataset row key, for sockets the defaults do not cover.
    """

    evaluator: Any
    name: str | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)

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


def _row_value(row: Mapping[str, Any], keys: tuple[str, ...], socket: str, target: str, index: int) -> Any:
    for key in keys:
        if key in row:
            return key, row[key]
    raise EvaluationError(
        f"Dataset row {index} has none of {list(keys)}, which the evaluator input '{socket}' for '{target}' "
        f"needs. Add one of them to every row, or map the socket to another key with "
        f"EvaluatorSpec(evaluator, inputs={{'{socket}': 'your_key'}})."
    )


def ground_truth_documents(value: Any, compare_by: str) -> list[Document]:
    """Ground-truth documents from a row: documents, or strings taken as ids (``compare_by == "id"``) or
    contents."""
    items = value if isinstance(value, list | tuple) else [value]
    documents = []
    for item in items:
        if isinstance(item, Document):
            documents.append(item)
        elif isinstance(item, str):
            documents.append(Document(id=item) if compare_by == "id" else Document(content=item))
        else:
            raise EvaluationError(
                f"Ground-truth documents must be Documents or strings (ids or contents), got "
                f"{type(item).__name__}: {item!r:.60}."
            )
    return documents


def evaluator_input(  # noqa: PLR0911 - one return per socket kind reads best
    spec: EvaluatorSpec, socket: str, *, row: Mapping[str, Any], output: Any, target: str, index: int
) -> Any:
    """The value for one evaluator input socket, for one dataset row (see the module doc).

    Raises:
        EvaluationError: the row lacks the ground truth the socket needs, or the socket is unknown.
    """
    mapped = spec.inputs.get(socket)
    if mapped is not None:
        _, value = _row_value(row, (mapped,), socket, target, index)
        return value
    compare_by = getattr(spec.evaluator, "document_comparison_field", "content")
    if socket == "retrieved_documents":
        return output_as_documents(output)
    if socket == "contexts":
        return [d.content or "" for d in output_as_documents(output)]
    if socket == "predicted_answers":
        return output_as_text(output)
    if socket == "ground_truth_documents":
        key, value = _row_value(row, _DOCUMENT_KEYS, socket, target, index)
        if key == "ground_truth_document_ids" and compare_by != "id":
            raise EvaluationError(
                f"Dataset row {index} gives ground_truth_document_ids, but {type(spec.evaluator).__name__} "
                f"(scoring '{target}') compares documents by '{compare_by}'. Create it with "
                "document_comparison_field='id', or give ground_truth_documents instead."
            )
        return ground_truth_documents(value, compare_by)
    if socket == "ground_truth_answers":
        key, value = _row_value(row, _ANSWER_KEYS, socket, target, index)
        if key == "ground_truth_answers" and isinstance(value, list | tuple):
            return str(value[0]) if value else ""
        return str(value)
    if socket == "questions":
        return _row_value(row, _QUESTION_KEYS, socket, target, index)[1]
    raise EvaluationError(
        f"Don't know how to fill the input '{socket}' of {type(spec.evaluator).__name__} (scoring "
        f"'{target}'). Map it to a dataset row key: "
        f"EvaluatorSpec(evaluator, inputs={{'{socket}': 'row_key'}})."
    )

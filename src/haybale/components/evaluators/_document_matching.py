"""How the document-retrieval evaluators decide that a retrieved document is a ground-truth document.

Documents are matched on one field, ``document_comparison_field``: ``"content"`` (the default, as in
Haystack), ``"id"``, or ``"meta.<key>"`` (for example ``"meta.source_id"`` when chunks of one source count as
the same answer). A ground-truth document lacking that field is a dataset mistake and raises; a retrieved
document lacking it simply matches nothing.

:func:`evaluate_rankings` runs the shared validation and averaging so each metric only defines its per-query
score over match keys; :class:`RankingEvaluator` is the shared body of the evaluators built on it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, ClassVar, TypeVar

from haybale.components.evaluators._parallel_inputs import (
    check_document_lists,
    check_parallel_lists,
    mean_score,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError

__all__ = [
    "RankedKeys",
    "RankingEvaluator",
    "check_comparison_field",
    "comparison_key",
    "evaluate_rankings",
    "unique_in_order",
]

_META_PREFIX = "meta."

E = TypeVar("E", bound="RankingEvaluator")

#: A per-query metric: ``(query_index, ground_truth_documents, ground_truth_keys, retrieved_keys) -> score``.
#: Retrieved keys are None where the retrieved document lacks the comparison field.
RankedKeys = Callable[[int, list[Document], list[Hashable], list[Hashable | None]], float]


def check_comparison_field(component_name: str, field: Any) -> None:
    """Validate ``document_comparison_field``.

    Raises:
        ComponentError: when it is not "content", "id" or "meta.<key>".
    """
    valid = field in ("content", "id") or (
        isinstance(field, str) and field.startswith(_META_PREFIX) and len(field) > len(_META_PREFIX)
    )
    if not valid:
        raise ComponentError(
            f"{component_name}: document_comparison_field must be 'content', 'id' or 'meta.<key>' (for "
            f"example 'meta.file_id'), got {field!r}."
        )


def _hashable(value: Any) -> Hashable:
    # Meta values may be lists or dicts; turn them into equal-comparing tuples so they can be set members.
    if isinstance(value, list | tuple):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((str(key), _hashable(item)) for key, item in value.items()))
    if isinstance(value, set | frozenset):
        return frozenset(_hashable(item) for item in value)
    return value  # type: ignore[no-any-return]


def comparison_key(document: Document, field: str) -> Hashable | None:
    """The value ``document`` is matched on, or None when it lacks the field."""
    if field == "content":
        return document.content
    if field == "id":
        return document.id or None
    key = field[len(_META_PREFIX) :]
    if key not in document.meta or document.meta[key] is None:
        return None
    return _hashable(document.meta[key])


def unique_in_order(keys: list[Any]) -> list[Any]:
    """``keys`` without repeats, first occurrence kept."""
    return list(dict.fromkeys(keys))


def _ground_truth_keys(component_name: str, field: str, documents: list[Document], query: int) -> list[Any]:
    keys = []
    for position, document in enumerate(documents):
        key = comparison_key(document, field)
        if key is None:
            raise ComponentError(
                f"{component_name}: ground_truth_documents[{query}][{position}] has no value for "
                f"document_comparison_field={field!r}, so it can never be matched. Fill that field in the "
                "dataset, or compare on another field."
            )
        keys.append(key)
    return keys


def evaluate_rankings(
    component_name: str,
    field: str,
    ground_truth_documents: list[list[Document]],
    retrieved_documents: list[list[Document]],
    metric: RankedKeys,
) -> dict[str, Any]:
    """Validate the inputs, score every query with ``metric`` and average.

    Returns:
        ``{"score": mean, "individual_scores": [per query]}``.

    Raises:
        ComponentError: empty or mismatched inputs, entries that are not documents, or a ground-truth
            document without the comparison field.
    """
    check_parallel_lists(
        component_name, ground_truth_documents=ground_truth_documents, retrieved_documents=retrieved_documents
    )
    check_document_lists(component_name, "ground_truth_documents", ground_truth_documents)
    check_document_lists(component_name, "retrieved_documents", retrieved_documents)
    scores = []
    for query, (truths, retrieved) in enumerate(
        zip(ground_truth_documents, retrieved_documents, strict=True)
    ):
        truth_keys = _ground_truth_keys(component_name, field, truths, query)
        retrieved_keys = [comparison_key(document, field) for document in retrieved]
        scores.append(float(metric(query, truths, truth_keys, retrieved_keys)))
    return {"score": mean_score(scores), "individual_scores": scores}


class RankingEvaluator:
    """Base of the ranking evaluators (MAP, MRR, nDCG): the comparison-field setting, the ``run`` method
    (scoring through :func:`evaluate_rankings`) and serialization. A subclass names itself
    (``_component_name``) and gives its per-query metric as ``_metric = staticmethod(...)``; the subclass's
    docstring says what the metric measures."""

    _component_name: ClassVar[str]
    _metric: ClassVar[Callable[..., float]]

    def __init__(self, document_comparison_field: str = "content") -> None:
        check_comparison_field(self._component_name, document_comparison_field)
        self.document_comparison_field = document_comparison_field

    @component.output_types(score=float, individual_scores=list[float])
    def run(
        self, ground_truth_documents: list[list[Document]], retrieved_documents: list[list[Document]]
    ) -> dict[str, Any]:
        """Score each query's ranking with this evaluator's metric.

        Args:
            ground_truth_documents: per query, the relevant documents.
            retrieved_documents: per query, the retrieved documents, best first.

        Returns:
            ``{"score": mean of the per-query scores, "individual_scores": [score per query]}``.

        Raises:
            ComponentError: empty or mismatched lists, wrong types, a ground-truth document without the
                comparison field, or input the metric itself rejects (see the evaluator's docstring).
        """
        return evaluate_rankings(
            self._component_name,
            self.document_comparison_field,
            ground_truth_documents,
            retrieved_documents,
            type(self)._metric,
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, document_comparison_field=self.document_comparison_field)

    @classmethod
    def from_dict(cls: type[E], data: dict[str, Any]) -> E:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

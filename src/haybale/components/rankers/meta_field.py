"""MetaFieldRanker: rank documents by a metadata field, optionally blended with their previous ranking."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError
from haybale.stores.scoring import check_top_k

__all__ = ["META_VALUE_TYPES", "MISSING_META", "RANKING_MODES", "SORT_ORDERS", "MetaFieldRanker"]

RANKING_MODES = ("reciprocal_rank_fusion", "linear_score")
SORT_ORDERS = ("ascending", "descending")
MISSING_META = ("bottom", "top", "drop")
META_VALUE_TYPES = ("float", "int", "date")
_RRF_K = 60


def _choice(value: Any, options: tuple[str, ...], name: str) -> None:
    if value not in options:
        raise ComponentError(f"MetaFieldRanker: {name} must be one of {', '.join(options)}; got {value!r}.")


def _parse(value: Any, value_type: str | None, doc: Document, field: str) -> Any:
    if value_type is None or not isinstance(value, str):
        return value
    try:
        if value_type == "float":
            return float(value)
        if value_type == "int":
            return int(value)
        return datetime.fromisoformat(value)
    except ValueError as error:
        raise ComponentError(
            f"MetaFieldRanker: document {doc.id[:12]}... has meta[{field!r}] = {value!r}, which is not a "
            f"valid {value_type}. Fix the metadata or change meta_value_type (one of "
            f"{', '.join(META_VALUE_TYPES)} or None)."
        ) from error


@component
class MetaFieldRanker:
    """Rank documents by the value of one metadata field (e.g. a date or a rating).

    The final order blends the meta-field order with the incoming order: ``weight`` 1.0 uses only the meta
    field, 0.0 only the incoming ranking. In ``reciprocal_rank_fusion`` mode both orders contribute
    1/(60 + rank) (scaled so rank 1 in both scores 1); in ``linear_score`` mode the incoming ``score`` (which
    should lie in [0, 1]) is blended with a linear meta score (n - rank + 1) / n.

    Args:
        meta_field: the metadata key to rank by.
        weight: in [0, 1], how much the meta field counts.
        top_k: keep at most this many documents.
        ranking_mode: ``reciprocal_rank_fusion`` or ``linear_score``.
        sort_order: ``descending`` (largest first) or ``ascending``.
        missing_meta: documents without the field go to the ``bottom`` or ``top`` (unchanged), or are dropped.
        meta_value_type: parse string values as ``float``, ``int`` or ``date`` (ISO 8601) before comparing.
    """

    def __init__(
        self,
        meta_field: str,
        *,
        weight: float = 1.0,
        top_k: int | None = None,
        ranking_mode: str = "reciprocal_rank_fusion",
        sort_order: str = "descending",
        missing_meta: str = "bottom",
        meta_value_type: str | None = None,
    ) -> None:
        self.meta_field = meta_field
        self.weight = weight
        self.top_k = top_k
        self.ranking_mode = ranking_mode
        self.sort_order = sort_order
        self.missing_meta = missing_meta
        self.meta_value_type = meta_value_type
        self._validate(
            weight=weight,
            top_k=top_k,
            ranking_mode=ranking_mode,
            sort_order=sort_order,
            missing_meta=missing_meta,
            meta_value_type=meta_value_type,
        )
        if not isinstance(meta_field, str) or not meta_field:
            raise ComponentError(
                f"MetaFieldRanker: meta_field must be a non-empty string, got {meta_field!r}."
            )

    @staticmethod
    def _validate(
        *,
        weight: Any,
        top_k: Any,
        ranking_mode: Any,
        sort_order: Any,
        missing_meta: Any,
        meta_value_type: Any,
    ) -> None:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
            raise ComponentError(f"MetaFieldRanker: weight must be a number in [0, 1], got {weight!r}.")
        check_top_k(top_k, "MetaFieldRanker", allow_none=True, error=ComponentError)
        _choice(ranking_mode, RANKING_MODES, "ranking_mode")
        _choice(sort_order, SORT_ORDERS, "sort_order")
        _choice(missing_meta, MISSING_META, "missing_meta")
        if meta_value_type is not None:
            _choice(meta_value_type, META_VALUE_TYPES, "meta_value_type")

    @component.output_types(documents=list[Document])
    def run(
        self,
        documents: list[Document],
        *,
        top_k: int | None = None,
        weight: float | None = None,
        ranking_mode: str | None = None,
        sort_order: str | None = None,
        missing_meta: str | None = None,
        meta_value_type: str | None = None,
    ) -> dict[str, Any]:
        """Rank ``documents`` (given best first) by the meta field; parameters override the init values.

        Returns:
            ``{"documents": [...]}``: copies whose ``score`` is the blended score and whose ``score_details``
            record the meta rank, the previous rank and the previous score. Documents without the field are
            passed through unchanged (bottom/top) or dropped.

        Raises:
            ComponentError: bad parameters, unparsable values, values that cannot be compared, or (in
                ``linear_score`` mode) a document without a score.
        """
        top_k = self.top_k if top_k is None else top_k
        weight = self.weight if weight is None else weight
        ranking_mode = ranking_mode or self.ranking_mode
        sort_order = sort_order or self.sort_order
        missing_meta = missing_meta or self.missing_meta
        value_type = meta_value_type or self.meta_value_type
        self._validate(
            weight=weight,
            top_k=top_k,
            ranking_mode=ranking_mode,
            sort_order=sort_order,
            missing_meta=missing_meta,
            meta_value_type=value_type,
        )

        with_field: list[tuple[int, Document, Any]] = []
        without_field: list[Document] = []
        for position, doc in enumerate(documents):
            if self.meta_field in doc.meta:
                value = _parse(doc.meta[self.meta_field], value_type, doc, self.meta_field)
                with_field.append((position, doc, value))
            else:
                without_field.append(doc)
        try:
            by_meta = sorted(with_field, key=lambda item: item[2], reverse=sort_order == "descending")
        except TypeError as error:
            kinds = sorted({type(item[2]).__name__ for item in with_field})
            raise ComponentError(
                f"MetaFieldRanker: values of meta[{self.meta_field!r}] cannot be compared "
                f"({', '.join(kinds)}). Set meta_value_type='float', 'int' or 'date' to parse them, or clean "
                "the metadata."
            ) from error

        count = len(by_meta)
        ranked: list[tuple[float, int, Document]] = []
        for meta_rank, (position, doc, _value) in enumerate(by_meta, start=1):
            if ranking_mode == "reciprocal_rank_fusion":
                previous = (_RRF_K + 1) / (_RRF_K + position + 1)
                meta_score = (_RRF_K + 1) / (_RRF_K + meta_rank)
            else:
                if doc.score is None:
                    raise ComponentError(
                        f"MetaFieldRanker: document {doc.id[:12]}... has no score, which linear_score mode "
                        "needs. Put the ranker after a retriever, or use "
                        "ranking_mode='reciprocal_rank_fusion'."
                    )
                previous = doc.score
                meta_score = (count - meta_rank + 1) / count
            score = (1 - weight) * previous + weight * meta_score
            details = {
                "method": f"meta_field_{ranking_mode}",
                "meta_field": self.meta_field,
                "meta_rank": meta_rank,
                "previous_rank": position + 1,
                "previous_score": doc.score,
                "weight": weight,
                "score": score,
            }
            if doc.score_details:
                details["previous_details"] = doc.score_details
            ranked.append(
                (score, meta_rank, replace(doc, meta=dict(doc.meta), score=score, score_details=details))
            )
        ranked.sort(key=lambda item: (-item[0], item[1]))
        result = [doc for _score, _rank, doc in ranked]
        if missing_meta == "bottom":
            result += without_field
        elif missing_meta == "top":
            result = without_field + result
        return {"documents": result[:top_k] if top_k is not None else result}

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component."""
        return default_to_dict(
            self,
            meta_field=self.meta_field,
            weight=self.weight,
            top_k=self.top_k,
            ranking_mode=self.ranking_mode,
            sort_order=self.sort_order,
            missing_meta=self.missing_meta,
            meta_value_type=self.meta_value_type,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetaFieldRanker:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

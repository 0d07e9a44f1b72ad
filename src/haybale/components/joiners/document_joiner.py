"""DocumentJoiner: join several ranked document lists into one, with per-result score provenance."""

from __future__ import annotations

from typing import Any

from haybale.components.joiners.fusion import fuse_documents, normalize_weights, validate_join_mode
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.core.sockets import Variadic
from haybale.dataclasses import Document
from haybale.errors import ComponentError
from haybale.stores.scoring import check_top_k

__all__ = ["DocumentJoiner"]


def _list_name(documents: list[Document]) -> str | None:
    """The retriever name an input list declares through its documents' ``score_details``.

    Either an explicit ``score_details["retriever"]`` or, as stores write it, a single top-level key such as
    ``{"bm25": {...}}`` shared by every document of the list.
    """
    names = set()
    for doc in documents:
        details = doc.score_details or {}
        name = details.get("retriever")
        if name is None and len(details) == 1:
            (name,) = details
        names.add(name)
    if len(names) == 1:
        (name,) = names
        if isinstance(name, str) and name:
            return name
    return None


@component
class DocumentJoiner:
    """Join the document lists of several retrievers, removing duplicates (by id).

    Modes: ``concatenate`` keeps each document once with its highest score; ``merge`` sums the weighted raw
    scores; ``reciprocal_rank_fusion`` sums weighted 1/(60 + rank) (scaled so rank 1 everywhere is 1.0);
    ``distribution_based_rank_fusion`` normalises each list's scores over mean ± 3 std to [0, 1] and sums them
    weighted. Every result is a copy whose ``score_details`` names the method, the fused score, and for each
    input list (keyed by its retriever name when its documents declare one in
    ``score_details`` -- ``{"retriever": name}`` or a single key such as ``{"bm25": ...}`` -- otherwise by
    input position "0", "1", ...) the document's 1-based rank, raw score and weight.

    Args:
        join_mode: one of the modes above.
        weights: one weight per input list, in arrival order (normalised to sum 1); None = equal.
        top_k: keep at most this many documents.
        sort_by_score: sort by fused score (best first); False keeps first-seen order.
    """

    def __init__(
        self,
        join_mode: str = "concatenate",
        weights: list[float] | None = None,
        top_k: int | None = None,
        sort_by_score: bool = True,
    ) -> None:
        self.join_mode = validate_join_mode(join_mode, "DocumentJoiner")
        if weights is not None:
            normalize_weights(weights, len(weights), "DocumentJoiner")
        check_top_k(top_k, "DocumentJoiner", allow_none=True, error=ComponentError)
        self.weights = list(weights) if weights is not None else None
        self.top_k = top_k
        self.sort_by_score = sort_by_score

    @component.output_types(documents=list[Document])
    def run(self, documents: Variadic[list[Document]], top_k: int | None = None) -> dict[str, Any]:
        """Join the received lists.

        Args:
            documents: the lists, in arrival order.
            top_k: overrides the init value.

        Returns:
            ``{"documents": [...]}``; inputs are not modified.

        Raises:
            ComponentError: the number of weights differs from the number of lists, or a bad top_k.
        """
        lists = [list(docs) for docs in documents]
        detected = [_list_name(docs) for docs in lists]
        names = [name or str(i) for i, name in enumerate(detected)]
        return {
            "documents": fuse_documents(
                lists,
                join_mode=self.join_mode,
                weights=self.weights,
                names=names,
                top_k=self.top_k if top_k is None else top_k,
                sort_by_score=self.sort_by_score,
            )
        }

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component."""
        return default_to_dict(
            self,
            join_mode=self.join_mode,
            weights=self.weights,
            top_k=self.top_k,
            sort_by_score=self.sort_by_score,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentJoiner:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

"""LostInTheMiddleRanker: put the most relevant documents at the start and end of the context."""

from __future__ import annotations

from typing import Any

from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError
from haybale.stores.scoring import check_top_k

__all__ = ["LostInTheMiddleRanker"]


def _check_positive(value: int | None, name: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
        raise ComponentError(
            f"LostInTheMiddleRanker: {name} must be a positive integer or None, got {value!r}."
        )


@component
class LostInTheMiddleRanker:
    """Reorder documents so the most relevant sit at the edges of the prompt and the least in the middle.

    LLMs attend best to the beginning and end of a long context (Liu et al., 2023, "Lost in the Middle").
    Input documents are taken as ranked best first; the output alternates them: 1st, 3rd, 5th, ..., 6th,
    4th, 2nd.

    Args:
        word_count_threshold: keep documents (best first) until their total word count reaches this
            number; the document that crosses the threshold is kept. None keeps all.
        top_k: keep at most this many documents (best first) before reordering.
    """

    def __init__(self, word_count_threshold: int | None = None, top_k: int | None = None) -> None:
        _check_positive(word_count_threshold, "word_count_threshold")
        check_top_k(top_k, "LostInTheMiddleRanker", allow_none=True, error=ComponentError)
        self.word_count_threshold = word_count_threshold
        self.top_k = top_k

    @component.output_types(documents=list[Document])
    def run(
        self, documents: list[Document], top_k: int | None = None, word_count_threshold: int | None = None
    ) -> dict[str, Any]:
        """Reorder ``documents``.

        Args:
            documents: ranked best first; each must have text content.
            top_k: overrides the init value.
            word_count_threshold: overrides the init value.

        Returns:
            ``{"documents": [...]}``, the same Document objects in the new order.

        Raises:
            ComponentError: a document has no text content, or a bad top_k / threshold.
        """
        top_k = self.top_k if top_k is None else top_k
        threshold = self.word_count_threshold if word_count_threshold is None else word_count_threshold
        check_top_k(top_k, "LostInTheMiddleRanker", allow_none=True, error=ComponentError)
        _check_positive(threshold, "word_count_threshold")
        selected = list(documents[:top_k] if top_k is not None else documents)
        for position, doc in enumerate(selected):
            if doc.content is None:
                raise ComponentError(
                    f"LostInTheMiddleRanker: document {position} (id {doc.id[:12]}...) has no text content; "
                    "this ranker orders text for a prompt. Filter out binary documents before it."
                )
        if threshold is not None:
            kept: list[Document] = []
            words = 0
            for doc in selected:
                kept.append(doc)
                words += len((doc.content or "").split())
                if words >= threshold:
                    break
            selected = kept
        front = selected[0::2]
        back = selected[1::2]
        return {"documents": front + back[::-1]}

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component."""
        return default_to_dict(self, word_count_threshold=self.word_count_threshold, top_k=self.top_k)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LostInTheMiddleRanker:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

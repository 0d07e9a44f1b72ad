"""PromptCoverageEvaluator: did the rendered prompt carry the documents it was given?"""

from __future__ import annotations

from typing import Any

from haybale.components.evaluators._parallel_inputs import (
    check_document_lists,
    check_parallel_lists,
    mean_score,
)
from haybale.components.evaluators._text_support import prompt_text, terms
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document

__all__ = ["PromptCoverageEvaluator"]

_NAME = "PromptCoverageEvaluator"


def _coverage(document: Document, prompt: str, prompt_terms: set[str]) -> float:
    text = " ".join((document.content or "").split())
    if not text or text in prompt:
        return 1.0
    wanted = set(terms(text))
    return len(wanted & prompt_terms) / len(wanted) if wanted else 1.0


@component
class PromptCoverageEvaluator:
    """How much of the documents handed to a prompt builder reach the rendered prompt: per document 1.0 when
    its text appears whole, else the share of its content words that do; averaged per row.

    This is the prompt builder's own rubric. A template that drops the documents, loops over the wrong
    variable, or truncates context under a token budget scores low here, so the blame lands on the prompt
    builder rather than on the generator downstream. A row with no documents to carry scores 1.0.
    Deterministic: every confidence is 1.0.
    """

    @component.output_types(
        score=float,
        individual_scores=list[float],
        confidences=list[float],
        escalated=list[bool],
        reasons=list[str],
    )
    def run(self, source_documents: list[list[Document]], prompts: list[Any]) -> dict[str, Any]:
        """Score each rendered prompt against the documents it was built from.

        Args:
            source_documents: per row, the documents given to the prompt builder.
            prompts: per row, the rendered prompt (a string or chat messages).

        Returns:
            ``{"score", "individual_scores", "confidences", "escalated", "reasons"}``.

        Raises:
            ComponentError: empty, mismatched or mistyped inputs.
        """
        check_parallel_lists(_NAME, source_documents=source_documents, prompts=prompts)
        check_document_lists(_NAME, "source_documents", source_documents)
        scores: list[float] = []
        reasons: list[str] = []
        for documents, prompt in zip(source_documents, prompts, strict=True):
            text = " ".join(prompt_text(prompt).split())
            if not documents:
                scores.append(1.0)
                reasons.append("no documents to carry")
                continue
            prompt_terms = set(terms(text))
            shares = [_coverage(document, text, prompt_terms) for document in documents]
            scores.append(sum(shares) / len(shares))
            missing = sum(share < 1.0 for share in shares)
            reasons.append(
                f"{missing} of {len(documents)} documents missing or cut in the prompt"
                if missing
                else f"all {len(documents)} documents in the prompt"
            )
        return {
            "score": mean_score(scores),
            "individual_scores": scores,
            "confidences": [1.0] * len(scores),
            "escalated": [False] * len(scores),
            "reasons": reasons,
        }

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptCoverageEvaluator:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

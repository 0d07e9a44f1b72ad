"""Answers produced by generators and assembled by AnswerBuilder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from haybale.dataclasses.document import Document

__all__ = ["GeneratedAnswer"]


@dataclass
class GeneratedAnswer:
    """A generated answer to ``query`` with the documents it cites.

    Attributes:
        data: the answer text.
        query: the question.
        documents: the documents the answer is grounded on (cited ones first).
        meta: free metadata (reply metadata, referenced indices, ...).
    """

    data: str
    query: str
    documents: list[Document] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        return {
            "data": self.data,
            "query": self.query,
            "documents": [d.to_dict() for d in self.documents],
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratedAnswer:
        """Build from :meth:`to_dict` output."""
        return cls(
            data=data["data"],
            query=data["query"],
            documents=[Document.from_dict(d) for d in data.get("documents") or []],
            meta=dict(data.get("meta") or {}),
        )

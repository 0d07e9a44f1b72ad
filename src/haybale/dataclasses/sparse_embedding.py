"""Sparse vectors (for example SPLADE or BM25 term weights) attached to documents and queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SparseEmbedding"]


@dataclass
class SparseEmbedding:
    """A sparse vector: parallel lists of dimension indices and their values.

    Raises:
        ValueError: when ``indices`` and ``values`` differ in length.
    """

    indices: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.indices) != len(self.values):
            raise ValueError(
                f"SparseEmbedding needs as many indices as values, got {len(self.indices)} indices and "
                f"{len(self.values)} values."
            )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        return {"indices": list(self.indices), "values": list(self.values)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SparseEmbedding:
        """Build from :meth:`to_dict` output."""
        return cls(indices=list(data["indices"]), values=list(data["values"]))

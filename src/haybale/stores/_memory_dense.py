"""Dense vectors of the in-memory store: one contiguous float32 matrix, one row per document slot.

Rows hold the vectors exactly as written (as float32); cosine similarity divides by the stored row norms at
query time, so the original vectors can be returned unchanged. The matrix grows geometrically; freed slots are
reused by the store. Brute-force search is one matrix-vector product plus ``argpartition``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from haybale.stores._bulk import inverse_norm, inverse_norms

__all__ = ["SIMILARITY_FUNCTIONS", "DenseMatrix"]

SIMILARITY_FUNCTIONS: tuple[str, ...] = ("cosine", "dot_product")


class DenseMatrix:
    """Vectors by slot with exact (brute-force) cosine or dot-product search.

    Args:
        similarity: "cosine" or "dot_product".
    """

    def __init__(self, similarity: str = "cosine") -> None:
        if similarity not in SIMILARITY_FUNCTIONS:
            raise ValueError(
                f"Unknown embedding similarity function {similarity!r}; choose one of "
                f"{list(SIMILARITY_FUNCTIONS)}."
            )
        self.similarity = similarity
        self.dim: int | None = None
        self._matrix: Any = np.zeros((0, 0), dtype=np.float32)
        self._inv_norm: Any = np.zeros(0, dtype=np.float32)
        self._present: Any = np.zeros(0, dtype=bool)
        self._high_water = 0  # rows [0, high_water) may be in use
        self.count = 0

    def check(self, vectors: Any) -> Any:
        """Validate a batch of vectors (rows) and return it as a float32 matrix; raises ValueError."""
        try:
            matrix = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"embeddings must be lists of numbers of one length: {exc}") from exc
        if matrix.ndim != 2 or matrix.shape[1] == 0:
            raise ValueError(
                f"embeddings must be non-empty lists of numbers of one length, got shape {matrix.shape}."
            )
        self.check_dimension(matrix.shape[1])
        if not np.isfinite(matrix).all():
            raise ValueError("embeddings contain NaN or infinite values.")
        return matrix

    def check_dimension(self, dim: int) -> None:
        """Refuse vectors of ``dim`` dimensions when the matrix holds vectors of another size (ValueError)."""
        if self.dim is not None and dim != self.dim:
            raise ValueError(
                f"embedding has {dim} dimensions but this store holds {self.dim}-dimensional "
                "embeddings; embed all documents with the same model."
            )

    def _grow(self, rows: int, dim: int) -> None:
        capacity = len(self._matrix)
        if self.dim is None:
            self.dim = dim
            self._matrix = np.zeros((0, dim), dtype=np.float32)
        if rows <= capacity:
            return
        new_capacity = max(rows, capacity * 2, 1024)
        matrix = np.zeros((new_capacity, dim), dtype=np.float32)
        matrix[:capacity] = self._matrix
        self._matrix = matrix
        self._inv_norm = np.concatenate([self._inv_norm, np.zeros(new_capacity - capacity, dtype=np.float32)])
        self._present = np.concatenate([self._present, np.zeros(new_capacity - capacity, dtype=bool)])

    def put(self, slots: Sequence[int], matrix: Any) -> None:
        """Store the rows of ``matrix`` (a float32 matrix, already validated) under ``slots``.

        The matrix may become the store's own storage (when it fills an empty store): do not modify it after.
        """
        if not len(slots):
            return
        slot_arr = np.asarray(slots, dtype=np.int64)
        first, top = int(slot_arr[0]), int(slot_arr.max())
        contiguous = bool((np.diff(slot_arr) == 1).all())
        if contiguous and first == 0 and self.dim is None:
            # The first batch of an empty store: its matrix becomes the storage, no copy.
            self.dim = matrix.shape[1]
            self._matrix = matrix
            self._inv_norm = np.zeros(len(matrix), dtype=np.float32)
            self._present = np.zeros(len(matrix), dtype=bool)
        else:
            self._grow(top + 1, matrix.shape[1])
        where: Any = slice(first, top + 1) if contiguous else slot_arr
        self.count += int((~self._present[where]).sum())
        if self._matrix is not matrix:
            self._matrix[where] = matrix
        self._inv_norm[where] = inverse_norms(matrix)
        self._present[where] = True
        self._high_water = max(self._high_water, top + 1)

    def remove(self, slots: Sequence[int]) -> None:
        """Forget the vectors of ``slots`` (slots without a vector are ignored)."""
        if not len(slots) or not len(self._present):
            return
        slot_arr = np.asarray(slots, dtype=np.int64)
        slot_arr = slot_arr[slot_arr < len(self._present)]
        self.count -= int(self._present[slot_arr].sum())
        self._present[slot_arr] = False
        self._matrix[slot_arr] = 0.0
        self._inv_norm[slot_arr] = 0.0
        if self.count == 0:
            self.__init__(self.similarity)  # type: ignore[misc]

    def has(self, slot: int) -> bool:
        """Whether ``slot`` has a vector."""
        return slot < len(self._present) and bool(self._present[slot])

    def row(self, slot: int) -> list[float]:
        """The stored vector of ``slot`` as a list of floats."""
        return list(self._matrix[slot].tolist())

    def rows(self, slots: Sequence[int]) -> Any:
        """The stored vectors of ``slots`` as a float32 matrix (a copy)."""
        return self._matrix[np.asarray(slots, dtype=np.int64)]

    def search(self, query: Sequence[float], top_k: int, candidates: Any | None = None) -> tuple[Any, Any]:
        """The ``top_k`` most similar stored vectors: (slots, float64 scores), best first.

        Args:
            query: the query vector.
            top_k: how many to return at most.
            candidates: boolean mask over slots (True = may be returned), or None for all slots.
        """
        if self.count == 0 or top_k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        vector = self.check([query])[0]
        hw = self._high_water
        if candidates is not None:
            mask = candidates[:hw] & self._present[:hw]
            slots = np.flatnonzero(mask)
            if len(slots) * 2 < hw:  # selective filter: score only the candidates
                scores = self._matrix[slots] @ vector
                if self.similarity == "cosine":
                    scores *= self._inv_norm[slots]
                return self._best(slots, scores, top_k, vector)
        else:
            mask = None if self.count == hw else self._present[:hw]
        scores = self._matrix[:hw] @ vector
        if self.similarity == "cosine":
            scores *= self._inv_norm[:hw]
        if mask is not None:
            slots = np.flatnonzero(mask)
            return self._best(slots, scores[slots], top_k, vector)
        return self._best(None, scores, top_k, vector)

    def _best(self, slots: Any | None, scores: Any, top_k: int, vector: Any) -> tuple[Any, Any]:
        """Top ``top_k`` of ``scores`` (indexed like ``slots``; None = identity), ties by lower slot."""
        if len(scores) > top_k:
            picked = np.argpartition(scores, len(scores) - top_k)[len(scores) - top_k :]
        else:
            picked = np.arange(len(scores))
        chosen = picked if slots is None else slots[picked]
        values = scores[picked].astype(np.float64)
        if self.similarity == "cosine":
            values *= float(inverse_norm(vector))
        order = np.lexsort((chosen, -values))
        return chosen[order], values[order]

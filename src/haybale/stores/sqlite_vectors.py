"""The in-process vector index of :class:`~haybale.stores.sqlite.SQLiteDocumentStore`.

Embeddings are stored durably as float32 BLOBs in SQLite; this index mirrors them in one contiguous float32
matrix for brute-force search. Rows are keyed by the table's ``seq`` (a never-reused, increasing integer), so
the key array stays sorted and a set of candidate keys maps to matrix slots with one ``searchsorted``.
Appends grow the matrix geometrically; deletes mark slots dead and the matrix is compacted when more than
half of it is dead, so no single write rebuilds the index.

The index records the database write ``version`` it reflects; the store applies each committed write's
delta in place and reloads from the table when another process wrote in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from haybale.errors import DocumentStoreUsageError

SIMILARITIES = ("cosine", "dot_product")
_COMPACT_MIN_DEAD = 1024


class VectorIndex:
    """Brute-force cosine / dot-product search over a float32 matrix keyed by increasing integer keys."""

    def __init__(self, similarity: str) -> None:
        if similarity not in SIMILARITIES:
            raise DocumentStoreUsageError(
                f"Unknown embedding similarity {similarity!r}; choose one of {SIMILARITIES}."
            )
        self.similarity = similarity
        self.version = -1  # no database version loaded yet
        self.dim: int | None = None
        self._matrix: Any = np.empty((0, 0), dtype=np.float32)
        self._keys: Any = np.empty(0, dtype=np.int64)
        self._alive: Any = np.empty(0, dtype=bool)
        self._size = 0
        self._dead = 0

    def __len__(self) -> int:
        return self._size - self._dead

    def load(self, rows: Iterable[tuple[int, bytes]], dim: int | None, version: int) -> None:
        """Replace the contents with ``rows`` of ``(key, float32 bytes)`` in increasing key order."""
        keys: list[int] = []
        blobs: list[bytes] = []
        for key, blob in rows:
            keys.append(key)
            blobs.append(blob)
        self.dim = dim
        width = dim or 0
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(keys), width).copy()
        self._matrix = self._prepare(matrix)
        self._keys = np.asarray(keys, dtype=np.int64)
        self._alive = np.ones(len(keys), dtype=bool)
        self._size = len(keys)
        self._dead = 0
        self.version = version

    def _prepare(self, vectors: Any) -> Any:
        if self.similarity == "cosine" and len(vectors):
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            vectors = vectors / norms
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def add(self, keys: list[int], vectors: Any) -> None:
        """Append ``vectors`` (shape ``(len(keys), dim)``) under ``keys``, all larger than any present key."""
        if not keys:
            return
        vectors = self._prepare(np.asarray(vectors, dtype=np.float32))
        if self.dim is None or self._matrix.shape[1] != vectors.shape[1]:
            self.dim = int(vectors.shape[1])
            self._matrix = np.empty((0, self.dim), dtype=np.float32)
        needed = self._size + len(keys)
        if needed > len(self._matrix):
            capacity = max(needed, 2 * len(self._matrix), 64)
            grown = np.empty((capacity, self.dim), dtype=np.float32)
            grown[: self._size] = self._matrix[: self._size]
            self._matrix = grown
            self._keys = np.resize(self._keys, capacity)
            self._alive = np.resize(self._alive, capacity)
        self._matrix[self._size : needed] = vectors
        self._keys[self._size : needed] = keys
        self._alive[self._size : needed] = True
        self._size = needed

    def remove(self, keys: Iterable[int]) -> None:
        """Forget ``keys`` (unknown keys are ignored)."""
        slots = self._slots(np.fromiter(keys, dtype=np.int64))
        if not len(slots):
            return
        self._alive[slots] = False
        self._dead += len(slots)
        if self._dead > _COMPACT_MIN_DEAD and self._dead * 2 > self._size:
            self._compact()

    def _compact(self) -> None:
        alive = self._alive[: self._size]
        self._matrix = np.ascontiguousarray(self._matrix[: self._size][alive])
        self._keys = self._keys[: self._size][alive]
        self._alive = np.ones(len(self._keys), dtype=bool)
        self._size = len(self._keys)
        self._dead = 0

    def _slots(self, keys: Any) -> Any:
        """Live slots of ``keys`` (absent or dead keys dropped)."""
        present = self._keys[: self._size]
        positions = np.searchsorted(present, keys)
        valid = positions < self._size
        positions, keys = positions[valid], keys[valid]
        positions = positions[present[positions] == keys]
        return positions[self._alive[positions]]

    def search(
        self, query: list[float], top_k: int, candidates: list[int] | None = None
    ) -> list[tuple[int, float]]:
        """Return up to ``top_k`` ``(key, score)`` pairs, best first, among ``candidates`` (all when None).

        Ties are broken by key (older documents first), so results are deterministic.
        """
        if top_k == 0 or len(self) == 0:
            return []
        vector = np.asarray(query, dtype=np.float32)
        if self.similarity == "cosine":
            norm = float(np.linalg.norm(vector))
            if norm > 0:
                vector = vector / norm
        if candidates is None:
            slots = np.flatnonzero(self._alive[: self._size])
        else:
            slots = self._slots(np.unique(np.asarray(candidates, dtype=np.int64)))
        if not len(slots):
            return []
        if len(slots) == self._size:  # every slot selected: score the matrix in place, no gather copy
            scores = self._matrix[: self._size] @ vector
        else:
            scores = self._matrix[slots] @ vector
        k = min(top_k, len(slots))
        best = np.argpartition(-scores, k - 1)[:k] if k < len(slots) else np.arange(len(slots))
        order = best[np.lexsort((slots[best], -scores[best]))]
        return [(int(self._keys[slots[i]]), float(scores[i])) for i in order]

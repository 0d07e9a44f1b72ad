"""What makes large writes fast in every store: converting embeddings in one cache-friendly pass, computing
row norms the same way everywhere, and keeping Python's cyclic garbage collector out of a bulk write.

* :func:`float32_embeddings` converts a batch of embeddings (lists of floats) to one float32 matrix, a few
  hundred rows at a time: each chunk is packed into a small float64 buffer with ``struct`` (no shape
  discovery over the nested lists, no 300 MB float64 copy of a 100k x 384 batch), cast into its rows of the
  result, and validated there while it is still in cache -- every value finite in float32, and whether the
  row holds its values exactly (a store that keeps only float32 rows must keep the original list of a row
  that float32 rounds).
* :func:`inverse_norms` is the one ``1 / ||row||`` (0 for a zero row) both local stores score cosine with,
  computed in chunks (the same bits as one ``np.linalg.norm`` call, without its full-size temporary).
* :func:`paused_gc` suspends the cyclic collector while a write runs. A write of 100k documents allocates
  hundreds of thousands of objects, which triggers full collections, and each one walks every live list --
  including every embedding list of every document the caller holds (38M references at 100k x 384): at
  100k documents that was more than half of the in-memory store's write time. Nothing a write allocates is
  cyclic garbage, and the collector is restored (and runs as usual) afterwards.
"""

from __future__ import annotations

import gc
import mmap
import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from typing import Any

import numpy as np

__all__ = ["BULK_MIN_DOCUMENTS", "float32_embeddings", "inverse_norm", "inverse_norms", "paused_gc"]

#: Writes of at least this many documents run with the cyclic garbage collector paused.
BULK_MIN_DOCUMENTS = 1000
#: Rows converted per step: a 1024 x 384 float64 buffer (3 MB) stays in cache.
_CHUNK_ROWS = 1024


def float32_embeddings(embeddings: Sequence[Any]) -> tuple[Any, Any]:
    """Convert ``embeddings`` (sequences of numbers, all of one length) to a new float32 matrix.

    Returns:
        ``(matrix, exact)``: the ``(n, dim)`` float32 matrix, and per row whether float32 holds every value
        of the original exactly.

    Raises:
        ValueError: an embedding is empty, not a sequence of numbers, differs in length from the first, or
            holds a value that is NaN, infinite or beyond float32's range; the message starts with
            "embedding <position>".
    """
    if not len(embeddings):
        return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=bool)
    dim = _length(embeddings[0], 0)
    if not dim:
        raise ValueError("embedding 0 is invalid: it is empty; embeddings must be non-empty lists of numbers")
    count = len(embeddings)
    matrix = _new_matrix(count, dim)
    exact = np.empty(count, dtype=bool)
    for start in range(0, count, _CHUNK_ROWS):
        chunk = embeddings[start : start + _CHUNK_ROWS]
        wide = _wide_chunk(chunk, start, dim)
        rows = matrix[start : start + len(chunk)]
        with np.errstate(over="ignore"):  # a value beyond float32's range becomes inf, refused just below
            rows[...] = wide
        if not np.isfinite(rows.sum()):  # the sum of a float32 chunk is finite only when every value is
            finite = np.isfinite(rows).all(axis=1)
            if not finite.all():
                raise ValueError(
                    f"embedding {start + int(np.argmin(finite))} is invalid: it holds NaN, infinite or "
                    "out-of-range values (float32 holds magnitudes up to about 3.4e38)"
                )
        if np.array_equal(rows, wide):
            exact[start : start + len(chunk)] = True
        else:
            np.equal(rows, wide).all(axis=1, out=exact[start : start + len(chunk)])
    return matrix, exact


#: Matrices from this size on get their memory from an anonymous ``mmap`` (see :func:`_new_matrix`).
_MAPPED_MIN_BYTES = 16 << 20


def _new_matrix(count: int, dim: int) -> Any:
    """An uninitialised ``(count, dim)`` float32 matrix.

    A large one is backed by an anonymous ``mmap`` instead of ``np.empty``: numpy advises the kernel to
    back large arrays with transparent huge pages, and where the kernel then compacts memory to find them
    (``defrag = madvise``, the default on this project's machines) filling a 154 MB matrix cost about
    0.25 s more system time than with ordinary pages -- a quarter of a 100k x 384 write's conversion.
    """
    nbytes = count * dim * 4
    if nbytes < _MAPPED_MIN_BYTES:
        return np.empty((count, dim), dtype=np.float32)
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype=np.float32).reshape(count, dim)


def _length(embedding: Any, position: int) -> int:
    if isinstance(embedding, (str, bytes)) or not hasattr(embedding, "__len__"):
        raise ValueError(
            f"embedding {position} is invalid: it is a {type(embedding).__name__}, not a list of numbers"
        )
    return len(embedding)


@lru_cache(maxsize=8)
def _pack_doubles(dim: int) -> Callable[..., bytes]:
    """``struct`` packer of ``dim`` native doubles (each value through ``float()``'s C conversion)."""
    return struct.Struct(f"={dim}d").pack


def _wide_chunk(chunk: Sequence[Any], start: int, dim: int) -> Any:
    """One chunk of rows as a float64 array; the slow row-by-row path only runs to name a bad row.

    Rows of plain lists are packed with ``struct`` (about twice as fast as ``np.fromiter`` over the chained
    rows: the values go straight from the argument tuple to C doubles). Anything it refuses -- a value that
    is not a real number, or an int beyond a double's range -- goes through the numpy path below, which
    accepts or refuses it exactly as before.
    """
    if set(map(type, chunk)) == {list} and set(map(len, chunk)) == {dim}:  # C-level loops over the rows
        pack = _pack_doubles(dim)
        try:
            packed = b"".join([pack(*row) for row in chunk])
        except (struct.error, TypeError, ValueError, OverflowError):
            pass  # found again, with its position, below
        else:
            return np.frombuffer(packed, dtype=np.float64).reshape(len(chunk), dim)
        try:
            flat = np.fromiter(chain.from_iterable(chunk), dtype=np.float64, count=len(chunk) * dim)
            return flat.reshape(len(chunk), dim)
        except (TypeError, ValueError):
            pass  # found again, with its position, below
    wide = np.empty((len(chunk), dim), dtype=np.float64)
    for offset, row in enumerate(chunk):
        position = start + offset
        length = _length(row, position)
        if length != dim:
            raise ValueError(
                f"embedding {position} is invalid: it has {length} values where the first has {dim}; all "
                "embeddings must be non-empty lists of numbers of one length"
            )
        try:
            wide[offset] = row
        except (TypeError, ValueError) as exc:
            raise ValueError(f"embedding {position} is invalid: {exc}") from exc
    return wide


def inverse_norm(vector: Any) -> Any:
    """``1 / ||vector||`` of a query vector as a float32 scalar (0 for a zero vector): the factor both local
    stores scale cosine scores by."""
    norm = float(np.linalg.norm(vector))
    return np.float32(1.0 / norm if norm > 0 else 0.0)


def inverse_norms(matrix: Any) -> Any:
    """``1 / ||row||`` per row of a float32 matrix as float32 (0 for an all-zero row)."""
    result = np.empty(len(matrix), dtype=np.float32)
    for start in range(0, len(matrix), 4 * _CHUNK_ROWS):
        norms = np.linalg.norm(matrix[start : start + 4 * _CHUNK_ROWS], axis=1)
        result[start : start + len(norms)] = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return result


@contextmanager
def paused_gc(documents: int) -> Iterator[None]:
    """Suspend the cyclic garbage collector for a write of ``documents`` documents when it is a bulk write."""
    if documents < BULK_MIN_DOCUMENTS or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()

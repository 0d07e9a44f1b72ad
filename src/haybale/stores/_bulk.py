"""What makes large writes fast in every store: converting embeddings in one cache-friendly pass, computing
row norms the same way everywhere, and keeping Python's cyclic garbage collector out of a bulk write.

* :func:`float32_embeddings` converts a batch of embeddings (lists of floats) to one float32 matrix, a few
  hundred rows at a time: each chunk is packed into a small float64 buffer with ``struct`` (no shape
  discovery over the nested lists, no 300 MB float64 copy of a 100k x 384 batch), cast into its rows of the
  result, and validated there while it is still in cache -- every value finite in float32, and whether the
  row holds its values exactly (a store that keeps only float32 rows must keep the original list of a row
  that float32 rounds). :func:`float32_rows` is the same conversion for a store that keeps only the float32
  rows (no exactness): each row is packed straight to float32 with ``struct``, with no float64 step, into a
  new matrix or into rows the caller hands it (the SQLite store's memory-mapped vector file);
  :func:`embedding_length` checks a batch's shape alone, before any value is converted.
* :func:`inverse_norms` is the one ``1 / ||row||`` (0 for a zero row) both local stores score cosine with,
  computed in chunks (the same bits as one ``np.linalg.norm`` call, without its full-size temporary).
* :func:`paused_gc` suspends the cyclic collector while a write runs. A write of 100k documents allocates
  hundreds of thousands of objects, which triggers full collections, and each one walks every live list --
  including every embedding list of every document the caller holds (38M references at 100k x 384): at
  100k documents that was more than half of the in-memory store's write time. Nothing a write allocates is
  cyclic garbage, and the collector is restored (and runs as usual) afterwards.
* :func:`small_pages` turns off numpy's transparent-huge-page advice while a batch's texts are analysed.
  On Linux, numpy asks the kernel for huge pages (``madvise(MADV_HUGEPAGE)``) for every array of 4 MB or
  more, which also marks the malloc heap those arrays come from. The analysis then churns that heap with
  millions of small Python objects and mid-sized arrays, and each time the heap grows again the kernel
  clears -- and on the usual ``defrag=madvise`` setting, compacts memory for -- whole 2 MB pages. Measured
  on 100k texts: 1.6-3.1 s of kernel time in a 3.2-4.9 s analysis, against 0.25 s in 1.7-2.5 s without the
  advice (numpy's documented ``NUMPY_MADVISE_HUGEPAGE=0`` has the same effect for a whole process). The
  setting is process-wide: it is switched off while any analysis runs and restored when the last one ends.
"""

from __future__ import annotations

import gc
import mmap
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from typing import Any

import numpy as np

__all__ = [
    "BULK_MIN_DOCUMENTS",
    "embedding_length",
    "float32_embeddings",
    "float32_rows",
    "inverse_norm",
    "inverse_norms",
    "new_matrix",
    "paused_gc",
    "small_pages",
]

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
    count, dim = len(embeddings), _first_length(embeddings)
    matrix = new_matrix(count, dim)
    exact = np.empty(count, dtype=bool)
    for start in range(0, count, _CHUNK_ROWS):
        chunk = embeddings[start : start + _CHUNK_ROWS]
        wide = _wide_chunk(chunk, start, dim)
        rows = matrix[start : start + len(chunk)]
        _narrow(wide, rows, start)
        if np.array_equal(rows, wide):
            exact[start : start + len(chunk)] = True
        else:
            np.equal(rows, wide).all(axis=1, out=exact[start : start + len(chunk)])
    return matrix, exact


def float32_rows(embeddings: Sequence[Any], out: Any = None) -> Any:
    """:func:`float32_embeddings` without the exactness: the ``(n, dim)`` float32 matrix alone.

    Rows of plain lists are packed straight to float32 (``struct``'s native ``f``: each value through
    ``float()``, then the C cast to float -- the same rounding as numpy's float64 -> float32 cast, so the same
    bits), half the work of packing float64 and casting. Anything else goes the float64 way.

    Args:
        embeddings: sequences of numbers, all of one length.
        out: the writable ``(n, dim)`` float32 array to fill (for example rows of a memory-mapped file)
            instead of a new matrix; on an error its rows are left partly written.

    Raises:
        ValueError: as :func:`float32_embeddings`, with the same messages.
    """
    if not len(embeddings):
        return np.zeros((0, 0), dtype=np.float32) if out is None else out
    count, dim = len(embeddings), _first_length(embeddings)
    if out is not None and out.shape != (count, dim):
        raise ValueError(
            f"{count} embeddings of {dim} values do not fit the {out.shape[0]} x {out.shape[1]} rows given "
            "to fill; pass rows of the batch's shape"
        )
    matrix = new_matrix(count, dim) if out is None else out
    pack = _packer(f"@{dim}f")
    for start in range(0, count, _CHUNK_ROWS):
        chunk = embeddings[start : start + _CHUNK_ROWS]
        rows = matrix[start : start + len(chunk)]
        packed = _packed_chunk(chunk, dim, pack)
        if packed is None:
            _narrow(_wide_chunk(chunk, start, dim), rows, start)
            continue
        rows[...] = np.frombuffer(packed, dtype=np.float32).reshape(len(chunk), dim)
        _check_finite(rows, start)
    return matrix


def embedding_length(embeddings: Sequence[Any]) -> int:
    """The length every one of ``embeddings`` has, checked without converting a value (0 when there are
    none): each must be a non-empty sized sequence (not a string), all of one length.

    Raises:
        ValueError: as :func:`float32_embeddings` for those faults, with the same messages.
    """
    if not len(embeddings):
        return 0
    dim = _first_length(embeddings)
    if set(map(type, embeddings)) == {list} and set(map(len, embeddings)) == {dim}:  # C-level loops
        return dim
    for position, embedding in enumerate(embeddings):
        length = _length(embedding, position)
        if length != dim:
            raise ValueError(
                f"embedding {position} is invalid: it has {length} values where the first has {dim}; all "
                "embeddings must be non-empty lists of numbers of one length"
            )
    return dim


def _first_length(embeddings: Sequence[Any]) -> int:
    dim = _length(embeddings[0], 0)
    if not dim:
        raise ValueError("embedding 0 is invalid: it is empty; embeddings must be non-empty lists of numbers")
    return dim


def _narrow(wide: Any, rows: Any, start: int) -> None:
    """Cast float64 ``wide`` into the float32 ``rows`` (embeddings ``start ..``) and check them."""
    with np.errstate(over="ignore"):  # a value beyond float32's range becomes inf, refused just below
        rows[...] = wide
    _check_finite(rows, start)


def _check_finite(rows: Any, start: int) -> None:
    """Refuse float32 ``rows`` (embeddings ``start ..``) holding NaN or infinity (an overflow of float32)."""
    with np.errstate(over="ignore", invalid="ignore"):  # large finite values may overflow the sum
        total = rows.sum()
    if np.isfinite(total):  # the sum of a float32 chunk is finite only when every value is
        return
    finite = np.isfinite(rows).all(axis=1)
    if not finite.all():
        raise ValueError(
            f"embedding {start + int(np.argmin(finite))} is invalid: it holds NaN, infinite or "
            "out-of-range values (float32 holds magnitudes up to about 3.4e38)"
        )


#: Matrices from this size on get their memory from an anonymous ``mmap`` (see :func:`new_matrix`).
_MAPPED_MIN_BYTES = 16 << 20


def new_matrix(count: int, dim: int) -> Any:
    """An uninitialised ``(count, dim)`` float32 matrix.

    A large one is backed by an anonymous ``mmap`` instead of ``np.empty``: numpy advises the kernel to
    back large arrays with transparent huge pages, and where the kernel then compacts memory to find them
    (``defrag = madvise``, the default on this project's machines) filling a 154 MB matrix cost about
    0.25 s more system time than with ordinary pages -- a quarter of a 100k x 384 write's conversion.
    Where the platform has it, the mapping is populated up front (``MAP_POPULATE``): one system call maps
    every page instead of one page fault per 4 KiB page as the conversion first touches it, about half
    the system time (0.05 s instead of 0.1 s for 154 MB).
    """
    nbytes = count * dim * 4
    if nbytes < _MAPPED_MIN_BYTES:
        return np.empty((count, dim), dtype=np.float32)
    if hasattr(mmap, "MAP_PRIVATE"):  # POSIX (Windows' mmap takes no flags)
        flags = mmap.MAP_PRIVATE | getattr(mmap, "MAP_ANONYMOUS", 0) | getattr(mmap, "MAP_POPULATE", 0)
        memory = mmap.mmap(-1, nbytes, flags=flags)
    else:
        memory = mmap.mmap(-1, nbytes)
    return np.frombuffer(memory, dtype=np.float32).reshape(count, dim)


def _length(embedding: Any, position: int) -> int:
    if isinstance(embedding, (str, bytes)) or not hasattr(embedding, "__len__"):
        raise ValueError(
            f"embedding {position} is invalid: it is a {type(embedding).__name__}, not a list of numbers"
        )
    return len(embedding)


@lru_cache(maxsize=8)
def _packer(layout: str) -> Callable[..., bytes]:
    """``struct`` packer of ``layout``: ``={dim}d`` doubles, ``@{dim}f`` native floats (each value through
    ``float()``'s C conversion)."""
    return struct.Struct(layout).pack


def _packed_chunk(chunk: Sequence[Any], dim: int, pack: Callable[..., bytes]) -> bytes | None:
    """The rows of ``chunk`` packed with ``pack``, or None when they are not all lists of ``dim`` values or
    ``struct`` refuses a value (the row-by-row path then finds it, with its position)."""
    if set(map(type, chunk)) != {list} or set(map(len, chunk)) != {dim}:  # C-level loops over the rows
        return None
    try:
        return b"".join([pack(*row) for row in chunk])
    except (struct.error, TypeError, ValueError, OverflowError):
        return None


def _wide_chunk(chunk: Sequence[Any], start: int, dim: int) -> Any:
    """One chunk of rows as a float64 array; the slow row-by-row path only runs to name a bad row.

    Rows of plain lists are packed with ``struct`` (about twice as fast as ``np.fromiter`` over the chained
    rows: the values go straight from the argument tuple to C doubles). Anything it refuses -- a value that
    is not a real number, or an int beyond a double's range -- goes through the numpy path below, which
    accepts or refuses it exactly as before.
    """
    packed = _packed_chunk(chunk, dim, _packer(f"={dim}d"))
    if packed is not None:
        return np.frombuffer(packed, dtype=np.float64).reshape(len(chunk), dim)
    if set(map(type, chunk)) == {list} and set(map(len, chunk)) == {dim}:
        try:
            flat = np.fromiter(chain.from_iterable(chunk), dtype=np.float64, count=len(chunk) * dim)
            return flat.reshape(len(chunk), dim)
        except (TypeError, ValueError, OverflowError):
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
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: an int beyond a double
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


class _HugePageAdvice:
    """numpy's huge-page advice, switched off while any user holds it (counted, so threads can overlap)."""

    def __init__(self) -> None:
        multiarray = getattr(getattr(np, "_core", None), "multiarray", None)
        #: numpy's runtime switch (``enabled -> previous``); None where numpy lacks it.
        self.switch: Callable[[bool], bool] | None = getattr(multiarray, "_set_madvise_hugepage", None)
        self.lock = threading.Lock()
        self.users = 0
        self.before = True

    def hold(self) -> None:
        with self.lock:
            if self.users == 0 and self.switch is not None:
                self.before = self.switch(False)
            self.users += 1

    def release(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0 and self.switch is not None:
                self.switch(self.before)


_HUGE_PAGE_ADVICE = _HugePageAdvice()


@contextmanager
def small_pages() -> Iterator[None]:
    """Keep numpy from advising huge pages for its arrays while the block runs (any thread, nestable)."""
    _HUGE_PAGE_ADVICE.hold()
    try:
        yield
    finally:
        _HUGE_PAGE_ADVICE.release()

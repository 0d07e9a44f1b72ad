"""Score helpers shared by every document store: ``top_k`` validation and the ``scale_score=True`` mappings.

All stores scale scores the same way, so a retriever can switch stores without its thresholds changing:

* BM25 ``s`` -> ``sigmoid(s / 8)``: 0 stays 0.5, a typical strong match (s ~ 8-25) lands in 0.73-0.99;
* cosine similarity ``s`` -> ``(s + 1) / 2``;
* dot product ``s`` -> ``sigmoid(s / 100)``.

Every mapping is monotonic, so rankings never change.
"""

from __future__ import annotations

import math
from typing import Any

from haybale.errors import DocumentStoreUsageError

__all__ = [
    "BM25_SCALING_FACTOR",
    "DOT_PRODUCT_SCALING_FACTOR",
    "check_top_k",
    "scale_bm25",
    "scale_cosine",
    "scale_dot_product",
    "sigmoid",
]

#: ``scale_score=True`` maps a BM25 score ``s`` to ``sigmoid(s / BM25_SCALING_FACTOR)``.
BM25_SCALING_FACTOR = 8.0
#: ``scale_score=True`` maps a dot product ``s`` to ``sigmoid(s / DOT_PRODUCT_SCALING_FACTOR)``.
DOT_PRODUCT_SCALING_FACTOR = 100.0


def sigmoid(x: float) -> float:
    """The logistic function, computed without overflow for large ``|x|``."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def check_top_k(
    top_k: Any,
    where: str | None = None,
    *,
    name: str = "top_k",
    allow_none: bool = False,
    error: type[Exception] = DocumentStoreUsageError,
) -> Any:
    """The one rule for ``top_k`` everywhere (stores, retrievers, joiners, rankers): an integer >= 0, where 0
    returns nothing; None too when ``allow_none`` (meaning "the default").

    Args:
        top_k: the value.
        where: who checks it, for the message (a component's name).
        name: the parameter's name (``top_k``, ``bm25_top_k``, ...).
        allow_none: accept None.
        error: the exception class raised (components raise ComponentError).

    Returns:
        ``top_k`` unchanged.

    Raises:
        error: ``top_k`` is negative, a bool, or not an integer.
    """
    if top_k is None and allow_none:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        prefix = f"{where}: " if where else ""
        accepted = "a non-negative integer or None" if allow_none else "a non-negative integer"
        raise error(f"{prefix}{name} must be {accepted}, got {top_k!r}; pass how many documents to return.")
    return top_k


def scale_bm25(score: float) -> float:
    """Scale a BM25 score into (0, 1) for ``scale_score=True``."""
    return sigmoid(score / BM25_SCALING_FACTOR)


def scale_cosine(score: float) -> float:
    """Scale a cosine similarity from [-1, 1] into [0, 1] for ``scale_score=True``."""
    return (score + 1.0) / 2.0


def scale_dot_product(score: float) -> float:
    """Scale a dot product into (0, 1) for ``scale_score=True``."""
    return sigmoid(score / DOT_PRODUCT_SCALING_FACTOR)

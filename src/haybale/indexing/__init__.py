"""Incremental, exactly-once indexing of files into a document store, and searching the result.

Used by ``haybale index`` / ``haybale query`` and reusable by the service. See :class:`Indexer`.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Indexer": "haybale.indexing.indexer",
    "IndexReport": "haybale.indexing.indexer",
    "FileOutcome": "haybale.indexing.indexer",
    "discover_files": "haybale.indexing.source_tracker",
    "search_store": "haybale.indexing.search",
}

__all__ = [
    "FileOutcome",
    "IndexReport",
    "Indexer",
    "discover_files",
    "search_store",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'haybale.indexing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

"""Incremental, exactly-once indexing of files into a document store, and searching the result.

Used by ``haybale index`` / ``haybale query`` and reusable by the service. See :class:`Indexer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haybale._lazy_exports import lazy_exports

if TYPE_CHECKING:
    from haybale.indexing.indexer import Indexer
    from haybale.indexing.search import search_store
    from haybale.indexing.source_tracker import discover_files
    from haybale.indexing.sources import FileOutcome, IndexReport

__all__ = [
    "FileOutcome",
    "IndexReport",
    "Indexer",
    "discover_files",
    "search_store",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Indexer": "haybale.indexing.indexer",
        "IndexReport": "haybale.indexing.sources",
        "FileOutcome": "haybale.indexing.sources",
        "discover_files": "haybale.indexing.source_tracker",
        "search_store": "haybale.indexing.search",
    },
)

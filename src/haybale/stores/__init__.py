"""Document stores. Store classes load lazily so `import haybale.stores` never pulls in psycopg or numpy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from haybale._lazy_exports import lazy_exports
from haybale.stores.protocol import (
    BM25SearchStore,
    DocumentStore,
    DuplicatePolicy,
    EmbeddingSearchStore,
    HybridSearchStore,
)

if TYPE_CHECKING:
    from haybale.stores.memory import InMemoryDocumentStore
    from haybale.stores.pgvector import PgvectorDocumentStore
    from haybale.stores.sqlite import SQLiteDocumentStore

__all__ = [
    "BM25SearchStore",
    "DocumentStore",
    "DuplicatePolicy",
    "EmbeddingSearchStore",
    "HybridSearchStore",
    "InMemoryDocumentStore",
    "PgvectorDocumentStore",
    "SQLiteDocumentStore",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "InMemoryDocumentStore": "haybale.stores.memory",
        "SQLiteDocumentStore": "haybale.stores.sqlite",
        "PgvectorDocumentStore": "haybale.stores.pgvector",
    },
)

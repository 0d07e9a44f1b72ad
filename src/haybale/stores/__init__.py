"""Document stores. Store classes load lazily so `import haybale.stores` never pulls in psycopg or numpy."""

from __future__ import annotations

import importlib
from typing import Any

from haybale.stores.protocol import (
    BM25SearchStore,
    DocumentStore,
    DuplicatePolicy,
    EmbeddingSearchStore,
    HybridSearchStore,
)

_LAZY = {
    "InMemoryDocumentStore": "haybale.stores.memory",
    "SQLiteDocumentStore": "haybale.stores.sqlite",
    "PgvectorDocumentStore": "haybale.stores.pgvector",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'haybale.stores' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

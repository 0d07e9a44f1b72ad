"""Checks that a document store offers the search capability a retriever needs, with a clear error if not."""

from __future__ import annotations

from typing import Any

from haybale.core.serialization import deserialize_object
from haybale.errors import ComponentError, DeserializationError

__all__ = ["load_store", "require_capability"]


def require_capability(store: Any, method: str, component: str) -> None:
    """Raise ComponentError unless ``store`` has a callable ``method`` (for example ``bm25_search``)."""
    if isinstance(store, type):
        raise ComponentError(
            f"{component}: document_store must be a store instance, got the class {store.__qualname__}. "
            f"Pass {store.__qualname__}(...) instead."
        )
    if not callable(getattr(store, method, None)):
        raise ComponentError(
            f"{component} needs a document store with {method}(...), but {type(store).__qualname__} lacks "
            f"{method}. Use a store that offers it (InMemoryDocumentStore, SQLiteDocumentStore, "
            "PgvectorDocumentStore) or a different retriever."
        )


def load_store(init_parameters: dict[str, Any], component: str) -> Any:
    """Deserialize the nested ``document_store`` entry of a retriever's or writer's init parameters."""
    data = init_parameters.get("document_store")
    if not isinstance(data, dict):
        raise DeserializationError(
            f"{component}: init_parameters.document_store must be a serialized store "
            f"({{'type': ..., 'init_parameters': ...}}), got {data!r}."
        )
    return deserialize_object(data)

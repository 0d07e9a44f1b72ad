"""CacheChecker: splits items into those a document store already holds documents for, and the rest."""

from __future__ import annotations

import asyncio
import inspect
import os
from typing import Any

from haybale.components.retrievers.store_capability import load_store, require_capability
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError, FilterError
from haybale.filters import normalize_field

__all__ = ["CacheChecker"]

_NAME = "CacheChecker"
# Values per `in` query: one query for ordinary batches, while staying far below SQL parameter limits.
_BATCH_SIZE = 500
_MISSING = object()


def _lookup_key(item: Any, position: int) -> Any:
    """The value compared with the stored field: strings, numbers and booleans as they are, paths as str."""
    if isinstance(item, os.PathLike):
        return os.fspath(item)
    if item is None or not isinstance(item, (str, int, float, bool)):
        raise ComponentError(
            f"{_NAME}: items[{position}] is {item!r} ({type(item).__name__}); items must be strings, "
            "numbers, booleans or paths (for example URLs or file paths) to compare with the cache field."
        )
    return item


def _field_value(document: Document, field: str) -> Any:
    if field == "id":
        return document.id
    if field == "content":
        return document.content
    value: Any = document.meta
    for key in field[len("meta.") :].split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _hashable(value: Any) -> Any:
    """A dict key that matches like the filter language: booleans are not numbers, 1 equals 1.0."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, str):
        return ("str", value)
    return _MISSING


@component
class CacheChecker:
    """Check which items already have documents in a document store, to skip fetching or converting them.

    An item is a *hit* when at least one stored document's ``cache_field`` equals it, e.g. ``meta.url``
    equal to a URL, or ``meta.file_path`` equal to a path (``os.PathLike`` items are compared as strings).
    The lookup is one ``in`` filter query for the whole batch (split into queries of 500 values for very
    large batches), so it works with every store of the protocol.

    Outputs:
        hits: the stored documents that matched, grouped by item in input order (each document once).
        misses: the items with no stored document, in input order (repeated items stay repeated).

    Args:
        document_store: any store implementing ``filter_documents``.
        cache_field: the document field compared with the items: a metadata key (``"url"`` or
            ``"meta.url"``, nested as ``"meta.a.b"``), or ``"id"`` / ``"content"``.
    """

    def __init__(self, document_store: Any, cache_field: str) -> None:
        require_capability(document_store, "filter_documents", _NAME)
        try:
            self._field = normalize_field(cache_field, f"{_NAME}.cache_field")
        except FilterError as error:
            raise ComponentError(str(error)) from None
        self.document_store = document_store
        self.cache_field = cache_field

    def _filters(self, keys: list[Any]) -> dict[str, Any]:
        return {"field": self._field, "operator": "in", "value": keys}

    def _prepare(self, items: Any) -> tuple[list[Any], list[list[Any]]]:
        if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)):
            raise ComponentError(f"{_NAME}: items must be a list, got {type(items).__name__}: {items!r}.")
        keys = [_lookup_key(item, position) for position, item in enumerate(items)]
        distinct = list(dict.fromkeys(keys))
        return keys, [distinct[i : i + _BATCH_SIZE] for i in range(0, len(distinct), _BATCH_SIZE)]

    def _split(self, items: list[Any], keys: list[Any], found: list[Document]) -> dict[str, Any]:
        by_key: dict[Any, list[Document]] = {}
        seen_ids: set[str] = set()
        for document in found:
            value = _hashable(_field_value(document, self._field))
            if value is not _MISSING and document.id not in seen_ids:
                seen_ids.add(document.id)
                by_key.setdefault(value, []).append(document)
        hits: list[Document] = []
        misses: list[Any] = []
        for item, key in zip(items, keys, strict=True):
            documents = by_key.get(_hashable(key))
            if documents is None:
                misses.append(item)
            elif documents:
                hits.extend(documents)
                by_key[_hashable(key)] = []  # a repeated item is a hit again, but its documents come once
        return {"hits": hits, "misses": misses}

    @component.output_types(hits=list[Document], misses=list[Any])
    def run(self, items: list[Any]) -> dict[str, Any]:
        """Look ``items`` up; returns ``{"hits": [Document, ...], "misses": [item, ...]}``.

        Raises:
            ComponentError: when ``items`` is not a list or holds a value that cannot be compared.
        """
        keys, batches = self._prepare(items)
        found: list[Document] = []
        for batch in batches:
            found.extend(self.document_store.filter_documents(filters=self._filters(batch)))
        return self._split(list(items), keys, found)

    @component.output_types(hits=list[Document], misses=list[Any])
    async def run_async(self, items: list[Any]) -> dict[str, Any]:
        """Async :meth:`run`: the store's ``filter_documents_async`` when it has one, else a worker thread."""
        keys, batches = self._prepare(items)
        query_async = getattr(self.document_store, "filter_documents_async", None)
        found: list[Document] = []
        for batch in batches:
            if query_async is not None and inspect.iscoroutinefunction(query_async):
                found.extend(await query_async(filters=self._filters(batch)))
            else:
                found.extend(
                    await asyncio.to_thread(
                        self.document_store.filter_documents, filters=self._filters(batch)
                    )
                )
        return self._split(list(items), keys, found)

    def to_dict(self) -> dict[str, Any]:
        """Serialize, with the store nested as ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self, document_store=self.document_store.to_dict(), cache_field=self.cache_field
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CacheChecker:
        """Load from :meth:`to_dict` output; the store type must be allow-listed."""
        params = dict(data.get("init_parameters") or {})
        params["document_store"] = load_store(params, _NAME)
        return default_from_dict(cls, {**data, "init_parameters": params})

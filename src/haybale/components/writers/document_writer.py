"""DocumentWriter: writes documents into any document store."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from haybale.components.retrievers.store_capability import load_store, require_capability
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError
from haybale.stores.protocol import DuplicatePolicy

__all__ = ["DocumentWriter"]

_NAME = "DocumentWriter"


def _parse_policy(value: Any) -> DuplicatePolicy:
    try:
        return value if isinstance(value, DuplicatePolicy) else DuplicatePolicy(value)
    except ValueError:
        raise ComponentError(
            f"{_NAME}: unknown duplicate policy {value!r}; use one of {[p.value for p in DuplicatePolicy]}."
        ) from None


@component
class DocumentWriter:
    """Write documents to a document store and report how many were written.

    Args:
        document_store: any store implementing the :class:`~haybale.stores.DocumentStore` protocol.
        policy: what to do with ids that already exist (NONE = FAIL: raise and write nothing of the batch;
            SKIP; OVERWRITE). Accepts the enum or its string value.
    """

    def __init__(self, document_store: Any, policy: DuplicatePolicy | str = DuplicatePolicy.NONE) -> None:
        require_capability(document_store, "write_documents", _NAME)
        self.document_store = document_store
        self.policy = _parse_policy(policy)

    @component.output_types(documents_written=int)
    def run(self, documents: list[Document], policy: DuplicatePolicy | None = None) -> dict[str, Any]:
        """Write ``documents``; returns ``{"documents_written": n}``.

        Args:
            documents: the documents to write.
            policy: overrides the init ``policy`` for this run.
        """
        chosen = self.policy if policy is None else _parse_policy(policy)
        return {"documents_written": self.document_store.write_documents(documents, policy=chosen)}

    @component.output_types(documents_written=int)
    async def run_async(
        self, documents: list[Document], policy: DuplicatePolicy | None = None
    ) -> dict[str, Any]:
        """Async :meth:`run`: the store's ``write_documents_async`` when it has one, else a worker thread."""
        chosen = self.policy if policy is None else _parse_policy(policy)
        write_async = getattr(self.document_store, "write_documents_async", None)
        if write_async is not None and inspect.iscoroutinefunction(write_async):
            written = await write_async(documents, policy=chosen)
        else:
            written = await asyncio.to_thread(self.document_store.write_documents, documents, policy=chosen)
        return {"documents_written": written}

    def to_dict(self) -> dict[str, Any]:
        """Serialize, with the store nested as ``{"type", "init_parameters"}``."""
        return default_to_dict(self, document_store=self.document_store.to_dict(), policy=self.policy.value)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentWriter:
        """Load from :meth:`to_dict` output; the store type must be allow-listed."""
        params = dict(data.get("init_parameters") or {})
        params["document_store"] = load_store(params, _NAME)
        return default_from_dict(cls, {**data, "init_parameters": params})

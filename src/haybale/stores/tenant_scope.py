"""Tenant isolation enforced at the store: a view of a document store bound to the tenant of the current call.

A multi-tenant service shares one store between tenants. Rather than trusting every component (or every
route) to add the right filter, each component gets a :class:`TenantScopedStore` in place of the real store.
The view reads the tenant from a context variable set around each request with :func:`tenant_scope`, and:

* **reads** (``count_documents``, ``filter_documents``, every ``*_search``) see only the tenant's documents:
  the caller's filter becomes one operand of an AND with ``meta.<tenant_field> == tenant``, so nothing in it
  can widen the scope; documents come back without the tenant field (it is implied by the scope);
* **writes** stamp ``meta.<tenant_field>`` on every document and refuse documents that name another tenant;
  content-addressed ids are recomputed with the stamp, so two tenants storing the same text never share an
  id, and an explicit id already used outside the tenant is refused rather than overwritten;
* **deletes and updates** only touch the tenant's documents; an update cannot move a document to another
  tenant.

Outside any :func:`tenant_scope` every call fails closed with :class:`TenantScopeError`: a code path that
forgot to set the tenant gets an error, never another tenant's data. ``tenant_scope(None)`` is the explicit
"single-tenant" mode (a service without API keys): calls pass through unchanged.

Only the document store protocol and the search capabilities of the wrapped store are exposed; anything else
(``close``, ``save``, ``bulk_load``, private attributes) is not reachable through the view.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from haybale.dataclasses import Document
from haybale.dataclasses.document import compute_document_id
from haybale.errors import DocumentStoreError, UsageError
from haybale.filters import filter_to_dict, parse_filters
from haybale.stores.protocol import DuplicatePolicy

__all__ = ["TENANT_META_KEY", "TenantScopeError", "TenantScopedStore", "current_tenant", "tenant_scope"]

#: The metadata key holding a document's tenant.
TENANT_META_KEY = "tenant"


class _Unset:
    def __repr__(self) -> str:
        return "<no tenant scope>"


_UNSET = _Unset()
_TENANT: ContextVar[str | _Unset | None] = ContextVar("haybale_tenant", default=_UNSET)

#: Store methods that read through a ``filters`` argument, which the view scopes.
_FILTERED_READS = ("count_documents", "filter_documents", "bm25_search", "embedding_search", "hybrid_search")
_SEARCHES = ("bm25_search", "embedding_search", "hybrid_search")


class TenantScopeError(DocumentStoreError, UsageError):
    """A store call crossed a tenant boundary (or ran with no tenant scope); nothing was read or changed."""


@contextlib.contextmanager
def tenant_scope(tenant: str | None) -> Iterator[None]:
    """Bind the tenant of every :class:`TenantScopedStore` call made in this context (threads started with
    ``asyncio.to_thread`` and tasks inherit it).

    Args:
        tenant: the tenant's name; None for single-tenant use (no scoping at all).
    """
    if tenant is not None and (not isinstance(tenant, str) or not tenant):
        raise TenantScopeError(f"A tenant must be a non-empty string or None, got {tenant!r}.")
    token = _TENANT.set(tenant)
    try:
        yield
    finally:
        _TENANT.reset(token)


def current_tenant() -> str | None:
    """The tenant bound by the innermost :func:`tenant_scope`.

    Raises:
        TenantScopeError: no tenant scope is active.
    """
    tenant = _TENANT.get()
    if isinstance(tenant, _Unset):
        raise TenantScopeError(
            "This document store is shared between tenants and the call runs outside any tenant scope; "
            "it was refused. Run it inside `with tenant_scope(tenant):` (the service does this per request)."
        )
    return tenant


def _arguments(method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    return dict(inspect.signature(method).bind(*args, **kwargs).arguments)


class TenantScopedStore:
    """A document store view restricted to the tenant of the current :func:`tenant_scope`.

    Args:
        store: the shared store.
        tenant_field: the metadata key holding each document's tenant.
    """

    def __init__(self, store: Any, tenant_field: str = TENANT_META_KEY) -> None:
        if isinstance(store, TenantScopedStore):
            store = store.inner
        self.inner: Any = store
        self.tenant_field = tenant_field

    def __repr__(self) -> str:
        return f"TenantScopedStore({type(self.inner).__name__}, tenant_field={self.tenant_field!r})"

    # ------------------------------------------------------------------------------------------- scoping
    def _tenant_condition(self, tenant: str) -> dict[str, Any]:
        return {"field": f"meta.{self.tenant_field}", "operator": "==", "value": tenant}

    def scoped_filters(self, filters: Any) -> dict[str, Any] | None:
        """``filters`` restricted to the current tenant (validated first; unchanged without a tenant).

        The result is the full dict form, which every store accepts; an AND filter gains the tenant test as
        one more condition (no extra nesting level), anything else becomes one operand of a new AND.
        """
        tenant = current_tenant()
        parsed = parse_filters(filters)
        user = filter_to_dict(parsed) if parsed is not None else None
        if tenant is None:
            return user
        condition = self._tenant_condition(tenant)
        if user is None:
            return condition
        if user["operator"] == "AND":
            return {"operator": "AND", "conditions": [*user["conditions"], condition]}
        return {"operator": "AND", "conditions": [user, condition]}

    def _stamped(self, documents: Any) -> list[Document]:
        """Copies of ``documents`` carrying the current tenant (ids recomputed when content-addressed)."""
        tenant = current_tenant()
        if not isinstance(documents, list):
            return documents  # type: ignore[no-any-return]  # the store reports the wrong type itself
        if tenant is None:
            return documents
        stamped: list[Document] = []
        for doc in documents:
            if not isinstance(doc, Document):
                stamped.append(doc)
                continue
            claimed = doc.meta.get(self.tenant_field)
            if claimed is not None and claimed != tenant:
                raise TenantScopeError(
                    f"Document {doc.id!r} names tenant {claimed!r} in meta.{self.tenant_field}, but this "
                    f"call runs for tenant {tenant!r}. A tenant can only write its own documents; remove "
                    f"meta.{self.tenant_field} and it is set for you."
                )
            derived = doc.id == compute_document_id(doc.content, doc.meta, doc.blob)
            meta = {**doc.meta, self.tenant_field: tenant}
            stamped.append(dataclasses.replace(doc, meta=meta, id="" if derived else doc.id))
        return stamped

    def _check_foreign_ids(self, original: list[Any], stamped: list[Document]) -> None:
        """Refuse explicit ids already used by documents outside the tenant (they would be overwritten)."""
        tenant = current_tenant()
        if tenant is None:
            return
        explicit = [
            new.id
            for old, new in zip(original, stamped, strict=True)
            if isinstance(old, Document) and new.id == old.id
        ]
        if not explicit:
            return
        foreign = {
            "operator": "AND",
            "conditions": [
                {"field": "id", "operator": "in", "value": explicit},
                {"operator": "NOT", "conditions": [self._tenant_condition(tenant)]},
            ],
        }
        if self.inner.count_documents(foreign) > 0:
            raise TenantScopeError(
                "Some document ids are already used by documents outside your tenant; nothing was written. "
                "Let haybale compute ids (leave Document.id empty) or choose ids unique to your tenant."
            )

    def _scoped_meta(self, meta: Any) -> Any:
        tenant = current_tenant()
        if tenant is None or not isinstance(meta, dict) or self.tenant_field not in meta:
            return meta
        if meta[self.tenant_field] != tenant:
            raise TenantScopeError(
                f"update_by_filter cannot set meta.{self.tenant_field} to {meta[self.tenant_field]!r}: "
                "documents stay in their tenant."
            )
        return meta

    def _own_ids(self, document_ids: Any) -> Any:
        tenant = current_tenant()
        if tenant is None or not isinstance(document_ids, list) or not document_ids:
            return document_ids
        own = {
            "operator": "AND",
            "conditions": [
                {"field": "id", "operator": "in", "value": list(document_ids)},
                self._tenant_condition(tenant),
            ],
        }
        return [doc.id for doc in self.inner.filter_documents(own)]

    # -------------------------------------------------------------------------------- protocol: reads
    def count_documents(self, filters: dict[str, Any] | None = None) -> int:
        """Number of the tenant's documents matching ``filters``."""
        return int(self.inner.count_documents(self.scoped_filters(filters)))

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """The tenant's documents matching ``filters``."""
        documents: list[Document] = self._unstamped(self.inner.filter_documents(self.scoped_filters(filters)))
        return documents

    def _unstamped(self, documents: Any) -> Any:
        """Documents read in a tenant scope, without the (implied) tenant field."""
        if _TENANT.get() is None or not isinstance(documents, list):
            return documents
        field = self.tenant_field
        return [
            dataclasses.replace(d, meta={k: v for k, v in d.meta.items() if k != field})
            if isinstance(d, Document) and field in d.meta
            else d
            for d in documents
        ]

    # ------------------------------------------------------------------------------- protocol: writes
    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Write ``documents`` into the tenant (stamped); see the module docstring."""
        stamped = self._stamped(documents)
        if isinstance(documents, list):
            self._check_foreign_ids(documents, stamped)
        return int(self.inner.write_documents(stamped, policy=policy))

    def replace_documents(self, filters: dict[str, Any], documents: list[Document]) -> tuple[int, int]:
        """Atomically replace the tenant's documents matching ``filters`` with ``documents`` (stamped)."""
        stamped = self._stamped(documents)
        if isinstance(documents, list):
            self._check_foreign_ids(documents, stamped)
        deleted, written = self.inner.replace_documents(self.scoped_filters(filters), stamped)
        return int(deleted), int(written)

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete the tenant's documents among ``document_ids`` (other ids are ignored like unknown ids)."""
        self.inner.delete_documents(self._own_ids(document_ids))

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """Delete the tenant's documents matching ``filters``."""
        return int(self.inner.delete_by_filter(self.scoped_filters(filters)))

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Merge ``meta`` into the tenant's documents matching ``filters``."""
        return int(self.inner.update_by_filter(self.scoped_filters(filters), self._scoped_meta(meta)))

    def to_dict(self) -> dict[str, Any]:
        """The wrapped store's serialization (a pipeline saved from a served copy names the real store)."""
        return dict(self.inner.to_dict())

    # ---------------------------------------------------------------------- searches and async variants
    def __getattr__(self, name: str) -> Any:
        """The wrapped store's search capabilities and async variants, scoped; nothing else."""
        if name == "warm_up":  # creating tables is the same for every tenant
            return getattr(self.inner, name)
        base = name.removesuffix("_async")
        protocol = base in _FILTERED_READS or base in _WRITES
        target = getattr(self.inner, name, None) if protocol and not name.startswith("_") else None
        if target is None:
            raise AttributeError(
                f"{type(self).__name__} exposes only the document store protocol and the search methods of "
                f"{type(self.inner).__name__}; {name!r} is not available through a tenant-scoped store."
            )
        if base in _SEARCHES or base in _FILTERED_READS:
            return self._scoped_read(target)
        return self._scoped_async_write(base, target)

    def _scoped_read(self, target: Callable[..., Any]) -> Callable[..., Any]:
        def scoped(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            arguments = _arguments(target, args, kwargs)
            arguments["filters"] = self.scoped_filters(arguments.get("filters"))
            return arguments

        if inspect.iscoroutinefunction(target):

            async def call_async(*args: Any, **kwargs: Any) -> Any:
                return self._unstamped(await target(**scoped(args, kwargs)))

            return call_async

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._unstamped(target(**scoped(args, kwargs)))

        return call

    def _scoped_async_write(self, base: str, target: Callable[..., Any]) -> Callable[..., Any]:
        sync = getattr(self, base)

        async def call(*args: Any, **kwargs: Any) -> Any:
            arguments = _arguments(target, args, kwargs)
            if "documents" in arguments:
                original = arguments["documents"]
                arguments["documents"] = self._stamped(original)
                if isinstance(original, list):
                    self._check_foreign_ids(original, arguments["documents"])
            if "filters" in arguments:
                arguments["filters"] = self.scoped_filters(arguments["filters"])
            if "document_ids" in arguments:
                arguments["document_ids"] = self._own_ids(arguments["document_ids"])
            if "meta" in arguments:
                arguments["meta"] = self._scoped_meta(arguments["meta"])
            return await target(**arguments)

        call.__doc__ = sync.__doc__
        return call


_WRITES = ("write_documents", "replace_documents", "delete_documents", "delete_by_filter", "update_by_filter")

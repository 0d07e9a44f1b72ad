"""Tenant isolation enforced at the store: a view of a document store bound to the tenant of the current call.

A multi-tenant service shares one store between tenants. Rather than trusting every component (or every
route) to add the right filter, each component gets a :class:`TenantScopedStore` in place of the real store.
The view reads the tenant from a context variable set around each request with :func:`tenant_scope`, and:

* **every read** (``count_documents``, ``filter_documents``, every ``*_search``) sees only the tenant's
  documents: the caller's filter becomes one operand of an AND with ``meta.<tenant_field> == tenant``, so
  nothing in it can widen the scope;
* **BM25 scores are the tenant's own**: searches of stores that take ``corpus_filters`` (every store shipped
  with haybale) get the tenant as their corpus, so document counts, lengths and term frequencies come from
  the tenant's documents alone and one tenant's writes never move another's scores (a store without
  ``corpus_filters`` computes them over all tenants);
* **every write** stamps ``meta.<tenant_field>`` and refuses documents that name another tenant;
* **ids are per tenant**: a document is stored under ``<tenant>::<id>`` and read back as ``<id>``, so two
  tenants writing the same content (same content-addressed id) or the same explicit id never touch each
  other's document, and ``id`` filters, ``delete_documents`` and duplicate policies work within the tenant;
* **deletes and updates** only reach the tenant's documents; an update cannot move a document to another
  tenant.

To the components using it the view is an ordinary store: documents come back exactly as written (same id,
no tenant field), and the whole store conformance suite passes through it. Outside any :func:`tenant_scope`
every call fails closed with :class:`TenantScopeError` — a code path that forgot to set the tenant gets an
error, never another tenant's data. ``tenant_scope(None)`` is the explicit single-tenant mode (a service
without API keys): calls pass through unchanged.

Only the document store protocol and the search capabilities of the wrapped store are exposed; anything else
(``close``, ``save``, ``bulk_load``, private attributes) is not reachable through the view.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreError, UsageError
from haybale.filters import filter_to_dict, parse_filters
from haybale.filters.tree import Condition, FilterNode, LogicalCondition
from haybale.stores.protocol import DuplicatePolicy

__all__ = [
    "TENANT_META_KEY",
    "TENANT_NAME_PATTERN",
    "TenantScopeError",
    "TenantScopedStore",
    "current_tenant",
    "tenant_scope",
]

#: The metadata key holding a document's tenant.
TENANT_META_KEY = "tenant"
#: What a tenant name may look like (it prefixes stored ids, so no separators).
TENANT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
_SEPARATOR = "::"


class _Unset:
    def __repr__(self) -> str:
        return "<no tenant scope>"


_UNSET = _Unset()
_TENANT: ContextVar[str | _Unset | None] = ContextVar("haybale_tenant", default=_UNSET)

#: Store methods that read through a ``filters`` argument, which the view scopes.
_FILTERED_READS = ("count_documents", "filter_documents", "bm25_search", "embedding_search", "hybrid_search")
_WRITES = ("write_documents", "replace_documents", "delete_documents", "delete_by_filter", "update_by_filter")
_LIKE_SPECIAL = re.compile(r"([%_\\])")


class TenantScopeError(DocumentStoreError, UsageError):
    """A store call crossed a tenant boundary (or ran with no tenant scope); nothing was read or changed."""


@contextlib.contextmanager
def tenant_scope(tenant: str | None) -> Iterator[None]:
    """Bind the tenant of every :class:`TenantScopedStore` call made in this context (threads started with
    ``asyncio.to_thread`` and tasks inherit it; plain threads do not, and their calls fail closed).

    Args:
        tenant: the tenant's name (letters, digits, ``_ . @ + -``); None for single-tenant use (no scoping).

    Raises:
        TenantScopeError: the name is not a valid tenant name.
    """
    if tenant is not None and (not isinstance(tenant, str) or not TENANT_NAME_PATTERN.match(tenant)):
        raise TenantScopeError(
            f"Invalid tenant name {tenant!r}: use 1-128 letters, digits and _ . @ + - (starting with a "
            "letter or digit)."
        )
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
    """Every argument of a call by name, defaults included (an omitted ``filters`` must be scoped too)."""
    bound = inspect.signature(method).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _escaped(text: str) -> str:
    """``text`` as a LIKE pattern matching itself literally."""
    return _LIKE_SPECIAL.sub(r"\\\1", text)


def _prefixed_condition(condition: Condition, prefix: str) -> Condition:
    """An ``id`` comparison rewritten for ids stored as ``<prefix><id>``."""

    def stored(value: Any) -> Any:
        return prefix + value if isinstance(value, str) else value

    operator, value = condition.operator, condition.value
    if operator in ("like", "not like"):
        return Condition("id", operator, _escaped(prefix) + value)
    if operator == "contains" and isinstance(value, str):  # a substring of the id proper, not the prefix
        return Condition("id", "like", f"{_escaped(prefix)}%{_escaped(value)}%")
    if isinstance(value, list):
        return Condition("id", operator, [stored(v) for v in value])
    return Condition("id", operator, stored(value))


def _prefixed(node: FilterNode, prefix: str) -> FilterNode:
    if isinstance(node, LogicalCondition):
        return LogicalCondition(node.operator, tuple(_prefixed(child, prefix) for child in node.conditions))
    return _prefixed_condition(node, prefix) if node.field == "id" else node


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
    def scoped_filters(self, filters: Any, name: str = "filters") -> dict[str, Any] | None:
        """``filters`` restricted to the current tenant (validated first, errors naming the argument
        ``name``; unchanged without a tenant).

        The result is the full dict form, which every store accepts; an AND filter gains the tenant test as
        one more condition (no extra nesting level), anything else becomes one operand of a new AND.
        """
        tenant = current_tenant()
        parsed = parse_filters(filters, name=name)
        if tenant is None:
            return filter_to_dict(parsed) if parsed is not None else None
        condition = {"field": f"meta.{self.tenant_field}", "operator": "==", "value": tenant}
        if parsed is None:
            return condition
        user = filter_to_dict(_prefixed(parsed, tenant + _SEPARATOR))
        if user["operator"] == "AND":
            return {"operator": "AND", "conditions": [*user["conditions"], condition]}
        return {"operator": "AND", "conditions": [user, condition]}

    def _stored(self, documents: Any) -> Any:
        """Copies of ``documents`` as stored for the current tenant: stamped, ids prefixed."""
        tenant = current_tenant()
        if tenant is None or not isinstance(documents, list):
            return documents  # a non-list is reported by the store itself
        stored: list[Any] = []
        for doc in documents:
            if not isinstance(doc, Document):
                stored.append(doc)
                continue
            claimed = doc.meta.get(self.tenant_field)
            if claimed is not None and claimed != tenant:
                raise TenantScopeError(
                    f"Document {doc.id!r} names tenant {claimed!r} in meta.{self.tenant_field}, but this "
                    f"call runs for tenant {tenant!r}. A tenant can only write its own documents; remove "
                    f"meta.{self.tenant_field} and it is set for you."
                )
            meta = {**doc.meta, self.tenant_field: tenant}
            stored.append(dataclasses.replace(doc, meta=meta, id=tenant + _SEPARATOR + doc.id))
        return stored

    def _as_written(self, documents: Any) -> Any:
        """Documents read in a tenant scope as the tenant wrote them: own ids, no tenant field."""
        tenant = _TENANT.get()
        if not isinstance(tenant, str) or not isinstance(documents, list):
            return documents
        prefix, field = tenant + _SEPARATOR, self.tenant_field
        return [
            dataclasses.replace(
                d, id=d.id.removeprefix(prefix), meta={k: v for k, v in d.meta.items() if k != field}
            )
            if isinstance(d, Document)
            else d
            for d in documents
        ]

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

    def _stored_ids(self, document_ids: Any) -> Any:
        tenant = current_tenant()
        if tenant is None or not isinstance(document_ids, list):
            return document_ids
        return [tenant + _SEPARATOR + i if isinstance(i, str) else i for i in document_ids]

    def _scoped_arguments(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Every argument of a store call mapped into the tenant (whatever the method).

        Raises:
            TenantScopeError: a reading method has no ``filters`` parameter, so it cannot be scoped.
        """
        if name.removesuffix("_async") in _FILTERED_READS and "filters" not in arguments:
            raise TenantScopeError(
                f"{type(self.inner).__name__}.{name} takes no 'filters' argument, so a tenant-scoped store "
                "cannot restrict it; it was refused."
            )
        if "filters" in arguments:
            arguments["filters"] = self.scoped_filters(arguments["filters"])
        if "corpus_filters" in arguments:
            # BM25 statistics from the tenant's documents only: its scores never move with another's writes.
            arguments["corpus_filters"] = self.scoped_filters(arguments["corpus_filters"], "corpus_filters")
        if "documents" in arguments:
            arguments["documents"] = self._stored(arguments["documents"])
        if "document_ids" in arguments:
            arguments["document_ids"] = self._stored_ids(arguments["document_ids"])
        if "meta" in arguments:
            arguments["meta"] = self._scoped_meta(arguments["meta"])
        return arguments

    # -------------------------------------------------------------------------------- protocol: reads
    def count_documents(self, filters: dict[str, Any] | None = None) -> int:
        """Number of the tenant's documents matching ``filters``."""
        return int(self.inner.count_documents(self.scoped_filters(filters)))

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """The tenant's documents matching ``filters``."""
        documents: list[Document] = self._as_written(
            self.inner.filter_documents(self.scoped_filters(filters))
        )
        return documents

    # ------------------------------------------------------------------------------- protocol: writes
    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Write ``documents`` into the tenant (stamped); see the module docstring."""
        return int(self.inner.write_documents(self._stored(documents), policy=policy))

    def replace_documents(self, filters: dict[str, Any], documents: list[Document]) -> tuple[int, int]:
        """Atomically replace the tenant's documents matching ``filters`` with ``documents`` (stamped)."""
        deleted, written = self.inner.replace_documents(self.scoped_filters(filters), self._stored(documents))
        return int(deleted), int(written)

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete the tenant's documents among ``document_ids`` (other tenants' ids are unknown here)."""
        self.inner.delete_documents(self._stored_ids(document_ids))

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
        allowed = (base in _FILTERED_READS or base in _WRITES) and not name.startswith("_")
        target = getattr(self.inner, name, None) if allowed else None
        if target is None:
            raise AttributeError(
                f"{type(self).__name__} exposes only the document store protocol and the search methods of "
                f"{type(self.inner).__name__}; {name!r} is not available through a tenant-scoped store."
            )
        if inspect.iscoroutinefunction(target):

            async def call_async(*args: Any, **kwargs: Any) -> Any:
                arguments = self._scoped_arguments(name, _arguments(target, args, kwargs))
                return self._as_written(await target(**arguments))

            return call_async

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._as_written(target(**self._scoped_arguments(name, _arguments(target, args, kwargs))))

        return call
